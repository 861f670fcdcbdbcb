"""Re-running ``make run`` (``flask demo load``) never reverts what an admin published (issue 17, item 12)."""

from __future__ import annotations

from sqlalchemy import select

from catalog.models import ItemVersion, ServiceItem, VersionState
from core.db import db


def _published(code: str) -> ItemVersion:
    item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == code))
    return db.session.scalar(
        select(ItemVersion).where(ItemVersion.item_id == item.id, ItemVersion.state == VersionState.PUBLISHED)
    )


def test_demo_load_adds_what_is_missing_and_keeps_published_edits(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        version = _published("LJ-ZA-001")
        assert version.promised_days != 1
        # what an admin's publish leaves: another promise, the hash of the admin's record
        version.promised_days, version.source_hash = 1, "admin-edit"
        number = version.version
        db.session.delete(db.session.scalar(select(ServiceItem).where(ServiceItem.code == "LJ-HJ-019")))
        db.session.commit()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        again = _published("LJ-ZA-001")
        assert (again.promised_days, again.version) == (1, number)  # the admin's edit stands
        assert _published("LJ-HJ-019") is not None  # a missing item is loaded again
