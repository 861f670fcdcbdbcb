"""The profile page: masked numbers, change password, change mobile (password and an SMS code sent
to the new number required); errors in Chinese next to their fields."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auth.models import User
from core.db import db
from core.masking import mask_id_number, mask_mobile
from tests.auth.helpers import (
    STRONG_PASSWORD,
    WRONG_CODE,
    code_for,
    field_error,
    input_value,
    is_chinese,
    login,
    login_as,
    sms_to,
    with_code,
)

#: A well-formed code, for the cases that never get as far as checking it.
SOME_CODE = "123456"


def _mobile_code(app, client, data: dict) -> dict:
    """Press 获取验证码 on the mobile form: the code goes to the new number (``mb-mobile``)."""
    return with_code(client, app, "/profile/mobile/code", data, prefix="mb-")


def _change_password(client, current, new, confirm=None):
    return client.post(
        "/profile/password",
        data={
            "pw-current_password": current,
            "pw-new_password": new,
            "pw-new_password_confirm": new if confirm is None else confirm,
        },
    )


def test_anonymous_visitor_is_sent_to_login_with_a_chinese_message(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fprofile"
    page = client.get(response.headers["Location"]).text
    assert "请先登录后再继续。" in page


def test_citizen_profile_shows_masked_numbers_only(app, client):
    account = login_as(app, client, "citizen")
    page = client.get("/profile").text
    assert f'data-testid="masked-id">{mask_id_number(account.id_number)}<' in page
    assert f'data-testid="masked-mobile">{mask_mobile(account.mobile)}<' in page
    assert account.id_number not in page and account.mobile not in page
    assert client.get("/profile").headers["Cache-Control"] == "no-store"


def test_staff_profile_shows_role_and_no_mobile_form(app, client):
    login_as(app, client, "auditor")
    page = client.get("/profile").text
    assert "审计员" in page
    assert 'data-testid="masked-id"' not in page
    assert 'action="/profile/mobile"' not in page


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "message"),
    [
        ("Wrong-pass-1", STRONG_PASSWORD, None, "pw-current_password", "当前密码不正确"),
        (None, "short1", None, "pw-new_password", "至少需要8个字符"),
        (None, "onlyletters", None, "pw-new_password", "同一类字符"),
        (None, "MOBILE+x", None, "pw-new_password", "手机号码"),
        (None, "CURRENT", None, "pw-new_password", "不能与当前密码相同"),
        (None, STRONG_PASSWORD, STRONG_PASSWORD + "!", "pw-new_password_confirm", "两次输入的密码不一致"),
        ("", "", "", "pw-current_password", "请输入当前密码"),
    ],
    ids=["wrong-current", "short", "one-class", "contains-mobile", "same", "mismatch", "empty"],
)
def test_password_change_errors_next_to_fields(app, client, current, new, confirm, field, message):
    account = login_as(app, client, "citizen")
    current = account.password if current is None else current
    new = new.replace("MOBILE", account.mobile).replace("CURRENT", account.password)
    response = _change_password(client, current, new, confirm)
    assert response.status_code == 422
    error = field_error(response.text, field)
    assert error and message in error and is_chinese(error), error
    for name in ("pw-current_password", "pw-new_password", "pw-new_password_confirm"):
        assert not input_value(response.text, name)
    # Nothing changed: the old password still logs in.
    assert login(app.test_client(), account.login, account.password).status_code == 302


def test_mobile_change_needs_the_password(app, client):
    login_as(app, client, "citizen")
    data = _mobile_code(app, client, {"mb-mobile": "13600001111", "mb-password": "Wrong-1x"})
    response = client.post("/profile/mobile", data=data)
    assert response.status_code == 422
    assert field_error(response.text, "mb-password") == "登录密码不正确"
    assert input_value(response.text, "mb-mobile") == "13600001111"
    assert not input_value(response.text, "mb-password")


@pytest.mark.parametrize(
    ("mobile", "message"),
    [
        ("1360000", "11位"),
        ("", "请输入新手机号码"),
        ("SAME", "新手机号码与当前号码相同"),
        ("TAKEN", "该手机号码已被其他账号使用"),
    ],
)
def test_mobile_change_errors_next_to_field(app, client, mobile, message):
    from tests.auth.helpers import make_account

    other = make_account(app)
    account = login_as(app, client, "citizen")
    mobile = {"SAME": account.mobile, "TAKEN": other.mobile}.get(mobile, mobile)
    data = {"mb-mobile": mobile, "mb-password": account.password}
    if mobile in (account.mobile, other.mobile):
        data = _mobile_code(app, client, data)  # a valid code: the test is about the number
    else:  # no code is sent to a malformed number: the code button says why, at the field
        sent = client.post("/profile/mobile/code", data=data)
        assert sent.status_code == 200
        assert message in field_error(sent.text, "mb-mobile")
        data["mb-sms_code"] = SOME_CODE
    response = client.post("/profile/mobile", data=data)
    assert response.status_code == 422
    error = field_error(response.text, "mb-mobile")
    assert error and message in error, error


def test_mobile_change_moves_the_login(app, client):
    account = login_as(app, client, "citizen")
    data = _mobile_code(app, client, {"mb-mobile": "136 0000 1111", "mb-password": account.password})
    response = client.post("/profile/mobile", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert "手机号码已更新" in response.text
    assert 'data-testid="masked-mobile">136****1111<' in response.text
    assert login(app.test_client(), "13600001111").status_code == 302
    assert login(app.test_client(), account.mobile).status_code == 422


def test_the_code_goes_to_the_new_number_and_only_its_code_works(app, client):
    account = login_as(app, client, "citizen")
    typed = {"mb-mobile": "13600001111", "mb-password": account.password}
    sent = client.post("/profile/mobile/code", data=typed)
    assert sent.status_code == 200
    assert input_value(sent.text, "mb-mobile") == "13600001111"  # what was typed stays
    assert len(sms_to(app, "13600001111")) == 1 and "更换" in sms_to(app, "13600001111")[0]
    assert sms_to(app, account.mobile) == []
    # no code, a wrong code, or the right code for another number: refused at the code field
    response = client.post("/profile/mobile", data=typed)
    assert field_error(response.text, "mb-sms_code") == "请输入短信验证码"
    data = {**typed, "mb-sms_code": code_for(app, "13600001111")}
    wrong = f"{(int(data['mb-sms_code']) + 1) % 10**6:06d}"
    for attempt in ({**data, "mb-sms_code": wrong}, {**data, "mb-mobile": "13600002222"}):
        response = client.post("/profile/mobile", data=attempt)
        assert response.status_code == 422
        assert field_error(response.text, "mb-sms_code") == WRONG_CODE
    with app.app_context():
        assert db.session.scalar(select(User.mobile).where(User.id == account.id)) == account.mobile
    assert client.post("/profile/mobile", data=data).status_code == 302


def test_staff_cannot_ask_for_a_mobile_code(app, client):
    login_as(app, client, "clerk")
    response = client.post("/profile/mobile/code", data={"mb-mobile": "13600001111"})
    assert response.status_code == 200
    assert sms_to(app, "13600001111") == []
