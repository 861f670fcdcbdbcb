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

from auth.identity import IdNumberError, normalise_id_number, validate_id_number
from auth.models import Resident
from core import audit
from core.db import db


class PopulationRegister(Protocol):
    """Anything that can say whether a name and an ID number belong to one living resident."""

    def verify(self, name: str, id_number: str) -> bool: ...


class DatabaseRegister:
    """The register as the ``residents`` table holds it."""

    def verify(self, name: str, id_number: str) -> bool:
        number = normalise_id_number(id_number)
        resident = db.session.scalar(select(Resident).where(Resident.id_number_is(number)))
        matched = resident is not None and resident.status == "normal" and resident.name == name.strip()
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


def import_residents(rows: Iterable[dict[str, str]]) -> ImportResult:
    """Add or update residents from rows with 身份证号码 / 姓名 / 辖区 / 状态 (or id_number / name /
    district / status). A row with an invalid ID number or no name is rejected (listed by line, the
    number masked); flushes, the caller commits."""
    result = ImportResult(rejected=[])
    rows = list(rows)
    numbers = [normalise_id_number(r.get("身份证号码") or r.get("id_number") or "") for r in rows]
    existing: dict[str, Resident] = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        existing.update(
            {r.id_number: r for r in db.session.scalars(select(Resident).where(Resident.id_number_in(chunk)))}
        )
    for line, row in enumerate(rows, start=2):
        raw = (row.get("身份证号码") or row.get("id_number") or "").strip()
        name = (row.get("姓名") or row.get("name") or "").strip()
        try:
            number = validate_id_number(raw)
        except IdNumberError:
            result.rejected.append(f"第 {line} 行：身份证号码无效")
            continue
        if not name:
            result.rejected.append(f"第 {line} 行：缺少姓名")
            continue
        district = (row.get("辖区") or row.get("district") or "").strip() or None
        status = (row.get("状态") or row.get("status") or "normal").strip() or "normal"
        resident = existing.get(number)
        if resident is None:
            resident = Resident(id_number=number, name=name, district=district, status=status)
            db.session.add(resident)
            existing[number] = resident
            result.added += 1
        elif (resident.name, resident.district, resident.status) != (name, district, status):
            resident.name, resident.district, resident.status = name, district, status
            result.updated += 1
    db.session.flush()
    return result


def read_csv(data: bytes) -> list[dict[str, str]]:
    """The rows of a UTF-8 (BOM allowed) CSV extract with a header line."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
