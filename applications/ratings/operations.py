"""好差评 use cases: invite after completion, rate once, open and close the follow-up of a bad rating.

Plain arguments in, models out, domain errors raised; ``flush()``, never ``commit()``.

**The invitation is called where completion happens**: the clerk's approve and refuse call
:func:`invite_rating` in the same transaction as the decision, so reading them tells the whole story.
The invitation is idempotent (one ``rating_invite`` message per application). 已送达 (delivered)
follows approved and is not a second invitation.

**One rating per application** is the ``ratings.application_id`` unique constraint; the insert runs in
a savepoint and a losing concurrent insert becomes :class:`AlreadyRated` with a friendly message.

**Follow-ups**: a rating of 不满意 or 非常不满意 opens a :class:`RatingFollowUp` for the application's
(accepting) unit, due 15 Chinese working days after the rating's local date (《政务服务评价工作
规范》/国办发〔2019〕51号: 差评 are verified, rectified and answered within 15 working days), and
notifies the unit's leads. The lead records the outcome (required) and closes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.exc import IntegrityError

from applications.models import Application
from applications.notify.send import send_to
from applications.ratings.models import BAD_UP_TO, FollowUpStatus, Rating, RatingFollowUp, RatingLevel
from applications.stats import rollup
from applications.workflow.deadlines import add_working_days, local_date
from applications.workflow.states import COMPLETED, State
from auth.models import Role, Unit, User, user_units
from core import audit
from core.db import db, utcnow
from core.errors import DomainError, FieldError, NotFound
from core.i18n import N_
from core.outbox import OutboxMessage
from core.workdays.models import load_calendar

#: Level → label, best first (the order of the form).
LEVEL_LABELS: dict[int, str] = {
    RatingLevel.VERY_SATISFIED: N_("非常满意"),
    RatingLevel.SATISFIED: N_("满意"),
    RatingLevel.BASIC: N_("基本满意"),
    RatingLevel.DISSATISFIED: N_("不满意"),
    RatingLevel.VERY_DISSATISFIED: N_("非常不满意"),
}
#: Reasons a citizen may tick (stored as these strings).
REASONS: tuple[str, ...] = ("办事指南不准确", "材料重复提交", "办理慢", "服务态度", "系统不好用", "其他")
COMMENT_MAX = 500
#: Levels that open a follow-up (差评).
BAD_LEVELS = frozenset(level for level in RatingLevel if level <= BAD_UP_TO)
FOLLOW_UP_WORKING_DAYS = 15
INVITE_KIND = "rating_invite"


class AlreadyRated(DomainError):
    """The application has a rating already (a second attempt, a double click or a race)."""

    def __init__(self) -> None:
        super().__init__(N_("您已评价过该办件，感谢您的反馈。每件办件只能评价一次。"))


# Invitation -------------------------------------------------------------------------------------


def invite_rating(app: Application, *, at: datetime | None = None) -> OutboxMessage | None:
    """Invite the applicant to rate a completed application: an in-site message and an SMS.

    Idempotent: returns None when this application already has an invitation (in the database or
    pending in this session). Raises :class:`DomainError` if the application is not completed.
    """
    if State(app.state) not in COMPLETED:
        raise DomainError(N_("办件办结后才能邀请评价。"))
    if db.session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.application_id == app.id, OutboxMessage.kind == INVITE_KIND
        )
    ):
        return None
    msg = send_to(
        app.applicant_id, INVITE_KIND, application_id=app.id, created_at=at, reference=app.reference
    )
    audit.record(
        "rating.invite", object_type="application", object_id=app.id, details={"reference": app.reference}
    )
    return msg


# Rating -----------------------------------------------------------------------------------------


def rateable_application(user: User, application_id: int) -> Application:
    """The user's own completed application, or :class:`NotFound` (someone else's, a draft, one still
    in progress, withdrawn or not accepted all answer 404)."""
    app = db.session.scalar(
        select(Application).where(
            Application.id == application_id,
            Application.applicant_id == user.id,
            Application.state.in_([s.value for s in COMPLETED]),
        )
    )
    if app is None:
        raise NotFound()
    return app


def rating_for(app: Application) -> Rating | None:
    return db.session.scalar(select(Rating).where(Rating.application_id == app.id))


def rate(
    app: Application,
    user: User,
    *,
    level: int,
    reasons: Sequence[str] = (),
    comment: str = "",
    at: datetime | None = None,
) -> Rating:
    """Record the applicant's one rating of a completed application; a bad one opens a follow-up.

    Raises :class:`NotFound` for someone else's or an incomplete application, :class:`FieldError`
    for a level or reason outside the lists or a comment over 500 characters, and
    :class:`AlreadyRated` when a rating exists (also when a concurrent one won the race).
    """
    if app.applicant_id != user.id or State(app.state) not in COMPLETED:
        raise NotFound()
    if level not in LEVEL_LABELS:
        raise FieldError("level", N_("请选择满意程度"))
    chosen = [r for r in REASONS if r in set(reasons)]
    if len(chosen) != len(set(reasons)):
        raise FieldError("reasons", N_("请从列表中选择原因"))
    comment = (comment or "").replace("\x00", "").strip()
    if len(comment) > COMMENT_MAX:
        raise FieldError("comment", N_("意见建议最多500字"))
    if rating_for(app) is not None:
        raise AlreadyRated()
    when = at or utcnow()
    rating = Rating(
        application_id=app.id,
        user_id=user.id,
        unit_id=app.unit_id,
        item_id=app.item_id,
        level=int(level),
        reasons=chosen,
        comment=comment,
        created_at=when,
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
            db.session.flush()
    except IntegrityError as exc:
        raise AlreadyRated() from exc
    rollup.changing(app)  # 满意度 and the 改革清单's reasons are in the statistics
    audit.record(
        "rating.create",
        object_type="application",
        object_id=app.id,
        details={"rating": rating.id, "level": rating.level, "reasons": chosen},
        actor=user,
    )
    if rating.level in BAD_LEVELS:
        open_follow_up(rating, at=when)
    return rating


# Follow-ups -------------------------------------------------------------------------------------


def follow_up_due(created: datetime) -> date:
    """15 Chinese working days after the local date of ``created`` (holidays and 调休 counted)."""

    return add_working_days(load_calendar(), local_date(created), FOLLOW_UP_WORKING_DAYS)


def unit_leads(unit_id: int | None) -> list[User]:
    if unit_id is None:
        return []
    return list(
        db.session.scalars(
            select(User)
            .join(user_units, user_units.c.user_id == User.id)
            .where(user_units.c.unit_id == unit_id, User.role == Role.UNIT_LEAD, User.active.is_(True))
            .order_by(User.id)
        )
    )


def open_follow_up(rating: Rating, *, at: datetime | None = None) -> RatingFollowUp:
    """Open the follow-up of a bad rating for its unit and notify the unit's leads (in-site + SMS)."""
    when = at or utcnow()
    follow_up = RatingFollowUp(
        rating_id=rating.id,
        unit_id=rating.unit_id,
        status=FollowUpStatus.OPEN,
        due_on=follow_up_due(when),
        created_at=when,
    )
    db.session.add(follow_up)
    db.session.flush()
    app = db.session.get(Application, rating.application_id)
    reference = app.reference if app else ""
    leads = unit_leads(rating.unit_id)
    for lead in leads:
        send_to(
            lead.id,
            "rating_follow_up",
            application_id=rating.application_id,
            created_at=when,
            reference=reference,
            level=LEVEL_LABELS[rating.level],
            due=follow_up.due_on,
        )
    audit.record(
        "rating.follow_up_open",
        object_type="rating_follow_up",
        object_id=follow_up.id,
        details={
            "rating": rating.id,
            "application": rating.application_id,
            "unit": rating.unit_id,
            "due_on": follow_up.due_on.isoformat(),
            "notified": [u.id for u in leads],
        },
    )
    return follow_up


