"""HEADCOUNT_MISMATCH: trainees checked in for a session vs. people counted on its video.

People counted on a sampled frame exclude the recognised teacher and include unknown faces
(`people_smoothed` where the video stage gives it, else faces - teachers). Samples in blank footage are
left out. Per camera the typical count is the median, the peak the maximum; a room with several cameras
takes the largest of each. Two directions, tolerance max(`headcount_tolerance_people`,
`headcount_tolerance_ratio` x check-ins):
- fewer people than check-ins: check-ins - peak > tolerance (even at its fullest the room held fewer);
- more people than check-ins: typical - check-ins > tolerance (most of the time more were there).
"""

from __future__ import annotations

import pandas as pd

from pipeline.attendance.timeline import blank_intervals, to_ts
from pipeline.model import Finding
from pipeline.rules.context import RuleContext, Snapshot
from pipeline.rules.registry import rule


def _people(rows: pd.DataFrame) -> pd.Series:
    counted = rows["faces"].astype("float64") - rows["teachers"].astype("float64").fillna(0).clip(lower=0)
    counted = rows["people_smoothed"].astype("float64").where(rows["people_smoothed"].notna(), counted)
    return counted.clip(lower=0)


def _in_usable(ctx: RuleContext, session_id: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Samples outside black, covered and frozen footage (a frozen frame repeats one moment's count)."""
    blanks = blank_intervals(ctx.evidence, ctx.sessions[session_id], kinds=None)
    if not blanks:
        return rows
    keep = [pd.isna(t) or not any(a <= to_ts(t, ctx.tz) < b for a, b in blanks) for t in rows["ts"]]
    return rows[keep]


def _checked_in(ctx: RuleContext, session_id: str) -> int:
    c = ctx.evidence.checkin_sessions
    if c is None or len(c) == 0:
        return 0
    rows = c[(c["session_id"].astype("string") == session_id).fillna(False)]
    return int(rows["trainee_id"].dropna().nunique())


@rule("HEADCOUNT_MISMATCH")
def headcount_mismatch(ctx: RuleContext) -> list[Finding]:
    h = ctx.evidence.headcount
    if h is None or len(h) == 0:
        return []
    out = []
    for sid, rows in h.groupby("session_id"):
        sid = str(sid)
        if sid not in ctx.sessions or ctx.sessions[sid].mode != "offline":
            continue
        rows = _in_usable(ctx, sid, rows)
        usable_min = ctx.times[sid].recorded_min
        if len(rows) == 0 or usable_min is not None and usable_min < ctx.pack.headcount_min_usable_min:
            continue
        rows = rows.assign(_people=_people(rows))
        per_cam = rows.groupby(rows["camera_id"].fillna(""))["_people"]
        typical, peak = float(per_cam.median().max()), float(per_cam.max().max())
        n = _checked_in(ctx, sid)
        tol = max(float(ctx.pack.headcount_tolerance_people), ctx.pack.headcount_tolerance_ratio * n)
        if n - peak > tol:
            direction, video, diff = "fewer", peak, n - peak
        elif typical - n > tol:
            direction, video, diff = "more", typical, typical - n
        else:
            continue
        top = rows.sort_values(["_people", "faces"], ascending=False).iloc[0]  # the fullest frame shows the peak
        shot = Snapshot(str(top["path"]), float(top["offset_s"])) if not (
            pd.isna(top["path"]) or pd.isna(top["offset_s"])) else None
        samples = rows.sort_values("ts")
        st = ctx.times[sid]
        out.append(ctx.finding(
            "HEADCOUNT_MISMATCH", session_id=sid, id_keys=("session_id",),
            camera_id=None if pd.isna(top["camera_id"]) else str(top["camera_id"]),
            start=st.window[0], end=st.window[1], measured=diff, threshold=tol, snapshot=shot,
            fields={"checkins": n, "video": video, "peak": peak, "typical": typical, "direction": direction},
            detail={"checked_in": n, "video_peak": peak, "video_typical": typical, "direction": direction,
                    "tolerance": tol, "samples": len(samples),
                    "sample_times": [to_ts(t, ctx.tz).isoformat() for t in samples["ts"].head(50) if not pd.isna(t)],
                    "peak_at": None if pd.isna(top["ts"]) else to_ts(top["ts"], ctx.tz).isoformat()},
        ))
    return out
