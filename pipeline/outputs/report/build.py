"""Rebuild every report page and the workbook of an output folder from its Parquet tables (and the pictures
the report cuts from the archive)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from pipeline.ops.atomic import write_atomic
from pipeline.outputs.report.class_page import class_page, class_view, trainee_order
from pipeline.outputs.report.data import ReportTables, class_tz, index_name, page_name, trainee_page_name
from pipeline.outputs.report.figures import Media
from pipeline.outputs.report.i18n import LANGS, Words
from pipeline.outputs.report.index_page import index_page, workbook_name
from pipeline.outputs.report.tables import read_table
from pipeline.outputs.report.trainee_page import trainee_page
from pipeline.outputs.report.workbook import build_workbook
from pipeline.outputs.store import class_key


@dataclass(frozen=True)
class ReportResult:
    index: Path
    workbook: Path
    class_pages: dict[str, Path]  # class_id -> page
    findings: int
    trainee_pages: dict[tuple[str, str], Path] = field(default_factory=dict)  # (class_id, trainee_id) -> page


def _publish(path: Path, text: str) -> None:
    """Write next to the target and rename, so a browser never opens a half-written page."""
    write_atomic(path, text)


def _generated(tz: str) -> str:
    """Now, in the class's time zone, with the zone written out."""
    now = pd.Timestamp.now(tz="UTC").tz_convert(tz)
    return f'{now.strftime("%Y-%m-%d %H:%M")} ({tz}, UTC{now.strftime("%z")[:3]}:{now.strftime("%z")[3:]})'


def build_report(out_dir: Path, lang: str = "zh", only: set[str] | None = None,
                 removed: set[str] = frozenset()) -> ReportResult:
    """Write, in `lang`, one page per class and per trainee, the run index and the summary workbook under
    OUT/report/. Chinese keeps the plain names (index.html, <class>.html, summary.xlsx); English writes
    index.en.html, <class>.en.html, summary.en.xlsx beside them, so neither overwrites the other.

    `only` (class ids): rebuild just these classes' pages (a nightly run's changed classes), with the index
    and the workbook; `removed`: classes whose pages go. `class_pages` then lists the pages rebuilt."""
    out_dir = Path(out_dir).resolve()
    words = Words(lang)
    tables = ReportTables.load(out_dir)
    report_dir = out_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    other = next(x for x in LANGS if x != lang)
    folders = {str(r["class_id"]): r["folder"] for _, r in tables.classes.iterrows()}
    medias = {cid: Media(out_dir, cid, Path(str(f)) if isinstance(f, str) and f else None) for cid, f in folders.items()}
    names = {cid: page_name(cid, lang) for cid in tables.class_ids()}
    pages, trainee_pages = {}, {}
    for class_id in removed:
        (report_dir / page_name(class_id, lang)).unlink(missing_ok=True)
        suffix = page_name("x", lang)[1:]
        for page in report_dir.glob(f"{class_key(class_id)}__*{suffix}"):
            if lang != "zh" or page.name.count(".") == 1:  # index.html style, not <page>.en.html
                page.unlink(missing_ok=True)
    for class_id, class_tables in tables.by_class(only).items():
        info = class_tables.info()
        generated = _generated(class_tz(info))
        path = report_dir / names[class_id]
        toggle = page_name(class_id, other)
        toggle_href = quote(toggle) if (report_dir / toggle).is_file() else None
        _publish(path, class_page(class_id, class_tables, out_dir, words, generated, medias, names, toggle_href))
        pages[class_id] = path
        view = class_view(class_id, class_tables, out_dir, words, medias, names)
        for tid in trainee_order(class_tables)[0]:
            tpath = report_dir / trainee_page_name(class_id, tid, lang)
            _publish(tpath, trainee_page(view, tid, generated))
            trainee_pages[(class_id, tid)] = tpath
    index = report_dir / index_name(lang)
    now = dt.datetime.now().astimezone()
    generated = f'{now.strftime("%Y-%m-%d %H:%M")} (UTC{now.strftime("%z")[:3]}:{now.strftime("%z")[3:]})'
    _publish(index, index_page(tables, read_table(out_dir, "runs"), words, generated))
    workbook = report_dir / workbook_name(lang)
    build_workbook(tables, workbook, words)
    return ReportResult(index=index, workbook=workbook, class_pages=pages, findings=len(tables.findings),
                        trainee_pages=trainee_pages)
