"""/ask (the answer card), GET /api/v1/ask (the same as JSON) and /admin/ask/questions (the questions
we could not answer, with one-click "add as alias/FAQ to item X")."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from auth.models import Role
from auth.policies import role_required
from catalog.ask import operations as ops
from catalog.ask import schemas
from catalog.ask.engine import MAX_QUESTION, Answer, AskEngine, engine_for
from catalog.ask.forms import DismissForm, ResolveForm
from catalog.ask.models import QuestionKind
from catalog.ask.queries import open_questions
from catalog.guide import Guide, build_guide
from catalog.queries import ItemView, catalog
from core import api
from core.errors import NotFound
from core.extensions import limiter
from core.transaction import transaction

log = logging.getLogger(__name__)
bp = Blueprint("ask", __name__)
admin_bp = Blueprint("ask_admin", __name__, url_prefix="/admin/ask")
admin_only = role_required(Role.ADMIN)
#: per address: plenty for a person rephrasing, a wall for a script filling the unanswered list
RATE = "60 per minute; 600 per hour"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadQuestion(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_question(raw: str | None) -> str:
    """The question as typed (trimmed); raises :class:`BadQuestion` with a machine code and a
    Chinese message for an empty one, a NUL or other control character, or more than 200 characters."""
    text = (raw or "").strip()
    if not text:
        raise BadQuestion("empty_question", _("请输入您想咨询的问题"))
    if _CONTROL.search(text):
        raise BadQuestion("invalid_characters", _("问题中含有无法识别的字符，请重新输入"))
    if len(text) > MAX_QUESTION:
        raise BadQuestion("question_too_long", _("问题不能超过%(n)s个字，请简要描述", n=MAX_QUESTION))
    return text


def _given_answers() -> dict[str, str]:
    """Answers to a clarifying question: ``s_<key>=<value>`` (checked against the item later)."""
    return {
        k[2:]: v[:40]
        for k, v in request.args.items()
        if k.startswith("s_") and len(k) <= 42 and not _CONTROL.search(k + v)
    }


def _log_if_unsure(engine: AskEngine, question: str, answer: Answer) -> None:
    """Keep a question we could not answer (or answered with little evidence) for the admins. A
    failure to keep it never costs the citizen the answer."""
    best = answer.best
    if answer.confident and best is not None and best.score >= engine.SURE:
        return
    kind = QuestionKind.LOW_CONFIDENCE if answer.confident else QuestionKind.UNANSWERED
    code, score = (best.code, best.score) if best is not None else (answer.guess or (None, 0.0))
    try:
        with transaction():
            ops.record_question(question, kind=kind, best_code=code, best_score=score)
    except SQLAlchemyError:
        log.warning("ask: could not keep an unanswered question", exc_info=True)


def consult(
    question: str, item_code: str | None, given: dict[str, str]
) -> tuple[Answer, ItemView | None, Guide | None]:
    snap = catalog()
    engine = engine_for(snap)
    code = item_code if item_code in snap.items else None
    answer = engine.ask(question, item_code=code, answers=given)
    if code is None and not given:
        _log_if_unsure(engine, question, answer)
    if not answer.confident or answer.best is None:
        return answer, None, None
    item = snap.items[answer.best.code]
    valid = {s.key: given[s.key] for s in item.situations if s.option(given.get(s.key)) is not None}
    guide = build_guide(item, {**answer.best.situations, **valid})
    return answer, item, guide


def _doc(d) -> dict[str, Any]:
    return {
        "name": d.name,
        "form": d.form,
        "copies": d.copies,
        "requirement": d.requirement,
        "notes": d.notes,
    }


def answer_payload(answer: Answer, item: ItemView | None, guide: Guide | None) -> dict[str, Any]:
    """The JSON of ``GET /api/v1/ask`` (the page shows the same)."""
    card = None
    if item is not None and guide is not None:
        inferred = answer.best.situations if answer.best else {}
        card = {
            "code": item.code,
            "name": item.name,
            "url": url_for("catalog.item", code=item.code, **guide.answers),
            "situations": [
                {
                    "key": s.key,
                    "question": s.question,
                    "value": guide.answers[s.key],
                    "label": label,
                    "inferred": s.key in inferred,
                }
                for s, label in guide.chosen
            ],
            "documents": [_doc(d) for d in guide.to_bring],
            "fetched": [d.name for d in guide.fetched],
            "fee": float(guide.fee),
            "fee_note": item.fee_note,
            "promised_days": item.promised_days,
            "day_kind": item.day_kind,
            "instant": item.instant,
            "visits": item.visits,
            "visit_reason": item.visit_reason,
            "counters": item.counters,
            "hours": item.hours,
            "phone": item.phone,
            "apply_url": url_for("applications.start", code=item.code, **guide.answers)
            if item.online_depth >= 3
            else None,
            "book_url": url_for("appointments.book", code=item.code) if item.visits else None,
            "notice_url": url_for("catalog.notice", code=item.code, **guide.answers),
        }
    return {
        "question": answer.question,
        "items": [
            {"code": c.code, "name": c.name, "score": c.score, "situations": c.situations}
            for c in answer.candidates
        ],
        "answer": card,
        "clarify": answer.clarify,
    }


@bp.get("/ask")
@limiter.limit(RATE)
def ask():
    raw = request.args.get("q")
    if raw is None or not raw.strip():
        return render_template("ask/ask.html", q=raw or "", error=None, result=None)
    try:
        question = parse_question(raw)
    except BadQuestion as exc:
        return render_template("ask/ask.html", q=raw.replace("\x00", ""), error=exc.message, result=None), 422
    answer, item, guide = consult(question, request.args.get("item"), _given_answers())
    return render_template(
        "ask/ask.html",
        q=question,
        error=None,
        result=answer,
        item=item,
        guide=guide,
        payload=answer_payload(answer, item, guide),
    )


@bp.get("/api/v1/ask")
@api.operation(
    summary="智能咨询：用自己的话问，得到事项、材料和下一步",
    description=(
        "返回匹配的事项（含从问题中推断的情形回答）、最匹配事项的答复卡片，以及在问题不明确时的一个澄清问题。"
        "附加参数 s_<情形键>=<选项值> 是对澄清问题的回答。"
    ),
    tags=("ask",),
    query=schemas.AskQuery,
    response=schemas.AskOut,
    limit=RATE,
)
def ask_api(query: schemas.AskQuery):
    answer, item, guide = consult(query.q, query.item, _given_answers())
    response = api.json_response(schemas.AskOut.model_validate(answer_payload(answer, item, guide)))
    response.headers["Cache-Control"] = "no-store"
    return response


# Admins: the questions we could not answer -------------------------------------------------------


def _question_or_404(question_id: int):
    try:
        return ops.get_question(question_id)
    except NotFound:
        abort(404)


def _list_page(forms: dict[int, ResolveForm] | None = None, status: int = 200):
    rows = open_questions()
    forms = forms or {}
    for row in rows:
        if row.id not in forms:
            form = ResolveForm(prefix=f"q{row.id}", formdata=None)
            form.code.data = row.best_code or ""
            forms[row.id] = form
    snap = catalog()
    return render_template(
        "ask/admin_questions.html", rows=rows, forms=forms, dismiss=DismissForm(), snap=snap
    ), status


@admin_bp.get("/questions")
@admin_only
def questions():
    return _list_page()


@admin_bp.post("/questions/<int:question_id>/resolve")
@admin_only
def resolve(question_id: int):
    row = _question_or_404(question_id)
    form = ResolveForm(prefix=f"q{row.id}")
    if form.validate_on_submit():
        with transaction(form) as tx:
            code = ops.resolve(
                row,
                code=form.code.data,
                as_=form.as_.data,
                answer=form.answer.data or "",
                actor_id=current_user.id,
            )
        if tx.ok:
            flash(
                _(
                    "已加入事项 %(code)s 的草稿；在事项编辑页核对并发布后，群众即可用这句话找到它。",
                    code=code,
                ),
                "success",
            )
            return redirect(url_for("catalog_admin.edit", code=code))
    return _list_page({row.id: form}, 422)


@admin_bp.post("/questions/<int:question_id>/dismiss")
@admin_only
def dismiss(question_id: int):
    row = _question_or_404(question_id)
    form = DismissForm()
    if form.validate_on_submit():
        with transaction() as tx:
            ops.dismiss(row)
        if tx.ok:
            flash(_("已从列表中移除。"), "success")
        else:
            flash(tx.message, "danger")
        return redirect(url_for("ask_admin.questions"))
    return _list_page(status=422)
