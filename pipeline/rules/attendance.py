"""Attendance rules: check-ins against the people seen on each session's video, and check-in habits.

Video-based rules judge only sessions with usable recording that the face stage analysed
(`observed_min` not null in trainee_hours); uncovered time is RECORDING_MISSING / RECORDING_GAP.
"""

from __future__ import annotations

import pandas as pd

from pipeline.attendance.hours import hours_rows
from pipeline.attendance.rows import HoursRow
from pipeline.attendance.timeline import intersect, merge, minutes, to_ts, window
from pipeline.model import Finding
from pipeline.rules.context import RuleContext
from pipeline.rules.evidence import (Judged, best_sighting, checkin_rows, frame_near, judged_in_session,
                                     trainee_checkins)
from pipeline.rules.registry import rule

EPS = 1e-9


def video_rows(ctx: RuleContext) -> pd.DataFrame:
    """trainee_hours rows of offline sessions judged on video."""
    h = ctx.hours
    return h[(h["mode"] == "offline") & h["observed_min"].notna() & (h["recorded_min"].fillna(0) > 0)]


def is_proxy(row: HoursRow, ctx: RuleContext) -> bool:
    return bool(row.checked_in) and row.observed_min <= ctx.pack.proxy_max_seen_min + EPS


@rule("ATTENDANCE_PROXY")
def attendance_proxy(ctx: RuleContext) -> list[Finding]:
    """Checked in for a session, but seen for at most `proxy_max_seen_min` of its recorded part."""
    out = []
    for row in hours_rows(video_rows(ctx)):
        if not is_proxy(row, ctx):
            continue
        tid, sid = row.trainee_id, row.session_id
        events = trainee_checkins(ctx, tid, sid)
        st = ctx.times[sid]
        judged = judged_in_session(ctx, sid, tid)
        if judged.undecided:  # someone in the room could not be judged: the trainee may be that face
            _could_not_judge(ctx, "ATTENDANCE_PROXY", tid, sid, judged, "checked in, not recognised on video")
            continue
        seen = best_sighting(ctx, tid, sid)
        first = to_ts(events["ts"].min(), ctx.tz) if len(events) else None
        shot = frame_near(ctx, sid, first) if first is not None else None
        out.append(ctx.finding(
            "ATTENDANCE_PROXY", trainee_id=tid, session_id=sid, date=row.date,
            start=st.window[0], end=st.window[1], measured=row.observed_min,
            threshold=ctx.pack.proxy_max_seen_min, snapshot=shot,
            fields={"name": ctx.trainees[tid].name if tid in ctx.trainees else tid,
                    "events": len(events), "recorded_min": row.recorded_min},
            detail={"checkins": checkin_rows(events), "recorded_min": row.recorded_min,
                    "searched": [[a.isoformat(), b.isoformat()] for a, b in st.usable],
                    "best_distance": None if seen is None else seen.distance,
                    "best_sighting": None if seen is None else seen.detail(), "judged": judged.detail()},
        ))
    return out


def _could_not_judge(ctx: RuleContext, rule_id: str, tid: str, sid: str, judged: Judged, what: str) -> None:
    name = ctx.trainees[tid].name if tid in ctx.trainees else tid
    people, share = judged.unidentified_people, judged.unidentified_share
    ctx.could_not_judge(
        rule_id, f"could not judge {rule_id} for trainee {tid} ({name}) in session {sid}: {what}, but "
                 f"{share:.0%} of the {judged.samples} samples show a face nobody could name or call a stranger "
                 f"(at least {people:g} in a quarter of them). Of the {judged.faces_counted} faces counted, "
                 f"{judged.too_small_faces} were too small to recognise, {judged.faces - judged.judged_faces} "
                 f"failed the quality gate (blurred, turned away) and {judged.unidentified_judged_faces} passed "
                 f"it but were too near an enrolled person, or seen clearly too rarely, to call a stranger. "
                 f"Check the video by eye.",
        expected="every face in the room judged", found=f"faces not judged in {share:.0%} of the samples")


