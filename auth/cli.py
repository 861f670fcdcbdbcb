"""``flask users …`` for staff accounts and ``flask demo accounts`` for the demo logins."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from auth import operations as ops
from auth.identity import id_check_char
from auth.models import Assurance, Role, User
from auth.population import DatabaseRegister, import_residents, read_csv
from core.db import db
from core.errors import DomainError
from core.transaction import commit

users = AppGroup("users", help="管理工作人员账号")
demo = AppGroup("demo", help="演示数据")

DEMO_PASSWORD = "Demo-2026"  # noqa: S105 - the published demo password, printed by make run

# (username, name, role, unit codes); units come from catalog/data/units.yaml.
# Fixed demo staff (username, name, role, unit codes); one clerk per operational unit is added
# from the units in the database (see ensure_demo_accounts). Units come from catalog/data/units.yaml.
DEMO_STAFF: list[tuple[str, str, Role, list[str]]] = [
    ("lead_dc", "刘卫东", Role.UNIT_LEAD, ["LJ-PS-DC-01", "LJ-PS-DC-02"]),
    ("lead_xc", "马丽", Role.UNIT_LEAD, ["LJ-PS-XC-01", "LJ-PS-XC-02"]),
    ("lead_jn", "杨帆", Role.UNIT_LEAD, ["LJ-PS-JN-01", "LJ-PS-JN-02"]),
    ("lead_gx", "许斌", Role.UNIT_LEAD, ["LJ-PS-GX-01", "LJ-PS-GX-02"]),
    ("lead_vo", "韩磊", Role.UNIT_LEAD, ["LJ-VO", "LJ-VO-JN"]),
    ("lead_ee", "邓琦", Role.UNIT_LEAD, ["LJ-EE"]),
    ("lead_za", "曹阳", Role.UNIT_LEAD, ["LJ-ZA"]),
    ("admin", "周敏", Role.ADMIN, []),
    ("auditor", "孙立", Role.AUDITOR, []),
]
DEMO_CLERK_NAMES = [
    "王建国",
    "李明华",
    "陈静",
    "赵强",
    "黄丽",
    "吴涛",
    "徐娜",
    "朱军",
    "胡平",
    "郭芳",
    "何勇",
    "高洁",
    "林峰",
    "罗琳",
    "梁超",
    "宋雨",
]

DEMO_CITIZEN = {
    "real_name": "张晓明",
    "id_number": "330102199003071230",
    "mobile": "13800000001",
}


def _fail(exc: DomainError) -> None:
    db.session.rollback()
    raise click.ClickException(str(exc))


@users.command("create")
@click.option("--username", required=True)
@click.option("--name", "real_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role if r != Role.CITIZEN]), required=True)
@click.option("--unit", "units", multiple=True, help="单位编码，可重复")
@click.password_option(envvar="STAFF_PASSWORD")
def create_user(username: str, real_name: str, role: str, units: tuple[str, ...], password: str) -> None:
    """Create a staff account."""
    try:
        user = ops.create_staff(
            username=username, real_name=real_name, role=role, password=password, unit_codes=list(units)
        )
    except DomainError as exc:
        _fail(exc)
    commit()
    click.echo(f"created {user.username} ({role})")


@users.command("disable")
@click.argument("username")
def disable_user(username: str) -> None:
    """Disable a staff account and end its sessions."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no such account: {username}")
    ops.set_active(user, False)
    commit()
    click.echo(f"disabled {username}")


@users.command("list")
def list_users() -> None:
    """List staff accounts."""
    for user in db.session.scalars(select(User).where(User.role != Role.CITIZEN).order_by(User.username)):
        units = ",".join(u.code for u in user.units)
        state = "active" if user.active else "disabled"
        click.echo(f"{user.username:20} {user.role_value:10} {state:8} {units}")


#: The population register's demo extract: the demo citizen and a few neighbours, so that registering
#: one of them reaches L2 (and anyone else stays at L1, as in real life).
DEMO_RESIDENTS = [
    {"身份证号码": DEMO_CITIZEN["id_number"], "姓名": DEMO_CITIZEN["real_name"], "辖区": "东城区"},
    {"身份证号码": "330102198805124321", "姓名": "李华", "辖区": "东城区"},
    {"身份证号码": "330106199512013015", "姓名": "王芳", "辖区": "西城区"},
    {"身份证号码": "330108200001011234", "姓名": "赵磊", "辖区": "高新区"},
]


def ensure_demo_residents() -> int:
    """Load the demo extract of the population register (idempotent); how many were added."""
    rows = []
    for row in DEMO_RESIDENTS:
        first17 = row["身份证号码"][:17]
        rows.append({**row, "身份证号码": first17 + id_check_char(first17)})
    return import_residents(rows).added


def ensure_demo_accounts() -> list[tuple[str, str, str]]:
    """Create the demo accounts that do not exist yet; return (login, password, description) rows."""
    from auth.models import Unit

    rows: list[tuple[str, str, str]] = []
    citizen = db.session.scalar(
        select(User).where(
            User.mobile_is(DEMO_CITIZEN["mobile"]) | User.id_number_is(DEMO_CITIZEN["id_number"])
        )
    )
    ensure_demo_residents()
    if citizen is None:
        citizen = ops.register_citizen(password=DEMO_PASSWORD, register=DatabaseRegister(), **DEMO_CITIZEN)
    elif citizen.level < Assurance.L2:  # made before accounts had levels: verify it as a person would
        ops.mark_mobile_verified(citizen)
        ops.verify_identity(citizen, DatabaseRegister())
    rows.append((DEMO_CITIZEN["mobile"], DEMO_PASSWORD, "群众（张晓明，已实名核验）"))
    known = set(db.session.scalars(select(Unit.code)))
    operational = db.session.scalars(
        select(Unit)
        .where(Unit.kind.in_(["police_station", "vehicle_office", "exit_entry", "public_order"]))
        .order_by(Unit.code)
    ).all()
    clerks = [
        (
            "clerk_" + u.code.removeprefix("LJ-").replace("-", "_").lower(),
            DEMO_CLERK_NAMES[i % len(DEMO_CLERK_NAMES)],
            Role.CLERK,
            [u.code],
        )
        for i, u in enumerate(operational)
    ]
    for username, name, role, unit_codes in clerks + DEMO_STAFF:
        codes = [c for c in unit_codes if c in known]
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            ops.create_staff(
                username=username, real_name=name, role=role, password=DEMO_PASSWORD, unit_codes=codes
            )
        unit_names = "、".join(
            db.session.scalars(select(Unit.name).where(Unit.code.in_(codes)).order_by(Unit.code))
        )
        where = f"（{unit_names}）" if unit_names else ""
        rows.append((username, DEMO_PASSWORD, f"{Role(role).label}{where}"))
    return rows


@demo.command("accounts")
def demo_accounts() -> None:
    """Create the demo accounts (idempotent) and print the logins."""
    rows = ensure_demo_accounts()
    commit()
    click.echo(f"\n演示账号（密码均为 {DEMO_PASSWORD}）：")
    for login, _password, description in rows:
        click.echo(f"  {login:16} {description}")


population = AppGroup("register", help="人口信息（实名核验的依据）")


@population.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_register(path: str) -> None:
    """Load a CSV extract (身份证号码,姓名,辖区[,状态]; UTF-8) into the population register."""
    with open(path, "rb") as fh:
        result = import_residents(read_csv(fh.read()))
    commit()
    click.echo(f"added {result.added}, updated {result.updated}, rejected {len(result.rejected or [])}")
    for line in result.rejected or []:
        click.echo(f"  {line}")


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(population)
