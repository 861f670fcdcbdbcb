"""factory_boy factories; Faker('zh_CN') gives valid 居民身份证号码 and names."""

from __future__ import annotations

import factory
from faker import Faker

from auth.models import Role, Unit, UnitKind, User
from auth.passwords import hash_password
from core.db import db

fake = Faker("zh_CN")
DEFAULT_PASSWORD = "Passw0rd!x"


class Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UnitFactory(Base):
    class Meta:
        model = Unit

    code = factory.Sequence(lambda n: f"T-UNIT-{n:03d}")
    name = factory.Sequence(lambda n: f"测试派出所{n}")
    kind = UnitKind.POLICE_STATION
    district = "东城区"


def _unique_mobile(n: int) -> str:
    return f"139{n:08d}"


class CitizenFactory(Base):
    class Meta:
        model = User

    role = Role.CITIZEN
    real_name = factory.LazyFunction(fake.name)
    id_number = factory.Sequence(lambda n: _id_number(n))
    mobile = factory.Sequence(_unique_mobile)
    password_hash = factory.LazyFunction(lambda: hash_password(DEFAULT_PASSWORD))
    #: Test citizens are real-name verified (L2) unless a test says otherwise (assurance=1 or 0).
    assurance = 2
    identity_source = "register"


class StaffFactory(Base):
    class Meta:
        model = User

    role = Role.CLERK
    real_name = factory.LazyFunction(fake.name)
    username = factory.Sequence(lambda n: f"staff{n}")
    password_hash = factory.LazyFunction(lambda: hash_password(DEFAULT_PASSWORD))


def _id_number(n: int) -> str:
    """A valid, unique ID number: Faker's address code and birth date, sequence from ``n``."""
    from auth.identity import id_check_char

    base = fake.ssn()[:14] + f"{n % 1000:03d}"
    return base + id_check_char(base)
