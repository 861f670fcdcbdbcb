"""Retention (core/retention.py, auth/retention.py, applications/jobs/retention.py): each rule removes
exactly what is past its period and keeps the rest (89 vs 91 days, a day either side of three years),
files go only when nothing else points at them, a dry run changes nothing, every deletion is audited,
and the audit trail itself is never touched."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from applications.models import Application, ApplicationDocument
from applications.workflow.states import State
from auth.models import LoginThrottle, VerificationCode
from core import audit
from core.audit import AuditLog
from core.clock import travel
from core.db import db
from core.jobs import registered_jobs, run_job
from tests.clerk.helpers import citizen
from tests.jobs.helpers import (
    add_event,
    closed_at,
    document,
    draft_at,
    file_exists,
    open_application,
    wallet_copy,
)

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def retention() -> dict[str, int]:
    with travel(NOW):
        result = run_job(registered_jobs()["retention"], manual=True)
    assert result.outcome == "ok", result.error
    db.session.expire_all()
    return result.counts


def exists(app_id: int) -> bool:
    return db.session.get(Application, app_id) is not None


def doc_keys(app_id: int) -> set[str]:
    return set(
        db.session.scalars(
            select(ApplicationDocument.storage_key).where(ApplicationDocument.application_id == app_id)
        )
    )


def audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_drafts_untouched_91_days_go_with_their_files_and_89_days_stay(world):
    with world.app_context():
        old = draft_at(NOW - 91 * DAY)
        recent = draft_at(NOW - 89 * DAY)
        submitted = open_application(NOW - 400 * DAY, state=State.SUBMITTED)
        with travel(NOW - 91 * DAY):
            old_file = document(old)
            shared = document(old, requirement=1)
        wallet_copy(shared)  # the citizen keeps this one in 我的材料
        recent_file = document(recent)
        db.session.commit()

        counts = retention()
        assert counts["drafts"] == 1
        assert not exists(old) and exists(recent) and exists(submitted)
        assert not file_exists(old_file)
        assert file_exists(shared) and file_exists(recent_file)
        (row,) = audit_rows("retention.draft_deleted")
        assert row.object_id == str(old) and row.details["documents"] == 2
        # idempotent: a second run finds nothing
        assert retention()["drafts"] == 0


def test_a_draft_changed_again_is_kept(world):
    with world.app_context():
        app_id = draft_at(NOW - 91 * DAY)
        db.session.commit()
        with travel(NOW - 10 * DAY):
            app = db.session.get(Application, app_id)
            app.form_data = {"name": "x"}
            db.session.commit()
        assert retention()["drafts"] == 0 and exists(app_id)


def test_a_draft_with_a_recent_upload_is_kept(world):
    with world.app_context():
        app_id = draft_at(NOW - 120 * DAY)
        with travel(NOW - 89 * DAY):
            key = document(app_id)
        db.session.commit()
        assert retention()["drafts"] == 0 and exists(app_id) and file_exists(key)


def test_uploads_of_applications_closed_three_years_ago_go_the_applications_stay(world):
    with world.app_context():
        gone = closed_at(NOW - 3 * 365 * DAY - 2 * DAY)
        kept = closed_at(NOW - 3 * 365 * DAY + 2 * DAY, state=State.REFUSED)
        withdrawn = closed_at(NOW - 4 * 365 * DAY, state=State.WITHDRAWN)
        still_open = open_application(NOW - 5 * 365 * DAY)  # open for five years: nothing closed
        keys = {a: document(a) for a in (gone, kept, withdrawn, still_open)}
        in_wallet = document(gone, requirement=1)
        wallet_copy(in_wallet)
        db.session.commit()

        counts = retention()
        assert counts["closed_uploads"] == 3  # two of `gone`, one of `withdrawn`
        assert doc_keys(gone) == set() and doc_keys(withdrawn) == set()
        assert doc_keys(kept) == {keys[kept]} and doc_keys(still_open) == {keys[still_open]}
        assert all(exists(a) for a in keys)  # statistics survive: the applications stay
        assert not file_exists(keys[gone]) and not file_exists(keys[withdrawn])
        assert file_exists(in_wallet) and file_exists(keys[kept])
        rows = audit_rows("retention.uploads_deleted")
        assert {r.object_id for r in rows} == {str(gone), str(withdrawn)}


def test_the_closed_upload_period_is_a_setting(make_app):
    app = make_app(RETENTION_CLOSED_UPLOAD_YEARS=1)
    from tests.clerk.helpers import load_world

    with app.app_context():
        load_world()
        two_years = closed_at(NOW - 2 * 365 * DAY)
        half_year = closed_at(NOW - 180 * DAY)
        document(two_years), document(half_year)
        db.session.commit()
        assert retention()["closed_uploads"] == 1
        assert doc_keys(two_years) == set() and doc_keys(half_year)


def test_rejected_files_go_when_the_case_closes(world):
    with world.app_context():
        closed = closed_at(NOW - 5 * DAY)
        rejected = document(closed, requirement=0)
        answer = document(closed, requirement=0)  # the correction's new upload
        other = document(closed, requirement=1, name="照片")
        waiting = open_application(NOW - 30 * DAY, state=State.RESUBMITTED)
        open_rejected = document(waiting, requirement=0)
        open_answer = document(waiting, requirement=0)
        db.session.commit()

        counts = retention()
        assert counts["rejected_files"] == 1
        assert doc_keys(closed) == {answer, other}
        assert doc_keys(waiting) == {open_rejected, open_answer}  # the case is open: nothing yet
        assert not file_exists(rejected) and file_exists(answer) and file_exists(open_rejected)
        (row,) = audit_rows("retention.rejected_files_deleted")
        assert row.object_id == str(closed) and row.details["documents"] == ["居民身份证"]


def test_a_case_reopened_after_closing_counts_from_its_last_closing(world):
    with world.app_context():
        app_id = closed_at(NOW - 4 * 365 * DAY)
        add_event(app_id, State.DELIVERED, NOW - 100 * DAY)  # delivered (closed again) 100 days ago
        key = document(app_id)
        db.session.commit()
        assert retention()["closed_uploads"] == 0
        assert doc_keys(app_id) == {key}


def test_throttle_rows_and_expired_codes_go_after_a_day(world):
    with world.app_context():
        db.session.add_all(
            [
                LoginThrottle(key="user:1", failures=2, updated_at=NOW - 25 * timedelta(hours=1)),
                LoginThrottle(key="user:2", failures=2, updated_at=NOW - 23 * timedelta(hours=1)),
                # an old row whose lock still runs (a long lock) is kept
                LoginThrottle(
                    key="user:3",
                    failures=9,
                    updated_at=NOW - 3 * DAY,
                    locked_until=NOW + timedelta(minutes=5),
                ),
                VerificationCode(
                    purpose="register",
                    mobile_bidx="index-of-13912345678",
                    code_hash="a",
                    expires_at=NOW - 25 * timedelta(hours=1),
                ),
                VerificationCode(
                    purpose="register",
                    mobile_bidx="index-of-13912345679",
                    code_hash="b",
                    expires_at=NOW - 23 * timedelta(hours=1),
                ),
            ]
        )
        db.session.commit()
        counts = retention()
        assert counts["login_throttle"] == 1 and counts["verification_codes"] == 1
        assert set(db.session.scalars(select(LoginThrottle.key))) == {"user:2", "user:3"}
        assert list(db.session.scalars(select(VerificationCode.code_hash))) == ["b"]
        assert audit_rows("retention.login_throttle_purged")[0].details["count"] == 1
        assert audit_rows("retention.verification_codes_purged")[0].details["count"] == 1


def test_the_hourly_throttle_job(world):
    with world.app_context():
        db.session.add(LoginThrottle(key="user:9", failures=1, updated_at=NOW - 2 * DAY))
        db.session.commit()
        with travel(NOW):
            assert run_job(registered_jobs()["purge_login_throttle"]).counts == {"deleted": 1}
        assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def _everything_due() -> dict[str, object]:
    draft = draft_at(NOW - 91 * DAY)
    with travel(NOW - 91 * DAY):
        draft_file = document(draft)
    closed = closed_at(NOW - 4 * 365 * DAY)
    closed_file = document(closed)
    db.session.add(LoginThrottle(key="user:1", failures=2, updated_at=NOW - 2 * DAY))
    db.session.add(
        VerificationCode(
            purpose="register", mobile_bidx="index-of-13912345678", code_hash="a", expires_at=NOW - 2 * DAY
        )
    )
    db.session.commit()
    return {"draft": draft, "draft_file": draft_file, "closed": closed, "closed_file": closed_file}


def _snapshot() -> tuple:
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(t))
        for t in (Application, ApplicationDocument, LoginThrottle, VerificationCode, AuditLog)
    )


def test_flask_retention_dry_run_lists_and_changes_nothing(world):
    with world.app_context():
        due = _everything_due()
        before = _snapshot()
        db.session.rollback()
    with travel(NOW):
        result = world.test_cli_runner().invoke(args=["retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "drafts: would delete 1" in out and "closed_uploads: would delete 1" in out
    assert "login_throttle: would delete 1" in out and "verification_codes: would delete 1" in out
    assert f"draft #{due['draft']}" in out
    with world.app_context():
        assert _snapshot() == before
        assert file_exists(due["draft_file"]) and file_exists(due["closed_file"])
        # no personal data in what it prints: no mobile number, ID number or name
        person = citizen()
        assert person.real_name not in out and person.mobile not in out
        assert not re.search(r"1[3-9]\d{9}", out) and not re.search(r"\d{17}[\dXx]", out)


def test_the_retention_job_dry_run_changes_nothing(world):
    with world.app_context():
        _everything_due()
        before = _snapshot()
        with travel(NOW):
            result = run_job(registered_jobs()["retention"], dry_run=True)
        assert result.outcome == "dry_run" and result.counts["drafts"] == 1
        assert _snapshot() == before


def test_flask_retention_applies_and_records_a_run(world):
    with world.app_context():
        due = _everything_due()
    with travel(NOW):
        result = world.test_cli_runner().invoke(args=["retention"])
    assert result.exit_code == 0 and "retention ok" in result.output and "drafts=1" in result.output
    with world.app_context():
        assert not exists(due["draft"]) and not file_exists(due["closed_file"])


def test_the_audit_trail_is_never_deleted(world):
    with world.app_context():
        with travel(NOW - 5 * 365 * DAY):
            audit.record("test.ancient", object_type="application", object_id=1)
            db.session.commit()
        _everything_due()
        before = db.session.scalar(select(func.count()).select_from(AuditLog))
        retention()
        after = db.session.scalar(select(func.count()).select_from(AuditLog))
        assert after > before  # the deletions were audited
        assert len(audit_rows("test.ancient")) == 1
        assert "audit" not in " ".join(world.extensions["portal_retention"])


def test_a_file_that_cannot_be_deleted_does_not_undo_the_run(world, monkeypatch):
    """The operator's fault: the upload store refuses a deletion. The rows are gone (committed and
    audited); the file stays for the orphan sweeper, and the job still ends ok."""
    from core.storage import LocalStorage

    with world.app_context():
        due = _everything_due()

        def refuse(self, key):
            raise PermissionError("read-only file system")

        monkeypatch.setattr(LocalStorage, "delete", refuse)
        with travel(NOW):
            result = run_job(registered_jobs()["retention"], manual=True)
        assert result.outcome == "ok"
        db.session.expire_all()
        assert not exists(due["draft"])
        assert audit_rows("retention.draft_deleted")
    monkeypatch.undo()
    with world.app_context():
        assert file_exists(due["draft_file"])  # kept: the sweeper's job now
        assert world.test_cli_runner().invoke(args=["jobs", "run", "sweep_uploads"]).exit_code == 0