@rule("ATTENDANCE_ABSENT")
def attendance_absent(ctx: RuleContext) -> list[Finding]:
    """Credited for a session (every rostered trainee is, by the schedule) but seen for less than
    `min_presence_ratio` of its recorded minutes; check-ins without any sighting are ATTENDANCE_PROXY.
    Sessions with fewer than `presence_min_recorded_min` recorded minutes are not judged: a ratio over a few
    samples moves by a sample's share with each look down. When the samples in which some face could not be
    judged (too small, blurred, turned away) could make up the shortfall, the trainee may be that face: no
    finding, a could-not-judge warning instead (as for ATTENDANCE_PROXY)."""
    out = []
    ratio = ctx.pack.min_presence_ratio
    for row in hours_rows(video_rows(ctx)):
        if is_proxy(row, ctx) or row.recorded_min < ctx.pack.presence_min_recorded_min - EPS:
            continue
        need = ratio * row.recorded_min
        if row.observed_min >= need - EPS:
            continue
        tid, sid = row.trainee_id, row.session_id
        judged = judged_in_session(ctx, sid, tid)
        if row.observed_min + judged.unidentified_share * row.recorded_min >= need - EPS:
            _could_not_judge(ctx, "ATTENDANCE_ABSENT", tid, sid, judged,
                             f"recognised for {row.observed_min:.1f} of {row.recorded_min:.1f} recorded "
                             f"minutes (needs {need:.1f})")
            continue
        st = ctx.times[sid]
        out.append(ctx.finding(
            "ATTENDANCE_ABSENT", trainee_id=tid, session_id=sid, date=row.date,
            start=st.window[0], end=st.window[1], measured=row.observed_min, threshold=need,
            fields={"name": ctx.trainees[tid].name if tid in ctx.trainees else tid,
                    "recorded_min": row.recorded_min, "ratio": ratio},
            detail={"observed_min": row.observed_min, "recorded_min": row.recorded_min,
                    "scheduled_min": row.scheduled_min, "min_presence_ratio": ratio,
                    "checked_in": bool(row.checked_in), "checkin_method": row.checkin_method,
                    "judged": judged.detail()},
        ))
    return out


def _events_by_trainee_day(ctx: RuleContext) -> dict[tuple[str, object], pd.DataFrame]:
    """Each trainee's check-in events per local day, by time (ATTENDANCE_SPARSE_CHECKIN and _NON_FACE)."""
    return ctx.shared("events_by_trainee_day", lambda: _group_events(ctx))


def _group_events(ctx: RuleContext) -> dict[tuple[str, object], pd.DataFrame]:
    c = ctx.evidence.checkin_sessions
    if c is None or len(c) == 0:
        return {}
    c = c.dropna(subset=["trainee_id", "ts"]).copy()
    c["_day"] = [to_ts(t, ctx.tz).tz_convert(ctx.tz).date() for t in c["ts"]]
    return {(str(t), d): g.sort_values("ts") for (t, d), g in c.groupby(["trainee_id", "_day"])}


def distinct_events(events: pd.DataFrame, merge_min: float) -> int:
    """Events closer than `merge_min` to the previous counted one are one event (a double scan)."""
    count, last = 0, None
    for ts in events["ts"]:
        if last is None or (ts - last).total_seconds() / 60.0 >= merge_min:
            count, last = count + 1, ts
    return count


@rule("ATTENDANCE_SPARSE_CHECKIN")
def attendance_sparse_checkin(ctx: RuleContext) -> list[Finding]:
    """Fewer than `min_checkins_per_day` distinct check-ins by a trainee on a day with offline sessions."""
    days = sorted({s.date for s in ctx.offline_sessions()})
    by_day = _events_by_trainee_day(ctx)
    need = ctx.pack.min_checkins_per_day
    out = []
    for t in ctx.archive.trainees:
        for day in days:
            events = by_day.get((t.trainee_id, day), pd.DataFrame(columns=["ts"]))
            n = distinct_events(events, ctx.pack.checkin_merge_min)
            if n >= need:
                continue
            out.append(ctx.finding(
                "ATTENDANCE_SPARSE_CHECKIN", trainee_id=t.trainee_id, date=day, measured=n, threshold=need,
                fields={"name": t.name, "events": n, "need": need},
                detail={"checkins": checkin_rows(events), "distinct_events": n,
                        "merge_min": ctx.pack.checkin_merge_min}))
    return out


