"""Read the first sheet of an .xlsx workbook, fast, without letting a small hostile file take the machine.

The reader is python-calamine (Rust): a full 1,048,575-row sheet in seconds, where openpyxl's streaming
reader took about two minutes of CPU (benchmarks/results/ingest.md). calamine builds the whole sheet in
memory as one rectangle spanning its outermost cells, and a failed allocation aborts the process, so
nothing reaches it before `check_workbook` has

- refused a workbook whose zip directory declares too much (total, shared strings);
- inflated every part once, in bounded chunks, with zipfile: a part that inflates past its declared size
  fails its CRC there (a lying header is a bomb calamine would not stop);
- bounded each part's rectangle from its row and cell references (two cells at A1 and XFD1048576 are a
  1 kB file that asks for 17 billion cells) against the row and cell limits.

Every limit hit is a TableError naming the file (and the row where there is one).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import InputLimits
from pipeline.ingest.cells import TableError, clean_cell
from pipeline.model import Problem

CHUNK_BYTES = 8 * 1024 * 1024
MAX_TAG_BYTES = 1024 * 1024  # a single XML tag longer than this is not a spreadsheet

_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_ROW_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\s[^>]*?\br\s*=\s*[\"'](\d{1,12})[\"']")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_CELL_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br\s*=\s*[\"']\$?([A-Za-z]{1,6})\$?(\d{1,12})[\"']")


def _error(path: Path, message: str, **where) -> Exception:
    return TableError(Problem(str(path), message, **where))


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


@dataclass
class _Extent:
    """The rectangle calamine would allocate for one part, bounded from above."""

    row_tags: int = 0
    rows_with_ref: int = 0
    max_row: int = 0
    cell_tags: int = 0
    cells_with_ref: int = 0
    max_column: int = 0
    cells_in_row: int = 0  # cells of the current row (counted only for cells without a reference)
    max_cells_in_row: int = 0

    def scan(self, text: bytes) -> None:
        """One chunk, cut after a complete tag."""
        row_refs = _ROW_REF.findall(text)
        self.rows_with_ref += len(row_refs)
        if row_refs:
            self.max_row = max(self.max_row, max(map(int, row_refs)))
        self.row_tags += _ROW_TAG.subn(b"", text)[1]
        cells = _CELL_TAG.subn(b"", text)[1]
        self.cell_tags += cells
        refs = _CELL_REF.findall(text)
        self.cells_with_ref += len(refs)
        if refs:
            self.max_column = max(self.max_column, max(_column_number(c) for c in {c for c, _ in refs}))
            self.max_row = max(self.max_row, max(map(int, (r for _, r in refs))))
        if cells > len(refs):  # some cells take their column from their place in the row: count per row
            parts = _ROW_TAG.split(text)
            self.cells_in_row += len(_CELL_TAG.findall(parts[0]))
            for part in parts[1:]:
                self.max_cells_in_row = max(self.max_cells_in_row, self.cells_in_row)
                self.cells_in_row = len(_CELL_TAG.findall(part))
            self.max_cells_in_row = max(self.max_cells_in_row, self.cells_in_row)

    def bound(self) -> tuple[int, int]:
        """(rows, columns) at most: exact when every row and cell carries its reference, as Excel writes."""
        rows = self.max_row + (self.row_tags - self.rows_with_ref)
        columns = self.max_column + (self.max_cells_in_row if self.cell_tags > self.cells_with_ref else 0)
        return rows, columns


def check_workbook(path: Path, data: bytes, limits: InputLimits) -> None:
    """Refuse a workbook that would cost more than the limits, before the reader sees it (see above)."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = book.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _error(path, f"not a readable .xlsx workbook ({exc})") from None
    names = [m.filename for m in members]
    if len(set(names)) != len(names):  # two parts of one name: which one a reader takes is its choice
        raise _error(path, "not a readable .xlsx workbook (two parts with the same name)")
    total = sum(m.file_size for m in members)
    if total > limits.max_xlsx_uncompressed_bytes:
        raise _error(path, "the workbook inflates too much (not read)",
                     expected=f"at most {limits.max_xlsx_uncompressed_bytes:,} bytes uncompressed",
                     found=f"{total:,} bytes ({len(data):,} compressed)")
    shared = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if shared > limits.max_xlsx_shared_strings_bytes:
        raise _error(path, "the workbook's shared strings are too large (not read)",
                     expected=f"at most {limits.max_xlsx_shared_strings_bytes:,} bytes", found=f"{shared:,} bytes")
    for member in members:
        extent = _scan_part(path, book, member)
        rows, columns = extent.bound()
        if rows > limits.max_table_rows:
            raise _error(path, "too many rows (not read)", row=rows, expected=f"at most {limits.max_table_rows:,} rows",
                         found=f"a cell in row {rows:,} ({member.filename})")
        if rows * columns > limits.max_xlsx_cells:
            raise _error(path, "the sheet has too many cells (not read)",
                         expected=f"at most {limits.max_xlsx_cells:,} cells",
                         found=f"cells spanning {rows:,} rows x {columns:,} columns ({member.filename})")


def _scan_part(path: Path, book: zipfile.ZipFile, member: zipfile.ZipInfo) -> _Extent:
    extent, carry = _Extent(), b""
    try:
        with book.open(member) as part:  # stops at the declared size; more data fails the CRC
            while chunk := part.read(CHUNK_BYTES):
                text = carry + chunk
                cut = text.rfind(b"<")
                if cut < 0:
                    cut = len(text)
                text, carry = text[:cut], text[cut:]
                if len(carry) > MAX_TAG_BYTES:
                    raise _error(path, "not a readable .xlsx workbook (an XML tag longer than 1 MB)")
                extent.scan(text)
        extent.scan(carry)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, OSError, EOFError) as exc:
        raise _error(path, f"not a readable .xlsx workbook ({member.filename}: {exc})") from None
    except RuntimeError as exc:  # an encrypted part
        raise _error(path, f"not a readable .xlsx workbook ({member.filename}: {exc})") from None
    return extent


def read_xlsx_rows(path: Path, data: bytes, limits: InputLimits):
    """(line number, cells as text) of the first sheet's rows that hold anything; line numbers as Excel shows."""
    from python_calamine import CalamineError, CalamineWorkbook

    check_workbook(path, data, limits)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError, IndexError) as exc:
        raise _error(path, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    except BaseException as exc:  # a panic in the Rust reader arrives as pyo3's PanicException
        if not type(exc).__name__.endswith("PanicException"):
            raise
        raise _error(path, f"not a readable .xlsx workbook (the reader failed: {exc})") from None
    # iter_rows starts at row 1 but at the first column holding a value: pad, so columns are Excel's
    pad = ("",) * (sheet.start[1] if sheet.start else 0)
    for index, row in enumerate(sheet.iter_rows()):
        cells = pad + tuple(_cell_text(value, clean_cell) for value in row)
        if any(cells):
            yield index + 1, cells


def _cell_text(value: object, clean_cell) -> str:
    if isinstance(value, str):
        return clean_cell(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):  # a duration cell ([h]:mm): hours may pass 24
        seconds = int(value.total_seconds())
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return clean_cell(value)
