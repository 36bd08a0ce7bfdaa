"""Reading class folders: encodings, spreadsheet kinds, header aliases, and every bad input of issue 2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from conftest import ClassWriter
from pipeline.ingest.archive import find_class_folders, iter_classes, load_class
from pipeline.ingest.tables import TableError, find_header, read_raw
from pipeline.ingest.values import mask_id_number, parse_date, parse_timestamp

TZ = ZoneInfo("Asia/Shanghai")
ROSTER = "学员编号,姓名,身份证号\n'00123,张三,370902199001011234\nS002,李四,\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_are_detected_and_ids_stay_text(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(ROSTER.encode(encoding))
    table = find_header(read_raw(path), {"trainee_id": ["学员编号"], "name": ["姓名"]}, ["trainee_id", "name"])
    assert [table.get(r, "trainee_id") for r in table.rows] == ["00123", "S002"]
    assert [table.get(r, "name") for r in table.rows] == ["张三", "李四"]
    assert table.line_numbers == (2, 3)


def test_undecodable_text_is_an_error_not_silently_ignored(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes("学员编号,姓名\n".encode("utf-8") + b"S1,\xff\xfe\xfa\n")
    with pytest.raises(TableError) as info:
        read_raw(path)
    assert "neither UTF-8 nor GB18030" in str(info.value)


def test_xlsx_and_html_disguised_as_xls(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["培训班花名册"])  # a title row above the header
    sheet.append(["学员编号", "姓名"])
    sheet.append(["00123", "张三"])
    sheet.append([456, "李四"])
    book.save(tmp_path / "roster.xlsx")
    html = ("<html><head><meta charset='gb2312'></head><body><table><tr><td>学员编号</td><td>姓名</td></tr>"
            "<tr><td>'00123</td><td>张三</td></tr></table></body></html>")
    (tmp_path / "roster.xls").write_bytes(html.encode("gb18030"))
    aliases = {"trainee_id": ["学员编号"], "name": ["姓名"]}
    xlsx = find_header(read_raw(tmp_path / "roster.xlsx"), aliases, ["trainee_id"])
    assert [xlsx.get(r, "trainee_id") for r in xlsx.rows] == ["00123", "456"]
    assert xlsx.header_line == 2
    xls = find_header(read_raw(tmp_path / "roster.xls"), aliases, ["trainee_id"])
    assert [(xls.get(r, "trainee_id"), xls.get(r, "name")) for r in xls.rows] == [("00123", "张三")]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\x00\x01\x02binary\x00" * 20, "binary"),
    ("姓名,身份证号\n张三,1\n".encode(), "required column missing"),
])
def test_unreadable_tables_say_why(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(content)
    with pytest.raises(TableError) as info:
        find_header(read_raw(path), {"trainee_id": ["学员编号"], "name": ["姓名"]}, ["trainee_id", "name"])
    assert message in str(info.value)
    assert "roster.csv" in str(info.value)


@pytest.mark.parametrize("text, expected", [
    ("2024-10-12 08:29:57", dt.datetime(2024, 10, 12, 8, 29, 57, tzinfo=TZ)),
    ("2024/10/12 8:29", dt.datetime(2024, 10, 12, 8, 29, tzinfo=TZ)),
    ("2024-10-12T08:29:57", dt.datetime(2024, 10, 12, 8, 29, 57, tzinfo=TZ)),
])
def test_vendor_timestamps(text: str, expected: dt.datetime) -> None:
    assert parse_timestamp(text, TZ) == expected


@pytest.mark.parametrize("text", ["2024/13/45", "2024-02-30", "yesterday"])
def test_impossible_dates_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_id_numbers_are_masked() -> None:
    assert mask_id_number("370902199001011234") == "3709**********1234"
    assert mask_id_number(None) is None


def test_default_class_reads_cleanly(tmp_path: Path) -> None:
    writer = ClassWriter(tmp_path).default()
    archive = load_class(writer.folder)
    assert archive is not None
    assert [t.trainee_id for t in archive.trainees] == ["S001", "S002", "S003"]
    assert archive.trainees[2].training_kind == "refresher"
    assert [s.session_id for s in archive.sessions] == ["S1", "S2", "S3"]
    assert archive.sessions[1].start == dt.datetime(2024, 10, 8, 13, 30, tzinfo=TZ)
    # the re-uploaded duplicate of S002 counts once; the card event is not face evidence
    assert [(c.trainee_id, c.method, c.is_face) for c in archive.checkins] == [
        ("S001", "face", True), ("S002", "face", True), ("S003", "card", False), ("S001", "face", True)]
    assert archive.checkins[0].source_row == 4  # two title rows, then the header
    assert archive.online[0].session_id == "S3"  # the course id names the online session
    assert archive.missing_parts == ("recordings",)
    assert [p for p in archive.problems if p.level == "error"] == []


def _problems(writer: ClassWriter):
    archive = load_class(writer.folder)
    return [p for p in archive.problems if p.level == "error"], archive


@pytest.mark.parametrize("rel, content, file, row, column, expected_fragment", [
    ("schedule.csv", "session_id,date,start,end\nS1,2024/13/45,08:30,11:30\n", "schedule.csv", 2, "date",
     "real calendar date"),
    ("schedule.csv", "session_id,date,start,end\nS1,2024-10-08,11:30,08:30\n", "schedule.csv", 2, "end",
     "a time after 11:30"),
    ("roster.csv", "trainee_id,name\nS001,张三\nS001,李四\n", "roster.csv", 3, "trainee_id", "already on row 2"),
    ("roster.csv", "trainee_id,name,photo\nS001,张三,photos/none.jpg\n", "roster.csv", 2, "photo",
     "an existing image file"),
    ("roster.csv", "trainee_id,name,photo\nS001,张三,../../etc/passwd\n", "roster.csv", 2, "photo",
     "inside the class folder"),
    ("schedule.csv", "session_id,date,start\nS1,2024-10-08,08:30\n", "schedule.csv", 1, "end", "columns"),
])
def test_bad_rows_name_file_row_column(tmp_path: Path, rel, content, file, row, column, expected_fragment) -> None:
    writer = ClassWriter(tmp_path).default()
    writer.text(rel, content)
    errors, _ = _problems(writer)
    assert errors, "expected a problem"
    match = [p for p in errors if p.file.endswith(file) and p.row == row and column in (p.column or "")]
    assert match, [p.describe() for p in errors]
    assert expected_fragment in match[0].describe()


def test_unknown_teacher_is_reported(tmp_path: Path) -> None:
    writer = ClassWriter(tmp_path).default()
    writer.text("schedule.csv", "session_id,date,start,end,teacher_id\nS1,2024-10-08,08:30,11:30,T999\n")
    archive = load_class(writer.folder)
    assert any(p.row == 2 and p.found == "T999" for p in archive.problems)


def test_bad_class_yaml_does_not_stop_other_classes(tmp_path: Path) -> None:
    good = ClassWriter(tmp_path / "city" / "a", "GOOD-1").default()
    bad = ClassWriter(tmp_path / "city" / "b" / "deeper", "BAD-1").default()
    bad.text("class.yaml", "class_id: [unclosed\n  institution_id: x: y\n")
    results = list(iter_classes(tmp_path))
    assert len(results) == 2
    by_folder = {folder: (archive, problems) for folder, archive, problems in results}
    assert by_folder[good.folder][0] is not None
    archive, problems = by_folder[bad.folder]
    assert archive is None
    assert "not valid YAML" in problems[0].describe() and "class.yaml" in problems[0].file


def test_class_folders_at_any_depth(tmp_path: Path) -> None:
    ClassWriter(tmp_path / "a", "C1").default()
    ClassWriter(tmp_path / "b" / "c" / "d", "C2").default()
    assert [p.name for p in find_class_folders(tmp_path)] == ["C1", "C2"]


def test_missing_required_parts_are_findings_material_not_crashes(tmp_path: Path) -> None:
    writer = ClassWriter(tmp_path).default()
    (writer.folder / "roster.csv").unlink()
    for path in (writer.folder / "documents").iterdir():
        path.unlink()
    archive = load_class(writer.folder)
    assert {"roster", "documents", "recordings"} <= set(archive.missing_parts)
    assert any("roster.csv" in p.file and "missing" in p.message for p in archive.problems)
