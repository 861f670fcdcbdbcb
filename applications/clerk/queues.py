"""The clerk's queues: the tabs (待领取, 我的, 待补正, 即将超期, 已超期, 已办结), their counts, keyset
pages and cursors — read-only queries, tuned for a million rows (see the partial indexes in
:mod:`applications.models`). Decisions and claims are in :mod:`applications.clerk.operations`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Row

from applications.clerk.operations import QUEUE_STATES, _state_in, unit_ids
from applications.models import (
    OPEN_STATES,
    Application,
    of_units,
)
from applications.workflow.states import State
from auth.models import User
from auth.sessioncache import per_session, shared
from core.clock import SHANGHAI, local_today
from core.crypto import blind_index
from core.db import db

TABS = ("pending", "mine", "correction", "due_soon", "overdue", "done")
DONE_STATES = (State.APPROVED, State.REFUSED, State.DELIVERED, State.NOT_ACCEPTED)
DONE_COUNT_CAP = 1000


def _tab_clauses(tab: str) -> list:
    """What an open tab adds to ``state IN (<open states>)`` (which :func:`_open_page` always writes);
    ``:user_id`` and ``:today`` are bound at execution."""
    if tab == "pending":
        return [_state_in(*QUEUE_STATES), Application.claimed_by_id.is_(None)]
    if tab == "mine":
        return [Application.claimed_by_id == bindparam("user_id")]
    if tab == "correction":
        return [_state_in(State.CORRECTION_REQUESTED)]
    today = bindparam("today", type_=Date)
    # a case waiting for the citizen's 补正 has its clock stopped: it is listed under 待补正, never as
    # due soon or overdue (its own deadline is the correction's)
    running = Application.state != State.CORRECTION_REQUESTED
    if tab == "due_soon":
        return [Application.due_soon_on <= today, Application.promised_due >= today, running]
    if tab == "overdue":
        return [Application.promised_due < today, running]
    raise ValueError(f"not an open tab: {tab}")


#: The queue filters, each a clause with its own named parameter (so a statement can be built once per
#: combination of filters in use and reused with other values).
_FILTERS = {
    "f_item": lambda: Application.item_id == bindparam("f_item"),
    "f_channel": lambda: Application.channel == bindparam("f_channel"),
    "f_reference": lambda: Application.reference == bindparam("f_reference"),
    # the ID numbers are encrypted: matched through their blind indexes (applicant or principal)
    "f_person": lambda: or_(
        Application.applicant_id.in_(select(User.id).where(User.id_number_bidx == bindparam("f_person"))),
        Application.principal_id_number_bidx == bindparam("f_person"),
    ),
    "f_from": lambda: Application.submitted_at >= bindparam("f_from"),
    "f_to": lambda: Application.submitted_at < bindparam("f_to"),
}


def _filter_params(f: dict) -> dict:
    """The filter form's values as the parameters of :data:`_FILTERS` (only the filters in use)."""
    params: dict = {}
    if f.get("item_id"):
        params["f_item"] = f["item_id"]
    if f.get("channel"):
        params["f_channel"] = f["channel"]
    if f.get("reference"):
        params["f_reference"] = f["reference"].strip().upper()
    if f.get("person"):
        params["f_person"] = blind_index("id_number", f["person"].strip().upper())
    # The dates are the clerk's (Asia/Shanghai) calendar days, as the queue shows them.
    if f.get("date_from"):
        params["f_from"] = datetime.combine(f["date_from"], datetime.min.time(), SHANGHAI).astimezone(UTC)
    if f.get("date_to"):
        end = datetime.combine(f["date_to"] + timedelta(days=1), datetime.min.time(), SHANGHAI)
        params["f_to"] = end.astimezone(UTC)
    return params


def _filter_clauses(names) -> list:
    return [_FILTERS[name]() for name in sorted(names)]


