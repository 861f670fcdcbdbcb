"""A clerk sees and acts only on their units' applications: another unit's id answers 404 on every
page, action and document, and never shows in the queue tabs or their counts (DESIGN §5)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from applications.clerk import operations as ops
from applications.clerk import queues
from applications.clerk.views import _today
from applications.models import ApplicationDocument
from applications.workflow.states import State
from core.db import db
from core.storage import get_storage
from tests.clerk.helpers import VO_ITEM, insert_submitted, login_staff, user
from tests.uploads import corpus


def _application_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every clerk route that names an application."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("clerk.") and "application_id" in rule.arguments:
            method = "GET" if "GET" in rule.methods else "POST"
            out.append((method, rule.rule))
    return sorted(out)


def _seed(app) -> dict:
    """Applications of LJ-PS-DC-01 (Y for clerk_vo) and of LJ-VO (Y for lead_dc), one of each kind of
    queue entry, each with a stored document."""
    with app.app_context():
        today = _today()
        storage = get_storage()
        out = {}
        for code, item, holder in (("LJ-PS-DC-01", None, "clerk_ps_dc_01"), ("LJ-VO", VO_ITEM, "clerk_vo")):
            kw = {"item_code": item} if item else {}
            holder_id = user(holder).id
            ids = insert_submitted(2, unit_code=code, **kw)  # pending
            ids += insert_submitted(1, unit_code=code, claimed_by_id=holder_id, **kw)
            ids += insert_submitted(1, unit_code=code, state=State.CORRECTION_REQUESTED, **kw)
            ids += insert_submitted(
                1,
                unit_code=code,
                state=State.ACCEPTED,
                claimed_by_id=holder_id,
                promised_due=today + timedelta(days=1),
                due_soon_on=today - timedelta(days=1),
                **kw,
            )
            ids += insert_submitted(
                1, unit_code=code, state=State.ACCEPTED, promised_due=today - timedelta(days=2), **kw
            )
            ids += insert_submitted(1, unit_code=code, state=State.APPROVED, **kw)
            docs = []
            for aid in ids:
                key = storage.save(corpus.pdf(), suffix=".pdf")
                doc = ApplicationDocument(
                    application_id=aid,
                    requirement=0,
                    requirement_name="居民身份证",
                    storage_key=key,
                    kind="pdf",
                    mimetype="application/pdf",
                    size=100,
                    sha256="0" * 64,
                    display_name="x.pdf",
                )
                db.session.add(doc)
                db.session.flush()
                docs.append(doc.id)
            out[code] = list(zip(ids, docs, strict=True))
        db.session.commit()
        return out


@pytest.mark.parametrize(
    ("viewer", "own", "foreign"),
    [("clerk_vo", "LJ-VO", "LJ-PS-DC-01"), ("lead_dc", "LJ-PS-DC-01", "LJ-VO")],
)
def test_another_units_applications_are_404_everywhere(world, viewer, own, foreign):
    app = world
    seeded = _seed(app)
    routes = _application_routes(app)
    assert len(routes) >= 14, routes
    client = app.test_client()
    login_staff(client, viewer)
    form = {
        "version": "1",
        "reason": "x",
        "legal_basis": "x",
        "delivery": "mail",
        "carrier": "EMS",
        "tracking": "1",
        "to_unit": "LJ-PS-DC-02",
        "to_user": "1",
        "place": "窗口",
        "purpose": "核验原件",
        "target": "居民身份证",
        "note-居民身份证": "不清晰",
        "which": "applicant",
    }
    for aid, doc_id in seeded[foreign]:
        for method, rule in routes:
            url = rule.replace("<int:application_id>", str(aid)).replace("<int:document_id>", str(doc_id))
            response = client.get(url) if method == "GET" else client.post(url, data=form)
            # 改派 is for unit leads: a plain clerk is refused by role before any look-up.
            expected = 403 if rule.endswith("/reassign") and viewer != "lead_dc" else 404
            assert response.status_code == expected, (viewer, method, url, response.status_code)
    # The control: the same pages of the viewer's own unit answer.
    own_aid, own_doc = seeded[own][0]
    assert client.get(f"/clerk/applications/{own_aid}").status_code == 200
    assert client.get(f"/clerk/applications/{own_aid}/files/{own_doc}").status_code == 200
    # A document of Y under X's application id is 404 too.
    foreign_doc = seeded[foreign][0][1]
    assert client.get(f"/clerk/applications/{own_aid}/files/{foreign_doc}").status_code == 404

    with app.app_context():
        from applications.models import Application

        refs = {
            code: [db.session.get(Application, aid).reference for aid, _doc in rows]
            for code, rows in seeded.items()
        }
        counts = queues.queue_counts(user(viewer), _today())
    # Y never appears in X's tabs; X's own tabs are not empty (so the check means something).
    shown = set()
    for tab in queues.TABS:
        page = client.get(f"/clerk/?tab={tab}").get_data(as_text=True)
        shown |= set(re.findall(r"LJ\d{14}[0-9A-Z]", page))
        badge = re.search(rf'data-testid="count-{tab}">(\d+)<', page)
        assert int(badge.group(1)) == counts[tab]
    assert not shown & set(refs[foreign])
    # All of X's own show, except (for the lead) the one a colleague holds before acceptance.
    assert len(set(refs[own]) & shown) == (7 if viewer == "clerk_vo" else 6)
    assert counts == {
        "pending": 2,
        "mine": 2 if viewer == "clerk_vo" else 0,
        "correction": 1,
        "due_soon": 1,
        "overdue": 1,
        "done": 1,
    }
    # claim-next never takes Y's application.
    with app.app_context():
        viewer_user = user(viewer)
        taken = []
        while (got := ops.claim_next(viewer_user)) is not None:
            taken.append(got)
        db.session.rollback()
    assert taken and not set(taken) & {aid for aid, _doc in seeded[foreign]}
