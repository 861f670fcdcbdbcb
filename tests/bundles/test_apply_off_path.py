"""The 一件事 application off the happy path: a fan-out that fails on its third step leaves nothing,
a double-clicked submit fans out once (threads; SQLite and PostgreSQL), typed values and messages
stay at their fields, someone else's bundle is a 404, held drafts are not standalone drafts."""

from __future__ import annotations

import io
import time

from sqlalchemy import func, select

from applications.bundles.models import BundleApplication, BundleDocument, BundlePart, BundleState
from applications.models import Application, ReferenceCounter, WalletDocument
from applications.workflow.states import State
from catalog.loader import apply, validate
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from core.storage import get_storage
from tests.applications.test_concurrency import _clients, _race
from tests.catalog.helpers import demo_files, item_in

from .apply_helpers import (  # noqa: F401 - fixtures
    BIRTH,
    BIRTH_SHARED,
    BIRTH_SITUATIONS,
    CAR,
    MAIL,
    citizen_client_fixture,
    citizen_fixture,
    demo_fixture,
    other_client_fixture,
    pdf,
    post,
    ready_birth,
    ready_car,
    start,
    upload,
)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_submit_failing_on_its_third_step_leaves_nothing(app, citizen_client):
    """新车上牌: 购置税 (hand-off), 临时号牌 (checked fine), then 注册登记 fails its check because the
    item was republished meanwhile with a document the bundle does not provide: nothing is created."""
    bid = ready_car(citizen_client)
    with app.app_context():
        files = demo_files()
        item_in(files, "LJ-CJ-001")["documents"].append(
            {
                "name": "机动车安全技术检验合格证明",
                "form": "original",
                "copies": 1,
                "requirement": "required",
                "source": "applicant",
                "accept": ["jpg", "pdf"],
            }
        )
        apply(validate(list(files.items())))
        db.session.commit()
        app.extensions["catalog_cache"].invalidate()
        before_audit = _count(AuditLog)
        keys = [d.storage_key for d in db.session.scalars(select(BundleDocument))]
    r = citizen_client.post(f"/bundle-applications/{bid}/submit")
    assert r.status_code == 422
    assert "提交未成功，没有生成任何办件" in r.text
    assert "机动车注册登记：请上传原件的照片或扫描件：机动车安全技术检验合格证明" in r.text
    with app.app_context():
        bundle = db.session.get(BundleApplication, bid)
        assert bundle.state == BundleState.DRAFT and bundle.reference is None and bundle.submitted_at is None
        assert _count(Application) == 0
        assert _count(BundlePart) == 0
        assert _count(OutboxMessage) == 0
        assert _count(ReferenceCounter) == 0
        assert _count(AuditLog) == before_audit  # no application.start, no bundle.submit
        # the shared files stay with the draft, readable
        assert [d.storage_key for d in bundle.documents] == keys
        assert all(get_storage().open(k) for k in keys)
    # the page still works: fix nothing, the same refusal again, still nothing
    assert citizen_client.post(f"/bundle-applications/{bid}/submit").status_code == 422
    with app.app_context():
        assert _count(Application) == 0


def test_double_clicked_submit_fans_out_once(app, citizen, citizen_client):
    bid = ready_birth(citizen_client)
    clients = _clients(app, citizen)
    results = _race(clients, lambda c: c.post(f"/bundle-applications/{bid}/submit"))
    for r in results:
        assert not isinstance(r, Exception), r
        assert r.status_code == 302, r.status_code
        assert r.headers["Location"].endswith(f"/bundle-applications/{bid}/done")
    with app.app_context():
        bundle = db.session.get(BundleApplication, bid)
        assert bundle.state == BundleState.SUBMITTED and bundle.reference
        assert _count(BundlePart) == 4
        assert _count(Application) == 1
        assert _count(AuditLog, AuditLog.action == "bundle.submit") == 1
        assert _count(OutboxMessage, OutboxMessage.kind == "bundle_submitted") == 1
        assert _count(OutboxMessage, OutboxMessage.kind == "handoff") == 1
        # one number for the bundle, one for its submitted item: no number burnt by a loser
        assert db.session.scalar(select(func.sum(ReferenceCounter.last))) == 2
    assert bundle.reference in clients[0].get(f"/bundle-applications/{bid}/done").text


def test_concurrent_starts_with_one_token_make_one_draft(app, citizen):
    clients = _clients(app, citizen, 4)
    token = "one-bundle-token-for-all-0001"
    results = _race(clients, lambda c: c.post(f"/bundles/{BIRTH}/apply", data={"token": token}))
    assert {r.status_code for r in results} == {302}
    assert len({r.headers["Location"] for r in results}) == 1
    with app.app_context():
        assert _count(BundleApplication) == 1
        assert _count(AuditLog, AuditLog.action == "bundle.start") == 1


