"""The citizen's flow through the test client: start, form, drafts, uploads, review, submit,
withdraw and correction (issue 4 · Flow, Delivery, 我的办件)."""

from __future__ import annotations

import html
import io
import re

from sqlalchemy import func, select

from applications.models import Application, ApplicationDocument, StatusEvent
from applications.submission import operations as ops
from applications.workflow.states import State
from auth.models import User
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from tests.auth.helpers import field_error, input_value, is_chinese, make_account
from tests.uploads import corpus

from .helpers import (
    DEFERRABLE_DOC,
    ID_DOC,
    ITEM,
    PHOTO_DOC,
    item_form,
    jpeg,
    pdf,
    post_form,
    ready_draft,
    standard_files,
    start,
    submit,
    submitted,
    upload,
)


def _app_row(app, aid) -> Application:
    with app.app_context():
        row = db.session.get(Application, aid)
        db.session.expunge_all()
        return row


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_start_twice_with_one_token_gives_one_draft(app, citizen_client):
    first = start(citizen_client, token="same-token-1234567890")
    second = start(citizen_client, token="same-token-1234567890")
    assert first == second
    assert _count(app, Application) == 1
    assert _app_row(app, first).answers["channel"] == "self_study"


def test_start_page_gives_a_fresh_token_and_situations(citizen_client):
    page = citizen_client.get(f"/apply/{ITEM}?channel=training").text
    assert 'name="token"' in page and 'id="s-channel-training"' in page


def test_form_keeps_every_value_on_a_validation_error(app, citizen_client):
    aid = start(citizen_client)
    typed = item_form(contact_mobile="1391234", mail_address="短", f_exam_date="2026-13-45")
    typed["f_live_address"] = "江南区滨江路8号3单元<b>"
    response = post_form(citizen_client, aid, typed)
    assert response.status_code == 422
    page = response.text
    for name in (
        "contact_mobile",
        "recipient",
        "recipient_mobile",
        "mail_address",
        "f_exam_date",
        "f_live_address",
    ):
        assert input_value(page, name) == typed[name], name
    district = re.search(r'<select\b[^>]*\bname="district"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option\b[^>]*\bselected\b[^>]*\bvalue="([^"]*)"', district) == ["东城区"]
    radios = re.findall(r'<input\b[^>]*\bname="delivery_method"[^>]*>', page)
    checked = [re.search(r'\bvalue="([^"]*)"', t).group(1) for t in radios if re.search(r"\bchecked\b", t)]
    assert len(radios) > 1 and checked == ["mail"]
    for name in ("contact_mobile", "mail_address", "f_exam_date"):
        message = field_error(page, name)
        assert is_chinese(message), (name, message)
    assert "&lt;b&gt;" in page and "<b>" not in page.split("f_live_address")[1][:200]
    # The typed values are kept in the draft too.
    row = _app_row(app, aid)
    assert row.contact_mobile == "1391234"
    assert row.form_data["f_live_address"[2:]] == typed["f_live_address"]


def test_required_fields_each_get_a_chinese_message(citizen_client):
    aid = start(citizen_client)
    page = post_form(citizen_client, aid, {"contact_mobile": ""}).text
    for name in (
        "district",
        "contact_mobile",
        "delivery_method",
        "f_exam_date",
        "f_live_address",
    ):
        assert is_chinese(field_error(page, name)), name


def test_mail_delivery_requires_a_full_address(citizen_client):
    aid = start(citizen_client)
    response = post_form(citizen_client, aid, item_form(recipient="", mail_district="", mail_address=""))
    assert response.status_code == 422
    for name in ("recipient", "mail_district", "mail_address"):
        assert is_chinese(field_error(response.text, name)), name
    assert post_form(citizen_client, aid, item_form()).status_code == 302


def test_counter_delivery_requires_a_counter(citizen_client):
    aid = start(citizen_client)
    response = post_form(citizen_client, aid, item_form(delivery_method="counter", pickup_unit=""))
    assert response.status_code == 422
    assert is_chinese(field_error(response.text, "pickup_unit"))


