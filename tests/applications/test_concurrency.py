"""A double-clicked or replayed submit makes one application; concurrent starts with one token make
one draft (threads, each with its own client and connection; SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from applications.models import Application, ReferenceCounter, StatusEvent
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from tests.auth.helpers import login

from .helpers import ITEM, ITEM_ANSWERS, ready_draft

THREADS = 6


def _clients(app, account, n=THREADS):
    clients = []
    for _ in range(n):
        client = app.test_client()
        assert login(client, account.login).status_code == 302
        clients.append(client)
    return clients


def _race(clients, call):
    """Run ``call(client)`` in one thread per client, released together; return the results."""
    barrier = threading.Barrier(len(clients))
    results: list = [None] * len(clients)

    def run(i, client):
        barrier.wait()
        try:
            results[i] = call(client)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_submits_make_one_submitted_application(app, citizen, citizen_client):
    aid = ready_draft(citizen_client)
    clients = _clients(app, citizen)
    results = _race(clients, lambda c: c.post(f"/applications/{aid}/submit"))
    for r in results:
        assert not isinstance(r, Exception), r
        assert r.status_code == 302, r.status_code
        assert r.headers["Location"].endswith(f"/applications/{aid}/done")
    with app.app_context():
        apps = db.session.scalars(select(Application)).all()
        assert len(apps) == 1 and apps[0].state == State.SUBMITTED and apps[0].reference
        count = db.session.scalar(
            select(func.count()).select_from(StatusEvent).where(StatusEvent.action == "submit")
        )
        assert count == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "application.submit")
            )
            == 1
        )
        # A losing submit may have used a sequence number and rolled back with it: at most one is used.
        assert db.session.scalar(select(func.sum(ReferenceCounter.last))) == 1
    page = clients[0].get(f"/applications/{aid}/done").text
    assert apps[0].reference in page


def test_concurrent_starts_with_one_token_make_one_draft(app, citizen, demo):
    clients = _clients(app, citizen)
    token = "one-token-for-all-threads-0001"
    results = _race(clients, lambda c: c.post(f"/apply/{ITEM}", data={"token": token, **ITEM_ANSWERS}))
    locations = set()
    for r in results:
        assert not isinstance(r, Exception), r
        assert r.status_code == 302, (r.status_code, r.text[:300])
        locations.add(r.headers["Location"])
    with app.app_context():
        apps = db.session.scalars(select(Application)).all()
        assert len(apps) == 1
        assert locations == {f"/applications/{apps[0].id}/form"}
        starts = db.session.scalar(
            select(func.count()).select_from(StatusEvent).where(StatusEvent.action == "start")
        )
        assert starts == 1


def test_concurrent_deferred_gives_make_one_document(app, citizen, citizen_client):
    """补交 pressed in several tabs at once: one document, one audit row, the rest told it is given."""
    import io

    from applications.models import ApplicationDocument, DeferredDocument

    from .helpers import DEFERRABLE_DOC, jpeg, submitted

    aid = submitted(citizen_client)
    clients = _clients(app, citizen, 4)
    results = _race(
        clients,
        lambda c: c.post(
            f"/applications/{aid}/deferred/{DEFERRABLE_DOC}",
            data={"file": (io.BytesIO(jpeg()), "学历.jpg")},
            content_type="multipart/form-data",
        ),
    )
    for r in results:
        assert not isinstance(r, Exception), r
    assert sorted(r.status_code for r in results).count(302) == 1, [r.status_code for r in results]
    assert all(r.status_code in (302, 422) for r in results)
    with app.app_context():
        given = db.session.scalar(
            select(func.count())
            .select_from(ApplicationDocument)
            .where(
                ApplicationDocument.application_id == aid, ApplicationDocument.requirement == DEFERRABLE_DOC
            )
        )
        assert given == 1
        deferral = db.session.scalar(select(DeferredDocument).where(DeferredDocument.application_id == aid))
        assert deferral.fulfilled_at is not None
        audits = db.session.scalar(
            select(func.count()).where(AuditLog.action == "application.deferred_document_given")
        )
        assert audits == 1
