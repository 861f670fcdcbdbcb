"""Fill a PostgreSQL database with a realistic two-year history of applications for the clerk benchmark.

    python -m bench.generate --database-url postgresql://postgres@127.0.0.1:5432/DB --rows 1000000 \
        [--years 2] [--seed 1] [--citizens N] [--batch 50000]

Phases, each timed: the real migrations (``flask db upgrade``) and demo data (``flask demo load``), then
citizens, then the applications with their status events, clock pauses and visits, streamed with COPY in
batches (memory stays bounded), then the ratings (about a third of the completed applications, 差评
with their follow-ups), then the reference counters and sequences, then the statistics
roll-ups (``flask stats rebuild``; each completed application's working-day duration is written by
the generator), then VACUUM ANALYZE.

Every row goes through the live constraints (CHECKs, foreign keys, unique references): nothing is
disabled. Each application is simulated through the transition table — submit, 受理 or 不予受理, 补正
before or after 受理 (with a clock pause), resubmission, 办结, delivery, withdrawal — with clerks acting
in office hours on Chinese working days, and the state it is in *now* is whatever its timeline reached
by now; a small share stalls (the overdue backlog). So the queues hold what a busy bureau's would: mostly
closed work, a day or two of 待受理, the 在办 of each clerk, 待补正 and a tail of 已超期.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from applications.submission.reference import make_reference  # noqa: E402
from applications.workflow.deadlines import ChineseCalendar, Pause, due_dates, elapsed_working_days  # noqa: E402
from auth.identity import id_check_char  # noqa: E402
from catalog.districts import DISTRICTS  # noqa: E402

LOCAL = 8 * 3600  # Asia/Shanghai is UTC+8 all year
DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0
OFFICE_OPEN, OFFICE_CLOSE = 8.5 * HOUR, 17.5 * HOUR  # local seconds since midnight
CITIZEN_PASSWORD = "Bench-citizen-1"  # noqa: S105 - generated citizens and clerks can log in with it
CITY_CLERKS = 60  # clerks doing the generated work, city-wide (about 25 applications a day each)
# Submissions by local hour: online all day with office-hour and evening peaks.
# fmt: off
HOUR_WEIGHTS = [0.3, 0.15, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 3, 6, 7, 6.5,   # 00–11 h
                4, 4.5, 6, 6.5, 6, 4.5, 3, 3, 3, 2.5, 1.5, 0.8]     # 12–23 h
# fmt: on
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉宁"
CARRIERS = ("EMS", "顺丰速运", "中国邮政")
CORRECTION_NOTES = (
    ("照片", "照片背景不符合要求，请上传白色背景证件照"),
    ("身份证明", "身份证复印件不清晰，请重新上传"),
    ("申请表", "申请表缺少本人签名"),
    ("户口簿", "请补充户口簿本人页"),
)

APP_COLS = (
    "id",
    "reference",
    "start_token",
    "applicant_id",
    "item_id",
    "version_id",
    "state",
    "channel",
    "answers",
    "form_data",
    "district",
    "contact_mobile",
    "is_proxy",
    "principal_name",
    "principal_id_number",
    "relationship_to_principal",
    "principal_user_id",
    "principal_confirmed_at",
    "delivery_method",
    "delivery_address",
    "pickup_unit_id",
    "unit_id",
    "routing_rule",
    "approving_unit_id",
    "claimed_by_id",
    "claimed_at",
    "accepted_at",
    "promised_due",
    "legal_due",
    "due_soon_on",
    "completed_at",
    "correction_count",
    "result",
    "row_version",
    "created_at",
    "updated_at",
    "submitted_at",
    "working_days",
)
EVENT_COLS = (
    "application_id",
    "from_state",
    "to_state",
    "action",
    "actor_id",
    "actor_role",
    "unit_id",
    "note",
    "details",
    "at",
)
VISIT_COLS = ("application_id", "at", "place", "purpose", "unit_id", "recorded_by_id", "note")
PAUSE_COLS = ("application_id", "started_at", "ended_at", "reason")
USER_COLS = (
    "id",
    "role",
    "real_name",
    "mobile",
    "id_number",
    "username",
    "password_hash",
    "active",
    "must_change_password",
    "session_token",
    "created_at",
)


def ts_dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def local_day(ts: float) -> date:
    return date.fromordinal(719163 + int((ts + LOCAL) // DAY))  # 719163 = date(1970, 1, 1).toordinal()


def day_start(d: date) -> float:
    """UTC timestamp of local midnight of ``d``."""
    return (d.toordinal() - 719163) * DAY - LOCAL


# Context read from the migrated, demo-loaded database ---------------------------------------------


@dataclass
class Version:
    id: int
    item_id: int
    code: str
    category: str
    unit_kind: str
    promised_days: int
    legal_days: int
    day_kind: str
    instant: bool
    visits: int
    delivery: list[str]
    popular: bool
    answers: str = "{}"
    proxy_answers: str | None = None
    form_data: str = "{}"


@dataclass
class Unit:
    id: int
    code: str
    kind: str
    district: str | None
    name: str


@dataclass
class Context:
    versions: list[Version]
    version_weights: list[float]
    units: dict[str, Unit]
    units_by_id: dict[int, Unit]
    stations: dict[str, list[Unit]]  # district → police stations
    clerks: dict[int, list[int]]  # unit id → staff ids (clerks and leads) who act for it
    routes: dict[tuple[str, str, str], tuple[Unit, str]]  # (item code, category, district) → unit, rule text
    first_user_id: int = 0
    first_app_id: int = 0
    counters: dict[date, int] = field(default_factory=dict)


def load_context(conn) -> Context:
    from applications.workflow.routing import RuleRef, UnitRef, route

    cur = conn.cursor()
    units = {}
    for uid, code, kind, district, name in cur.execute("SELECT id, code, kind, district, name FROM units"):
        units[code] = Unit(uid, code, kind, district, name)
    by_id = {u.id: u for u in units.values()}
    stations: dict[str, list[Unit]] = {}
    for u in sorted(units.values(), key=lambda u: u.code):
        if u.kind == "police_station" and u.district:
            stations.setdefault(u.district, []).append(u)
    rows = cur.execute(
        """SELECT v.id, v.item_id, s.code, c.code, v.unit_kind, v.promised_days, v.legal_days, v.day_kind,
                  v.instant, v.visits, v.delivery, v.popular
             FROM item_versions v JOIN service_items s ON s.id = v.item_id
             JOIN categories c ON c.id = v.category_id
            WHERE v.state = 'published' ORDER BY v.id"""
    ).fetchall()
    if not rows:
        raise SystemExit("no published item versions: was `flask demo load` run?")
    versions = [Version(*r[:10], delivery=list(r[10] or ["counter"]), popular=r[11]) for r in rows]
    fields: dict[int, list[tuple[str, str, list]]] = {}
    for vid, key, ftype, options in cur.execute(
        "SELECT version_id, key, type, options FROM form_fields ORDER BY version_id, position"
    ):
        fields.setdefault(vid, []).append((key, ftype, options or []))
    situations: dict[int, dict[str, list[str]]] = {}
    for vid, key, value in cur.execute(
        """SELECT s.version_id, s.key, o.value
             FROM situations s JOIN situation_options o ON o.situation_id = s.id
            ORDER BY s.version_id, s.position, o.position"""
    ):
        situations.setdefault(vid, {}).setdefault(key, []).append(value)
    samples = {
        "text": "示例内容",
        "textarea": "申请事由说明",
        "date": "2025-06-01",
        "id_number": "330102199001011234",
        "mobile": "13900000000",
        "address": "临江市东城区解放路100号",
        "checkbox": True,
    }
    # Volume share by category (车驾管 and 出入境 are the big counters), popular items five times as often.
    share = {"vehicle": 0.34, "exit_entry": 0.26, "huji": 0.30, "public_order": 0.10}
    per_cat: dict[str, float] = {}
    for v in versions:
        per_cat[v.category] = per_cat.get(v.category, 0) + (5 if v.popular else 1)
        answers = {k: vals[0] for k, vals in situations.get(v.id, {}).items() if vals}
        v.answers = json.dumps(answers, ensure_ascii=False)
        if "proxy" in situations.get(v.id, {}).get("applicant", []):
            v.proxy_answers = json.dumps({**answers, "applicant": "proxy"}, ensure_ascii=False)
        data = {}
        for key, ftype, options in fields.get(v.id, []):
            data[key] = options[0] if ftype == "select" and options else samples.get(ftype, "示例")
        v.form_data = json.dumps(data, ensure_ascii=False)
    weights = [share.get(v.category, 0.05) * (5 if v.popular else 1) / per_cat[v.category] for v in versions]

    clerks: dict[int, list[int]] = {}
    for user_id, unit_id in cur.execute(
        """SELECT u.id, uu.unit_id FROM users u JOIN user_units uu ON uu.user_id = u.id
            WHERE u.role IN ('clerk', 'unit_lead') AND u.active ORDER BY u.id"""
    ):
        clerks.setdefault(unit_id, []).append(user_id)
    rules = [
        RuleRef(
            rid, pos, item_code, cat_code, district, by_id[unit_id].code, by_id[appr].code if appr else None
        )
        for rid, pos, item_code, cat_code, district, unit_id, appr in cur.execute(
            """SELECT r.id, r.position, s.code, c.code, r.district, r.unit_id, r.approving_unit_id
                 FROM routing_rules r LEFT JOIN service_items s ON s.id = r.item_id
                 LEFT JOIN categories c ON c.id = r.category_id WHERE r.active"""
        )
    ]
    unit_refs = [UnitRef(u.code, u.kind, u.district) for u in units.values()]
    routes = {}
    for v in versions:
        for d in DISTRICTS:
            chosen = route(v.unit_kind, d, unit_refs, item_code=v.code, category=v.category, rules=rules)
            routes[(v.code, v.category, d)] = (units[chosen.unit_code], chosen.rule)
    ctx = Context(versions, weights, units, by_id, stations, clerks, routes)
    ctx.first_user_id = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM users").fetchone()[0]
    ctx.first_app_id = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM applications").fetchone()[0]
    ctx.counters = dict(cur.execute("SELECT day, last FROM reference_counters").fetchall())
    return ctx


# Time: office hours on Chinese working days ---------------------------------------------------------


class CachedCalendar:
    """The real working-day calendar, memoised (chinese-calendar validates every date it is asked about)."""

    def __init__(self) -> None:
        self.cal = ChineseCalendar()
        self.days: dict[date, bool] = {}

    def is_working_day(self, d: date) -> bool:
        try:
            return self.days[d]
        except KeyError:
            self.days[d] = working = self.cal.is_working_day(d)
            return working


_CAL = CachedCalendar()


class OfficeClock:
    def __init__(self) -> None:
        self.working = _CAL.is_working_day

    def next_working(self, d: date) -> date:
        d += timedelta(days=1)
        while not self.working(d):
            d += timedelta(days=1)
        return d

    def snap(self, ts: float, rng: random.Random) -> float:
        """``ts`` if it falls in office hours of a working day, else soon after the next opening."""
        d = local_day(ts)
        into = ts - day_start(d)
        if self.working(d) and OFFICE_OPEN <= into < OFFICE_CLOSE:
            return ts
        if not self.working(d) or into >= OFFICE_CLOSE:
            d = self.next_working(d)
        return day_start(d) + OFFICE_OPEN + rng.expovariate(1 / (40 * MINUTE))

    def after_working_days(self, ts: float, days: float, rng: random.Random) -> float:
        """About ``days`` working days of office time after ``ts``."""
        ts = self.snap(ts, rng)
        whole = int(days)
        d = local_day(ts)
        for _ in range(whole):
            d = self.next_working(d)
        into = ts - day_start(local_day(ts)) + (days - whole) * (OFFICE_CLOSE - OFFICE_OPEN)
        if into >= OFFICE_CLOSE:
            d = self.next_working(d)
            into -= OFFICE_CLOSE - OFFICE_OPEN
        return day_start(d) + into


@lru_cache(maxsize=200_000)
def _elapsed(first: date, last: date) -> int:
    """Working days in (first, last]: elapsed_working_days for an application with no pause."""
    return sum(1 for n in range(1, (last - first).days + 1) if _CAL.is_working_day(first + timedelta(days=n)))


@lru_cache(maxsize=200_000)
def _due(
    accepted_day: date, promised: int, legal: int, day_kind: str, instant: bool
) -> tuple[date, date, date]:
    return _due_with(accepted_day, promised, legal, day_kind, instant, ())


def _due_with(accepted_day, promised, legal, day_kind, instant, pauses) -> tuple[date, date, date]:
    """What applications.workflow.clock.recompute_due_dates stores: promised, legal and 'due soon' dates."""
    at = datetime(accepted_day.year, accepted_day.month, accepted_day.day, 4, tzinfo=UTC)  # local noon
    kw = {"day_kind": day_kind, "instant": instant, "pauses": pauses}
    promised_due, legal_due = due_dates(_CAL, at, promised_days=promised, legal_days=legal, **kw)
    soon = math.ceil(promised * 0.8)
    if instant or soon == 0:
        return promised_due, legal_due, promised_due
    soon_due = due_dates(_CAL, at, promised_days=soon, legal_days=max(soon, legal), **kw)[0]
    return promised_due, legal_due, soon_due


# One application's history --------------------------------------------------------------------------


class Generator:
    def __init__(self, ctx: Context, rng: random.Random, now: float, n_citizens: int) -> None:
        self.ctx, self.rng, self.now, self.n_citizens = ctx, rng, now, n_citizens
        self.clock = OfficeClock()
        self.cum_versions = list(_accumulate(ctx.version_weights))
        self.names = [s + g1 + g2 for s in SURNAMES for g1 in GIVEN for g2 in ("", *GIVEN[:6])]
        self.counters = dict(ctx.counters)  # day → last sequence used
        self.stats: dict[str, int] = {}

    def pick_version(self) -> Version:
        return self.ctx.versions[bisect.bisect(self.cum_versions, self.rng.random() * self.cum_versions[-1])]

    def clerk_for(self, unit_id: int) -> int:
        return self.rng.choice(self.ctx.clerks.get(unit_id) or self.ctx.clerks[min(self.ctx.clerks)])

    def applicant(self) -> int:
        # Skewed: a few people apply often, most once or twice in two years.
        return self.ctx.first_user_id + int(self.n_citizens * self.rng.random() ** 1.6)

    def reference(self, submitted: float) -> str:
        d = local_day(submitted)
        seq = self.counters.get(d, 0) + 1
        self.counters[d] = seq
        return make_reference(d, seq)

    def application(self, app_id: int, submitted: float, out: Batch) -> None:
        rng, clock, now = self.rng, self.clock, self.now
        v = self.pick_version()
        district = rng.choice(DISTRICTS)
        unit, rule = self.ctx.routes[(v.code, v.category, district)]
        approving = None
        if unit.kind == "police_station":
            unit = rng.choice(self.ctx.stations.get(district) or [unit])
            if v.category == "huji" and rng.random() < 0.03:  # 异地受理: approved by the 户籍地 station
                other = rng.choice([d for d in DISTRICTS if d != district])
                approving = rng.choice(self.ctx.stations[other])
        applicant = self.applicant()
        local_into = submitted - day_start(local_day(submitted))
        counter = (
            clock.working(local_day(submitted))
            and OFFICE_OPEN <= local_into < OFFICE_CLOSE - HOUR
            and rng.random() < 0.35
        )
        clerk = self.clerk_for(unit.id)
        created = submitted - (rng.uniform(5, 20) * MINUTE if counter else rng.expovariate(1 / (4 * HOUR)))
        proxy = v.proxy_answers is not None and rng.random() < 0.06
        delivery = rng.choice(v.delivery)
        h = History()
        ev = h.add
        ev(
            created,
            None,
            "draft",
            "start",
            clerk if counter else applicant,
            "clerk" if counter else "citizen",
        )
        draft = not counter and rng.random() < 0.012
        if draft:
            pass
        else:
            ev(
                submitted,
                "draft",
                "submitted",
                "submit",
                clerk if counter else applicant,
                "clerk" if counter else "citizen",
                "窗口受理" if counter else "",
            )
            if counter:
                h.visits.append((submitted, "窗口受理"))
            self._process(v, submitted, counter, clerk, applicant, delivery, h)

        # Stall: a small share stops where it is (the backlog: old 待受理 and overdue 在办).
        age = now - submitted
        stall_p = 0.006 if age < 90 * DAY else 0.0004
        events, visits, pauses = h.events, h.visits, h.pauses
        if not draft and len(events) > 2 and rng.random() < stall_p:
            keep = 2 if rng.random() < 0.4 or events[2][3] != "accept" else 3
            cut = events[keep - 1][0]
            events = events[:keep]
            visits = [x for x in visits if x[0] <= cut]
            pauses = []
        happened = [e for e in events if e[0] <= now]
        state = happened[-1][2]
        accepted_at = next((e[0] for e in happened if e[3] == "accept"), None)
        completed_at = next((e[0] for e in happened if e[3] in ("approve", "refuse", "not_accept")), None)
        corrections = sum(1 for e in happened if e[3] == "request_correction")
        if draft:
            submitted_at = reference = None
        else:
            submitted_at = submitted
            reference = self.reference(submitted)
        # Who holds it now (a decision or a withdrawal lets go; 受理 and 补正 keep the holder).
        claimed_by = claimed_at = None
        first_clerk_ts = next((e[0] for e in happened[1:] if e[5] == "clerk"), None)
        if counter:
            claimed_at = submitted
        elif first_clerk_ts is not None:
            claimed_at = first_clerk_ts - rng.uniform(1, 30) * MINUTE
        if state == "submitted":
            if counter:
                claimed_by = clerk
            elif rng.random() < (0.03 if age > 7 * DAY else 0.12):
                claimed_by = clerk
                claimed_at = max(submitted, now - rng.uniform(0, 3) * HOUR)
        elif state in ("accepted", "correction_requested"):
            claimed_by = clerk if state == "accepted" or rng.random() < 0.9 else None
        elif state == "resubmitted":
            claimed_by = clerk if rng.random() < 0.85 else None
        promised_due = legal_due = soon = None
        if accepted_at is not None:
            closed = [Pause(ts_dt(s), ts_dt(e), "补正") for s, e in pauses if e is not None and e <= now]
            key = (local_day(accepted_at), v.promised_days, v.legal_days, v.day_kind, v.instant)
            promised_due, legal_due, soon = _due_with(*key, tuple(closed)) if closed else _due(*key)

        working_days = None
        if state in ("approved", "refused", "delivered") and accepted_at is not None and completed_at:
            done_pauses = [Pause(ts_dt(s), ts_dt(e), "补正") for s, e in pauses if e is not None and e <= now]
            if done_pauses:
                working_days = elapsed_working_days(
                    _CAL, ts_dt(accepted_at), ts_dt(completed_at), done_pauses
                )
            else:
                working_days = _elapsed(local_day(accepted_at), local_day(completed_at))

        app_unit = None if draft else unit.id
        for ts, frm, to, action, actor, role, note, details in happened:
            out.events.append((app_id, frm, to, action, actor, role, app_unit, note, details, ts_dt(ts)))
        for ts, purpose in visits:
            if ts <= now:
                out.visits.append((app_id, ts_dt(ts), unit.name, purpose, unit.id, clerk, ""))
        for s, e in pauses:
            if s <= now:
                out.pauses.append(
                    (app_id, ts_dt(s), ts_dt(e) if e is not None and e <= now else None, "补正")
                )
        result = "{}"
        if state in ("approved", "delivered"):
            r = {"delivery": delivery, "carrier": "", "tracking": ""}
            if delivery == "mail":
                r.update(carrier=rng.choice(CARRIERS), tracking=f"{rng.getrandbits(40):013d}")
            result = json.dumps(r, ensure_ascii=False)
        address = "{}"
        if delivery == "mail":
            address = json.dumps(
                {
                    "recipient": "申请人",
                    "mobile": "13900000000",
                    "district": district,
                    "address": f"{district}建设路{app_id % 500 + 1}号",
                },
                ensure_ascii=False,
            )
        out.apps.append(
            (
                app_id,
                reference,
                f"{app_id:x}.{rng.getrandbits(96):024x}",
                applicant,
                v.item_id,
                v.id,
                state,
                "counter" if counter else "online",
                v.proxy_answers if proxy else v.answers,
                v.form_data,
                district,
                f"15{applicant:09d}",
                proxy,
                self.names[app_id % len(self.names)] if proxy else None,
                _id_number(500_000_000 + app_id) if proxy else None,
                "子女" if proxy else None,
                None,
                None,
                None if draft else delivery,
                address,
                unit.id if delivery == "counter" and not draft else None,
                app_unit,
                None if draft else ("窗口受理" if counter else rule),
                approving.id if approving else None,
                claimed_by,
                ts_dt(claimed_at) if claimed_at is not None and not draft else None,
                ts_dt(accepted_at) if accepted_at is not None else None,
                promised_due,
                legal_due,
                soon,
                ts_dt(completed_at) if completed_at is not None else None,
                corrections,
                result,
                len(happened),
                ts_dt(created),
                ts_dt(happened[-1][0]),
                ts_dt(submitted_at) if submitted_at is not None else None,
                working_days,
            )
        )
        self.stats[state] = self.stats.get(state, 0) + 1
        if claimed_by is not None:
            self.stats["claimed"] = self.stats.get("claimed", 0) + 1

    def _process(self, v, submitted, counter, clerk, applicant, delivery, h: History) -> None:
        """The planned history after submission (the caller keeps what happened by now)."""
        rng, clock, ev = self.rng, self.clock, h.add
        if counter:
            t = submitted + rng.uniform(2, 15) * MINUTE
        else:
            t = clock.after_working_days(submitted, rng.expovariate(1 / 1.1), rng)
        r = rng.random()
        if not counter and r < 0.01:  # the citizen withdraws before anyone looked at it
            ev(
                submitted + rng.uniform(0.5, 48) * HOUR,
                "submitted",
                "withdrawn",
                "withdraw",
                applicant,
                "citizen",
            )
            return
        if not counter and r < 0.04:  # 不予受理
            ev(
                t,
                "submitted",
                "not_accepted",
                "not_accept",
                clerk,
                "clerk",
                "不符合受理条件（依据：事项办事指南）",
            )
            return
        state = "submitted"
        if not counter and r < 0.08:  # 一次性告知补正 before 受理
            if not self._correction(t, state, clerk, applicant, h, None):
                return
            t = clock.after_working_days(h.last, rng.expovariate(1 / 0.6), rng)
            state = "resubmitted"
        ev(t, state, "accepted", "accept", clerk, "clerk")
        accepted = t
        for n in range(v.visits if not counter else 0):
            h.visits.append(
                (clock.snap(accepted + rng.uniform(0, 2) * DAY, rng), ("核验原件", "采集照片指纹")[n % 2])
            )
        promised, _legal, _soon = _due(
            local_day(accepted), v.promised_days, v.legal_days, v.day_kind, v.instant
        )
        span = max(day_start(promised) + OFFICE_CLOSE - accepted, 20 * MINUTE)
        state = "accepted"
        if not v.instant and rng.random() < 0.06:  # 补正 after 受理: the clock stops
            tc = clock.snap(accepted + span * rng.uniform(0.1, 0.5), rng)
            pause = [tc, None]
            h.pauses.append(pause)
            if not self._correction(tc, state, clerk, applicant, h, pause):
                return
            t = clock.snap(h.last + span * rng.uniform(0.1, 0.5), rng)
            state = "resubmitted"
        elif v.instant or (counter and v.promised_days == 0):
            t = accepted + rng.uniform(3, 40) * MINUTE
        else:
            late = rng.random() < 0.04
            t = clock.snap(accepted + span * (rng.uniform(1.0, 1.6) if late else rng.uniform(0.1, 0.95)), rng)
        if rng.random() < 0.02:
            ev(t, state, "refused", "refuse", clerk, "clerk", "经审查不符合许可条件")
            return
        ev(t, state, "approved", "approve", clerk, "clerk")
        if delivery == "mail":
            ev(t + rng.uniform(1.5, 4) * DAY, "approved", "delivered", "deliver", clerk, "clerk")
        elif delivery == "ecert":
            ev(t + rng.uniform(1, 10) * MINUTE, "approved", "delivered", "deliver", clerk, "clerk")
        elif rng.random() < 0.92:  # collected at the counter: a visit
            pickup = clock.snap(t + rng.expovariate(1 / (3 * DAY)), rng)
            h.visits.append((pickup, "领取结果"))
            ev(pickup, "approved", "delivered", "deliver", clerk, "clerk")

    def _correction(self, t, state, clerk, applicant, h: History, pause) -> bool:
        """补正 requested at ``t``; True when the citizen answered (resubmitted), False when withdrawn."""
        rng, ev = self.rng, h.add
        items = [dict(zip(("target", "note"), rng.choice(CORRECTION_NOTES), strict=True))]
        note = "；".join(f"{i['target']}：{i['note']}" for i in items)
        ev(
            t,
            state,
            "correction_requested",
            "request_correction",
            clerk,
            "clerk",
            note,
            json.dumps({"items": items, "second": False}, ensure_ascii=False),
        )
        if rng.random() < 0.05:
            ev(
                t + rng.uniform(10, 30) * DAY,
                "correction_requested",
                "withdrawn",
                "withdraw",
                applicant,
                "citizen",
            )
            if pause is not None:
                pause[1] = h.last
            return False
        back = t + rng.uniform(0.2, 6) * DAY
        ev(back, "correction_requested", "resubmitted", "resubmit", applicant, "citizen")
        if pause is not None:
            pause[1] = back
        return True


def _accumulate(values):
    total = 0.0
    for x in values:
        total += x
        yield total


def _id_number(n: int) -> str:
    """A well-formed, unique 18-character ID number for generated person ``n``."""
    born = date(1950, 1, 1) + timedelta(days=(n // 900) % 20000)
    body = f"330110{born:%Y%m%d}{n % 900 + 100:03d}"
    return body + id_check_char(body)


@dataclass
class History:
    """One application's planned timeline: events (ts, from, to, action, actor, role, note, details),
    visits (ts, purpose) and clock pauses [start, end]."""

    events: list[tuple] = field(default_factory=list)
    visits: list[tuple] = field(default_factory=list)
    pauses: list[list] = field(default_factory=list)

    def add(self, ts, frm, to, action, actor, role, note="", details="{}") -> None:
        self.events.append((ts, frm, to, action, actor, role, note, details))

    @property
    def last(self) -> float:
        return self.events[-1][0]


@dataclass
class Batch:
    apps: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    visits: list[tuple] = field(default_factory=list)
    pauses: list[tuple] = field(default_factory=list)


# Submission times: time-ordered batches of equal expected size -------------------------------------


class Timeline:
    """Maps [0, 1) onto submission moments over the period, weighted by day (growth, weekends) and hour."""

    def __init__(self, start_day: date, now: float, clock: OfficeClock) -> None:
        self.now = now
        hw = HOUR_WEIGHTS
        self.hour_cdf = [0.0, *_accumulate(w / sum(hw) for w in hw)]
        today = local_day(now)
        into_today = (now - day_start(today)) / HOUR
        days, weights = [], []
        d = start_day
        n_days = (today - start_day).days + 1
        while d <= today:
            w = (1.0 if clock.working(d) else 0.3) * (0.8 + 0.4 * len(days) / n_days)  # +50 % over the period
            if d == today:
                w *= self._hour_cdf(into_today)
            days.append(d)
            weights.append(w)
            d += timedelta(days=1)
        self.days, self.cum = days, [0.0, *_accumulate(weights)]
        self.today_cut = self._hour_cdf(into_today)

    def _hour_cdf(self, hours: float) -> float:
        h = min(int(hours), 23)
        return self.hour_cdf[h] + (self.hour_cdf[h + 1] - self.hour_cdf[h]) * (hours - h)

    def moment(self, u: float) -> float:
        x = u * self.cum[-1]
        i = min(bisect.bisect(self.cum, x) - 1, len(self.days) - 1)
        frac = (x - self.cum[i]) / (self.cum[i + 1] - self.cum[i])
        if i == len(self.days) - 1:
            frac *= self.today_cut
        h = min(bisect.bisect(self.hour_cdf, frac) - 1, 23)
        hours = h + (frac - self.hour_cdf[h]) / (self.hour_cdf[h + 1] - self.hour_cdf[h])
        return min(day_start(self.days[i]) + hours * HOUR, self.now - 1)


# Loading ----------------------------------------------------------------------------------------------


#: The master key of generated databases (core.crypto): fixed, so every process that opens one — the
#: throwaway instance folders of ``flask db upgrade``/``demo load``, bench.clerk_load's servers, a later
#: ``python -m bench.stats_load`` — unwraps the same data keys. Bench data only; MASTER_KEY overrides it.
BENCH_MASTER_KEY = "YmVuY2gtb25seS1tYXN0ZXIta2V5LW5vdC1wcm9kISE"


def use_bench_master_key() -> None:
    os.environ.setdefault("MASTER_KEY", BENCH_MASTER_KEY)


def flask_env(database_url: str, instance_dir: str) -> dict:
    use_bench_master_key()
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": instance_dir,
        "FLASK_APP": "wsgi.py",
        "LOG_LEVEL": "WARNING",
        "RATELIMIT_ENABLED": "0",
    }


def run_flask(database_url: str, *args: str) -> str:
    """``flask ARGS`` against the database (a throwaway instance folder); its output, or SystemExit."""
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as inst:
        done = subprocess.run(
            [str(BIN / "flask"), *args],
            cwd=ROOT,
            env=flask_env(database_url, inst),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return done.stdout.strip()


def prepare_schema(database_url: str, log: Callable[[str], None]) -> None:
    """The real migrations, then the demo catalog, accounts and routing rules."""
    for args in (["db", "upgrade"], ["demo", "load"]):
        t = time.perf_counter()
        run_flask(database_url, *args)
        log(f"  flask {' '.join(args):12} {time.perf_counter() - t:6.1f} s")


def citizen_password_hash(database_url: str) -> str:
    """One real Argon2 hash for every generated citizen (hashing 250k passwords would take a day)."""
    code = (
        "from portal import create_app\nfrom auth.passwords import hash_password\n"
        f"app = create_app()\nwith app.app_context(): print(hash_password({CITIZEN_PASSWORD!r}))"
    )
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as inst:
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=flask_env(database_url, inst),
            capture_output=True,
            text=True,
            check=True,
        )
    return out.stdout.strip().splitlines()[-1]


def _produce(
    gen: Generator, timeline: Timeline, rows: int, batch: int, first_id: int, out: queue.Queue
) -> None:
    """Generate time-ordered batches of ``batch`` applications into ``out``; None at the end."""
    try:
        n_batches = max(1, math.ceil(rows / batch))
        app_id = first_id
        for b in range(n_batches):
            size = min(batch, rows - b * batch)
            us = sorted(gen.rng.uniform(b / n_batches, (b + 1) / n_batches) for _ in range(size))
            part = Batch()
            for u in us:
                gen.application(app_id, timeline.moment(u), part)
                app_id += 1
            out.put(part)
        out.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer
        out.put(exc)


def add_clerks(cur, ctx: Context, pw_hash: str, now: float, rng: random.Random) -> int:
    """Staff the units: CITY_CLERKS clerks spread by each unit's expected share of the applications (at
    least two a unit), so each clerk's 我的在办 is the size a real one's would be. They do the generated
    work alongside the demo clerks; their password is CITIZEN_PASSWORD."""
    share: dict[int, float] = {}
    total = sum(ctx.version_weights)
    for v, w in zip(ctx.versions, ctx.version_weights, strict=True):
        for d in DISTRICTS:
            unit, _rule = ctx.routes[(v.code, v.category, d)]
            units = ctx.stations.get(d, [unit]) if unit.kind == "police_station" else [unit]
            for u in units:
                share[u.id] = share.get(u.id, 0) + w / total / len(DISTRICTS) / len(units)
    users, links = [], []
    uid = ctx.first_user_id
    taken = {name for (name,) in cur.execute("SELECT username FROM users WHERE username LIKE 'gen\\_%%'")}
    for unit_id, part in sorted(share.items()):
        code = ctx.units_by_id[unit_id].code.removeprefix("LJ-").replace("-", "_").lower()
        for k in range(max(2, round(CITY_CLERKS * part))):
            if f"gen_{code}_{k + 1:02d}" in taken:  # a second run into the same database
                continue
            users.append(
                (
                    uid,
                    "clerk",
                    "生成窗口",
                    None,
                    None,
                    f"gen_{code}_{k + 1:02d}",
                    pw_hash,
                    True,
                    False,
                    f"{rng.getrandbits(128):032x}",
                    ts_dt(now - 800 * DAY),
                )
            )
            links.append((uid, unit_id))
            ctx.clerks.setdefault(unit_id, []).append(uid)
            uid += 1
    copy_rows(cur, "users", USER_COLS, users)
    copy_rows(cur, "user_units", ("user_id", "unit_id"), links)
    ctx.first_user_id = uid
    return len(users)


#: The tables the generator fills (each with an ``id`` sequence advanced past what it wrote).
GENERATED_TABLES = (
    "users",
    "applications",
    "status_events",
    "visits",
    "clock_pauses",
    "ratings",
    "rating_follow_ups",
)

#: Share of completed applications their applicant rates (per mille), and the level mix by outcome:
#: cumulative per-mille thresholds for 5 (非常满意), 4, 3, 2; the rest is 1 (非常不满意).
RATED_PER_MILLE = 350
LEVEL_MIX = {"granted": (720, 900, 960, 985), "refused": (350, 600, 780, 900)}


def add_ratings(cur, now: float) -> dict:
    """Ratings for about a third of the completed applications, by their applicants, within three days
    of completion; a 差评 (level 1–2) names one reason and has its follow-up, due 15 working days on
    and closed by a lead of the unit once that is past. Deterministic (hashes of the id), in SQL."""
    from applications.ratings.operations import FOLLOW_UP_WORKING_DAYS, REASONS

    def level(mix: tuple[int, ...]) -> str:
        return "CASE " + " ".join(f"WHEN g < {t} THEN {5 - k}" for k, t in enumerate(mix)) + " ELSE 1 END"

    cur.execute(
        f"""
        INSERT INTO ratings (application_id, user_id, unit_id, item_id, level, reasons, comment, created_at)
        SELECT id, applicant_id, unit_id, item_id, lvl,
               CASE WHEN lvl <= 2 THEN json_build_array((%(reasons)s::text[])[1 + h %% %(n_reasons)s])
                    ELSE '[]'::json END,
               '', least(completed_at + make_interval(mins => (h %% 4320)::int), %(now)s)
          FROM (SELECT a.id, a.applicant_id, a.unit_id, a.item_id, a.completed_at, x.h,
                       CASE WHEN a.state = 'refused' THEN {level(LEVEL_MIX["refused"])}
                            ELSE {level(LEVEL_MIX["granted"])} END AS lvl
                  FROM applications a,
                       LATERAL (SELECT (a.id::bigint * 2654435761) %% 1000003 AS h,
                                       (a.id::bigint * 40503) %% 1000 AS g) x
                 WHERE a.state IN ('approved', 'refused', 'delivered') AND a.completed_at IS NOT NULL
                   AND x.h %% 1000 < {RATED_PER_MILLE}) r
        """,
        {"reasons": list(REASONS), "n_reasons": len(REASONS), "now": ts_dt(now)},
    )
    rated = cur.rowcount
    days = [
        d
        for (d,) in cur.execute(
            "SELECT DISTINCT (created_at AT TIME ZONE 'Asia/Shanghai')::date FROM ratings WHERE level <= 2"
        )
    ]
    dues = []
    for d in days:
        due, left = d, FOLLOW_UP_WORKING_DAYS
        while left:
            due += timedelta(days=1)
            left -= _CAL.is_working_day(due)
        dues.append((d, due))
    cur.execute("CREATE TEMP TABLE follow_up_dues (day date PRIMARY KEY, due date) ON COMMIT DROP")
    copy_rows(cur, "follow_up_dues", ("day", "due"), dues)
    today = local_day(now)
    cur.execute(
        """
        INSERT INTO rating_follow_ups (rating_id, unit_id, status, due_on, outcome, closed_by_id, closed_at,
                                       created_at)
        SELECT r.id, r.unit_id, CASE WHEN d.due < %(today)s THEN 'closed' ELSE 'open' END, d.due,
               CASE WHEN d.due < %(today)s THEN '已电话回访申请人，说明办理依据并改进。' ELSE '' END,
               CASE WHEN d.due < %(today)s THEN
                    (SELECT min(uu.user_id) FROM user_units uu JOIN users u ON u.id = uu.user_id
                      WHERE uu.unit_id = r.unit_id AND u.role = 'unit_lead') END,
               CASE WHEN d.due < %(today)s THEN r.created_at + interval '5 days' END,
               r.created_at
          FROM ratings r JOIN follow_up_dues d ON d.day = (r.created_at AT TIME ZONE 'Asia/Shanghai')::date
         WHERE r.level <= 2
        """,
        {"today": today},
    )
    return {"ratings": rated, "follow_ups": cur.rowcount}


def copy_rows(cur, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def run(
    database_url: str,
    rows: int,
    *,
    years: float = 2,
    seed: int = 1,
    citizens: int | None = None,
    batch: int = 50_000,
    log: Callable[[str], None] = print,
    schema: bool = True,
) -> dict:
    """Generate into ``database_url`` (an empty database, or one at the migration head). Returns figures."""
    import psycopg

    use_bench_master_key()
    figures: dict = {"rows": rows}
    t_all = time.perf_counter()
    if schema:
        log("schema and demo data:")
        t = time.perf_counter()
        prepare_schema(database_url, log)
        figures["schema_s"] = time.perf_counter() - t
    rng = random.Random(seed)
    now = time.time()
    n_citizens = citizens or max(1000, rows // 4)
    pw_hash = citizen_password_hash(database_url)
    with psycopg.connect(database_url) as conn:
        cur = conn.cursor()
        cur.execute("SET synchronous_commit = off")
        ctx = load_context(conn)
        staff = add_clerks(cur, ctx, pw_hash, now, rng)
        conn.commit()
        gen = Generator(ctx, rng, now, n_citizens)

        t = time.perf_counter()
        for lo in range(0, n_citizens, batch):
            users = []
            for n in range(lo, min(lo + batch, n_citizens)):
                uid = ctx.first_user_id + n
                users.append(
                    (
                        uid,
                        "citizen",
                        gen.names[(n * 7919) % len(gen.names)],
                        f"15{uid:09d}",
                        _id_number(uid),
                        None,
                        pw_hash,
                        True,
                        False,
                        f"{rng.getrandbits(128):032x}",
                        ts_dt(now - rng.uniform(0, years * 365 + 200) * DAY),
                    )
                )
            copy_rows(cur, "users", USER_COLS, users)
            conn.commit()
        dt = time.perf_counter() - t
        figures["citizens"] = {"rows": n_citizens, "s": dt, "per_s": n_citizens / dt}
        log(f"citizens: {n_citizens:,} in {dt:.1f} s ({n_citizens / dt:,.0f} rows/s); {staff} more clerks")

        timeline = Timeline(local_day(now - years * 365 * DAY), now, gen.clock)
        t = time.perf_counter()
        totals = {"applications": 0, "status_events": 0, "visits": 0, "clock_pauses": 0}
        batches: queue.Queue = queue.Queue(maxsize=2)
        producer = threading.Thread(
            target=_produce, args=(gen, timeline, rows, batch, ctx.first_app_id, batches), daemon=True
        )
        producer.start()  # generating batch n+1 overlaps PostgreSQL's work on batch n
        t_wait = 0.0
        while True:
            t0 = time.perf_counter()
            out = batches.get()
            t_wait += time.perf_counter() - t0
            if isinstance(out, BaseException):
                raise out
            if out is None:
                break
            for table, cols, part in (
                ("applications", APP_COLS, out.apps),
                ("status_events", EVENT_COLS, out.events),
                ("visits", VISIT_COLS, out.visits),
                ("clock_pauses", PAUSE_COLS, out.pauses),
            ):
                copy_rows(cur, table, cols, part)
                totals[table] += len(part)
            conn.commit()
            done, el = totals["applications"], time.perf_counter() - t
            log(
                f"  applications {done:>10,}/{rows:,} ({100 * done / rows:5.1f} %)  {done / el:8,.0f} apps/s"
                f"  events {totals['status_events']:,}  elapsed {el:6.1f} s"
                f"  eta {el / done * (rows - done):6.0f} s"
            )
        dt = time.perf_counter() - t
        all_rows = sum(totals.values())
        figures["load"] = {
            **totals,
            "s": dt,
            "apps_per_s": rows / dt,
            "rows_per_s": all_rows / dt,
            "waiting_for_python_s": t_wait,
        }
        log(
            f"applications: {rows:,} applications + {all_rows - rows:,} status events, visits and pauses in "
            f"{dt:.1f} s ({rows / dt:,.0f} applications/s, {all_rows / dt:,.0f} rows/s; COPY waited "
            f"{t_wait:.1f} s for the generator)"
        )

        t = time.perf_counter()
        figures["ratings"] = add_ratings(cur, now)
        conn.commit()
        log(
            f"ratings: {figures['ratings']['ratings']:,} with {figures['ratings']['follow_ups']:,} 差评 "
            f"follow-ups ({time.perf_counter() - t:.1f} s)"
        )

        t = time.perf_counter()
        counters = sorted(gen.counters.items())
        cur.executemany(
            "INSERT INTO reference_counters (day, last) VALUES (%s, %s) "
            "ON CONFLICT (day) DO UPDATE SET last = greatest(reference_counters.last, excluded.last)",
            counters,
        )
        for table in GENERATED_TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        conn.commit()
        log(f"reference counters: {len(counters)} days; sequences advanced ({time.perf_counter() - t:.1f} s)")
        figures["states"] = dict(sorted(gen.stats.items(), key=lambda kv: -kv[1]))

    t = time.perf_counter()
    output = run_flask(database_url, "stats", "rebuild", "--skip-working-days")
    figures["rollup_s"] = time.perf_counter() - t
    log(f"statistics roll-ups: {output} ({figures['rollup_s']:.1f} s)")

    t = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in (*GENERATED_TABLES, "reference_counters", "stats_daily", "stats_monthly"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    figures["analyze_s"] = time.perf_counter() - t
    log(f"VACUUM ANALYZE: {figures['analyze_s']:.1f} s")
    figures["total_s"] = time.perf_counter() - t_all
    log("states now: " + ", ".join(f"{k} {v:,}" for k, v in figures["states"].items()))
    log(f"generation total {figures['total_s']:.1f} s")
    return figures


def replicate(database_url: str, times: int, log: Callable[[str], None] = print) -> dict:
    """Grow a generated database ``times``-fold in PostgreSQL alone: every application is copied
    ``times - 1`` times (new id, reference suffixed R<k>, new start token) with its status events,
    visits, clock pauses, rating and 差评 follow-up, then the roll-ups are rebuilt and the tables
    analysed. The same days and units carry ``times`` × the work (each clerk's 在办 and each unit's
    queue grow with it) — a harsher shape than a province, whose extra volume spreads over more units —
    and no Python runs per row, so 1M → 4M takes minutes where generating 4M takes an hour on a busy
    host."""
    import psycopg

    use_bench_master_key()
    t_all = time.perf_counter()
    with psycopg.connect(database_url) as conn:
        cur = conn.cursor()
        cur.execute("SET synchronous_commit = off")
        span = cur.execute("SELECT max(id) FROM applications").fetchone()[0]
        app_exprs = {
            "id": "id + %(off)s",
            "reference": "reference || 'R' || %(k)s",
            "start_token": "start_token || '.r' || %(k)s",
        }
        for k in range(1, times):
            t = time.perf_counter()
            params = {"off": k * span, "k": k, "span": span}
            cols = ", ".join(APP_COLS)
            select = ", ".join(app_exprs.get(c, c) for c in APP_COLS)
            cur.execute(
                f"INSERT INTO applications ({cols}) SELECT {select} FROM applications WHERE id <= %(span)s",
                params,
            )
            for table, columns in (
                ("status_events", EVENT_COLS),
                ("visits", VISIT_COLS),
                ("clock_pauses", PAUSE_COLS),
                (
                    "ratings",
                    (
                        "application_id",
                        "user_id",
                        "unit_id",
                        "item_id",
                        "level",
                        "reasons",
                        "comment",
                        "created_at",
                    ),
                ),
            ):
                rest = ", ".join(c for c in columns if c != "application_id")
                cur.execute(
                    f"INSERT INTO {table} (application_id, {rest}) SELECT application_id + %(off)s, {rest} "
                    f"FROM {table} WHERE application_id <= %(span)s",
                    params,
                )
            cur.execute(
                """INSERT INTO rating_follow_ups (rating_id, unit_id, status, due_on, outcome, closed_by_id,
                                                  closed_at, created_at)
                   SELECT r2.id, f.unit_id, f.status, f.due_on, f.outcome, f.closed_by_id, f.closed_at,
                          f.created_at
                     FROM rating_follow_ups f JOIN ratings r ON r.id = f.rating_id
                     JOIN ratings r2 ON r2.application_id = r.application_id + %(off)s
                    WHERE r.application_id <= %(span)s""",
                params,
            )
            conn.commit()
            log(
                f"  copy {k + 1}/{times}: {span:,} applications with their history "
                f"in {time.perf_counter() - t:.1f} s"
            )
        for table in GENERATED_TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        conn.commit()
    t = time.perf_counter()
    output = run_flask(database_url, "stats", "rebuild", "--skip-working-days")
    log(f"statistics roll-ups: {output} ({time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in (*GENERATED_TABLES, "stats_daily", "stats_monthly"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    log(
        f"VACUUM ANALYZE: {time.perf_counter() - t:.1f} s; "
        f"replicated ×{times} in {time.perf_counter() - t_all:.1f} s"
    )
    return {"applications": span * times, "s": time.perf_counter() - t_all}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--citizens", type=int, default=None, help="default: rows / 4")
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument(
        "--replicate",
        type=int,
        default=0,
        help="instead of generating: copy the database's applications N-fold in PostgreSQL (see replicate)",
    )
    args = parser.parse_args()
    if args.replicate:
        replicate(args.database_url, args.replicate, log=lambda s: print(s, flush=True))
        return
    run(
        args.database_url,
        args.rows,
        years=args.years,
        seed=args.seed,
        citizens=args.citizens,
        batch=args.batch,
        log=lambda s: print(s, flush=True),
    )


if __name__ == "__main__":
    main()