@rule("ATTENDANCE_NON_FACE")
def attendance_non_face(ctx: RuleContext) -> list[Finding]:
    """Check-ins by card, password, fingerprint, manual entry or an administrator's edit, where the pack
    requires face check-in: one finding per trainee per day, listing the rows."""
    if not ctx.pack.face_checkin_required:
        return []
    out = []
    for (tid, day), events in sorted(_events_by_trainee_day(ctx).items(), key=lambda kv: (kv[0][0], kv[0][1])):
        weak = events[~events["is_face"].fillna(False).astype(bool)]
        if len(weak) == 0:
            continue
        methods = sorted({("edited" if e else str(m)) for m, e in zip(weak["method"], weak["edited"].fillna(False))})
        out.append(ctx.finding(
            "ATTENDANCE_NON_FACE", trainee_id=tid, date=day, measured=len(weak), threshold=0,
            fields={"name": ctx.trainees[tid].name if tid in ctx.trainees else tid, "events": len(weak),
                    "methods": ", ".join(methods)},
            detail={"checkins": checkin_rows(weak), "methods": methods}))
    return out


@rule("UNKNOWN_PERSON")
def unknown_person(ctx: RuleContext) -> list[Finding]:
    """A face on neither the roster nor the teacher list, seen at least `unknown_person_min_minutes` in a
    session (recorded time): one finding per unknown person per session, with the trainees missing from
    that session (possible substitutes)."""
    p = ctx.evidence.presence
    if p is None or len(p) == 0:
        return []
    p = p[p["person_kind"] == "unknown"].copy()
    # An interval the face stage left without a session goes to the session its time falls in.
    p["session_id"] = [sid if isinstance(sid, str) and sid else ctx.session_at(a, b)
                       for sid, a, b in zip(p["session_id"], p["start"], p["end"])]
    out = []
    missing = _missing_by_session(ctx)
    for (pid, sid), rows in p.groupby(["person_id", "session_id"], dropna=True):
        sid = str(sid)
        if sid not in ctx.sessions:
            continue
        st = ctx.times[sid]
        spans = merge(intersect(list(zip((to_ts(x, ctx.tz) for x in rows["start"]),
                                         (to_ts(x, ctx.tz) for x in rows["end"]))), [window(ctx.sessions[sid], ctx.tz)]))
        if st.known:
            spans = intersect(spans, st.usable)
        seen_min = minutes(spans)
        if seen_min < ctx.pack.unknown_person_min_minutes - EPS:
            continue
        seen = best_sighting(ctx, str(pid), sid)
        judged = judged_in_session(ctx, sid, str(pid))
        shot = seen.snapshot() if seen else None
        out.append(ctx.finding(
            "UNKNOWN_PERSON", session_id=sid, other=str(pid), camera_id=seen.camera_id if seen else None,
            id_keys=("session_id", "other"), start=spans[0][0] if spans else None,
            end=spans[-1][1] if spans else None, measured=seen_min, threshold=ctx.pack.unknown_person_min_minutes,
            snapshot=shot, fields={"person": pid, "missing": len(missing.get(sid, []))},
            detail={"person_id": str(pid), "minutes": seen_min, "missing_trainees": missing.get(sid, []),
                    "best_sighting": seen.detail() if seen else None,
                    "cluster_snapshot": _cluster_snapshot(ctx, str(pid)),
                    # the unknown person's sightings in this session and how many of them passed the face
                    # quality gate (an unknown person rests on judged faces only)
                    "samples": judged.person_samples or 0,
                    "judged_samples": judged.person_judged_samples or 0}))
    return out


def _missing_by_session(ctx: RuleContext) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    ratio = ctx.pack.min_presence_ratio
    for row in hours_rows(video_rows(ctx)):
        if row.observed_min < ratio * row.recorded_min - EPS:
            out.setdefault(str(row.session_id), []).append(str(row.trainee_id))
    return out


def _cluster_snapshot(ctx: RuleContext, person_id: str) -> str | None:
    u = ctx.evidence.unknowns
    if u is None or len(u) == 0:
        return None
    rows = u[u["person_id"].astype(str) == person_id]["snapshot_path"].dropna()
    return str(rows.iloc[0]) if len(rows) else None
