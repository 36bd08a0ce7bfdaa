"""The run's Excel workbook: the provincial summary table (对照检查工作汇总表) in the template's exact form,
the findings, hours per trainee, and which institution each summary row stands for.

Text from the inputs (institution names, messages, file names) is always written as a string cell with
Excel's quote prefix, so a value such as `=HYPERLINK(...)` or `+cmd|...` can never become a formula.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.model import DEFAULT_TZ
from pipeline.ops.atomic import write_atomic
from pipeline.outputs.report.data import ReportTables, page_name, present
from pipeline.outputs.report.i18n import SEVERITIES, Words
from pipeline.outputs.report.page import local

SUMMARY_SHEET = "对照检查工作汇总表"
EXAM_SECTION = "考试机构（考试点）对照检查统计表"
TRAINING_SECTION = "培训机构对照检查统计表"
SUMMARY_COLUMNS = ("序号", "问题（项）", "限期整改（项）", "停业整顿（家）", "退出（家）", "行政处罚（家）", "处罚金额（万）")
_BOLD = Font(bold=True)
_LINK = Font(color="1F5FBF", underline="single")
DATE_FORMAT, TIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
DIGITS = 2  # measured values, thresholds and hours: two decimals are finer than any rule judges
_HEAD_FILL = PatternFill("solid", fgColor="F2F4F8")


def put(ws: Worksheet, row: int, col: int, value: object):
    """Write one cell; strings are forced to text (never a formula) and stripped of XML-illegal characters."""
    value = present(value)
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
        cell.quotePrefix = True  # Excel keeps it text even when someone edits the cell
    elif isinstance(value, pd.Timestamp):
        cell.value = value.tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    elif hasattr(value, "item"):  # numpy scalars
        cell.value = value.item()
    else:
        cell.value = value
    if isinstance(cell.value, float):
        cell.value = round(cell.value, DIGITS)
    elif isinstance(value, dt.datetime) or isinstance(value, pd.Timestamp):
        cell.number_format = TIME_FORMAT
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    return cell


def put_link(ws: Worksheet, row: int, col: int, text: object, target: str | None):
    """A text cell that opens `target` (a path relative to the workbook) when clicked."""
    cell = put(ws, row, col, text)
    if target and present(text):
        cell.hyperlink = target
        cell.font = _LINK
    return cell


def institution_rows(t: ReportTables) -> pd.DataFrame:
    """One row per institution (audited classes, or findings only), with its finding counts; 序号 order."""
    names = t.classes.dropna(subset=["institution_id"]).groupby("institution_id")["institution_name"].first()
    classes = t.classes.groupby("institution_id")["class_id"].nunique()
    ids = sorted(set(t.classes["institution_id"].dropna()) | set(t.findings["institution_id"].dropna()))
    rows = pd.DataFrame({"institution_id": ids})
    rows["institution_name"] = rows["institution_id"].map(names)
    rows["classes"] = rows["institution_id"].map(classes).fillna(0).astype(int)
    per = t.findings.groupby("institution_id")
    rows["findings"] = rows["institution_id"].map(per.size()).fillna(0).astype(int)
    for sev in SEVERITIES:
        counts = t.findings[t.findings["severity"] == sev].groupby("institution_id").size()
        rows[sev] = rows["institution_id"].map(counts).fillna(0).astype(int)
    rows.insert(0, "seq", range(1, len(rows) + 1))
    return rows


def _section(ws: Worksheet, row: int, title: str) -> int:
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(SUMMARY_COLUMNS))
    put(ws, row, 1, title).font = _BOLD
    for col, name in enumerate(SUMMARY_COLUMNS, start=1):
        cell = put(ws, row + 1, col, name)
        cell.font, cell.fill = _BOLD, _HEAD_FILL
    return row + 2


def _summary(ws: Worksheet, inst: pd.DataFrame) -> None:
    """Two sections exactly as the notice's attachment; only 序号 and 问题（项） are filled, the enforcement
    columns are the inspector's decisions. The pipeline audits training classes, so the exam-site section
    keeps one empty row for the inspector."""
    ws.title = SUMMARY_SHEET
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(SUMMARY_COLUMNS))
    put(ws, 1, 1, SUMMARY_SHEET).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    row = _section(ws, 2, EXAM_SECTION)
    ws.cell(2, 1).comment = Comment("本流水线只审核培训班；考试机构（考试点）的检查结果由检查人员填写。", "trainaudit")
    row += 1  # the empty exam-site row
    row = _section(ws, row, TRAINING_SECTION)
    for _, r in inst.iterrows():
        put(ws, row, 1, int(r["seq"])).comment = Comment(
            f'{r["institution_id"]} {present(r["institution_name"]) or ""}'.strip(), "trainaudit")
        put(ws, row, 2, int(r["findings"]))
        row += 1
    for col, width in zip("ABCDEFG", (8, 12, 14, 14, 10, 14, 14)):
        ws.column_dimensions[col].width = width
    _print_setup(ws, landscape=False)


def _print_setup(ws: Worksheet, landscape: bool = True) -> None:
    """A4, landscape for wide sheets, one page wide, the header row repeated on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True
    ws.oddFooter.center.text = "&P / &N"
    ws.oddHeader.center.text = "&A"