def test_invalid_answers_keep_what_was_typed_with_the_message_at_the_field(app, citizen_client):
    bid = start(citizen_client)
    typed = {**BIRTH_SHARED, "f_baby_name": "", "f_mobile": "1391234", "f_hospital": "临江市人民医院"}
    r = post(citizen_client, bid, "shared", typed)
    assert r.status_code == 422
    assert "请填写新生儿姓名" in r.text
    assert 'value="1391234"' in r.text and 'value="临江市人民医院"' in r.text
    assert 'id="f_mobile-error"' in r.text and 'id="f_baby_name-error"' in r.text
    # what was typed is kept in the draft too
    assert 'value="临江市人民医院"' in citizen_client.get(f"/bundle-applications/{bid}/shared").text
    r = post(citizen_client, bid, "situations", {"marriage": "married"})
    assert r.status_code == 422 and "请选择：新生儿随父还是随母落户？" in r.text
    assert 'id="s-marriage-married" value="married" checked' in r.text
    r = post(citizen_client, bid, "delivery", {"delivery_method": "mail", "recipient": "王大明"})
    assert r.status_code == 422 and "请填写收件人电话" in r.text and 'value="王大明"' in r.text
    r = post(citizen_client, bid, "delivery", {"delivery_method": "counter"})
    assert r.status_code == 422  # 出生登记 only mails: counter is not a choice of this bundle
    # a refused file gets its message at its document; the good one is kept
    r = upload(
        citizen_client,
        bid,
        {"hukou_book": (b"not a pdf at all", "户口簿.pdf"), "parents_id": (pdf(), "身份证.pdf")},
    )
    assert r.status_code == 422 and 'id="doc-error-hukou_book"' in r.text
    review = citizen_client.get(f"/bundle-applications/{bid}/review").text
    for section, message in (
        ("共同信息", "请填写新生儿姓名"),
        ("情形", "请选择：新生儿随父还是随母落户？"),
        ("共用材料", "请上传：随迁方居民户口簿"),
        ("送达方式", "请选择结果送达方式"),
    ):
        assert section in review and message in review, message
    assert "身份证.pdf" in review
    r = citizen_client.post(f"/bundle-applications/{bid}/submit")
    assert r.status_code == 422
    with app.app_context():
        assert _count(Application) == 0 and _count(BundlePart) == 0


def test_a_shared_document_goes_to_every_item_and_can_come_from_my_documents(app, citizen_client):
    first = ready_birth(citizen_client)
    assert citizen_client.post(f"/bundle-applications/{first}/submit").status_code == 302
    with app.app_context():
        wallet = db.session.scalar(
            select(WalletDocument).where(WalletDocument.doc_type == "父母双方居民身份证")
        )
        assert wallet is not None  # the first bundle's upload joined 我的材料
        wallet_id, wallet_key = wallet.id, wallet.storage_key
    bid = start(citizen_client)
    page = citizen_client.get(f"/bundle-applications/{bid}/documents").text
    assert f'<option value="{wallet_id}">' in page
    r = upload(
        citizen_client, bid, {"hukou_book": (pdf(), "户口簿.pdf")}, **{"wallet-parents_id": str(wallet_id)}
    )
    assert r.status_code == 302, r.text
    with app.app_context():
        doc = db.session.scalar(
            select(BundleDocument).where(
                BundleDocument.bundle_application_id == bid, BundleDocument.doc_key == "parents_id"
            )
        )
        assert doc.storage_key == wallet_key and doc.wallet_document_id == wallet_id


def test_someone_elses_bundle_is_not_found(app, citizen_client, other_client):
    bid = ready_birth(citizen_client)
    with app.app_context():
        doc_id = db.session.scalar(select(BundleDocument.id))
    for url in (
        f"/bundle-applications/{bid}/shared",
        f"/bundle-applications/{bid}/documents",
        f"/bundle-applications/{bid}/review",
        f"/bundle-applications/{bid}/done",
        f"/bundle-applications/{bid}/files/{doc_id}",
    ):
        assert other_client.get(url).status_code == 404, url
    assert other_client.post(f"/bundle-applications/{bid}/submit").status_code == 404
    assert post(other_client, bid, "shared", BIRTH_SHARED).status_code == 404
    assert other_client.post(f"/bundle-applications/{bid}/documents/{doc_id}/remove").status_code == 404
    with app.app_context():
        assert db.session.get(BundleApplication, bid).state == BundleState.DRAFT
        assert _count(BundleDocument) == 2
    # the owner's own file is theirs to read
    assert citizen_client.get(f"/bundle-applications/{bid}/files/{doc_id}").status_code == 200


