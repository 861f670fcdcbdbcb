"""改进清单: what the applications say about each item's guide (read-only; plain SQL per signal).

Over a period [since, until):

- 补正 per document — correction requests (status events to ``correction_requested``, whose
  ``details.items`` name each document as ``target``) naming it, with the clerks' notes and the
  document verdicts' reasons as examples; a document that keeps being corrected is explained badly;
- bad ratings (不满意 / 非常不满意) per reason, with comments as examples;
- questions 智能咨询 could not answer, or answered with little evidence, whose best guess was the item;
- 容缺 documents most often deferred, and how many came late.

Before/after: the same correction figure per document over equal windows either side of the
item's last publish — requests naming the document ÷ applications submitted in the window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from applications.models import Application, ApplicationDocument, DeferredDocument, StatusEvent
from applications.ratings.models import BAD_UP_TO, Rating
from applications.workflow.states import State
from catalog.ask.models import AskQuestion, QuestionStatus
from catalog.ask.queries import questions_about
from catalog.models import ItemVersion, ServiceItem, VersionState
from core.clock import local_date
from core.db import db
from core.masking import mask_text

EXAMPLES = 3


@dataclass
class Figure:
    """One thing to fix: what, how often, examples, and where in the editor."""

    target: str
    count: int
    examples: list[tuple[str, int]] = field(default_factory=list)
    extra: int = 0  # late deliveries for a deferred document


@dataclass
class BeforeAfter:
    document: str
    before: float | None  # corrections per application, or None without applications
    after: float | None
    before_apps: int
    after_apps: int


@dataclass
class ItemFixes:
    code: str
    name: str
    corrections: list[Figure]
    ratings: list[Figure]
    questions: list[AskQuestion]
    deferred: list[Figure]
    published_at: datetime | None
    before_after: list[BeforeAfter]
    applications: int

    @property
    def total(self) -> int:
        return (
            sum(f.count for f in self.corrections)
            + sum(f.count for f in self.ratings)
            + sum(q.asked for q in self.questions)
            + sum(f.count for f in self.deferred)
        )


@dataclass
class RankRow:
    code: str
    name: str
    corrections: int = 0
    bad_ratings: int = 0
    questions: int = 0
    deferred: int = 0

    @property
    def total(self) -> int:
        return self.corrections + self.bad_ratings + self.questions + self.deferred


def _example_text(text: str) -> str:
    return mask_text(text.strip())[:80]


def _correction_targets(item_id: int, since: datetime, until: datetime) -> tuple[Counter, dict[str, Counter]]:
    rows = db.session.execute(
        select(StatusEvent.details)
        .join(Application, Application.id == StatusEvent.application_id)
        .where(
            Application.item_id == item_id,
            StatusEvent.to_state == State.CORRECTION_REQUESTED.value,
            StatusEvent.at >= since,
            StatusEvent.at < until,
        )
    ).scalars()
    counts: Counter[str] = Counter()
    notes: dict[str, Counter[str]] = defaultdict(Counter)
    for details in rows:
        for entry in (details or {}).get("items") or []:
            target = str(entry.get("target") or "").strip()
            if not target:
                continue
            counts[target] += 1
            note = str(entry.get("note") or "").strip()
            if note:
                notes[target][_example_text(note)] += 1
    return counts, notes


def _submitted(item_id: int, since: datetime, until: datetime) -> int:
    return (
        db.session.scalar(
            select(func.count(Application.id)).where(
                Application.item_id == item_id,
                Application.submitted_at >= since,
                Application.submitted_at < until,
            )
        )
        or 0
    )


def corrections(item_id: int, since: datetime, until: datetime) -> list[Figure]:
    """Documents named by correction requests, most often first, with the notes and verdict reasons."""
    counts, notes = _correction_targets(item_id, since, until)
    reasons = db.session.execute(
        select(ApplicationDocument.requirement_name, ApplicationDocument.verdict_reason, func.count())
        .join(Application, Application.id == ApplicationDocument.application_id)
        .where(
            Application.item_id == item_id,
            ApplicationDocument.verdict == "correct",
            ApplicationDocument.verdict_at >= since,
            ApplicationDocument.verdict_at < until,
        )
        .group_by(ApplicationDocument.requirement_name, ApplicationDocument.verdict_reason)
    ).all()
    for name, reason, n in reasons:
        if reason:
            notes[name][_example_text(reason)] += n
        counts.setdefault(name, 0)
    out = [Figure(t, c, notes[t].most_common(EXAMPLES)) for t, c in counts.items()]
    return sorted(out, key=lambda f: (-f.count, -sum(n for _e, n in f.examples), f.target))


def bad_ratings(item_id: int, since: datetime, until: datetime) -> list[Figure]:
    rows = db.session.execute(
        select(Rating.reasons, Rating.comment).where(
            Rating.item_id == item_id,
            Rating.level <= int(BAD_UP_TO),
            Rating.created_at >= since,
            Rating.created_at < until,
        )
    ).all()
    counts: Counter[str] = Counter()
    comments: dict[str, Counter[str]] = defaultdict(Counter)
    for reasons, comment in rows:
        for reason in reasons or ["其他"]:
            counts[reason] += 1
            if comment and comment.strip():
                comments[reason][_example_text(comment)] += 1
    return [Figure(r, c, comments[r].most_common(EXAMPLES)) for r, c in counts.most_common()]


def deferred(item_id: int, since: datetime, until: datetime) -> list[Figure]:
    rows = db.session.execute(
        select(DeferredDocument.requirement_name, DeferredDocument.due_on, DeferredDocument.fulfilled_at)
        .join(Application, Application.id == DeferredDocument.application_id)
        .where(
            Application.item_id == item_id,
            DeferredDocument.created_at >= since,
            DeferredDocument.created_at < until,
        )
    ).all()
    counts: Counter[str] = Counter()
    late: Counter[str] = Counter()
    for name, due_on, fulfilled_at in rows:
        counts[name] += 1
        if fulfilled_at is None or local_date(fulfilled_at) > due_on:
            late[name] += 1
    return [Figure(n, c, extra=late[n]) for n, c in counts.most_common()]


def last_published_at(item_id: int) -> datetime | None:
    return db.session.scalar(
        select(ItemVersion.published_at).where(
            ItemVersion.item_id == item_id, ItemVersion.state == VersionState.PUBLISHED
        )
    )


def before_after(item_id: int, published_at: datetime, days: int, now: datetime) -> list[BeforeAfter]:
    """The correction figure per document over ``days`` before and after ``published_at`` (the
    after-window ends now at the latest)."""
    window = timedelta(days=days)
    b_since, b_until = published_at - window, published_at
    a_since, a_until = published_at, min(published_at + window, now)
    before, _n = _correction_targets(item_id, b_since, b_until)
    after, _n = _correction_targets(item_id, a_since, a_until)
    b_apps, a_apps = _submitted(item_id, b_since, b_until), _submitted(item_id, a_since, a_until)
    out = []
    for doc in sorted(set(before) | set(after), key=lambda d: (-(before[d] + after[d]), d)):
        out.append(
            BeforeAfter(
                doc,
                before[doc] / b_apps if b_apps else None,
                after[doc] / a_apps if a_apps else None,
                b_apps,
                a_apps,
            )
        )
    return out


def item_fixes(item: ServiceItem, name: str, since: datetime, until: datetime, now: datetime) -> ItemFixes:
    published = last_published_at(item.id)
    days = max(1, (until - since).days)
    return ItemFixes(
        code=item.code,
        name=name,
        corrections=corrections(item.id, since, until),
        ratings=bad_ratings(item.id, since, until),
        questions=questions_about(item.code, since, until),
        deferred=deferred(item.id, since, until),
        published_at=published,
        before_after=before_after(item.id, published, days, now) if published else [],
        applications=_submitted(item.id, since, until),
    )


def ranking(since: datetime, until: datetime, names: dict[str, str], limit: int = 100) -> list[RankRow]:
    """Items with anything to fix in the period, the most signals first (one grouped query per signal)."""
    rows: dict[int, RankRow] = {}
    codes = dict(db.session.execute(select(ServiceItem.id, ServiceItem.code)).all())

    def row(item_id: int) -> RankRow:
        if item_id not in rows:
            code = codes.get(item_id, "?")
            rows[item_id] = RankRow(code, names.get(code, code))
        return rows[item_id]

    for item_id, n in db.session.execute(
        select(Application.item_id, func.count(StatusEvent.id))
        .join(Application, Application.id == StatusEvent.application_id)
        .where(
            StatusEvent.to_state == State.CORRECTION_REQUESTED.value,
            StatusEvent.at >= since,
            StatusEvent.at < until,
        )
        .group_by(Application.item_id)
    ):
        row(item_id).corrections = n
    for item_id, n in db.session.execute(
        select(Rating.item_id, func.count(Rating.id))
        .where(Rating.level <= int(BAD_UP_TO), Rating.created_at >= since, Rating.created_at < until)
        .group_by(Rating.item_id)
    ):
        row(item_id).bad_ratings = n
    for item_id, n in db.session.execute(
        select(Application.item_id, func.count(DeferredDocument.id))
        .join(Application, Application.id == DeferredDocument.application_id)
        .where(DeferredDocument.created_at >= since, DeferredDocument.created_at < until)
        .group_by(Application.item_id)
    ):
        row(item_id).deferred = n
    by_code = {code: item_id for item_id, code in codes.items()}
    for code, n in db.session.execute(
        select(AskQuestion.best_code, func.sum(AskQuestion.asked))
        .where(
            and_(
                AskQuestion.best_code.is_not(None),
                AskQuestion.status == QuestionStatus.OPEN,
                AskQuestion.last_asked_at >= since,
                AskQuestion.last_asked_at < until,
            )
        )
        .group_by(AskQuestion.best_code)
    ):
        if code in by_code:
            row(by_code[code]).questions = int(n or 0)
    ranked = sorted(rows.values(), key=lambda r: (-r.total, r.code))
    return [r for r in ranked if r.total > 0][:limit]
