"""Retention and 一件事: a police item held back for an earlier step is a draft nobody may purge; an
untouched 一件事 draft goes with its uploads; a shared upload stays while a bundle still points at it
(the retention rules and the orphan sweeper both); a finished bundle's uploads go on the closed-upload
terms."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from applications.bundles.models import (
    BundleApplication,
    BundleDocument,
    BundlePart,
    BundleState,
    PartKind,
)
from applications.models import Application
from applications.submission.operations import referenced_storage_keys
from catalog.models import Bundle, BundleVersion, VersionState
from core.audit import AuditLog
from core.clock import travel
from core.db import db
from core.jobs import registered_jobs, run_job
from tests.clerk.helpers import citizen
from tests.jobs.helpers import document, draft_at, file_exists, stored_file

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def retention() -> dict[str, int]:
    with travel(NOW):
        result = run_job(registered_jobs()["retention"], manual=True)
    assert result.outcome == "ok", result.error
    db.session.expire_all()
    return result.counts


def bundle_at(moment: datetime, state: BundleState = BundleState.DRAFT, **columns) -> BundleApplication:
    bundle = db.session.scalar(select(Bundle).where(Bundle.code == "LJ-YJS-001"))
    version = db.session.scalar(
        select(BundleVersion).where(
            BundleVersion.bundle_id == bundle.id, BundleVersion.state == VersionState.PUBLISHED
        )
    )
    with travel(moment):
        b = BundleApplication(
            start_token=secrets.token_urlsafe(16),
            applicant_id=citizen().id,
            bundle_id=bundle.id,
            bundle_version_id=version.id,
            state=state,
            **columns,
        )
        db.session.add(b)
        db.session.flush()
    return b


def bundle_document(b: BundleApplication, key: str | None = None) -> str:
    key = key or stored_file()
    b.documents.append(
        BundleDocument(
            doc_key="birth_cert",
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=32,
            sha256=hashlib.sha256(key.encode()).hexdigest(),
            display_name="出生医学证明.jpg",
            created_at=b.created_at,
        )
    )
    db.session.flush()
    return key


def test_a_held_item_draft_of_a_bundle_is_never_purged(world):
    with world.app_context():
        held = draft_at(NOW - 200 * DAY)
        b = bundle_at(NOW - 200 * DAY, BundleState.SUBMITTED, reference="YJS-R1")
        b.parts.append(
            BundlePart(
                step_key="hukou", kind=PartKind.ITEM, name="出生登记", application_id=held, depends_on=["x"]
            )
        )
        db.session.commit()
        assert retention()["drafts"] == 0
        assert db.session.get(Application, held) is not None


def test_an_untouched_bundle_draft_goes_with_its_uploads_a_recent_one_stays(world):
    with world.app_context():
        old = bundle_at(NOW - 91 * DAY)
        old_key = bundle_document(old)
        recent = bundle_at(NOW - 30 * DAY)
        recent_key = bundle_document(recent)
        old_id, recent_id = old.id, recent.id
        db.session.commit()
        assert retention()["drafts"] == 1
        assert db.session.get(BundleApplication, old_id) is None and not file_exists(old_key)
        assert db.session.get(BundleApplication, recent_id) is not None and file_exists(recent_key)
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "retention.draft_deleted"))
        assert row.object_type == "bundle_application" and row.object_id == str(old_id)


def test_a_file_shared_with_a_bundle_survives_an_item_draft_purge_and_the_sweeper(world):
    with world.app_context():
        b = bundle_at(NOW - 10 * DAY)
        key = bundle_document(b)
        item_draft = draft_at(NOW - 120 * DAY)
        with travel(NOW - 120 * DAY):
            document(item_draft, key=key)  # the same stored file, attached to an item's draft
        db.session.commit()
        assert retention()["drafts"] == 1
        assert db.session.get(Application, item_draft) is None
        assert file_exists(key)  # the bundle still points at it
        assert key in referenced_storage_keys()  # and the orphan sweeper will not take it


def test_a_completed_bundles_uploads_go_after_the_closed_upload_period(world):
    with world.app_context():
        long_ago = NOW - 4 * 365 * DAY
        old = bundle_at(long_ago, BundleState.COMPLETED, reference="YJS-R2", completed_at=long_ago)
        old_key = bundle_document(old)
        young = bundle_at(NOW - 100 * DAY, BundleState.COMPLETED, reference="YJS-R3", completed_at=NOW - DAY)
        young_key = bundle_document(young)
        old_id = old.id
        db.session.commit()
        retention()
        assert db.session.get(BundleApplication, old_id).documents == []
        assert not file_exists(old_key) and file_exists(young_key)
