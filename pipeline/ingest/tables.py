"""Read the spreadsheets institutions export: CSV (UTF-8, UTF-8 with BOM, GB18030), XLSX, and `.xls` files
that are really HTML tables (or real BIFF workbooks).

Every cell comes back as text (IDs keep their leading zeros; a leading apostrophe is the exporter's
"this is text" marker and is dropped). Rows keep their 1-based line number in the file, so problems can
name it. The header may sit under title rows: `find_header` looks in the first rows for the best match.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from pipeline.model import Problem

HEADER_SEARCH_ROWS = 10


class TableError(ValueError):
    """A file that cannot be read as a table at all; `problem` says where and why."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(problem.describe())


@dataclass(frozen=True)
class RawTable:
    """All rows of a file as text cells, with their line numbers (1-based, as a spreadsheet shows them)."""

    path: Path
    rows: tuple[tuple[str, ...], ...]
    line_numbers: tuple[int, ...]
    encoding: str | None


@dataclass(frozen=True)
class Table:
    """Rows under a recognised header, keyed by canonical column names."""

    path: Path
    header: tuple[str, ...]  # as written in the file
    columns: dict[str, int]  # canonical name -> index
    rows: tuple[tuple[str, ...], ...]
    line_numbers: tuple[int, ...]
    header_line: int

    def get(self, row: Sequence[str], name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(row):
            return ""
        return row[index]

    def column_label(self, name: str) -> str:
        index = self.columns.get(name)
        return self.header[index] if index is not None else name


def decode_text(data: bytes, path: Path) -> tuple[str, str]:
    """UTF-8 (BOM or not) first, then GB18030; never decode with errors ignored."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise TableError(Problem(str(path), "the text is neither UTF-8 nor GB18030",
                             expected="a UTF-8 or GB18030/GBK encoded text file", found="undecodable bytes"))


def clean_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip() if not isinstance(value, str) else value.strip()
    text = text.replace("\u3000", " ").strip()
    if text.startswith("'"):
        text = text[1:].strip()
    if text.startswith("\t"):
        text = text.strip()
    return text


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:4096]


def read_raw(path: Path) -> RawTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TableError(Problem(str(path), f"cannot read the file ({exc.strerror or exc})")) from exc
    if not data.strip():
        raise TableError(Problem(str(path), "the file is empty", expected="a header row and data rows", found="0 rows"))
    head = data[:2048].lstrip().lower()
    suffix = path.suffix.lower()
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(path, data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _read_xls(path, data)
    if head.startswith((b"<html", b"<!doctype", b"<table", b"<?xml", b"<meta")) or b"<table" in head:
        return _read_html(path, data)
    if _looks_binary(data):
        raise TableError(Problem(str(path), "the file is binary, not a table",
                                 expected=f"a {suffix or 'CSV'} table", found="binary data"))
    text, encoding = decode_text(data, path)
    return _read_csv(path, text, encoding)


def _read_csv(path: Path, text: str, encoding: str) -> RawTable:
    sample = text[:4096]
    delimiter = ","
    if sample.count("\t") > sample.count(","):
        delimiter = "\t"
    rows, lines = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            cells = tuple(clean_cell(c) for c in row)
            if any(cells):
                rows.append(cells)
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise TableError(Problem(str(path), f"not a valid CSV file ({exc})", row=reader.line_num)) from exc
    return RawTable(path, tuple(rows), tuple(lines), encoding)


def _read_xlsx(path: Path, data: bytes) -> RawTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken archives
        raise TableError(Problem(str(path), f"not a readable .xlsx workbook ({exc})")) from exc
    sheet = book.worksheets[0]
    rows, lines = [], []
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = tuple(_xlsx_cell(c) for c in row)
        if any(cells):
            rows.append(cells)
            lines.append(number)
    book.close()
    return RawTable(path, tuple(rows), tuple(lines), None)


def _xlsx_cell(value: object) -> str:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    return clean_cell(value)


def _read_xls(path: Path, data: bytes) -> RawTable:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception as exc:
        raise TableError(Problem(str(path), f"not a readable .xls workbook ({exc})")) from exc
    sheet = book.sheet_by_index(0)
    rows, lines = [], []
    for r in range(sheet.nrows):
        cells = []
        for c in range(sheet.ncols):
            cell = sheet.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:
                value = xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
                cells.append(value.strftime("%Y-%m-%d %H:%M:%S"))
            else:
                cells.append(clean_cell(cell.value))
        if any(cells):
            rows.append(tuple(cells))
            lines.append(r + 1)
    return RawTable(path, tuple(rows), tuple(lines), None)


def _read_html(path: Path, data: bytes) -> RawTable:
    from lxml import html as lxml_html

    head = data[:4096].lower()
    encoding = None
    for candidate in (b"gb2312", b"gbk", b"gb18030"):
        if candidate in head:
            encoding = "gb18030"
    if encoding is None:
        _, encoding = decode_text(data, path)
    text = data.decode(encoding if encoding != "utf-8-sig" else "utf-8-sig")
    try:
        doc = lxml_html.fromstring(text)
    except Exception as exc:
        raise TableError(Problem(str(path), f"not a readable HTML table ({exc})")) from exc
    table = doc.find(".//table")
    if table is None:
        raise TableError(Problem(str(path), "the file is HTML but holds no table", expected="<table>", found="no table"))
    rows, lines = [], []
    for number, tr in enumerate(table.iter("tr"), start=1):
        cells = tuple(clean_cell(td.text_content()) for td in tr if td.tag in ("td", "th"))
        if any(cells):
            rows.append(cells)
            lines.append(number)
    return RawTable(path, tuple(rows), tuple(lines), encoding)


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "*：:()（）")


def find_header(raw: RawTable, aliases: dict[str, Iterable[str]], required: Iterable[str]) -> Table:
    """Locate the header row (within the first rows) and map its cells to canonical names.

    `aliases` maps a canonical column name to the names it may carry in a file (the canonical name
    itself always counts). Unknown extra columns are kept in `header` and ignored.
    """
    lookup: dict[str, str] = {}
    for canonical, names in aliases.items():
        lookup[normalise_header(canonical)] = canonical
        for name in names:
            lookup[normalise_header(name)] = canonical
    required = list(required)
    best: tuple[int, int, dict[str, int]] | None = None
    for index, row in enumerate(raw.rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for position, cell in enumerate(row):
            canonical = lookup.get(normalise_header(cell))
            if canonical and canonical not in columns:
                columns[canonical] = position
        score = sum(1 for r in required if r in columns) * 100 + len(columns)
        if best is None or score > best[0]:
            best = (score, index, columns)
    if best is None or not best[2]:
        first = ", ".join(raw.rows[0]) if raw.rows else ""
        raise TableError(Problem(str(raw.path), "no header row found in the first rows",
                                 row=raw.line_numbers[0] if raw.line_numbers else None,
                                 expected="a header with columns " + ", ".join(required), found=first[:200]))
    _, index, columns = best
    missing = [r for r in required if r not in columns]
    if missing:
        names = [f"{m} ({'/'.join(list(aliases.get(m, []))[:2])})" if aliases.get(m) else m for m in missing]
        raise TableError(Problem(str(raw.path), "required column missing", row=raw.line_numbers[index],
                                 column=", ".join(missing), expected="columns " + ", ".join(names),
                                 found=", ".join(raw.rows[index])[:300]))
    return Table(raw.path, raw.rows[index], columns, raw.rows[index + 1:], raw.line_numbers[index + 1:],
                 raw.line_numbers[index])
