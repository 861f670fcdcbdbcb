"""The citizen's write use cases on a submitted 一件事: answering the correction requests of several
units on one page (each item answered through :func:`applications.submission.operations.
answer_correction`, all or nothing) and the bundle's one 好差评. Operations: flush, never commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import update

from applications.bundles.models import BundleApplication, BundleState
from applications.documents.uploads import CleanFile
from applications.models import Application
from applications.ratings.operations import LEVEL_LABELS
from applications.submission import operations as ops
from applications.workflow.states import State
from auth.models import User
from catalog.guide import build_guide
from core import audit
from core.db import db, utcnow
from core.errors import DomainError, FieldError
from core.i18n import N_
from core.storage import Storage

COMMENT_MAX = 500


# One page for several correction requests --------------------------------------------------------


@dataclass
class ItemAnswer:
    """What the citizen gave for one application's correction: new files by document position and
    written replies by the ask's target (a field's new value or a reply to anything else)."""

    files: dict[int, CleanFile] = field(default_factory=dict)
    replies: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.files and not any(v.strip() for v in self.replies.values())


class CorrectionsRefused(DomainError):
    """At least one item's answer is incomplete or refused; ``problems`` maps an application id to
    messages by the ask's target (a document name, a field label…). Nothing was saved."""

    def __init__(self, problems: dict[int, dict[str, str]]) -> None:
        super().__init__(N_("补正还不完整，请按各事项的提示补充后再提交，已填写的内容已保留。"))
        self.problems = problems


class NothingAnswered(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("您还没有填写或上传任何补正内容，请逐项补充后再提交。"))


def correcting(bundle: BundleApplication) -> list[Application]:
    """The bundle's applications now waiting for the citizen's correction, in the bundle's order."""
    ids = [p.application_id for p in bundle.parts if p.application_id]
    apps = {a.id: a for a in (db.session.get(Application, i) for i in ids) if a is not None}
    return [apps[i] for i in ids if i in apps and apps[i].state == State.CORRECTION_REQUESTED]


def answer_corrections(
    bundle: BundleApplication, actor: User, answers: Mapping[int, ItemAnswer], storage: Storage
) -> list[Application]:
    """Answer every open correction of the bundle at once: each item's files are attached and its
    answer resubmitted through the item's own operation (same rules as answering it alone). Raises
    :class:`NothingAnswered` when nothing at all was given and :class:`CorrectionsRefused` with every
    item's problems when any item is incomplete — the caller's transaction then rolls back, so no
    item is resubmitted and no file kept. Returns the applications resubmitted."""
    waiting = correcting(bundle)
    if not waiting or all(answers.get(a.id, ItemAnswer()).empty for a in waiting):
        raise NothingAnswered()
    problems: dict[int, dict[str, str]] = {}
    for app in waiting:
        given = answers.get(app.id, ItemAnswer())
        item = ops.pinned_item(app)
        guide = build_guide(item, app.answers or {})
        asks = ops.correction_asks(app, guide)
        names = {a.position: a.target for a in asks if a.kind == "document"}
        mine: dict[str, str] = {}
        for position, clean in given.files.items():
            try:
                ops.attach_document(app, position, clean, storage, item=item)
            except DomainError as exc:
                mine[names.get(position, str(position))] = str(exc)
        if mine:
            problems[app.id] = mine
            continue
        try:
            ops.answer_correction(app, actor, guide, given.replies)
        except ops.IncompleteCorrection as exc:
            problems[app.id] = {
                ask.target: N_("请上传补正材料") if ask.kind == "document" else N_("请填写补正内容")
                for ask in exc.missing
            }
    if problems:
        raise CorrectionsRefused(problems)
    audit.record(
        "bundle.corrections_answered",
        object_type="bundle_application",
        object_id=bundle.id,
        details={"reference": bundle.reference, "applications": [a.reference for a in waiting]},
    )
    return waiting


# The bundle's 好差评 -------------------------------------------------------------------------------


class AlreadyRated(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("您已评价过该一件事，感谢您的反馈。"))


class NotRateable(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("全部事项办结后才能评价该一件事。"))


def rate_bundle(bundle: BundleApplication, actor: User, *, level: int, comment: str = "") -> None:
    """One 好差评 for the whole bundle, once (a conditional update: two tabs make one rating), only
    when every part is done. Raises :class:`NotRateable`, :class:`AlreadyRated` or
    :class:`FieldError` (level, comment). Audited; each item keeps its own rating page."""
    if bundle.state != BundleState.COMPLETED:
        raise NotRateable()
    if bundle.rated_at is not None:
        raise AlreadyRated()
    if level not in LEVEL_LABELS:
        raise FieldError("level", N_("请选择满意程度"))
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise FieldError("comment", N_("意见建议最多500字"))
    now = utcnow()
    result = db.session.execute(
        update(BundleApplication)
        .where(BundleApplication.id == bundle.id, BundleApplication.rated_at.is_(None))
        .values(rating_level=level, rating_comment=comment, rated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlreadyRated()
    db.session.refresh(bundle)
    audit.record(
        "bundle.rate",
        object_type="bundle_application",
        object_id=bundle.id,
        details={"reference": bundle.reference, "level": level},
        actor=actor,
    )
