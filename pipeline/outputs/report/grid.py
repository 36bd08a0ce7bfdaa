"""Who was there, drawn from the tables: the trainees x sessions grid (minutes seen on video against minutes
credited) and, per offline session, a presence chart with one lane per trainee (seen, checked in, credited;
the uncovered and blank parts of the session shaded).
"""

from __future__ import annotations

import json

import pandas as pd

from pipeline.outputs.report.cards import ClassView
from pipeline.outputs.report.data import present
from pipeline.outputs.report.page import esc, num, when

MIN_PER_HOUR = 45.0  # one 学时 is 45 minutes (AQ 8011-2023)
# Display bands of the grid colours (a reading aid; the rules judge with the rule pack's own numbers).
BANDS = ((0.8, "g-full"), (0.5, "g-part"), (0.2, "g-low"), (0.0, "g-none"))


def sessions_in_order(view: ClassView) -> pd.DataFrame:
    return view.t.sessions.sort_values(["start", "session_id"], na_position="last")


def cell(view: ClassView, row: dict | None) -> tuple[str, str, str]:
    """(css class, text, tooltip) of one trainee's session."""
    w = view.words
    if row is None:
        return "g-unjudged", "", ""
    checked = present(row.get("checked_in")) is True
    credited = present(row.get("credited_hours"))
    seen = present(row.get("observed_min"))
    recorded = present(row.get("recorded_min"))
    mark = "✓" if checked else "·"
    tip = (f'{w("checked_in")}: {w("yes") if checked else w("no")} · {w("seen_min")}: {num(seen, 1) or "–"} · '
           f'{w("credited_hours")}: {num(credited, 2) or "–"} · {w("recorded_min")}: {num(recorded, 0) or "–"}')
    if row.get("mode") == "online":
        return "g-online", f"{w('online')} {num(credited, 2)}", tip
    if not credited or not recorded or seen is None:
        return "g-unjudged", f"{mark} {num(seen, 0) if seen is not None else '–'}", tip
    # Over the minutes a camera could see: a recording gap is the recording's finding, not the trainee's.
    ratio = float(seen) / max(1e-9, min(float(credited) * MIN_PER_HOUR, float(recorded)))
    css = next(c for lo, c in BANDS if ratio >= lo)
    return css, f"{mark} {num(seen, 0)}′", tip


def _rows_by_key(view: ClassView) -> dict[tuple[str, str], dict]:
    th = view.t.trainee_hours
    return {(str(r["trainee_id"]), str(r["session_id"])): r for r in th.to_dict("records")}


def legend(view: ClassView) -> str:
    w = view.words
    items = [("g-full", w("grid_full")), ("g-part", w("grid_part")), ("g-low", w("grid_low")),
             ("g-none", w("grid_none")), ("g-unjudged", w("grid_unjudged")), ("g-online", w("grid_online"))]
    return '<p class="legend">' + "".join(f'<span><i class="{c}"></i>{esc(t)}</span>' for c, t in items) + \
        f'<span>✓ {esc(w("checked_in"))}</span><span>· {esc(w("not_checked_in"))}</span></p>'


def grid_html(view: ClassView, order: list[str], search: dict[str, str]) -> str:
    """The trainees x sessions table; rows in `order` (suspects first)."""
    w = view.words
    sessions = sessions_in_order(view)
    rows = _rows_by_key(view)
    head = "".join(
        f'<th title="{esc(s.get("topic"))}">{esc(s["session_id"])}<br><span class="muted">'
        f'{esc(when(s["start"], view.tz, "%m-%d %H:%M"))} {esc(w.value(s.get("kind")))}</span></th>'
        for _, s in sessions.iterrows())
    body = []
    for tid in order:
        cells = []
        for _, s in sessions.iterrows():
            css, text, tip = cell(view, rows.get((tid, str(s["session_id"]))))
            cells.append(f'<td class="g {css}" title="{esc(tip)}">{esc(text)}</td>')
        body.append(f'<tr data-filter data-text="{esc(search.get(tid, ""))}"><th class="who">'
                    f'<a href="{esc(view.trainee_href(tid))}">{esc(view.names.get(tid, tid))}</a> '
                    f'<span class="muted">{esc(tid)}</span></th>{"".join(cells)}</tr>')
    return (f'<section id="grid"><h2>{esc(w("grid"))}</h2><p class="muted">{esc(w("grid_note"))}</p>{legend(view)}'
            f'<div class="scroll"><table class="grid"><thead><tr><th>{esc(w("trainee"))}</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div></section>')


