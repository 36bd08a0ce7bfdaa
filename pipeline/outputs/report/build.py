"""Rebuild every report page and the workbook of an output folder from its Parquet tables alone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pipeline.outputs.report.class_page import class_page
from pipeline.outputs.report.data import ReportTables, page_name
from pipeline.outputs.report.i18n import Words
from pipeline.outputs.report.index_page import index_page
from pipeline.outputs.report.tables import read_table
from pipeline.outputs.report.workbook import build_workbook


@dataclass(frozen=True)
class ReportResult:
    index: Path
    workbook: Path
    class_pages: dict[str, Path]  # class_id -> page
    findings: int


def _publish(path: Path, text: str) -> None:
    """Write next to the target and rename, so a browser never opens a half-written page."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def build_report(out_dir: Path, lang: str = "zh") -> ReportResult:
    """Write OUT/report/<class>.html for every class, OUT/report/index.html and OUT/report/summary.xlsx."""
    out_dir = Path(out_dir).resolve()
    words = Words(lang)
    tables = ReportTables.load(out_dir)
    report_dir = out_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    generated = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    pages = {}
    for class_id, class_tables in tables.by_class().items():
        path = report_dir / page_name(class_id)
        _publish(path, class_page(class_id, class_tables, out_dir, words, generated))
        pages[class_id] = path
    index = report_dir / "index.html"
    _publish(index, index_page(tables, read_table(out_dir, "runs"), words, generated))
    workbook = report_dir / "summary.xlsx"
    build_workbook(tables, workbook, words)
    return ReportResult(index=index, workbook=workbook, class_pages=pages, findings=len(tables.findings))
