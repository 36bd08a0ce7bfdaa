"""Recording coverage of a scheduled session: pure functions on time intervals.

Inputs are tz-aware datetimes: the session window, the room's recordings as (start, end,
readable) and the blank stretches as absolute (start, end). Overlapping recordings (two cameras,
or overlapping exports) count once. Only readable recordings cover time; a blank stretch counts
as blank only where it falls inside covered session time, so blank_min <= recorded_min <=
scheduled_min always holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

Interval = tuple[datetime, datetime]


class RecordedSpan(NamedTuple):
    start: datetime
    end: datetime
    readable: bool = True


@dataclass(frozen=True)
class Coverage:
    scheduled_min: float
    recorded_min: float
    gap_min: float  # scheduled_min - recorded_min
    blank_min: float
    gaps: tuple[Interval, ...]  # uncovered parts of the session, in order
    recorded: tuple[Interval, ...]  # covered parts of the session (union), in order


def _check_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"expected a tz-aware datetime, found naive {moment!r}")


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, merged intervals; empty or reversed ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted((s, e) for s, e in intervals if e > s):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if e > start and s < end]


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two merged, sorted interval lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def complement(intervals: Sequence[Interval], start: datetime, end: datetime) -> list[Interval]:
    """Parts of [start, end) not covered by the merged, sorted `intervals`."""
    gaps, cursor = [], start
    for s, e in clip(intervals, start, end):
        if s > cursor:
            gaps.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def minutes(intervals: Iterable[Interval]) -> float:
    return sum((e - s).total_seconds() for s, e in intervals) / 60.0


def session_coverage(
    session_start: datetime,
    session_end: datetime,
    recordings: Iterable[RecordedSpan | tuple],
    blanks: Iterable[Interval] = (),
) -> Coverage:
    """Coverage of one session window by one room's recordings (tuples (start, end[, readable]))."""
    _check_aware(session_start, session_end)
    spans = [RecordedSpan(*r) for r in recordings]
    blanks = list(blanks)
    _check_aware(*(t for r in spans for t in (r.start, r.end)), *(t for b in blanks for t in b))
    if session_end <= session_start:
        return Coverage(0.0, 0.0, 0.0, 0.0, (), ())
    recorded = clip(union((r.start, r.end) for r in spans if r.readable), session_start, session_end)
    gaps = complement(recorded, session_start, session_end)
    blank = intersect(union(blanks), recorded)
    scheduled_min = (session_end - session_start).total_seconds() / 60.0
    recorded_min = minutes(recorded)
    return Coverage(
        scheduled_min=scheduled_min,
        recorded_min=recorded_min,
        gap_min=max(0.0, scheduled_min - recorded_min),
        blank_min=minutes(blank),
        gaps=tuple(gaps),
        recorded=tuple(recorded),
    )


def footage_spans(start: datetime, footage_s: float, timestamp_jumps: Iterable[tuple[float, float]] = ()) -> list[Interval]:
    """Wall-clock spans a recording really holds: from `start`, its packets' time, with the holes
    left by forward timestamp jumps (offset_s, jump_s) removed. Backward jumps hide nothing."""
    _check_aware(start)
    holes = union(
        (start + timedelta(seconds=offset), start + timedelta(seconds=offset + jump))
        for offset, jump in timestamp_jumps if jump > 0
    )
    return complement(holes, start, start + timedelta(seconds=max(0.0, footage_s)))


def blank_spans(start: datetime, stretches: Iterable) -> list[Interval]:
    """Absolute (start, end) of BlankStretch-like records (start_offset_s, end_offset_s) of a file starting at `start`."""
    _check_aware(start)
    return [
        (start + timedelta(seconds=s.start_offset_s), start + timedelta(seconds=s.end_offset_s))
        for s in stretches
    ]


def recording_spans(start: datetime | None, probe) -> list[RecordedSpan]:
    """What a probed recording covers, from its start (sidecar, file name or tag) and its probe
    (a ProbeResult): its real footage, holes at timestamp jumps removed. A truncated file still
    covers the footage before the cut (the cut itself is a RECORDING_CORRUPT finding); a file that
    cannot be decoded, or whose start is unknown, covers nothing."""
    if start is None:
        return []
    if not probe.readable and not probe.truncated:
        return [RecordedSpan(start, start, False)]
    footage_s = probe.footage_s if probe.footage_s is not None else (probe.duration_s or 0.0)
    return [RecordedSpan(s, e, True) for s, e in footage_spans(start, footage_s, probe.timestamp_jumps)]
