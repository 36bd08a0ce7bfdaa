"""Each trainee's hours per session (`trainee_hours`): scheduled, recorded, seen on video, credited, observed.

Decisions (RULES.md, "Observed time" and "Hours"):
- `recorded_min`: minutes of the session window covered by readable footage of its room, minus black
  or covered stretches ("usable" recording; frozen footage stays, see timeline.UNUSABLE_BLANK_KINDS):
  the `coverage` row's recorded_min where the video stage wrote one (it cuts files at timestamp jumps),
  else computed from the `recordings` frame; blank stretches from the `blanks` frame. Null when zero.
- `observed_min`: the trainee's presence intervals (all cameras, merged) clipped to the session window
  and to usable recorded time. Null, not zero, when the session has no usable recording, or when the
  face stage produced nothing for the class (no headcount, sightings or presence rows: not analysed).
- `credited_hours`: the schedule's 学时 for offline sessions; for online sessions the trainee's online
  records of that session (or the schedule's 学时 when the class exported no online records at all).
- `observed_hours`: offline, observed_min / `offline_min_per_hour`, never more than the session credits
  (schedules include breaks: a 210-minute morning of 4 学时 seen in full is 4 学时, not 4.67). Online,
  a record counts when credited and its face checks passed, as min(credited, effective_min /
  `online_min_per_hour`).
- `checkin_method`: "face" when any event of the session is an unedited face event, "edited" when the
  only events were edited by an administrator, else the first event's method.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from pipeline.attendance.rows import HoursRow, typed_rows
from pipeline.attendance.timeline import (
    Interval, blank_intervals, coverage_of, frame_intervals, intersect, merge, minutes, recorded_intervals,
    room_recordings, usable_intervals, window,
)
from pipeline.config import RulePack
from pipeline.model import ClassEvidence, OnlineRecord, Session
from pipeline.outputs.schemas import schema

HOURS_COLUMNS = tuple(schema("trainee_hours").names)


def hours_rows(hours: pd.DataFrame) -> list[HoursRow]:
    """The rows of a trainee_hours frame (trainee_hours(), or a selection of its rows) as HoursRow."""
    return typed_rows(hours, HoursRow)


def _rows(df: object) -> int:
    return 0 if df is None else len(df)


def face_stage_ran(evidence: ClassEvidence) -> bool:
    return any(_rows(f) for f in (evidence.headcount, evidence.sightings, evidence.presence))


def online_passed(r: OnlineRecord) -> bool:
    """Face verification happened and every check passed."""
    return bool(r.face_checks) and r.face_checks_passed is not None and r.face_checks_passed >= r.face_checks


def online_observed_hours(r: OnlineRecord) -> float:
    """RULES.md: online 学时 count as observed when the record is credited and its face checks passed, the
    credited amount. A course credited more 学时 than its study minutes allow is ONLINE_COURSE_SHORT; cutting
    it here too would report that one excess again as HOURS_OVERCLAIMED or HOURS_SHORTFALL."""
    if not r.credited_hours or not online_passed(r):
        return 0.0
    return float(r.credited_hours)


def online_session_of(r: OnlineRecord, session_ids: set[str]) -> str | None:
    """ARCHIVE.md: a course of an online schedule row carries its session_id, or has it as course_id."""
    if r.session_id:
        return r.session_id
    return r.course_id if r.course_id in session_ids else None


class SessionTime:
    """A session's window and usable recorded time, computed once per class.

    `recorded_min` (usable minutes): the coverage frame's recorded_min where it has the session (it cuts
    files at timestamp jumps), else the recordings frame's file windows; minus black or covered
    stretches. `usable` holds the intervals when the files have known times (`known`), to clip presence."""

    def __init__(self, evidence: ClassEvidence, session: Session):
        tz = evidence.archive.info.timezone
        self.session = session
        self.window: Interval = window(session, tz)
        self.scheduled_min = max(0.0, session.scheduled_min)
        self.known, self.usable, self.recorded_min = True, [], None
        if session.mode != "offline":
            return
        timed = frame_intervals(room_recordings(evidence, session), tz) if evidence.recordings is not None else []
        self.known = bool(timed)
        self.usable = usable_intervals(evidence, session) if timed else []
        cov = coverage_of(evidence, session)
        if cov is not None:
            # The coverage row's blank minutes include frozen footage; only black/covered is cut.
            covered = recorded_intervals(evidence, session) if timed else [self.window]
            usable_min = max(0.0, cov["recorded_min"] - minutes(intersect(blank_intervals(evidence, session), covered)))
        else:
            usable_min = minutes(self.usable)
        self.recorded_min = min(usable_min, self.scheduled_min) or None

    def observed_min(self, presence: Iterable[Interval]) -> float | None:
        if not self.recorded_min:
            return None
        seen = intersect(merge(presence), [self.window])
        if self.known:
            seen = intersect(seen, self.usable)
        return min(minutes(seen), self.recorded_min, self.scheduled_min)


def _presence_by_trainee(evidence: ClassEvidence) -> dict[str, pd.DataFrame]:
    p = evidence.presence
    if p is None or len(p) == 0:
        return {}
    p = p[p["person_kind"] == "trainee"]
    return {str(k): g for k, g in p.groupby("person_id")}


def _presence_in(rows: pd.DataFrame | None, session_id: str, tz: str) -> list[Interval]:
    if rows is None:
        return []
    sid = rows["session_id"]
    return frame_intervals(rows[sid.isna() | (sid.astype(str) == session_id)], tz)


def _checkin_method(events: pd.DataFrame) -> str | None:
    if len(events) == 0:
        return None
    if events["is_face"].fillna(False).astype(bool).any():
        return "face"
    if events["edited"].fillna(False).astype(bool).all():
        return "edited"
    return str(events.sort_values("ts")["method"].iloc[0])


def trainee_hours(evidence: ClassEvidence, pack: RulePack) -> pd.DataFrame:
    """One row per rostered trainee × scheduled session (columns HOURS_COLUMNS)."""
    archive = evidence.archive
    tz = archive.info.timezone
    analysed = face_stage_ran(evidence)
    times = [SessionTime(evidence, s) for s in sorted(archive.sessions, key=lambda s: (s.start, s.session_id))]
    session_ids = {s.session_id for s in archive.sessions}
    presence = _presence_by_trainee(evidence)
    checkins = evidence.checkin_sessions
    by_key = {} if checkins is None or len(checkins) == 0 else {
        (str(t), str(s)): g for (t, s), g in checkins.dropna(subset=["trainee_id", "session_id"])
        .groupby(["trainee_id", "session_id"])}
    online: dict[tuple[str, str], list[OnlineRecord]] = {}
    for r in archive.online:
        sid = online_session_of(r, session_ids)
        if sid:
            online.setdefault((r.trainee_id, sid), []).append(r)
    rows = []
    for t in archive.trainees:
        for st in times:
            s = st.session
            events = by_key.get((t.trainee_id, s.session_id), pd.DataFrame(columns=["ts", "is_face", "edited", "method"]))
            row = {
                "class_id": archive.info.class_id, "trainee_id": t.trainee_id, "session_id": s.session_id,
                "date": s.date, "kind": s.kind, "mode": s.mode, "scheduled_min": st.scheduled_min,
                "recorded_min": st.recorded_min, "observed_min": None, "checked_in": len(events) > 0,
                "checkin_method": _checkin_method(events), "checkin_events": len(events),
                "credited_hours": s.hours, "observed_hours": None,
            }
            if s.mode == "offline":
                if analysed:
                    row["observed_min"] = st.observed_min(_presence_in(presence.get(t.trainee_id), s.session_id, tz))
                if row["observed_min"] is not None:
                    hours = row["observed_min"] / pack.offline_min_per_hour
                    row["observed_hours"] = hours if s.hours is None else min(hours, float(s.hours))
            else:
                records = online.get((t.trainee_id, s.session_id), [])
                if archive.online:
                    row["credited_hours"] = float(sum(r.credited_hours or 0.0 for r in records))
                row["observed_hours"] = float(sum(online_observed_hours(r) for r in records))
            rows.append(row)
    df = pd.DataFrame(rows, columns=list(HOURS_COLUMNS))
    for col in ("scheduled_min", "recorded_min", "observed_min", "credited_hours", "observed_hours"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["checkin_events"] = df["checkin_events"].astype("int64")
    df["checked_in"] = df["checked_in"].astype(bool)
    return df


