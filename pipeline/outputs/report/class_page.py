"""One class's page: at a glance, findings with their evidence, timelines, sessions and trainees."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from pipeline.outputs.report.data import (ReportTables, class_tz, detail_dict, locate_in_video, present,
                                          snapshot_href, video_link)
from pipeline.outputs.report.i18n import SEVERITIES, Words
from pipeline.outputs.report.page import clock, day, esc, num, num_cell, page, when
from pipeline.outputs.report.timeline import timelines_html


def _severity_badge(severity: object, words: Words) -> str:
    sev = str(present(severity) or "low")
    return f'<span class="sev sev-{esc(sev)}">{esc(words.value(sev))}</span>'


def severity_counts(findings: pd.DataFrame) -> dict[str, int]:
    counts = findings["severity"].value_counts().to_dict()
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}


def _trainee_hours(t: ReportTables) -> pd.DataFrame:
    """Per trainee: credited and observed 学时 by kind, check-in events, sessions checked in."""
    th = t.trainee_hours
    rows = t.trainees[["trainee_id", "name", "training_kind"]].drop_duplicates("trainee_id").set_index("trainee_id")
    for kind in ("theory", "practical"):
        part = th[th["kind"] == kind].groupby("trainee_id")
        rows[f"credited_{kind}"] = part["credited_hours"].sum(min_count=1)
        rows[f"observed_{kind}"] = part["observed_hours"].sum(min_count=1)
    rows["checkins"] = t.checkins.groupby("trainee_id").size()
    rows["sessions_checked_in"] = th[th["checked_in"] == True].groupby("trainee_id")["session_id"].nunique()  # noqa: E712
    rows["observed_total"] = rows[["observed_theory", "observed_practical"]].sum(axis=1, min_count=1)
    return rows.reset_index()


def _required_hours(t: ReportTables, info: dict) -> dict[str, float | None]:
    """学时 required (theory, practical, total): the class row's, else what the rules judged against
    (`HOURS_SHORTFALL` detail: part, required_hours) for trainees of the class's own kind."""
    required = {part: present(info.get(f"required_{part}_hours")) for part in ("theory", "practical", "total")}
    for _, f in t.findings[t.findings["rule_id"] == "HOURS_SHORTFALL"].iterrows():
        d = detail_dict(f["detail"])
        part, hours = d.get("part"), d.get("required_hours")
        if part in required and required[part] is None and isinstance(hours, (int, float)) \
                and d.get("trainee_kind", info.get("training_kind")) == info.get("training_kind"):
            required[part] = float(hours)
    return required


def _glance(t: ReportTables, info: dict, hours: pd.DataFrame, words: Words) -> str:
    observed = hours["observed_total"].dropna()
    required = " / ".join(num(v) or "–" for v in _required_hours(t, info).values())
    short = t.findings.loc[t.findings["rule_id"] == "HOURS_SHORTFALL", "trainee_id"].dropna().nunique()
    items = [
        ("institution", f'{present(info.get("institution_name")) or ""} ({present(info.get("institution_id")) or ""})'),
        ("job_type", info.get("job_type")), ("training_kind", words.value(info.get("training_kind") or "")),
        ("dates", f'{day(info.get("start_date"))} – {day(info.get("end_date"))}'),
        ("rule_pack", info.get("rule_pack")), ("head_teacher", info.get("head_teacher")),
        ("trainees", len(t.trainees) or info.get("trainees")), ("sessions", len(t.sessions) or info.get("sessions")),
        ("recordings", len(t.recordings)), ("hours_required", required),
        ("hours_scheduled", num(t.sessions["hours"].sum(min_count=1))),
        ("hours_observed", f"{num(observed.median())} / {num(observed.min())}" if len(observed) else "–"),
        ("below_requirement", short),
    ]
    cells = "".join(f"<dt>{esc(words(k))}</dt><dd>{esc(v)}</dd>" for k, v in items)
    counts = severity_counts(t.findings)
    sev = "".join(f"<span>{_severity_badge(s, words)} {counts[s]}</span>" for s in SEVERITIES)
    return (f'<section id="glance"><h2>{esc(words("at_a_glance"))}</h2><dl class="glance">{cells}</dl>'
            f'<p class="counts">{esc(words("findings"))}: <b>{len(t.findings)}</b> · '
            f'{esc(words("findings_by_severity"))}: {sev}</p></section>')


