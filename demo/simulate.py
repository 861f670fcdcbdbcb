"""``flask demo simulate``: a believable history of the last ``--days`` days, made by the real operations.

Simulated citizens (Faker zh_CN names, valid ID numbers, unique mobile numbers) register through
:func:`auth.operations.register_citizen` and apply through the citizen's operations
(``start_application`` → ``save_form`` → ``attach_document`` with small real JPEG/PDF files cleaned by
``clean_upload`` and kept by ``get_storage()``, or ``use_wallet_document`` when their wallet already
holds the document → ``submit``, which routes). The unit's demo clerk (``ensure_demo_accounts`` makes
one per operational unit) claims, accepts, sometimes asks for a correction (the citizen resubmits a
day or two later), records visits, approves (sometimes refuses) and delivers; some applications are
walk-ins (``register_walk_in``). Most completed applications are rated; bad ratings open follow-ups,
which the unit lead closes for the older ones.

The mix differs by item: ★5 items (online depth 5, no declared visit) are mostly zero-visit; items
that declare visits mostly get that many (采集照片指纹 / 核验原件 / 领取结果). Decisions mostly fall
within the promise; some are late, and applications whose next step would fall after now stay open
(so the last days' queues are alive and some of them are overdue).

**Time.** Each step of an application's life runs inside :func:`core.clock.travel` at its simulated
moment, so the real operations write that moment everywhere they ask the one clock: timestamps, the
reference number's date, due dates and pauses, ratings and the audit rows. Nothing is re-stamped
afterwards. The messages a step queues are marked delivered at their own moment: the SMS of a
simulated past is never sent. One ``demo.simulate`` audit row records the run.

Simulated citizens get a random password nobody knows, hashed with the cheapest Argon2 parameters
(brute-force resistance is pointless for a random 128-bit secret, and it keeps the run fast).
"""

from __future__ import annotations

import heapq
import io
import itertools
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import click
from flask import current_app
from sqlalchemy import event, exists, func, select

from applications.clerk import operations as clerk_ops
from applications.documents.uploads import CleanFile, clean_upload
from applications.models import Application
from applications.ratings import operations as rating_ops
from applications.ratings.models import RatingFollowUp
from applications.submission import operations as ops
from applications.workflow.deadlines import SHANGHAI, ChineseCalendar, add_working_days
from applications.workflow.states import State
from auth.cli import demo, ensure_demo_accounts
from auth.identity import id_check_char
from auth.models import Role, Unit, User
from auth.operations import register_citizen
from auth.population import DatabaseRegister, import_residents
from catalog.districts import DISTRICTS
from catalog.guide import build_guide
from catalog.queries import ItemView, catalog
from core import audit, clock
from core.db import db, utcnow
from core.outbox import OutboxMessage
from core.storage import Storage, get_storage
from core.transaction import commit
from core.workdays.models import load_calendar
from demo.cli import ensure_demo_rules

CLERK_KINDS = ("police_station", "vehicle_office", "exit_entry", "public_order")


@dataclass
class Stats:
    citizens: int = 0
    submitted: int = 0
    walk_ins: int = 0
    accepted: int = 0
    corrections: int = 0
    approved: int = 0
    refused: int = 0
    delivered: int = 0
    visits: int = 0
    ratings: int = 0
    bad_ratings: int = 0
    follow_ups_closed: int = 0
    by_state: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        open_ = sum(n for s, n in self.by_state.items() if s not in ("approved", "refused", "delivered"))
        return [
            f"新注册群众 {self.citizens} 人；提交申请 {self.submitted} 件（其中窗口登记 {self.walk_ins} 件）",
            f"受理 {self.accepted} 件，补正 {self.corrections} 次，准予 {self.approved} 件，"
            f"不予许可 {self.refused} 件，送达 {self.delivered} 件，到场 {self.visits} 次",
            f"评价 {self.ratings} 条（差评 {self.bad_ratings} 条，已跟进办结 {self.follow_ups_closed} 条）",
            f"仍在办理中 {open_} 件：" + "，".join(f"{s} {n}" for s, n in sorted(self.by_state.items())),
        ]


