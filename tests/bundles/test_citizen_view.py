"""The citizen's view of a submitted 一件事: one card in 我的办件 (its items not again on their own),
the detail page with every part, its dependencies and one timeline, a returned part, and another
citizen's id answering 404."""

from __future__ import annotations

import re

import pytest

from applications.bundles import queries
from applications.bundles.models import BundleApplication, BundleState, PartStatus
from applications.models import Application
from applications.workflow.states import State
from core.db import db
from core.transaction import commit
from tests.auth.helpers import login, make_account
from tests.bundles.view_helpers import (
    BIRTH,
    NEW_CAR,
    approve_item,
    finish_handoff,
    item_app,
    part,
    submitted_bundle,
)
from tests.clerk.helpers import citizen, insert_submitted, load_world
from tests.ratings.helpers import citizen_login
from tests.sql import sql_sent


@pytest.fixture
def world(app):
    with app.app_context():
        load_world()
        db.session.remove()
    return app


@pytest.fixture
def client(world):
    return citizen_login(world.test_client())


def _make(app, code=BIRTH, then=None) -> int:
    with app.app_context():
        ba = submitted_bundle(code)
        if then:
            then(ba)
        commit()
        return ba.id


def _card(html: str, bundle_id: int) -> str:
    match = re.search(rf'data-bundle="{bundle_id}">(.*?)</article>', html, re.S)
    assert match, "no card for the bundle"
    return match.group(1)


def test_fan_out_as_the_helper_builds_it(world):
    """The helper's bundle is what the submit makes: the 户口 item submitted and routed, the 卫健
    hand-off pushed, the two steps that need 户口 waiting."""
    with world.app_context():
        ba = submitted_bundle(BIRTH)
        assert part(ba, "hukou").status == PartStatus.STARTED
        hukou = item_app(ba, "hukou")
        assert hukou.state == State.SUBMITTED and hukou.unit_id is not None
        assert part(ba, "vaccination").status == PartStatus.PUSHED
        assert part(ba, "insurance").status == PartStatus.WAITING
        assert part(ba, "sscard").status == PartStatus.WAITING


def test_my_applications_shows_one_card_per_bundle(world, client):
    bid = _make(world, NEW_CAR)
    with world.app_context():
        ba = db.session.get(BundleApplication, bid)
        temp_ref = item_app(ba, "temp_plate").reference
    html = client.get("/me/applications").text
    card = _card(html, bid)
    assert "新车上牌一件事" in card and "办理中" in card
    assert "临时行驶车号牌" in card and "已提交，待受理" in card  # item: its state and its unit
    assert "车辆管理所" in card
    assert "车辆购置税申报缴纳" in card and "已推送" in card  # hand-off: its status
    assert "机动车注册登记" in card and "等待前序事项" in card and "车辆购置税申报缴纳" in card
    assert f"/my/bundles/{bid}" in card
    # the item's application is inside the card, not a second card/row of its own
    assert html.count(temp_ref) == 0 or html.count(temp_ref) == card.count(temp_ref)
    rows = re.findall(r"<tr>\s*<td data-label=\"办理事项\">(.*?)</td>", html, re.S)
    assert not any("临时行驶车号牌" in r or "机动车注册登记" in r for r in rows)


def _own_application(app) -> str:
    """One application of the demo citizen's own (not a bundle's part); its reference."""
    with app.app_context():
        (own,) = insert_submitted(1, applicant=citizen())
        commit()
        return db.session.get(Application, own).reference


def test_the_card_shows_beside_the_citizens_own_applications(world, client):
    """The rows of 我的办件 carry "has a card": a citizen with both sees both."""
    bid = _make(world, NEW_CAR)
    reference = _own_application(world)
    html = client.get("/me/applications").text
    assert "新车上牌一件事" in _card(html, bid)
    assert reference in html


def test_a_citizen_without_a_card_is_spared_the_cards_query(world, client):
    """Own applications and only a draft 一件事 (a draft is no card): no card and no query for cards;
    the first card submitted shows on the next view."""
    reference = _own_application(world)
    with world.app_context():
        draft = submitted_bundle(NEW_CAR)
        draft.state = BundleState.DRAFT
        draft_id = draft.id
        commit()
    with sql_sent(world, where="FROM bundle_applications") as sent:
        html = client.get("/me/applications").text
    assert reference in html and 'data-bundle="' not in html
    assert [s for s, _ in sent if s.lstrip().startswith("SELECT bundle_applications.")] == []
    assert len(sent) == 1  # only the rows' own EXISTS

    with world.app_context():
        db.session.get(BundleApplication, draft_id).state = BundleState.SUBMITTED
        commit()
    assert "新车上牌一件事" in _card(client.get("/me/applications").text, draft_id)


