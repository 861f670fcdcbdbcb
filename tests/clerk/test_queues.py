"""Queue tabs, their counts, the filters and keyset pagination, through the clerk's pages."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from applications.clerk import queues
from applications.clerk.operations import QUEUE_STATES as QUEUE
from applications.clerk.views import _today
from applications.models import Application, Channel
from applications.workflow.states import State
from catalog.queries import catalog
from core.db import db, utcnow
from tests.clerk.helpers import PS_COUNTER_ITEM, insert_submitted, login_staff, unit, user

REF = re.compile(r">(LJ\d{14}[0-9A-Z])</a>")


def _refs(client, url: str) -> list[str]:
    return REF.findall(client.get(url).get_data(as_text=True))


def _ref_map(ids_by_name: dict[str, list[int]]) -> dict[str, set[str]]:
    return {
        name: {db.session.get(Application, i).reference for i in ids} for name, ids in ids_by_name.items()
    }


def test_each_tab_holds_exactly_its_applications_and_the_counts_match(world):
    app = world
    with app.app_context():
        today = _today()
        me, colleague = user("clerk_ps_dc_01").id, user("lead_dc").id
        ids = {
            "pending": insert_submitted(2) + insert_submitted(1, state=State.RESUBMITTED),
            "mine_new": insert_submitted(1, claimed_by_id=me),
            "mine_accepted": insert_submitted(
                1,
                state=State.ACCEPTED,
                claimed_by_id=me,
                promised_due=today + timedelta(days=10),
                due_soon_on=today + timedelta(days=8),
            ),
            "correction": insert_submitted(1, state=State.CORRECTION_REQUESTED, claimed_by_id=colleague),
            # waiting for the citizen's 补正 past its (frozen) promised date: the clock is stopped, so
            # it is under 待补正 only, never 即将超期 or 已超期
            "paused_late": insert_submitted(
                1,
                state=State.CORRECTION_REQUESTED,
                claimed_by_id=colleague,
                promised_due=today - timedelta(days=2),
                due_soon_on=today - timedelta(days=4),
            ),
            "due_soon": insert_submitted(
                1,
                state=State.ACCEPTED,
                claimed_by_id=colleague,
                promised_due=today + timedelta(days=1),
                due_soon_on=today - timedelta(days=1),
            ),
            "due_today": insert_submitted(
                1,
                state=State.ACCEPTED,
                claimed_by_id=colleague,
                promised_due=today,
                due_soon_on=today,
            ),
            "overdue": insert_submitted(
                1,
                state=State.ACCEPTED,
                claimed_by_id=me,
                promised_due=today - timedelta(days=1),
                due_soon_on=today - timedelta(days=3),
            ),
            "done": insert_submitted(1, state=State.APPROVED)
            + insert_submitted(1, state=State.REFUSED)
            + insert_submitted(1, state=State.DELIVERED)
            + insert_submitted(1, state=State.NOT_ACCEPTED),
            # Neither a withdrawn application nor another unit's shows anywhere.
            "nowhere": insert_submitted(1, state=State.WITHDRAWN)
            + insert_submitted(1, unit_code="LJ-PS-DC-02"),
            "late_done": insert_submitted(1, state=State.APPROVED, promised_due=today - timedelta(days=5)),
        }
        db.session.commit()
        r = _ref_map(ids)
    expected = {
        "pending": r["pending"],
        "mine": r["mine_new"] | r["mine_accepted"] | r["overdue"],
        "correction": r["correction"] | r["paused_late"],
        "due_soon": r["due_soon"] | r["due_today"],
        "overdue": r["overdue"],
        "done": r["done"] | r["late_done"],
    }
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    page = client.get("/clerk/").get_data(as_text=True)
    badges = {k: int(v) for k, v in re.findall(r'data-testid="count-(\w+)">(\d+)<', page)}
    assert badges == {k: len(v) for k, v in expected.items()}
    for tab, refs in expected.items():
        got = _refs(client, f"/clerk/?tab={tab}")
        assert set(got) == refs, tab
        assert len(got) == len(refs), tab
    with app.app_context():
        assert queues.queue_counts(user("clerk_ps_dc_01"), _today()) == badges


def test_filters_by_item_channel_reference_and_local_date(world):
    app = world
    shanghai = ZoneInfo("Asia/Shanghai")
    # 01:00 in Shanghai on 10 March is still 9 March in UTC: the filter is by the local date.
    early_local = datetime(2026, 3, 10, 1, 0, tzinfo=shanghai).astimezone(UTC)
    with app.app_context():
        counter_item = catalog().items[PS_COUNTER_ITEM]
        a_online = insert_submitted(1, submitted_at=datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
        b_counter = insert_submitted(1, channel=Channel.COUNTER, submitted_at=early_local)
        c_other_item = insert_submitted(
            1, item_code=PS_COUNTER_ITEM, submitted_at=datetime(2026, 3, 12, 2, 0, tzinfo=UTC)
        )
        db.session.commit()
        r = _ref_map({"a": a_online, "b": b_counter, "c": c_other_item})
        counter_item_id = counter_item.id
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    assert set(_refs(client, "/clerk/?tab=pending")) == r["a"] | r["b"] | r["c"]
    assert set(_refs(client, f"/clerk/?tab=pending&item={counter_item_id}")) == r["c"]
    assert set(_refs(client, "/clerk/?tab=pending&channel=counter")) == r["b"]
    assert set(_refs(client, "/clerk/?tab=pending&channel=online")) == r["a"] | r["c"]
    (ref_b,) = r["b"]
    assert set(_refs(client, f"/clerk/?tab=pending&ref={ref_b.lower()}")) == r["b"]
    assert set(_refs(client, "/clerk/?tab=pending&date_from=2026-03-10&date_to=2026-03-10")) == r["b"]
    assert set(_refs(client, "/clerk/?tab=pending&date_from=2026-03-10")) == r["b"] | r["c"]
    assert set(_refs(client, "/clerk/?tab=pending&date_to=2026-03-09")) == r["a"]
    assert set(_refs(client, "/clerk/?tab=done&channel=counter")) == set()


def test_finds_cases_by_the_applicants_or_the_principals_id_number_without_plaintext(world):
    """The numbers are stored encrypted: the filter goes through their blind indexes."""
    from tests.auth.helpers import make_id_number
    from tests.factories import CitizenFactory

    app = world
    principal = make_id_number("330102", "19500101", 321)
    with app.app_context():
        other = CitizenFactory()
        mine = insert_submitted(1)
        theirs = insert_submitted(1, applicant=other)
        proxy = insert_submitted(
            1, applicant=other, is_proxy=True, principal_name="李四", principal_id_number=principal
        )
        db.session.commit()
        r = _ref_map({"mine": mine, "theirs": theirs, "proxy": proxy})
        own_number, other_number = user_number(), other.id_number
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    assert set(_refs(client, f"/clerk/?tab=pending&person={own_number}")) == r["mine"]
    assert (
        set(_refs(client, f"/clerk/?tab=pending&person={other_number.lower()}")) == r["theirs"] | r["proxy"]
    )
    assert set(_refs(client, f"/clerk/?tab=pending&person={principal}")) == r["proxy"]
    # a mistyped number: a message at the field, the whole queue still listed, never a 500
    page = client.get("/clerk/?tab=pending&person=33010219500101321")
    assert page.status_code == 200 and "身份证号码应为18位" in page.text
    assert set(_refs(client, "/clerk/?tab=pending&person=12345")) == r["mine"] | r["theirs"] | r["proxy"]


def user_number() -> str:
    from tests.clerk.helpers import citizen

    return citizen().id_number


def test_keyset_pagination_returns_every_row_once_across_three_pages(world):
    app = world
    with app.app_context():
        today = _today()
        ids = insert_submitted(25)  # undated (last)
        ids += insert_submitted(20, state=State.RESUBMITTED, promised_due=today + timedelta(days=3))  # ties
        for k in range(20):
            ids += insert_submitted(1, state=State.RESUBMITTED, promised_due=today + timedelta(days=k % 7))
        db.session.commit()
        all_refs = _ref_map({"all": ids})["all"]
        ordered = [
            a.reference
            for a in sorted(
                (db.session.get(Application, i) for i in ids),
                key=lambda a: (a.promised_due or datetime.max.date(), a.id),
            )
        ]
    assert len(all_refs) == 65
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    url, pages = "/clerk/?tab=pending", []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(REF.findall(page))
        nxt = re.search(r'href="([^"]+)">下一页<', page)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
        assert len(pages) <= 4
    assert [len(p) for p in pages] == [30, 30, 5]
    flat = [ref for p in pages for ref in p]
    assert flat == ordered
    assert len(set(flat)) == 65 and set(flat) == all_refs


def test_a_queue_of_exactly_two_pages_offers_no_empty_third(world):
    """60 rows are two full pages: the second has no 下一页 that would lead to an empty page, on an
    open tab and on 已办结 alike."""
    app = world
    with app.app_context():
        insert_submitted(60)
        insert_submitted(60, state=State.APPROVED, completed_at=datetime(2026, 3, 2, tzinfo=UTC))
        db.session.commit()
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    for tab in ("pending", "done"):
        url, sizes = f"/clerk/?tab={tab}", []
        while url:
            page = client.get(url).get_data(as_text=True)
            sizes.append(len(REF.findall(page)))
            nxt = re.search(r'href="([^"]+)">下一页<', page)
            url = nxt.group(1).replace("&amp;", "&") if nxt else None
            assert len(sizes) <= 3
        assert sizes == [30, 30], tab


def test_done_tab_lists_newest_completion_first_with_keyset_paging(world):
    """已办结 is the unit's history, newest completion first (ties by id, newest first), applications
    with no completion time last; the 下一页 links walk it without a gap or a repeat, both sides of the
    unit (accepting and approving) included, and the count badge counts each application once."""
    app = world
    base = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    with app.app_context():
        dc01 = unit("LJ-PS-DC-01").id
        done_states = [State.APPROVED, State.REFUSED, State.DELIVERED, State.NOT_ACCEPTED]
        ids = []
        for k in range(40):  # completion times out of insertion order, microseconds apart too
            ids += insert_submitted(
                1,
                state=done_states[k % 4],
                completed_at=base + timedelta(hours=(k * 7) % 40, microseconds=k),
            )
        ids += insert_submitted(12, state=State.APPROVED, completed_at=base + timedelta(hours=5))  # a tie
        ids += insert_submitted(5, state=State.REFUSED)  # no completion time: last
        # approved by this unit, accepted by another: on the approving side
        ids += insert_submitted(
            3, unit_code="LJ-PS-DC-02", approving_unit_id=dc01, state=State.APPROVED, completed_at=base
        )
        ids += insert_submitted(1, approving_unit_id=dc01, state=State.DELIVERED, completed_at=base)  # both
        insert_submitted(2, unit_code="LJ-PS-DC-02", state=State.APPROVED, completed_at=base)  # not ours
        insert_submitted(2, state=State.ACCEPTED, claimed_by_id=user("clerk_ps_dc_01").id)  # still open
        db.session.commit()
        rows = [db.session.get(Application, i) for i in ids]
        far_past = datetime.min.replace(tzinfo=UTC)
        newest_first = sorted(
            rows, key=lambda a: (a.completed_at is not None, a.completed_at or far_past, a.id), reverse=True
        )
        ordered = [a.reference for a in newest_first]
    assert len(ordered) == 61
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    url, pages = "/clerk/?tab=done", []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(REF.findall(page))
        nxt = re.search(r'href="([^"]+)">下一页<', page)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
        assert len(pages) <= 3
    assert [len(p) for p in pages] == [30, 30, 1]
    assert [ref for p in pages for ref in p] == ordered
    first = client.get("/clerk/?tab=done").get_data(as_text=True)
    assert re.search(r'data-testid="count-done">61<', first)
    # the newest: base + 39 h = 3 March 16:30 UTC, shown in Asia/Shanghai
    assert "办结时间" in first and "2026-03-04 00:30" in first
    # A cursor in another tab's format, or none at all, starts from the top.
    for bad in ("2026-03-02_5", "garbage", "none_x"):
        assert _refs(client, f"/clerk/?tab=done&after={bad}") == pages[0]
    # Filters hold across the keyset pages too.
    assert set(_refs(client, "/clerk/?tab=done&channel=counter")) == set()


def test_done_tab_pages_through_the_undated_tail(world):
    app = world
    with app.app_context():
        ids = insert_submitted(3, state=State.APPROVED, completed_at=datetime(2026, 3, 1, tzinfo=UTC))
        ids += insert_submitted(31, state=State.NOT_ACCEPTED)
        db.session.commit()
        dated = [db.session.get(Application, i).reference for i in sorted(ids[:3], reverse=True)]
        undated = [db.session.get(Application, i).reference for i in sorted(ids[3:], reverse=True)]
        clerk = user("clerk_ps_dc_01")
        first = queues.queue_page(clerk, "done")
        assert queues.queue_cursor("done", first[-1]) == f"none_{first[-1].id}"
        second = queues.queue_page(
            clerk, "done", after=queues.parse_queue_cursor("done", f"none_{first[-1].id}")
        )
        assert [a.reference for a in first + second] == dated + undated
        assert len(second) == 4


def test_item_filter_keeps_the_chosen_item_selected_and_refuses_an_unknown_one(world):
    app = world
    with app.app_context():
        item = catalog().items[PS_COUNTER_ITEM]
        insert_submitted(1, item_code=PS_COUNTER_ITEM)
        insert_submitted(1)
        db.session.commit()
        item_id, item_count = item.id, len(catalog().items)
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    item_select = re.compile(r'<select[^>]*name="item".*?</select>', re.S)
    page = client.get(f"/clerk/?tab=pending&item={item_id}").get_data(as_text=True)
    select_html = item_select.search(page).group(0)
    assert select_html.count("<option") == item_count + 1  # 全部事项 and every item
    assert re.findall(r"<option selected value=\"(\d*)\"", select_html) == [str(item_id)]
    assert len(REF.findall(page)) == 1
    unfiltered = client.get("/clerk/?tab=pending").get_data(as_text=True)
    assert "<option selected" not in item_select.search(unfiltered).group(0)
    # An id that is no item: the field says so and the queue is not filtered by it.
    bad = client.get("/clerk/?tab=pending&item=999999").get_data(as_text=True)
    assert "is-invalid" in re.search(r'<select[^>]*name="item"[^>]*>', bad).group(0)
    assert "请从列表中选择" in bad
    assert len(REF.findall(bad)) == 2


def test_open_tabs_of_a_two_unit_lead_page_in_due_order_across_both_sides_of_each_unit(world):
    """A lead of two units sees, on every open tab, exactly the open applications that either unit
    accepts or approves — each once, even when one unit does both — in (due date, undated last, id)
    order, page after page; the badges count the same sets. Another unit's applications, closed ones
    and the approving side of a unit the lead is not in stay out."""
    app = world
    rng = random.Random(5)
    open_states = [State.SUBMITTED, State.RESUBMITTED, State.ACCEPTED, State.CORRECTION_REQUESTED]
    with app.app_context():
        today = _today()
        lead, colleague = user("lead_dc"), user("clerk_ps_dc_01")
        mine = {unit("LJ-PS-DC-01").id, unit("LJ-PS-DC-02").id}
        sides = [  # (accepting unit, approving unit)
            ("LJ-PS-DC-01", None),
            ("LJ-PS-DC-02", None),
            ("LJ-PS-XC-01", "LJ-PS-DC-02"),  # visible through the approving side only
            ("LJ-PS-DC-01", "LJ-PS-DC-02"),  # both sides are the lead's: listed once
            ("LJ-PS-DC-02", "LJ-PS-XC-01"),
            ("LJ-PS-XC-01", None),  # not the lead's
            ("LJ-PS-XC-01", "LJ-PS-XC-02"),  # not the lead's
        ]
        for k in range(90):
            accepting, approving = sides[k % len(sides)]
            state = rng.choice([*open_states, State.DELIVERED])
            due = None if rng.random() < 0.2 else today + timedelta(days=rng.randint(-4, 8))
            insert_submitted(
                1,
                unit_code=accepting,
                approving_unit_id=unit(approving).id if approving else None,
                state=state,
                claimed_by_id=rng.choice([None, None, lead.id, colleague.id]),
                channel=rng.choice([Channel.ONLINE, Channel.ONLINE, Channel.COUNTER]),
                promised_due=due,
                due_soon_on=due - timedelta(days=2) if due else None,
                completed_at=utcnow() if state == State.DELIVERED else None,
            )
        db.session.commit()
        visible = [
            a
            for a in db.session.scalars(select(Application))
            if a.state in open_states and ({a.unit_id, a.approving_unit_id} & mine)
        ]
        tabs = {
            "pending": lambda a: a.state in QUEUE and a.claimed_by_id is None,
            "mine": lambda a: a.claimed_by_id == lead.id,
            "correction": lambda a: a.state == State.CORRECTION_REQUESTED,
            "due_soon": lambda a: (
                a.due_soon_on is not None
                and a.due_soon_on <= today <= a.promised_due
                and a.state != State.CORRECTION_REQUESTED
            ),
            "overdue": lambda a: (
                a.promised_due is not None
                and a.promised_due < today
                and a.state != State.CORRECTION_REQUESTED
            ),
        }
        far = date(9999, 12, 31)
        counts = queues.queue_counts(lead, today)
        for tab, keep in tabs.items():
            expected = [
                a.id for a in sorted(filter(keep, visible), key=lambda a: (a.promised_due or far, a.id))
            ]
            got, after = [], None
            while True:
                rows = queues.queue_page(lead, tab, after=after, per_page=4, today=today)
                got += [r.id for r in rows]
                if len(rows) < 4:
                    break
                after = queues.parse_queue_cursor(tab, queues.queue_cursor(tab, rows[-1]))
            assert got == expected, tab
            assert counts[tab] == len(expected), tab
            assert len(expected) >= 3, tab  # the data exercises every tab
        # a filter narrows every branch alike, and pages the same way
        at_counter = [
            a.id
            for a in sorted(visible, key=lambda a: (a.promised_due or far, a.id))
            if tabs["pending"](a) and a.channel == Channel.COUNTER
        ]
        got = queues.queue_page(lead, "pending", filters={"channel": "counter"}, per_page=2, today=today)
        rest = queues.queue_page(
            lead,
            "pending",
            filters={"channel": "counter"},
            after=queues.parse_queue_cursor("pending", queues.queue_cursor("pending", got[-1])),
            per_page=50,
            today=today,
        )
        assert [r.id for r in got + rest] == at_counter and len(at_counter) >= 3


def test_the_filter_form_is_cached_per_query_but_never_with_a_persons_number(world):
    """The queue's filter form is rendered once per worker for each query, and a query that holds an
    ID number is never kept (core.pagecache.cached_fragment)."""
    app = world
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    first = client.get("/clerk/?tab=pending&channel=online").get_data(as_text=True)
    again = client.get("/clerk/?tab=pending&channel=online").get_data(as_text=True)
    form = re.compile(r'<form method="get".*?</form>', re.S)
    assert form.search(first).group(0) == form.search(again).group(0)
    assert '<option selected value="online">' in form.search(first).group(0)
    cached = app.extensions["fragment_cache"]._data
    assert any(key[0][0] == "clerk.queue.filters" for key in cached)
    number = "11010519491231002X"
    page = client.get(f"/clerk/?tab=pending&person={number}").get_data(as_text=True)
    assert number in form.search(page).group(0)  # the field keeps what was typed …
    assert not any(number in str(key) or number in str(value) for key, value in cached.items())  # … unkept


def test_a_queue_page_without_filters_builds_no_form_once_the_filters_are_cached(world, monkeypatch):
    """Most queue views hold no filter: once a worker has rendered their filters, such a view shows the
    same markup without building the form. Blank filters (a 筛选 pressed with nothing chosen) are no
    filters; a wrong date is said at its field, kept as typed, and filters nothing."""
    from applications.clerk import views

    built = []

    class Counted(views.QueueFilterForm):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(views, "QueueFilterForm", Counted)
    app = world
    with app.app_context():
        insert_submitted(2)
        db.session.commit()
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    form = re.compile(r'<form method="get".*?</form>', re.S)

    first = client.get("/clerk/?tab=pending").get_data(as_text=True)
    assert len(built) == 1  # the first view renders the filters
    again = client.get("/clerk/?tab=pending").get_data(as_text=True)
    assert len(built) == 1  # the second takes them from the cache
    assert form.search(again).group(0) == form.search(first).group(0)
    assert 'name="item"' in form.search(again).group(0) and len(REF.findall(again)) == 2

    blank = client.get("/clerk/?tab=pending&item=&channel=&date_from=&date_to=&ref=&person=")
    assert blank.status_code == 200
    assert "is-invalid" not in blank.text and len(REF.findall(blank.text)) == 2

    wrong = client.get("/clerk/?tab=pending&date_from=2026-13-01").get_data(as_text=True)
    assert 'value="2026-13-01"' in form.search(wrong).group(0)
    assert "请输入正确的日期" in wrong and "is-invalid" in wrong
    assert len(REF.findall(wrong)) == 2
