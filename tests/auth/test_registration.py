"""Citizen self-registration: every error in Chinese next to its field, what was typed kept
(passwords aside), the mobile proven by an SMS code, one account per ID number and per mobile (the
person the population register confirms wins a disputed ID number), masked numbers afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from auth.models import Assurance, Role, User
from auth.operations import ID_NOT_REGISTRABLE
from auth.population import import_residents
from core import clock
from core.db import db
from core.masking import mask_id_number, mask_mobile
from core.outbox import OutboxMessage
from tests.auth.helpers import (
    STRONG_PASSWORD,
    WRONG_CODE,
    field_error,
    flashes,
    input_value,
    is_chinese,
    make_id_number,
    register,
    register_with_code,
    registration_data,
    sms_to,
)

FIELDS = ("real_name", "id_number", "mobile", "sms_code", "password", "password_confirm")
#: A well-formed code: with another field wrong the form stops before the code is checked.
SOME_CODE = "123456"
MOBILE_TAKEN = "该手机号码已被其他账号使用"


def _post(client, **overrides):
    return client.post("/register", data=registration_data(**{"sms_code": SOME_CODE, **overrides}))


def _errors(page: str) -> dict[str, str]:
    return {f: e for f in FIELDS if (e := field_error(page, f)) is not None}


def _user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_register_page_renders_labelled_fields(client):
    page = client.get("/register").text
    for name in FIELDS:
        assert not input_value(page, name)
        assert f'<label class="form-label" for="{name}">' in page


def test_missing_fields_each_get_a_chinese_error(client, app):
    response = client.post("/register", data={f: "" for f in FIELDS})
    assert response.status_code == 422
    errors = _errors(response.text)
    assert errors == {
        "real_name": "请输入真实姓名",
        "id_number": "请输入居民身份证号码",
        "mobile": "请输入手机号码",
        "sms_code": "请输入短信验证码",
        "password": "请设置密码",
        "password_confirm": "请再次输入密码",
    }
    assert 'aria-invalid="true"' in response.text
    assert 'aria-describedby="id_number-error"' in response.text
    assert _user_count(app) == 0


GOOD_ID = make_id_number()
WRONG_CHECK = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")


def _pw(value: str) -> dict[str, str]:
    return {"password": value, "password_confirm": value}


CASES = {
    # id: (overrides, field with the error, words the message must contain)
    "id-check-digit": ({"id_number": WRONG_CHECK}, "id_number", "校验位"),
    "id-17-chars": ({"id_number": GOOD_ID[:17]}, "id_number", "18位"),
    "id-letters": ({"id_number": "3301021990030712AB"}, "id_number", "18位"),
    "id-month-13": ({"id_number": make_id_number(born="19901301")}, "id_number", "出生日期"),
    "id-future": ({"id_number": make_id_number(born="20990101")}, "id_number", "晚于今天"),
    "mobile-short": ({"mobile": "1234567"}, "mobile", "11位"),
    "mobile-prefix": ({"mobile": "23912345678"}, "mobile", "11位"),
    "name-latin": ({"real_name": "Li Xiaohong"}, "real_name", "中文姓名"),
    "name-short": ({"real_name": "李"}, "real_name", "2至20个字"),
    "pw-short": (_pw("Ab1!x"), "password", "至少需要8个字符"),
    "pw-letters-only": (_pw("abcdefghijk"), "password", "同一类字符"),
    "pw-digits-only": (_pw("88886666222"), "password", "同一类字符"),
    "pw-contains-id": (_pw("a" + GOOD_ID), "password", "身份证"),
    "pw-contains-mobile": (_pw("pw13912345678"), "password", "手机号码"),
    "pw-mismatch": ({"password_confirm": STRONG_PASSWORD + "x"}, "password_confirm", "两次输入的密码不一致"),
}


@pytest.mark.parametrize(("overrides", "field", "words"), list(CASES.values()), ids=list(CASES))
def test_bad_input_error_next_to_field_and_input_kept(client, app, overrides, field, words):
    data = registration_data(sms_code=SOME_CODE, **overrides)
    response = client.post("/register", data=data)
    assert response.status_code == 422
    page = response.text
    errors = _errors(page)
    assert list(errors) == [field], errors
    assert words in errors[field]
    assert is_chinese(errors[field])
    # What was typed comes back (passwords never do).
    assert input_value(page, "real_name") == data["real_name"]
    assert input_value(page, "id_number") == data["id_number"]
    assert input_value(page, "mobile") == data["mobile"]
    assert not input_value(page, "password")
    assert not input_value(page, "password_confirm")
    assert data["password"] not in page.replace(data["id_number"], "").replace(data["mobile"], "")
    assert data["password_confirm"] not in page.replace(data["id_number"], "").replace(data["mobile"], "")
    assert _user_count(app) == 0


def test_typed_values_are_normalised_not_lost(client):
    number = "11010519491231002X"
    response = _post(
        client,
        id_number=number.lower(),
        mobile="139 1234-5678",
        real_name=" 李小红 ",
        password_confirm="different-1",
    )
    assert response.status_code == 422
    assert input_value(response.text, "id_number") == number
    assert input_value(response.text, "mobile") == "13912345678"
    assert input_value(response.text, "real_name") == "李小红"


def test_several_password_problems_are_all_listed(client):
    response = _post(client, password="1391234", password_confirm="1391234")
    message = field_error(response.text, "password")
    assert "至少需要8个字符" in message and "同一类字符" in message


def test_duplicate_id_number_refused(client, app):
    first = registration_data()
    assert register(client, app, first).status_code == 302
    client.post("/logout")
    second = registration_data(mobile="13700001111", real_name="王小明")
    response = register(client, app, second)
    assert response.status_code == 422
    # Neutral: the page does not say that the number has an account.
    assert _errors(response.text) == {"id_number": ID_NOT_REGISTRABLE}
    assert "已注册" not in response.text
    assert input_value(response.text, "mobile") == "13700001111"
    assert input_value(response.text, "real_name") == "王小明"
    assert _user_count(app) == 1


def test_duplicate_id_number_with_lowercase_x_refused(client, app):
    assert register(client, app, id_number="11010519491231002X").status_code == 302
    client.post("/logout")
    response = register(client, app, id_number="11010519491231002x", mobile="13700001111")
    assert _errors(response.text) == {"id_number": ID_NOT_REGISTRABLE}
    assert _user_count(app) == 1


def test_duplicate_mobile_refused(client, app):
    assert register(client, app).status_code == 302
    client.post("/logout")
    other_id = make_id_number(seq=456)
    # the first code for this number went a moment ago: the next one may be asked for after 60 s
    with clock.travel(clock.now() + timedelta(seconds=61)):
        response = register(client, app, id_number=other_id, mobile="139-1234-5678")
    assert response.status_code == 422
    assert _errors(response.text) == {"mobile": MOBILE_TAKEN}
    assert input_value(response.text, "id_number") == other_id
    assert _user_count(app) == 1


REAL = {"real_name": "陈静", "id_number": make_id_number("330102", "19920415", 456)}


@pytest.fixture
def resident(app):
    """陈静 is in the population register (人口信息)."""
    with app.app_context():
        import_residents([{"身份证号码": REAL["id_number"], "姓名": REAL["real_name"], "辖区": "东城区"}])
        db.session.commit()


def _user(app, mobile: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.mobile_is(mobile)))
        db.session.expunge_all()
        return user


def test_the_verified_person_wins_an_id_number_someone_else_registered(app, resident):
    squatter = app.test_client()
    response = register(squatter, app, real_name="假冒者", id_number=REAL["id_number"], mobile="13700002222")
    assert response.status_code == 302
    assert _user(app, "13700002222").level == Assurance.L1  # not confirmed by the register
    assert squatter.get("/profile").status_code == 200

    owner = app.test_client()
    response = register(owner, app, registration_data(mobile="13700003333", **REAL))
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile")
    page = owner.get("/profile").text
    assert "已通过人口信息核验（实名认证）" in " ".join(flashes(page))
    assert f'data-testid="masked-id">{mask_id_number(REAL["id_number"])}<' in page
    me = _user(app, "13700003333")
    assert (me.level, me.id_number) == (Assurance.L2, REAL["id_number"])

    frozen = _user(app, "13700002222")
    assert frozen.frozen_at is not None and frozen.active is False and frozen.id_number is None
    assert squatter.get("/profile").status_code == 302  # the squatter's session ended
    with app.app_context():
        kinds = dict(
            db.session.execute(
                select(OutboxMessage.user_id, OutboxMessage.kind).where(OutboxMessage.user_id.is_not(None))
            ).all()
        )
    assert kinds == {frozen.id: "account_frozen", me.id: "id_claimed"}
    assert _user_count(app) == 2


def test_a_verified_holder_keeps_the_id_number_and_the_answer_is_neutral(app, client, resident):
    assert register(client, app, registration_data(mobile="13700003333", **REAL)).status_code == 302
    assert _user(app, "13700003333").level == Assurance.L2
    client.post("/logout")
    for name, mobile in (("假冒者", "13700004444"), (REAL["real_name"], "13700005555")):
        response = register(client, app, real_name=name, id_number=REAL["id_number"], mobile=mobile)
        assert response.status_code == 422
        assert _errors(response.text) == {"id_number": ID_NOT_REGISTRABLE}
    holder = _user(app, "13700003333")
    assert holder.active and holder.frozen_at is None and holder.id_number == REAL["id_number"]
    assert _user_count(app) == 1


def test_no_code_or_a_wrong_code_is_refused_at_the_code_field(client, app):
    data = registration_data()
    response = client.post("/register", data=data)  # 获取验证码 never pressed
    assert response.status_code == 422
    assert _errors(response.text) == {"sms_code": "请输入短信验证码"}
    with_code = register_with_code(client, app, data)
    wrong = f"{(int(with_code['sms_code']) + 1) % 10**6:06d}"
    response = client.post("/register", data={**with_code, "sms_code": wrong})
    assert response.status_code == 422
    assert _errors(response.text) == {"sms_code": WRONG_CODE}
    assert input_value(response.text, "id_number") == data["id_number"]
    assert input_value(response.text, "mobile") == data["mobile"]
    assert _user_count(app) == 0
    assert client.post("/register", data=with_code).status_code == 302  # the right one still works


def test_a_code_for_another_number_does_not_register_this_one(client, app):
    data = register_with_code(client, app, registration_data(mobile="13700006666"))
    response = client.post("/register", data={**data, "mobile": "13700007777"})
    assert _errors(response.text) == {"sms_code": WRONG_CODE}
    assert sms_to(app, "13700007777") == []
    assert _user_count(app) == 0


def test_the_code_page_keeps_what_was_typed_and_sends_to_the_number(client, app):
    data = registration_data()
    response = client.post("/register/code", data=data)
    assert response.status_code == 200
    for name in ("real_name", "id_number", "mobile"):
        assert input_value(response.text, name) == data[name]
    assert not input_value(response.text, "password")
    texts = sms_to(app, data["mobile"])
    assert len(texts) == 1 and "注册" in texts[0]
    with app.app_context():
        row = db.session.scalar(select(OutboxMessage))
        assert row.user_id is None and row.to_mobile == data["mobile"]
    assert _user_count(app) == 0


def test_success_logs_in_and_profile_shows_only_masked_numbers(client, app):
    data = registration_data()
    response = register(client, app, data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile")
    page = client.get("/profile")
    assert page.status_code == 200
    html = page.text
    masked_id = mask_id_number(data["id_number"])
    assert f'data-testid="masked-id">{masked_id}<' in html
    assert masked_id == data["id_number"][:4] + "*" * 10 + data["id_number"][-4:]
    assert f'data-testid="masked-mobile">{mask_mobile(data["mobile"])}<' in html
    assert "139****5678" in html
    assert data["id_number"] not in html
    assert data["mobile"] not in html
    assert "注册成功" in html
    # not in the population register: the mobile is proven (L1), the way to L2 is on the page
    assert "手机认证（L1）" in html and "公安窗口" in html
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.role == Role.CITIZEN
        assert user.id_number == data["id_number"]
        assert user.level == Assurance.L1
        assert user.password_hash.startswith("$argon2id$")
        assert STRONG_PASSWORD not in user.password_hash


def test_logged_in_user_is_sent_away_from_register(client, app):
    assert register(client, app).status_code == 302
    assert client.get("/register").status_code == 302