# --- presence per session -------------------------------------------------------------------------------

_LANE_H, _TOP, _LEFT, _W = 18, 22, 150, 1100.0


def _tick_step_min(span_min: float) -> int:
    return next((s for s in (1, 2, 5, 10, 15, 30, 60, 120) if span_min / s <= 12), 240)


def _uncovered(view: ClassView, sid: str) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """Gaps (no recording) and blank footage of a session, as (start, end, kind)."""
    out = []
    cov = view.t.coverage[view.t.coverage["session_id"] == sid]
    for text in cov["gaps"].dropna() if "gaps" in cov else []:
        try:
            for a, b in json.loads(text):
                out.append((pd.Timestamp(a), pd.Timestamp(b), "gap"))
        except (ValueError, TypeError):
            continue
    f = view.t.findings
    for _, b in f[(f["rule_id"] == "RECORDING_BLANK") & (f["session_id"] == sid)].iterrows():
        if present(b["start"]) is not None and present(b["end"]) is not None:
            out.append((b["start"], b["end"], "blank"))
    return out


def session_presence_svg(view: ClassView, session: dict, people: list[tuple[str, str, str]],
                         lane_label=None) -> str:
    """One offline session: a lane per person (id, kind, label); presence bars, check-in ticks, credited mark."""
    w = view.words
    sid = str(session["session_id"])
    t0, t1 = session["start"] - pd.Timedelta(minutes=5), session["end"] + pd.Timedelta(minutes=5)
    span_s = max(60.0, (t1 - t0).total_seconds())
    h = _TOP + _LANE_H * len(people) + 24

    def x(ts) -> float:
        frac = min(1.0, max(0.0, (ts - t0).total_seconds() / span_s))
        return _LEFT + frac * (_W - _LEFT - 10)

    out = [f'<svg class="presence" viewBox="0 0 {_W:.0f} {h}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="{esc(sid)}">']
    out.append(f'<rect x="{x(session["start"]):.1f}" y="{_TOP - 4}" width="{x(session["end"]) - x(session["start"]):.1f}" '
               f'height="{_LANE_H * len(people) + 4}" fill="#f2f6fc"><title>{esc(sid)}</title></rect>')
    for a, b, kind in _uncovered(view, sid):
        tip = f'{w("lane_gap") if kind == "gap" else w("lane_blank")} {when(a, view.tz, "%H:%M:%S")}–{when(b, view.tz, "%H:%M:%S")}'
        out.append(f'<rect class="uncovered {kind}" x="{x(a):.1f}" y="{_TOP - 4}" width="{max(1.5, x(b) - x(a)):.1f}" '
                   f'height="{_LANE_H * len(people) + 4}" fill="url(#hatch)"><title>{esc(tip)}</title></rect>')
    step = _tick_step_min(span_s / 60)
    tick = session["start"].tz_convert(view.tz).floor(f"{step}min")
    while tick <= t1:
        if tick >= t0:
            out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{_TOP - 6}" y2="{h - 18}" stroke="#dde2ea"/>'
                       f'<text x="{x(tick):.1f}" y="{h - 6}" text-anchor="middle">{tick.strftime("%H:%M")}</text>')
        tick += pd.Timedelta(minutes=step)
    pres = view.t.presence[view.t.presence["session_id"] == sid]
    ck = view.t.checkins
    ck = ck[(ck["ts"] >= t0 - pd.Timedelta(minutes=25)) & (ck["ts"] <= t1 + pd.Timedelta(minutes=25))] if len(ck) else ck
    hours = view.t.trainee_hours
    for i, (pid, kind, label) in enumerate(people):
        y = _TOP + i * _LANE_H
        out.append(f'<text x="{_LEFT - 6}" y="{y + 12}" text-anchor="end">{esc(label)}</text>')
        credited = hours[(hours["trainee_id"] == pid) & (hours["session_id"] == sid)]["credited_hours"].sum(min_count=1)
        if kind == "trainee" and present(credited) and float(credited) > 0:
            out.append(f'<rect class="credited" x="{x(session["start"]):.1f}" y="{y + 13}" '
                       f'width="{x(session["end"]) - x(session["start"]):.1f}" height="3" fill="#9aa5b8">'
                       f'<title>{esc(w("lane_credited"))} {num(credited, 2)}</title></rect>')
        for _, p in pres[(pres["person_id"] == pid) & (pres["person_kind"] == kind)].iterrows():
            tip = f'{label} {w("lane_seen")} {when(p["start"], view.tz, "%H:%M:%S")}–{when(p["end"], view.tz, "%H:%M:%S")}'
            color = "#c62828" if kind == "unknown" else "#2e7d32"
            out.append(f'<rect class="seen" x="{x(p["start"]):.1f}" y="{y + 2}" width="{max(1.5, x(p["end"]) - x(p["start"])):.1f}" '
                       f'height="10" fill="{color}"><title>{esc(tip)}</title></rect>')
        if kind == "trainee" and len(ck):
            for ts in ck[ck["trainee_id"] == pid]["ts"]:
                if t0 <= ts <= t1:
                    out.append(f'<path class="checkin" d="M{x(ts):.1f} {y} l4 7 l-4 7 l-4 -7 z" fill="#e08a00">'
                               f'<title>{esc(w("lane_checkin"))} {esc(when(ts, view.tz, "%H:%M:%S"))}</title></path>')
    out.append('<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
               'patternTransform="rotate(45)"><rect width="3" height="6" fill="#f3b5b5"/></pattern></defs></svg>')
    return "".join(out)