def test_only_a_window_the_item_offers_is_kept_as_the_pickup_unit(app, citizen_client):
    """A hand-made POST naming another kind of unit, or a code with a NUL byte, is refused at the field
    (never a 500 on PostgreSQL) and sets no pickup unit; an offered window is kept."""
    aid = start(citizen_client)
    page = citizen_client.get(f"/applications/{aid}/form").text
    offered = re.findall(r'<option value="(LJ-[A-Z0-9-]+)"', page)
    assert offered and "LJ-EE" not in offered
    for bad in ("LJ-EE", "LJ-\x00EE"):
        response = post_form(citizen_client, aid, item_form(delivery_method="counter", pickup_unit=bad))
        assert response.status_code == 422, bad
        assert is_chinese(field_error(response.text, "pickup_unit"))
        assert _app_row(app, aid).pickup_unit_id is None
    assert (
        post_form(
            citizen_client, aid, item_form(delivery_method="counter", pickup_unit=offered[0])
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Application, aid).pickup_unit.code == offered[0]


def test_draft_is_saved_and_resumed_from_my_applications(app, citizen_client):
    aid = start(citizen_client)
    response = post_form(
        citizen_client, aid, item_form(f_live_address="半路上填的地址", recipient=""), next_step=False
    )
    # a half-filled draft is saved, not a failure: no red fields, "草稿已保存"
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/applications/{aid}/form")
    assert "草稿已保存" in citizen_client.get(f"/applications/{aid}/form").text
    listing = citizen_client.get("/me/applications").text
    assert f"/applications/{aid}" in listing and "保安员证核发" in listing and "草稿" in listing
    page = citizen_client.get(f"/applications/{aid}/form").text
    assert input_value(page, "f_live_address") == "半路上填的地址"
    assert input_value(page, "contact_mobile") == "13912345678"
    # Save draft with everything valid: flash, stays on the form.
    response = post_form(citizen_client, aid, item_form(), next_step=False)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/applications/{aid}/form")
    # only what cannot be stored at all is refused: a date that is no date, shown at its field
    response = post_form(
        citizen_client, aid, item_form(f_exam_date="2026-02-30", f_live_address=""), next_step=False
    )
    assert response.status_code == 422
    assert field_error(response.text, "f_exam_date") and not field_error(response.text, "f_live_address")


def test_a_refused_upload_has_its_own_message_and_the_rest_is_kept(app, citizen_client):
    aid = start(citizen_client)
    post_form(citizen_client, aid, item_form())
    response = upload(
        citizen_client, aid, {ID_DOC: (corpus.HTML, "身份证.jpg"), PHOTO_DOC: (jpeg(), "照片.jpg")}
    )
    assert response.status_code == 422
    page = response.text
    error = re.search(rf'id="doc-error-{ID_DOC}"[^>]*>([^<]+)<', page)
    assert error and is_chinese(html.unescape(error.group(1)))
    assert f'id="doc-error-{PHOTO_DOC}"' not in page
    assert "照片.jpg" in page  # the accepted one is shown as given
    with app.app_context():
        docs = db.session.scalars(
            select(ApplicationDocument).where(ApplicationDocument.application_id == aid)
        ).all()
        assert [d.requirement for d in docs] == [PHOTO_DOC]
    # The form answers are still there.
    page = citizen_client.get(f"/applications/{aid}/form").text
    assert input_value(page, "f_live_address") == item_form()["f_live_address"]


def test_a_type_outside_the_requirements_allow_list_is_refused(citizen_client):
    aid = start(citizen_client)
    response = upload(citizen_client, aid, {PHOTO_DOC: (pdf(), "照片.pdf")})  # photo: jpg/png only
    assert response.status_code == 422
    assert re.search(rf'id="doc-error-{PHOTO_DOC}"', response.text)


def test_a_new_upload_replaces_the_earlier_one(app, citizen_client):
    aid = start(citizen_client)
    upload(citizen_client, aid, {PHOTO_DOC: (jpeg(), "a.jpg")})
    upload(citizen_client, aid, {PHOTO_DOC: (jpeg(color="green"), "b.jpg")})
    with app.app_context():
        names = db.session.scalars(
            select(ApplicationDocument.display_name).where(ApplicationDocument.application_id == aid)
        ).all()
    assert names == ["b.jpg"]


def test_required_documents_are_enforced_on_the_server(app, citizen_client):
    aid = start(citizen_client)
    post_form(citizen_client, aid, item_form())
    upload(citizen_client, aid, {PHOTO_DOC: (jpeg(), "照片.jpg")})  # 居民身份证 missing
    review = citizen_client.get(f"/applications/{aid}/review").text
    assert "居民身份证" in review and f"#doc-{ID_DOC}" in review
    response = submit(citizen_client, aid)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/applications/{aid}/review"
    )
    page = citizen_client.get(response.headers["Location"]).text
    assert "请上传原件的照片或扫描件：居民身份证" in page
    row = _app_row(app, aid)
    assert row.state == State.DRAFT and row.reference is None
    assert _count(app, OutboxMessage) == 0
    assert _count(app, StatusEvent, StatusEvent.action == "submit") == 0


