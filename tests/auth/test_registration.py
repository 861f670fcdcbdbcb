"""Citizen self-registration: every error in Chinese next to its field, what was typed kept
(passwords aside), one account per ID number and per mobile, masked numbers afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from auth.models import Role, User
from core.db import db
from core.masking import mask_id_number, mask_mobile
from tests.auth.helpers import (
    STRONG_PASSWORD,
    field_error,
    input_value,
    is_chinese,
    make_id_number,
    registration_data,
)

FIELDS = ("real_name", "id_number", "mobile", "password", "password_confirm")


def _post(client, **overrides):
    return client.post("/register", data=registration_data(**overrides))


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
    data = registration_data(**overrides)
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
    assert client.post("/register", data=first).status_code == 302
    client.post("/logout")
    second = registration_data(mobile="13700001111", real_name="王小明")
    response = client.post("/register", data=second)
    assert response.status_code == 422
    assert _errors(response.text) == {"id_number": "该身份证号码已注册，请直接登录"}
    assert input_value(response.text, "mobile") == "13700001111"
    assert input_value(response.text, "real_name") == "王小明"
    assert _user_count(app) == 1


def test_duplicate_id_number_with_lowercase_x_refused(client, app):
    assert _post(client, id_number="11010519491231002X").status_code == 302
    client.post("/logout")
    response = _post(client, id_number="11010519491231002x", mobile="13700001111")
    assert _errors(response.text) == {"id_number": "该身份证号码已注册，请直接登录"}
    assert _user_count(app) == 1


def test_duplicate_mobile_refused(client, app):
    assert _post(client).status_code == 302
    client.post("/logout")
    other_id = make_id_number(seq=456)
    response = _post(client, id_number=other_id, mobile="139-1234-5678")
    assert response.status_code == 422
    assert _errors(response.text) == {"mobile": "该手机号码已被其他账号使用"}
    assert input_value(response.text, "id_number") == other_id
    assert _user_count(app) == 1


def test_success_logs_in_and_profile_shows_only_masked_numbers(client, app):
    data = registration_data()
    response = client.post("/register", data=data)
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
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.role == Role.CITIZEN
        assert user.id_number == data["id_number"]
        assert user.password_hash.startswith("$argon2id$")
        assert STRONG_PASSWORD not in user.password_hash


def test_logged_in_user_is_sent_away_from_register(client):
    assert _post(client).status_code == 302
    assert client.get("/register").status_code == 302