def _widths(ws: Worksheet, caps: dict[int, int] | None = None) -> None:
    """Each column as wide as its longest value (a CJK character counts double), within 8..60."""
    caps = caps or {}
    for col in ws.iter_cols(min_row=1, max_row=min(ws.max_row, 500)):
        longest = 0
        for cell in col:
            v = cell.value
            if isinstance(v, (dt.datetime, pd.Timestamp)):
                n = 19
            elif isinstance(v, dt.date):
                n = 10
            else:
                text = "" if v is None else str(v)
                n = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
            longest = max(longest, n)
        idx = col[0].column
        ws.column_dimensions[get_column_letter(idx)].width = max(8, min(caps.get(idx, 60), longest + 2))


def _table(ws: Worksheet, title: str, headers: list[str], rows: list[list[object]],
           links: dict[int, list[str | None]] | None = None) -> None:
    """A sheet of rows under a bold header; `links`: column (1-based) -> a link target per row."""
    ws.title = title
    for col, name in enumerate(headers, start=1):
        cell = put(ws, 1, col, name)
        cell.font, cell.fill = _BOLD, _HEAD_FILL
    for r, values in enumerate(rows, start=2):
        for col, value in enumerate(values, start=1):
            target = (links or {}).get(col)
            if target is not None:
                put_link(ws, r, col, value, target[r - 2])
            else:
                put(ws, r, col, value)
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = ws.dimensions
    _widths(ws)
    _print_setup(ws)
    ws.print_title_rows = "1:1"


def _naive_local(ts: object, tz: str) -> dt.datetime | None:
    """Excel has no time zones: the class's local time, which is what the inspector reads everywhere else."""
    ts = local(ts, tz)
    return None if ts is None else ts.tz_localize(None).to_pydatetime()


def _date(value: object) -> dt.date | None:
    value = present(value)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _findings_rows(t: ReportTables, words: Words, tz_of: dict[str, str], names: dict[str, str]) -> list[list]:
    out = []
    f = t.findings.sort_values(["institution_id", "class_id", "rule_id", "start"], na_position="last")
    for _, r in f.iterrows():
        tz = tz_of.get(r["class_id"], DEFAULT_TZ)
        out.append([r["institution_id"], names.get(r["institution_id"]), r["class_id"], r["finding_id"], r["rule_id"],
                    words.rule(str(r["rule_id"])), words.value(r["severity"]), r["trainee_id"], r["session_id"],
                    _date(r["date"]), r["camera_id"], r["path"], _naive_local(r["start"], tz),
                    _naive_local(r["end"], tz), r["measured"], r["threshold"], r["message"],
                    r["evidence_path"], words("class_page")])
    return out


def _finding_links(rows: list[list], lang: str) -> dict[int, list[str | None]]:
    """Snapshot files and class pages, relative to OUT/report/ where the workbook lives."""
    snaps = [None if not present(r[17]) else "../" + quote(str(r[17]).replace("\\", "/")) for r in rows]
    pages = [quote(page_name(str(r[2]), lang)) for r in rows]
    return {18: snaps, 19: pages}


def _hours_rows(t: ReportTables, inst_of: dict[str, str]) -> list[list]:
    th = t.trainee_hours
    keys = ["class_id", "trainee_id"]
    wide = t.trainees[keys + ["name", "training_kind"]].drop_duplicates(keys).set_index(keys)
    for kind in ("theory", "practical"):
        part = th[th["kind"] == kind].groupby(keys)
        wide[f"credited_{kind}"] = part["credited_hours"].sum(min_count=1)
        wide[f"observed_{kind}"] = part["observed_hours"].sum(min_count=1)
    wide["checkins"] = t.checkins.groupby(keys).size()
    wide["findings"] = t.findings.groupby(keys).size()
    wide = wide.reset_index().sort_values(keys)
    return [[inst_of.get(r["class_id"]), *(round(v, DIGITS) if isinstance(v, float) else v for v in r.tolist())]
            for _, r in wide.iterrows()]


def build_workbook(t: ReportTables, path: Path, words: Words) -> None:
    inst = institution_rows(t)
    names = dict(zip(inst["institution_id"], inst["institution_name"]))
    tz_of = dict(zip(t.classes["class_id"], t.classes["timezone"].fillna(DEFAULT_TZ)))
    inst_of = dict(zip(t.classes["class_id"], t.classes["institution_id"]))
    wb = Workbook()
    _summary(wb.active, inst)
    rows = _findings_rows(t, words, tz_of, names)
    _table(wb.create_sheet(), words("sheet_findings"),
           [words(k) for k in ("institution_id", "institution_name", "class_id", "finding_id", "rule", "rule_title",
                               "severity", "trainee", "session", "date", "camera", "file", "start", "end",
                               "measured", "threshold", "message", "evidence_path", "class_page")],
           rows, _finding_links(rows, words.lang))
    ws = wb.worksheets[-1]
    ws.column_dimensions["Q"].width = 60  # the message wraps rather than running off the page
    for cell in ws["Q"][1:]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    _table(wb.create_sheet(), words("sheet_hours"),
           [words(k) for k in ("institution_id", "class_id", "trainee_id", "name", "training_kind", "credited_theory",
                               "observed_theory", "credited_practical", "observed_practical", "checkins", "findings")],
           _hours_rows(t, inst_of))
    _table(wb.create_sheet(), words("sheet_institutions"),
           ["序号", words("institution_id"), words("institution_name"), words("classes"), words("findings"),
            *(words(s) for s in SEVERITIES)],
           inst[["seq", "institution_id", "institution_name", "classes", "findings", *SEVERITIES]].values.tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, wb.save)