def _finding(f: dict, t: ReportTables, info: dict, out_dir: Path, words: Words, tz: str) -> str:
    facts = [("rule", f"{f['rule_id']} · {words.rule(str(f['rule_id']))}"), ("trainee", f.get("trainee_id")),
             ("session", f.get("session_id")), ("date", day(f.get("date"))), ("camera", f.get("camera_id")),
             ("time", " – ".join(x for x in (when(f.get("start"), tz, "%Y-%m-%d %H:%M:%S"),
                                             when(f.get("end"), tz, "%H:%M:%S")) if x)),
             ("measured", num(f.get("measured"), 2)), ("threshold", num(f.get("threshold"), 2)),
             ("file", f.get("path"))]
    spans = " ".join(f'<span{" class=long" if k == "file" else ""}>{esc(words(k))}: <b>{esc(v)}</b></span>'
                     for k, v in facts if present(v) not in (None, ""))
    video = ""
    located = locate_in_video(t, f)
    if located:
        link = video_link(out_dir, located[0], located[1], info.get("folder"))
        label = words("open_video_at", t=clock(link.offset_s))
        video = (f'<p><a class="video-link" href="{esc(link.href)}" title="{esc(link.path)}">▶ {esc(label)}</a> '
                 f'<span class="muted">{esc(link.path)}</span></p>')
    detail = detail_dict(f.get("detail"))
    detail_html = (f"<details><summary>{esc(words('detail'))}</summary>"
                   f"<pre>{esc(json.dumps(detail, ensure_ascii=False, indent=1))}</pre></details>") if detail else ""
    img = ""
    src = snapshot_href(out_dir, f.get("evidence_path"))
    if src:
        img = (f'<a href="{esc(src)}"><img class="snapshot" src="{esc(src)}" alt="{esc(words("snapshot"))} '
               f'{esc(f["finding_id"])}" loading="lazy"></a>')
    sev = str(present(f.get("severity")) or "low")
    return (f'<article class="finding {esc(sev)}" id="f-{esc(f["finding_id"])}" data-rule="{esc(f["rule_id"])}" '
            f'data-severity="{esc(sev)}"><div>{_severity_badge(sev, words)} <b>{esc(f["rule_id"])}</b>'
            f'<p class="message">{esc(f.get("message"))}</p><p class="facts">{spans}</p>{video}{detail_html}'
            f'<p class="muted">{esc(words("finding_id"))}: {esc(f["finding_id"])}</p></div><div>{img}</div></article>')


