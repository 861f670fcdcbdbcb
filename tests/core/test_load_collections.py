"""``core.db.load_collections``: the application pages load their collections through statements built
once. What it loads must be what a lazy load finds (the same rows, in the relationship's order), a
collection already loaded or changed in the session is left alone, and the loaded collections behave
as loaded ones do when the request then writes."""

from __future__ import annotations

from datetime import date

import pytest

from applications.models import Application, DeferredDocument, StatusEvent
from core.db import db, load_collections
from tests.clerk.helpers import insert_submitted, load_world
from tests.sql import sql_sent

NAMES = ("events", "documents", "pauses", "visits", "deferrals")


@pytest.fixture
def one(app):
    """An application with three events (ids in order) and two deferrals inserted out of order."""
    with app.app_context():
        load_world()
        (app_id,) = insert_submitted(1)
        application = db.session.get(Application, app_id)
        for to_state in ("accepted", "correction_requested"):
            application.events.append(StatusEvent(from_state="x", to_state=to_state, action="test"))
        for requirement in (3, 1):  # the relationship orders by requirement, not by id
            application.deferrals.append(
                DeferredDocument(
                    requirement=requirement, requirement_name=f"材料{requirement}", due_on=date(2026, 12, 31)
                )
            )
        db.session.commit()
        db.session.remove()
    return app_id


def _lazy(app_id: int) -> dict[str, list[int]]:
    db.session.remove()
    application = db.session.get(Application, app_id)
    found = {name: [row.id for row in getattr(application, name)] for name in NAMES}
    db.session.remove()
    return found


def test_it_loads_what_a_lazy_load_finds_in_its_order_and_nothing_more(app, one):
    with app.app_context():
        expected = _lazy(one)
        assert len(expected["events"]) == 3 and len(expected["deferrals"]) == 2
        application = db.session.get(Application, one)
        with sql_sent(app) as sent:
            load_collections(application, *NAMES)
        assert len(sent) == len(NAMES)  # one statement each, in the relationship's order (the rows
        # come back in that order here anyway, from the primary key or the unique index)
        flat = [" ".join(s.split()) for s, _ in sent]
        statements = {s.split(" FROM ", 1)[1].split()[0]: s for s in flat}
        assert "ORDER BY deferred_documents.requirement" in statements["deferred_documents"]
        assert "ORDER BY status_events.id" in statements["status_events"]
        with sql_sent(app) as later:
            loaded = {name: [row.id for row in getattr(application, name)] for name in NAMES}
        assert later == []  # reading them afterwards sends nothing
        assert loaded == expected
        assert [d.requirement for d in application.deferrals] == [1, 3]
        db.session.remove()


def test_a_collection_already_loaded_or_changed_is_left_as_it_is(app, one):
    with app.app_context():
        application = db.session.get(Application, one)
        application.events.append(StatusEvent(from_state="x", to_state="approved", action="test"))
        with sql_sent(app, where="status_events") as sent:
            load_collections(application, "events")
        assert sent == []
        assert [e.to_state for e in application.events][-1] == "approved"  # the pending one is kept
        db.session.rollback()
        db.session.remove()


def test_writes_after_loading_are_saved_as_with_a_lazy_load(app, one):
    with app.app_context():
        application = db.session.get(Application, one)
        load_collections(application, "events", "deferrals")
        application.events.append(StatusEvent(from_state="x", to_state="approved", action="test"))
        del application.deferrals[0]  # delete-orphan: the row goes
        db.session.commit()
        assert [e.to_state for e in db.session.get(Application, one).events][-1] == "approved"
        found = _lazy(one)
        assert len(found["events"]) == 4 and len(found["deferrals"]) == 1
        assert db.session.query(DeferredDocument).filter_by(application_id=one).count() == 1


def test_an_application_without_rows_gets_empty_collections(app):
    with app.app_context():
        load_world()
        (app_id,) = insert_submitted(1)
        db.session.commit()
        db.session.remove()
        application = db.session.get(Application, app_id)
        load_collections(application, "documents", "visits")
        with sql_sent(app) as sent:
            assert application.documents == [] and application.visits == []
        assert sent == []
        db.session.remove()