def test_held_draft_is_not_a_standalone_draft(app, citizen_client):
    bid = ready_car(citizen_client)
    assert citizen_client.post(f"/bundle-applications/{bid}/submit").status_code == 302
    with app.app_context():
        parts = {p.step_key: p for p in db.session.get(BundleApplication, bid).parts}
        held = db.session.get(Application, parts["registration"].application_id)
        started = db.session.get(Application, parts["temp_plate"].application_id)
        assert held.state == State.DRAFT
        held_id, started_ref = held.id, started.reference
    for method, url, data in (
        ("get", f"/applications/{held_id}/form", None),
        ("post", f"/applications/{held_id}/form", {"next": "1"}),
        ("get", f"/applications/{held_id}/documents", None),
        ("get", f"/applications/{held_id}/review", None),
        ("post", f"/applications/{held_id}/submit", {}),
        ("post", f"/applications/{held_id}/withdraw", {}),
    ):
        assert getattr(citizen_client, method)(url, data=data).status_code == 404, url
    with app.app_context():
        assert db.session.get(Application, held_id).state == State.DRAFT
    mine = citizen_client.get("/me/applications").text
    assert started_ref not in mine  # shown in the bundle's card, not as a separate application


def test_bundle_without_a_published_flow_has_no_online_application(app, citizen_client):
    page = citizen_client.get("/bundles/LJ-YJS-002").text
    assert "身后一件事" in page and "在线一次申请" not in page
    assert citizen_client.get("/bundles/LJ-YJS-002/apply").status_code == 404
    assert citizen_client.post("/bundles/LJ-YJS-002/apply", data={"token": "x" * 24}).status_code == 404
    anonymous = app.test_client().get(f"/bundles/{CAR}/apply")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_submitted_bundle_can_no_longer_change(app, citizen_client):
    bid = ready_birth(citizen_client)
    assert citizen_client.post(f"/bundle-applications/{bid}/submit").status_code == 302
    r = post(citizen_client, bid, "shared", {**BIRTH_SHARED, "f_baby_name": "改名"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/bundle-applications/{bid}/done")
    r = post(citizen_client, bid, "situations", BIRTH_SITUATIONS)
    assert r.headers["Location"].endswith("/done")
    r = citizen_client.post(
        f"/bundle-applications/{bid}/documents",
        data={"doc-hukou_book": (io.BytesIO(pdf()), "x.pdf"), **MAIL},
        content_type="multipart/form-data",
    )
    assert r.headers["Location"].endswith("/done")
    with app.app_context():
        assert db.session.get(BundleApplication, bid).answers["shared"]["baby_name"] == "王小宝"


def test_a_drafts_shared_files_survive_the_sweeper_and_a_wallet_delete(app, citizen, citizen_client):
    """A bundle draft's uploads are referenced files: the orphan sweeper keeps them, and deleting the
    我的材料 entry a draft took its file from keeps the file the draft still points at."""
    from applications.documents.sweep import sweep_orphans
    from applications.models import TrustLevel
    from applications.submission.operations import delete_wallet_document, referenced_storage_keys
    from auth.models import User

    with app.app_context():
        key = get_storage().save(pdf(), suffix=".pdf")
        wallet = WalletDocument(
            owner_id=citizen.id,
            doc_type="父母双方居民身份证",
            issuer="",
            trust_level=TrustLevel.C,
            storage_key=key,
            kind="pdf",
            mimetype="application/pdf",
            size=1000,
            sha256="0" * 64,
            display_name="身份证.pdf",
        )
        db.session.add(wallet)
        db.session.commit()
        wallet_id = wallet.id
    bid = start(citizen_client)
    r = upload(
        citizen_client, bid, {"hukou_book": (pdf(), "户口簿.pdf")}, **{"wallet-parents_id": str(wallet_id)}
    )
    assert r.status_code == 302
    with app.app_context():
        draft_keys = {d.storage_key for d in db.session.scalars(select(BundleDocument))}
        assert key in draft_keys and draft_keys <= referenced_storage_keys()
        storage = get_storage()
        deleted = sweep_orphans(storage, referenced_storage_keys(), 0, now=time.time() + 1)
        assert not draft_keys & set(deleted)
        delete_wallet_document(db.session.get(User, citizen.id), wallet_id, storage)
        db.session.commit()
        assert db.session.get(WalletDocument, wallet_id) is None
        assert all(storage.open(k) for k in draft_keys)  # the draft's file was kept
