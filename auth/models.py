"""Typed models for accounts and units."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedText, blind_index
from core.db import UTCDateTime, db, str_enum, utcnow
from core.masking import mask_id_number, mask_mobile, mask_passport_number

#: The identity documents an account (and a register entry) is held under.
RESIDENT_ID = "resident_id"
PASSPORT = "passport"
ID_TYPES = (RESIDENT_ID, PASSPORT)


def identity_index(id_type: str | None, number: str | None, nationality: str | None = None) -> str | None:
    """The blind index of an identity document number, already normalised.

    A 居民身份证号码 is indexed alone; a passport number under its own scope *with* the nationality,
    so it can never collide with a resident ID number and two countries may issue the same number.
    """
    if not number:
        return None
    number = number.strip().upper()
    if (id_type or RESIDENT_ID) == PASSPORT:
        return blind_index("passport", f"{(nationality or '').upper()}:{number}")
    return blind_index("id_number", number)


class Role(enum.StrEnum):
    """Roles. 三权分立: ``admin`` changes the system, ``auditor`` reads the audit trail; no role does both."""

    CITIZEN = "citizen"
    CLERK = "clerk"
    UNIT_LEAD = "unit_lead"
    ADMIN = "admin"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {
            "citizen": _("群众"),
            "clerk": _("窗口/审核人员"),
            "unit_lead": _("科室负责人"),
            "admin": _("管理员"),
            "auditor": _("审计员"),
        }[self.value]


STAFF_ROLES = frozenset({Role.CLERK, Role.UNIT_LEAD, Role.ADMIN, Role.AUDITOR})


class Assurance(enum.IntEnum):
    """How sure the bureau is of who holds a citizen account (DESIGN §6).

    L0 registered; L1 the mobile number proven by an SMS code; L2 name and ID number matched against
    the population register (人口信息核验), or the person verified in person at a counter.
    """

    L0 = 0
    L1 = 1
    L2 = 2


class UnitKind(enum.StrEnum):
    BUREAU = "bureau"
    BRANCH = "branch"
    POLICE_STATION = "police_station"
    VEHICLE_OFFICE = "vehicle_office"
    EXIT_ENTRY = "exit_entry"
    PUBLIC_ORDER = "public_order"


user_units = Table(
    "user_units",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(db.Model):
    """A public-security unit: city bureau → branch bureaus → police stations / 车管所 / 出入境大队."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, "unit_kind"))
    district: Mapped[str | None] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    hours: Mapped[str | None] = mapped_column(String(200))

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class User(UserMixin, db.Model):
    """An account. Citizens register themselves; staff are created by ``flask users create``.

    ``session_token`` is part of the login cookie: rotating it (logout, password change, disable)
    ends every session of the account, including cookies copied earlier.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"), default=Role.CITIZEN)
    # Personal data is stored encrypted (core.crypto); the mobile and the ID number are found and kept
    # unique through their blind indexes, set together with the value by the properties below.
    real_name: Mapped[str] = mapped_column(EncryptedText("name"))
    mobile_enc: Mapped[str | None] = mapped_column("mobile", EncryptedText("contact"))
    mobile_bidx: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_number_enc: Mapped[str | None] = mapped_column("id_number", EncryptedText("identity"))
    id_number_bidx: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: ``resident_id`` (居民身份证) or ``passport`` (a foreigner): what ``id_number`` is.
    id_type: Mapped[str] = mapped_column(String(16), default=RESIDENT_ID, server_default=RESIDENT_ID)
    #: A passport holder's nationality, ISO 3166-1 alpha-3 (not personal enough to encrypt).
    nationality: Mapped[str | None] = mapped_column(String(3))
    #: The name as printed in the passport (foreigners), encrypted like ``real_name``.
    english_name: Mapped[str | None] = mapped_column(EncryptedText("name"))
    #: The passport number alone, whatever the nationality: login by passport number (not unique).
    passport_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    username: Mapped[str | None] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: :class:`Assurance` (0, 1, 2); staff accounts stay 0 (their identity is the bureau's business).
    assurance: Mapped[int] = mapped_column(Integer, default=0)
    #: How L2 was reached: ``register`` (人口信息核验) or ``counter`` (verified in person).
    identity_source: Mapped[str | None] = mapped_column(String(20))
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: A disputed account: another person proved the ID number; the account is disabled and its ID
    #: number released (kept masked in ``frozen_reason``) until a counter resolves it.
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    frozen_reason: Mapped[str | None] = mapped_column(String(200))
    #: The holder deleted the account (PIPL §47): personal data erased, the row kept anonymised so
    #: applications, statistics and the audit trail still point at it (see applications.rights).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    units: Mapped[list[Unit]] = relationship(secondary=user_units, order_by=Unit.code)

    __table_args__ = (
        CheckConstraint(
            "role <> 'citizen' OR (mobile IS NOT NULL AND (id_number IS NOT NULL OR frozen_at IS NOT NULL))",
            name="citizen_identity",
        ),
        CheckConstraint("assurance BETWEEN 0 AND 2", name="assurance_level"),
        CheckConstraint("role = 'citizen' OR username IS NOT NULL", name="staff_username"),
        CheckConstraint(
            "id_type = 'resident_id' OR (id_type = 'passport' AND nationality IS NOT NULL)",
            name="user_id_type",
        ),
    )

    # Encrypted identifiers ------------------------------------------------------------------
    @hybrid_property
    def mobile(self) -> str | None:
        return self.mobile_enc

    @mobile.inplace.setter
    def _mobile_set(self, value: str | None) -> None:
        self.mobile_enc = value
        self.mobile_bidx = blind_index("mobile", value.strip() if value else None)

    @mobile.inplace.expression
    @classmethod
    def _mobile_expr(cls) -> ColumnElement[str | None]:
        return cls.mobile_enc

    @hybrid_property
    def id_number(self) -> str | None:
        return self.id_number_enc

    @id_number.inplace.setter
    def _id_number_set(self, value: str | None) -> None:
        """Under the account's current ``id_type`` and ``nationality`` (set them first, or use
        :meth:`set_identity`)."""
        self.id_number_enc = value
        self.id_number_bidx = identity_index(self.id_type, value, self.nationality)
        is_passport = (self.id_type or RESIDENT_ID) == PASSPORT
        self.passport_bidx = (
            blind_index("passport_number", value.strip().upper()) if value and is_passport else None
        )

    def set_identity(self, id_type: str, number: str, nationality: str | None = None) -> None:
        """The identity document the account is held under, with its blind indexes."""
        self.id_type = id_type
        self.nationality = nationality.upper() if id_type == PASSPORT and nationality else None
        self.id_number = number

    @id_number.inplace.expression
    @classmethod
    def _id_number_expr(cls) -> ColumnElement[str | None]:
        return cls.id_number_enc

    @classmethod
    def mobile_is(cls, mobile: str) -> ColumnElement[bool]:
        """``WHERE`` the account's mobile is ``mobile`` (normalised), through the blind index."""
        return cls.mobile_bidx == blind_index("mobile", mobile.strip())

    @classmethod
    def id_number_is(
        cls, id_number: str, id_type: str = RESIDENT_ID, nationality: str | None = None
    ) -> ColumnElement[bool]:
        """``WHERE`` the account's ID number is ``id_number`` (normalised), through the blind index; a
        passport number is named with its nationality."""
        return cls.id_number_bidx == identity_index(id_type, id_number, nationality)

    @classmethod
    def passport_number_is(cls, number: str) -> ColumnElement[bool]:
        """``WHERE`` the account is held under passport ``number`` of any nationality (login)."""
        return cls.passport_bidx == blind_index("passport_number", number.strip().upper())

    # Flask-Login ----------------------------------------------------------------------------
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    # Presentation ---------------------------------------------------------------------------
    @property
    def role_value(self) -> str:
        return Role(self.role).value

    @property
    def is_staff(self) -> bool:
        return Role(self.role) in STAFF_ROLES

    @property
    def is_passport_holder(self) -> bool:
        return self.id_type == PASSPORT

    @property
    def nationality_label(self) -> str:
        """The nationality's name in the page's language (``美国`` / ``United States``)."""
        from flask_babel import get_locale

        from auth.identity import nationality_name

        return nationality_name(self.nationality, str(get_locale() or "zh_CN"))

    @property
    def masked_id_number(self) -> str:
        if self.is_passport_holder:
            return mask_passport_number(self.id_number)
        return mask_id_number(self.id_number)

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.mobile)

    @property
    def audit_label(self) -> str:
        """How the actor appears in the audit trail: staff by username, citizens masked."""
        if self.username:
            return self.username
        return self.masked_mobile or f"user#{self.id}"

    @property
    def display_name(self) -> str:
        return self.real_name

    @property
    def level(self) -> Assurance:
        return Assurance(self.assurance or 0)

    def rotate_session_token(self) -> None:
        self.session_token = secrets.token_hex(16)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role_value}>"


