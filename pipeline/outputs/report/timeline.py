"""Inline SVG timeline per room and day: the schedule, what the cameras recorded, the uncovered part of
each offline session, blank footage, and the headcount on video against the number checked in.

Everything is drawn from the tables; nothing is fetched, so the page stays self-contained.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from pipeline.outputs.report.data import ReportTables, present
from pipeline.outputs.report.i18n import Words
from pipeline.outputs.report.page import esc, num, when
from pipeline.video.coverage import complement, union

_W, _LEFT, _RIGHT = 1100.0, 78.0, 12.0
_LANES = {"schedule": (22, 22), "recording": (52, 14), "gap": (72, 10), "blank": (88, 10), "headcount": (110, 64)}
_H = 200.0
_PAD = pd.Timedelta(minutes=15)
_COLORS = {"theory": "#5b8def", "practical": "#3aa55d", "recording": "#7c8aa5", "unreadable": "#b0413e",
           "gap": "#e53935", "blank": "#212121", "people": "#1f5fbf", "checkins": "#e08a00"}


def _room_of_recording(rec: pd.Series) -> str | None:
    return present(rec.get("room")) or present(rec.get("camera_id"))


class _Axis:
    def __init__(self, w0: pd.Timestamp, w1: pd.Timestamp):
        self.w0, self.span_s = w0, max(60.0, (w1 - w0).total_seconds())

    def x(self, ts: pd.Timestamp) -> float:
        frac = min(1.0, max(0.0, (ts - self.w0).total_seconds() / self.span_s))
        return _LEFT + frac * (_W - _LEFT - _RIGHT)


def _bar(axis: _Axis, lane: str, t0, t1, color: str, tip: str, label: str = "") -> str:
    y, h = _LANES[lane]
    x0, x1 = axis.x(t0), axis.x(t1)
    w = max(1.5, x1 - x0)
    text = ""
    if label and w > 30:  # a nested <svg> clips the label to its bar
        text = (f'<svg x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{h}"><text x="3" y="{h - 6}" '
                f'fill="#fff" style="fill:#fff">{esc(label)}</text></svg>')
    return (f'<g class="lane-{lane}"><rect x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{h}" fill="{color}">'
            f"<title>{esc(tip)}</title></rect>{text}</g>")


def _checked_in_per_session(t: ReportTables) -> dict[str, int]:
    th = t.trainee_hours
    if not th.empty and th["checked_in"].notna().any():
        return th[th["checked_in"] == True].groupby("session_id")["trainee_id"].nunique().to_dict()  # noqa: E712
    ck = t.checkins.dropna(subset=["session_id", "trainee_id"])
    return ck.groupby("session_id")["trainee_id"].nunique().to_dict()


def _headcount_svg(axis: _Axis, points: pd.DataFrame, sessions: pd.DataFrame, checked: dict[str, int],
                   words: Words, tz: str) -> str:
    y, h = _LANES["headcount"]
    people = points["people_smoothed"].where(points["people_smoothed"].notna(),
                                             points["faces"] - points["teachers"].fillna(0))
    top = max([1.0, *people.dropna().tolist(), *(checked.get(s, 0) for s in sessions["session_id"])])

    def yv(v: float) -> float:
        return y + h - (v / top) * h

    parts = [f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y + h}" y2="{y + h}" stroke="#bbb"/>',
             f'<text x="{_LEFT + 3}" y="{y + 9}">{num(top, 0)}</text>']
    for _, s in sessions.iterrows():
        n = checked.get(s["session_id"])
        if n is not None:
            tip = f'{s["session_id"]}: {words("headcount_checkins")} {n}'
            parts.append(f'<line class="checkins" x1="{axis.x(s["start"]):.1f}" x2="{axis.x(s["end"]):.1f}" '
                         f'y1="{yv(n):.1f}" y2="{yv(n):.1f}" stroke="{_COLORS["checkins"]}" stroke-width="2" '
                         f'stroke-dasharray="6 3"><title>{esc(tip)}</title></line>')
    # One line per camera and session, so the curve does not bridge the break between sessions.
    curves = points.assign(people=people, session_id=points["session_id"].fillna("")).dropna(subset=["ts", "people"])
    for (camera, _), group in curves.groupby(["camera_id", "session_id"]):
        group = group.sort_values("ts")
        coords = " ".join(f"{axis.x(ts):.1f},{yv(v):.1f}" for ts, v in zip(group["ts"], group["people"]))
        peak = group.loc[group["people"].idxmax()]
        tip = f'{camera}: {words("headcount_video")} max {num(peak["people"], 0)} @ {when(peak["ts"], tz, "%H:%M:%S")}'
        parts.append(f'<polyline class="headcount" points="{coords}" fill="none" stroke="{_COLORS["people"]}" '
                     f'stroke-width="1.5"><title>{esc(tip)}</title></polyline>')
    return "".join(parts)


def _one_svg(key: tuple[str, object], sessions: pd.DataFrame, recs: pd.DataFrame, blanks: pd.DataFrame,
             points: pd.DataFrame, checked: dict[str, int], words: Words, tz: str) -> str:
    starts = [*sessions["start"], *recs["start"]]
    ends = [*sessions["end"], *recs["end"]]
    axis = _Axis(min(starts) - _PAD, max(ends) + _PAD)
    out = [f'<svg class="timeline" viewBox="0 0 {_W:.0f} {_H:.0f}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="{esc(key[0])} {esc(key[1])}">']
    hour = (axis.w0.tz_convert(tz) if axis.w0.tzinfo else axis.w0).ceil("h")
    while axis.x(hour) < _W - _RIGHT:
        x = axis.x(hour)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="16" y2="{_H - 22}" stroke="#e3e6ec"/>'
                   f'<text x="{x:.1f}" y="{_H - 8}" text-anchor="middle">{hour.strftime("%H:%M")}</text>')
        hour += pd.Timedelta(hours=1)
    for lane, (y, h) in _LANES.items():
        label_y = y + h / 2 + 4 if lane == "headcount" else y + h - 2
        out.append(f'<text x="{_LEFT - 6}" y="{label_y:.0f}" text-anchor="end">{esc(words("lane_" + lane))}</text>')
    covers = []
    for _, r in recs.iterrows():
        readable = present(r.get("readable")) is None or bool(r.get("readable"))
        color = _COLORS["recording"] if readable else _COLORS["unreadable"]
        tip = f'{r["path"]} ({r.get("camera_id") or ""}) {when(r["start"], tz, "%H:%M:%S")}–{when(r["end"], tz, "%H:%M:%S")}'
        out.append(_bar(axis, "recording", r["start"], r["end"], color, tip))
        if readable:
            covers.append((r["start"], r["end"]))
    for _, s in sessions.iterrows():
        tip = (f'{s["session_id"]} {when(s["start"], tz, "%H:%M")}–{when(s["end"], tz, "%H:%M")} '
               f'{words.value(s.get("kind"))} {present(s.get("teacher_id")) or ""} {present(s.get("topic")) or ""}')
        color = _COLORS.get(str(s.get("kind")), _COLORS["theory"])
        out.append(_bar(axis, "schedule", s["start"], s["end"], color, tip, str(s["session_id"])))
        for g0, g1 in complement(union(covers), s["start"], s["end"]):
            gap_tip = f'{s["session_id"]}: {words("lane_gap")} {when(g0, tz, "%H:%M")}–{when(g1, tz, "%H:%M")}'
            out.append(_bar(axis, "gap", g0, g1, _COLORS["gap"], gap_tip))
    for _, b in blanks.iterrows():
        tip = f'{words("lane_blank")} {b.get("path") or b.get("camera_id") or ""} {when(b["start"], tz, "%H:%M:%S")}–{when(b["end"], tz, "%H:%M:%S")}'
        out.append(_bar(axis, "blank", b["start"], b["end"], _COLORS["blank"], tip))
    out.append(_headcount_svg(axis, points, sessions, checked, words, tz))
    out.append("</svg>")
    return "".join(out)


def _legend(words: Words) -> str:
    items = [("theory", words("theory")), ("practical", words("practical")), ("recording", words("lane_recording")),
             ("gap", words("lane_gap")), ("blank", words("lane_blank")), ("people", words("headcount_video")),
             ("checkins", words("headcount_checkins"))]
    return '<p class="legend">' + "".join(
        f'<span><i style="background:{_COLORS[k]}"></i>{esc(label)}</span>' for k, label in items) + "</p>"


def timelines_html(t: ReportTables, words: Words, tz: str) -> str:
    """One titled SVG per (room, local day) with offline sessions or recordings in it."""
    keyed: dict[tuple[str, object], dict[str, list]] = defaultdict(lambda: {"s": [], "r": []})
    offline = t.sessions[(t.sessions["mode"] != "online") & t.sessions["start"].notna() & t.sessions["end"].notna()]
    for i, s in offline.iterrows():
        keyed[(present(s.get("room")) or words("no_room"), s["start"].tz_convert(tz).date())]["s"].append(i)
    recs = t.recordings[t.recordings["start"].notna() & t.recordings["end"].notna()]
    for i, r in recs.iterrows():
        keyed[(_room_of_recording(r) or words("no_room"), r["start"].tz_convert(tz).date())]["r"].append(i)
    if not keyed:
        return f'<p class="muted">{esc(words("no_timeline"))}</p>'
    blanks = t.findings[(t.findings["rule_id"] == "RECORDING_BLANK") & t.findings["start"].notna() & t.findings["end"].notna()]
    rec_room = {r["path"]: _room_of_recording(r) for _, r in t.recordings.iterrows()}
    cam_room = {r["camera_id"]: _room_of_recording(r) for _, r in t.recordings.iterrows()}
    checked = _checked_in_per_session(t)
    html = [_legend(words)]
    for key in sorted(keyed, key=lambda k: (str(k[1]), str(k[0]))):
        room, day = key
        s_rows, r_rows = offline.loc[keyed[key]["s"]], recs.loc[keyed[key]["r"]]
        cams = set(r_rows["camera_id"].dropna())
        b_rows = blanks[blanks.apply(lambda b: (rec_room.get(b["path"]) or cam_room.get(b["camera_id"])) == room
                                     and b["start"].tz_convert(tz).date() == day, axis=1)] if not blanks.empty else blanks
        hc = t.headcount[t.headcount["ts"].notna()]
        hc = hc[(hc["camera_id"].isin(cams) | hc["session_id"].isin(set(s_rows["session_id"])))]
        hc = hc[hc["ts"].dt.tz_convert(tz).dt.date == day] if not hc.empty else hc
        html.append(f'<h3>{esc(words("room"))} {esc(room)} · {esc(day)}</h3>')
        html.append(_one_svg(key, s_rows, r_rows, b_rows, hc, checked, words, tz))
    return "".join(html)
