"""忘记密码 and 人口信息核验 through the pages (issue 16): a new password with an SMS code sent to the
account's own number, codes that die after five wrong tries, one answer whether or not a number has
an account, the resend cool-down, and raising an account from L1 to L2 from the profile page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from auth.models import Assurance, User
from auth.population import import_residents
from core import clock
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import (
    CODE_SENT,
    STRONG_PASSWORD,
    WRONG_CODE,
    code_for,
    field_error,
    flashes,
    input_value,
    login,
    make_account,
    make_id_number,
    registration_data,
    sms_count,
    sms_to,
    with_code,
)

NEW_PASSWORD = "Lj-2026-renewed"
COOL_DOWN = re.compile(r"验证码发送过于频繁，请 \d+ 秒后再试。")


def _reset_data(mobile: str, password: str = NEW_PASSWORD) -> dict[str, str]:
    return {"mobile": mobile, "password": password, "password_confirm": password}


def _user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge_all()
        return user


# 忘记密码 ------------------------------------------------------------------------------------------


def test_forgotten_password_is_reset_with_a_code_and_old_sessions_end(app, client):
    account = make_account(app)
    elsewhere = app.test_client()
    assert login(elsewhere, account.login).status_code == 302
    assert client.get("/forgot").status_code == 200

    data = with_code(client, app, "/forgot/code", _reset_data(account.mobile))
    assert "重置" in sms_to(app, account.mobile)[-1]
    response = client.post("/forgot", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert "密码已重置" in " ".join(flashes(client.get("/login").text))

    assert elsewhere.get("/profile").status_code == 302  # every old session ended
    assert login(app.test_client(), account.login, account.password).status_code == 422
    assert login(client, account.login, NEW_PASSWORD).status_code == 302
    assert client.get("/profile").status_code == 200
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "account.password_reset_by_sms"))
        assert row is not None and row.object_id == str(account.id)
    # the code was used up: it cannot set the password again
    client.post("/logout")
    again = client.post(
        "/forgot", data={**data, "password": STRONG_PASSWORD, "password_confirm": STRONG_PASSWORD}
    )
    assert again.status_code == 422
    assert field_error(again.text, "sms_code") == WRONG_CODE


def test_five_wrong_codes_kill_the_code(app, client):
    account = make_account(app)
    data = with_code(client, app, "/forgot/code", _reset_data(account.mobile))
    wrong = f"{(int(data['sms_code']) + 1) % 10**6:06d}"
    for _ in range(5):
        response = client.post("/forgot", data={**data, "sms_code": wrong})
        assert response.status_code == 422
        assert field_error(response.text, "sms_code") == WRONG_CODE
        assert input_value(response.text, "mobile") == account.mobile
    response = client.post("/forgot", data=data)  # the right code, too late
    assert response.status_code == 422
    assert field_error(response.text, "sms_code") == WRONG_CODE
    assert login(app.test_client(), account.login, account.password).status_code == 302
    assert login(app.test_client(), account.login, NEW_PASSWORD).status_code == 422


def _normalised(page: str, mobile: str) -> str:
    """The page with the typed number and the per-request nonces taken out."""
    return re.sub(r'nonce="[^"]*"', 'nonce=""', page.replace(mobile, "MOBILE"))


def test_an_unknown_number_gets_the_same_answer_and_no_sms(app):
    account = make_account(app)
    unknown = "13811112222"
    known_page = app.test_client().post("/forgot/code", data=_reset_data(account.mobile))
    before = sms_count(app)
    unknown_page = app.test_client().post("/forgot/code", data=_reset_data(unknown))
    assert known_page.status_code == unknown_page.status_code == 200
    assert flashes(known_page.text) == flashes(unknown_page.text) == [CODE_SENT]
    assert _normalised(known_page.text, account.mobile) == _normalised(unknown_page.text, unknown)
    assert sms_count(app) == before and sms_to(app, unknown) == []
    # asking again within a minute is refused alike: the unknown number is timed and counted too
    again = [app.test_client().post("/forgot/code", data=_reset_data(m)) for m in (account.mobile, unknown)]
    assert [COOL_DOWN.fullmatch(field_error(r.text, "mobile") or "") is not None for r in again] == [
        True,
        True,
    ]
    # and a made-up code for it gets the answer any wrong code gets
    response = app.test_client().post("/forgot", data={**_reset_data(unknown), "sms_code": "123456"})
    assert response.status_code == 422
    assert field_error(response.text, "sms_code") == WRONG_CODE


def test_login_page_links_to_forgot_and_not_to_a_police_station(client):
    page = client.get("/login").text
    assert re.search(r'<a href="/forgot"[^>]*>[^<]*忘记密码', page)
    assert "派出所" not in page and "公安窗口" not in page
    forgot = client.get("/forgot").text
    assert "获取验证码" in forgot and 'formaction="/forgot/code"' in forgot


def test_logged_in_users_are_sent_away_from_forgot(app, client):
    account = make_account(app)
    login(client, account.login)
    assert client.get("/forgot").headers["Location"].endswith("/profile")


def _effective_action(page: str, code_url: str) -> str:
    """Where the form holding the 获取验证码 button submits, for a page shown at ``code_url`` (a form
    without ``action`` submits to the page's own address)."""
    form = next(f for f in re.findall(r"<form\b.*?</form>", page, re.S) if f'formaction="{code_url}"' in f)
    action = re.match(r'<form\b[^>]*\baction="([^"]*)"', form)
    return action.group(1) if action else code_url


@pytest.mark.parametrize(
    ("role", "code_url", "data", "target"),
    [
        ("anonymous", "/register/code", registration_data(), "/register"),
        ("anonymous", "/forgot/code", _reset_data("13811112222"), "/forgot"),
        ("citizen", "/profile/mobile/code", {"mb-mobile": "13811112222"}, "/profile/mobile"),
    ],
    ids=["register", "forgot", "profile-mobile"],
)
def test_after_asking_for_a_code_the_form_still_submits_to_its_page(
    app, client, role, code_url, data, target
):
    """Without JavaScript the button posts the whole form to the code URL and the page comes back
    from there: its main button must still register / reset / change, not ask for another code."""
    if role == "citizen":
        login(client, make_account(app).login)
    response = client.post(code_url, data=data)
    assert response.status_code == 200 and CODE_SENT in response.text
    assert _effective_action(response.text, code_url) == target


@pytest.mark.parametrize("page", ["register", "forgot"])
def test_asking_again_within_a_minute_is_refused_at_the_mobile_field_keeping_what_was_typed(
    app, client, page
):
    if page == "register":
        data, kept = registration_data(), ("real_name", "id_number", "mobile")
    else:
        data, kept = _reset_data(make_account(app).mobile), ("mobile",)
    url = f"/{page}/code"
    first = with_code(client, app, url, data)
    response = client.post(url, data={**data, "sms_code": first["sms_code"]})
    assert response.status_code == 200
    assert COOL_DOWN.fullmatch(field_error(response.text, "mobile")), field_error(response.text, "mobile")
    assert CODE_SENT not in response.text
    for name in kept:
        assert input_value(response.text, name) == data[name]
    assert input_value(response.text, "sms_code") == first["sms_code"]
    assert not input_value(response.text, "password")
    assert len(sms_to(app, data["mobile"])) == 1
    with clock.travel(clock.now() + timedelta(seconds=61)):
        later = with_code(client, app, url, data)  # a minute on, a new code is sent
    assert code_for(app, data["mobile"]) == later["sms_code"]
    assert len(sms_to(app, data["mobile"])) == 2


# 人口信息核验 from the profile -------------------------------------------------------------------

RESIDENT = {"real_name": "陈静", "id_number": make_id_number("330102", "19920415", 456)}


@pytest.fixture
def resident(app):
    with app.app_context():
        import_residents([{"身份证号码": RESIDENT["id_number"], "姓名": RESIDENT["real_name"]}])
        db.session.commit()


def test_profile_verification_raises_a_resident_to_l2(app, client, resident):
    account = make_account(app, assurance=1, identity_source=None, **RESIDENT)
    login(client, account.login)
    page = client.get("/profile").text
    assert "手机认证（L1）" in page and 'action="/profile/verify"' in page
    response = client.post("/profile/verify", follow_redirects=True)
    assert response.status_code == 200
    assert "已通过人口信息核验，账号已实名认证（L2）。" in flashes(response.text)
    assert "实名认证（L2）" in response.text and 'action="/profile/verify"' not in response.text
    user = _user(app, account.id)
    assert (user.level, user.identity_source) == (Assurance.L2, "register")
    assert user.identity_verified_at is not None


def test_profile_verification_leaves_a_non_resident_at_l1_and_points_to_a_counter(app, client, resident):
    account = make_account(app, assurance=1, identity_source=None, real_name="周强")
    login(client, account.login)
    response = client.post("/profile/verify", follow_redirects=True)
    assert response.status_code == 200
    message = " ".join(flashes(response.text))
    assert "未能通过人口信息核验" in message and "公安窗口" in message
    assert _user(app, account.id).level == Assurance.L1
    with app.app_context():
        refused = db.session.scalar(select(AuditLog).where(AuditLog.action == "account.assurance_refused"))
        assert refused is not None and refused.object_id == str(account.id)


def test_profile_verification_needs_a_proven_mobile_first(app, client, resident):
    account = make_account(app, assurance=0, identity_source=None, **RESIDENT)
    login(client, account.login)
    response = client.post("/profile/verify", follow_redirects=True)
    assert "请先验证手机号码，再进行实名核验。" in flashes(response.text)
    assert _user(app, account.id).level == Assurance.L0
