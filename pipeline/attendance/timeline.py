"""Time intervals on a class's clock: merging, clipping and the usable recorded time of a session.

An interval is a pair of tz-aware `pandas.Timestamp` (start < end). Every comparison happens on instants,
so frames written in another zone still line up; naive values are read as the class's local time (the
archive contract: all local times in a class folder use its `timezone`).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Sequence

import pandas as pd

from pipeline.ingest.values import is_null
from pipeline.model import ClassEvidence, Session
from pipeline.video.coverage import complement, minutes, union  # noqa: F401  (minutes: for the rules)
from pipeline.video.coverage import intersect as _intersect_merged

Interval = tuple[pd.Timestamp, pd.Timestamp]

# Cameras whose footage does not show the room's people (entrances): not coverage of a session.
NON_COVERAGE_ROLES = ("door",)


def to_ts(value: object, tz: str) -> pd.Timestamp | None:
    """A tz-aware Timestamp, or None for empty values (None, NaT, NaN)."""
    if is_null(value):
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize(tz) if ts.tzinfo is None else ts


def window(session: Session, tz: str) -> Interval:
    return to_ts(session.start, tz), to_ts(session.end, tz)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals, sorted, with touching ones joined; intervals with an unknown end are left out."""
    return union((a, b) for a, b in intervals if a is not None and b is not None)


def intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """Intersection of two unions of intervals."""
    return _intersect_merged(merge(xs), merge(ys))


def subtract(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """The parts of `xs` not covered by `ys`."""
    holes = merge(ys)
    return [part for a, b in merge(xs) for part in complement(holes, a, b)]


def frame_intervals(df: pd.DataFrame, tz: str) -> list[Interval]:
    """The [start, end) intervals of a frame's rows; rows with an unknown time are left out."""
    if df is None or len(df) == 0:
        return []
    pairs = ((to_ts(a, tz), to_ts(b, tz)) for a, b in zip(df["start"], df["end"]))
    return [(a, b) for a, b in pairs if a is not None and b is not None and b > a]


# The hours stage and the rules ask for the same sessions' room files and coverage again and again (47
# and 18 times for a 3-day class, ~1 ms of pandas each): the answers are kept per frame (while it lives)
# and question. The evidence is only read (a frozen ClassEvidence; no stage or rule changes a frame in
# place), so a kept answer stays right.
_KEPT: dict[int, tuple[weakref.ref, dict]] = {}


def _kept(frame: pd.DataFrame, key: tuple, compute):
    entry = _KEPT.get(id(frame))
    if entry is None or entry[0]() is not frame:
        entry = (weakref.ref(frame, lambda _, k=id(frame): _KEPT.pop(k, None)), {})
        _KEPT[id(frame)] = entry
    if key not in entry[1]:
        entry[1][key] = compute()
    return entry[1][key]


def room_recordings(evidence: ClassEvidence, session: Session) -> pd.DataFrame:
    """Readable files of the session's room (any room when the schedule names none), cameras at doors
    excluded. A file nobody could decode is not a recording of anything (it is RECORDING_CORRUPT).
    The frame is shared by every caller: read it, never change it."""
    rec = evidence.recordings
    if rec is None or len(rec) == 0:
        return rec.iloc[0:0] if rec is not None else pd.DataFrame(columns=["start", "end"])
    room = None if session.room is None else str(session.room)
    return _kept(rec, ("room_files", room), lambda: _room_files(rec, room))


def _room_files(rec: pd.DataFrame, room: str | None) -> pd.DataFrame:
    # a missing role column is an error (KeyError), never door cameras silently counted as coverage
    keep = rec["readable"].fillna(False).astype(bool) & ~rec["role"].isin(NON_COVERAGE_ROLES)
    if room is not None:
        keep &= rec["room"].astype("string").fillna("") == room
    return rec[keep]


def recorded_intervals(evidence: ClassEvidence, session: Session) -> list[Interval]:
    """Scheduled time of the session covered by a readable recording of its room (blank footage included:
    blank footage is its own finding, RECORDING_BLANK)."""
    tz = evidence.archive.info.timezone
    return intersect(frame_intervals(room_recordings(evidence, session), tz), [window(session, tz)])


# Blank kinds on which nobody can be seen. Frozen footage is still a recording of the room: a static
# classroom (people sitting still) is easily read as frozen, and faces found in it are the room's; it
# stays RECORDING_BLANK evidence but is not cut from the time attendance is judged on.
UNUSABLE_BLANK_KINDS = ("black", "covered")


def blank_intervals(evidence: ClassEvidence, session: Session,
                    kinds: Sequence[str] | None = UNUSABLE_BLANK_KINDS) -> list[Interval]:
    """Blank stretches (of the given kinds; None: all) of the session's room footage, as times."""
    blanks = evidence.blanks
    if blanks is None or len(blanks) == 0:
        return []
    paths = set(room_recordings(evidence, session)["path"].astype(str))
    rows = blanks[blanks["path"].astype(str).isin(paths)] if paths else blanks.iloc[0:0]
    if kinds is not None and "kind" in rows:
        rows = rows[rows["kind"].isin(kinds)]
    tz = evidence.archive.info.timezone
    return intersect(frame_intervals(rows, tz), [window(session, tz)])


def usable_intervals(evidence: ClassEvidence, session: Session) -> list[Interval]:
    """Recorded time of the session on which a person could have been seen: recorded minus black or
    covered footage."""
    return subtract(recorded_intervals(evidence, session), blank_intervals(evidence, session))


def coverage_of(evidence: ClassEvidence, session: Session) -> dict | None:
    """The video stage's coverage of the session's room (recorded_min, blank_min, gaps), or None when the
    coverage frame has no row for it. Its minutes come from the decoded footage (timestamp jumps cut a
    file's span), so they win over the file windows of the recordings frame where both exist."""
    cov = evidence.coverage
    if cov is None or len(cov) == 0:
        return None
    tz = evidence.archive.info.timezone
    found = _kept(cov, ("coverage", session.session_id, session.room, tz), lambda: _coverage(cov, session, tz))
    return None if found is None else dict(found)


def _coverage(cov: pd.DataFrame, session: Session, tz: str) -> dict | None:
    rows = cov[(cov["session_id"].astype("string") == session.session_id).fillna(False)]
    if session.room is not None and "room" in rows:
        rows = rows[(rows["room"].astype("string").fillna(str(session.room)) == str(session.room)).fillna(False)]
    if len(rows) == 0:
        return None
    gaps = None
    if "gaps" in rows:
        gaps = []
        for text in rows["gaps"].dropna():
            try:
                gaps += [(to_ts(a, tz), to_ts(b, tz)) for a, b in json.loads(text)]
            except (TypeError, ValueError):
                gaps = None
                break
    return {"recorded_min": float(rows["recorded_min"].fillna(0).sum()),
            "blank_min": float(rows["blank_min"].fillna(0).sum()) if "blank_min" in rows else 0.0,
            "gaps": merge(gaps) if gaps is not None else None}