class LoginThrottle(db.Model):
    """Failed-login counter and lock, shared by every worker and machine through the database.

    ``key`` is ``user:<id>`` for an existing account and ``ident:<sha256>`` for an identifier that
    matches none, so "no such account" and "wrong password" behave exactly alike.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Resident(db.Model):
    """One person of the population register (人口信息) the bureau keeps: the source of truth that
    an account's name and ID number are checked against for L2 (see :mod:`auth.population`)."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number_enc: Mapped[str] = mapped_column("id_number", EncryptedText("identity"))
    id_number_bidx: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``resident_id``, or ``passport`` for a foreigner the bureau registered (居留许可).
    id_type: Mapped[str] = mapped_column(String(16), default=RESIDENT_ID, server_default=RESIDENT_ID)
    #: A passport's nationality, ISO 3166-1 alpha-3.
    nationality: Mapped[str | None] = mapped_column(String(3))
    #: The name as the register holds it (a foreigner's: as in the passport).
    name: Mapped[str] = mapped_column(EncryptedText("name"))
    district: Mapped[str | None] = mapped_column(String(32))
    #: ``normal``; ``cancelled`` (注销: died, emigrated) no longer verifies.
    status: Mapped[str] = mapped_column(String(16), default="normal")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @hybrid_property
    def id_number(self) -> str:
        return self.id_number_enc

    @id_number.inplace.setter
    def _id_number_set(self, value: str) -> None:
        """Under the entry's current ``id_type`` and ``nationality`` (set them first)."""
        self.id_number_enc = value
        self.id_number_bidx = identity_index(self.id_type, value, self.nationality)  # type: ignore[assignment]

    @id_number.inplace.expression
    @classmethod
    def _id_number_expr(cls) -> ColumnElement[str]:
        return cls.id_number_enc

    @classmethod
    def id_number_is(
        cls, id_number: str, id_type: str = RESIDENT_ID, nationality: str | None = None
    ) -> ColumnElement[bool]:
        return cls.id_number_bidx == identity_index(id_type, id_number, nationality)

    @classmethod
    def id_number_in(cls, numbers: list[str]) -> ColumnElement[bool]:
        return cls.id_number_bidx.in_([blind_index("id_number", n.strip().upper()) for n in numbers])

    @classmethod
    def bidx_in(cls, indexes: list[str]) -> ColumnElement[bool]:
        """``WHERE`` the entry's blind index is one of ``indexes`` (:func:`identity_index`)."""
        return cls.id_number_bidx.in_(indexes)


class VerificationCode(db.Model):
    """A 6-digit SMS code, hashed (HMAC with the app's secret), for one purpose and one number:
    5 minutes, single use, 5 tries."""

    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    #: the mobile's blind index (core.crypto): the code is matched to a number without storing it
    mobile_bidx: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    #: A keyed hash of the requester's IP address, for the per-IP daily cap (never the address).
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_verification_codes_mobile", "mobile_bidx", "purpose", "created_at"),
        Index("ix_verification_codes_ip", "ip_hash", "created_at"),
    )