def lead_unit_ids(user: User) -> list[int]:
    return [u.id for u in user.units] if Role(user.role) == Role.UNIT_LEAD else []


def follow_ups_for(
    user: User, *, today: date
) -> list[tuple[RatingFollowUp, Rating, Application, Unit | None]]:
    """The follow-ups of the lead's units (filtered in SQL): open first, by due date; overdue first
    among the open ones since they have the earliest dates; closed ones after, latest first."""
    ids = lead_unit_ids(user) or [-1]
    rows = db.session.execute(
        select(RatingFollowUp, Rating, Application, Unit)
        .join(Rating, Rating.id == RatingFollowUp.rating_id)
        .join(Application, Application.id == Rating.application_id)
        .outerjoin(Unit, Unit.id == RatingFollowUp.unit_id)
        .where(RatingFollowUp.unit_id.in_(ids))
        .order_by(
            case((RatingFollowUp.status == FollowUpStatus.OPEN, 0), else_=1),
            case(
                (RatingFollowUp.status == FollowUpStatus.OPEN, RatingFollowUp.due_on),
                else_=None,
            ),
            RatingFollowUp.closed_at.desc(),
            RatingFollowUp.id,
        )
        .limit(500)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def open_follow_up_counts(user: User, *, today: date) -> tuple[int, int]:
    """(open, overdue) 差评 follow-ups of the lead's units, for the lead's 工作台."""
    ids = lead_unit_ids(user) or [-1]
    is_open = and_(RatingFollowUp.unit_id.in_(ids), RatingFollowUp.status == FollowUpStatus.OPEN)
    total, late = db.session.execute(
        select(func.count(), func.count().filter(RatingFollowUp.due_on < today)).where(is_open)
    ).one()
    return int(total or 0), int(late or 0)


def get_follow_up_for_lead(user: User, follow_up_id: int) -> RatingFollowUp:
    """Load, then authorise: another unit's follow-up (or a non-lead) answers :class:`NotFound`."""
    ids = lead_unit_ids(user) or [-1]
    follow_up = db.session.scalar(
        select(RatingFollowUp).where(RatingFollowUp.id == follow_up_id, RatingFollowUp.unit_id.in_(ids))
    )
    if follow_up is None:
        raise NotFound()
    return follow_up


def close_follow_up(
    follow_up: RatingFollowUp, lead: User, *, outcome: str, at: datetime | None = None
) -> RatingFollowUp:
    """Record the outcome (required, ≤ 2000 characters) and close. Raises :class:`FieldError` without
    an outcome, :class:`NotFound` for a follow-up outside the lead's units, :class:`DomainError` when
    it is closed already."""
    if follow_up.unit_id not in lead_unit_ids(lead):
        raise NotFound()
    outcome = (outcome or "").replace("\x00", "").strip()
    if not outcome:
        raise FieldError("outcome", N_("请填写核实整改情况"))
    if len(outcome) > 2000:
        raise FieldError("outcome", N_("核实整改情况最多2000字"))
    if follow_up.status == FollowUpStatus.CLOSED:
        raise DomainError(N_("该差评跟进已办结。"))
    follow_up.status = FollowUpStatus.CLOSED
    follow_up.outcome = outcome
    follow_up.closed_by_id = lead.id
    follow_up.closed_at = at or utcnow()
    db.session.flush()
    audit.record(
        "rating.follow_up_close",
        object_type="rating_follow_up",
        object_id=follow_up.id,
        details={"rating": follow_up.rating_id, "outcome": outcome[:200]},
        actor=lead,
    )
    return follow_up


def has_invitation(application_ids: Iterable[int]) -> set[int]:
    """Which of these applications have a rating invitation (for lists)."""
    ids = list(application_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(OutboxMessage.application_id).where(
                OutboxMessage.application_id.in_(ids), OutboxMessage.kind == INVITE_KIND
            )
        )
    )


def is_rated(app: Application) -> bool:
    return bool(db.session.scalar(select(exists().where(Rating.application_id == app.id))))
