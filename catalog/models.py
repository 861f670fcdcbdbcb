"""Typed models of the service catalog (政务服务事项实施清单).

A :class:`ServiceItem` is the stable identity (its 事项编码); every change makes a new
:class:`ItemVersion` holding all the fields, with its document requirements, situations and form
fields. Exactly one version per item is ``published`` (a partial unique index); applications pin
the version they were filed under.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth.models import UnitKind
from core.db import UTCDateTime, db, str_enum, utcnow


class ItemStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class VersionState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class ItemType(enum.StrEnum):
    PERMIT = "permit"  # 行政许可
    CONFIRMATION = "confirmation"  # 行政确认
    PUBLIC_SERVICE = "public_service"  # 公共服务
    OTHER = "other"  # 其他


class DayKind(enum.StrEnum):
    WORKING = "working"
    CALENDAR = "calendar"


class DocForm(enum.StrEnum):
    ORIGINAL = "original"
    COPY = "copy"
    ELECTRONIC = "electronic"


class Requirement(enum.StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    DEFERRABLE = "deferrable"  # 容缺: may follow later


class DocSource(enum.StrEnum):
    APPLICANT = "applicant"
    GOVERNMENT = "government"


class FieldType(enum.StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    DATE = "date"
    SELECT = "select"
    ID_NUMBER = "id_number"
    MOBILE = "mobile"
    ADDRESS = "address"
    CHECKBOX = "checkbox"


class Delivery(enum.StrEnum):
    MAIL = "mail"  # 邮寄
    COUNTER = "counter"  # 窗口领取
    ECERT = "ecert"  # 电子证照


class Category(db.Model):
    """户籍 / 车驾管 / 出入境 / 治安管理."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(200), default="")
    icon: Mapped[str] = mapped_column(String(40), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class ServiceItem(db.Model):
    """The stable identity of a service item; its content lives in versions."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus, "item_status"), default=ItemStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", order_by="ItemVersion.version", cascade="all, delete-orphan"
    )


class ItemVersion(db.Model):
    """One version of an item with every 实施清单 field."""

    __tablename__ = "item_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[VersionState] = mapped_column(str_enum(VersionState, "version_state"))
    name: Mapped[str] = mapped_column(String(100))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    item_type: Mapped[ItemType] = mapped_column(str_enum(ItemType, "item_type"))
    unit_kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, "item_unit_kind"))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    legal_days: Mapped[int] = mapped_column(Integer)
    promised_days: Mapped[int] = mapped_column(Integer)
    day_kind: Mapped[DayKind] = mapped_column(str_enum(DayKind, "day_kind"), default=DayKind.WORKING)
    instant: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The account assurance an applicant needs (1 = mobile proven; 2 = real-name verified, for items
    #: that release personal records: 户籍证明, 亲属关系证明, 无犯罪记录证明, 出入境记录查询).
    min_assurance: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    fee: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    fee_note: Mapped[str] = mapped_column(String(200), default="")
    visits: Mapped[int] = mapped_column(Integer, default=0)
    visit_reason: Mapped[str] = mapped_column(String(200), default="")
    online_depth: Mapped[int] = mapped_column(Integer)
    delivery: Mapped[list[str]] = mapped_column(JSON, default=list)
    result_name: Mapped[str] = mapped_column(String(100), default="")
    e_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    proxy_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    counters: Mapped[str] = mapped_column(String(300), default="")
    hours: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    complaint_phone: Mapped[str] = mapped_column(String(40), default="")
    popular: Mapped[bool] = mapped_column(Boolean, default=False)
    faq: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Shown to foreigners (出入境 for foreigners): publishing without full English gives a warning.
    foreigner_facing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The English content (see catalog.english); anything missing falls back to the Chinese.
    english: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    search_text: Mapped[str] = mapped_column(Text, default="")
    source_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    item: Mapped[ServiceItem] = relationship(back_populates="versions")
    category: Mapped[Category] = relationship()
    documents: Mapped[list[DocumentRequirement]] = relationship(
        order_by="DocumentRequirement.position", cascade="all, delete-orphan"
    )
    situations: Mapped[list[Situation]] = relationship(
        order_by="Situation.position", cascade="all, delete-orphan"
    )
    fields: Mapped[list[FormField]] = relationship(
        order_by="FormField.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("item_id", "version", name="uq_item_versions_item_version"),
        Index(
            "uq_item_versions_one_published",
            "item_id",
            unique=True,
            sqlite_where=db.text("state = 'published'"),
            postgresql_where=db.text("state = 'published'"),
        ),
        CheckConstraint("online_depth BETWEEN 1 AND 5", name="online_depth_range"),
        CheckConstraint("visits BETWEEN 0 AND 2", name="visits_range"),
        CheckConstraint("promised_days >= 0 AND promised_days <= legal_days", name="promise_within_law"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
    )


class DocumentRequirement(db.Model):
    """申请材料, applying only when ``condition`` (situation key → allowed option values) holds."""

    __tablename__ = "document_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    form: Mapped[DocForm] = mapped_column(str_enum(DocForm, "doc_form"))
    copies: Mapped[int] = mapped_column(Integer, default=1)
    requirement: Mapped[Requirement] = mapped_column(str_enum(Requirement, "doc_requirement"))
    source: Mapped[DocSource] = mapped_column(str_enum(DocSource, "doc_source"))
    issuer: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    accept: Mapped[list[str]] = mapped_column(JSON, default=list)
    condition: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    blank_form: Mapped[str | None] = mapped_column(String(200))
    sample: Mapped[str | None] = mapped_column(String(200))


class Situation(db.Model):
    """情形: a question whose answer switches documents, fees and form fields."""

    __tablename__ = "situations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(40))
    question: Mapped[str] = mapped_column(String(200))
    options: Mapped[list[SituationOption]] = relationship(
        order_by="SituationOption.position", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("version_id", "key", name="uq_situations_version_key"),)


class SituationOption(db.Model):
    __tablename__ = "situation_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    situation_id: Mapped[int] = mapped_column(ForeignKey("situations.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    fee: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))

    __table_args__ = (UniqueConstraint("situation_id", "value", name="uq_situation_options_value"),)


class FormField(db.Model):
    """A field of the item's online application form."""

    __tablename__ = "form_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[FieldType] = mapped_column(str_enum(FieldType, "field_type"))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    help: Mapped[str] = mapped_column(String(300), default="")
    condition: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)

    __table_args__ = (UniqueConstraint("version_id", "key", name="uq_form_fields_version_key"),)