def test_card_statuses_follow_the_parts(world, client):
    bid = _make(world, NEW_CAR, then=lambda ba: finish_handoff(ba, "tax"))
    card = _card(client.get("/me/applications").text, bid)
    # tax done → registration submitted (its held draft started by progress)
    assert "已办结" in card
    assert "等待前序事项" not in card
    with world.app_context():
        ba = db.session.get(BundleApplication, bid)
        assert item_app(ba, "registration").state == State.SUBMITTED


def test_completed_bundle_shows_duration_and_overall(world, client):
    def finish(ba):
        finish_handoff(ba, "tax")
        approve_item(ba, "temp_plate")
        approve_item(ba, "registration")

    bid = _make(world, NEW_CAR, then=finish)
    card = _card(client.get("/me/applications").text, bid)
    assert "已全部办结" in card
    page = client.get(f"/my/bundles/{bid}").text
    assert 'data-testid="bundle-duration"' in page
    assert "从提交到办结共" in page
    assert 'data-testid="bundle-rating-form"' in page


def test_detail_lists_parts_dependencies_and_one_timeline(world, client):
    bid = _make(world, BIRTH, then=lambda ba: approve_item(ba, "hukou"))
    response = client.get(f"/my/bundles/{bid}")
    assert response.status_code == 200
    html = response.text
    assert "在「出生登记（报户口）」办结后开始" in html
    assert "在「出生登记（报户口）」「城乡居民医保参保登记」办结后开始" in html
    with world.app_context():
        ba = db.session.get(BundleApplication, bid)
        hukou = item_app(ba, "hukou")
    assert f"/applications/{hukou.id}" in html  # the police item links to its own page
    timeline = re.search(r'data-testid="bundle-timeline">(.*?)</ol>', html, re.S).group(1)
    for label in ("提交一件事申请", "已受理", "办结（准予）", "已推送至部门"):
        assert label in timeline, label
    # oldest first: the bundle's submission, then the approval, then the hand-off it started
    assert timeline.index("提交一件事申请") < timeline.index("办结（准予）")
    assert timeline.index("办结（准予）") < timeline.rindex("已推送至部门")


def test_timeline_is_ordered_by_time(world):
    with world.app_context():
        ba = submitted_bundle(BIRTH)
        approve_item(ba, "hukou")
        finish_handoff(ba, "insurance", {"insurance_number": "YB1"})
        entries = queries.timeline(queries.bundle_view(ba))
        assert [e.at for e in entries] == sorted(e.at for e in entries)
        assert entries[0].what == "提交一件事申请"


def test_a_returned_part_is_shown_clearly(world, client):
    from applications.bundles import progress

    def back(ba):
        progress.part_returned(part(ba, "vaccination"), note="出生医学证明编号有误")

    bid = _make(world, BIRTH, then=back)
    card = _card(client.get("/me/applications").text, bid)
    assert "有事项被退回" in card and "退回" in card
    page = client.get(f"/my/bundles/{bid}").text
    assert 'data-testid="bundle-returned"' in page
    assert "出生医学证明编号有误" in page
    assert "部门已接收" not in page


def test_withdrawn_bundle_says_so(world, client):
    def withdraw(ba):
        ba.state = BundleState.WITHDRAWN

    bid = _make(world, BIRTH, then=withdraw)
    assert "已撤回" in _card(client.get("/me/applications").text, bid)


def test_another_citizens_bundle_is_404(world, client):
    bid = _make(world, BIRTH)
    other = make_account(world, "citizen")
    stranger = world.test_client()
    assert login(stranger, other.login).status_code == 302
    assert stranger.get(f"/my/bundles/{bid}").status_code == 404
    assert stranger.get(f"/my/bundles/{bid}/corrections").status_code == 404
    assert stranger.post(f"/my/bundles/{bid}/rate", data={"level": "5"}).status_code == 404
    assert f"/my/bundles/{bid}" not in stranger.get("/me/applications").text
    assert client.get("/my/bundles/999999").status_code == 404


def test_a_draft_bundle_has_no_detail_page(world, client):
    bid = _make(world, BIRTH, then=lambda ba: setattr(ba, "state", BundleState.DRAFT))
    assert client.get(f"/my/bundles/{bid}").status_code == 404