#: What a queue row shows (and its cursor needs): plain rows, not ORM objects with the JSON answers,
#: form data and result — loading 30 instrumented objects was a fifth of a page view's time.
ROW_COLUMNS = (
    Application.id,
    Application.reference,
    Application.item_id,
    Application.state,
    Application.channel,
    Application.submitted_at,
    Application.promised_due,
    Application.due_soon_on,
    Application.completed_at,
    Application.claimed_by_id,
)


def holder_names(user: User, rows: list[Row]) -> dict[int, str]:
    """The names of the staff holding ``rows`` (one query, and none when they are all ``user``'s)."""
    names = {user.id: user.real_name}
    others = {r.claimed_by_id for r in rows if r.claimed_by_id is not None} - names.keys()
    if others:
        names.update(db.session.execute(select(User.id, User.real_name).where(User.id.in_(others))).all())
    return names


def queue_cursor(tab: str, last: Row | Application) -> str:
    """The ``after`` value for the page that follows ``last`` (the last row of a page): the keyset
    position, ``<promised due date>_<id>`` or, on 已办结, ``<completed_at in UTC, ISO 8601>_<id>``;
    ``none`` for an undated row."""
    if tab == "done":
        key = last.completed_at.astimezone(UTC).isoformat() if last.completed_at else "none"
    else:
        key = last.promised_due.isoformat() if last.promised_due else "none"
    return f"{key}_{last.id}"


def parse_queue_cursor(tab: str, raw: str) -> tuple[date | datetime | None, int] | None:
    """The keyset position named by a :func:`queue_cursor` value; None (the first page) if malformed."""
    key, _sep, id_s = raw.partition("_")
    try:
        if key == "none":
            value = None
        elif tab == "done":
            value = datetime.fromisoformat(key)
            if value.tzinfo is None:
                return None
        else:
            value = date.fromisoformat(key)
        return value, int(id_s)
    except ValueError:
        return None


def queue_page(
    user: User,
    tab: str,
    *,
    after: tuple[date | datetime | None, int] | None = None,
    per_page: int = 30,
    filters: dict | None = None,
    today: date | None = None,
) -> list[Row]:
    """One page of a queue (rows of :data:`ROW_COLUMNS`) by keyset after ``after`` (see
    :func:`queue_cursor`): the open tabs by due date (undated last) then id (:func:`_open_page`);
    已办结 by completion, newest first (:func:`_done_page`)."""
    if tab == "done":
        return _done_page(user, after, per_page, filters or {})
    today = today or local_today()
    return _open_page(user, tab, after, per_page, filters or {}, today)


#: An undated application's place in the open queues: after every dated one. Written as a literal that
#: PostgreSQL and SQLite both read as a date, so that the query's sort key is the very expression the
#: open-queue indexes are built on.
FAR_DUE = "9999-12-31"


def due_key() -> ColumnElement:
    """The open queues' sort key ``coalesce(promised_due, '9999-12-31')`` (indexed, see models)."""
    return func.coalesce(Application.promised_due, literal_column(f"'{FAR_DUE}'", Date))


def _open_page(
    user: User,
    tab: str,
    after: tuple[date | datetime | None, int] | None,
    per_page: int,
    filters: dict,
    today: date,
) -> list[Row]:
    """An open tab, ``ORDER BY coalesce(promised_due, '9999-12-31'), id``, keyset on that pair
    (the statement: :func:`_open_statement`)."""
    ids = unit_ids(user)
    if not ids:
        return []
    params = _filter_params(filters)
    stmt = _open_statement(tab, len(ids), tuple(sorted(params)), after is not None, per_page)
    params |= {f"unit_{i}": unit_id for i, unit_id in enumerate(ids)}
    params |= {"user_id": user.id, "today": today}
    if after is not None:
        params |= {"after_due": after[0] or date.fromisoformat(FAR_DUE), "after_id": after[1]}
    return list(db.session.execute(stmt, params))


