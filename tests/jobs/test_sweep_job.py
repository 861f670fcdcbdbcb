"""The orphan-upload sweeper as a scheduled job: an old file no row references goes, a referenced one
and a fresh one stay; its dry run deletes nothing."""

from __future__ import annotations

import os
import time

from core.clock import now
from core.db import db
from core.jobs import registered_jobs, run_job
from core.storage import get_storage
from tests.jobs.helpers import document, draft_at, file_exists, stored_file


def _age(key: str, seconds: int) -> None:
    path = get_storage()._path(key)
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_the_sweeper_job_removes_old_orphans_only(world):
    with world.app_context():
        orphan, fresh = stored_file(), stored_file()
        referenced = document(draft_at(now()))
        db.session.commit()
        _age(orphan, 7200)
        _age(referenced, 7200)
        job = registered_jobs()["sweep_uploads"]
        dry = run_job(job, dry_run=True)
        assert dry.counts == {"deleted": 1, "referenced": 1} and file_exists(orphan)
        result = run_job(job)
        assert result.outcome == "ok" and result.counts["deleted"] == 1
        assert not file_exists(orphan) and file_exists(fresh) and file_exists(referenced)
