"""The report rebuilt from a small output folder: workbook against the findings table, escaping,
video links, language, the command."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.html
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.outputs.report import build_report, read_table
from pipeline.cli.report import report
from pipeline.outputs.report.workbook import (EXAM_SECTION, SUMMARY_COLUMNS, SUMMARY_SHEET,
                                              TRAINING_SECTION)
from test_report_sample import CLASS_A, CLASS_B, EVIL_HTML, EVIL_NAME, INST_A, INST_B, REC_1, REC_2, write_sample_out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = write_sample_out(tmp_path_factory.mktemp("sample"))
    return out, build_report(out)


def _doc(path: Path):
    return lxml.html.fromstring(path.read_text(encoding="utf-8"))


def _rows(ws):
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_summary_sheet_has_the_template_form_and_counts_from_findings(built):
    out, result = built
    ws = openpyxl.load_workbook(result.workbook)[SUMMARY_SHEET]
    rows = _rows(ws)
    assert rows[0][0] == SUMMARY_SHEET
    exam = next(i for i, r in enumerate(rows) if r[0] == EXAM_SECTION)
    training = next(i for i, r in enumerate(rows) if r[0] == TRAINING_SECTION)
    assert tuple(rows[exam + 1]) == SUMMARY_COLUMNS == tuple(rows[training + 1])
    assert rows[exam + 2] == [None] * len(SUMMARY_COLUMNS)  # exam sites: left for the inspector
    findings = read_table(out, "findings")
    expected = findings.groupby("institution_id").size().sort_index()
    body = rows[training + 2:]
    assert [r[0] for r in body] == list(range(1, len(expected) + 1))
    assert [r[1] for r in body] == expected.tolist() == [6, 3]
    assert all(v is None for r in body for v in r[2:])  # enforcement columns: the inspector's decisions
    assert ws.cell(training + 3, 1).comment.text.startswith(INST_A)
    assert ws.cell(training + 4, 1).comment.text.startswith(INST_B)


def test_workbook_text_never_becomes_a_formula(built):
    _, result = built
    wb = openpyxl.load_workbook(result.workbook)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.data_type == "s" and cell.quotePrefix, (ws.title, cell.coordinate)
                    texts.append(cell.value)
    assert EVIL_NAME in texts and "+cmd|' /C calc'!A0" in texts and "@SUM(1+1)*cmd" in texts
    with zipfile.ZipFile(result.workbook) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_findings_and_hours_sheets_match_the_tables(built):
    out, result = built
    wb = openpyxl.load_workbook(result.workbook)
    findings_ws, hours_ws = wb.worksheets[1], wb.worksheets[2]
    ids = [r[3] for r in _rows(findings_ws)[1:]]
    assert sorted(ids) == sorted(read_table(out, "findings")["finding_id"])
    th = read_table(out, "trainee_hours")
    expected = th[th["kind"] == "theory"].groupby(["class_id", "trainee_id"])["credited_hours"].sum()
    got = {(r[1], r[2]): r[5] for r in _rows(hours_ws)[1:]}
    assert {k: got[k] for k in expected.index} == expected.to_dict()
    assert got[(CLASS_B, "001")] is None  # no hours rows: empty, not zero


def test_class_page_shows_inputs_as_text_only(built):
    out, result = built
    doc = _doc(result.class_pages[CLASS_B])
    assert len(doc.xpath("//script")) == 1  # ours; the one in the inputs is text
    assert EVIL_HTML in doc.text_content()
    assert EVIL_NAME in doc.text_content()
    for attr in doc.xpath("//@src | //@href"):
        assert urlsplit(attr).scheme in ("", "data"), attr


def test_findings_carry_snapshot_and_video_offset(built):
    out, result = built
    page = result.class_pages[CLASS_A]
    doc = _doc(page)
    articles = doc.xpath('//article[contains(@class, "finding")]')
    assert len(articles) == len(read_table(out, "findings").query("class_id == @CLASS_A")) == 6
    hc = doc.xpath('//article[@data-rule="HEADCOUNT_MISMATCH"]')[0]
    link = hc.xpath('.//a[@class="video-link"]')[0]
    href = urlsplit(link.get("href"))
    assert href.fragment == "t=2473" and "00:41:13" in link.text_content()
    archive = out.parent / "archive"
    assert (page.parent / unquote(href.path)).resolve() == (archive / CLASS_A / REC_1).resolve()
    img = hc.xpath('.//figure//img[@class="frame"]')[0]
    assert (page.parent / unquote(img.get("src"))).resolve().is_file()
    blank = doc.xpath('//article[@data-rule="RECORDING_BLANK"]//a[@class="video-link"]')[0]
    assert blank.get("href").endswith(Path(REC_2).name + "#t=1800")  # the rule's own offset wins
    gap = doc.xpath('//article[@data-rule="RECORDING_GAP"]')[0]
    assert not gap.xpath('.//a[@class="video-link"]')  # 10:40 is past the end of every recording


def test_timeline_and_tables(built):
    _, result = built
    doc = _doc(result.class_pages[CLASS_A])
    svgs = doc.xpath('//*[local-name()="svg" and contains(@class, "timeline")]')
    assert len(svgs) == 1  # R201 on 2024-10-08; the online session has no room
    svg = svgs[0]
    assert len(svg.xpath('.//*[@class="lane-schedule"]')) == 2
    assert len(svg.xpath('.//*[@class="lane-recording"]')) == 2
    assert len(svg.xpath('.//*[@class="lane-gap"]')) == 1
    assert len(svg.xpath('.//*[@class="lane-blank"]')) == 1
    assert len(svg.xpath('.//*[local-name()="polyline"]')) == 2  # one headcount curve per session
    rows = doc.xpath('//table[@id="trainee-table"]/tbody/tr')
    assert [r[0].text_content() for r in rows] == ["S001", "S002", "S003"]
    flags = rows[2][-1]
    assert "实到学时不足" in flags.text_content() and flags.xpath('.//a[@title="HOURS_SHORTFALL"]')


def test_index_links_every_class(built):
    out, result = built
    doc = _doc(result.index)
    links = doc.xpath('//a[@class="class-link"]')
    assert sorted(a.text_content() for a in links) == [CLASS_A, CLASS_B]
    assert all((result.index.parent / unquote(a.get("href"))).is_file() for a in links)
    total = doc.xpath('//table[@id="rule-table"]/tfoot//td')[-1].text_content()
    assert int(total) == len(read_table(out, "findings"))


def test_english_report(tmp_path):
    out = write_sample_out(tmp_path)
    zh = build_report(out)
    result = build_report(out, lang="en")
    assert result.class_pages[CLASS_A].name == f"{CLASS_A}.en.html" and result.index.name == "index.en.html"
    assert result.workbook.name == "summary.en.xlsx" and zh.workbook.is_file()
    assert _doc(zh.class_pages[CLASS_A]).get("lang") == "zh-CN"  # the Chinese report is still there
    doc = _doc(result.class_pages[CLASS_A])
    assert doc.get("lang") == "en"
    text = doc.text_content()
    assert "open video at 00:41:13" in text
    assert doc.xpath('//details[@id="glance"]/summary')[0].text_content() == "Class at a glance"
    # the message is made again in English from the fields the rule stored; rule names are English too
    assert "Trainee 王五 (S003) checked in 1 time(s) for session S1" in text and "疑似代签" not in text
    assert "Checked in but not on video (proxy)" in text
    assert doc.xpath('//a[@class="class-link"]') == [] and _doc(result.index).xpath(
        f'//a[@class="class-link" and @href="{CLASS_A}.en.html"]')
    assert openpyxl.load_workbook(result.workbook).sheetnames[0] == SUMMARY_SHEET


def test_empty_output_folder_gives_an_empty_report(tmp_path):
    result = build_report(tmp_path)
    assert result.class_pages == {} and result.findings == 0
    rows = _rows(openpyxl.load_workbook(result.workbook)[SUMMARY_SHEET])
    assert rows[-1] == list(SUMMARY_COLUMNS) and rows[-2][0] == TRAINING_SECTION
    assert "<table" in result.index.read_text(encoding="utf-8")


@pytest.mark.parametrize("args, code", [([], 0), (["--lang", "en"], 0), (["--lang", "fr"], 2)])
def test_report_command(tmp_path, args, code):
    out = write_sample_out(tmp_path)
    result = CliRunner().invoke(report, [str(out), *args])
    assert result.exit_code == code, result.output
    if code == 0:
        index = "index.en.html" if "en" in args else "index.html"
        assert result.stdout.strip() == str((out / "report" / index).resolve())


def test_report_help_has_an_example():
    help_text = CliRunner().invoke(report, ["--help"]).output
    assert "trainaudit report out/ --lang en" in help_text and "--lang [zh|en]" in help_text


@pytest.mark.parametrize("finding, expected", [
    # the snapshot's own frame wins, so the link opens on the picture shown
    ({"path": REC_1, "detail": f'{{"snapshot_file": "{REC_2}", "snapshot_offset_s": 61.5}}'}, (REC_2, 61.5)),
    ({"path": REC_1, "start": "2024-10-08 09:11:10"}, (REC_1, 2473.0)),
    ({"path": "TA2024-DG-017/" + REC_1, "start": "2024-10-08 08:29:57"}, (REC_1, 0.0)),  # longer path form
    ({"path": REC_2, "detail": '{"start_offset_s": 1800}'}, (REC_2, 1800.0)),
    ({"camera_id": "R201-A", "start": "2024-10-08 13:31:00"}, (REC_2, 60.0)),
    ({"session_id": "S1", "start": "2024-10-08 09:00:00"}, (REC_1, 1803.0)),  # via the session's room
    ({"session_id": "S1", "start": "2024-10-08 11:00:00"}, None),  # inside the gap
    ({"camera_id": "R999", "start": "2024-10-08 09:00:00"}, None),
    ({"trainee_id": "S001"}, None),
])
def test_locate_in_video(built, finding, expected):
    from pipeline.outputs.report.data import ReportTables, locate_in_video

    out, _ = built
    t = ReportTables.load(out).for_class(CLASS_A)
    if "start" in finding:
        finding = {**finding, "start": pd.Timestamp(finding["start"], tz="Asia/Shanghai")}
    found = locate_in_video(t, finding)
    assert (None if found is None else (found[0]["path"], found[1])) == expected


def test_required_hours_fall_back_to_what_the_rules_judged(built):
    from pipeline.outputs.report.class_page import _required_hours
    from pipeline.outputs.report.data import ReportTables

    out, _ = built
    t = ReportTables.load(out).for_class(CLASS_A)
    assert _required_hours(t, t.info()) == {"theory": 88.0, "practical": 60.0, "total": 148.0}
    blank = {"training_kind": "initial"}
    shortfall = pd.DataFrame([{"rule_id": "HOURS_SHORTFALL", "detail": d} for d in (
        '{"part": "theory", "required_hours": 88.0, "trainee_kind": "initial"}',
        '{"part": "total", "required_hours": 8.0, "trainee_kind": "refresher"}')])
    t2 = dataclasses.replace(t, findings=shortfall)
    assert _required_hours(t2, blank) == {"theory": 88.0, "practical": None, "total": None}


def test_workbook_has_real_dates_rounded_numbers_links_and_print_setup(built):
    import datetime as dt

    out, result = built
    ws = openpyxl.load_workbook(result.workbook).worksheets[1]
    head = [c.value for c in ws[1]]
    rows = {r[3].value: r for r in ws.iter_rows(min_row=2)}
    hc = rows["f0a1"]  # HEADCOUNT_MISMATCH at 09:11:10 Shanghai time
    start = hc[head.index("开始时间")]
    assert start.value == dt.datetime(2024, 10, 8, 9, 11, 10) and start.number_format == "yyyy-mm-dd hh:mm:ss"
    sparse = rows["f0a6"][head.index("日期")]
    assert type(sparse.value) is dt.datetime and sparse.value.date() == dt.date(2024, 10, 8)  # Excel keeps a date
    assert sparse.number_format == "yyyy-mm-dd"
    snap = hc[head.index("截图文件")]
    assert snap.hyperlink is not None and (out / "report" / unquote(snap.hyperlink.target)).resolve().is_file()
    page = hc[head.index("班级页面")]
    assert (out / "report" / unquote(page.hyperlink.target)).is_file()
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1 and ws.print_title_rows
    assert ws.column_dimensions["Q"].width == 60 and ws.column_dimensions["A"].width >= 12
    hours = openpyxl.load_workbook(result.workbook).worksheets[2]
    floats = [c.value for r in hours.iter_rows(min_row=2) for c in r if isinstance(c.value, float)]
    assert floats and all(v == round(v, 2) for v in floats)
