"""The write use cases of 电子证照: issue at completion, revoke, the 免提交 rules; and the online
verification every channel shares (page, API). Plain arguments in, models out; ``flush()`` only."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from applications.ecert import keys, pdf
from applications.ecert.models import Certificate, DocumentSource, RevocationReason, ShareLink
from applications.ecert.payload import Reason, Verdict, encode, verify
from applications.ecert.queries import document_sources  # noqa: F401 - used by views
from applications.models import Application, TrustLevel, WalletDocument
from applications.submission.operations import store_pending
from auth.models import Unit, User
from core import audit
from core.clock import local_today
from core.db import db, utcnow
from core.errors import DomainError, FieldError, NotFound
from core.i18n import N_
from core.masking import mask_id_number
from core.storage import Storage

REVOCATION_LABELS = {
    RevocationReason.REPLACED: N_("已换发"),
    RevocationReason.CANCELLED: N_("已注销"),
    RevocationReason.ERROR: N_("误发"),
}


@dataclass
class Holder:
    user_id: int | None
    name: str
    masked_id: str
    wallet_owner_id: int


def _holder(app: Application) -> Holder:
    """Whose certificate it is: the principal for a 代办 (their account when they have one), else the
    applicant. Only the masked ID number ever leaves this function."""
    applicant = db.session.get(User, app.applicant_id)
    if app.is_proxy:
        principal = db.session.get(User, app.principal_user_id) if app.principal_user_id else None
        if principal is not None:
            return Holder(principal.id, principal.real_name, principal.masked_id_number, principal.id)
        return Holder(
            None, app.principal_name or "", mask_id_number(app.principal_id_number), app.applicant_id
        )
    return Holder(applicant.id, applicant.real_name, applicant.masked_id_number, applicant.id)


def _new_number(today: date) -> str:
    return f"LJZZ{today:%Y%m%d}{secrets.token_hex(4).upper()}"


def issue_for_application(
    app: Application, item, storage: Storage, *, today: date | None = None
) -> Certificate:
    """Issue the e-certificate of a case completed with 电子证照 delivery: sign the claims with the
    issuing unit's key, lay out the PDF with the QR code, store it, enter it in the register and in
    the holder's 我的材料 at trust level A; audited ``ecert.issue``. The holder's earlier certificate of
    the same type is revoked as 已换发 (one valid certificate per type). Raises
    :class:`keys.NoSigningKey` when no key can be had."""
    today = today or local_today()
    unit = db.session.get(Unit, app.approving_unit_id or app.unit_id)
    issuer_code = unit.code if unit else ""
    issuer_name = unit.name if unit else current_app.config.get("PORTAL_NAME", "")
    signer = keys.signer_for(issuer_code)
    holder = _holder(app)
    cert_type = item.result_name or item.name
    valid_until = today + timedelta(days=int(current_app.config.get("ECERT_VALID_DAYS", 365)) - 1)
    number = _new_number(today)
    claims = {
        "type": cert_type,
        "number": number,
        "holder": holder.name,
        "id": holder.masked_id,
        "issued": today.isoformat(),
        "valid_until": valid_until.isoformat(),
        "issuer": issuer_name,
        "item": item.code,
    }
    text = encode(claims, signer)
    document = pdf.render(
        title=cert_type,
        fields=[("持证人", holder.name), ("身份证号", holder.masked_id), ("事项编码", item.code)],
        issuer=issuer_name,
        number=number,
        valid=f"{today.isoformat()} 至 {valid_until.isoformat()}",
        payload=text,
        portal=current_app.config.get("PORTAL_NAME", ""),
        font_path=current_app.config.get("ECERT_FONT") or None,
    )
    key = store_pending(storage, document, suffix=".pdf")
    wallet = WalletDocument(
        owner_id=holder.wallet_owner_id,
        doc_type=cert_type,
        issuer=issuer_name,
        expires_on=valid_until,
        trust_level=TrustLevel.A,
        storage_key=key,
        kind="pdf",
        mimetype="application/pdf",
        size=len(document),
        sha256=hashlib.sha256(document).hexdigest(),
        display_name=f"{cert_type}（电子证照）.pdf"[:120],
        source_application_id=app.id,
    )
    db.session.add(wallet)
    db.session.flush()
    cert = Certificate(
        number=number,
        cert_type=cert_type,
        holder_id=holder.user_id,
        holder_name=holder.name,
        item_code=item.code,
        issuer_unit_id=unit.id if unit else None,
        issuer_name=issuer_name,
        application_id=app.id,
        kid=signer.kid,
        issued_on=today,
        valid_until=valid_until,
        payload=text,
        storage_key=key,
        wallet_document_id=wallet.id,
    )
    db.session.add(cert)
    db.session.flush()
    if holder.user_id is not None:  # the new certificate replaces the holder's earlier one of its type
        for older in db.session.scalars(
            select(Certificate).where(
                Certificate.holder_id == holder.user_id,
                Certificate.cert_type == cert_type,
                Certificate.revoked_at.is_(None),
                Certificate.id != cert.id,
            )
        ):
            revoke(older, reason=RevocationReason.REPLACED.value, note=f"由 {number} 换发")
    audit.record(
        "ecert.issue",
        object_type="ecert",
        object_id=cert.id,
        details={"number": number, "type": cert_type, "application": app.id, "kid": signer.kid},
    )
    return cert


def revoke(cert: Certificate, *, reason: str, note: str = "", actor: User | None = None) -> None:
    """Put a certificate on the revocation list (已换发 / 已注销 / 误发); audited ``ecert.revoke``.
    Its wallet copy is marked so it is not offered for reuse. Raises :class:`DomainError` when it
    is revoked already, :class:`FieldError` for an unknown reason."""
    try:
        why = RevocationReason(reason)
    except ValueError as exc:
        raise FieldError("reason", N_("请选择撤销原因")) from exc
    if cert.revoked_at is not None:
        raise DomainError(N_("该电子证照已撤销。"))
    cert.revoked_at = utcnow()
    cert.revoked_reason = why
    cert.revoked_note = note.strip()[:300]
    if cert.wallet_document_id:
        wallet = db.session.get(WalletDocument, cert.wallet_document_id)
        if wallet is not None:
            wallet.rejected_at = cert.revoked_at
            wallet.rejected_reason = f"电子证照已撤销（{REVOCATION_LABELS[why]}）"
    audit.record(
        "ecert.revoke",
        object_type="ecert",
        object_id=cert.id,
        actor=actor,
        details={"number": cert.number, "reason": why.value, "note": cert.revoked_note},
    )


def get_by_number(number: str) -> Certificate:
    cert = db.session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None:
        raise NotFound()
    return cert


def is_revoked(number: str) -> bool:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Certificate)
            .where(Certificate.number == number, Certificate.revoked_at.is_not(None))
        )
        > 0
    )


def verify_online(text: str, *, today: date | None = None) -> Verdict:
    """Check a payload against the published keys and the revocation list (never raises)."""
    if not isinstance(text, str):
        return Verdict(Reason.MALFORMED, detail="not text")
    return verify(text, keys.verifiers(), today=today or local_today(), is_revoked=is_revoked)


# 我的材料 ------------------------------------------------------------------------------------------


def certificates_of(user: User) -> list[Certificate]:
    """The user's certificates, newest first (revoked ones included, marked)."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.holder_id == user.id)
            .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
        )
    )


