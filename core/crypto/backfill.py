"""Re-encrypt stored values in batches: the data migration (plaintext → ciphertext, filling the blind
indexes) and key rotation (old data key → the active one) are the same walk.

A row is *pending* while its value does not start with ``e1.<active key id>.``, so the walk is naturally
restartable: kill it at any point, run it again, and it carries on with the rows still pending. Each batch
is committed by the caller's ``commit`` callback (the migration passes none: its transaction is the unit).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Text, column, func, select, table, update

from core.crypto.keyring import TOKEN_PREFIX, Keyring

#: how a blind index normalises what it indexes (the same functions the lookups use)
NORMALISERS: dict[str, Callable[[str], str]] = {
    "id_number": lambda v: v.strip().upper(),
    "mobile": lambda v: v.strip(),
}


@dataclass(frozen=True)
class Field:
    """One encrypted column, with the blind index that goes with it, if any."""

    table: str
    column: str
    purpose: str
    json: bool = False
    index_column: str | None = None
    index_scope: str | None = None
    pk: str = "id"

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


def _t(field: Field):
    cols = [column(field.pk), column(field.column, Text)]
    if field.index_column:
        cols.append(column(field.index_column, Text))
    return table(field.table, *cols)


def _pending_clause(field: Field, kid: str):
    t = _t(field)
    return t, (t.c[field.column].is_not(None)) & (~t.c[field.column].like(f"{TOKEN_PREFIX}{kid}.%"))


def pending(conn: Connection, keyring: Keyring, field: Field) -> int:
    t, clause = _pending_clause(field, keyring.current_kid(field.purpose))
    return conn.execute(select(func.count()).select_from(t).where(clause)).scalar_one()


def walk(
    conn: Connection,
    keyring: Keyring,
    fields: Iterable[Field],
    *,
    batch: int = 500,
    commit: Callable[[], None] | None = None,
) -> Iterator[tuple[Field, int, int]]:
    """Re-encrypt every pending value; yields ``(field, done, total)`` after each batch."""
    for field in fields:
        total = pending(conn, keyring, field)
        done = 0
        kid = keyring.current_kid(field.purpose)
        t, clause = _pending_clause(field, kid)
        last = None
        while True:
            query = (
                select(t.c[field.pk], t.c[field.column]).where(clause).order_by(t.c[field.pk]).limit(batch)
            )
            if last is not None:
                query = query.where(t.c[field.pk] > last)
            rows = conn.execute(query).all()
            if not rows:
                break
            for pk, raw in rows:
                plain = keyring.decrypt(field.purpose, raw) if raw.startswith(TOKEN_PREFIX) else raw
                if field.json:
                    plain = json.dumps(json.loads(plain), ensure_ascii=False, separators=(",", ":"))
                values = {field.column: keyring.encrypt(field.purpose, plain)}
                if field.index_column and field.index_scope:
                    normalised = NORMALISERS[field.index_scope](plain)
                    values[field.index_column] = (
                        keyring.blind_index(field.index_scope, normalised) if normalised else None
                    )
                # only if nobody changed the row meanwhile (the site keeps running): else it is
                # written anew under the active key anyway
                conn.execute(update(t).where(t.c[field.pk] == pk, t.c[field.column] == raw).values(**values))
                last = pk
            done += len(rows)
            if commit is not None:
                commit()
            yield field, done, total
        if total == 0:
            yield field, 0, 0


def model_fields(metadata) -> list[Field]:
    """Every encrypted column of the current models (what rotation re-encrypts)."""
    from core.crypto.types import EncryptedJSON, EncryptedText

    out = []
    for tbl in metadata.sorted_tables:
        pk = list(tbl.primary_key.columns)
        if len(pk) != 1:
            continue
        for col in tbl.columns:
            if isinstance(col.type, (EncryptedText, EncryptedJSON)):
                out.append(
                    Field(
                        tbl.name,
                        col.name,
                        col.type.purpose,
                        json=isinstance(col.type, EncryptedJSON),
                        pk=pk[0].name,
                    )
                )
    return out
