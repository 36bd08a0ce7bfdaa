"""Coverage of sessions by recordings: table-driven cases, a real gap between two probed files,
and hypothesis invariants (recorded never above scheduled, never negative, overlaps once)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.video.blank import BlankStretch
from pipeline.video.coverage import (
    RecordedSpan, blank_spans, footage_spans, recording_spans, session_coverage, union,
)
from pipeline.video.probe import probe_recording
from test_video_media import class_video

TZ = timezone(timedelta(hours=8))  # Asia/Shanghai
T0 = datetime(2024, 10, 8, 8, 30, tzinfo=TZ)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


@pytest.mark.parametrize(
    "recordings, blanks, recorded, gaps, blank",
    [
        ([], [], 0.0, [(0, 90)], 0.0),
        ([(0, 90)], [], 90.0, [], 0.0),
        ([(-10, 100)], [], 90.0, [], 0.0),  # started early, ran late: clipped to the session
        ([(0, 40), (50, 90)], [], 80.0, [(40, 50)], 0.0),
        ([(0, 60), (30, 90)], [], 90.0, [], 0.0),  # overlapping files count once
        ([(0, 60), (0, 60), (10, 20)], [], 60.0, [(60, 90)], 0.0),
        ([(0, 90, False)], [], 0.0, [(0, 90)], 0.0),  # unreadable covers nothing
        ([(0, 45)], [(30, 60)], 45.0, [(45, 90)], 15.0),  # blank only counts inside recorded time
        ([(0, 90)], [(10, 20), (15, 25)], 90.0, [], 15.0),
        ([(100, 200)], [], 0.0, [(0, 90)], 0.0),
    ],
)
def test_session_coverage_table(recordings, blanks, recorded, gaps, blank):
    spans = [RecordedSpan(at(r[0]), at(r[1]), *r[2:]) for r in recordings]
    cov = session_coverage(at(0), at(90), spans, [(at(s), at(e)) for s, e in blanks])
    assert cov.scheduled_min == 90.0
    assert cov.recorded_min == pytest.approx(recorded)
    assert cov.gap_min == pytest.approx(90.0 - recorded)
    assert cov.blank_min == pytest.approx(blank)
    assert list(cov.gaps) == [(at(s), at(e)) for s, e in gaps]


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="tz-aware"):
        session_coverage(datetime(2024, 10, 8, 8, 30), at(90), [])


def test_gap_between_two_real_files(tmp_path):
    """Two probed files of one room: 0-30 s and 60-100 s of a 2-minute session."""
    first = class_video(tmp_path / "R1_20241008083000.mp4", 30)
    second = class_video(tmp_path / "R1_20241008083100.mp4", 40)
    spans = []
    for path, start in ((first, T0), (second, T0 + timedelta(seconds=60))):
        spans += recording_spans(start, probe_recording(path, timeout_s=30))
    cov = session_coverage(T0, T0 + timedelta(minutes=2), spans)
    (g1s, g1e), (g2s, g2e) = cov.gaps
    assert (g1s - T0).total_seconds() == pytest.approx(30, abs=0.5)
    assert (g1e - T0).total_seconds() == pytest.approx(60, abs=0.5)
    assert (g2s - T0).total_seconds() == pytest.approx(100, abs=0.5) and g2e == T0 + timedelta(minutes=2)
    assert cov.recorded_min == pytest.approx(70 / 60, abs=0.02)


def test_timestamp_jump_leaves_a_hole():
    spans = footage_spans(T0, 50.0, [(9.9, 30.1)])
    assert [(round((s - T0).total_seconds(), 1), round((e - T0).total_seconds(), 1)) for s, e in spans] == [(0, 9.9), (40.0, 50.0)]


def test_blank_stretches_become_absolute_spans():
    stretch = BlankStretch("black", 15.0, 29.0, 22.0, 15, 5.5)
    assert blank_spans(T0, [stretch]) == [(T0 + timedelta(seconds=15), T0 + timedelta(seconds=29))]


minutes_st = st.floats(min_value=-200, max_value=400, allow_nan=False)
span_st = st.tuples(minutes_st, minutes_st, st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    start=st.floats(0, 100), length=st.floats(0, 300),
    recordings=st.lists(span_st, max_size=8), blanks=st.lists(st.tuples(minutes_st, minutes_st), max_size=5),
)
def test_coverage_invariants(start, length, recordings, blanks):
    spans = [RecordedSpan(at(min(a, b)), at(max(a, b)), ok) for a, b, ok in recordings]
    cov = session_coverage(at(start), at(start + length), spans, [(at(min(a, b)), at(max(a, b))) for a, b in blanks])
    eps = 1e-6
    assert cov.scheduled_min == pytest.approx(length, abs=1e-6)
    assert 0.0 <= cov.blank_min <= cov.recorded_min + eps <= cov.scheduled_min + 2 * eps
    assert cov.gap_min >= 0.0
    gap_total = sum((e - s).total_seconds() for s, e in cov.gaps) / 60
    assert gap_total + cov.recorded_min == pytest.approx(cov.scheduled_min, abs=1e-6)
    # overlaps counted once: duplicating every recording changes nothing
    twice = session_coverage(at(start), at(start + length), spans + spans)
    assert twice.recorded_min == pytest.approx(cov.recorded_min, abs=1e-9)
    readable = [(s.start, s.end) for s in spans if s.readable]
    assert cov.recorded_min <= sum((e - s).total_seconds() for s, e in union(readable)) / 60 + eps
