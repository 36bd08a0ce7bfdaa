"""One class's page, trainee first: the suspect trainees ranked by severity (photo, name, id, each session's
check-in / minutes seen / hours credited), the trainees x sessions grid, the class-level problems, the
findings grouped per trainee (low-severity and online-share findings folded away), then the presence and
room timelines, the sessions, the trainee hours and the input problems."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pandas as pd

from pipeline.outputs.report.cards import ClassView, finding_card, folded, severity_badge
from pipeline.outputs.report.data import ReportTables, class_tz, detail_dict, index_name, present
from pipeline.outputs.report.figures import Media
from pipeline.outputs.report.grid import cell, grid_html, presence_html, sessions_in_order
from pipeline.outputs.report.i18n import SEVERITIES, Words
from pipeline.outputs.report.page import day, esc, filter_bar, num, num_cell, page, when
from pipeline.outputs.report.timeline import timelines_html


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
    sev = "".join(f"<span>{severity_badge(s, words)} {counts[s]}</span>" for s in SEVERITIES)
    return (f'<p class="counts">{esc(words("findings"))}: <b>{len(t.findings)}</b> · '
            f'{esc(words("findings_by_severity"))}: {sev}</p>'
            f'<details id="glance" class="glance"><summary>{esc(words("at_a_glance"))}</summary>'
            f'<dl class="glance">{cells}</dl></details>')


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


def _flags(trainee_id: str, findings: pd.DataFrame, words: Words) -> str:
    mine = findings[findings["trainee_id"] == trainee_id]
    links = []
    for rule, group in mine.groupby("rule_id"):
        first = group.iloc[0]["finding_id"]
        links.append(f'<a href="#f-{esc(quote(str(first)))}" title="{esc(rule)}">{esc(words.rule(str(rule)))}</a>'
                     f'×{len(group)}')
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
            + f'<td data-v="{n_flags}">{_flags(r["trainee_id"], t.findings, words)}</td></tr>')
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


_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: present(v) for k, v in r.items()} for r in frame.to_dict("records")]


def _sorted_findings(findings: pd.DataFrame) -> pd.DataFrame:
    order = findings.assign(_sev=findings["severity"].map(_SEV_RANK).fillna(9))
    return order.sort_values(["_sev", "rule_id", "start", "trainee_id", "finding_id"], na_position="last").drop(
        columns="_sev")


def trainee_order(t: ReportTables) -> tuple[list[str], list[str]]:
    """(every trainee, suspects first; the suspects): a suspect has a finding that is not folded away,
    ranked by its number of high, then medium findings, then id."""
    f = t.findings[t.findings["trainee_id"].notna()]
    shown = f[~f.apply(lambda r: folded(r.to_dict()), axis=1)] if len(f) else f
    score = {}
    for tid, group in shown.groupby("trainee_id"):
        counts = group["severity"].value_counts()
        score[str(tid)] = (-int(counts.get("high", 0)), -int(counts.get("medium", 0)))
    ids = list(dict.fromkeys(t.trainees["trainee_id"].dropna().astype(str)))
    ids += sorted(set(score) - set(ids))
    suspects = sorted(score, key=lambda k: (score[k], k))
    return suspects + [i for i in ids if i not in score], suspects


def _suspect_card(view: ClassView, tid: str, findings: pd.DataFrame, search: str) -> str:
    w = view.words
    mine = _sorted_findings(findings[findings["trainee_id"] == tid])
    mine = mine[~mine.apply(lambda r: folded(r.to_dict()), axis=1)]
    worst = str(mine["severity"].iloc[0]) if len(mine) else "low"
    pic = view.media.photo(tid)
    photo = (f'<img class="face" src="{esc(pic.href)}" alt="{esc(w("photo_of", who=view.who(tid)))}" '
             f'width="{pic.width}" height="{pic.height}">' if pic else f'<div class="face no-photo">{esc(w("no_photo"))}</div>')
    chips = " ".join(
        f'<a class="chip sev-{esc(g["severity"].iloc[0])}" href="#f-{esc(g["finding_id"].iloc[0])}" title="{esc(rule)}">'
        f'{esc(w.rule(str(rule)))}{"" if len(g) == 1 else f" ×{len(g)}"}</a>'
        for rule, g in mine.groupby("rule_id", sort=False))
    rows = {(str(r["trainee_id"]), str(r["session_id"])): r for r in view.t.trainee_hours.to_dict("records")}
    cells = []
    for _, s in sessions_in_order(view).iterrows():
        row = rows.get((tid, str(s["session_id"])))
        css, text, tip = cell(view, row)
        credited = num(row.get("credited_hours"), 2) if row else ""
        cells.append(f'<span class="g {css}" title="{esc(s["session_id"])}: {esc(tip)}"><b>{esc(s["session_id"])}</b>'
                     f'{esc(text)}<small>{esc(credited)}</small></span>')
    name = view.names.get(tid, tid)
    return (f'<article class="suspect {esc(worst)}" data-filter data-trainee="{esc(tid)}" '
            f'data-rule="{esc(" ".join(mine["rule_id"].astype(str)))}" data-severity="{esc(" ".join(mine["severity"].astype(str)))}" '
            f'data-text="{esc(search)}">{photo}<div class="who"><a class="name" href="{esc(view.trainee_href(tid))}">'
            f'{esc(name)}</a> <span class="tid">{esc(tid)}</span><div class="chips">{chips}</div>'
            f'<div class="strip">{"".join(cells)}</div></div></article>')


def _suspects(view: ClassView, suspects: list[str], search: dict[str, str]) -> str:
    w = view.words
    if not suspects:
        return f'<section id="suspects"><h2>{esc(w("suspects"))}</h2><p>{esc(w("no_suspects"))}</p></section>'
    cards = "".join(_suspect_card(view, tid, view.t.findings, search.get(tid, "")) for tid in suspects)
    return (f'<section id="suspects"><h2>{esc(w("suspects"))} ({len(suspects)})</h2>'
            f'<p class="muted">{esc(w("suspects_note"))}</p><div class="suspects">{cards}</div></section>')


def _cards(view: ClassView, frame: pd.DataFrame) -> str:
    return "".join(finding_card(view, f) for f in _records(_sorted_findings(frame)))


def _grouped_findings(view: ClassView, order: list[str]) -> str:
    w, f = view.words, view.t.findings
    if f.empty:
        return f'<section id="findings"><h2>{esc(w("findings"))}</h2><p>{esc(w("no_findings"))}</p></section>'
    fold = f.apply(lambda r: folded(r.to_dict()), axis=1)
    shown, hidden = f[~fold], f[fold]
    parts = [f'<section id="class-problems"><h2>{esc(w("class_problems"))} '
             f'({int(shown["trainee_id"].isna().sum())})</h2>{_cards(view, shown[shown["trainee_id"].isna()])}</section>',
             f'<section id="findings"><h2>{esc(w("trainee_findings"))}</h2>'
             f'<p class="muted">{esc(w("video_link_note"))}</p>']
    for tid in order:
        mine = shown[shown["trainee_id"] == tid]
        if mine.empty:
            continue
        parts.append(f'<div class="trainee-group" data-filter-group><h3><a href="{esc(view.trainee_href(tid))}">'
                     f'{esc(view.who(tid))}</a></h3>{_cards(view, mine)}</div>')
    parts.append("</section>")
    if len(hidden):
        parts.append(f'<details id="folded" class="folded"><summary>{esc(w("folded", n=str(len(hidden))))}</summary>'
                     f'{_cards(view, hidden)}</details>')
    return "".join(parts)


def _search_texts(view: ClassView) -> dict[str, str]:
    """Per trainee: name, id, rules (codes and titles), institution: what the search box matches."""
    out = {}
    for tid in view.t.trainees["trainee_id"].dropna().astype(str):
        mine = view.t.findings[view.t.findings["trainee_id"] == tid]
        out[tid] = " ".join([tid, view.names.get(tid, ""), str(view.info.get("institution_name") or ""),
                             str(view.info.get("institution_id") or ""),
                             *(f"{r} {view.words.rule(str(r))}" for r in mine["rule_id"].astype(str))]).lower()
    return out


def class_view(class_id: str, t: ReportTables, out_dir: Path, words: Words,
               others: dict[str, Media] | None = None, pages: dict[str, str] | None = None) -> ClassView:
    info = t.info()
    if not info.get("institution_id") and not t.findings.empty:
        info["institution_id"] = present(t.findings["institution_id"].iloc[0])
    folder = Path(str(info["folder"])) if info.get("folder") else None
    return ClassView(class_id, t, info, Path(out_dir), words, class_tz(info), Media(Path(out_dir), class_id, folder),
                     others or {}, pages or {})


def header(view: ClassView, generated: str, other_lang_href: str | None, title: str) -> str:
    w, info = view.words, view.info
    toggle = f' · <a class="lang" href="{esc(other_lang_href)}">{esc(w("language"))}</a>' if other_lang_href else ""
    return (f'<p class="nav"><a href="{esc(index_name(w.lang))}">← {esc(w("back_to_index"))}</a>{toggle}</p>'
            f'<h1>{esc(title)}</h1>'
            f'<p class="muted">{esc(info.get("institution_name"))} ({esc(info.get("institution_id"))}) · '
            f'{esc(info.get("job_type"))} · {esc(day(info.get("start_date")))} – {esc(day(info.get("end_date")))} · '
            f'{esc(w("time_zone"))} {esc(view.tz)} · {esc(w("generated"))} {esc(generated)}</p>')


def class_page(class_id: str, t: ReportTables, out_dir: Path, words: Words, generated: str,
               others: dict[str, Media] | None = None, pages: dict[str, str] | None = None,
               other_lang_href: str | None = None) -> str:
    view = class_view(class_id, t, out_dir, words, others, pages)
    hours = _trainee_hours(t)
    order, suspects = trainee_order(t)
    search = _search_texts(view)
    rules = sorted(set(t.findings["rule_id"].dropna().astype(str)))
    body = (header(view, generated, other_lang_href, f'{words("report")}: {class_id}')
            + _glance(t, view.info, hours, words)
            + filter_bar(words, [(r, words.rule(r)) for r in rules])
            + _suspects(view, suspects, search) + grid_html(view, order, search)
            + _grouped_findings(view, order) + presence_html(view, order)
            + f'<section id="timeline"><h2>{esc(words("timeline"))}</h2>{timelines_html(t, words, view.tz)}</section>'
            + _sessions_table(t, words, view.tz) + _trainee_table(t, hours, words) + _problems(t, words))
    return page(f"{words('report')} {class_id}", words.lang, body, f'{words("print_title")} · {class_id}')
