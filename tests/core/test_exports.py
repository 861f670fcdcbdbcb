"""core.exports: formula escaping, the CSV's BOM and line ends, streaming in chunks, .xlsx cells that are
strings and never formulas, and the download response with a Chinese file name."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from core.exports import (
    CSV_MIMETYPE,
    XLSX_MIMETYPE,
    Sheet,
    cell_value,
    csv_bytes,
    csv_stream,
    download_response,
    escape_cell,
    sheet_title,
    xlsx_bytes,
)

FORMULA = '=HYPERLINK("http://x","y")'
DANGEROUS = [
    FORMULA,
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_looking_text_gets_a_leading_apostrophe(text):
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["", "张三", "a=b", "1+1", " =1", "'=1", "3.5", "户籍-001", "e@x.cn"])
def test_plain_text_is_left_alone(text):
    assert escape_cell(text) == text


def test_escape_cell_writes_none_as_empty_and_other_values_as_text():
    assert escape_cell(None) == ""
    assert escape_cell(-3) == "'-3"  # as text, a negative number looks like a formula too
    assert escape_cell(12) == "12"


def test_cell_value_keeps_numbers_and_says_yes_or_no():
    assert cell_value(7) == 7 and cell_value(-1.5) == -1.5
    assert cell_value(True) == "是" and cell_value(False) == "否"
    assert cell_value(None) == ""
    assert cell_value(FORMULA) == "'" + FORMULA


def _read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_has_bom_crlf_chinese_and_escaped_cells():
    data = csv_bytes(["事项", "件数"], [[FORMULA, 3], ["户籍迁移", -1], ['含"引号",和换行\n', None]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert data.decode("utf-8-sig").startswith("事项,件数\r\n")
    assert _read_csv(data) == [
        ["事项", "件数"],
        ["'" + FORMULA, "3"],
        ["户籍迁移", "-1"],  # a number stays a number, not escaped text
        ['含"引号",和换行\n', ""],
    ]


def test_csv_header_is_escaped_too():
    assert _read_csv(csv_bytes(["=A1"], []))[0] == ["'=A1"]


def test_csv_stream_yields_the_header_then_chunks_of_rows():
    chunks = list(csv_stream(["编号"], ([i] for i in range(5)), chunk_rows=2))
    assert len(chunks) == 4  # header, two chunks of two rows, the last row
    assert chunks[0] == "\ufeff编号\r\n".encode()
    assert b"".join(chunks) == csv_bytes(["编号"], [[i] for i in range(5)])


def test_csv_stream_closes_the_rows_when_abandoned():
    closed = []

    def rows():
        try:
            for i in range(10):
                yield [i]
        finally:
            closed.append(True)

    stream = csv_stream(["编号"], rows(), chunk_rows=1)
    next(stream)
    next(stream)
    stream.close()
    assert closed == [True]


def _book(data: bytes):
    return load_workbook(io.BytesIO(data))


def test_xlsx_text_cells_are_strings_never_formulas():
    data = xlsx_bytes([Sheet("统计", ["事项", "件数", "即办"], [[value, 1, True] for value in DANGEROUS])])
    sheet = _book(data).active
    assert sheet.title == "统计"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    for r, text in enumerate(DANGEROUS, start=2):
        cell = sheet.cell(row=r, column=1)
        # a carriage return may come back as a line feed (depending on the XML library openpyxl finds
        # installed); the apostrophe is what matters
        assert cell.data_type == "s" and cell.value in ("'" + text, "'" + text.replace("\r", "\n"))
    assert sheet["A2"].value == "'" + FORMULA
    assert sheet["B2"].value == 1 and sheet["B2"].data_type == "n"
    assert sheet["C2"].value == "是"


def test_xlsx_header_is_bold_and_frozen_and_empty_values_are_empty():
    sheet = _book(xlsx_bytes([Sheet("表", ["=事项", "备注"], [["户籍", None]])])).active
    assert sheet["A1"].value == "'=事项" and sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    assert sheet["B2"].value is None


def test_xlsx_several_sheets_with_fitted_wrapped_columns():
    data = xlsx_bytes(
        [
            Sheet("事项", ["编码", "名称"], [["A", "很长的名称" * 10]], fit_columns=True, wrap=True),
            Sheet("材料/附件:[1]", ["名称"], [["居民户口簿"]]),
        ]
    )
    book = _book(data)
    assert book.sheetnames == ["事项", "材料附件1"]
    items = book["事项"]
    assert items.column_dimensions["A"].width == 8
    assert items.column_dimensions["B"].width == 60
    assert items["B2"].alignment.wrap_text and not items["B1"].alignment.wrap_text
    assert not book["材料附件1"]["A2"].alignment.wrap_text


def test_sheet_title_is_what_excel_allows():
    assert sheet_title("办件明细-跑零次率") == "办件明细-跑零次率"
    assert sheet_title("a/b\\c?d*e[f]g:h") == "abcdefgh"
    assert sheet_title("[]") == "Sheet"
    assert len(sheet_title("长" * 40)) == 31


def test_empty_workbook_still_opens():
    assert _book(xlsx_bytes([])).sheetnames == ["Sheet"]


def test_download_response_names_the_file_in_chinese_with_an_ascii_fallback():
    response = download_response(b"x", "审计日志-20240601.csv", "audit-log-20240601.csv", CSV_MIMETYPE)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="audit-log-20240601.csv"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "审计日志-20240601.csv"
    disposition.encode("latin-1")  # a header value must be ASCII/latin-1
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == b"x"


def test_download_response_streams_an_iterable_body():
    response = download_response(iter([b"a", b"b"]), "统计.xlsx", "stats.xlsx", XLSX_MIMETYPE)
    assert response.is_streamed
    assert response.headers["Content-Type"] == XLSX_MIMETYPE
    assert b"".join(response.response) == b"ab"