def _findings(t: ReportTables, info: dict, out_dir: Path, words: Words, tz: str) -> str:
    head = f'<section id="findings"><h2>{esc(words("findings"))} ({len(t.findings)})</h2>'
    if t.findings.empty:
        return head + f'<p>{esc(words("no_findings"))}</p></section>'
    order = t.findings.assign(_sev=t.findings["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).fillna(9))
    order = order.sort_values(["_sev", "rule_id", "start", "trainee_id", "finding_id"], na_position="last")
    items = "".join(_finding({k: present(v) for k, v in row.items()}, t, info, out_dir, words, tz)
                    for row in order.drop(columns="_sev").to_dict("records"))
    note = f'<p class="muted">{esc(words("video_link_note"))}</p>'
    return head + note + items + "</section>"


def _sessions_table(t: ReportTables, words: Words, tz: str) -> str:
    cov = t.coverage.groupby("session_id")[["recorded_min", "gap_min", "blank_min"]].sum(min_count=1)
    peak = t.headcount.groupby("session_id")["faces"].max()
    cols = ["session", "date", "time", "kind", "mode", "room", "teacher", "hours", "scheduled_min",
            "recorded_min", "gap_min", "blank_min", "peak_headcount"]
    head = "".join(f"<th>{esc(words(c))}</th>" for c in cols)
    body = []
    for _, s in t.sessions.sort_values(["start", "session_id"], na_position="last").iterrows():
        sid = s["session_id"]
        c = cov.loc[sid] if sid in cov.index else {}
        body.append(
            f'<tr><td>{esc(sid)}</td><td>{esc(day(s.get("date")) or when(s["start"], tz, "%Y-%m-%d"))}</td>'
            f'<td>{esc(when(s["start"], tz, "%H:%M"))}–{esc(when(s["end"], tz, "%H:%M"))}</td>'
            f'<td>{esc(words.value(s.get("kind")))}</td><td>{esc(words.value(s.get("mode")))}</td>'
            f'<td>{esc(s.get("room"))}</td><td>{esc(s.get("teacher_id"))}</td>{num_cell(s.get("hours"))}'
            f'{num_cell(s.get("scheduled_min"), 0)}{num_cell(c.get("recorded_min"), 0)}'
            f'{num_cell(c.get("gap_min"), 0)}{num_cell(c.get("blank_min"), 0)}{num_cell(peak.get(sid), 0)}</tr>')
    return (f'<section id="sessions"><h2>{esc(words("session_table"))}</h2><p class="muted">{esc(words("sort_hint"))}</p>'
            f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></section>')


def _flags(trainee_id: str, findings: pd.DataFrame) -> str:
    mine = findings[findings["trainee_id"] == trainee_id]
    links = []
    for rule, group in mine.groupby("rule_id"):
        first = group.iloc[0]["finding_id"]
        links.append(f'<a href="#f-{esc(quote(str(first)))}">{esc(rule)}</a>×{len(group)}')
    return " ".join(links)


def _trainee_table(t: ReportTables, rows: pd.DataFrame, words: Words) -> str:
    cols = ["trainee_id", "name", "training_kind", "credited_theory", "observed_theory", "credited_practical",
            "observed_practical", "checkins", "sessions_checked_in", "flags"]
    head = "".join(f"<th>{esc(words(c))}</th>" for c in cols)
    body = []
    for _, r in rows.iterrows():
        n_flags = int((t.findings["trainee_id"] == r["trainee_id"]).sum())
        body.append(
            f'<tr><td>{esc(r["trainee_id"])}</td><td>{esc(r["name"])}</td><td>{esc(words.value(r["training_kind"]))}</td>'
            + "".join(num_cell(r[c]) for c in cols[3:7])
            + num_cell(r["checkins"], 0) + num_cell(r["sessions_checked_in"], 0)
            + f'<td data-v="{n_flags}">{_flags(r["trainee_id"], t.findings)}</td></tr>')
    return (f'<section id="trainees"><h2>{esc(words("trainee_table"))}</h2><p class="muted">{esc(words("sort_hint"))}</p>'
            f'<table class="sortable" id="trainee-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table></section>")


def _problems(t: ReportTables, words: Words) -> str:
    if t.problems.empty:
        return ""
    cols = ["file", "row", "column", "message"]
    head = "".join(f"<th>{esc(words(c))}</th>" for c in cols)
    body = "".join(f'<tr><td>{esc(p["file"])}</td>{num_cell(p["row"], 0)}<td>{esc(p["column"])}</td>'
                   f'<td>{esc(p["message"])}</td></tr>' for _, p in t.problems.iterrows())
    return (f'<section id="problems"><h2>{esc(words("input_problems"))} ({len(t.problems)})</h2>'
            f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>')


def class_page(class_id: str, t: ReportTables, out_dir: Path, words: Words, generated: str) -> str:
    info = t.info()
    if not info.get("institution_id") and not t.findings.empty:
        info["institution_id"] = present(t.findings["institution_id"].iloc[0])
    tz = class_tz(info)
    hours = _trainee_hours(t)
    body = (f'<p><a href="index.html">← {esc(words("back_to_index"))}</a></p>'
            f'<h1>{esc(words("report"))}: {esc(class_id)}</h1>'
            f'<p class="muted">{esc(info.get("institution_name"))} · {esc(words("generated"))} {esc(generated)}</p>'
            + _glance(t, info, hours, words) + _findings(t, info, out_dir, words, tz)
            + f'<section id="timeline"><h2>{esc(words("timeline"))}</h2>{timelines_html(t, words, tz)}</section>'
            + _sessions_table(t, words, tz) + _trainee_table(t, hours, words) + _problems(t, words))
    return page(f"{words('report')} {class_id}", words.lang, body)
