"""Typed models of a 一件事 application: the bundle application a citizen fills once, the documents
uploaded once for several items, and one part per step of the bundle's flow."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Bundle, BundleVersion
from core.crypto import EncryptedJSON
from core.db import UTCDateTime, db, str_enum, utcnow
from core.i18n import N_


class BundleState(enum.StrEnum):
    DRAFT = "draft"  # being filled in
    SUBMITTED = "submitted"  # fanned out; parts in progress
    COMPLETED = "completed"  # every part done (办结)
    WITHDRAWN = "withdrawn"  # withdrawn by the citizen


class PartKind(enum.StrEnum):
    ITEM = "item"  # a police item: an Application routed to its unit
    HANDOFF = "handoff"  # another department's step: an exchange message through the outbox


class PartStatus(enum.StrEnum):
    WAITING = "waiting"  # waits for the steps it depends on (等待前序事项)
    STARTED = "started"  # police item: its application is submitted and with its unit
    PUSHED = "pushed"  # hand-off: the exchange message is queued or delivered (已推送)
    RECEIVED = "received"  # hand-off: the department acknowledged it (已接收)
    DONE = "done"  # 已办结 (police item: completed; hand-off: the department reported it done)
    RETURNED = "returned"  # 退回: the department sent it back / the police item ended without approval
    CANCELLED = "cancelled"  # the bundle was withdrawn before this step started


#: How a part's status reads on every page that lists parts (the citizen's card and done page, the
#: clerk's panel); a started police item shows its application's own state where one is at hand.
PART_STATUS_LABELS: dict[PartStatus, str] = {
    PartStatus.WAITING: N_("等待前序事项"),
    PartStatus.STARTED: N_("办理中"),
    PartStatus.PUSHED: N_("已推送"),
    PartStatus.RECEIVED: N_("已接收"),
    PartStatus.DONE: N_("已办结"),
    PartStatus.RETURNED: N_("退回"),
    PartStatus.CANCELLED: N_("已取消"),
}


class BundleApplication(db.Model):
    """一件事 application. ``answers`` holds the shared questions' answers and each item's own answers
    (``{"shared": {...}, "items": {step_key: {...}}, "situations": {...}}``), encrypted like an
    application's form. ``start_token`` makes a double-clicked start one draft; the draft → submitted
    transition is a conditional update on ``row_version`` so a double-clicked submit fans out once."""

    __tablename__ = "bundle_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(24), unique=True)
    start_token: Mapped[str] = mapped_column(String(64), unique=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id", ondelete="RESTRICT"))
    bundle_version_id: Mapped[int] = mapped_column(ForeignKey("bundle_versions.id", ondelete="RESTRICT"))
    state: Mapped[BundleState] = mapped_column(
        str_enum(BundleState, "bundle_state"), default=BundleState.DRAFT
    )
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("form"), default=dict)
    district: Mapped[str | None] = mapped_column(String(32))
    delivery_method: Mapped[str | None] = mapped_column(String(16))
    delivery_address: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("form"), default=dict)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: 好差评 of the bundle as a whole (1–5); each item's own rating stays in ``ratings``
    rating_level: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(String(500), default="", server_default="")
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    bundle: Mapped[Bundle] = relationship()
    bundle_version: Mapped[BundleVersion] = relationship()
    parts: Mapped[list[BundlePart]] = relationship(
        back_populates="bundle_application", order_by="BundlePart.position", cascade="all, delete-orphan"
    )
    documents: Mapped[list[BundleDocument]] = relationship(
        order_by="BundleDocument.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_bundle_applications_state_completed", "state", "completed_at"),
        CheckConstraint("rating_level IS NULL OR rating_level BETWEEN 1 AND 5", name="bundle_rating_range"),
    )


class BundleDocument(db.Model):
    """A document uploaded (or taken from 我的材料 / the e-certificate register) once for the bundle;
    at submit it is attached to every item application whose requirement it meets (same stored file)."""

    __tablename__ = "bundle_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_application_id: Mapped[int] = mapped_column(
        ForeignKey("bundle_applications.id", ondelete="CASCADE"), index=True
    )
    #: the shared-document key of the bundle definition this file answers
    doc_key: Mapped[str] = mapped_column(String(40))
    storage_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8))
    mimetype: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(120))
    wallet_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("wallet_documents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BundlePart(db.Model):
    """One step of a submitted bundle: a police item (``application_id`` once started) or a hand-off
    to a department (``outbox_id`` of its exchange message once pushed). ``depends_on`` lists the step
    keys that must be ``done`` before this one starts; ``payload`` keeps what the step will be started
    with (the item's form values or the hand-off's contract body) while it waits."""

    __tablename__ = "bundle_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_application_id: Mapped[int] = mapped_column(
        ForeignKey("bundle_applications.id", ondelete="CASCADE"), index=True
    )
    step_key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[PartKind] = mapped_column(str_enum(PartKind, "bundle_part_kind", length=16))
    name: Mapped[str] = mapped_column(String(100))
    item_code: Mapped[str | None] = mapped_column(String(40))
    department_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[PartStatus] = mapped_column(
        str_enum(PartStatus, "bundle_part_status", length=16), default=PartStatus.WAITING
    )
    depends_on: Mapped[list[str]] = mapped_column(JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("form"), default=dict)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), unique=True
    )
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    #: the department's own reference, reported in its callback
    external_ref: Mapped[str | None] = mapped_column(String(64))
    #: what the step produced (e.g. the 户口 number of 出生登记), available to the steps that wait for it
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    bundle_application: Mapped[BundleApplication] = relationship(back_populates="parts")

    __table_args__ = (
        UniqueConstraint("bundle_application_id", "step_key", name="uq_bundle_parts_step"),
        Index("ix_bundle_parts_department", "department_code", "status"),
    )
