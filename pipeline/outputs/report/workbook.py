"""The run's Excel workbook: the provincial summary table (对照检查工作汇总表) in the template's exact form,
the findings, hours per trainee, and which institution each summary row stands for.

Text from the inputs (institution names, messages, file names) is always written as a string cell with
Excel's quote prefix, so a value such as `=HYPERLINK(...)` or `+cmd|...` can never become a formula.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.outputs.report.data import ReportTables, present
from pipeline.outputs.report.i18n import SEVERITIES, Words
from pipeline.outputs.report.page import when

SUMMARY_SHEET = "对照检查工作汇总表"
EXAM_SECTION = "考试机构（考试点）对照检查统计表"
TRAINING_SECTION = "培训机构对照检查统计表"
SUMMARY_COLUMNS = ("序号", "问题（项）", "限期整改（项）", "停业整顿（家）", "退出（家）", "行政处罚（家）", "处罚金额（万）")
_BOLD = Font(bold=True)
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


def _table(ws: Worksheet, title: str, headers: list[str], rows: list[list[object]]) -> None:
    ws.title = title
    for col, name in enumerate(headers, start=1):
        cell = put(ws, 1, col, name)
        cell.font, cell.fill = _BOLD, _HEAD_FILL
    for r, values in enumerate(rows, start=2):
        for col, value in enumerate(values, start=1):
            put(ws, r, col, value)
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = ws.dimensions


def _findings_rows(t: ReportTables, words: Words, tz_of: dict[str, str], names: dict[str, str]) -> list[list]:
    out = []
    f = t.findings.sort_values(["institution_id", "class_id", "rule_id", "start"], na_position="last")
    for _, r in f.iterrows():
        tz = tz_of.get(r["class_id"], "Asia/Shanghai")
        out.append([r["institution_id"], names.get(r["institution_id"]), r["class_id"], r["finding_id"], r["rule_id"],
                    words.rule(str(r["rule_id"])), words.value(r["severity"]), r["trainee_id"], r["session_id"],
                    present(r["date"]) and str(r["date"]), r["camera_id"], r["path"], when(r["start"], tz, "%Y-%m-%d %H:%M:%S"),
                    when(r["end"], tz, "%Y-%m-%d %H:%M:%S"), r["measured"], r["threshold"], r["message"],
                    r["evidence_path"]])
    return out


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
    return [[inst_of.get(r["class_id"]), *r.tolist()] for _, r in wide.iterrows()]


def build_workbook(t: ReportTables, path: Path, words: Words) -> None:
    inst = institution_rows(t)
    names = dict(zip(inst["institution_id"], inst["institution_name"]))
    tz_of = dict(zip(t.classes["class_id"], t.classes["timezone"].fillna("Asia/Shanghai")))
    inst_of = dict(zip(t.classes["class_id"], t.classes["institution_id"]))
    wb = Workbook()
    _summary(wb.active, inst)
    _table(wb.create_sheet(), words("sheet_findings"),
           [words(k) for k in ("institution_id", "institution_name", "class_id", "finding_id", "rule", "rule_title",
                               "severity", "trainee", "session", "date", "camera", "file", "start", "end",
                               "measured", "threshold", "message", "evidence_path")],
           _findings_rows(t, words, tz_of, names))
    _table(wb.create_sheet(), words("sheet_hours"),
           [words(k) for k in ("institution_id", "class_id", "trainee_id", "name", "training_kind", "credited_theory",
                               "observed_theory", "credited_practical", "observed_practical", "checkins", "findings")],
           _hours_rows(t, inst_of))
    _table(wb.create_sheet(), words("sheet_institutions"),
           ["序号", words("institution_id"), words("institution_name"), words("classes"), words("findings"),
            *(words(s) for s in SEVERITIES)],
           inst[["seq", "institution_id", "institution_name", "classes", "findings", *SEVERITIES]].values.tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
