"""HEADCOUNT_MISMATCH: check-ins vs. people on video, both directions, tolerance max(2, 10%)."""

import json

import pytest

from rules_factories import (
    SHANDONG, at, blank, checkin, evidence, headcount, pack, recording, run, session, trainee,
)

S = session()


def _class(n_checked_in, counts, teachers=1, **kw):
    trainees = [trainee(f"S{i}") for i in range(max(n_checked_in, 1) + 40)]
    checkins = [checkin(t.trainee_id, at("08:25"), row=i + 2) for i, t in enumerate(trainees[:n_checked_in])]
    rows = [headcount(ts=f"{9 + i // 6:02d}:{(i % 6) * 10:02d}", faces=c + teachers, teachers=teachers,
                      offset_s=2400.0 + 600 * i) for i, c in enumerate(counts)]
    return evidence(trainees=trainees, sessions=[S], recordings=[recording()], checkins=checkins, headcounts=rows, **kw)


@pytest.mark.parametrize("checked_in, counts, fires, direction", [
    (10, [8, 8, 8], False, None),      # 2 fewer: exactly the tolerance (2 > 10% of 10)
    (10, [7, 7, 7], True, "fewer"),    # 3 fewer
    (10, [5, 7, 6], True, "fewer"),    # judged on the peak (7): 3 fewer
    (10, [5, 8, 6], False, None),      # the peak reaches 8
    (10, [12, 12, 30], False, None),   # typical 12: 2 more, at the tolerance (one crowded frame is not typical)
    (10, [13, 13, 2], True, "more"),   # typical 13: 3 more
    (40, [36, 36], False, None),       # 10% of 40 = 4 > 2: 4 fewer is at the tolerance
    (40, [35, 35], True, "fewer"),
    (0, [3, 3, 3], True, "more"),      # nobody checked in, three people in class
])
def test_headcount_threshold(checked_in, counts, fires, direction):
    found = run(_class(checked_in, counts), "HEADCOUNT_MISMATCH")
    assert len(found) == int(fires)
    if fires:
        d = json.loads(found[0].detail)
        assert d["direction"] == direction and d["checked_in"] == checked_in
        assert found[0].session_id == "S01" and found[0].measured > found[0].threshold
        assert d["snapshot_offset_s"] >= 2400.0


def test_headcount_excludes_the_teacher_and_uses_smoothed_counts():
    ev = _class(10, [10, 10, 10], teachers=3)   # faces 13, of which 3 teachers: 10 people
    assert run(ev, "HEADCOUNT_MISMATCH") == []
    rows = [headcount(ts="09:00", faces=20, teachers=0, smoothed=10.0)]
    ev = evidence(trainees=[trainee(f"S{i}") for i in range(10)], sessions=[S], recordings=[recording()],
                  checkins=[checkin(f"S{i}", row=i + 2) for i in range(10)], headcounts=rows)
    assert run(ev, "HEADCOUNT_MISMATCH") == []


def test_headcount_ignores_samples_in_blank_footage():
    # 09:20-09:50 is a frozen frame of a fuller room: its samples must not make the typical count.
    frozen = blank(start="09:20", end="09:50", kind="frozen")
    assert run(_class(10, [10, 10, 20, 20, 20], blanks=[frozen]), "HEADCOUNT_MISMATCH") == []
    assert len(run(_class(10, [10, 10, 20, 20, 20]), "HEADCOUNT_MISMATCH")) == 1


@pytest.mark.parametrize("covered_until, fires", [
    ("11:26", False),   # 4 usable minutes left of the session: too little video to count a room
    ("11:25", True),    # exactly 5 usable minutes: judged
])
def test_headcount_needs_enough_usable_video(covered_until, fires):
    covered = blank(start="08:30", end=covered_until, kind="covered")
    rows = [headcount(ts="11:27", faces=3 + 1, teachers=1, offset_s=11220.0)]
    ev = _class(10, [], blanks=[covered])
    ev = evidence(trainees=ev.archive.trainees, sessions=[S], recordings=[recording()],
                  checkins=list(ev.archive.checkins), headcounts=rows, blanks=[covered])
    assert len(run(ev, "HEADCOUNT_MISMATCH")) == int(fires)
    assert len(run(ev, "HEADCOUNT_MISMATCH", pack(headcount_min_usable_min=1))) == 1


def test_headcount_no_data():
    assert run(evidence(), "HEADCOUNT_MISMATCH") == []
    assert run(_class(10, []), "HEADCOUNT_MISMATCH") == []


def test_headcount_pack_override():
    assert len(run(_class(10, [8, 8]), "HEADCOUNT_MISMATCH", pack(headcount_tolerance_people=1))) == 1
    assert run(_class(10, [8, 8]), "HEADCOUNT_MISMATCH", SHANDONG) == []
    assert run(_class(40, [35, 35]), "HEADCOUNT_MISMATCH", pack(headcount_tolerance_ratio=0.2)) == []
