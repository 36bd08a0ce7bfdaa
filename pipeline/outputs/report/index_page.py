"""The run's index page: runs, classes, institutions, findings per rule and severity, links to pages."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd

from pipeline.outputs.report.data import ReportTables, page_name, present
from pipeline.outputs.report.i18n import SEVERITIES, Words
from pipeline.outputs.report.page import day, esc, filter_bar, num_cell, page, when
from pipeline.outputs.report.workbook import institution_rows


def workbook_name(lang: str) -> str:
    return "summary.xlsx" if lang == "zh" else f"summary.{lang}.xlsx"


def _table(words: Words, cols: list[str], rows: list[str], table_id: str) -> str:
    head = "".join(f"<th>{esc(words(c))}</th>" for c in cols)
    return (f'<table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _sev_cells(counts: pd.Series | dict) -> str:
    return "".join(num_cell(int(counts.get(s, 0)), 0) for s in SEVERITIES)


def _classes(t: ReportTables, words: Words) -> str:
    rows = []
    by_class = t.findings.groupby(["class_id", "severity"]).size()
    rules_of = t.findings.groupby("class_id")["rule_id"].agg(lambda r: sorted(set(r.dropna().astype(str)))).to_dict()
    info = t.classes.drop_duplicates("class_id").set_index("class_id")
    for cid in t.class_ids():
        c = info.loc[cid].to_dict() if cid in info.index else {}
        counts = by_class[cid].to_dict() if cid in by_class.index.get_level_values(0) else {}
        rules = rules_of.get(cid, [])
        text = " ".join([cid, str(present(c.get("institution_name")) or ""), str(present(c.get("institution_id")) or ""),
                         *rules, *(words.rule(r) for r in rules)]).lower()
        rows.append(
            f'<tr data-filter data-rule="{esc(" ".join(rules))}" data-severity="{esc(" ".join(counts))}" '
            f'data-inst="{esc(present(c.get("institution_id")))}" data-text="{esc(text)}">'
            f'<td><a class="class-link" href="{esc(quote(page_name(cid, words.lang)))}">{esc(cid)}</a></td>'
            f'<td>{esc(c.get("institution_name"))}</td><td>{esc(c.get("institution_id"))}</td>'
            f'<td>{esc(c.get("job_type"))}</td><td>{esc(words.value(present(c.get("training_kind")) or ""))}</td>'
            f'<td>{esc(day(c.get("start_date")))} – {esc(day(c.get("end_date")))}</td>'
            f'{num_cell(c.get("trainees"), 0)}{num_cell(c.get("sessions"), 0)}'
            f'{num_cell(sum(counts.values()), 0)}{_sev_cells(counts)}</tr>')
    cols = ["class_id", "institution_name", "institution_id", "job_type", "training_kind", "dates", "trainees",
            "sessions", "findings", *SEVERITIES]
    return f'<section id="classes"><h2>{esc(words("classes"))} ({len(rows)})</h2>{_table(words, cols, rows, "class-table")}</section>'


def _institutions(t: ReportTables, words: Words) -> str:
    inst = institution_rows(t)
    rows = [f'<tr>{num_cell(r["seq"], 0)}<td>{esc(r["institution_id"])}</td><td>{esc(r["institution_name"])}</td>'
            f'{num_cell(r["classes"], 0)}{num_cell(r["findings"], 0)}{_sev_cells(r)}</tr>' for _, r in inst.iterrows()]
    cols = ["序号", "institution_id", "institution_name", "classes", "findings", *SEVERITIES]
    return (f'<section id="institutions"><h2>{esc(words("institutions"))} ({len(rows)})</h2>'
            f'{_table(words, cols, rows, "institution-table")}</section>')


def _rules(t: ReportTables, words: Words) -> str:
    counts = t.findings.groupby(["rule_id", "severity"]).size()
    rows = []
    for rule in sorted(set(t.findings["rule_id"].dropna())):
        per = counts[rule].to_dict()
        rows.append(f'<tr><td>{esc(rule)}</td><td>{esc(words.rule(rule))}</td>{_sev_cells(per)}'
                    f'{num_cell(sum(per.values()), 0)}</tr>')
    total = t.findings["severity"].value_counts().to_dict()
    foot = (f'<tfoot><tr><th colspan="2">{esc(words("total"))}</th>{_sev_cells(total)}'
            f'{num_cell(len(t.findings), 0)}</tr></tfoot>')
    table = _table(words, ["rule", "rule_title", *SEVERITIES, "total"], rows, "rule-table").replace("</table>", foot + "</table>")
    return f'<section id="rules"><h2>{esc(words("by_rule"))}</h2>{table}</section>'


def _runs(runs: pd.DataFrame, words: Words) -> str:
    if runs.empty:
        return ""
    rows = [f'<tr><td>{esc(r["run_id"])}</td><td>{esc(when(r["started"], "UTC", "%Y-%m-%d %H:%M UTC"))}</td>'
            f'<td>{esc(r["status"])}</td>{num_cell(r["classes"], 0)}{num_cell(r["findings"], 0)}{num_cell(r["errors"], 0)}</tr>'
            for _, r in runs.sort_values("started", ascending=False).head(20).iterrows()]
    return (f'<section id="runs"><h2>{esc(words("runs"))}</h2>'
            f'{_table(words, ["run_id", "started", "status", "classes", "findings", "errors"], rows, "run-table")}</section>')


def index_page(t: ReportTables, runs: pd.DataFrame, words: Words, generated: str) -> str:
    body = (f'<h1>{esc(words("index_title"))}</h1><p class="muted">{esc(words("generated"))} {esc(generated)} · '
            f'<a href="{esc(workbook_name(words.lang))}">{esc(words("workbook"))}</a></p>'
            f'<p class="counts">{esc(words("findings"))}: <b>{len(t.findings)}</b></p>'
            + filter_bar(words, [(r, words.rule(r)) for r in sorted(set(t.findings["rule_id"].dropna().astype(str)))],
                         sorted(set(t.classes["institution_id"].dropna().astype(str))))
            + _classes(t, words) + _institutions(t, words) + _rules(t, words) + _runs(runs, words))
    return page(words("index_title"), words.lang, body)
