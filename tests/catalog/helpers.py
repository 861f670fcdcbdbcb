"""Shared by the catalog tests and the catalog browser journey: the demo catalog, parsed once per
run, loaded into the current app's database; mutable copies of it written to a folder; row counts."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from auth.models import Unit
from catalog.loader import LoadResult, apply, read_files, validate
from catalog.models import (
    Bundle,
    BundleItem,
    CatalogState,
    Category,
    DocumentRequirement,
    FormField,
    ItemVersion,
    ServiceItem,
    Situation,
    SituationOption,
)
from core.audit import AuditLog
from core.db import db
from tests.conftest import ROOT

DEMO = ROOT / "catalog" / "data"
CATALOG_MODELS = (
    Category,
    Unit,
    ServiceItem,
    ItemVersion,
    DocumentRequirement,
    Situation,
    SituationOption,
    FormField,
    Bundle,
    BundleItem,
    CatalogState,
)


@lru_cache(maxsize=1)
def _demo_json() -> tuple[tuple[str, str], ...]:
    # YAML parsing is most of a load's time: parse once per run, keep JSON text to copy from.
    return tuple((name, json.dumps(data, ensure_ascii=False)) for name, data in read_files(DEMO))


def demo_files() -> dict[str, dict[str, Any]]:
    """A fresh, mutable copy of the parsed demo files, keyed by file name (``huji.yaml`` …)."""
    return {name: json.loads(text) for name, text in _demo_json()}


def load_demo() -> LoadResult:
    """Load the demo catalog in the current app context and commit.

    The same as ``load(Path("catalog/data"))`` (``read_files`` → ``validate`` → ``apply``) with the
    YAML parsed once per run; ``test_loader`` loads the folder itself.
    """
    result = apply(validate(list(demo_files().items())))
    db.session.commit()
    return result


def write_catalog(folder: Path, files: dict[str, dict[str, Any]]) -> Path:
    """Write ``files`` into ``folder`` as JSON (``huji.yaml`` → ``huji.json``); the loader reads
    JSON as well as YAML, and far faster."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / f"{Path(name).stem}.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return folder


def item_in(files: dict[str, dict[str, Any]], code: str) -> dict[str, Any]:
    """The (mutable) raw record of item ``code`` in a :func:`demo_files` copy."""
    for data in files.values():
        for item in data.get("items") or []:
            if item["code"] == code:
                return item
    raise KeyError(code)


def all_items(files: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for data in files.values() for item in data.get("items") or []]


def row_counts() -> dict[str, int]:
    """Rows in every catalog table (and the audit trail) in the current app's database."""
    counts = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in CATALOG_MODELS}
    counts["audit"] = db.session.scalar(select(func.count()).select_from(AuditLog))
    return counts


def catalog_revision() -> int:
    return db.session.scalar(select(CatalogState.revision).where(CatalogState.id == 1)) or 0