@lru_cache(maxsize=256)
def _open_statement(tab: str, units: int, filters: tuple[str, ...], keyset: bool, per_page: int):
    """``unit_id IN (…) OR approving_unit_id IN (…)`` cannot be read in order from any index, so the
    matching rows were all fetched and sorted on every page view (a busy unit has a thousand open
    applications). Instead each of the user's units (``:unit_0`` …) gives its first ``per_page`` rows
    from its accepting side and from its approving side — each an ordered range of ix_applications_open
    or ix_applications_approving_open, read until enough rows pass the tab's filter — and the page is
    the best of those few. ``state IN (<open states>)`` is written out in every branch, as the partial
    indexes name it (SQLite matches a partial index's predicate by its terms).

    Built once per shape (tab, number of units, filters in use, first page or not) and then only
    executed: building the statement and its cache key was a third of a page view's time."""
    due = due_key()
    where = [_state_in(*OPEN_STATES), *_tab_clauses(tab), *_filter_clauses(filters)]
    if keyset:
        after_due = bindparam("after_due", type_=Date)
        where.append(or_(due > after_due, and_(due == after_due, Application.id > bindparam("after_id"))))
    branches = [
        select(Application.id)
        .where(side == bindparam(f"unit_{i}"), *where)
        .order_by(due, Application.id)
        .limit(per_page)
        .subquery()
        for i in range(units)
        for side in (Application.unit_id, Application.approving_unit_id)
    ]
    candidates = union_all(*(select(b.c.id) for b in branches))
    return (
        select(*ROW_COLUMNS)
        .where(Application.id.in_(candidates))
        .order_by(due, Application.id)
        .limit(per_page)
    )


def _done_page(
    user: User, after: tuple[datetime | None, int] | None, per_page: int, filters: dict
) -> list[Row]:
    """已办结: ``ORDER BY completed_at DESC, id DESC``, keyset on (completed_at, id).

    A unit's completed history is most of its rows (a million, in the benchmark), so it is never sorted
    whole: each of the user's units gives the first rows after the cursor from its accepting side and
    from its approving side — each an ordered range of the partial indexes ix_applications_unit_done and
    ix_applications_approving_done — and the page is the best of those few. Completed applications
    without a completion time (none are written so; older data might be) come after the rest, by id.
    """
    params = _filter_params(filters)
    where = [_state_in(*DONE_STATES), *_filter_clauses(params)]
    after_at, after_id = after if after is not None else (None, 0)
    rows: list[Row] = []
    if after is None or after_at is not None:
        dated = [*where, Application.completed_at.is_not(None)]
        if after is not None:
            # Written so that `completed_at <= :t` is an index condition on SQLite and PostgreSQL alike.
            dated += [
                Application.completed_at <= after_at,
                or_(Application.completed_at < after_at, Application.id < after_id),
            ]
        order = (Application.completed_at.desc(), Application.id.desc())
        rows = _done_rows(user, dated, order, per_page, params)
    if len(rows) < per_page:
        undated = [*where, Application.completed_at.is_(None)]
        if after is not None and after_at is None:
            undated.append(Application.id < after_id)
        rows += _done_rows(user, undated, (Application.id.desc(),), per_page - len(rows), params)
    return rows


def _done_rows(user: User, where: list, order: tuple, limit: int, params: dict) -> list[Row]:
    branches = [
        select(Application.id).where(side == unit_id, *where).order_by(*order).limit(limit).subquery()
        for unit_id in unit_ids(user)
        for side in (Application.unit_id, Application.approving_unit_id)
    ]
    if not branches:
        return []
    candidates = union_all(*(select(b.c.id) for b in branches))
    q = select(*ROW_COLUMNS).where(Application.id.in_(candidates)).order_by(*order).limit(limit)
    return list(db.session.execute(q, params))