def test_deferrable_document_can_be_left_and_is_listed_as_owed(app, citizen_client):
    aid = ready_draft(citizen_client)
    review = citizen_client.get(f"/applications/{aid}/review").text
    assert "容缺材料" in review and "初中以上学历证明" in review
    submit(citizen_client, aid)
    done = citizen_client.get(f"/applications/{aid}/done").text
    detail = citizen_client.get(f"/applications/{aid}").text
    assert "初中以上学历证明" in done
    assert "初中以上学历证明" in detail
    with app.app_context():
        row = db.session.get(Application, aid)
        assert [d.position for d in ops.owed_documents(row)] == [DEFERRABLE_DOC]


def test_submit_writes_everything_and_the_done_page_says_what_happens_next(app, citizen_client, citizen):
    aid = ready_draft(citizen_client)
    response = submit(citizen_client, aid)
    assert response.headers["Location"].endswith(f"/applications/{aid}/done")
    page = citizen_client.get(f"/applications/{aid}/done").text
    with app.app_context():
        row = db.session.get(Application, aid)
        assert row.state == State.SUBMITTED and row.reference and row.submitted_at
        assert row.unit is not None and row.routing_rule
        assert re.search(rf'data-testid="reference">{row.reference}<', page)
        assert row.unit.name in page
        # 保安员证核发 promises 10 working days (its legal limit, 15, is not what the citizen is told)
        assert f"{row.unit.name}</strong>，将在受理后10个工作日内办结。" in page
        events = [(e.action, e.to_state) for e in row.events]
        assert events == [("start", "draft"), ("submit", "submitted")]
        assert sorted(d.requirement for d in row.documents) == [ID_DOC, PHOTO_DOC]
        audit = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "application.submit", AuditLog.object_id == str(aid))
        ).all()
        assert len(audit) == 1
        assert audit[0].actor_id == citizen.id and audit[0].details["reference"] == row.reference
        outbox = db.session.scalars(select(OutboxMessage).where(OutboxMessage.application_id == aid)).all()
        assert len(outbox) == 1 and row.reference in outbox[0].body and outbox[0].user_id == citizen.id
    listing = citizen_client.get("/me/applications").text
    assert row.reference in listing


def test_promised_time_on_the_done_page(app, citizen_client):
    from catalog.queries import catalog

    aid = submitted(citizen_client)
    with app.app_context():
        item = catalog().items[ITEM]
        expected = "即办" if item.instant else str(item.promised_days)
    assert expected in citizen_client.get(f"/applications/{aid}/done").text


def test_a_second_submit_changes_nothing(app, citizen_client):
    aid = submitted(citizen_client)
    reference = _app_row(app, aid).reference
    response = submit(citizen_client, aid)
    assert response.headers["Location"].endswith(f"/applications/{aid}/done")
    assert _app_row(app, aid).reference == reference
    assert _count(app, StatusEvent, StatusEvent.action == "submit") == 1


def test_withdraw_a_submitted_application(app, citizen_client):
    aid = submitted(citizen_client)
    response = citizen_client.post(f"/applications/{aid}/withdraw", data={"reason": "不办了"})
    assert response.status_code == 302
    row = _app_row(app, aid)
    assert row.state == State.WITHDRAWN
    assert _count(app, StatusEvent, StatusEvent.application_id == aid, StatusEvent.action == "withdraw") == 1
    assert (
        _count(app, OutboxMessage, OutboxMessage.application_id == aid, OutboxMessage.kind == "withdrawn")
        == 1
    )


def test_withdraw_a_draft(app, citizen_client):
    aid = start(citizen_client)
    response = citizen_client.post(f"/applications/{aid}/withdraw", data={"reason": "不办了"})
    assert response.status_code == 302
    assert _app_row(app, aid).state == State.WITHDRAWN


def _force_state(app, aid, state: State) -> None:
    with app.app_context():
        row = db.session.get(Application, aid)
        row.state = state
        db.session.commit()


