"""The citizen's actions on a submitted 一件事: one page answering the corrections two items were
asked for (all or nothing, typed values kept, messages per item) and the bundle's one 好差评."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from applications.bundles.models import BundleApplication
from applications.models import Application, ApplicationDocument
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db
from core.transaction import commit
from tests.bundles.view_helpers import NEW_CAR, approve_item, ask_correction, finish_handoff
from tests.clerk.helpers import load_world
from tests.ratings.helpers import citizen_login
from tests.uploads import corpus

INSURANCE = "机动车交通事故责任强制保险凭证"


@pytest.fixture
def world(app):
    with app.app_context():
        load_world()
        db.session.remove()
    return app


@pytest.fixture
def client(world):
    return citizen_login(world.test_client())


@pytest.fixture
def two_corrections(world):
    """A 新车上牌一件事 whose two police items were both asked for a correction: the temporary plate
    a new insurance document, the registration a new insurance document and a written reply."""
    with world.app_context():
        ba = _new_car()
        finish_handoff(ba, "tax")
        temp = ask_correction(ba, "temp_plate", [{"target": INSURANCE, "note": "保单已过期"}])
        reg = ask_correction(
            ba,
            "registration",
            [{"target": INSURANCE, "note": "保单看不清"}, {"target": "其他", "note": "说明车辆用途"}],
        )
        commit()
        return ba.id, temp.id, reg.id


def _new_car():
    from tests.bundles.view_helpers import submitted_bundle

    return submitted_bundle(NEW_CAR)


def _position(world, app_id: int) -> int:
    from applications.submission.operations import pinned_item

    with world.app_context():
        app = db.session.get(Application, app_id)
        return next(d.position for d in pinned_item(app).documents if d.name == INSURANCE)


def _state(world, app_id: int) -> State:
    with world.app_context():
        return db.session.get(Application, app_id).state


def _correction_files(world) -> int:
    with world.app_context():
        return db.session.scalar(
            select(func.count()).select_from(ApplicationDocument).where(ApplicationDocument.for_correction)
        )


def test_the_page_lists_every_item_and_what_its_unit_asked(world, client, two_corrections):
    bid, _temp, _reg = two_corrections
    detail = client.get(f"/my/bundles/{bid}").text
    assert f"/my/bundles/{bid}/corrections" in detail
    html = client.get(f"/my/bundles/{bid}/corrections").text
    assert html.count('data-testid="correction-item"') == 2
    assert "保单已过期" in html and "保单看不清" in html and "说明车辆用途" in html


def test_nothing_given_is_refused_with_a_clear_message(world, client, two_corrections):
    bid, temp, reg = two_corrections
    response = client.post(f"/my/bundles/{bid}/corrections", data={})
    assert response.status_code == 422
    assert "您还没有填写或上传任何补正内容" in response.text
    assert _state(world, temp) == State.CORRECTION_REQUESTED
    assert _state(world, reg) == State.CORRECTION_REQUESTED


def test_one_incomplete_item_saves_nothing_and_keeps_what_was_typed(world, client, two_corrections):
    bid, temp, reg = two_corrections
    before = _correction_files(world)
    data = {
        f"a{temp}-doc-{_position(world, temp)}": (io.BytesIO(corpus.pdf()), "保单.pdf"),
        f"a{reg}-ask-1": "家庭自用",  # the reply, but not the registration's new document
    }
    response = client.post(f"/my/bundles/{bid}/corrections", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "家庭自用" in response.text  # kept
    assert "请上传补正材料" in response.text  # at the registration's document
    assert _state(world, temp) == State.CORRECTION_REQUESTED  # the complete one was not resubmitted
    assert _state(world, reg) == State.CORRECTION_REQUESTED
    assert _correction_files(world) == before  # and its file not kept


def test_a_refused_file_is_named_at_its_item(world, client, two_corrections):
    bid, temp, reg = two_corrections
    data = {
        f"a{temp}-doc-{_position(world, temp)}": (io.BytesIO(b"not a pdf at all"), "保单.pdf"),
        f"a{reg}-doc-{_position(world, reg)}": (io.BytesIO(corpus.pdf()), "保单.pdf"),
        f"a{reg}-ask-1": "家庭自用",
    }
    response = client.post(f"/my/bundles/{bid}/corrections", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'data-testid="field-error"' in response.text
    assert "家庭自用" in response.text
    assert _state(world, reg) == State.CORRECTION_REQUESTED


def test_one_submit_answers_every_item(world, client, two_corrections):
    bid, temp, reg = two_corrections
    data = {
        f"a{temp}-doc-{_position(world, temp)}": (io.BytesIO(corpus.pdf()), "保单.pdf"),
        f"a{reg}-doc-{_position(world, reg)}": (io.BytesIO(corpus.pdf()), "保单2.pdf"),
        f"a{reg}-ask-1": "家庭自用",
    }
    response = client.post(f"/my/bundles/{bid}/corrections", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    assert _state(world, temp) == State.RESUBMITTED
    assert _state(world, reg) == State.RESUBMITTED
    with world.app_context():
        reply = db.session.get(Application, reg).events[-1].details
        assert reply == {"replies": {"其他": "家庭自用"}}  # through the item's own operation
    # nothing left to correct: the page goes back to the bundle
    assert client.get(f"/my/bundles/{bid}/corrections").status_code == 302


# 好差评 --------------------------------------------------------------------------------------------


def _completed(world) -> int:
    with world.app_context():
        ba = _new_car()
        finish_handoff(ba, "tax")
        approve_item(ba, "temp_plate")
        approve_item(ba, "registration")
        commit()
        return ba.id


def _rating(world, bid):
    with world.app_context():
        ba = db.session.get(BundleApplication, bid)
        return ba.rating_level, ba.rating_comment, ba.rated_at


def test_rating_before_completion_is_refused(world, client):
    with world.app_context():
        ba = _new_car()
        commit()
        bid = ba.id
    response = client.post(f"/my/bundles/{bid}/rate", data={"level": "5"})
    assert response.status_code == 302
    assert _rating(world, bid) == (None, "", None)
    assert "全部事项办结后才能评价" in client.get(f"/my/bundles/{bid}").text


def test_one_rating_once_and_audited(world, client):
    bid = _completed(world)
    page = client.get(f"/my/bundles/{bid}").text
    assert 'data-testid="item-rating-links"' in page  # each item may still be rated on its own
    response = client.post(f"/my/bundles/{bid}/rate", data={"level": "4", "comment": "很方便"})
    assert response.status_code == 302
    level, comment, at = _rating(world, bid)
    assert (level, comment) == (4, "很方便") and at is not None
    again = client.post(f"/my/bundles/{bid}/rate", data={"level": "1", "comment": "改主意"})
    assert again.status_code == 302
    assert _rating(world, bid)[:2] == (4, "很方便")
    assert "您已评价过该一件事" in client.get(f"/my/bundles/{bid}").text
    with world.app_context():
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "bundle.rate", AuditLog.object_id == str(bid))
        ).all()
        assert len(rows) == 1 and rows[0].details["level"] == 4


def test_rating_without_a_level_says_so_at_the_field(world, client):
    bid = _completed(world)
    response = client.post(f"/my/bundles/{bid}/rate", data={"comment": "不错"})
    assert response.status_code == 422
    assert "请选择满意程度" in response.text
    assert "不错" in response.text
    assert _rating(world, bid) == (None, "", None)
