"""Write use cases of 智能咨询: keep a question it could not answer; an admin adds one to an item as
an alias or FAQ (into the item's draft, through the catalog editor's operations) or dismisses it.
Plain arguments in, models out; ``flush()``, never commit."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from catalog.admin import operations as catalog_ops
from catalog.ask.models import AskQuestion, QuestionKind, QuestionStatus
from catalog.ask.privacy import has_placeholder, scrub
from catalog.search import normalise
from core import audit
from core.db import db, utcnow
from core.errors import DomainError, FieldError, NotFound
from core.i18n import N_

ALIAS_MAX = 40


def record_question(
    question: str,
    *,
    kind: QuestionKind,
    best_code: str | None,
    best_score: float,
    now: datetime | None = None,
) -> None:
    """Count ``question`` (personal data taken out first) among the unanswered or low-confidence
    ones: one row per distinct text, ``asked`` + 1 on every repeat (one statement: two workers
    counting the same question at once both count). A question answered later with confidence keeps
    its row; an admin decides."""
    text = scrub(question.strip())[:200]
    key = normalise(text) or text
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    now = now or utcnow()
    values = {
        "text": text,
        "digest": digest,
        "kind": kind,
        "asked": 1,
        "best_code": best_code,
        "best_score": round(best_score, 3),
        "status": QuestionStatus.OPEN,
        "first_asked_at": now,
        "last_asked_at": now,
    }
    table = AskQuestion.__table__
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values(**{k: getattr(v, "value", v) for k, v in values.items()})
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.digest],
        set_={
            "asked": table.c.asked + 1,
            "last_asked_at": now,
            "best_code": best_code,
            "best_score": round(best_score, 3),
        },
    )
    db.session.execute(stmt)


def get_question(question_id: int) -> AskQuestion:
    """Raises :class:`NotFound` for an unknown id."""
    row = db.session.get(AskQuestion, question_id)
    if row is None:
        raise NotFound("没有这条问题")
    return row


def _close(row: AskQuestion, **values: object) -> None:
    """Close an open question with one conditional UPDATE: of two admins pressing at once, one wins
    and the other is told (:class:`DomainError`)."""
    done = db.session.execute(
        update(AskQuestion)
        .where(AskQuestion.id == row.id, AskQuestion.status == QuestionStatus.OPEN)
        .values(resolved_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise DomainError(N_("这条问题已由其他管理员处理"))


def resolve(row: AskQuestion, *, code: str, as_: str, answer: str = "", actor_id: int | None = None) -> str:
    """Add the question to item ``code``'s draft as an alias (``as_ == "alias"``) or as an FAQ
    question with ``answer`` (``"faq"``), through the catalog editor's :func:`update_item` (which
    creates the draft when there is none and audits the change); the question is marked resolved
    and audited as ``ask.question_resolve``. Nothing is public until the draft is published.

    Raises :class:`FieldError` for an unknown item, an alias that holds a personal-data placeholder
    or is too long, an FAQ without an answer; :class:`DomainError` when already handled."""
    if row.status != QuestionStatus.OPEN:
        raise DomainError(N_("这条问题已由其他管理员处理"))
    item = catalog_ops.get_item(code.strip())
    if item is None:
        raise FieldError("code", N_("没有这个事项编码"))
    text = row.text.strip().rstrip("？?。.!！")
    catalog_ops.lock_for_edit(item, None)
    draft = catalog_ops.ensure_draft(item)
    if as_ == "alias":
        if has_placeholder(text):
            raise FieldError("code", N_("问题中含有已隐去的个人信息，不能作为别名，请改为常见问题"))
        if len(text) > ALIAS_MAX:
            raise FieldError("code", N_("问题太长，不适合作为别名（最多40个字），请改为常见问题"))
        aliases = list(draft.aliases or [])
        if text not in aliases:
            aliases.append(text)
        catalog_ops.update_item(item, {"aliases": aliases})
    elif as_ == "faq":
        answer = answer.strip()
        if not answer:
            raise FieldError("answer", N_("请填写这条常见问题的回答"))
        faq = [dict(f) for f in draft.faq or []]
        faq.append({"q": text if text.endswith("？") else text + "？", "a": answer[:500]})
        catalog_ops.update_item(item, {"faq": faq})
    else:
        raise FieldError("as_", N_("请选择加为别名还是常见问题"))
    _close(
        row, status=QuestionStatus.RESOLVED, resolved_code=item.code, resolved_as=as_, resolved_by_id=actor_id
    )
    audit.record(
        "ask.question_resolve",
        object_type="ask_question",
        object_id=row.id,
        details={"code": item.code, "as": as_, "text": text},
    )
    db.session.flush()
    return item.code


def dismiss(row: AskQuestion) -> None:
    """Take a question off the list (not about our items, nonsense). Audited ``ask.question_dismiss``."""
    _close(row, status=QuestionStatus.DISMISSED)
    audit.record(
        "ask.question_dismiss", object_type="ask_question", object_id=row.id, details={"text": row.text}
    )