class Bundle(db.Model):
    """一件事: one guided application fanning out into several items."""

    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    partners: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: English name, aliases, description and partners (catalog.english); missing parts show the Chinese.
    english: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    source_hash: Mapped[str] = mapped_column(String(64), default="")
    items: Mapped[list[BundleItem]] = relationship(
        order_by="BundleItem.position", cascade="all, delete-orphan"
    )
    #: The 一件事 flow (shared questions, steps, field mapping, dependencies), versioned like items: an
    #: admin edits a draft, previews it and publishes; bundle applications pin the version they were
    #: filed under. No published version means the bundle is a guide page only (no online application).
    versions: Mapped[list[BundleVersion]] = relationship(
        back_populates="bundle", order_by="BundleVersion.version", cascade="all, delete-orphan"
    )


class BundleItem(db.Model):
    __tablename__ = "bundle_items"

    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("service_items.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    item: Mapped[ServiceItem] = relationship()


class BundleVersion(db.Model):
    """One version of a bundle's flow. ``definition`` is the document :mod:`catalog.bundle_spec`
    describes and validates (shared questions, shared documents, steps — police items with their field
    mapping, or hand-offs to other departments — and each step's dependencies). Exactly one version per
    bundle is ``published`` (a partial unique index), as for items."""

    __tablename__ = "bundle_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[VersionState] = mapped_column(str_enum(VersionState, "bundle_version_state"))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    bundle: Mapped[Bundle] = relationship(back_populates="versions")

    __table_args__ = (
        UniqueConstraint("bundle_id", "version", name="uq_bundle_versions_bundle_version"),
        Index(
            "uq_bundle_versions_one_published",
            "bundle_id",
            unique=True,
            sqlite_where=db.text("state = 'published'"),
            postgresql_where=db.text("state = 'published'"),
        ),
    )


class ExternalDepartment(db.Model):
    """Another government department a 一件事 hands a step to (卫健, 医保, 人力社保, 税务 …).

    Hand-offs are delivered through the outbox to ``endpoint_url`` as the JSON contract named by
    ``contract`` (documented in :mod:`applications.bundles.contracts`); the department reports back
    through the signed callback endpoint. The shared signing secret is not stored: it is derived from the
    keyring per department and ``secret_generation`` (bump it to rotate)."""

    __tablename__ = "external_departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: where hand-offs are POSTed; empty means the development receiver (records, answers nothing)
    endpoint_url: Mapped[str] = mapped_column(String(300), default="", server_default="")
    contract: Mapped[str] = mapped_column(String(40), default="", server_default="")
    secret_generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    english_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CatalogState(db.Model):
    """A single row whose ``revision`` grows with every catalog change; workers compare it to
    decide when to rebuild their in-memory catalog."""

    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