class SimulationError(click.ClickException):
    pass


# Generated files ---------------------------------------------------------------------------------


def _make_files(rng: random.Random) -> dict[str, list[CleanFile]]:
    """A few small real JPEGs and PDFs, cleaned exactly like a citizen's upload."""
    from PIL import Image, ImageDraw
    from pypdf import PdfWriter

    files: dict[str, list[CleanFile]] = {"jpg": [], "pdf": [], "png": []}
    for i in range(4):
        img = Image.new("RGB", (240, 320), (rng.randrange(150, 255), rng.randrange(150, 255), 230))
        ImageDraw.Draw(img).rectangle((60, 60, 180, 220), outline=(40, 40, 40), width=3)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=70)
        files["jpg"].append(clean_upload(f"照片{i + 1}.jpg", buf.getvalue()))
        buf = io.BytesIO()
        img.save(buf, "PNG")
        files["png"].append(clean_upload(f"扫描件{i + 1}.png", buf.getvalue()))
    for i in range(3):
        writer = PdfWriter()
        writer.add_blank_page(width=595, height=842)
        buf = io.BytesIO()
        writer.write(buf)
        files["pdf"].append(clean_upload(f"材料{i + 1}.pdf", buf.getvalue()))
    return files


# Clock helpers -----------------------------------------------------------------------------------


def _utc(d: date, hour: int, minute: int) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def _local_date(t: datetime) -> date:
    return t.astimezone(SHANGHAI).date()


