"""我的数据 and 一件事: the download lists the citizen's bundle applications with their answers and shared
files; deleting the account waits while a step is with a unit or a department, deletes a draft bundle
with its files, and keeps a finished one as an anonymised record."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select

from applications.bundles.models import (
    BundleApplication,
    BundleDocument,
    BundlePart,
    BundleState,
    PartKind,
    PartStatus,
)
from catalog.models import Bundle, BundleVersion, VersionState
from core.db import db
from core.storage import get_storage
from core.transaction import commit
from tests.factories import DEFAULT_PASSWORD

ANSWERS = {"shared": {"baby_name": "王小明", "mobile": "13912345678"}, "situations": {"follow": "father"}}


def _bundle(app, user_id: int, *, state: BundleState, part_status: PartStatus, reference: str) -> int:
    """A 出生一件事 application of ``user_id`` with one hand-off part and one shared file."""
    with app.app_context():
        bundle = db.session.scalar(select(Bundle).where(Bundle.code == "LJ-YJS-001"))
        version = db.session.scalar(
            select(BundleVersion).where(
                BundleVersion.bundle_id == bundle.id, BundleVersion.state == VersionState.PUBLISHED
            )
        )
        key = get_storage().save(b"%PDF-1.4 birth certificate", suffix=".pdf")
        b = BundleApplication(
            reference=reference if state != BundleState.DRAFT else None,
            start_token=f"t-{reference}",
            applicant_id=user_id,
            bundle_id=bundle.id,
            bundle_version_id=version.id,
            state=state,
            answers=ANSWERS,
            delivery_method="mail",
            delivery_address={"recipient": "王大明", "address": "临江市解放路1号"},
        )
        b.documents.append(
            BundleDocument(
                doc_key="birth_cert",
                storage_key=key,
                kind="pdf",
                mimetype="application/pdf",
                size=26,
                sha256="0" * 64,
                display_name="出生医学证明.pdf",
            )
        )
        b.parts.append(
            BundlePart(
                step_key="vaccination",
                kind=PartKind.HANDOFF,
                name="预防接种证",
                department_code="wsjk",
                status=part_status,
                payload={"payload_map": {"baby_name": "shared.baby_name"}},
            )
        )
        db.session.add(b)
        commit()
        return b.id


def test_the_download_lists_the_bundle_with_its_answers_and_shared_file(app, citizen, citizen_client):
    _bundle(app, citizen.id, state=BundleState.SUBMITTED, part_status=PartStatus.PUSHED, reference="YJS1")
    page = citizen_client.get("/me/data")
    assert page.status_code == 200 and "一件事" in page.text and "YJS1" in page.text
    download = citizen_client.get("/me/data/download")
    with zipfile.ZipFile(io.BytesIO(download.data)) as zf:
        data = json.loads(zf.read("data.json"))
        (row,) = data["一件事"]
        assert row["编号"] == "YJS1" and row["一件事"] == "出生一件事"
        assert row["填写内容"]["shared"]["baby_name"] == "王小明"
        (doc,) = row["提交的材料"]
        assert zf.read(doc["文件"]) == b"%PDF-1.4 birth certificate"


def test_deletion_waits_while_a_department_has_a_step(app, citizen, citizen_client):
    _bundle(app, citizen.id, state=BundleState.SUBMITTED, part_status=PartStatus.RECEIVED, reference="YJS2")
    assert "YJS2" in citizen_client.get("/me/data/delete").text  # said before the password is typed
    response = citizen_client.post("/me/data/delete", data={"password": DEFAULT_PASSWORD})
    assert response.status_code == 422 and "YJS2" in response.text
    with app.app_context():
        assert db.session.scalar(select(BundleApplication.answers)) == ANSWERS


def test_a_bundle_held_only_behind_a_returned_step_does_not_block_deletion(app, citizen, citizen_client):
    bid = _bundle(
        app, citizen.id, state=BundleState.SUBMITTED, part_status=PartStatus.RETURNED, reference="YJS3"
    )
    response = citizen_client.post("/me/data/delete", data={"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        b = db.session.get(BundleApplication, bid)
        assert b is not None and b.reference == "YJS3" and b.state == BundleState.SUBMITTED
        assert b.answers == {} and b.delivery_address == {} and b.parts[0].payload == {}
        assert not b.documents


def test_a_draft_bundle_goes_with_its_files_and_a_finished_one_stays_anonymised(app, citizen, citizen_client):
    draft = _bundle(app, citizen.id, state=BundleState.DRAFT, part_status=PartStatus.WAITING, reference="D")
    done = _bundle(
        app, citizen.id, state=BundleState.COMPLETED, part_status=PartStatus.DONE, reference="YJS4"
    )
    with app.app_context():
        keys = list(db.session.scalars(select(BundleDocument.storage_key)))
        b = db.session.get(BundleApplication, done)
        b.rating_level, b.rating_comment = 5, "很方便，电话13912345678"
        commit()
    assert len(keys) == 2
    assert citizen_client.post("/me/data/delete", data={"password": DEFAULT_PASSWORD}).status_code == 302
    with app.app_context():
        assert db.session.get(BundleApplication, draft) is None
        kept = db.session.get(BundleApplication, done)
        assert kept.state == BundleState.COMPLETED and kept.rating_level == 5
        assert kept.rating_comment == "" and kept.answers == {}
        assert db.session.scalar(select(BundleDocument.id)) is None
        for key in keys:
            try:
                get_storage().open(key)
                raise AssertionError("bundle file kept")
            except FileNotFoundError:
                pass
