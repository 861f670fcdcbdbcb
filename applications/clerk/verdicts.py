"""The clerk's check of each document (核验通过 / 需补正 with a reason), what it does to the citizen's
wallet (我的材料), and the preset 需补正 reasons admins keep.

- A verdict is recorded on one :class:`ApplicationDocument` by the clerk who holds the application,
  while it is being examined (submitted, resubmitted or accepted). 核验通过 raises the wallet copy of
  the file to trust level B (checked by a clerk; never lowers A); changing it back to 需补正 takes the
  B away again.
- The documents marked 需补正 pre-fill the one-time correction request (:func:`correction_prefill`).
- When a correction request goes out, the wallet copy of every document it names is marked rejected
  (:func:`reject_corrected_in_wallet`): it stays listed in 我的材料 with the reason but is never offered
  for reuse again. The corrected upload goes into the wallet when the citizen resubmits.

Operations flush, never commit; each change writes an audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from applications.models import (
    Application,
    ApplicationDocument,
    CorrectionReason,
    TrustLevel,
    WalletDocument,
)
from applications.submission.pinned import pinned_item
from applications.workflow.deadlines import counting_calendar
from applications.workflow.states import State
from auth.models import User
from core import audit
from core.db import db, utcnow
from core.errors import DomainError, FieldError, NotFound
from core.i18n import N_
from core.workdays.models import load_calendar

VERDICT_LABELS = {"ok": N_("核验通过"), "correct": N_("需补正")}
#: States in which the documents are being examined (after 受理 the clerk may still check them).
VERDICT_STATES = (State.SUBMITTED, State.RESUBMITTED, State.ACCEPTED)


class NotHolder(DomainError):
    """Only the clerk who claimed the application records verdicts."""


# Verdicts ---------------------------------------------------------------------------------------


def record_verdict(
    app: Application, clerk: User, document_id: int, verdict: str, reason: str = ""
) -> ApplicationDocument:
    """Record 核验通过 (``ok``) or 需补正 (``correct``, reason required) on one document of ``app``.

    Raises :class:`NotFound` for a document of another application, :class:`FieldError` for a missing
    verdict or reason, :class:`NotHolder` unless ``clerk`` holds the application and
    :class:`DomainError` when the application is not being examined.
    """
    doc = next((d for d in app.documents if d.id == document_id), None)
    if doc is None:
        raise NotFound()
    if verdict not in VERDICT_LABELS:
        raise FieldError("verdict", N_("请选择核验结果"))
    reason = reason.strip()[:300]
    if verdict == "correct" and not reason:
        raise FieldError("reason", N_("请选择或填写需补正的原因"))
    if app.claimed_by_id != clerk.id:
        raise NotHolder(N_("请先领取该申请再核验材料（可能已被其他人领取）。"))
    if app.state not in VERDICT_STATES:
        raise DomainError(N_("该申请当前不在审核中，不能再记录核验结果。"))
    before = doc.verdict
    doc.verdict = verdict
    doc.verdict_reason = reason if verdict == "correct" else ""
    doc.verdict_by_id = clerk.id
    doc.verdict_at = utcnow()
    trust = _wallet_trust(app, doc, verdict, before)
    audit.record(
        "application.document_verdict",
        object_type="application",
        object_id=app.id,
        actor=clerk,
        details={
            "document": doc.id,
            "requirement": doc.requirement_name,
            "verdict": verdict,
            "reason": doc.verdict_reason,
            **({"wallet_document": doc.wallet_document_id, "trust": trust} if trust else {}),
        },
    )
    return doc


def _wallet_trust(app: Application, doc: ApplicationDocument, verdict: str, before: str | None) -> str | None:
    """The wallet copy's new trust level after this verdict (changed in place), or None if unchanged."""
    wallet = _wallet_copy(app, doc)
    if wallet is None:
        return None
    if verdict == "ok" and wallet.trust_level in (TrustLevel.C, TrustLevel.D) and wallet.rejected_at is None:
        wallet.trust_level = TrustLevel.B
        return TrustLevel.B.value
    if verdict == "correct" and before == "ok" and wallet.trust_level == TrustLevel.B:
        wallet.trust_level = TrustLevel.C
        return TrustLevel.C.value
    return None


def _wallet_copy(app: Application, doc: ApplicationDocument) -> WalletDocument | None:
    if doc.wallet_document_id is None:
        return None
    wallet = db.session.get(WalletDocument, doc.wallet_document_id)
    if wallet is None or wallet.owner_id != app.applicant_id:
        return None
    return wallet


def current_documents(app: Application) -> dict[int, ApplicationDocument]:
    """The newest file given for each requirement (a correction's upload replaces the earlier one)."""
    latest: dict[int, ApplicationDocument] = {}
    for d in app.documents:
        if d.requirement not in latest or d.id > latest[d.requirement].id:
            latest[d.requirement] = d
    return latest


def correction_prefill(app: Application) -> dict[str, str]:
    """Requirement name → the clerk's 需补正 reason, for the current file of each requirement."""
    return {
        d.requirement_name: d.verdict_reason
        for d in current_documents(app).values()
        if d.verdict == "correct" and d.verdict_reason
    }