def test_withdraw_is_refused_from_other_states(app, citizen_client):
    aid = submitted(citizen_client)
    for state in (State.ACCEPTED, State.APPROVED, State.WITHDRAWN, State.NOT_ACCEPTED):
        _force_state(app, aid, state)
        events_before = _count(app, StatusEvent, StatusEvent.application_id == aid)
        response = citizen_client.post(f"/applications/{aid}/withdraw", follow_redirects=True)
        assert response.status_code == 200
        assert "当前状态不能撤回" in response.text
        assert _app_row(app, aid).state == state
        assert _count(app, StatusEvent, StatusEvent.application_id == aid) == events_before


def test_correction_answered_in_place(app, citizen_client, citizen):
    aid = submitted(citizen_client)
    clerk = make_account(app, "clerk")
    with app.app_context():
        row = db.session.get(Application, aid)
        ops.request_correction(
            row, db.session.get(User, clerk.id), [{"target": "近期免冠照片", "note": "照片背景须为白色"}]
        )
        db.session.commit()
    detail = citizen_client.get(f"/applications/{aid}").text
    assert "照片背景须为白色" in detail
    with app.app_context():
        assert db.session.get(User, clerk.id).real_name not in detail
    response = citizen_client.post(
        f"/applications/{aid}/correction",
        data={f"doc-{PHOTO_DOC}": (io.BytesIO(jpeg(color="white")), "白底照片.jpg"), "resubmit": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(Application, aid)
        assert row.state == State.RESUBMITTED
        corrected = [d for d in row.documents if d.for_correction]
        assert [(d.requirement, d.display_name) for d in corrected] == [(PHOTO_DOC, "白底照片.jpg")]
        assert len(row.documents) == 3  # the original photo is kept next to the correction
        assert [e.action for e in row.events][-2:] == ["request_correction", "resubmit"]


def test_an_empty_or_partial_correction_answer_is_not_a_resubmission(app, citizen_client):
    """Issue 17, item 1: 提交补正 with nothing chosen used to resubmit and burn the one correction."""
    aid = submitted(citizen_client)
    clerk = make_account(app, "clerk")
    asks = [
        {"target": "近期免冠照片", "note": "照片背景须为白色"},
        {"target": "现居住地址", "note": "请写到门牌号"},
    ]
    with app.app_context():
        ops.request_correction(db.session.get(Application, aid), db.session.get(User, clerk.id), asks)
        db.session.commit()
    detail = citizen_client.get(f"/applications/{aid}").text
    assert detail.count('data-testid="ask"') == 2 and "请写到门牌号" in detail
    # nothing at all: refused, each missing item named
    page = citizen_client.post(
        f"/applications/{aid}/correction", data={"resubmit": "1"}, follow_redirects=True
    ).text
    assert "还缺：近期免冠照片" in page and "还缺：现居住地址" in page
    assert _app_row(app, aid).state == State.CORRECTION_REQUESTED
    # the photo only: it is kept, the address is still missing
    page = citizen_client.post(
        f"/applications/{aid}/correction",
        data={f"doc-{PHOTO_DOC}": (io.BytesIO(jpeg(color="white")), "白底照片.jpg"), "resubmit": "1"},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).text
    assert (
        "还缺：现居住地址" in page and "还缺：近期免冠照片" not in page and 'data-testid="ask-done"' in page
    )
    assert _app_row(app, aid).state == State.CORRECTION_REQUESTED
    # the address too: now it goes back to the unit, with the new value stored
    citizen_client.post(
        f"/applications/{aid}/correction",
        data={"reply-现居住地址": "江南区滨江路8号3单元501室", "resubmit": "1"},
    )
    with app.app_context():
        row = db.session.get(Application, aid)
        assert row.state == State.RESUBMITTED and row.form_data["live_address"] == "江南区滨江路8号3单元501室"


def test_pages_of_a_submitted_application_redirect_to_its_detail(citizen_client):
    aid = submitted(citizen_client)
    for path in ("form", "documents", "review"):
        response = citizen_client.get(f"/applications/{aid}/{path}")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/applications/{aid}")


def test_standard_files_helper_matches_the_item(app, demo):
    from catalog.guide import build_guide
    from catalog.queries import catalog

    from .helpers import ITEM_ANSWERS

    with app.app_context():
        guide = build_guide(catalog().items[ITEM], ITEM_ANSWERS)
        required = {d.position for d in guide.to_bring if d.requirement == "required"}
    assert required == set(standard_files())
