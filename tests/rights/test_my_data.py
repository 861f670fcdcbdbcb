"""我的数据: a citizen sees everything the bureau holds about them (in full, on their own page only),
downloads it as a zip, and deletes the account — refused while an application is open, then
personal data erased, files gone, login impossible, the ID number free to register again, while
applications, statistics and the audit trail keep working."""

from __future__ import annotations

import io
import json
import re
import zipfile

from sqlalchemy import func, select

from applications.models import Application, ApplicationDocument, StatusEvent, WalletDocument
from applications.ratings import operations as rating_ops
from applications.ratings.models import Rating
from applications.rights import operations as ops
from applications.stats.models import StatsDaily
from applications.workflow.states import State
from auth import operations as auth_ops
from auth.models import User
from core.audit import AuditLog, verify_chain
from core.db import db
from core.errors import FieldError
from core.outbox import OutboxMessage
from core.storage import get_storage
from core.transaction import commit
from tests.applications.helpers import submitted
from tests.auth.helpers import STRONG_PASSWORD, login, make_account
from tests.factories import DEFAULT_PASSWORD, CitizenFactory


def _user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _actions(app, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))
        db.session.expunge_all()
        return rows


# The page ------------------------------------------------------------------------------------------


def test_the_page_shows_the_owner_their_numbers_in_full_and_counts(app, citizen, citizen_client):
    aid = submitted(citizen_client)
    page = citizen_client.get("/me/data")
    assert page.status_code == 200
    text = page.text
    assert citizen.id_number in text and citizen.mobile in text  # unmasked: their own page
    assert re.search(r'data-testid="count-办件">1<', text)
    with app.app_context():
        ref = db.session.get(Application, aid).reference
        wallet = db.session.scalar(select(func.count()).where(WalletDocument.owner_id == citizen.id))
    assert ref in text and "已提交，待受理" in text
    assert re.search(rf'data-testid="count-我的材料">{wallet}<', text) and wallet >= 1
    assert "登录成功" in text  # the login history, from the audit trail
    assert "实名认证（L2）" in text and "人口信息核验" in text
    # reachable from the profile
    assert 'href="/me/data"' in citizen_client.get("/profile").text


def test_the_page_is_the_citizens_own_and_staff_have_none(app, citizen, other_client):
    text = other_client.get("/me/data").text
    assert citizen.id_number not in text and other_client.account.id_number in text
    staff = app.test_client()
    account = make_account(app, "clerk")
    login(staff, account.login)
    assert staff.get("/me/data").status_code == 403
    assert staff.get("/me/data/download").status_code == 403
    assert app.test_client().get("/me/data").status_code == 302


# The download --------------------------------------------------------------------------------------


def test_the_download_holds_data_json_and_every_uploaded_file_and_is_audited(app, citizen, citizen_client):
    aid = submitted(citizen_client)
    response = citizen_client.get("/me/data/download")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    zf = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(zf.read("data.json").decode("utf-8"))
    assert data["账号"]["居民身份证号码"] == citizen.id_number
    assert data["账号"]["手机号码"] == citizen.mobile
    assert data["身份认证"]["认证级别"] == "实名认证（L2）"
    with app.app_context():
        app_row = db.session.get(Application, aid)
        docs = list(
            db.session.scalars(select(ApplicationDocument).where(ApplicationDocument.application_id == aid))
        )
        storage = get_storage()
        contents = {storage.open(d.storage_key) for d in docs}
    (entry,) = data["办件"]
    assert entry["受理编号"] == app_row.reference and entry["状态"] == "已提交，待受理"
    assert entry["填写内容"] and entry["联系电话"] == app_row.contact_mobile
    files = [n for n in zf.namelist() if n.startswith("材料/")]
    assert {zf.read(p["文件"]) for p in entry["提交的材料"]} == contents
    assert all(zf.read(w["文件"]) for w in data["我的材料"]) and len(data["我的材料"]) >= 1
    assert len(files) == len(entry["提交的材料"]) + len(data["我的材料"])
    assert data["登录记录"][0]["事件"] == "登录成功"
    (row,) = _actions(app, "account.data_export")
    assert row.actor_id == citizen.id and row.details["files"] == len(files)


def test_a_file_missing_from_the_store_is_named_not_a_failed_download(app, citizen, citizen_client):
    submitted(citizen_client)
    with app.app_context():
        key = db.session.scalar(
            select(WalletDocument.storage_key).where(WalletDocument.owner_id == citizen.id)
        )
        get_storage().delete(key)  # the operator lost a file
    response = citizen_client.get("/me/data/download")
    assert response.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(zf.read("data.json"))
    assert len(data["缺失的文件"]) >= 1
    assert all(name not in zf.namelist() for name in data["缺失的文件"])


# Deletion -----------------------------------------------------------------------------------------


