"""改进清单: the ranked list and one item's guide fixes, on data whose answer is known — correction
requests naming documents, bad ratings, deferred documents, unanswered questions — with the period
filter and the before/after figure around the last publish."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from applications.guide_fixes import queries as q
from applications.models import Application, DeferredDocument, StatusEvent
from applications.ratings.models import Rating
from catalog.ask import operations as ask_ops
from catalog.ask.models import QuestionKind
from catalog.models import ItemVersion, ServiceItem, VersionState
from core.db import db, utcnow
from core.transaction import commit
from tests.auth.helpers import login_as
from tests.catalog.helpers import load_demo
from tests.factories import CitizenFactory

CODE = "LJ-HJ-001"


def _app(item: ServiceItem, citizen, submitted_at) -> Application:
    version = db.session.scalar(
        select(ItemVersion).where(ItemVersion.item_id == item.id, ItemVersion.state == VersionState.PUBLISHED)
    )
    a = Application(
        applicant_id=citizen.id,
        item_id=item.id,
        version_id=version.id,
        start_token=secrets.token_hex(16),
        reference="LJT" + secrets.token_hex(6).upper(),
        state="submitted",
        submitted_at=submitted_at,
    )
    db.session.add(a)
    db.session.flush()
    return a


def _correction(a: Application, at, *targets: tuple[str, str]) -> None:
    db.session.add(
        StatusEvent(
            application_id=a.id,
            from_state="submitted",
            to_state="correction_requested",
            action="request_correction",
            at=at,
            details={"items": [{"target": t, "note": n} for t, n in targets]},
        )
    )


@pytest.fixture
def data(app):
    """Published 20 days ago; 4 applications before (3 corrections of the photo), 2 after (none)."""
    now = utcnow()
    with app.app_context():
        load_demo()
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == CODE))
        published = db.session.scalar(
            select(ItemVersion).where(
                ItemVersion.item_id == item.id, ItemVersion.state == VersionState.PUBLISHED
            )
        )
        published.published_at = now - timedelta(days=20)
        citizen = CitizenFactory()
        photo = "数码照相回执（近期免冠照片）"
        for n in range(4):
            a = _app(item, citizen, now - timedelta(days=30 + n))
            if n < 3:
                _correction(a, now - timedelta(days=29 + n), (photo, "照片背景不是白色"))
        _correction(a, now - timedelta(days=29), ("监护人居民身份证", "请上传反面 13812345678"))
        for n in range(2):
            _app(item, citizen, now - timedelta(days=5 + n))
        db.session.add(
            Rating(
                application_id=a.id,
                user_id=citizen.id,
                item_id=item.id,
                level=1,
                reasons=["办事指南不准确"],
                comment="指南没写要白底照片",
            )
        )
        db.session.add(
            DeferredDocument(
                application_id=a.id,
                requirement=2,
                requirement_name="监护人居民身份证",
                due_on=(now - timedelta(days=10)).date(),
            )
        )
        # an old correction outside a 30-day period
        old = _app(item, citizen, now - timedelta(days=200))
        _correction(old, now - timedelta(days=200), (photo, "旧的"))
        ask_ops.record_question(
            "孩子身份证照片要求", kind=QuestionKind.LOW_CONFIDENCE, best_code=CODE, best_score=0.55
        )
        commit()
    return app


def test_the_item_figures_are_what_the_data_says(data):
    now = utcnow()
    with data.app_context():
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == CODE))
        fixes = q.item_fixes(item, "居民身份证首次申领", now - timedelta(days=90), now, now)
        assert [(f.target, f.count) for f in fixes.corrections][:2] == [
            ("数码照相回执（近期免冠照片）", 3),
            ("监护人居民身份证", 1),
        ]
        assert fixes.corrections[0].examples == [("照片背景不是白色", 3)]
        assert "13812345678" not in str(fixes.corrections[1].examples)  # masked
        assert [(f.target, f.count) for f in fixes.ratings] == [("办事指南不准确", 1)]
        assert [(f.target, f.count, f.extra) for f in fixes.deferred] == [("监护人居民身份证", 1, 1)]
        assert [x.text for x in fixes.questions] == ["孩子身份证照片要求"]
        photo = next(b for b in fixes.before_after if b.document.startswith("数码照相"))
        assert (photo.before, photo.after, photo.before_apps, photo.after_apps) == (0.75, 0.0, 4, 2)
        # a 30-day period leaves the 200-day-old correction out; a 365-day one takes it in
        wide = q.item_fixes(item, "", now - timedelta(days=365), now, now)
        assert wide.corrections[0].count == 4


def test_the_pages_rank_items_and_link_into_the_editor(data):
    client = data.test_client()
    login_as(data, client, "admin")
    ranking = client.get("/admin/guide-fixes/?days=90")
    assert ranking.status_code == 200 and "/admin/guide-fixes/LJ-HJ-001" in ranking.text
    page = client.get("/admin/guide-fixes/LJ-HJ-001?days=90")
    assert page.status_code == 200
    assert 'data-testid="fix-corrections"' in page.text and "照片背景不是白色" in page.text
    assert "/admin/catalog/items/LJ-HJ-001/documents/1" in page.text  # the photo is document 1
    assert "75.0%" in page.text and 'data-testid="fix-before-after"' in page.text
    assert "13812345678" not in page.text
    # an unknown period is the default, never an error
    assert client.get("/admin/guide-fixes/LJ-HJ-001?days=abc").status_code == 200
    assert client.get("/admin/guide-fixes/LJ-HJ-001?days=%00").status_code == 200


def test_nothing_to_fix_says_so(app):
    with app.app_context():
        load_demo()
    client = app.test_client()
    login_as(app, client, "admin")
    assert 'data-testid="no-fixes"' in client.get("/admin/guide-fixes/").text
