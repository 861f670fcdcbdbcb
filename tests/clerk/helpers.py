"""Shared by the clerk tests: the demo catalog and accounts, submitted applications inserted directly
(no upload flow), and logging the demo staff in through the real login form."""

from __future__ import annotations

import io
import itertools
import secrets
import threading
from datetime import date, datetime, timedelta

from sqlalchemy import select

from applications.models import Application, Channel, StatusEvent
from applications.submission.reference import make_reference
from applications.workflow.states import State
from auth.models import Unit, User
from catalog.queries import catalog
from core.db import db, utcnow
from tests.uploads import corpus

DEMO_PASSWORD = "Demo-2026"
DEMO_CITIZEN_MOBILE = "13800000001"
#: 无犯罪记录证明: police station, ecert or mail, promised 1 / legal 3 working days.
PS_ITEM = "LJ-HJ-021"
#: 夫妻投靠落户: police station, counter or mail, promised 5 / legal 20 working days.
PS_COUNTER_ITEM = "LJ-HJ-008"
#: 补领机动车号牌: vehicle office, mail or counter.
VO_ITEM = "LJ-CJ-006"

_sequence = itertools.count(1)


def load_world() -> None:
    """Demo catalog and demo accounts in the current app context, committed."""
    from auth.cli import ensure_demo_accounts
    from tests.catalog.helpers import load_demo

    load_demo()
    ensure_demo_accounts()
    db.session.commit()


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def citizen() -> User:
    return db.session.scalar(select(User).where(User.mobile_is(DEMO_CITIZEN_MOBILE)))


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def insert_submitted(
    n: int,
    *,
    unit_code: str = "LJ-PS-DC-01",
    item_code: str = PS_ITEM,
    applicant: User | None = None,
    state: State = State.SUBMITTED,
    channel: Channel = Channel.ONLINE,
    submitted_at: datetime | None = None,
    **columns,
) -> list[int]:
    """Insert ``n`` submitted applications of one unit directly (flushed, not committed); their ids.

    Submission times are one second apart (the first is the oldest) so the order is known."""
    item = catalog().items[item_code]
    applicant = applicant or citizen()
    unit_id = unit(unit_code).id
    start = submitted_at or utcnow() - timedelta(hours=1)
    columns.setdefault("delivery_method", item.delivery[0])
    rows = []
    for i in range(n):
        k = next(_sequence)
        app = Application(
            start_token=secrets.token_urlsafe(16),
            applicant_id=applicant.id,
            item_id=item.id,
            version_id=item.version_id,
            state=state,
            channel=channel,
            district="东城区",
            contact_mobile=applicant.mobile,
            unit_id=unit_id,
            routing_rule="测试",
            reference=make_reference(date.today(), 500000 + k),
            submitted_at=start + timedelta(seconds=i),
            **columns,
        )
        app.events.append(
            StatusEvent(from_state="draft", to_state=state.value, action="submit", actor_id=applicant.id)
        )
        rows.append(app)
    db.session.add_all(rows)
    db.session.flush()
    return [a.id for a in rows]


def login_staff(client, username: str, password: str = DEMO_PASSWORD):
    response = client.post("/login", data={"identifier": username, "password": password})
    assert response.status_code == 302, response.text
    return response


def run_threads(n: int, target) -> list[BaseException]:
    """Run ``target(i)`` for i < n in threads at once; the exceptions they raised."""
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def walk_in_data(item_code: str = PS_ITEM, **overrides) -> dict:
    """A complete 窗口登记 POST for the demo citizen (张晓明) of ``item_code`` — PS_ITEM or
    PS_COUNTER_ITEM-like items with their own fields — without files (add ``doc-N`` entries).
    An override of ``None`` leaves the key out."""
    data = {
        "item": item_code,
        "real_name": "张晓明",
        "id_number": "330102199003071230",
        "mobile": "13800000001",
        "identity_checked": "y",
        "token": secrets.token_urlsafe(24),
        "purpose": "窗口受理",
        "district": "东城区",
        "contact_mobile": "13800000001",
        "delivery_method": "mail",
        "recipient": "王小红",
        "recipient_mobile": "13800000001",
        "mail_district": "东城区",
        "mail_address": "滨江路8号3单元",
        # LJ-HJ-021 无犯罪记录证明
        "f_purpose": "就业",
        # LJ-HJ-010 父母投靠子女落户
        "f_parent_names": "张大山、李秀英",
        "f_move_in_address": "东城区滨江路8号3单元",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def scan(name: str = "身份证.png"):
    """A small real PNG as a multipart file tuple for the test client (a fresh stream each call)."""
    return (io.BytesIO(corpus.png()), name)
