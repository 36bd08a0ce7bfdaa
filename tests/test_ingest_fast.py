"""The fast readers of large exports (issue 16): python-calamine for .xlsx behind check_workbook's bounds,
and the check-in timestamp column parsed at once. Each must read exactly what the row-by-row readers read,
with the same located errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import InputLimits
from pipeline.ingest.tables import TableError, find_header, read_raw
from pipeline.ingest.values import parse_timestamp, parse_timestamps
from pipeline.ingest.xlsx import _Extent
from reliability_corpus import xlsx_book

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("title", ["培训班花名册", None])
def test_xlsx_cells_and_line_numbers_as_excel_shows_them(tmp_path: Path, title: str | None) -> None:
    """Data from B3 (under a title in A1, or nothing), an empty row in between, every cell type an export
    carries; rows and columns are numbered as Excel shows them."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = title
    sheet.append([])
    sheet.append([None, "学员编号", "姓名", "报名时间", "日期", "时间", "学时", "在册"])
    sheet.append([None, "'00123", "　张三 ", dt.datetime(2024, 10, 8, 8, 29, 57), dt.date(2024, 10, 8),
                  dt.time(8, 30), 3.5, True])
    sheet.append([])
    sheet.append([None, 456, "李四", None, None, None, 12, False])
    sheet.cell(row=6, column=9).number_format = "[h]:mm:ss"
    sheet.cell(row=6, column=9).value = dt.timedelta(hours=26, minutes=5)
    book.save(tmp_path / "roster.xlsx")
    raw = read_raw(tmp_path / "roster.xlsx")
    assert raw.line_numbers == ((1,) if title else ()) + (3, 4, 6)
    table = find_header(raw, {"trainee_id": ["学员编号"], "name": ["姓名"]}, ["trainee_id"])
    assert table.header_line == 3
    assert table.columns == {"trainee_id": 1, "name": 2}  # column B
    assert table.rows[0][:8] == ("", "00123", "张三", "2024-10-08 08:29:57", "2024-10-08", "08:30:00", "3.5", "True")
    assert table.rows[1] == ("", "456", "李四", "", "", "", "12", "False", "26:05:00")


def test_a_too_long_cell_and_too_many_rows_name_their_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([None, "trainee_id", "name"])
    for i in range(30):
        sheet.append([None, f"S{i}", "x" * (200 if i == 20 else 3)])
    book.save(tmp_path / "r.xlsx")
    with pytest.raises(TableError) as info:
        read_raw(tmp_path / "r.xlsx", InputLimits(max_field_chars=100))
    assert (info.value.problem.row, info.value.problem.column) == (22, "3") and "too long" in str(info.value)
    with pytest.raises(TableError) as info:
        read_raw(tmp_path / "r.xlsx", InputLimits(max_table_rows=10))
    assert "too many rows" in str(info.value)


def test_a_sparse_sheet_is_refused_before_the_reader_allocates_it(tmp_path: Path) -> None:
    """Two cells at A1 and XFD1048576: a 1 kB file whose rectangle is 17 billion cells (calamine would
    abort the process allocating it). The bound comes from the references, before calamine runs."""
    cell = '<c r="{}" t="inlineStr"><is><t>x</t></is></c>'
    path = xlsx_book(tmp_path / "sparse.xlsx", f'<row r="1">{cell.format("A1")}</row><row r="40000">'
                                               f'{cell.format("XFD40000")}</row>')
    with pytest.raises(TableError) as info:
        read_raw(path)
    assert "too many cells" in str(info.value) and "40,000 rows x 16,384 columns" in str(info.value)


def test_a_part_that_inflates_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    """The zip directory says 2 kB; the sheet inflates to 4 MB: zipfile's CRC check stops it."""
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{"y" * 40}</t></is></c></row>'
                   for i in range(1, 60_000))
    path = xlsx_book(tmp_path / "liar.xlsx", rows, declared_sheet_size=2048)
    with pytest.raises(TableError) as info:
        read_raw(path)
    assert "not a readable .xlsx workbook" in str(info.value) and "sheet1.xml" in str(info.value)


def test_extent_bounds_cells_without_references_by_their_place_in_the_row() -> None:
    extent = _Extent()
    extent.scan(b'<row r="7"><c><v>1</v></c><c><v>2</v></c><c/></row><row><c r="B9"/></row>')
    assert extent.bound() == (9 + 1, 2 + 3)  # one row without r, and up to 3 cells placed by order
    exact = _Extent()
    exact.scan(b'<x:row r="2"><x:c r="AB2"><x:v>1</x:v></x:c></x:row>')
    assert exact.bound() == (2, 28)


def test_timestamps_of_a_column_match_one_by_one_parsing() -> None:
    texts = ["2024-10-12 08:29:57", " 2024-10-12 08:29:57 ", "2024/10/12 8:29", "2024-10-12T08:29:57",
             "2024-02-30 08:00:00", "2024-10-12 24:00:00", "2024-10-12 08:29:60", "9999-12-31 23:59:00",
             "1989-12-31 23:59:59", "2024年10月12日 08:29", "", "abc", "2024-10-12 08:29:57.5",
             "2024-10-12+08:29:57", "2024-1-2 08:29:57x"]
    _same(texts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.datetimes(min_value=dt.datetime(1985, 1, 1), max_value=dt.datetime(2105, 1, 1))
    .map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
    st.text(alphabet="0123456789-/: T年月日", max_size=22)), max_size=30))
def test_timestamps_of_any_column_match_one_by_one_parsing(texts: list[str]) -> None:
    _same(texts)


def _same(texts: list[str]) -> None:
    for text, got in zip(texts, parse_timestamps(texts, TZ), strict=True):
        try:
            want = parse_timestamp(text, TZ)
        except ValueError as exc:
            assert isinstance(got, ValueError) and str(got) == str(exc), (text, got)
            continue
        assert got == want and got.tzinfo is TZ and got.fold == want.fold, (text, got, want)


@pytest.mark.parametrize("quote, eq", [("'", "="), ('"', " = "), ("'", "\t=\t")])
def test_references_in_any_xml_spelling_bound_the_sheet(tmp_path: Path, quote: str, eq: str) -> None:
    """XML allows single quotes and spaces around '=': a far cell written so is bounded all the same."""
    sheet = (f"<row r{eq}{quote}1{quote}><c r{eq}{quote}A1{quote} t=\"inlineStr\"><is><t>x</t></is></c></row>"
             f"<row r{eq}{quote}40000{quote}><c r{eq}{quote}XFD40000{quote} t=\"inlineStr\"><is><t>y</t></is></c></row>")
    with pytest.raises(TableError) as info:
        read_raw(xlsx_book(tmp_path / "sparse.xlsx", sheet))
    assert "40,000 rows x 16,384 columns" in str(info.value)
