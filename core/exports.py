"""The one place the portal writes spreadsheets: CSV and .xlsx exports, and their download response.

Used by the statistics exports (``applications.stats.exports``), the legal office's catalog workbook
(``catalog.admin.io``) and the auditor's CSV (``audit_viewer.views``), so every export escapes the same way:

* Formula injection. A text cell a spreadsheet would run as a formula — one that starts with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return, or the full-width ``＝ ＋ － ＠`` that some CJK
  spreadsheet set-ups convert while parsing — gets a leading apostrophe (:func:`escape_cell`), in the
  CSV and in the workbook alike. In the workbook every text cell is also typed as a string, so
  openpyxl never writes a formula.
* Numbers (``int``/``float``) stay numbers, ``True``/``False`` become 是/否, ``None`` an empty cell;
  anything else is written as its text (:func:`cell_value`).
* CSV is UTF-8 with a BOM (so Excel reads the Chinese) and CRLF line ends; it can be streamed a chunk
  of rows at a time (:func:`csv_stream`) or built whole (:func:`csv_bytes`).
* :func:`download_response` is the attachment response with the real (possibly Chinese) file name in
  ``filename*`` and an ASCII fallback (:mod:`core.downloads`), never cached.

``core`` imports no feature package, so this module knows nothing of the tables it writes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Response

from core.downloads import private_download_headers

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection). Full-width
# forms too, as a precaution: some CJK spreadsheet set-ups convert them while parsing.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
BOM = "\ufeff"
CHUNK_ROWS = 500


def escape_cell(value: Any) -> str:
    """A cell as text, with a leading apostrophe when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def cell_value(value: Any) -> Any:
    """What an export writes: numbers as numbers, booleans as 是/否, anything else as escaped text."""
    if isinstance(value, bool):
        return escape_cell("是" if value else "否")
    if isinstance(value, int | float):
        return value
    return escape_cell(value)


# CSV ----------------------------------------------------------------------------------------------


def csv_stream(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[bytes]:
    """The CSV as UTF-8 chunks: the BOM and the header first, then ``chunk_rows`` rows at a time.

    ``rows`` is consumed lazily (a database cursor may feed it) and closed when the stream ends or
    is abandoned, so a generator's ``finally`` runs even when the client goes away.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8")

    iterator = iter(rows)
    try:
        writer.writerow([cell_value(h) for h in header])
        yield BOM.encode("utf-8") + flush()
        for n, row in enumerate(iterator, start=1):
            writer.writerow([cell_value(v) for v in row])
            if n % chunk_rows == 0:
                yield flush()
        if buffer.tell():
            yield flush()
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """The whole CSV at once: UTF-8 with a BOM, CRLF lines, formula-looking cells escaped."""
    return b"".join(csv_stream(header, rows))


# xlsx ---------------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """One worksheet: a bold, frozen header row, then the rows.

    ``fit_columns`` sizes each column to its first 50 cells (8 to 60 wide); ``wrap`` wraps the text
    of every cell below the header and aligns it to the top.
    """

    title: str
    header: Sequence[Any]
    rows: Iterable[Sequence[Any]]
    fit_columns: bool = False
    wrap: bool = False


def sheet_title(title: str) -> str:
    """``title`` as Excel allows a sheet name: none of ``[]:*?/\\``, at most 31 characters."""
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\")
    return (cleaned or "Sheet")[:31]


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    """A workbook with one worksheet per :class:`Sheet`; text cells escaped and typed as strings."""
    from openpyxl import Workbook  # imported when an export is made, not when the app starts
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top")
    book = Workbook()
    book.remove(book.active)
    for spec in sheets:
        ws = book.create_sheet(sheet_title(spec.title))
        for r, row in enumerate([spec.header, *spec.rows], start=1):
            for c, value in enumerate(row, start=1):
                value = cell_value(value)
                cell = ws.cell(row=r, column=c)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = TYPE_STRING
                if r == 1:
                    cell.font = bold
        ws.freeze_panes = "A2"
        if spec.fit_columns or spec.wrap:
            for col in ws.columns:
                if spec.fit_columns:
                    width = min(60, max(8, *(len(str(c.value or "")) * 2 for c in col[:50])))
                    ws.column_dimensions[col[0].column_letter].width = width
                if spec.wrap:
                    for c in col[1:]:
                        c.alignment = wrapped
    if not book.worksheets:
        book.create_sheet("Sheet")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Download -----------------------------------------------------------------------------------------


def download_response(body: bytes | Iterable[bytes], filename: str, fallback: str, mimetype: str) -> Response:
    """An attachment response: ``filename`` (may be Chinese) in ``filename*``, the ASCII ``fallback``
    for old clients, no sniffing, never cached. ``body`` may be an iterable of chunks (streamed)."""
    return private_download_headers(Response(body, content_type=mimetype), filename, fallback)


__all__ = [
    "CSV_MIMETYPE",
    "FORMULA_PREFIXES",
    "XLSX_MIMETYPE",
    "Sheet",
    "cell_value",
    "csv_bytes",
    "csv_stream",
    "download_response",
    "escape_cell",
    "sheet_title",
    "xlsx_bytes",
]
