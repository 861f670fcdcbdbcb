"""The layout's header rendered once per worker for each person-shape and page
(core.pagecache.cached_header): a name, a role, a badge, a language or a path of its own gets its own
header, and every page carries its own session's logout token."""

from __future__ import annotations

import re

import wtforms.widgets
import wtforms.widgets.core
from markupsafe import Markup

from core.forms import _wtforms_html_params, html_params
from tests.auth.helpers import login, make_account

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _header(page: str) -> str:
    return page.split("<header", 1)[1].split("</header>", 1)[0]


def _logged_in(app, account):
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert login(client, account.login, csrf_token=token).status_code == 302
    return client


def test_each_person_gets_their_own_name_and_token_from_the_cached_header(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    one = make_account(app, "citizen", real_name="孙一")
    two = make_account(app, "citizen", real_name="李二")
    first, second = _logged_in(app, one), _logged_in(app, two)
    page_one = first.get("/me/applications").text
    assert "header_cache" in app.extensions
    page_two = second.get("/me/applications").text
    assert "孙一" in _header(page_one) and "李二" not in _header(page_one)
    assert "李二" in _header(page_two) and "孙一" not in _header(page_two)
    tokens = [TOKEN.findall(p) for p in (page_one, page_two)]
    assert tokens[0] and tokens[1] and tokens[0] != tokens[1]
    assert "__portal_csrf_slot__" not in page_one + page_two
    # the token on the page is the session's: logging out with it works
    assert first.post("/logout", data={"csrf_token": tokens[0][0]}).status_code in (302, 303)
    assert first.get("/me/applications").status_code == 302  # logged out: to the login page


def test_the_header_follows_the_path_the_language_and_logging_out(make_app):
    app = make_app()
    account = make_account(app, "citizen", real_name="王三")
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    mine = client.get("/me/applications").text
    assert 'aria-current="page" href="/me/applications"' in _header(mine)
    assert "lang=en" in _header(mine)  # the switch links back to this page
    home = client.get("/").text
    assert 'aria-current="page" href="/me/applications"' not in _header(home)
    english = client.get("/me/applications?lang=en").text
    assert "lang=zh" in _header(english) and 'lang="zh-CN" hreflang="zh-CN"' in _header(english)
    client.delete_cookie("lang")
    client.post("/logout")
    anonymous = client.get("/").text
    assert "王三" not in _header(anonymous) and "/login" in _header(anonymous)


def test_html_params_writes_what_wtforms_writes():
    cases = [
        {"name": "a", "id": "f", "class_": 'x"<y>&'},
        {"checked": True, "readonly": False, "data_foo_bar": "1&2", "aria_described_by": Markup('a"b')},
        {"value": 3, "required": True, "for_": "x&y"},
        {"value": Markup("<b>"), "placeholder": "例如 1&2"},
        {},
    ]
    for kwargs in cases:
        assert html_params(**kwargs) == _wtforms_html_params(**kwargs)
    # what the widgets and labels call
    assert wtforms.widgets.html_params is html_params
    assert wtforms.widgets.core.html_params is html_params
    assert wtforms.widgets.core.Input.html_params is html_params


def test_a_query_holding_a_persons_number_is_never_kept_in_the_header_cache(make_app):
    """A clerk looking someone up by ID number or phone gets the header rendered fresh: the number
    never becomes a key of the worker's header cache."""
    app = make_app()
    account = make_account(app, "citizen", real_name="赵四")
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    client.get("/me/applications?q=11010519491231002X")
    client.get("/me/applications?q=13800138000")
    client.get("/me/applications?q=护照")
    keys = [repr(k) for k in app.extensions["header_cache"]._data]
    assert any("护照" in k for k in keys)
    assert not any("11010519491231002X" in k or "13800138000" in k for k in keys)