def test_the_confirmation_page_says_what_happens_and_needs_the_password(citizen_client):
    page = citizen_client.get("/me/data/delete")
    assert page.status_code == 200
    assert "已注销用户" in page.text and "无法恢复" in page.text and "可以重新注册" in page.text
    assert (
        'type="password"' in page.text and "<script" not in page.text.split("<main")[-1].split("</main>")[0]
    )
    empty = citizen_client.post("/me/data/delete", data={})
    assert empty.status_code == 422 and "请输入登录密码以确认注销" in empty.text


def test_a_wrong_password_changes_nothing(app, citizen, citizen_client):
    response = citizen_client.post("/me/data/delete", data={"password": "not-my-password"})
    assert response.status_code == 422 and "登录密码不正确" in response.text
    assert _user(app, citizen.id).deleted_at is None
    assert citizen_client.get("/me/data").status_code == 200
    assert _actions(app, "account.delete") == []


def test_deletion_is_refused_while_an_application_is_open(app, citizen, citizen_client):
    aid = submitted(citizen_client)
    with app.app_context():
        ref = db.session.get(Application, aid).reference
    page = citizen_client.get("/me/data/delete")
    assert ref in page.text and "暂不能注销账号" in page.text  # said before the password is typed
    response = citizen_client.post("/me/data/delete", data={"password": DEFAULT_PASSWORD})
    assert response.status_code == 422
    assert "您还有正在办理的申请，暂不能注销账号" in response.text and ref in response.text
    user = _user(app, citizen.id)
    assert user.deleted_at is None and user.id_number == citizen.id_number
    assert citizen_client.get("/me/data").status_code == 200


def test_after_withdrawing_the_account_is_deleted_and_the_number_can_register_again(
    app, citizen, citizen_client
):
    aid = submitted(citizen_client)
    draft_files = citizen_client.get("/me/data/download")  # noqa: F841 - an export row in the trail too
    withdrawn = citizen_client.post(
        f"/applications/{aid}/withdraw", data={"reason": "不办了，电话13912345678"}
    )
    assert withdrawn.status_code == 302
    with app.app_context():
        assert db.session.get(Application, aid).state == State.WITHDRAWN
        assert db.session.scalar(select(StatusEvent.note).where(StatusEvent.note.contains("不办了")))
        keys = set(
            db.session.scalars(
                select(WalletDocument.storage_key).where(WalletDocument.owner_id == citizen.id)
            )
        )
        keys |= set(
            db.session.scalars(
                select(ApplicationDocument.storage_key).where(ApplicationDocument.application_id == aid)
            )
        )
        before_rows = db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.actor_id == citizen.id)
        )
    assert keys

    response = citizen_client.post("/me/data/delete", data={"password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "您的账号已注销" in citizen_client.get("/").text
    # logged out, and the old session cookie no longer opens anything
    assert citizen_client.get("/me/data").status_code == 302

    with app.app_context():
        user = db.session.get(User, citizen.id)
        assert user.real_name == "已注销用户" and not user.active and user.deleted_at is not None
        assert citizen.id_number not in (user.id_number or "") and user.mobile != citizen.mobile
        assert user.password_hash == ops.NO_PASSWORD
        storage = get_storage()
        for key in keys:  # every upload gone from the store
            try:
                storage.open(key)
                raise AssertionError(f"{key} still stored")
            except FileNotFoundError:
                pass
        assert db.session.scalar(select(func.count()).where(WalletDocument.owner_id == citizen.id)) == 0
        assert db.session.scalar(select(func.count()).where(OutboxMessage.user_id == citizen.id)) == 0
        kept = db.session.get(Application, aid)  # the application stays, anonymised
        assert kept.applicant_id == citizen.id and kept.state == State.WITHDRAWN and kept.reference
        assert kept.form_data == {} and kept.contact_mobile is None and kept.delivery_address == {}
        assert kept.documents == []
        notes = db.session.scalars(
            select(StatusEvent.note).where(
                StatusEvent.application_id == aid, StatusEvent.actor_id == citizen.id
            )
        ).all()
        assert notes and all(n == "" for n in notes)  # the withdrawal reason they typed is gone
        # the audit trail is untouched: the rows keep their actor id, and the chain verifies
        after_rows = db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.actor_id == citizen.id)
        )
        assert after_rows == before_rows + 1
        db.session.rollback()
        with db.engine.connect() as conn:
            assert verify_chain(conn).ok
    (row,) = _actions(app, "account.delete")
    assert row.actor_id == citizen.id and row.details["applications_anonymised"] == 1
    assert row.details["files_deleted"] == len(keys)

    # login fails, by mobile and by ID number, with the ordinary message
    for ident in (citizen.mobile, citizen.id_number, f"DELETED{citizen.id:011d}"):
        failed = login(app.test_client(), ident)
        assert failed.status_code == 422 and "账号或密码不正确" in failed.text

    # the ID number and the mobile can register again (a new account, L1, nobody frozen)
    with app.app_context():
        again = auth_ops.register_citizen(
            real_name="新用户", id_number=citizen.id_number, mobile=citizen.mobile, password=STRONG_PASSWORD
        )
        commit()
        assert again.id != citizen.id and again.frozen_at is None
        assert db.session.get(User, citizen.id).frozen_at is None
    assert login(app.test_client(), citizen.mobile, STRONG_PASSWORD).status_code == 302


