"""Export → import into a fresh database → export again is byte-for-byte the same; the import is
all-or-nothing; the .xlsx has a sheet of items and a sheet of documents."""

from __future__ import annotations

import io

import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select

from catalog.admin.io import export_yaml, import_text
from catalog.models import ItemVersion
from core.db import db
from tests.catalog.helpers import load_demo
from tests.catalog_admin.conftest import wire
from tests.catalog_admin.helpers import admin_client


def test_round_trip_is_exact(app, make_app, database_template, tmp_path):
    with app.app_context():
        load_demo()
    client = admin_client(app)
    first = client.get("/admin/catalog/export.yaml")
    assert first.status_code == 200 and "attachment" in first.headers["Content-Disposition"]
    text = first.get_data(as_text=True)
    data = yaml.safe_load(text)
    assert len(data["items"]) == 79 and len(data["units"]) == 17 and len(data["bundles"]) == 5
    flows = {b["code"]: b["flow"] for b in data["bundles"] if "flow" in b}
    assert set(flows) == {"LJ-YJS-001", "LJ-YJS-003"} and flows["LJ-YJS-001"]["steps"][0]["key"] == "hukou"
    assert {d["code"] for d in data["departments"]} == {"wsjk", "ybj", "rsj", "tax"}

    if database_template["kind"] == "postgresql":
        # one PostgreSQL test database: empty it and import there
        from tests.conftest import _truncate_all

        with app.app_context():
            db.session.remove()
        _truncate_all(database_template["url"], database_template["data_keys"])
        fresh = app
    else:
        import shutil

        shutil.copy(database_template["template"], tmp_path / "fresh.db")
        fresh = wire(make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}"))
    with fresh.app_context():
        assert db.session.scalar(select(func.count()).select_from(ItemVersion)) == 0
        result = import_text(text, "catalog.yaml")
        db.session.commit()
        assert result.items["created"] == 79
        again = export_yaml()
    assert again == text
    with fresh.app_context():  # importing the same file again changes nothing
        result = import_text(again, "catalog.yaml")
        assert not result.changed
        db.session.rollback()


def test_import_page_is_all_or_nothing(small):
    client = admin_client(small)
    text = client.get("/admin/catalog/export.yaml").get_data(as_text=True)
    data = yaml.safe_load(text)
    data["items"][0]["promised_days"] = 999
    data["items"][1]["name"] = "改过的名称"
    bad = yaml.safe_dump(data, allow_unicode=True).encode()
    r = client.post(
        "/admin/catalog/import",
        data={"file": (io.BytesIO(bad), "c.yaml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "promised_days" in r.text
    assert "改过的名称" not in client.get("/items/LJ-HJ-002").text
    data["items"][0]["promised_days"] = 15
    good = yaml.safe_dump(data, allow_unicode=True).encode()
    r = client.post(
        "/admin/catalog/import",
        data={"file": (io.BytesIO(good), "c.yaml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.text
    assert "新增 0，更新 1，未变 2" in r.text
    assert "改过的名称" in client.get("/items/LJ-HJ-002").text
    r = client.post(
        "/admin/catalog/import",
        data={"file": (io.BytesIO(b"x"), "c.txt")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422


def test_xlsx_for_the_legal_office(small):
    client = admin_client(small)
    r = client.get("/admin/catalog/export.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["事项", "申请材料"]
    items = list(wb["事项"].values)
    assert items[0][:2] == ("事项编码", "事项名称") and len(items) == 4
    docs = list(wb["申请材料"].values)
    assert docs[0][2] == "材料名称"
    assert any(row[0] == "LJ-HJ-001" and row[2] == "居民户口簿" for row in docs[1:])
