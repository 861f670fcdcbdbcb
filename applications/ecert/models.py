"""Typed models of 电子证照: the issuers' signing keys (public half only), the register of issued
certificates with their revocation, and which certificate types satisfy which catalog document."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, str_enum, utcnow


class RevocationReason(enum.StrEnum):
    REPLACED = "replaced"  # 已换发
    CANCELLED = "cancelled"  # 已注销
    ERROR = "error"  # 误发


class SigningKey(db.Model):
    """The public half of an issuer's signing key. The private half lives in a file of the key folder
    (``ECERT_KEY_DIR``, default ``INSTANCE_DIR/ecert-keys``), never in the database. A key is
    ``retired`` when a newer one replaces it: it signs nothing more, but stays published so that the
    certificates it signed keep verifying."""

    __tablename__ = "ecert_keys"

    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: unit code of the issuer, or "" for the bureau-wide key every unit without its own key uses
    issuer: Mapped[str] = mapped_column(String(40), default="", server_default="")
    algorithm: Mapped[str] = mapped_column(String(16), default="Ed25519")
    #: raw public key, base64url without padding (the JWK ``x``)
    public_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_ecert_keys_issuer", "issuer", "retired_at"),)


class Certificate(db.Model):
    """One issued e-certificate (电子证照登记簿). The holder is a user id; only the masked ID number is
    in the signed claims (and ``payload``), never the full one."""

    __tablename__ = "ecert_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    cert_type: Mapped[str] = mapped_column(String(100))
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    holder_name: Mapped[str] = mapped_column(String(60), default="")
    item_code: Mapped[str] = mapped_column(String(40))
    issuer_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    issuer_name: Mapped[str] = mapped_column(String(100))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    kid: Mapped[str] = mapped_column(ForeignKey("ecert_keys.kid", ondelete="RESTRICT"))
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    #: the signed text the QR code carries (``LJ1:…``)
    payload: Mapped[str] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(String(120))
    wallet_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("wallet_documents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[RevocationReason | None] = mapped_column(
        str_enum(RevocationReason, "ecert_revocation_reason", 16)
    )
    revoked_note: Mapped[str] = mapped_column(String(300), default="", server_default="")

    __table_args__ = (
        CheckConstraint("valid_until >= issued_on", name="validity_order"),
        Index("ix_ecert_certificates_holder_type", "holder_id", "cert_type"),
    )


class DocumentSource(db.Model):
    """免提交: a catalog document (by its name, so the rule survives new item versions) is satisfied
    by a valid certificate of ``cert_type`` the citizen holds."""

    __tablename__ = "ecert_document_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_name: Mapped[str] = mapped_column(String(100))
    cert_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("doc_name", "cert_type", name="uq_ecert_document_sources_pair"),)


class CertificateUse(db.Model):
    """免提交 on one application: requirement ``position`` (a catalog document) was not asked for
    because the applicant held ``certificate_id``; recorded at submission. The clerk sees it with its
    verification result, and the scoreboard counts these rows per item."""

    __tablename__ = "ecert_certificate_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    doc_name: Mapped[str] = mapped_column(String(100))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("ecert_certificates.id", ondelete="RESTRICT"))
    item_code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("application_id", "position", name="uq_ecert_certificate_uses_app_position"),
        Index("ix_ecert_certificate_uses_item", "item_code"),
    )


class ShareLink(db.Model):
    """A one-time verification link the holder gives a bank or a landlord: opening it once shows the
    certificate's live verification; it then (or at ``expires_at``) stops working. Only the SHA-256 of
    the token is stored."""

    __tablename__ = "ecert_share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("ecert_certificates.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