class Simulation:
    """One run. Each application's life is a generator that yields the moment of its next step;
    the main loop runs all steps in time order and commits once per simulated day."""

    def __init__(
        self,
        *,
        days: int,
        per_day: int,
        seed: int,
        now: datetime | None = None,
        echo: Callable[[str], None] = lambda _m: None,
    ) -> None:
        from faker import Faker

        self.days, self.per_day, self.seed = days, per_day, seed
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.now = now or utcnow()
        self.echo = echo
        self.stats = Stats()
        self.cal: ChineseCalendar = load_calendar()
        self.storage: Storage = get_storage()
        self.files = _make_files(self.rng)
        self.items: list[ItemView] = list(catalog().items.values())
        if not self.items:
            raise SimulationError("演示目录为空：请先运行 flask demo load")
        self.units = {u.code: u for u in db.session.scalars(select(Unit))}
        self.clerks: dict[int, User] = {}
        self.leads: dict[int, User] = {}
        for user in db.session.scalars(select(User).where(User.role.in_([Role.CLERK, Role.UNIT_LEAD]))):
            target = self.clerks if Role(user.role) == Role.CLERK else self.leads
            for unit in user.units:
                target.setdefault(unit.id, user)
        self.taken_mobiles = set(db.session.scalars(select(User.mobile).where(User.mobile.is_not(None))))
        self.taken_ids = set(db.session.scalars(select(User.id_number).where(User.id_number.is_not(None))))
        self.citizens: list[User] = []
        self.pool_size = max(8, days * per_day // 5)
        self._seq = itertools.count()
        self.app_ids: list[int] = []
        self.fresh: list[Any] = []

    # People --------------------------------------------------------------------------------------

    def _new_citizen(self) -> User:

        while True:
            mobile = (
                "1"
                + self.rng.choice(("35", "36", "37", "38", "50", "58", "77", "86", "89"))
                + (f"{self.rng.randrange(10**8):08d}")
            )
            ssn = self.fake.ssn(min_age=18, max_age=75)
            first17 = ssn[:14] + f"{self.rng.randrange(1000):03d}"
            id_number = first17 + id_check_char(first17)
            if mobile not in self.taken_mobiles and id_number not in self.taken_ids:
                break
        self.taken_mobiles.add(mobile)
        self.taken_ids.add(id_number)
        name = self.fake.name()
        # a simulated resident of the city: in the population register, so registering verifies (L2)
        import_residents([{"身份证号码": id_number, "姓名": name}])
        user = register_citizen(
            real_name=name,
            id_number=id_number,
            mobile=mobile,
            password="Sim-" + secrets.token_urlsafe(16),
            register=DatabaseRegister(),
        )
        self.stats.citizens += 1
        return user

    def citizen(self) -> tuple[User, bool]:
        """(citizen, returning): often one who applied before (their wallet is offered again)."""
        if self.citizens and (len(self.citizens) >= self.pool_size or self.rng.random() < 0.4):
            return self.rng.choice(self.citizens), True
        user = self._new_citizen()
        self.citizens.append(user)
        return user, False

    # Time ----------------------------------------------------------------------------------------

    def working_slot(self, after: datetime, *, min_gap: timedelta = timedelta(minutes=20)) -> datetime:
        """The clerk's next moment in office hours (9:00-17:00 on a working day) after ``after``."""
        t = after + min_gap
        local = t.astimezone(SHANGHAI)
        d = local.date()
        if self.cal.is_working_day(d) and 9 <= local.hour < 17:
            return t
        if not (self.cal.is_working_day(d) and local.hour < 9):
            d += timedelta(days=1)
            while not self.cal.is_working_day(d):
                d += timedelta(days=1)
        return _utc(d, 9, 0) + timedelta(minutes=self.rng.randrange(120))

    def on_working_day(self, start: datetime, n: int) -> datetime:
        """A moment in office hours on the ``n``-th working day after ``start`` (0: the same day)."""
        d = add_working_days(self.cal, _local_date(start), n)
        if n == 0:
            return self.working_slot(start)
        return _utc(d, self.rng.randrange(9, 16), self.rng.randrange(60))

    # Simulated time ------------------------------------------------------------------------------

    def _track(self, _session: Any, instance: Any) -> None:
        if isinstance(instance, OutboxMessage):
            self.fresh.append(instance)

    def step(self, moment: datetime, gen: Iterator[datetime]) -> datetime | None:
        """Run one step of an application's life at ``moment`` on the one clock: every row the real
        operations write carries that moment (nothing is re-stamped afterwards). The messages it
        queued count as delivered then: a simulated history sends no SMS today."""
        with clock.travel(moment):
            try:
                upcoming: datetime | None = gen.send(None)
            except StopIteration:
                upcoming = None
            db.session.flush()
            for msg in self.fresh:
                msg.sent_at = msg.created_at
            self.fresh.clear()
        return upcoming

    # Planning ------------------------------------------------------------------------------------

    def pick_item(self) -> ItemView:
        weights = [3 if item.popular else 1 for item in self.items]
        return self.rng.choices(self.items, weights)[0]

    def plan_visits(self, item: ItemView, walk_in: bool) -> tuple[int, str]:
        """(visits wanted, delivery method) from the item's declared visits."""
        r = self.rng.random()
        if item.visits == 0:
            wanted = 0 if r < 0.88 else 1
        else:
            wanted = item.visits if r < 0.75 else (0 if r < 0.87 else item.visits + 1)
        wanted = max(wanted, 1 if walk_in else 0)
        others = [m for m in item.delivery if m != "counter"]
        needs_pickup = "领取" in (item.visit_reason or "") and "counter" in item.delivery
        if wanted == 0 or not needs_pickup:
            delivery = self.rng.choice(others) if others else "counter"
        else:
            delivery = "counter"
        if delivery == "counter" and wanted < 1 + walk_in and others:
            delivery = self.rng.choice(others)
        return wanted, delivery

    def answers(self, item: ItemView) -> dict[str, str]:
        out = {}
        for s in item.situations:
            options = [o.value for o in s.options if o.value != "proxy"] or [s.options[0].value]
            out[s.key] = self.rng.choice(options)
        return out

    def field_value(self, f, user: User, district: str, t: datetime) -> Any:
        match f.type:
            case "mobile":
                return user.mobile
            case "id_number":
                return user.id_number
            case "address":
                return f"{district}{self.fake.street_name()}{self.rng.randrange(1, 300)}号"
            case "select":
                return self.rng.choice(f.options) if f.options else ""
            case "date":
                return (_local_date(t) + timedelta(days=self.rng.randrange(7, 60))).isoformat()
            case "textarea":
                return self.fake.sentence()
            case _:
                return (
                    user.real_name if "姓名" in f.label else f"{f.label[:10]}{self.rng.randrange(100, 999)}"
                )

    def clean_file(self, accept: tuple[str, ...]) -> CleanFile:
        kind = "pdf" if "pdf" in accept else ("jpg" if "jpg" in accept else accept[0])
        return self.rng.choice(self.files.get(kind) or self.files["pdf"])

    # One application's life ----------------------------------------------------------------------

    def life(self, submitted: datetime) -> Iterator[datetime]:
        rng, stats = self.rng, self.stats
        item = self.pick_item()
        walk_in = self.cal.is_working_day(_local_date(submitted)) and rng.random() < (
            0.04 if item.visits == 0 else 0.1
        )
        wanted, delivery = self.plan_visits(item, walk_in)
        citizen, returning = self.citizen()
        district = rng.choice(DISTRICTS)
        answers = self.answers(item)
        clerk = None
        if walk_in:  # the counter clerk of the unit the rules choose registers it
            chosen = ops.route_application(SimpleNamespace(district=district), item)
            clerk = self.clerks.get(self.units[chosen.unit_code].id)
            walk_in = clerk is not None

        # Submission --------------------------------------------------------------------------
        if walk_in:
            t = self.working_slot(submitted - timedelta(minutes=20))
            yield t
            app = clerk_ops.register_walk_in(
                clerk,
                citizen=citizen,
                item=item,
                answers=answers,
                district=district,
                token=secrets.token_urlsafe(24),
            )
            app.delivery_method = delivery
            stats.walk_ins += 1
            stats.visits += 1
            visits_done = 1
        else:
            t = submitted
            yield t
            app = ops.start_application(citizen, item, answers, secrets.token_urlsafe(24))
            guide = build_guide(item, app.answers)
            values: dict[str, Any] = {
                "district": district,
                "contact_mobile": citizen.mobile,
                "delivery_method": delivery,
                "fields": {f.key: self.field_value(f, citizen, district, t) for f in guide.fields},
            }
            if delivery == "mail":
                values["delivery_address"] = {
                    "recipient": citizen.real_name,
                    "mobile": citizen.mobile,
                    "district": district,
                    "address": f"{district}{self.fake.street_name()}{rng.randrange(1, 300)}号",
                }
            ops.save_form(app, values)
            wallet = ops.matching_wallet(citizen, item) if returning else {}
            for doc in guide.to_bring:
                if doc.requirement != "required":
                    continue
                if wallet.get(doc.position):
                    ops.use_wallet_document(app, doc.position, wallet[doc.position][0])
                else:
                    ops.attach_document(app, doc.position, self.clean_file(doc.accept), self.storage, item)
            ops.submit(app, citizen)
            visits_done = 0
        stats.submitted += 1
        self.app_ids.append(app.id)
        unit = db.session.get(Unit, app.unit_id)
        clerk = self.clerks.get(app.unit_id)
        if clerk is None or unit is None:
            return

        # Claim, maybe a correction, accept ---------------------------------------------------------
        t = self.working_slot(t, min_gap=timedelta(minutes=rng.randrange(20, 300)))
        yield t
        if app.claimed_by_id is None:
            clerk_ops.claim(app, clerk)
        correction = not walk_in and rng.random() < 0.12
        before_accept = correction and rng.random() < 0.5
        if before_accept:
            t = yield from self.correct(app, clerk, citizen, t)
        clerk_ops.accept(app, clerk)
        stats.accepted += 1
        if correction and not before_accept:
            t = self.working_slot(t, min_gap=timedelta(hours=1))
            yield t
            t = yield from self.correct(app, clerk, citizen, t)

        # Visits, decision ----------------------------------------------------------------------
        pickup = delivery == "counter"
        extra = max(0, wanted - visits_done - (1 if pickup else 0))
        reason = item.visit_reason or ""
        purpose = "采集照片指纹" if ("指纹" in reason or "人像" in reason) else "核验原件"
        promised = 0 if item.instant else item.promised_days
        late = rng.random() < (0.04 if item.instant else 0.1)
        k = promised + rng.randrange(1, 5) if late else rng.randrange(0, promised + 1)
        if late and rng.random() < 0.3:
            k += rng.randrange(5, 15)  # forgotten in a queue: the recent ones are overdue now
        decided = self.on_working_day(t, k)
        for i in range(extra):
            at = t + (decided - t) * (i + 1) / (extra + 1)
            if at <= t:
                at = t + timedelta(minutes=10 * (i + 1))
            yield at
            clerk_ops.record_visit(
                app, clerk, at=at, place=unit.name, purpose=purpose if i == 0 else "补充材料"
            )
            visits_done += 1
            stats.visits += 1
            t = at
        t = max(decided, t + timedelta(minutes=15))
        yield t
        if rng.random() < 0.05:
            clerk_ops.refuse(app, clerk, reason="经审查，申请人不符合办理条件。")
            stats.refused += 1
        else:
            clerk_ops.approve(
                app,
                clerk,
                delivery=delivery,
                carrier="EMS" if delivery == "mail" else "",
                tracking=f"1{rng.randrange(10**11, 10**12)}" if delivery == "mail" else "",
                storage=self.storage,
            )
            stats.approved += 1

        # Delivery --------------------------------------------------------------------------------
        if app.state == State.APPROVED:
            if pickup:
                t = self.on_working_day(t, rng.randrange(1, 4))
                yield t
                clerk_ops.pickup(app, clerk)
                stats.visits += 1
            else:
                t = t + (timedelta(minutes=5) if delivery == "ecert" else timedelta(days=rng.randrange(1, 3)))
                yield t
                clerk_ops.mark_delivered(app, clerk)
            stats.delivered += 1

        # Rating, follow-up -------------------------------------------------------------------------
        if rng.random() > 0.78:
            return
        t = t + timedelta(hours=rng.randrange(1, 72))
        yield t
        level, reasons = self.opinion(app, late=late, visits=visits_done, refused=app.state == State.REFUSED)
        rating = rating_ops.rate(
            app,
            citizen,
            level=level,
            reasons=reasons,
            comment=self.fake.sentence() if rng.random() < 0.3 else "",
            at=t,
        )
        stats.ratings += 1
        if level not in rating_ops.BAD_LEVELS:
            return
        stats.bad_ratings += 1
        follow_up = db.session.scalar(select(RatingFollowUp).where(RatingFollowUp.rating_id == rating.id))
        lead = self.leads.get(follow_up.unit_id) if follow_up else None
        if lead is None:
            return
        t = self.on_working_day(t, rng.randrange(2, 20))
        yield t
        rating_ops.close_follow_up(
            follow_up, lead, outcome="已电话回访申请人，说明办理情况并完成整改。", at=t
        )
        stats.follow_ups_closed += 1

    def correct(self, app: Application, clerk: User, citizen: User, t: datetime) -> Iterator[datetime]:
        """一次性告知补正; the citizen resubmits a day or two later. Returns the clerk's next moment."""
        clerk_ops.request_correction(
            app,
            clerk,
            [
                {
                    "target": "材料",
                    "note": self.rng.choice(
                        ["照片不清晰，请重新上传", "身份证复印件缺背面", "申请表信息与证件不一致"]
                    ),
                }
            ],
        )
        self.stats.corrections += 1
        t = t + timedelta(days=self.rng.randrange(1, 3), hours=self.rng.randrange(0, 6))
        yield t
        ops.resubmit(app, citizen)
        t = self.working_slot(t, min_gap=timedelta(hours=self.rng.randrange(1, 8)))
        yield t
        return t

    def opinion(self, app: Application, *, late: bool, visits: int, refused: bool) -> tuple[int, list[str]]:
        r = self.rng.random()
        bad_chance = (
            0.06 + 0.15 * late + 0.1 * refused + 0.08 * (app.correction_count > 0) + 0.04 * max(0, visits - 1)
        )
        if r < bad_chance:
            level = self.rng.choice([1, 2, 2])
            pool = ["服务态度", "系统不好用", "其他", "办事指南不准确"]
            if late:
                pool += ["办理慢"] * 3
            if app.correction_count:
                pool += ["材料重复提交"] * 2 + ["办事指南不准确"]
            return level, sorted(set(self.rng.sample(pool, k=min(len(pool), self.rng.randrange(1, 3)))))
        level = self.rng.choices([5, 4, 3], [0.6, 0.3, 0.1])[0]
        return level, []

    # Main loop -----------------------------------------------------------------------------------

    def run(self) -> Stats:
        today = _local_date(self.now)
        first = today - timedelta(days=self.days - 1)
        queue: list[tuple[datetime, int, Iterator[datetime]]] = []
        for offset in range(self.days):
            d = first + timedelta(days=offset)
            weekend = not self.cal.is_working_day(d)
            n = max(0, round(self.per_day * (0.4 if weekend else 1.0) * self.rng.uniform(0.7, 1.3)))
            for _ in range(n):
                moment = _utc(d, self.rng.randrange(8, 22), self.rng.randrange(60))
                if moment >= self.now:
                    continue
                gen = self.life(moment)
                heapq.heappush(queue, (moment, next(self._seq), gen))
        session = db.session()
        event.listen(session, "transient_to_pending", self._track)
        try:
            self._loop(queue)
        finally:
            event.remove(session, "transient_to_pending", self._track)
        for start in range(0, len(self.app_ids), 500):
            chunk = self.app_ids[start : start + 500]
            for state, count in db.session.execute(
                select(Application.state, func.count())
                .where(Application.id.in_(chunk))
                .group_by(Application.state)
            ):
                self.stats.by_state[State(state).value] += count
        return self.stats

    def _loop(self, queue: list[tuple[datetime, int, Iterator[datetime]]]) -> None:
        """Run every step in time order; commit once per simulated week."""
        week: int | None = None
        while queue:
            moment, _n, gen = heapq.heappop(queue)
            if moment > self.now:
                continue  # the next step lies in the future: the application stays open
            this_week = _local_date(moment).toordinal() // 7
            if week is not None and this_week != week:
                commit()
            week = this_week
            upcoming = self.step(moment, gen)
            if upcoming is not None:
                heapq.heappush(queue, (upcoming, next(self._seq), gen))


def simulate(
    *,
    days: int,
    per_day: int,
    seed: int,
    now: datetime | None = None,
    echo: Callable[[str], None] = lambda _m: None,
) -> Stats:
    """Run a simulation in the current app context and commit it (see the module docstring)."""

    ensure_demo_accounts()
    ensure_demo_rules()
    commit()
    config = current_app.config
    saved = {k: config[k] for k in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM")}
    config.update(ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=8, ARGON2_PARALLELISM=1)
    try:
        sim = Simulation(days=days, per_day=per_day, seed=seed, now=now, echo=echo)
        stats = sim.run()
        audit.record(
            "demo.simulate",
            object_type="demo",
            details={"days": days, "per_day": per_day, "seed": seed, "submitted": stats.submitted},
        )
        commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        config.update(saved)
    return stats


@demo.command("simulate")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650), help="模拟最近多少天")
@click.option(
    "--per-day", default=10, show_default=True, type=click.IntRange(0, 10_000), help="每个工作日约多少件"
)
@click.option("--seed", default=1, show_default=True, type=int, help="随机种子")
@click.option("--if-empty", is_flag=True, help="已有任何申请时什么也不做（供 make run 首次启动使用）")
def simulate_command(days: int, per_day: int, seed: int, if_empty: bool) -> None:
    """Make a believable history of the last DAYS days with the real operations."""
    if if_empty and db.session.scalar(select(exists().where(Application.id.is_not(None)))):
        click.echo("已有办件数据，跳过模拟（--if-empty）。")
        return
    started = time.perf_counter()
    stats = simulate(days=days, per_day=per_day, seed=seed, echo=click.echo)
    click.echo(f"模拟最近 {days} 天（每个工作日约 {per_day} 件，种子 {seed}）：")
    for line in stats.lines():
        click.echo("  " + line)
    click.echo(f"用时 {time.perf_counter() - started:.1f} 秒。")
