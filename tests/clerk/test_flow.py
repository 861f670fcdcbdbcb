"""The demo clerk works applications through the pages: claim-next order, acceptance and its dates,
one-time correction and the lead's exception, each decision with what it requires, transfer, visits,
the audited ID reveal and document views, and refused transitions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

import applications.workflow.clock
from applications.clerk import queues
from applications.clerk.views import _today
from applications.models import (
    Application,
    ApplicationDocument,
    ClockPause,
    CorrectionSignoff,
    TrustLevel,
    Visit,
    WalletDocument,
)
from applications.submission.operations import pinned_item, resubmit
from applications.workflow.deadlines import SHANGHAI, local_date
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db, utcnow
from core.outbox import OutboxMessage
from core.storage import get_storage
from tests.auth.helpers import field_error
from tests.clerk.helpers import (
    PS_COUNTER_ITEM,
    citizen,
    insert_submitted,
    login_staff,
    unit,
    user,
)
from tests.uploads import corpus

STALE_OR_INVALID = "当前状态下不能执行此操作"


def _get(app, aid) -> Application:
    return db.session.get(Application, aid, populate_existing=True)


def _audit_actions(aid: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditLog.action).where(
                AuditLog.object_type == "application", AuditLog.object_id == str(aid)
            )
        )
    )


def _version(app, aid) -> int:
    with app.app_context():
        return _get(app, aid).row_version


def _clerk(world):
    client = world.test_client()
    login_staff(client, "clerk_ps_dc_01")
    return client


def _claimed(app, n=1, **kw) -> list[int]:
    with app.app_context():
        ids = insert_submitted(n, claimed_by_id=user("clerk_ps_dc_01").id, **kw)
        db.session.commit()
    return ids


def test_claim_next_takes_the_most_urgent_first(world):
    app = world
    with app.app_context():
        today = _today()
        undated_oldest = insert_submitted(1, submitted_at=utcnow() - timedelta(days=3))[0]
        later_due = insert_submitted(1, promised_due=today + timedelta(days=5))[0]
        soon_newer = insert_submitted(1, promised_due=today + timedelta(days=2), submitted_at=utcnow())[0]
        soon_older = insert_submitted(
            1, promised_due=today + timedelta(days=2), submitted_at=utcnow() - timedelta(days=1)
        )[0]
        insert_submitted(1, unit_code="LJ-PS-DC-02", promised_due=today - timedelta(days=9))  # not ours
        db.session.commit()
    client = _clerk(app)
    order = []
    for _ in range(5):
        r = client.post("/clerk/claim-next")
        assert r.status_code == 302
        if not r.headers["Location"].rstrip("/").split("/")[-1].isdigit():
            break
        order.append(int(r.headers["Location"].rstrip("/").split("/")[-1]))
    assert order == [soon_older, soon_newer, later_due, undated_oldest]
    assert "待受理队列已空" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert all(_get(app, a).claimed_by_id == user("clerk_ps_dc_01").id for a in order)
        assert all("application.claim" in _audit_actions(a) for a in order)


#: The clerk's clock for the acceptance test: 受理 on Monday 3 March 2025, 10:00 in Beijing (no holiday
#: in March; 清明 is Friday 4 April), a correction asked on Wednesday 5 March at 15:00 and answered
#: on Wednesday 19 March at 09:00.
SUBMITTED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)
ACCEPTED_AT = datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)
CORRECTION_ASKED_AT = datetime(2025, 3, 5, 15, 0, tzinfo=SHANGHAI)
CORRECTION_ANSWERED_AT = datetime(2025, 3, 19, 9, 0, tzinfo=SHANGHAI)


def test_accept_correct_resubmit_second_correction_and_approve_by_mail(world, monkeypatch):
    app = world
    client = _clerk(app)
    # accepted_at set beforehand: 受理 keeps a given acceptance time, so the dates below are fixed.
    (aid,) = _claimed(app, item_code=PS_COUNTER_ITEM, submitted_at=SUBMITTED_AT, accepted_at=ACCEPTED_AT)

    # 受理: 夫妻投靠落户 promises 5 working days (legal limit 20), the acceptance day not counted.
    r = client.post(f"/clerk/applications/{aid}/accept", data={"version": _version(app, aid)})
    assert r.status_code == 302
    with app.app_context():
        a = _get(app, aid)
        item = pinned_item(a)
        assert (item.promised_days, item.legal_days, item.day_kind) == (5, 20, "working")
        assert a.state == State.ACCEPTED and a.accepted_at == ACCEPTED_AT
        # promised: 03-04 Tue(1) 03-05(2) 03-06(3) 03-07 Fri(4), [weekend], 03-10 Mon(5)
        # legal: 03-04..07 (1-4), 03-10..14 (5-9), 03-17..21 (10-14), 03-24..28 (15-19), 03-31 Mon (20)
        assert (a.promised_due, a.legal_due) == (date(2025, 3, 10), date(2025, 3, 31))
        assert a.due_soon_on == date(2025, 3, 7)  # 80 % of 5 = 4 working days
        assert a.promised_due > local_date(a.accepted_at)  # 5 working days, not instant
        assert (
            db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "accepted")).user_id
            == a.applicant_id
        )

    # 补正 without any noted item: a Chinese error, nothing changes.
    r = client.post(
        f"/clerk/applications/{aid}/correction",
        data={"version": _version(app, aid), "target": "结婚证", "note-结婚证": "  "},
    )
    assert r.status_code == 422
    assert "请勾选需要补正的材料或内容，并逐项写明要求" in r.get_data(as_text=True)
    with app.app_context():
        assert _get(app, aid).state == State.ACCEPTED

    # A real correction: pause opened, the citizen notified.
    r = client.post(
        f"/clerk/applications/{aid}/correction",
        data={
            "version": _version(app, aid),
            "target": ["结婚证", "双方居民身份证", "双方居民户口簿"],
            "note-结婚证": "照片不清晰，请重新拍摄",
            "note-双方居民身份证": "缺少反面",
            "note-双方居民户口簿": "",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    with app.app_context():
        a = _get(app, aid)
        assert a.state == State.CORRECTION_REQUESTED and a.correction_count == 1
        (pause,) = a.pauses
        assert pause.ended_at is None and pause.reason == "补正"
        assert len(a.events[-1].details["items"]) == 2 and a.events[-1].details["second"] is False
        msg = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "correction"))
        assert msg.user_id == a.applicant_id and "照片不清晰" in msg.body and msg.sms_text

        # The correction was asked on Wednesday 5 March and is answered on Wednesday 19 March (the
        # clock that closes the pause is frozen there).
        pause.started_at = CORRECTION_ASKED_AT
        db.session.commit()
        a = _get(app, aid)
        with monkeypatch.context() as frozen:
            frozen.setattr(applications.workflow.clock, "utcnow", lambda: CORRECTION_ANSWERED_AT)
            resubmit(a, citizen())
            db.session.commit()
        a = _get(app, aid)
        (pause,) = a.pauses
        assert pause.ended_at == CORRECTION_ANSWERED_AT
        assert a.state == State.RESUBMITTED
        # The pause covers (03-05, 03-19]: 03-06, 03-07, 03-10..14, 03-17, 03-18, 03-19 = 10 working
        # days, so both dates move on by 10 working days:
        # promised 03-10 → 03-11..14 (1-4), 03-17..21 (5-9), 03-24 Mon (10)
        # legal 03-31 → 04-01..03 (1-3), [04-04 Fri 清明, weekend], 04-07..11 (4-8), 04-14 (9), 04-15 (10)
        assert (a.promised_due, a.legal_due) == (date(2025, 3, 24), date(2025, 4, 15))
        assert a.due_soon_on == date(2025, 3, 21)  # 03-07 + the same 10 working days
        lead = user("lead_dc")

    # A second correction is an exception: without a reason it is refused; with one it waits for the
    # unit lead, who approves it in their own session (no password is ever typed on the clerk's screen).
    second = {"target": "结婚证", "note-结婚证": "仍不清晰"}
    r = client.post(f"/clerk/applications/{aid}/correction", data={**second, "version": _version(app, aid)})
    assert r.status_code == 422 and "请填写再次补正的理由" in r.get_data(as_text=True)
    r = client.post(
        f"/clerk/applications/{aid}/correction",
        data={**second, "exception_reason": "原件模糊无法核验", "version": _version(app, aid)},
        follow_redirects=True,
    )
    assert "已提交本单位科室负责人审批" in r.get_data(as_text=True)
    with app.app_context():
        a = _get(app, aid)
        assert a.correction_count == 1 and a.state == State.RESUBMITTED  # nothing sent yet
        (signoff,) = db.session.scalars(select(CorrectionSignoff)).all()
        signoff_id = signoff.id
    # a double click makes no second request
    r = client.post(
        f"/clerk/applications/{aid}/correction",
        data={**second, "exception_reason": "原件模糊无法核验", "version": _version(app, aid)},
        follow_redirects=True,
    )
    assert "等待科室负责人审批" in r.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(CorrectionSignoff)).all()) == 1
    # the clerk cannot approve it; the lead sees it on the 工作台 and approves
    assert client.get(f"/clerk/signoffs/{signoff_id}").status_code == 403
    other_lead = app.test_client()
    login_staff(other_lead, "lead_xc")  # a lead of another unit: not theirs to see
    assert other_lead.get(f"/clerk/signoffs/{signoff_id}").status_code == 404
    assert other_lead.post(f"/clerk/signoffs/{signoff_id}", data={"decision": "approve"}).status_code == 404
    lead_client = app.test_client()
    login_staff(lead_client, "lead_dc")
    assert f"/clerk/signoffs/{signoff_id}" in lead_client.get("/clerk/").get_data(as_text=True)
    r = lead_client.post(f"/clerk/signoffs/{signoff_id}", data={"decision": "approve"})
    assert r.status_code == 302
    with app.app_context():
        a = _get(app, aid)
        assert a.correction_count == 2 and a.state == State.CORRECTION_REQUESTED
        details = a.events[-1].details
        assert details["second"] is True and details["approved_by"] == lead.id
        assert details["reason"] == "原件模糊无法核验"
        assert (
            db.session.scalar(
                select(AuditLog).where(AuditLog.action == "application.signoff_approve")
            ).actor_id
            == lead.id
        )
        resubmit(a, citizen())
        db.session.commit()

    # 办结·准予 by mail needs the carrier and the tracking number.
    r = client.post(
        f"/clerk/applications/{aid}/approve",
        data={"version": _version(app, aid), "delivery": "mail", "carrier": "EMS"},
    )
    assert r.status_code == 422
    assert field_error(r.get_data(as_text=True), "approve-tracking") == "邮寄送达请填写快递公司和运单号"
    r = client.post(
        f"/clerk/applications/{aid}/approve",
        data={
            "version": _version(app, aid),
            "delivery": "mail",
            "carrier": "EMS",
            "tracking": "1234567890123",
        },
    )
    assert r.status_code == 302
    with app.app_context():
        a = _get(app, aid)
        assert a.state == State.APPROVED and a.completed_at is not None
        assert a.result["carrier"] == "EMS" and a.result["tracking"] == "1234567890123"
        assert "1234567890123" in db.session.scalar(
            select(OutboxMessage.body).where(OutboxMessage.kind == "approved")
        )
        actions = _audit_actions(aid)
    for action in (
        "application.accept",
        "application.request_correction",
        "application.resubmit",
        "application.approve",
    ):
        assert action in actions, (action, actions)
    assert actions.count("application.request_correction") == 2


def test_not_accept_needs_reason_and_legal_basis(world):
    app = world
    client = _clerk(app)
    (aid,) = _claimed(app)
    r = client.post(
        f"/clerk/applications/{aid}/not-accept", data={"version": _version(app, aid), "reason": "不属于本所"}
    )
    assert r.status_code == 422
    assert field_error(r.get_data(as_text=True), "not-accept-legal_basis") == "请填写不予受理的法律依据"
    r = client.post(
        f"/clerk/applications/{aid}/not-accept", data={"version": _version(app, aid), "legal_basis": "x"}
    )
    assert field_error(r.get_data(as_text=True), "not-accept-reason") == "请填写不予受理的理由"
    r = client.post(
        f"/clerk/applications/{aid}/not-accept",
        data={
            "version": _version(app, aid),
            "reason": "不属于本所管辖",
            "legal_basis": "《行政许可法》第三十二条",
        },
    )
    assert r.status_code == 302
    with app.app_context():
        a = _get(app, aid)
        assert a.state == State.NOT_ACCEPTED and a.claimed_by_id is None
        assert "《行政许可法》第三十二条" in a.events[-1].note
        assert "application.not_accept" in _audit_actions(aid)


def test_approve_as_e_certificate_issues_a_signed_certificate_into_the_wallet_at_level_a(world):
    """No upload any more: the system issues the certificate (register row, PDF with the QR seal,
    我的材料 at level A) — the details are tested in tests/ecert."""
    app = world
    client = _clerk(app)
    (aid,) = _claimed(app)  # 无犯罪记录证明: ecert or mail
    assert (
        client.post(f"/clerk/applications/{aid}/accept", data={"version": _version(app, aid)}).status_code
        == 302
    )
    r = client.post(
        f"/clerk/applications/{aid}/approve", data={"version": _version(app, aid), "delivery": "ecert"}
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    with app.app_context():
        a = _get(app, aid)
        assert a.state == State.APPROVED
        wallet = db.session.get(WalletDocument, a.result["wallet_document_id"])
        assert wallet.owner_id == citizen().id and wallet.trust_level == TrustLevel.A
        assert wallet.source_application_id == aid and wallet.issuer == unit("LJ-PS-DC-01").name
        assert get_storage().open(wallet.storage_key).startswith(b"%PDF")
        assert a.result["certificate"].startswith("LJZZ")
        assert "ecert.issue" in {r.action for r in db.session.scalars(select(AuditLog))}


def test_two_approvals_are_two_certificates(world):
    """Each completion issues its own certificate with its own number (nothing is merged)."""
    app = world
    client = _clerk(app)
    ids = []
    for aid in _claimed(app, n=2):
        client.post(f"/clerk/applications/{aid}/accept", data={"version": _version(app, aid)})
        r = client.post(
            f"/clerk/applications/{aid}/approve", data={"version": _version(app, aid), "delivery": "ecert"}
        )
        assert r.status_code == 302
        ids.append(aid)
    with app.app_context():
        first, second = (_get(app, aid) for aid in ids)
        assert first.state == second.state == State.APPROVED
        assert first.result["certificate"] != second.result["certificate"]
        assert first.result["wallet_document_id"] != second.result["wallet_document_id"]


def test_approve_for_counter_pickup_then_pickup_records_a_visit_and_delivers(world):
    app = world
    client = _clerk(app)
    (aid,) = _claimed(app, item_code=PS_COUNTER_ITEM)
    client.post(f"/clerk/applications/{aid}/accept", data={"version": _version(app, aid)})
    r = client.post(
        f"/clerk/applications/{aid}/approve", data={"version": _version(app, aid), "delivery": "counter"}
    )
    assert r.status_code == 302
    with app.app_context():
        assert _get(app, aid).visits == []
    assert client.post(f"/clerk/applications/{aid}/pickup").status_code == 302
    with app.app_context():
        a = _get(app, aid)
        assert a.state == State.DELIVERED
        (visit,) = a.visits
        assert visit.purpose == "领取结果" and visit.recorded_by_id == user("clerk_ps_dc_01").id
        assert {"application.deliver", "application.visit"} <= set(_audit_actions(aid))


def test_refuse_needs_a_reason(world):
    app = world
    client = _clerk(app)
    (aid,) = _claimed(app)
    client.post(f"/clerk/applications/{aid}/accept", data={"version": _version(app, aid)})
    r = client.post(f"/clerk/applications/{aid}/refuse", data={"version": _version(app, aid), "reason": " "})
    assert r.status_code == 422 and field_error(r.get_data(as_text=True), "refuse-reason") == "请填写理由"
    r = client.post(
        f"/clerk/applications/{aid}/refuse", data={"version": _version(app, aid), "reason": "不符合条件"}
    )
    assert r.status_code == 302
    with app.app_context():
        assert _get(app, aid).state == State.REFUSED
        assert "application.refuse" in _audit_actions(aid)


def test_transfer_moves_it_to_the_other_units_queue(world):
    app = world
    client = _clerk(app)
    (aid,) = _claimed(app)
    r = client.post(
        f"/clerk/applications/{aid}/transfer",
        data={"version": _version(app, aid), "to_unit": "LJ-PS-DC-02", "reason": ""},
    )
    assert r.status_code == 422
    assert field_error(r.get_data(as_text=True), "transfer-reason") == "请填写转办理由"
    r = client.post(
        f"/clerk/applications/{aid}/transfer",
        data={"version": _version(app, aid), "to_unit": "LJ-PS-DC-02", "reason": "申请人住址属望江门辖区"},
    )
    assert r.status_code == 302
    assert client.get(f"/clerk/applications/{aid}").status_code == 404
    with app.app_context():
        a = _get(app, aid)
        assert a.unit_id == unit("LJ-PS-DC-02").id and a.claimed_by_id is None
        assert [x.id for x in queues.queue_page(user("clerk_ps_dc_02"), "pending")] == [aid]
        assert queues.queue_page(user("clerk_ps_dc_01"), "pending") == []
        assert "application.transfer" in _audit_actions(aid)
    other = world.test_client()
    login_staff(other, "clerk_ps_dc_02")
    assert other.get(f"/clerk/applications/{aid}").status_code == 200


def test_record_visit_validates_purpose_place_and_time(world):
    app = world
    client = _clerk(app)
    (aid,) = _claimed(app)
    url = f"/clerk/applications/{aid}/visit"
    r = client.post(url, data={"place": "解放路派出所", "purpose": "喝茶"})
    assert r.status_code == 422 and field_error(r.get_data(as_text=True), "visit-purpose")
    r = client.post(url, data={"place": "", "purpose": "核验原件"})
    assert r.status_code == 422 and field_error(r.get_data(as_text=True), "visit-place") == "请填写地点"
    future = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(url, data={"place": "解放路派出所", "purpose": "核验原件", "at": future})
    assert r.status_code == 422
    assert field_error(r.get_data(as_text=True), "visit-at") == "到场时间不能晚于现在"
    with app.app_context():
        assert db.session.scalar(select(Visit).where(Visit.application_id == aid)) is None
    r = client.post(url, data={"place": "解放路派出所", "purpose": "采集照片指纹"})
    assert r.status_code == 302
    with app.app_context():
        (visit,) = _get(app, aid).visits
        assert visit.purpose == "采集照片指纹" and visit.place == "解放路派出所"
        assert "application.visit" in _audit_actions(aid)


def test_reveal_is_for_the_holder_only_and_document_views_are_audited(world):
    app = world
    with app.app_context():
        (held,) = insert_submitted(1, claimed_by_id=user("clerk_ps_dc_01").id)
        (not_held,) = insert_submitted(1)
        key = get_storage().save(corpus.pdf(), suffix=".pdf")
        doc = ApplicationDocument(
            application_id=held,
            requirement=0,
            requirement_name="申请人居民身份证",
            storage_key=key,
            kind="pdf",
            mimetype="application/pdf",
            size=10,
            sha256="0" * 64,
            display_name="身份证.pdf",
        )
        db.session.add(doc)
        db.session.commit()
        doc_id, number = doc.id, citizen().id_number
    client = _clerk(app)
    page = client.get(f"/clerk/applications/{held}").get_data(as_text=True)
    assert number not in page and "显示完整号码" in page
    page = client.get(f"/clerk/applications/{not_held}").get_data(as_text=True)
    assert number not in page and "显示完整号码" not in page
    r = client.post(
        f"/clerk/applications/{not_held}/reveal", data={"which": "applicant"}, follow_redirects=True
    )
    assert number not in r.get_data(as_text=True) and "只有已领取该申请的工作人员" in r.get_data(as_text=True)
    r = client.post(f"/clerk/applications/{held}/reveal", data={"which": "applicant"})
    assert r.status_code == 200 and number in r.get_data(as_text=True)
    r = client.get(f"/clerk/applications/{held}/files/{doc_id}")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert r.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert _audit_actions(not_held) == []
        actions = _audit_actions(held)
        assert actions.count("application.reveal_id") == 1
        assert actions.count("application.document_view") == 1
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "application.document_view"))
        assert row.actor_id == user("clerk_ps_dc_01").id and row.details["document"] == doc_id


def test_an_invalid_transition_is_refused_and_audited(world):
    app = world
    client = _clerk(app)
    (aid,) = _claimed(app)
    r = client.post(
        f"/clerk/applications/{aid}/approve",
        data={"version": _version(app, aid), "delivery": "mail", "carrier": "EMS", "tracking": "1"},
        follow_redirects=True,
    )
    assert STALE_OR_INVALID in r.get_data(as_text=True)
    r = client.post(f"/clerk/applications/{aid}/delivered", follow_redirects=True)
    assert STALE_OR_INVALID in r.get_data(as_text=True)
    with app.app_context():
        a = _get(app, aid)
        assert a.state == State.SUBMITTED and a.completed_at is None
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "application.refused_transition").order_by(AuditLog.id)
        ).all()
        assert [(r.object_id, r.details["state"], r.details["action"]) for r in rows] == [
            (str(aid), "submitted", "approve"),
            (str(aid), "submitted", "deliver"),
        ]
        assert db.session.scalar(select(ClockPause.id)) is None
