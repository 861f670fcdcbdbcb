"""Typed models for applications, their documents and timeline, the document wallet and the outbox."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BindParameter,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from applications.workflow.states import State
from core.clock import local_date, local_today
from core.crypto import EncryptedJSON, EncryptedText, blind_index
from core.db import UTCDateTime, db, str_enum, utcnow

#: The states a clerk still has work on; the open-queue indexes are partial on exactly this term, written
#: as clerk._state_in renders it (SQLite uses a partial index only when the query repeats its terms).
OPEN_STATES = (State.SUBMITTED, State.ACCEPTED, State.CORRECTION_REQUESTED, State.RESUBMITTED)
OPEN_STATES_SQL = "state IN (" + ", ".join(f"'{s.value}'" for s in OPEN_STATES) + ")"


class Channel(enum.StrEnum):
    ONLINE = "online"
    COUNTER = "counter"


class TrustLevel(enum.StrEnum):
    """材料库 trust levels (DESIGN §3)."""

    A = "A"  # issued by a government unit: usable as is
    B = "B"  # checked by a clerk: reusable
    C = "C"  # uploaded, not yet checked
    D = "D"  # self-declared


class Application(db.Model):
    """One application for one item version, by an account (possibly for someone else: 亲友代办)."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    start_token: Mapped[str] = mapped_column(String(64), unique=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # active_history: the statistics roll-ups need the old value of these to refresh the old day/item
    item_id: Mapped[int] = mapped_column(
        ForeignKey("service_items.id", ondelete="RESTRICT"), index=True, active_history=True
    )
    version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id", ondelete="RESTRICT"))
    state: Mapped[State] = mapped_column(str_enum(State, "application_state"), default=State.DRAFT)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "application_channel"), default=Channel.ONLINE)
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: the answers, stored encrypted as one document (core.crypto): addresses, relatives' ID numbers…
    form_data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("form"), default=dict)
    district: Mapped[str | None] = mapped_column(String(32))
    contact_mobile: Mapped[str | None] = mapped_column(EncryptedText("contact", 11))
    # 亲友代办: the account holder acts for the principal.
    is_proxy: Mapped[bool] = mapped_column(Boolean, default=False)
    principal_name: Mapped[str | None] = mapped_column(EncryptedText("name", 50))
    principal_id_number_enc: Mapped[str | None] = mapped_column(
        "principal_id_number", EncryptedText("identity", 18)
    )
    #: the principal's ID number's blind index: the clerk's search by ID number finds proxy cases too
    principal_id_number_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    relationship_to_principal: Mapped[str | None] = mapped_column(String(20))
    principal_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    principal_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Delivery of the result.
    delivery_method: Mapped[str | None] = mapped_column(String(16))
    delivery_address: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pickup_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    # Routing.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    routing_rule: Mapped[str | None] = mapped_column(String(120))
    approving_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    # Clerk side: who holds it, the clock, the outcome.
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    promised_due: Mapped[date | None] = mapped_column(Date)
    legal_due: Mapped[date | None] = mapped_column(Date)
    due_soon_on: Mapped[date | None] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    #: 办理时长: working days from 受理 to 办结, clock pauses excluded (see applications.stats.rollup,
    #: which keeps it; None unless completed after being accepted).
    working_days: Mapped[int | None] = mapped_column(Integer)
    correction_count: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)

    documents: Mapped[list[ApplicationDocument]] = relationship(
        back_populates="application", order_by="ApplicationDocument.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[StatusEvent]] = relationship(order_by="StatusEvent.id", cascade="all, delete-orphan")
    unit = relationship("Unit", foreign_keys=[unit_id])
    approving_unit = relationship("Unit", foreign_keys=[approving_unit_id])
    claimed_by = relationship("User", foreign_keys=[claimed_by_id])
    pauses: Mapped[list[ClockPause]] = relationship(order_by="ClockPause.id", cascade="all, delete-orphan")
    visits: Mapped[list[Visit]] = relationship(order_by="Visit.id", cascade="all, delete-orphan")
    pickup_unit = relationship("Unit", foreign_keys=[pickup_unit_id])
    #: 容缺受理: the documents left to give after submitting, each with its due date (补交).
    deferrals: Mapped[list[DeferredDocument]] = relationship(
        order_by="DeferredDocument.requirement", cascade="all, delete-orphan"
    )
    version = relationship("ItemVersion")
    applicant = relationship("User", foreign_keys=[applicant_id])

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        Index("ix_applications_applicant_updated", "applicant_id", "updated_at"),
        Index("ix_applications_unit_state", "unit_id", "state"),
        Index("ix_applications_unit_submitted", "unit_id", "submitted_at", "id"),
        Index("ix_applications_completed", "completed_at", "state", "unit_id"),
        # the approving side of of_units' OR (only ~1 % of rows have an approving unit)
        Index(
            "ix_applications_approving_queue",
            "approving_unit_id",
            "state",
            "claimed_by_id",
            "promised_due",
            "id",
            postgresql_where=text("approving_unit_id IS NOT NULL"),
            sqlite_where=text("approving_unit_id IS NOT NULL"),
        ),
        # The open tabs (clerk.queues._open_page), one ordered range per accepting unit and one per approving
        # unit, in the queues' order; the columns the tabs filter on are carried along (INCLUDE, PostgreSQL)
        # so the tab counts (clerk.queues._counts_statement) are index-only scans.
        Index(
            "ix_applications_open",
            "unit_id",
            text("coalesce(promised_due, '9999-12-31')"),
            "id",
            postgresql_include=["state", "claimed_by_id", "promised_due", "due_soon_on"],
            postgresql_where=text(OPEN_STATES_SQL),
            sqlite_where=text(OPEN_STATES_SQL),
        ),
        Index(
            "ix_applications_approving_open",
            "approving_unit_id",
            text("coalesce(promised_due, '9999-12-31')"),
            "id",
            postgresql_include=["state", "claimed_by_id", "promised_due", "due_soon_on", "unit_id"],
            postgresql_where=text(f"approving_unit_id IS NOT NULL AND {OPEN_STATES_SQL}"),
            sqlite_where=text(f"approving_unit_id IS NOT NULL AND {OPEN_STATES_SQL}"),
        ),
        # 我的's count (clerk.queues.mine_count): the open applications a clerk holds (index-only, PostgreSQL)
        Index(
            "ix_applications_claimed_open",
            "claimed_by_id",
            postgresql_include=["unit_id", "approving_unit_id", "state"],
            postgresql_where=text(f"claimed_by_id IS NOT NULL AND {OPEN_STATES_SQL}"),
            sqlite_where=text(f"claimed_by_id IS NOT NULL AND {OPEN_STATES_SQL}"),
        ),
        # claim_next's candidate scan, in its ORDER BY
        Index(
            "ix_applications_claimable",
            "unit_id",
            text("(promised_due IS NULL)"),
            "promised_due",
            "submitted_at",
            "id",
            postgresql_where=text("state IN ('submitted', 'resubmitted') AND claimed_by_id IS NULL"),
            sqlite_where=text("state IN ('submitted', 'resubmitted') AND claimed_by_id IS NULL"),
        ),
        # 已办结 newest completion first, keyset on (completed_at, id), read backwards: one ordered range
        # per accepting unit and one per approving unit (clerk.queues._done_page), and the capped count
        Index(
            "ix_applications_unit_done",
            "unit_id",
            "completed_at",
            "id",
            postgresql_where=text("state IN ('approved', 'refused', 'delivered', 'not_accepted')"),
            sqlite_where=text("state IN ('approved', 'refused', 'delivered', 'not_accepted')"),
        ),
        Index(
            "ix_applications_approving_done",
            "approving_unit_id",
            "completed_at",
            "id",
            postgresql_where=text(
                "approving_unit_id IS NOT NULL"
                " AND state IN ('approved', 'refused', 'delivered', 'not_accepted')"
            ),
            sqlite_where=text(
                "approving_unit_id IS NOT NULL"
                " AND state IN ('approved', 'refused', 'delivered', 'not_accepted')"
            ),
        ),
        Index("ix_applications_submitted", "submitted_at"),
        CheckConstraint(
            "state IN ('draft', 'withdrawn') OR reference IS NOT NULL", name="submitted_has_reference"
        ),
        CheckConstraint(
            "NOT is_proxy OR state = 'draft' "
            "OR (principal_name IS NOT NULL AND principal_id_number IS NOT NULL)",
            name="proxy_has_principal",
        ),
    )

    @hybrid_property
    def principal_id_number(self) -> str | None:
        return self.principal_id_number_enc

    @principal_id_number.inplace.setter
    def _principal_id_number_set(self, value: str | None) -> None:
        self.principal_id_number_enc = value
        self.principal_id_number_bidx = blind_index("id_number", value.strip().upper() if value else None)

    @principal_id_number.inplace.expression
    @classmethod
    def _principal_id_number_expr(cls) -> ColumnElement[str | None]:
        return cls.principal_id_number_enc


