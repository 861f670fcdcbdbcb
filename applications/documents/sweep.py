"""Removing stored files that no database row references (``flask storage sweep``).

Uploads are saved before the row that points at them is committed (see :mod:`core.storage`), so a
failed or abandoned request leaves an orphan file behind. The sweeper deletes stored files that are
not referenced *and* are older than a grace period: a file written a moment ago may belong to a request
whose transaction has not committed yet, so it is left alone until the next run.

``referenced_keys`` must be complete — every table that stores a storage key (application documents,
wallet documents, …) — because anything missing from it is deleted once it is old enough.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from core.storage import Storage

log = logging.getLogger(__name__)

DEFAULT_GRACE_SECONDS = 3600


def sweep_orphans(
    storage: Storage,
    referenced_keys: set[str],
    older_than_seconds: int = DEFAULT_GRACE_SECONDS,
    *,
    now: float | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Delete stored files that are not in ``referenced_keys`` and older than ``older_than_seconds``.

    Returns the deleted keys. Files newer than the grace period are kept even when unreferenced, so an
    upload whose row is still being committed is never removed. Leftover temp files from a killed save
    are purged too when the storage supports it (``LocalStorage.purge_temp``). ``dry_run`` returns the
    keys that would go and deletes nothing. Raises ``ValueError`` for a negative grace period.
    """
    if older_than_seconds < 0:
        raise ValueError("older_than_seconds must not be negative")
    now = time.time() if now is None else now
    cutoff = now - older_than_seconds
    referenced = frozenset(referenced_keys)
    # Materialise the listing first: deleting while a directory is being scanned is not portable.
    listing = list(storage.keys())
    candidates = [key for key, mtime in listing if key not in referenced and mtime < cutoff]
    if dry_run:
        return candidates
    deleted: list[str] = []
    for key in candidates:
        storage.delete(key)
        deleted.append(key)
    if deleted:
        log.info("storage sweep removed %d orphaned file(s)", len(deleted))
    purge_rows = getattr(storage, "purge_rows", None)
    if callable(purge_rows):  # key rows of encrypted files (core.filecrypt) left without their file
        rows = purge_rows(referenced, older_than_seconds)
        if rows:
            log.info("storage sweep removed %d key row(s) of files no longer stored", rows)
    purge_temp = getattr(storage, "purge_temp", None)
    if callable(purge_temp):
        temps = purge_temp(older_than_seconds, now=now)
        if temps:
            log.info("storage sweep removed %d abandoned temp file(s)", temps)
    return deleted


def register_cli(app: Flask, referenced_keys_fn: Callable[[], Iterable[str]]) -> None:
    """Add ``flask storage sweep [--grace-seconds N]`` to ``app``.

    ``referenced_keys_fn()`` is called inside the app context and must return every key the database
    still references.
    """
    import click
    from flask import current_app
    from flask.cli import AppGroup

    from core.storage import get_storage

    group = AppGroup("storage", help="上传文件存储")

    @group.command("sweep")
    @click.option(
        "--grace-seconds",
        type=click.IntRange(min=0),
        default=DEFAULT_GRACE_SECONDS,
        show_default=True,
        help="只删除早于这么多秒之前写入、且没有任何记录引用的文件",
    )
    def sweep(grace_seconds: int) -> None:
        """Delete uploaded files that no record references."""
        referenced = set(referenced_keys_fn())
        deleted = sweep_orphans(get_storage(), referenced, grace_seconds)
        if "sqlalchemy" in current_app.extensions:  # the files' key rows went in the session
            from core.db import db

            db.session.commit()
        click.echo(f"removed {len(deleted)} orphaned file(s); {len(referenced)} referenced")

    @group.command("encrypt")
    @click.option("--batch", type=click.IntRange(min=1), default=200, show_default=True, help="每批文件数")
    def encrypt(batch: int) -> None:
        """Encrypt files written before encryption (the data migration does this once; run it after
        an old version kept writing during a rolling deploy). Safe to interrupt and run again."""
        from core.crypto import KeyringError
        from core.db import db
        from core.filecrypt import encrypt_existing

        inner = getattr(get_storage(), "inner", None)
        if inner is None:
            raise click.ClickException("this instance does not encrypt stored files")
        with db.engine.connect() as conn:
            keyring = current_app.extensions["keyring"]
            try:
                n = encrypt_existing(conn, inner, keyring, batch=batch, commit=conn.commit, echo=click.echo)
            except KeyringError as exc:
                raise click.ClickException(str(exc)) from None
        click.echo(f"encrypted {n} file(s) written before encryption")

    app.cli.add_command(group)
