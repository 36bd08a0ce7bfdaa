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

from pipeline.config import InputLimits
from pipeline.ingest.cells import TableError, clean_cell
from pipeline.ingest.confine import InputRefused, read_confined
from pipeline.model import Problem

HEADER_SEARCH_ROWS = 10


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


def _nul_line(data: bytes) -> int | None:
    """The 1-based line of the first NUL byte (anywhere in the file, not just its first kilobytes)."""
    index = data.find(b"\x00")
    return None if index < 0 else data.count(b"\n", 0, index) + 1


def _refused(path: Path, exc: InputRefused) -> TableError:
    return TableError(Problem(str(path), exc.reason, expected=exc.expected, found=exc.found))


def read_raw(path: Path, limits: InputLimits | None = None, folder: Path | None = None) -> RawTable:
    """Every row of a table file as text. With `folder`, the file must be a regular file inside it (links
    leaving it and FIFOs are refused, see confine.py); every limit of `limits` is a TableError."""
    limits = limits or InputLimits()
    try:
        data = read_confined(path, folder, limits.max_table_bytes)
    except InputRefused as exc:
        raise _refused(path, exc) from None
    except OSError as exc:
        raise TableError(Problem(str(path), f"cannot read the file ({exc.strerror or exc})")) from None
    if not data.strip():
        raise TableError(Problem(str(path), "the file is empty", expected="a header row and data rows",
                                 found="0 rows"))
    head = data[:2048].lstrip().lower()
    suffix = path.suffix.lower()
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(path, data, limits)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _read_xls(path, data, limits)
    if head.startswith((b"<html", b"<!doctype", b"<table", b"<?xml", b"<meta")) or b"<table" in head:
        return _read_html(path, data, limits)
    nul = _nul_line(data)
    if nul is not None:
        raise TableError(Problem(str(path), "the file holds binary data (a NUL byte), not only text",
                                 row=nul, expected=f"a {suffix or 'CSV'} table of text", found="a NUL byte"))
    text, encoding = decode_text(data, path)
    return _read_csv(path, text, encoding, limits)


def _too_many_rows(path: Path, limits: InputLimits, line: int) -> TableError:
    return TableError(Problem(str(path), "too many rows (the rest is not read)", row=line,
                              expected=f"at most {limits.max_table_rows:,} rows", found=f"more than {line - 1:,}"))


def _too_long(path: Path, limits: InputLimits, line: int, column: int, length: int) -> TableError:
    return TableError(Problem(str(path), "a cell is too long", row=line, column=str(column + 1),
                              expected=f"at most {limits.max_field_chars:,} characters",
                              found=f"{length:,} characters"))


def _read_csv(path: Path, text: str, encoding: str, limits: InputLimits | None = None) -> RawTable:
    limits = limits or InputLimits()
    sample = text[:4096]
    delimiter = ","
    if sample.count("\t") > sample.count(","):
        delimiter = "\t"
    rows, lines = [], []
    # The csv module's field limit is process-wide; set it to ours for this read (cells longer than it
    # raise csv.Error, which is reported with the line).
    csv.field_size_limit(limits.max_field_chars)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if not any(row):
                continue
            if len(rows) >= limits.max_table_rows:
                raise _too_many_rows(path, limits, reader.line_num)
            rows.append(tuple(map(clean_cell, row)))
            lines.append(reader.line_num)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise TableError(Problem(str(path), "a cell is too long", row=reader.line_num + 1,
                                     expected=f"at most {limits.max_field_chars:,} characters",
                                     found=f"more than {limits.max_field_chars:,}")) from None
        raise TableError(Problem(str(path), f"not a valid CSV file ({exc})", row=reader.line_num)) from None
    return RawTable(path, tuple(rows), tuple(lines), encoding)


def _read_xlsx(path: Path, data: bytes, limits: InputLimits | None = None) -> RawTable:
    """The first sheet, by python-calamine after xlsx.check_workbook has bounded what it may cost."""
    from pipeline.ingest.xlsx import read_xlsx_rows

    limits = limits or InputLimits()
    rows, lines = [], []
    for number, cells in read_xlsx_rows(path, data, limits):
        if len(rows) >= limits.max_table_rows:
            raise _too_many_rows(path, limits, number)
        for column, cell in enumerate(cells):
            if len(cell) > limits.max_field_chars:
                raise _too_long(path, limits, number, column, len(cell))
        rows.append(cells)
        lines.append(number)
    return RawTable(path, tuple(rows), tuple(lines), None)


def _read_xls(path: Path, data: bytes, limits: InputLimits | None = None) -> RawTable:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception as exc:
        raise TableError(Problem(str(path), f"not a readable .xls workbook ({exc})")) from exc
    sheet = book.sheet_by_index(0)
    limits = limits or InputLimits()
    if sheet.nrows * sheet.ncols > limits.max_xlsx_cells:
        raise TableError(Problem(str(path), "the sheet has too many cells (not read)",
                                 expected=f"at most {limits.max_xlsx_cells:,} cells",
                                 found=f"{sheet.nrows:,} rows x {sheet.ncols:,} columns"))
    if sheet.nrows > limits.max_table_rows:
        raise _too_many_rows(path, limits, limits.max_table_rows + 1)
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


def _read_html(path: Path, data: bytes, limits: InputLimits | None = None) -> RawTable:
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