def of_units(
    ids: Sequence[int] | BindParameter[Any], unit: Any = None, approving: Any = None
) -> ColumnElement[bool]:
    """The applications of units ``ids``, the rule by which staff see applications: the unit accepts or
    approves them, ``unit_id IN ids OR approving_unit_id IN ids``. ``ids`` is a list of unit ids, or one
    expanding ``bindparam`` for a statement built once (each side of the ``OR`` then names the same
    parameter). ``unit`` and ``approving`` are other columns with the same meaning (the statistics
    roll-up tables); by default the application's own."""
    unit = Application.unit_id if unit is None else unit
    approving = Application.approving_unit_id if approving is None else approving
    return or_(unit.in_(ids), approving.in_(ids))


class RoutingRule(db.Model):
    """One ordered routing rule: item or category × applicant district → accepting (and approving) unit.

    A rule with neither item nor category matches every item; a rule without a district matches every
    district. The first active rule by ``position`` wins (see applications/workflow/routing.py).
    """

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=100)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    district: Mapped[str | None] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    approving_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit = relationship("Unit", foreign_keys=[unit_id])
    approving_unit = relationship("Unit", foreign_keys=[approving_unit_id])
    item = relationship("ServiceItem")
    category = relationship("Category")

    __table_args__ = (Index("ix_routing_rules_position", "active", "position", "id"),)