def reject_corrected_in_wallet(app: Application, items: list[dict[str, str]]) -> list[int]:
    """A correction request went out: mark the wallet copy of each document it names as rejected (not
    offered for reuse again; a level-A government document is left alone). The ids marked."""
    notes = {str(i.get("target", "")): str(i.get("note", "")) for i in items}
    marked = []
    for doc in current_documents(app).values():
        if doc.requirement_name not in notes:
            continue
        wallet = _wallet_copy(app, doc)
        if wallet is None or wallet.trust_level == TrustLevel.A or wallet.rejected_at is not None:
            continue
        wallet.rejected_at = utcnow()
        wallet.rejected_reason = notes[doc.requirement_name][:300]
        if wallet.trust_level == TrustLevel.B:
            wallet.trust_level = TrustLevel.C
        marked.append(wallet.id)
        audit.record(
            "wallet.rejected",
            object_type="wallet_document",
            object_id=wallet.id,
            details={"application": app.id, "doc_type": wallet.doc_type, "reason": wallet.rejected_reason},
        )
    return marked


# The deadline clock -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """What the workbench shows about time: started or not, the promised date, days left, paused."""

    started: bool
    promised_due: date | None
    legal_due: date | None
    days_left: int | None  # counting days from today to the promised date (negative: overdue)
    day_kind: str
    paused: bool
    promised_days: int


def clock_for(app: Application, today: date) -> Clock:
    item = pinned_item(app)
    paused = any(p.ended_at is None for p in app.pauses)
    days_left = None
    if app.promised_due is not None:
        cal = counting_calendar(load_calendar(), item.day_kind)
        first, last, sign = (today, app.promised_due, 1)
        if app.promised_due < today:
            first, last, sign = (app.promised_due, today, -1)
        days = 0
        d = first
        while d < last:
            d = date.fromordinal(d.toordinal() + 1)
            days += 1 if cal.is_working_day(d) else 0
        days_left = sign * days
    return Clock(
        started=app.accepted_at is not None,
        promised_due=app.promised_due,
        legal_due=app.legal_due,
        days_left=days_left,
        day_kind=item.day_kind,
        paused=paused,
        promised_days=item.promised_days,
    )


# Preset reasons (admins) ------------------------------------------------------------------------


def preset_reasons(doc_types: list[str]) -> dict[str, list[str]]:
    """For each document type, its own preset reasons first, then the ones for every document."""
    rows = db.session.scalars(
        select(CorrectionReason)
        .where(CorrectionReason.doc_type.in_(["", *doc_types]))
        .order_by(CorrectionReason.position, CorrectionReason.id)
    ).all()
    general = [r.reason for r in rows if r.doc_type == ""]
    return {t: [r.reason for r in rows if r.doc_type == t] + general for t in doc_types}


def all_reasons() -> list[CorrectionReason]:
    return list(
        db.session.scalars(
            select(CorrectionReason).order_by(
                CorrectionReason.doc_type, CorrectionReason.position, CorrectionReason.id
            )
        )
    )


def _check_unique(doc_type: str, reason: str, own_id: int | None = None) -> None:
    clash = db.session.scalar(
        select(func.count())
        .select_from(CorrectionReason)
        .where(
            CorrectionReason.doc_type == doc_type,
            CorrectionReason.reason == reason,
            CorrectionReason.id != (own_id or 0),
        )
    )
    if clash:
        raise FieldError("reason", N_("该材料已有相同的预设原因"))


def add_reason(doc_type: str, reason: str, position: int = 100) -> CorrectionReason:
    doc_type, reason = doc_type.strip()[:100], reason.strip()[:100]
    if not reason:
        raise FieldError("reason", N_("请填写原因"))
    _check_unique(doc_type, reason)
    row = CorrectionReason(doc_type=doc_type, reason=reason, position=position)
    db.session.add(row)
    db.session.flush()
    audit.record(
        "correction_reason.create",
        object_type="correction_reason",
        object_id=row.id,
        details={"doc_type": doc_type, "reason": reason, "position": position},
    )
    return row


def get_reason(reason_id: int) -> CorrectionReason:
    row = db.session.get(CorrectionReason, reason_id)
    if row is None:
        raise NotFound()
    return row


def update_reason(row: CorrectionReason, doc_type: str, reason: str, position: int) -> None:
    doc_type, reason = doc_type.strip()[:100], reason.strip()[:100]
    if not reason:
        raise FieldError("reason", N_("请填写原因"))
    _check_unique(doc_type, reason, row.id)
    before = {"doc_type": row.doc_type, "reason": row.reason, "position": row.position}
    row.doc_type, row.reason, row.position = doc_type, reason, position
    audit.record(
        "correction_reason.update",
        object_type="correction_reason",
        object_id=row.id,
        details={"before": before, "after": {"doc_type": doc_type, "reason": reason, "position": position}},
    )


def delete_reason(row: CorrectionReason) -> None:
    audit.record(
        "correction_reason.delete",
        object_type="correction_reason",
        object_id=row.id,
        details={"doc_type": row.doc_type, "reason": row.reason},
    )
    db.session.delete(row)
