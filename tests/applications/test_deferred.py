"""容缺受理 → 补交 (issue 17, item 2): a document deferred at submission gets a due date, and the
citizen gives it afterwards on the detail page (a new upload or one from 我的材料); the deferral is
marked fulfilled, audited, and the clerk is told and sees it arrive. Off path: wrong file type, nothing
chosen, a document that was not deferred, someone else's application, after the due date, twice, a
withdrawn application, an application submitted before deferrals were stored."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta

from sqlalchemy import delete, func, select

from applications.models import ApplicationDocument, DeferredDocument, WalletDocument
from applications.submission import operations as ops
from applications.workflow.deadlines import DEFERRAL_WORKING_DAYS, add_working_days, deferral_due
from auth.models import Role
from core import clock
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from core.workdays.models import load_calendar
from tests.auth.helpers import flashes, login
from tests.factories import DEFAULT_PASSWORD, StaffFactory
from tests.uploads import corpus

from .helpers import DEFERRABLE_DOC, ID_DOC, jpeg, submitted

NAME = "初中以上学历证明"


def _give(client, aid, requirement=DEFERRABLE_DOC, content=None, filename="学历.jpg", **extra):
    data = dict(extra)
    if content is not None:
        data["file"] = (io.BytesIO(content), filename)
    return client.post(
        f"/applications/{aid}/deferred/{requirement}", data=data, content_type="multipart/form-data"
    )


def _deferral(aid) -> DeferredDocument:
    return db.session.scalar(select(DeferredDocument).where(DeferredDocument.application_id == aid))


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _clerk_in_unit(app, aid):
    """An active clerk of the unit the application was routed to (and its holder when ``hold``)."""
    with app.app_context():
        row = db.session.get(ops.Application, aid)
        clerk = StaffFactory(role=Role.CLERK, units=[row.unit])
        db.session.commit()
        return clerk.id, clerk.username


def test_submitting_with_a_deferral_stores_its_due_date_and_the_pages_show_it(app, citizen_client):
    aid = submitted(citizen_client)
    with app.app_context():
        row = db.session.get(ops.Application, aid)
        deferral = _deferral(aid)
        assert (deferral.requirement, deferral.requirement_name) == (DEFERRABLE_DOC, NAME)
        assert deferral.due_on == deferral_due(load_calendar(), row.submitted_at)
        assert deferral.due_on == add_working_days(
            load_calendar(), clock.local_date(row.submitted_at), DEFERRAL_WORKING_DAYS
        )
        assert deferral.fulfilled_at is None
        due = deferral.due_on.isoformat()
    done = citizen_client.get(f"/applications/{aid}/done").text
    assert f"请于 {due} 前补交容缺材料" in done and f"/applications/{aid}#deferred" in done
    detail = citizen_client.get(f"/applications/{aid}").text
    assert 'id="deferred"' in detail and f"请于 {due}（含当日）前补交" in detail
    assert f'action="/applications/{aid}/deferred/{DEFERRABLE_DOC}"' in detail


def test_a_deferred_document_given_by_upload_is_attached_marked_audited_and_the_clerk_told(
    app, citizen_client
):
    aid = submitted(citizen_client)
    clerk_id, clerk_login = _clerk_in_unit(app, aid)
    response = _give(citizen_client, aid, content=jpeg(color="green"))
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/applications/{aid}#deferred"
    )
    with app.app_context():
        deferral = _deferral(aid)
        assert deferral.fulfilled_at is not None and not deferral.late
        doc = db.session.get(ApplicationDocument, deferral.document_id)
        assert doc.application_id == aid and doc.requirement == DEFERRABLE_DOC and doc.kind == "jpg"
        assert doc.wallet_document_id is not None  # kept in 我的材料 like any upload (level C)
        audit = db.session.scalar(
            select(AuditLog).where(AuditLog.action == "application.deferred_document_given")
        )
        assert audit.object_id == str(aid)
        assert audit.details["requirement"] == NAME and audit.details["late"] is False
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "deferred_given"))
        assert message.user_id == clerk_id and message.application_id == aid and NAME in message.body
        assert deferral.due_on.isoformat() in message.body
    page = citizen_client.get(f"/applications/{aid}").text
    assert "已补交，办理单位已收到通知" in " ".join(flashes(page))
    assert 'data-testid="deferral-done"' in page and "学历.jpg" in page
    assert f'action="/applications/{aid}/deferred/' not in page  # nothing left to give
    # the clerk sees which deferred document arrived, when, and its due date
    clerk = app.test_client()
    assert login(clerk, clerk_login, DEFAULT_PASSWORD).status_code == 302
    staff_page = clerk.get(f"/clerk/applications/{aid}").text
    assert 'data-testid="clerk-deferred"' in staff_page
    assert NAME in staff_page and "已于" in staff_page and "补交期限" in staff_page


def test_a_held_application_tells_only_its_holder(app, citizen_client):
    aid = submitted(citizen_client)
    _clerk_in_unit(app, aid)  # another clerk of the unit, not told
    holder_id, _login = _clerk_in_unit(app, aid)
    with app.app_context():
        row = db.session.get(ops.Application, aid)
        row.claimed_by_id = holder_id
        db.session.commit()
    assert _give(citizen_client, aid, content=jpeg()).status_code == 302
    with app.app_context():
        told = db.session.scalars(select(OutboxMessage.user_id).where(OutboxMessage.kind == "deferred_given"))
        assert list(told) == [holder_id]


def test_a_deferred_document_can_come_from_the_wallet(app, citizen_client, citizen):
    aid = submitted(citizen_client)
    with app.app_context():
        keep = WalletDocument(
            owner_id=citizen.id,
            doc_type=NAME,
            trust_level="C",
            storage_key="x" * 32 + ".jpg",
            kind="jpg",
            mimetype="image/jpeg",
            size=10,
            sha256="a" * 64,
            display_name="旧的学历证明.jpg",
        )
        db.session.add(keep)
        db.session.commit()
        wallet_id = keep.id
    page = citizen_client.get(f"/applications/{aid}").text
    assert f'<option value="{wallet_id}">旧的学历证明.jpg' in page
    assert _give(citizen_client, aid, wallet=str(wallet_id)).status_code == 302
    with app.app_context():
        doc = db.session.get(ApplicationDocument, _deferral(aid).document_id)
        assert doc.wallet_document_id == wallet_id and doc.display_name == "旧的学历证明.jpg"


def test_someone_elses_wallet_document_is_refused(app, citizen_client, other_client):
    aid = submitted(citizen_client)
    with app.app_context():
        theirs = WalletDocument(
            owner_id=other_client.account.id,
            doc_type=NAME,
            trust_level="C",
            storage_key="y" * 32 + ".jpg",
            kind="jpg",
            mimetype="image/jpeg",
            size=10,
            sha256="b" * 64,
            display_name="别人的.jpg",
        )
        db.session.add(theirs)
        db.session.commit()
        wallet_id = theirs.id
    response = _give(citizen_client, aid, wallet=str(wallet_id))
    assert response.status_code == 422 and "所选材料不存在" in response.text
    with app.app_context():
        assert _deferral(aid).fulfilled_at is None


def test_wrong_file_type_is_refused_at_the_document_and_nothing_is_kept(app, citizen_client):
    aid = submitted(citizen_client)
    response = _give(citizen_client, aid, content=b"GIF89a" + b"\x00" * 64, filename="学历.gif")
    assert response.status_code == 422
    assert f'id="deferred-error-{DEFERRABLE_DOC}"' in response.text and "JPG" in response.text
    with app.app_context():
        assert _deferral(aid).fulfilled_at is None
        assert _count(ApplicationDocument, ApplicationDocument.requirement == DEFERRABLE_DOC) == 0
        assert _count(OutboxMessage, OutboxMessage.kind.like("deferred_given%")) == 0


def test_a_pdf_pretending_to_be_a_photo_is_refused(app, citizen_client):
    aid = submitted(citizen_client)
    response = _give(citizen_client, aid, content=corpus.pdf_js_open_action(), filename="学历.pdf")
    assert response.status_code == 422
    with app.app_context():
        assert _deferral(aid).fulfilled_at is None


def test_nothing_chosen_says_so(app, citizen_client):
    aid = submitted(citizen_client)
    response = _give(citizen_client, aid)
    assert response.status_code == 422 and "请选择要上传的文件" in response.text
    with app.app_context():
        assert _deferral(aid).fulfilled_at is None


def test_a_document_that_was_not_deferred_is_refused(app, citizen_client):
    aid = submitted(citizen_client)
    for requirement in (ID_DOC, 99):
        response = _give(citizen_client, aid, requirement=requirement, content=jpeg())
        assert response.status_code == 422 and "不是本申请的容缺材料" in response.text
    with app.app_context():
        assert _count(ApplicationDocument, ApplicationDocument.application_id == aid) == 2


def test_someone_elses_application_answers_404_and_staff_403(app, citizen_client, other_client):
    aid = submitted(citizen_client)
    assert _give(other_client, aid, content=jpeg()).status_code == 404
    _clerk_id, clerk_login = _clerk_in_unit(app, aid)
    clerk = app.test_client()
    assert login(clerk, clerk_login, DEFAULT_PASSWORD).status_code == 302
    assert _give(clerk, aid, content=jpeg()).status_code == 403
    with app.app_context():
        assert _deferral(aid).fulfilled_at is None


def test_twice_gives_one_document(app, citizen_client):
    aid = submitted(citizen_client)
    assert _give(citizen_client, aid, content=jpeg(color="green")).status_code == 302
    again = _give(citizen_client, aid, content=jpeg(color="blue"))
    assert again.status_code == 422 and "已经补交过了" in again.text
    with app.app_context():
        assert _count(ApplicationDocument, ApplicationDocument.requirement == DEFERRABLE_DOC) == 1
        assert _count(AuditLog, AuditLog.action == "application.deferred_document_given") == 1


def test_after_the_due_date_it_is_still_taken_marked_late_and_said_so(app, citizen_client):
    aid = submitted(citizen_client)
    clerk_id, _login = _clerk_in_unit(app, aid)
    with app.app_context():
        due = _deferral(aid).due_on
    later = datetime.combine(due + timedelta(days=1), time(10, 0), tzinfo=clock.SHANGHAI)
    with clock.travel(later):
        page = citizen_client.get(f"/applications/{aid}").text
        assert f"补交期限 {due.isoformat()} 已过，仍可补交" in page
        response = _give(citizen_client, aid, content=jpeg())
        assert response.status_code == 302
        page = citizen_client.get(f"/applications/{aid}").text
    assert f"已超过补交期限 {due.isoformat()}" in " ".join(flashes(page)) and "逾期补交" in page
    with app.app_context():
        assert _deferral(aid).late
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == clerk_id))
        assert message.kind == "deferred_given_late" and "已超过补交期限" in message.body


def test_a_withdrawn_application_takes_no_more_documents(app, citizen_client):
    aid = submitted(citizen_client)
    assert citizen_client.post(f"/applications/{aid}/withdraw", data={"reason": "不办了"}).status_code == 302
    page = citizen_client.get(f"/applications/{aid}").text
    assert "办件已结束，无需再补交" in page and f'action="/applications/{aid}/deferred/' not in page
    response = _give(citizen_client, aid, content=jpeg())
    assert response.status_code == 422 and "已办结或已撤回" in response.text
    with app.app_context():
        assert _deferral(aid).fulfilled_at is None


def test_an_application_submitted_before_deferrals_were_stored_gets_them_on_its_first_give(
    app, citizen_client
):
    aid = submitted(citizen_client)
    with app.app_context():
        due = _deferral(aid).due_on
        db.session.execute(delete(DeferredDocument))
        db.session.commit()
    page = citizen_client.get(f"/applications/{aid}").text
    assert f"请于 {due.isoformat()}（含当日）前补交" in page  # computed by the same rule
    assert _give(citizen_client, aid, content=jpeg()).status_code == 302
    with app.app_context():
        deferral = _deferral(aid)
        assert deferral.due_on == due and deferral.fulfilled_at is not None


def test_a_draft_with_the_document_given_defers_nothing(app, citizen_client):
    aid = submitted(citizen_client, with_deferrable=True)
    with app.app_context():
        assert _deferral(aid) is None
    assert 'id="deferred"' not in citizen_client.get(f"/applications/{aid}").text


def test_a_deferred_document_sent_with_a_correction_fulfils_its_deferral(app, citizen_client):
    aid = submitted(citizen_client)
    with app.app_context():
        row = db.session.get(ops.Application, aid)
        ops.request_correction(row, None, [{"target": "近期免冠照片", "note": "背景须为白色"}])
        db.session.commit()
    response = citizen_client.post(
        f"/applications/{aid}/correction",
        data={f"doc-{DEFERRABLE_DOC}": (io.BytesIO(jpeg()), "学历.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        deferral = _deferral(aid)
        assert deferral.fulfilled_at is not None
        assert db.session.get(ApplicationDocument, deferral.document_id).for_correction
