"""The legal office's .xlsx export never hands Excel a live formula: an item edited in the admin
screens so that its name, legal basis or a document starts with ``=``/``+``/``-``/``@`` comes out
as plain text with a leading apostrophe, typed as a string."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.catalog_admin.helpers import admin_client, item_form_data

CODE = "LJ-HJ-001"
FORMULA = '=HYPERLINK("http://x","y")'
BASIS = "+cmd|' /C calc'!A0"
DOC = {
    "name": "@SUM(A1)",
    "form": "original",
    "copies": "1",
    "requirement": "required",
    "source": "applicant",
    "notes": "-2+3",
    "accept": ["pdf"],
}


def _publish_formula_item(app):
    client = admin_client(app)
    data = item_form_data(app, CODE, name=FORMULA, legal_basis=BASIS)
    assert client.post(f"/admin/catalog/items/{CODE}", data=data).status_code == 302
    assert client.post(f"/admin/catalog/items/{CODE}/documents/new", data=DOC).status_code == 302
    r = client.post(f"/admin/catalog/items/{CODE}/publish")
    assert r.status_code == 302, r.text
    return client


def test_formula_looking_values_are_exported_as_plain_strings(small):
    client = _publish_formula_item(small)
    r = client.get("/admin/catalog/export.xlsx")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.data))
    for sheet in book.worksheets:
        formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
        assert formulas == [], (sheet.title, formulas)

    items = book["事项"]
    header = [c.value for c in items[1]]
    row = next(r for r in items.iter_rows(min_row=2) if r[0].value == CODE)
    name = row[header.index("事项名称")]
    basis = row[header.index("设定依据")]
    assert name.value == "'" + FORMULA and name.data_type == "s"
    assert basis.value == "'" + BASIS and basis.data_type == "s"

    docs = book["申请材料"]
    doc_rows = [r for r in docs.iter_rows(min_row=2) if r[0].value == CODE]
    assert doc_rows and all(r[1].value == "'" + FORMULA and r[1].data_type == "s" for r in doc_rows)
    added = next(r for r in doc_rows if r[2].value == "'@SUM(A1)")
    assert added[2].data_type == "s"
    assert added[9].value == "'-2+3" and added[9].data_type == "s"


def test_numbers_stay_numbers_and_plain_text_is_untouched(small):
    client = admin_client(small)
    book = load_workbook(io.BytesIO(client.get("/admin/catalog/export.xlsx").data))
    items = book["事项"]
    header = [c.value for c in items[1]]
    row = next(r for r in items.iter_rows(min_row=2) if r[0].value == CODE)
    assert row[header.index("事项名称")].value and not row[header.index("事项名称")].value.startswith("'")
    assert isinstance(row[header.index("承诺时限")].value, int)
    assert row[header.index("即办件")].value in {"是", "否"}
