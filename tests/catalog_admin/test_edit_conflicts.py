"""Two admins on one draft: a change made from a page drawn before someone else's change is refused
with a clear message instead of silently overwriting it (or, for the index-addressed entries, changing
the wrong one). The pages send the draft token back; the race runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

from catalog.admin import operations as ops
from tests.auth.helpers import form_alert, input_value
from tests.catalog_admin.helpers import admin_client, draft_state, item_form_data
from tests.clerk.helpers import run_threads

CODE = "LJ-HJ-001"
STALE = "已被其他管理员修改"


def _token(client, path=f"/admin/catalog/items/{CODE}") -> str:
    token = input_value(client.get(path).text, "draft")
    assert token
    return token


def _documents(app) -> list[str]:
    with app.app_context():
        return [d.name for d in ops.working_version(ops.get_item(CODE)).documents]


def _save(client, **changes):
    """Save the item form as the page now shows it, with ``changes``."""
    return client.post(
        f"/admin/catalog/items/{CODE}",
        data=item_form_data(client.application, CODE, **changes) | {"draft": _token(client)},
    )


def _flash(client) -> str:
    return client.get(f"/admin/catalog/items/{CODE}").text


def test_a_stale_item_form_is_refused_with_the_values_kept_then_saves_when_sent_again(small):
    a, b = admin_client(small), admin_client(small)
    seen = _token(a)
    r = b.post(
        f"/admin/catalog/items/{CODE}",
        data=item_form_data(small, CODE, fee_note="乙修改的说明") | {"draft": _token(b)},
    )
    assert r.status_code == 302
    r = a.post(
        f"/admin/catalog/items/{CODE}",
        data=item_form_data(small, CODE, hours="甲填写的时间") | {"draft": seen},
    )
    assert r.status_code == 409
    assert STALE in r.text and "本次没有保存" in r.text
    assert input_value(r.text, "hours") == "甲填写的时间"  # what A typed is still there
    with small.app_context():
        draft = draft_state(small, CODE)
        assert draft.fee_note == "乙修改的说明" and draft.hours != "甲填写的时间"  # B's change stands
    # the page now carries today's token: saving again is A's deliberate choice, and works
    again = input_value(r.text, "draft")
    assert again != seen
    r = a.post(
        f"/admin/catalog/items/{CODE}",
        data=item_form_data(small, CODE, hours="甲填写的时间") | {"draft": again},
    )
    assert r.status_code == 302
    with small.app_context():
        assert draft_state(small, CODE).hours == "甲填写的时间"


def test_a_form_that_fails_validation_keeps_the_token_it_was_drawn_with(small):
    a, b = admin_client(small), admin_client(small)
    seen = _token(a)
    bad = item_form_data(small, CODE, promised_days="999") | {"draft": seen}
    r = a.post(f"/admin/catalog/items/{CODE}", data=bad)
    assert r.status_code == 422 and input_value(r.text, "draft") == seen
    b.post(f"/admin/catalog/items/{CODE}", data=item_form_data(small, CODE, phone="0571-1") | {"draft": seen})
    r = a.post(f"/admin/catalog/items/{CODE}", data=bad | {"promised_days": "5", "phone": "0571-2"})
    assert r.status_code == 409  # a corrected form does not overwrite what came in meanwhile
    with small.app_context():
        assert draft_state(small, CODE).phone == "0571-1"


def test_a_stale_part_edit_never_changes_the_entry_that_moved_into_its_place(small):
    a, b = admin_client(small), admin_client(small)
    before = _documents(small)
    assert len(before) >= 3
    seen = _token(a, f"/admin/catalog/items/{CODE}/documents/1")
    r = b.post(f"/admin/catalog/items/{CODE}/documents/0/delete", data={"draft": _token(b)})
    assert r.status_code == 302
    assert _documents(small) == before[1:]  # what was index 1 is now index 0; index 1 is another one
    form = {"name": "甲改的名称", "form": "original", "copies": "1", "requirement": "required"}
    form |= {"source": "applicant", "accept": ["jpg"], "draft": seen}
    r = a.post(f"/admin/catalog/items/{CODE}/documents/1", data=form)
    assert r.status_code == 409
    assert STALE in form_alert(r.text)
    assert input_value(r.text, "name") == "甲改的名称"
    assert input_value(r.text, "draft") == seen  # this form can never overwrite: open the entry again
    assert _documents(small) == before[1:]
    assert a.post(f"/admin/catalog/items/{CODE}/documents/1", data=form).status_code == 409


def test_stale_delete_move_publish_and_discard_do_nothing_and_say_why(small):
    a, b = admin_client(small), admin_client(small)
    _save(b, fee_note="草稿")
    seen = _token(a)
    r = b.post(
        f"/admin/catalog/items/{CODE}/documents/0/move", data={"direction": "down"} | {"draft": _token(b)}
    )
    assert r.status_code == 302
    after_move = _documents(small)
    for path, data in [
        (f"/admin/catalog/items/{CODE}/documents/0/delete", {}),
        (f"/admin/catalog/items/{CODE}/documents/1/move", {"direction": "up"}),
        (f"/admin/catalog/items/{CODE}/publish", {}),
        (f"/admin/catalog/items/{CODE}/discard", {}),
    ]:
        r = a.post(path, data=data | {"draft": seen})
        assert r.status_code == 302, path
        assert "本次操作没有执行" in _flash(a), path
        assert _documents(small) == after_move, path
        with small.app_context():
            assert draft_state(small, CODE) is not None, path  # neither published nor discarded
    # with the page as it is now, the same publish goes through
    r = a.post(f"/admin/catalog/items/{CODE}/publish", data={"draft": _token(a)})
    assert r.status_code == 302
    with small.app_context():
        assert draft_state(small, CODE) is None
        assert ops.working_version(ops.get_item(CODE)).fee_note == "草稿"


def test_a_discarded_draft_makes_pages_drawn_on_it_stale_even_if_a_new_one_matches_its_number(small):
    a, b = admin_client(small), admin_client(small)
    _save(b, hours="一")
    seen = _token(a)  # draft 2 with hours 一
    b.post(f"/admin/catalog/items/{CODE}/discard", data={"draft": _token(b)})
    _save(b, hours="二")
    with small.app_context():
        assert draft_state(small, CODE).version == int(seen.split("-")[0])  # the same number again
    r = a.post(f"/admin/catalog/items/{CODE}", data=item_form_data(small, CODE, hours="三") | {"draft": seen})
    assert r.status_code == 409


def test_without_a_token_a_change_is_unconditional(small):
    a = admin_client(small)
    r = a.post(f"/admin/catalog/items/{CODE}", data=item_form_data(small, CODE, hours="脚本"))
    assert r.status_code == 302
    with small.app_context():
        assert draft_state(small, CODE).hours == "脚本"


def test_every_editor_form_sends_the_token(small):
    a = admin_client(small)
    a.post(f"/admin/catalog/items/{CODE}", data=item_form_data(small, CODE, hours="草稿"))
    page = a.get(f"/admin/catalog/items/{CODE}").text
    token = input_value(page, "draft")
    forms = page.split("<form")[1:]
    posts = [f for f in forms if f'method="post" action="/admin/catalog/items/{CODE}' in f.split(">", 1)[0]]
    assert len(posts) >= 5
    for f in posts:
        assert f'name="draft" value="{token}"' in f, f[:200]
    part = a.get(f"/admin/catalog/items/{CODE}/fields/0").text
    assert input_value(part, "draft") == token


def test_two_admins_saving_one_page_at_once_one_wins_the_other_is_told(small):
    """Both send the same token at the same moment: the item's row lock (PostgreSQL) or the write
    lock (SQLite) orders them, and the second finds the token changed."""
    clients = [admin_client(small) for _ in range(2)]
    seen = _token(clients[0])
    for rnd in range(10):
        start = threading.Barrier(2)
        statuses: list[int] = [0, 0]

        def save(i: int, rnd=rnd, start=start, statuses=statuses, seen=seen) -> None:
            data = item_form_data(small, CODE, hours=f"第{rnd}轮 管理员{i}") | {"draft": seen}
            start.wait()
            statuses[i] = clients[i].post(f"/admin/catalog/items/{CODE}", data=data).status_code

        assert run_threads(2, save) == []
        assert sorted(statuses) == [302, 409], (rnd, statuses)
        winner = statuses.index(302)
        with small.app_context():
            assert draft_state(small, CODE).hours == f"第{rnd}轮 管理员{winner}"
        seen = _token(clients[0])
