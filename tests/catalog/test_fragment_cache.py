"""The item guide rendered once per worker (core.pagecache.cached_fragment) for logged-in visitors:
each person still gets their own header and logout token, the guide follows the answers in the URL,
the language, and a catalog change at once."""

from __future__ import annotations

import re

from catalog.loader import load
from core.db import db
from tests.auth.helpers import login, make_account
from tests.catalog.helpers import demo_files, item_in, load_demo, write_catalog

ITEM = "/items/LJ-CR-002"


def _guide(page: str) -> str:
    """The part of the page between the header and the footer that the fragment holds."""
    return page.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_two_people_share_the_guide_but_not_the_header(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_demo()
    one, two = make_account(app, "citizen", real_name="孙一"), make_account(app, "citizen", real_name="李二")
    first, second = app.test_client(), app.test_client()
    for client, account in ((first, one), (second, two)):
        page = client.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        assert login(client, account.login, csrf_token=token).status_code == 302
    page_one = first.get(ITEM).text
    assert "fragment_cache" in app.extensions  # the guide is remembered now …
    page_two = second.get(ITEM).text
    assert _guide(page_one) == _guide(page_two)  # … and the second person gets the same guide
    assert "孙一" in page_one and "李二" not in page_one
    assert "李二" in page_two and "孙一" not in page_two
    tokens = [re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', p) for p in (page_one, page_two)]
    assert tokens[0] and tokens[1] and tokens[0] != tokens[1]  # each their own logout token


def test_the_guide_follows_the_answers_the_language_and_a_catalog_change(make_app, tmp_path):
    app = make_app(CATALOG_CHECK_SECONDS=0)
    with app.app_context():
        load_demo()
    account = make_account(app, "citizen")
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    page = client.get(ITEM).text
    assert "普通护照换发" in page
    client.set_cookie("lang", "en")
    english = client.get(ITEM)
    assert '<html lang="en">' in english.text and _guide(english.text) != _guide(page)
    client.delete_cookie("lang")
    assert _guide(client.get(ITEM).text) == _guide(page)

    radios = re.findall(r'name="([a-z_0-9]+)" id="s-[^"]+"\s+value="([^"]+)"\s*>', page)
    assert radios, "LJ-CR-002 asks about the applicant's situation"
    key, value = radios[-1]  # an answer not checked on the first page
    answered = client.get(ITEM, query_string={key: value}).text
    assert f'value="{value}" checked' in answered  # the answers come from this URL …
    assert f'value="{value}" checked' not in client.get(ITEM).text  # … not from whoever came first

    files = demo_files()
    item_in(files, "LJ-CR-002")["name"] = "普通护照换发（新）"
    with app.app_context():
        load(write_catalog(tmp_path / "edited", files))
        db.session.commit()
    assert "普通护照换发（新）" in _guide(client.get(ITEM).text)
