"""``flask keys``: create the keys, show where they stand, rotate them while the site runs.

- ``flask keys init`` — the master key (if none yet) and a data key per purpose (``flask db upgrade``
  does this too).
- ``flask keys status`` — master key source and id, data keys, and how many values are still under a
  retired key (what a rotation has left to do).
- ``flask keys rotate`` — a new data key per purpose, then every value re-encrypted under it in committed
  batches; ``--master`` first adds a new master key and re-wraps the data keys and every file's key;
  ``--resume`` only carries on with what an interrupted rotation left (no new keys). Progress is printed
  after each batch; killing it is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from core.crypto import backfill
from core.crypto.keyring import PURPOSES, Keyring, KeyringError

#: extra steps a rotation runs after the fields, e.g. re-wrapping file keys (applications.documents):
#: ``step(conn, keyring, batch, commit) -> iterator of (label, done, total)``
RotationStep = Callable[..., Iterator[tuple[str, int, int]]]
ROTATION_STEPS: list[RotationStep] = []


def register_rotation_step(step: RotationStep) -> None:
    if step not in ROTATION_STEPS:
        ROTATION_STEPS.append(step)


def _keyring() -> Keyring:
    return current_app.extensions["keyring"]


def rotate(*, master: bool, resume: bool, batch: int, echo: Callable[[str], None]) -> None:
    """The rotation itself (the command is a thin wrapper; tests call this)."""
    from core.db import db

    keyring = _keyring()
    with db.engine.connect() as conn, keyring.using(conn):
        if master and not resume:
            mid = keyring.master.add_key(current_app.config)
            changed = keyring.rewrap_data_keys(conn)
            conn.commit()
            echo(f"新主密钥 {mid}；已重新封装 {changed} 个数据密钥")
        if not resume and not master:
            for purpose in PURPOSES:
                if purpose != "index":
                    kid = keyring.rotate_data_key(conn, purpose)
                    echo(f"{purpose}: 新数据密钥 {kid}")
            conn.commit()
        keyring.refresh(conn)
        fields = backfill.model_fields(db.metadata)
        for field, done, total in backfill.walk(conn, keyring, fields, batch=batch, commit=conn.commit):
            echo(f"{field.name}: {done}/{total}")
        for step in ROTATION_STEPS:
            for label, done, total in step(conn, keyring, batch, conn.commit):
                echo(f"{label}: {done}/{total}")
        conn.commit()


def register_cli(app: Flask) -> None:
    @app.cli.group("keys")
    def keys() -> None:
        """Encryption keys for personal data at rest."""

    @keys.command("init")
    def init_command() -> None:
        """Create the master key (first start only) and a data key per purpose."""
        from core.db import db

        with db.engine.connect() as conn:
            created = _keyring().ensure(conn)
            conn.commit()
        click.echo(f"已创建数据密钥：{', '.join(created)}" if created else "密钥已就绪")

    @keys.command("status")
    def status_command() -> None:
        """Master key, data keys, and values still under a retired key."""
        from core.db import db

        keyring = _keyring()
        try:
            master = keyring.master
        except KeyringError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"主密钥：{master.current_id}（来源 {master.source}，共 {len(master.keys)} 个）")
        with db.engine.connect() as conn:
            keyring.refresh(conn)
            for material in sorted(keyring._keys.values(), key=lambda m: (m.purpose, not m.active)):
                state = "使用中" if material.active else "已停用"
                click.echo(f"  {material.purpose:<9} {material.kid} {material.algorithm:<12} {state}")
            for field in backfill.model_fields(db.metadata):
                left = backfill.pending(conn, keyring, field)
                if left:
                    click.echo(f"  待重新加密 {field.name}: {left}")
            from core.filecrypt import StoredFile

            table = StoredFile.__table__
            files = conn.execute(
                select(func.count()).select_from(table).where(table.c.master_id != master.current_id)
            ).scalar_one()
            if files:
                click.echo(f"  待重新封装的文件密钥: {files}（flask keys rotate --master --resume）")

    @keys.command("rotate")
    @click.option("--master", is_flag=True, help="也轮换主密钥（重新封装数据密钥和文件密钥）")
    @click.option("--resume", is_flag=True, help="只继续上次中断的轮换，不生成新密钥")
    @click.option("--batch", default=500, show_default=True, help="每批处理的行数")
    def rotate_command(master: bool, resume: bool, batch: int) -> None:
        """Rotate keys and re-encrypt in committed batches (safe to interrupt; --resume carries on)."""
        try:
            rotate(master=master, resume=resume, batch=batch, echo=click.echo)
        except KeyringError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo("轮换完成")
