"""A foreigner registers with a passport instead of a 居民身份证 (issue 23): document type, number and
nationality checked by format at the field, one account per passport number and nationality, the
English name as in the passport, L2 against the population register, login by passport number, the
number encrypted at rest and masked on screen."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from auth.models import PASSPORT, Assurance, User
from auth.operations import PASSPORT_NOT_REGISTRABLE, find_account
from auth.population import DatabaseRegister, import_residents
from auth.views import NOT_VERIFIED_PASSPORT
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import (
    STRONG_PASSWORD,
    field_error,
    flashes,
    input_value,
    login,
    make_id_number,
    register,
    registration_data,
)

PASSPORT_NO = "E12345678"
SOME_CODE = "123456"
BAD_ENGLISH_NAME = "英文姓名请按护照填写，只能包含英文字母、空格、连字符、撇号和点"


def passport_data(**overrides) -> dict[str, str]:
    data = registration_data(
        id_type="passport",
        real_name="",
        id_number="",
        english_name="Smith  John",
        nationality="USA",
        passport_number="e1234 5678",
        mobile="13912340001",
    )
    data.update(overrides)
    return data


def _user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def _by_mobile(app, mobile: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.mobile_is(mobile)))
        db.session.expunge_all()
        return user


def test_a_foreigner_registers_with_a_passport_and_logs_in_with_its_number(app, client):
    response = register(client, app, passport_data())
    assert response.status_code == 302, field_error(response.text, "passport_number")
    user = _by_mobile(app, "13912340001")
    assert (user.id_type, user.nationality, user.id_number) == (PASSPORT, "USA", PASSPORT_NO)
    assert user.english_name == "SMITH JOHN"
    assert user.real_name == "SMITH JOHN"  # no Chinese name given: the passport name is the name
    assert user.level == Assurance.L1  # not in the register
    assert user.masked_id_number == "E1*****78"

    profile = client.get("/profile").text
    assert "E1*****78" in profile and PASSPORT_NO not in profile
    assert "护照号码" in profile and 'data-testid="nationality">美国<' in profile

    with app.app_context():
        actions = db.session.scalars(
            select(AuditLog.action).where(AuditLog.object_type == "user", AuditLog.object_id == str(user.id))
        ).all()
        assert "account.register" in actions

    client.post("/logout", data={}, follow_redirects=False)
    other = app.test_client()
    assert login(other, "e1234 5678", STRONG_PASSWORD).status_code == 302
    assert other.get("/profile").status_code == 200
    with app.app_context():
        failure = login(app.test_client(), PASSPORT_NO, password="wrong-Password-1")
        assert failure.status_code == 422
        shown = db.session.scalars(select(AuditLog.details).where(AuditLog.action == "login.failure")).all()
        assert shown and all(PASSPORT_NO not in str(d) for d in shown)


def test_the_passport_fields_are_required_only_for_a_passport(app, client):
    response = client.post(
        "/register",
        data={**passport_data(english_name="", nationality="", passport_number=""), "sms_code": SOME_CODE},
    )
    assert response.status_code == 422
    assert field_error(response.text, "english_name") == "请输入与护照一致的英文姓名"
    assert field_error(response.text, "nationality") == "请选择国籍"
    assert field_error(response.text, "passport_number") == "请输入护照号码"
    # a resident's fields are not asked of a passport holder, and the reverse
    assert field_error(response.text, "id_number") is None
    assert field_error(response.text, "real_name") is None
    resident = client.post("/register", data={**registration_data(), "sms_code": SOME_CODE, "password": "x"})
    assert field_error(resident.text, "passport_number") is None
    assert field_error(resident.text, "nationality") is None
    assert _user_count(app) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"passport_number": "E12"}, "passport_number", "护照号码应为5至17位英文字母或数字"),
        ({"passport_number": "E1234567890123456789"}, "passport_number", "护照号码应为5至17位英文字母或数字"),
        ({"passport_number": "E123/4567"}, "passport_number", "护照号码应为5至17位英文字母或数字"),
        ({"passport_number": "ABCDEFGH"}, "passport_number", "护照号码应包含数字，请按护照资料页填写"),
        ({"nationality": "XYZ"}, "nationality", "国籍无效，请从列表中选择"),
        ({"nationality": "CHN"}, "nationality", "中国公民请使用居民身份证注册"),
        (
            {"english_name": "张三"},
            "english_name",
            "英文姓名请按护照填写，只能包含英文字母、空格、连字符、撇号和点",
        ),
        ({"id_type": "visa"}, "id_type", "请选择证件类型"),
    ],
)
def test_bad_passport_input_is_refused_at_its_field_and_kept(app, client, overrides, field, message):
    response = client.post("/register", data={**passport_data(**overrides), "sms_code": SOME_CODE})
    assert response.status_code == 422
    assert field_error(response.text, field) == message
    if field == "passport_number":
        assert input_value(response.text, "passport_number") == overrides["passport_number"].upper()
    assert _user_count(app) == 0


def test_the_same_passport_twice_is_refused_and_nothing_is_half_written(app, client):
    assert register(client, app, passport_data()).status_code == 302
    before = _user_count(app)
    with app.app_context():
        audits = db.session.scalar(select(func.count()).select_from(AuditLog))
    again = register(
        app.test_client(), app, passport_data(mobile="13912340002", passport_number="E1234-5678")
    )
    assert again.status_code == 422
    assert field_error(again.text, "passport_number") == PASSPORT_NOT_REGISTRABLE
    assert _user_count(app) == before
    assert _by_mobile(app, "13912340002") is None
    with app.app_context():
        new_audits = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id).offset(audits)).all()
        assert "account.register" not in new_audits


def test_the_same_number_under_another_nationality_is_another_passport(app, client):
    assert register(client, app, passport_data()).status_code == 302
    other = register(app.test_client(), app, passport_data(mobile="13912340003", nationality="DEU"))
    assert other.status_code == 302, field_error(other.text, "passport_number")
    assert _by_mobile(app, "13912340003").nationality == "DEU"
    # a number two nationalities share names no account at login: they log in by mobile
    with app.app_context():
        assert find_account(PASSPORT_NO) is None
    assert login(app.test_client(), "13912340003", STRONG_PASSWORD).status_code == 302


def test_a_passport_number_never_meets_a_resident_id_number(app):
    number = make_id_number()
    with app.app_context():
        resident = User(real_name="李四", mobile="13912340009", password_hash="x")
        resident.set_identity("resident_id", number)
        foreigner = User(real_name="X", mobile="13912340010", password_hash="x", english_name="X Y")
        foreigner.set_identity(PASSPORT, number, "USA")
        db.session.add_all([resident, foreigner])
        db.session.flush()  # the unique blind index does not clash
        assert resident.id_number_bidx != foreigner.id_number_bidx
        assert db.session.scalar(select(User).where(User.id_number_is(number))) is resident
        db.session.rollback()


def test_a_foreigner_in_the_register_reaches_l2_with_the_passport_name(app, client):
    with app.app_context():
        result = import_residents(
            [
                {"证件类型": "护照", "证件号码": PASSPORT_NO, "国籍": "USA", "姓名": "SMITH JOHN"},
                {"证件类型": "护照", "证件号码": "E9", "国籍": "USA", "姓名": "BAD NUMBER"},
                {"证件类型": "护照", "证件号码": "E99999999", "国籍": "ZZZ", "姓名": "BAD COUNTRY"},
            ]
        )
        db.session.commit()
        assert result.added == 1
        assert result.rejected == ["第 3 行：护照号码或国籍无效", "第 4 行：护照号码或国籍无效"]
        register_ = DatabaseRegister()
        assert register_.verify("smith john", PASSPORT_NO, id_type=PASSPORT, nationality="USA")
        assert not register_.verify("SMITH JANE", PASSPORT_NO, id_type=PASSPORT, nationality="USA")
        assert not register_.verify("SMITH JOHN", PASSPORT_NO, id_type=PASSPORT, nationality="GBR")
        assert not register_.verify("SMITH JOHN", PASSPORT_NO)  # not a resident ID number
    response = register(client, app, passport_data())
    assert response.status_code == 302
    assert "注册成功，已通过人口信息核验（实名认证），欢迎使用。" in flashes(client.get("/profile").text)
    user = _by_mobile(app, "13912340001")
    assert user.level == Assurance.L2 and user.identity_source == "register"


def test_another_name_than_the_registers_stays_l1(app, client):
    with app.app_context():
        import_residents(
            [{"证件类型": "passport", "证件号码": PASSPORT_NO, "国籍": "USA", "姓名": "SMITH JOHN"}]
        )
        db.session.commit()
    assert register(client, app, passport_data(english_name="DOE JANE")).status_code == 302
    assert _by_mobile(app, "13912340001").level == Assurance.L1


def test_the_raw_row_holds_no_plaintext_passport_number_or_english_name(app, client):
    assert register(client, app, passport_data()).status_code == 302
    with app.app_context():
        row = db.session.execute(text("SELECT * FROM users WHERE nationality = 'USA'")).mappings().one()
        dumped = " ".join(str(v) for v in row.values())
        assert PASSPORT_NO not in dumped
        assert "SMITH" not in dumped
        assert row["id_type"] == "passport"


def test_the_form_offers_the_document_types_in_chinese_and_in_english(client):
    page = client.get("/register").text
    assert "证件类型" in page and "护照（外国人）" in page and "英文姓名（与护照一致）" in page
    assert 'value="USA"' in page and "美国" in page and 'value="CHN"' not in page
    english = client.get("/register?lang=en")
    assert english.status_code == 200
    assert 'name="passport_number"' in english.text
    assert "United States" in english.text


def test_a_foreigner_entered_in_the_register_later_verifies_from_the_profile(app, client):
    assert register(client, app, passport_data()).status_code == 302
    assert _by_mobile(app, "13912340001").level == Assurance.L1
    refused = client.post("/profile/verify", follow_redirects=True)
    assert NOT_VERIFIED_PASSPORT in flashes(refused.text)
    assert _by_mobile(app, "13912340001").level == Assurance.L1
    with app.app_context():
        row = {"证件类型": "护照", "证件号码": PASSPORT_NO, "国籍": "USA", "姓名": "Smith John"}
        import_residents([row])
        db.session.commit()
    response = client.post("/profile/verify", follow_redirects=True)
    assert "已通过人口信息核验，账号已实名认证（L2）。" in response.text
    assert _by_mobile(app, "13912340001").level == Assurance.L2
