"""Which offline session each check-in event belongs to (ARCHIVE.md, check-ins).

An event belongs to the offline session of the same local day whose window [start - before, end + after]
contains it (`checkin_window_before_min` / `checkin_window_after_min` in the rule pack). Where the windows
of back-to-back sessions overlap, the session whose start or end is nearest in time wins; on a tie (the
end of one session is the start of the next) the session whose scheduled time contains the event wins,
then the earlier one. Events outside every window keep an empty session_id: they still count for the
day's check-in frequency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from pipeline.attendance.timeline import to_ts
from pipeline.config import RulePack
from pipeline.model import CheckinEvent, Session
from pipeline.model import DEFAULT_TZ

CHECKIN_COLUMNS = (
    "class_id", "trainee_id", "person_ref", "name", "ts", "device_id", "method", "method_raw", "is_face",
    "edited", "direction", "session_id", "vendor", "source_file", "source_row", "match_status",
)


def _rank(ts: pd.Timestamp, start: pd.Timestamp, end: pd.Timestamp) -> tuple[float, int, pd.Timestamp]:
    nearest_s = min(abs((ts - start).total_seconds()), abs((ts - end).total_seconds()))
    inside = 0 if start <= ts <= end else 1
    return nearest_s, inside, start


def session_for(ts: pd.Timestamp, sessions: Sequence[Session], pack: RulePack, tz: str) -> str | None:
    """The session_id an event at `ts` belongs to, or None."""
    before = dt.timedelta(minutes=pack.checkin_window_before_min)
    after = dt.timedelta(minutes=pack.checkin_window_after_min)
    day = ts.tz_convert(tz).date()
    best: tuple | None = None
    best_id: str | None = None
    for s in sessions:
        if s.mode != "offline":
            continue
        start, end = to_ts(s.start, tz), to_ts(s.end, tz)
        if start.tz_convert(tz).date() != day or not (start - before <= ts <= end + after):
            continue
        rank = _rank(ts, start, end)
        if best is None or rank < best:
            best, best_id = rank, s.session_id
    return best_id


def _zone(checkins: Sequence[CheckinEvent], sessions: Sequence[Session]) -> str:
    for value in [s.start for s in sessions] + [e.ts for e in checkins]:
        key = getattr(value.tzinfo, "key", None) if value is not None else None
        if key:
            return key
    return DEFAULT_TZ


def assign_sessions(checkins: Sequence[CheckinEvent], sessions: Sequence[Session], pack: RulePack,
                    tz: str | None = None) -> pd.DataFrame:
    """The `checkins` table: every event with the session it belongs to (None when outside all windows).

    `tz` is the class's time zone (ClassInfo.timezone); by default the zone the sessions' times carry."""
    tz = tz or _zone(checkins, sessions)
    rows = []
    for e in checkins:
        ts = to_ts(e.ts, tz)
        rows.append({
            "class_id": e.class_id, "trainee_id": e.trainee_id, "person_ref": e.person_ref, "name": e.name,
            "ts": ts, "device_id": e.device_id, "method": e.method, "method_raw": e.method_raw,
            "is_face": bool(e.is_face), "edited": bool(e.edited), "direction": e.direction,
            "session_id": session_for(ts, sessions, pack, tz) if ts is not None else None,
            "vendor": e.vendor, "source_file": e.source_file, "source_row": int(e.source_row),
            "match_status": e.match_status,
        })
    df = pd.DataFrame(rows, columns=list(CHECKIN_COLUMNS))
    if len(df):
        df["ts"] = pd.to_datetime(df["ts"], utc=True).dt.tz_convert(tz)
    return df
