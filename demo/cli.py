"""``flask demo load``: the demo catalog, demo accounts and demo routing rules (idempotent)."""

from __future__ import annotations

import os

import click
from sqlalchemy import select

from applications.models import RoutingRule
from auth.cli import DEMO_PASSWORD, demo, ensure_demo_accounts
from auth.models import Unit
from catalog.cli import DEMO_DATA
from catalog.loader import CatalogError, load
from catalog.models import Category
from core.db import db
from core.storage import get_storage
from core.transaction import commit
from demo.appointments import ensure_demo_hours
from demo.ecert import ensure_demo_certificates, ensure_demo_sources

# (category code, district, accepting unit code, note): rules a city would really keep.
DEMO_RULES = [
    ("vehicle", "江南区", "LJ-VO-JN", "江南区的车驾管业务由车管所江南分所受理"),
]


def ensure_demo_rules() -> int:
    """Create the demo routing rules that do not exist yet; return how many were added."""

    added = 0
    for category_code, district, unit_code, note in DEMO_RULES:
        category = db.session.scalar(select(Category).where(Category.code == category_code))
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if category is None or unit is None:
            continue
        exists = db.session.scalar(
            select(RoutingRule.id).where(
                RoutingRule.category_id == category.id,
                RoutingRule.district == district,
                RoutingRule.unit_id == unit.id,
            )
        )
        if exists is None:
            db.session.add(
                RoutingRule(
                    position=10, category_id=category.id, district=district, unit_id=unit.id, note=note
                )
            )
            added += 1
    return added


@demo.command("load")
def demo_load() -> None:
    """Load the demo catalog, accounts and routing rules (idempotent) and print the logins."""
    try:
        result = load(DEMO_DATA, only_missing=True)  # never revert what an admin published
    except CatalogError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1) from exc
    rows = ensure_demo_accounts()
    rules = ensure_demo_rules()
    hours, slots = ensure_demo_hours()
    commit()
    click.echo(
        f"演示目录：事项 {sum(result.items.values())} 项（新增 {result.items['created']}，"
        f"更新 {result.items['updated']}）；新增分派规则 {rules} 条"
    )
    click.echo(f"预约：新增开放时间 {hours} 条，新增时段 {slots} 个（未来 30 天）")
    click.echo(f"\n演示账号（密码均为 {DEMO_PASSWORD}）：")
    for login, _password, description in rows:
        click.echo(f"  {login:18} {description}")
    click.echo(f"\n打开 http://127.0.0.1:{os.environ.get('PORT', '8000')}/ 开始使用。")


@demo.command("ecert")
def demo_ecert() -> None:
    """Issue the demo citizen's e-certificates through the real completion path and set the demo
    免提交 rules (idempotent). Run after ``flask demo simulate``, whose ``--if-empty`` looks for
    applications."""
    ensure_demo_sources()
    certificates = ensure_demo_certificates(get_storage())
    commit()
    for c in certificates:
        click.echo(
            f"电子证照：已为演示群众签发 {c.cert_type} {c.number}（“我的材料”中出示二维码，/verify 核验）"
        )