def test_drafts_are_deleted_with_their_files(app, citizen, citizen_client):
    from tests.applications.helpers import ready_draft

    aid = ready_draft(citizen_client)
    with app.app_context():
        keys = list(
            db.session.scalars(
                select(ApplicationDocument.storage_key).where(ApplicationDocument.application_id == aid)
            )
        )
    assert citizen_client.post("/me/data/delete", data={"password": DEFAULT_PASSWORD}).status_code == 302
    with app.app_context():
        assert db.session.get(Application, aid) is None
        for key in keys:
            try:
                get_storage().open(key)
                raise AssertionError("draft file kept")
            except FileNotFoundError:
                pass


def test_statistics_and_ratings_survive_a_deleted_account(app, demo):
    from tests.auth.helpers import make_id_number  # noqa: F401
    from tests.clerk.helpers import load_world
    from tests.ratings.helpers import completed

    with app.app_context():
        load_world()
        person = CitizenFactory()
        db.session.flush()
        done = completed(applicant=person)
        rating_ops.rate(done, person, level=1, reasons=["办理慢"], comment="张三 13912345678 等了很久")
        commit()
        stats_before = db.session.execute(
            select(StatsDaily.item_id, func.sum(StatsDaily.completed)).group_by(StatsDaily.item_id)
        ).all()
        person_id, done_id = person.id, done.id
        assert stats_before

        ops.delete_account(db.session.get(User, person_id), password=DEFAULT_PASSWORD)
        commit()

        stats_after = db.session.execute(
            select(StatsDaily.item_id, func.sum(StatsDaily.completed)).group_by(StatsDaily.item_id)
        ).all()
        assert sorted(stats_after) == sorted(stats_before)
        rating = db.session.scalar(select(Rating).where(Rating.application_id == done_id))
        assert rating.level == 1 and rating.reasons == ["办理慢"] and rating.comment == ""
        kept = db.session.get(Application, done_id)
        assert kept.state in (State.APPROVED, State.DELIVERED) and kept.applicant_id == person_id
    # the clerk still opens the anonymised record, and the auditor the trail, without an error
    from tests.ratings.helpers import CLERK, staff_login

    clerk = staff_login(app.test_client(), CLERK)
    page = clerk.get(f"/clerk/applications/{done_id}")
    assert page.status_code == 200 and "已注销用户" in page.text
    auditor = app.test_client()
    login(auditor, make_account(app, "auditor").login)
    trail = auditor.get(f"/audit/user/{person_id}")
    assert trail.status_code == 200 and "account.delete" in trail.text


def test_a_deleted_account_cannot_be_deleted_twice_and_the_operation_checks_the_password(app, citizen):
    with app.app_context():
        user = db.session.get(User, citizen.id)
        try:
            ops.delete_account(user, password="wrong")
            raise AssertionError("deleted with a wrong password")
        except FieldError as exc:
            assert exc.field == "password"
        db.session.rollback()
        ops.delete_account(db.session.get(User, citizen.id), password=DEFAULT_PASSWORD)
        commit()
        # the placeholders keep the unique constraints: a second deleted account beside the first
        other = CitizenFactory()
        commit()
        ops.delete_account(other, password=DEFAULT_PASSWORD)
        commit()
        assert db.session.scalar(select(func.count()).where(User.deleted_at.is_not(None))) == 2


def test_a_message_queued_later_for_a_deleted_account_sends_no_sms(app, citizen):
    """A clerk's later step on an anonymised application may still write a message for its
    applicant: it must not go out as an SMS to the placeholder number."""
    from core.outbox import deliver_pending, queue_message
    from tests.notify.conftest import RecordingGateway

    with app.app_context():
        ops.delete_account(db.session.get(User, citizen.id), password=DEFAULT_PASSWORD)
        queue_message("account_frozen", user_id=citizen.id)
        commit()
        gateway = RecordingGateway()
        assert deliver_pending(gateway) == {"sent": 0, "failed": 0, "skipped": 1}
        assert gateway.calls == []


def test_guessing_the_password_on_the_deletion_page_is_rate_limited(make_app, demo):
    app = make_app(RATELIMIT_ENABLED=True)
    account = make_account(app, "citizen")
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    statuses = [client.post("/me/data/delete", data={"password": f"guess-{i}"}).status_code for i in range(3)]
    assert statuses == [422, 422, 422]
    assert client.post("/me/data/delete", data={"password": DEFAULT_PASSWORD}).status_code == 429
    assert _user(app, account.id).deleted_at is None
    assert client.get("/me/data/delete").status_code == 200  # reading the page is not limited