def presence_legend(view: ClassView) -> str:
    w = view.words
    return ('<p class="legend">'
            f'<span><i style="background:#2e7d32"></i>{esc(w("lane_seen"))}</span>'
            f'<span><i style="background:#e08a00"></i>{esc(w("lane_checkin"))}</span>'
            f'<span><i style="background:#9aa5b8;height:3px"></i>{esc(w("lane_credited"))}</span>'
            f'<span><i style="background:#f3b5b5"></i>{esc(w("lane_uncovered"))}</span>'
            f'<span><i style="background:#c62828"></i>{esc(w("stranger"))}</span></p>')


def presence_html(view: ClassView, order: list[str]) -> str:
    """A presence chart per offline session, each folded (print opens them)."""
    w = view.words
    sessions = sessions_in_order(view)
    offline = sessions[(sessions["mode"] != "online") & sessions["start"].notna() & sessions["end"].notna()]
    if offline.empty:
        return ""
    unknown = sorted(set(view.t.presence.loc[view.t.presence["person_kind"] == "unknown", "person_id"].dropna()))
    parts = []
    for _, s in offline.iterrows():
        sid = str(s["session_id"])
        here = [u for u in unknown if ((view.t.presence["person_id"] == u) & (view.t.presence["session_id"] == sid)).any()]
        people = [(tid, "trainee", view.names.get(tid, tid)) for tid in order] + \
                 [(u, "unknown", f'{u} ({w("stranger")})') for u in here]
        title = (f'{sid} · {when(s["start"], view.tz, "%Y-%m-%d %H:%M")}–{when(s["end"], view.tz, "%H:%M")} · '
                 f'{w("room")} {present(s.get("room")) or ""}')
        parts.append(f'<details class="session-presence"><summary>{esc(title)}</summary>'
                     f'{session_presence_svg(view, s.to_dict(), people)}</details>')
    return (f'<section id="presence"><h2>{esc(w("presence_timeline"))}</h2>{presence_legend(view)}'
            + "".join(parts) + "</section>")