def tab_counts(user: User, today: date) -> dict[str, int]:
    """The tab counts the queue page shows, as :func:`queue_counts` but remembered in the worker for
    ``SESSION_CHECK_SECONDS``: the counts of the clerk's units once for all their clerks
    (auth.sessioncache.shared), the clerk's own 我的 once per clerk (auth.sessioncache.per_session, like
    the 消息 badge). The clerk's own claims and decisions show at once in every worker, other clerks' work
    and new submissions within the bound; the rows of the page are always read afresh. Read the result,
    never change it (it is shared)."""
    ids = tuple(sorted(unit_ids(user)))
    units = shared(("queue_counts", ids, today), lambda: unit_counts(ids, today))
    mine = per_session(f"queue_mine:{today.isoformat()}", lambda: mine_count(user))
    return units | {"mine": mine}


def queue_counts(user: User, today: date | None = None) -> dict[str, int]:
    """Every tab's count for the navigation, read afresh: :func:`unit_counts` and :func:`mine_count`."""
    today = today or local_today()
    return unit_counts(unit_ids(user), today) | {"mine": mine_count(user)}


def unit_counts(ids: Sequence[int], today: date) -> dict[str, int]:
    """The counts of every tab but 我的 over units ``ids``, in one statement (:func:`_counts_statement`)."""
    sides = db.session.execute(_counts_statement(), {"unit_ids": list(ids) or [-1], "today": today}).all()
    *open_counts, done = (sum(n or 0 for n in column) for column in zip(*sides, strict=True))
    return dict(zip(("pending", "correction", "due_soon", "overdue"), open_counts, strict=True)) | {
        "done": min(done, DONE_COUNT_CAP)
    }


def mine_count(user: User) -> int:
    """我的: the open applications ``user`` holds in their units (an index-only scan of the clerk's own
    entries in ix_applications_claimed_open)."""
    return db.session.execute(
        _mine_statement(), {"unit_ids": unit_ids(user) or [-1], "user_id": user.id}
    ).scalar_one()


@cache
def _mine_statement():
    return select(func.count()).where(
        Application.claimed_by_id == bindparam("user_id"),
        _state_in(*OPEN_STATES),
        of_units(bindparam("unit_ids", expanding=True)),
    )


@cache
def _counts_statement():
    """Two rows, the accepting side and the approving side of the units (the latter without the rows
    the former counted): four open tabs with ``COUNT(*) FILTER (…)`` over the open applications, and the
    已办结 count capped at ``DONE_COUNT_CAP`` (counting a unit's whole history on every page view is what
    made the queue page slow at a million rows; the tab shows "1000+").

    Each side reads one partial index of open applications, which carries every column the filters
    look at (``INCLUDE`` on PostgreSQL), so the counts never touch the table; an ``OR`` of the two
    sides could only be a bitmap scan of the table. Built once — only the parameters differ from unit
    to unit — since building it and its cache key anew cost about a millisecond of every page view."""
    ids = bindparam("unit_ids", expanding=True)
    today = bindparam("today", type_=Date)

    def side(column, *only):
        done = (
            select(Application.id)
            .where(column.in_(ids), _state_in(*DONE_STATES), *only)
            .limit(DONE_COUNT_CAP)
            .subquery()
        )
        return select(
            func.count().filter(and_(_state_in(*QUEUE_STATES), Application.claimed_by_id.is_(None))),
            func.count().filter(_state_in(State.CORRECTION_REQUESTED)),
            func.count().filter(
                and_(
                    Application.due_soon_on <= today,
                    Application.promised_due >= today,
                    Application.state != State.CORRECTION_REQUESTED,
                )
            ),
            func.count().filter(
                and_(Application.promised_due < today, Application.state != State.CORRECTION_REQUESTED)
            ),
            select(func.count()).select_from(done).scalar_subquery(),
        ).where(column.in_(ids), _state_in(*OPEN_STATES), *only)

    not_accepting = or_(Application.unit_id.is_(None), Application.unit_id.not_in(ids))
    return union_all(side(Application.unit_id), side(Application.approving_unit_id, not_accepting))
