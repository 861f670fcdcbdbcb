"""Reads that the application pages share: the 免提交 rules, which of an application's documents the
applicant already holds as a valid e-certificate, and the certificates used on an application.
Imports nothing of ``applications.submission`` (which calls into here)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, select

from applications.ecert.models import Certificate, CertificateUse, DocumentSource
from applications.models import Application
from core.audit import record
from core.clock import local_today
from core.db import db


def document_sources() -> dict[str, list[str]]:
    """Catalog document name → the certificate types that satisfy it."""
    rules: dict[str, list[str]] = {}
    for row in db.session.scalars(
        select(DocumentSource).order_by(DocumentSource.doc_name, DocumentSource.cert_type)
    ):
        rules.setdefault(row.doc_name, []).append(row.cert_type)
    return rules


def holder_of(app: Application) -> int | None:
    """Whose documents they are: the principal's account for a 代办, else the applicant."""
    if app.is_proxy:
        return app.principal_user_id
    return app.applicant_id


def held_by_name(
    holder: int | None, names: Iterable[str], *, today: date | None = None
) -> dict[str, Certificate]:
    """Document name → a valid certificate ``holder`` has that satisfies it (a 一件事's shared document
    is asked once, before any application exists: the same rule as :func:`held_certificates`)."""
    held = held_certificates_of(holder, {n: n for n in names}, today=today)
    return {str(k): v for k, v in held.items()}


def held_certificates(
    app: Application, documents: Iterable, *, today: date | None = None
) -> dict[int, Certificate]:
    """Requirement position → a valid (issued, unexpired, unrevoked) certificate the holder has of a
    type the admin marked as satisfying that document; documents without a rule are not listed."""
    return held_certificates_of(holder_of(app), {d.position: d.name for d in documents}, today=today)


def held_certificates_of(holder: int | None, documents: dict, *, today: date | None = None) -> dict:
    """Key → a valid certificate ``holder`` has for the document name ``documents[key]``."""
    rules = document_sources()
    wanted = {key: rules[name] for key, name in documents.items() if name in rules}
    if holder is None or not wanted:
        return {}
    today = today or local_today()
    types = sorted({t for ts in wanted.values() for t in ts})
    certs = list(
        db.session.scalars(
            select(Certificate)
            .where(
                Certificate.holder_id == holder,
                Certificate.cert_type.in_(types),
                Certificate.revoked_at.is_(None),
                Certificate.issued_on <= today,
                Certificate.valid_until >= today,
            )
            .order_by(Certificate.valid_until.desc(), Certificate.id.desc())
        )
    )
    held: dict[int, Certificate] = {}
    for position, accepted in wanted.items():
        match = next((c for c in certs if c.cert_type in accepted), None)
        if match is not None:
            held[position] = match
    return held


def record_uses(app: Application, item_code: str, documents: Iterable) -> list[CertificateUse]:
    """At submission: one row per document not asked for because the holder had the certificate;
    audited ``ecert.used``. Runs in the submit's transaction."""
    docs = list(documents)
    names = {d.position: d.name for d in docs}
    uses = []
    for position, cert in held_certificates(app, docs).items():
        use = CertificateUse(
            application_id=app.id,
            position=position,
            doc_name=names[position],
            certificate_id=cert.id,
            item_code=item_code,
        )
        db.session.add(use)
        uses.append(use)
    if uses:
        db.session.flush()
        record(
            "ecert.used",
            object_type="application",
            object_id=app.id,
            details={
                "documents": [u.doc_name for u in uses],
                "certificates": [u.certificate_id for u in uses],
            },
        )
    return uses


def uses_of(app_id: int) -> list[tuple[CertificateUse, Certificate]]:
    return list(
        db.session.execute(
            select(CertificateUse, Certificate)
            .join(Certificate, Certificate.id == CertificateUse.certificate_id)
            .where(CertificateUse.application_id == app_id)
            .order_by(CertificateUse.position)
        ).tuples()
    )


def not_asked_by_item(lower: datetime, upper: datetime) -> list[tuple[str, str, int]]:
    """Scoreboard: (item code, item name, documents not asked for because the applicant already held
    them as an e-certificate) for applications submitted in [lower, upper), most first."""
    from catalog.queries import catalog

    rows = db.session.execute(
        select(CertificateUse.item_code, func.count())
        .join(Application, Application.id == CertificateUse.application_id)
        .where(Application.submitted_at >= lower, Application.submitted_at < upper)
        .group_by(CertificateUse.item_code)
    ).tuples()
    items = catalog().items
    out = [(code, items[code].name if code in items else code, n) for code, n in rows]
    return sorted(out, key=lambda r: (-r[2], r[0]))
