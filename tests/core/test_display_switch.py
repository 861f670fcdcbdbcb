"""The language and 长辈版 switches (issue 23): in the header of every page, `?lang=`/`?elder=` links
that can be shared, remembered per device in a cookie, and never mixed up by the page cache."""

from __future__ import annotations

from catalog.loader import load
from core.db import db
from tests.conftest import ROOT


def _with_catalog(app):
    with app.app_context():
        load(ROOT / "catalog" / "data")
        db.session.commit()


def test_a_shared_lang_link_opens_in_english_and_is_remembered(client):
    response = client.get("/login?lang=en")
    assert '<html lang="en">' in response.text
    assert "Skip to main content" in response.text
    assert "lang=en" in response.headers.get("Set-Cookie", "")
    # the next page, without the argument, stays English (cookie)
    page = client.get("/forgot")
    assert '<html lang="en">' in page.text
    # the switch offers the way back, and going back is remembered too
    assert 'href="/forgot?lang=zh"' in page.text and ">中文<" in page.text
    back = client.get("/forgot?lang=zh")
    assert '<html lang="zh-CN">' in back.text
    assert '<html lang="zh-CN">' in client.get("/login").text


def test_every_page_has_both_switches(client):
    for path in ("/login", "/register", "/forgot", "/no-such-page"):
        text = client.get(path).text
        assert 'data-testid="lang-switch"' in text, path
        assert 'data-testid="elder-switch"' in text, path


def test_unknown_values_change_nothing(client):
    response = client.get("/login?lang=fr&elder=yes")
    assert '<html lang="zh-CN">' in response.text
    assert 'class="elder"' not in response.text
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]


def test_elder_mode_is_remembered_and_shows_the_help_line(client, app):
    assert 'data-testid="help-line"' not in client.get("/login").text
    response = client.get("/login?elder=1")
    assert '<body class="elder">' in response.text
    assert 'data-testid="help-line"' in response.text
    assert f'href="tel:{app.config["CONSULT_PHONE"]}"' in response.text
    assert '<body class="elder">' in client.get("/forgot").text  # cookie
    assert '<body class="elder">' not in client.get("/forgot?elder=0").text
    assert '<body class="elder">' not in client.get("/login").text


def test_the_page_cache_keeps_languages_and_modes_apart(app, client):
    _with_catalog(app)
    assert '<html lang="zh-CN">' in client.get("/").text  # cached in Chinese
    client.set_cookie("lang", "en")
    assert '<html lang="en">' in client.get("/").text
    client.set_cookie("elder", "1")
    text = client.get("/").text
    assert '<body class="elder">' in text and '<html lang="en">' in text
    client.delete_cookie("lang")
    client.delete_cookie("elder")
    text = client.get("/").text
    assert '<html lang="zh-CN">' in text and '<body class="elder">' not in text


def test_a_lang_link_served_twice_sets_the_cookie_both_times(app):
    _with_catalog(app)
    for _ in range(2):  # the second answer must not come from the cache without its cookie
        fresh = app.test_client()
        response = fresh.get("/?lang=en")
        assert "lang=en" in response.headers.get("Set-Cookie", "")


def test_elder_home_lists_the_most_used_services_first(app, client):
    _with_catalog(app)
    text = client.get("/?elder=1").text
    assert text.index('id="pop-title"') < text.index('id="cat-title"')
    text = client.get("/?elder=0").text
    assert text.index('id="cat-title"') < text.index('id="pop-title"')
