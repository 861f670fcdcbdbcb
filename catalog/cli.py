"""``flask catalog load PATH``: validate and upsert catalog files (all or nothing)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from catalog.loader import CatalogError, load
from core.db import db
from core.transaction import commit

catalog_cli = AppGroup("catalog", help="服务事项目录")
DEMO_DATA = Path(__file__).resolve().parent / "data"


@catalog_cli.command("load")
@click.argument("path", type=click.Path(exists=True, path_type=Path), default=DEMO_DATA)
def load_command(path: Path) -> None:
    """Load units, items and bundles from PATH (a folder or one file); all or nothing."""
    try:
        result = load(path)
    except CatalogError as exc:
        db.session.rollback()
        click.echo("目录文件有误，未导入任何内容：", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1) from exc
    commit()
    click.echo(
        "单位 新增{created} 更新{updated} 未变{unchanged}；".format(**result.units)
        + "事项 新增{created} 更新{updated} 未变{unchanged}；".format(**result.items)
        + "一件事 新增{created} 更新{updated} 未变{unchanged}".format(**result.bundles)
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(catalog_cli)