class ClockPause(db.Model):
    """The clock stops while a correction is outstanding: one row per pause (start, end, reason)."""

    __tablename__ = "clock_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(100))


class Visit(db.Model):
    """An on-site visit (核验原件, 采集照片指纹, 领取结果 …).

    A completed application with no visit is zero-visit.
    """

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    place: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(200), default="")


class ApplicationDocument(db.Model):
    """A file given for one document requirement of the pinned version (``requirement`` = its position)."""

    __tablename__ = "application_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    requirement: Mapped[int] = mapped_column(Integer)
    requirement_name: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8))
    mimetype: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(120))
    wallet_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("wallet_documents.id", ondelete="SET NULL")
    )
    for_correction: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The clerk's check of this file (applications/clerk/verdicts.py): None (not yet), ``ok`` (核验通过)
    #: or ``correct`` (需补正, with ``verdict_reason``, which pre-fills the correction request).
    verdict: Mapped[str | None] = mapped_column(String(16))
    verdict_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    verdict_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="documents")


class DeferredDocument(db.Model):
    """容缺受理: a document requirement (``requirement`` = its position in the pinned version) the citizen
    left out when submitting, due by ``due_on`` (see applications.workflow.deadlines.deferral_due),
    stored at submission so the date the citizen was told never moves. 补交 sets ``fulfilled_at`` and
    the document given, once (a conditional UPDATE: a double submit gives one document)."""

    __tablename__ = "deferred_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # looked up by application through the unique constraint's leading column
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    requirement: Mapped[int] = mapped_column(Integer)
    requirement_name: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[date] = mapped_column(Date)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("application_documents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[ApplicationDocument | None] = relationship()

    __table_args__ = (
        UniqueConstraint(
            "application_id", "requirement", name="uq_deferred_documents_application_requirement"
        ),
    )

    @property
    def late(self) -> bool:
        """Given (or, while not given, still owed) after the day it was due."""
        day = local_date(self.fulfilled_at) if self.fulfilled_at else local_today()
        return day > self.due_on


class StatusEvent(db.Model):
    """One step of the timeline. Citizens see the unit and the date, never the clerk's name."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit = relationship("Unit")


class WalletDocument(db.Model):
    """材料库: a citizen's document kept for reuse, with issuer, expiry and trust level."""

    __tablename__ = "wallet_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    doc_type: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(100), default="")
    expires_on: Mapped[date | None] = mapped_column(Date)
    trust_level: Mapped[TrustLevel] = mapped_column(str_enum(TrustLevel, "trust_level", 1))
    storage_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8))
    mimetype: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(120))
    source_application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when a clerk asked for this file to be corrected: it stays listed in 我的材料, marked, and is
    #: never offered for reuse again.
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejected_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")

    __table_args__ = (UniqueConstraint("owner_id", "sha256", "doc_type", name="uq_wallet_owner_file_type"),)


class CorrectionReason(db.Model):
    """A preset 需补正 reason the clerk picks for a document (admins keep the list). ``doc_type`` is a
    catalog document name (居民身份证, say), or empty for a reason offered for every document."""

    __tablename__ = "correction_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(100), default="", server_default="")
    reason: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("doc_type", "reason", name="uq_correction_reasons_type_reason"),
        Index("ix_correction_reasons_type_position", "doc_type", "position", "id"),
    )


class ReferenceCounter(db.Model):
    """Per-day sequence for reference numbers, advanced with one atomic upsert."""

    __tablename__ = "reference_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CorrectionSignoff(db.Model):
    """A clerk's request to ask for a second correction (an exception, DESIGN §3), waiting for a unit
    lead of the unit to approve it in their own session — the lead's sign-off is never a password
    typed on the clerk's screen."""

    __tablename__ = "correction_signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    items: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    #: ``pending`` → ``approved`` (the correction was sent) or ``rejected`` (with the lead's note).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application = relationship("Application")
    requested_by = relationship("User", foreign_keys=[requested_by_id])

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="signoff_status"),
        # one request waiting per application: a double click or a second clerk makes no second one
        Index(
            "uq_correction_signoffs_pending",
            "application_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
