"""The population register (人口信息核验): is this name and ID number a real person the bureau knows?

The bureau keeps the register itself, so this is a :class:`PopulationRegister` interface with a
database-backed implementation over the ``residents`` table (loaded from the bureau's extract with
``flask register import``), not a remote call — and never a stub that says yes. An ID number that is
not in the register, or whose name differs, or whose record is cancelled (注销), does not verify.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from auth.identity import (
    IdNumberError,
    normalise_english_name,
    normalise_id_number,
    normalise_passport_number,
    validate_id_number,
    validate_nationality,
    validate_passport_number,
)
from auth.models import PASSPORT, RESIDENT_ID, Resident, identity_index
from core import audit
from core.db import db


class PopulationRegister(Protocol):
    """Anything that can say whether a name and an ID number (or a passport number of a nationality,
    with the name as in the passport) belong to one living resident."""

    def verify(
        self, name: str, id_number: str, *, id_type: str = RESIDENT_ID, nationality: str | None = None
    ) -> bool: ...


class DatabaseRegister:
    """The register as the ``residents`` table holds it; a foreigner's entry (居留许可) holds the
    passport number, its nationality and the name as in the passport (compared ignoring case and
    spacing)."""

    def verify(
        self, name: str, id_number: str, *, id_type: str = RESIDENT_ID, nationality: str | None = None
    ) -> bool:
        if id_type == PASSPORT:
            number = normalise_passport_number(id_number)
            same_name = lambda held: normalise_english_name(held) == normalise_english_name(name)  # noqa: E731
        else:
            number = normalise_id_number(id_number)
            same_name = lambda held: held == name.strip()  # noqa: E731
        resident = db.session.scalar(
            select(Resident).where(Resident.id_number_is(number, id_type, nationality))
        )
        matched = resident is not None and resident.status == "normal" and same_name(resident.name)
        if resident is not None:  # a resident's record was decrypted for someone's claim: on the record
            details = {"matched": matched}
            audit.record("population.match", object_type="resident", object_id=resident.id, details=details)
        return matched


def default_register() -> PopulationRegister:
    return DatabaseRegister()


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    rejected: list[str] | None = None


def _row_document(row: dict[str, str]) -> tuple[str, str, str | None]:
    """``(id_type, number, nationality)`` of a row: 证件类型 ``护照``/``passport`` with 国籍
    (nationality) makes a passport entry; anything else a 居民身份证. Raises :class:`IdNumberError`."""
    kind = (row.get("证件类型") or row.get("id_type") or "").strip().lower()
    raw = (row.get("身份证号码") or row.get("证件号码") or row.get("id_number") or "").strip()
    if kind in ("护照", PASSPORT):
        nationality = validate_nationality(row.get("国籍") or row.get("nationality") or "")
        return PASSPORT, validate_passport_number(raw), nationality
    return RESIDENT_ID, validate_id_number(raw), None


def import_residents(rows: Iterable[dict[str, str]]) -> ImportResult:
    """Add or update residents from rows with 身份证号码 / 姓名 / 辖区 / 状态 (or id_number / name /
    district / status); a foreigner's row has 证件类型 ``护照``, 证件号码 (the passport number) and
    国籍 (ISO 3166-1 alpha-3), and the name as in the passport. A row with an invalid number or no
    name is rejected (listed by line, the number masked); flushes, the caller commits."""
    result = ImportResult(rejected=[])
    rows = list(rows)
    documents: list[tuple[str, str, str | None] | None] = []
    for row in rows:
        try:
            documents.append(_row_document(row))
        except IdNumberError:
            documents.append(None)
    indexes = [identity_index(*doc) for doc in documents if doc is not None]
    existing: dict[str, Resident] = {}
    for start in range(0, len(indexes), 500):
        chunk = [i for i in indexes[start : start + 500] if i]
        existing.update(
            {r.id_number_bidx: r for r in db.session.scalars(select(Resident).where(Resident.bidx_in(chunk)))}
        )
    for line, (row, document) in enumerate(zip(rows, documents, strict=True), start=2):
        name = (row.get("姓名") or row.get("name") or "").strip()
        if document is None:
            kind = (row.get("证件类型") or row.get("id_type") or "").strip().lower()
            what = "护照号码或国籍" if kind in ("护照", PASSPORT) else "身份证号码"
            result.rejected.append(f"第 {line} 行：{what}无效")
            continue
        if not name:
            result.rejected.append(f"第 {line} 行：缺少姓名")
            continue
        id_type, number, nationality = document
        key = identity_index(id_type, number, nationality)
        district = (row.get("辖区") or row.get("district") or "").strip() or None
        status = (row.get("状态") or row.get("status") or "normal").strip() or "normal"
        resident = existing.get(key)
        if resident is None:
            resident = Resident(
                id_type=id_type, nationality=nationality, name=name, district=district, status=status
            )
            resident.id_number = number
            db.session.add(resident)
            existing[key] = resident
            result.added += 1
        elif (resident.name, resident.district, resident.status) != (name, district, status):
            resident.name, resident.district, resident.status = name, district, status
            result.updated += 1
    db.session.flush()
    return result


def read_csv(data: bytes) -> list[dict[str, str]]:
    """The rows of a UTF-8 (BOM allowed) CSV extract with a header line."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