def own_certificate(user: User, cert_id: int) -> Certificate:
    cert = db.session.get(Certificate, cert_id)
    if cert is None or cert.holder_id != user.id:
        raise NotFound()
    return cert


# 免提交 --------------------------------------------------------------------------------------------


def set_document_sources(doc_name: str, cert_types: list[str], *, known_documents: list[str]) -> None:
    """Replace the certificate types that satisfy ``doc_name`` (one of ``known_documents``, the
    catalog's document names); an empty list removes the rule. Audited ``ecert.sources``."""
    doc_name = doc_name.strip()
    if not doc_name:
        raise FieldError("doc_name", N_("请选择材料"))
    if doc_name not in known_documents:
        raise FieldError("doc_name", N_("事项目录中没有这个材料名称，请从列表中选择"))
    wanted = sorted({t.strip() for t in cert_types if t.strip()})
    current = {
        r.cert_type: r
        for r in db.session.scalars(select(DocumentSource).where(DocumentSource.doc_name == doc_name))
    }
    for t, row in current.items():
        if t not in wanted:
            db.session.delete(row)
    for t in wanted:
        if t not in current:
            db.session.add(DocumentSource(doc_name=doc_name, cert_type=t))
    db.session.flush()
    audit.record("ecert.sources", object_type="document", object_id=doc_name, details={"types": wanted})


# One-time share links ------------------------------------------------------------------------------


class LinkGone(DomainError):
    """The share link was used already, has expired, or never existed."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_share_link(cert: Certificate, user: User) -> tuple[ShareLink, str]:
    """A one-time verification link for the holder's certificate, valid ``ECERT_SHARE_HOURS`` (24);
    returns the row and the token (shown once, only its hash is kept). Audited ``ecert.share``.
    Raises :class:`DomainError` for a revoked certificate."""
    if cert.revoked_at is not None:
        raise DomainError(N_("该电子证照已撤销，不能分享。"))
    token = secrets.token_urlsafe(24)
    hours = int(current_app.config.get("ECERT_SHARE_HOURS", 24))
    link = ShareLink(
        token_hash=_token_hash(token),
        certificate_id=cert.id,
        created_by_id=user.id,
        expires_at=utcnow() + timedelta(hours=hours),
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        "ecert.share",
        object_type="ecert",
        object_id=cert.id,
        actor=user,
        details={"link": link.id, "hours": hours},
    )
    return link, token


def peek_share_link(token: str) -> ShareLink:
    """The unused, unexpired link of ``token`` (nothing changes), else :class:`LinkGone`."""
    link = db.session.scalar(select(ShareLink).where(ShareLink.token_hash == _token_hash(token)))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise LinkGone(N_("该核验链接已使用、已过期或不存在。请向持证人索取新的链接，或扫描证照二维码核验。"))
    return link


def use_share_link(token: str) -> Certificate:
    """Consume the link (one conditional UPDATE, so two openings at once cannot both succeed) and
    return its certificate; audited ``ecert.share_used``. Raises :class:`LinkGone`."""
    link = peek_share_link(token)
    now = utcnow()
    result = db.session.execute(
        update(ShareLink)
        .where(ShareLink.id == link.id, ShareLink.used_at.is_(None), ShareLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LinkGone(N_("该核验链接已使用、已过期或不存在。请向持证人索取新的链接，或扫描证照二维码核验。"))
    cert = db.session.get(Certificate, link.certificate_id)
    audit.record("ecert.share_used", object_type="ecert", object_id=cert.id, details={"link": link.id})
    return cert
