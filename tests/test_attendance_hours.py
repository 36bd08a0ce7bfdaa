"""trainee_hours: observed minutes clipped to the session and to usable recorded time; null without a
recording; credited and observed 学时 for offline and online study."""

import math

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from pipeline.outputs.schemas import schema
from rules_factories import (
    NATIONAL, SHANDONG, at, blank, checkin, evidence, headcount, hours_of, online, presence, recording, session,
    trainee,
)


def _row(df, tid="S1", sid="S01"):
    rows = df[(df["trainee_id"] == tid) & (df["session_id"] == sid)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_columns_are_the_trainee_hours_table():
    df = hours_of(evidence(trainees=[trainee()], sessions=[session()]))
    assert list(df.columns) == schema("trainee_hours").names


def test_empty_class_gives_empty_table():
    assert len(hours_of(evidence())) == 0


@pytest.mark.parametrize("seen, recorded, expected_min", [
    (("08:00", "12:00"), ("08:20", "11:40"), 180.0),   # presence and file beyond the window: clipped to it
    (("09:00", "10:00"), ("08:20", "11:40"), 60.0),
    (("08:30", "11:30"), ("10:30", "11:40"), 60.0),    # only the recorded hour counts
    (("08:30", "09:00"), ("10:30", "11:40"), 0.0),     # seen only outside recorded time (impossible, clipped)
])
def test_observed_min_is_clipped_to_window_and_recording(seen, recorded, expected_min):
    ev = evidence(trainees=[trainee()], sessions=[session()], recordings=[recording(start=recorded[0], end=recorded[1])],
                  presence_rows=[presence(start=seen[0], end=seen[1])])
    assert _row(hours_of(ev))["observed_min"] == pytest.approx(expected_min)


def test_overlapping_presence_from_two_cameras_counts_once():
    ev = evidence(trainees=[trainee()], sessions=[session()], recordings=[recording()],
                  presence_rows=[presence(start="08:30", end="10:00", camera="A"),
                                 presence(start="09:30", end="10:30", camera="B")])
    assert _row(hours_of(ev))["observed_min"] == pytest.approx(120.0)


def test_no_usable_recording_gives_null_not_zero():
    ev = evidence(trainees=[trainee()], sessions=[session()], presence_rows=[presence()],
                  recordings=[recording(readable=False)])
    row = _row(hours_of(ev))
    assert pd.isna(row["observed_min"]) and pd.isna(row["observed_hours"])
    assert pd.isna(row["recorded_min"])


def test_not_analysed_by_the_face_stage_gives_null():
    ev = evidence(trainees=[trainee()], sessions=[session()], recordings=[recording()])
    assert pd.isna(_row(hours_of(ev))["observed_min"])
    ev = evidence(trainees=[trainee()], sessions=[session()], recordings=[recording()], headcounts=[headcount()])
    assert _row(hours_of(ev))["observed_min"] == 0.0


def test_blank_footage_is_not_recorded_time():
    ev = evidence(trainees=[trainee()], sessions=[session()], recordings=[recording()],
                  presence_rows=[presence()], blanks=[blank(start="09:00", end="09:30")])
    row = _row(hours_of(ev))
    assert row["recorded_min"] == pytest.approx(150.0)
    assert row["observed_min"] == pytest.approx(150.0)


def test_other_rooms_and_door_cameras_do_not_cover_the_session():
    ev = evidence(trainees=[trainee()], sessions=[session()], presence_rows=[presence()],
                  recordings=[recording(room="R2"), recording(path="door.mp4", role="door")])
    assert pd.isna(_row(hours_of(ev))["recorded_min"])


def test_coverage_table_minutes_win_and_only_black_or_covered_footage_is_cut():
    # Files without times: the coverage row's minutes; its blank_min (frozen included) is not cut blindly.
    cov = dict(class_id="C1", session_id="S01", room="R1", scheduled_min=180.0, recorded_min=120.0, gap_min=60.0,
               blank_min=20.0, recordings=1)
    ev = evidence(trainees=[trainee()], sessions=[session()], recordings=[recording(start=None, end=None)],
                  coverage=[cov], presence_rows=[presence()], headcounts=[headcount()])
    row = _row(hours_of(ev))
    assert row["recorded_min"] == pytest.approx(120.0) and row["observed_min"] == pytest.approx(120.0)
    # Timed files: coverage minutes (cut at a timestamp jump) win over the file window, black is cut.
    ev = evidence(trainees=[trainee()], sessions=[session()], recordings=[recording()], coverage=[cov],
                  presence_rows=[presence()], blanks=[blank(start="09:00", end="09:20")])
    assert _row(hours_of(ev))["recorded_min"] == pytest.approx(100.0)


def test_frozen_footage_stays_usable_time():
    ev = evidence(trainees=[trainee()], sessions=[session()], recordings=[recording()], presence_rows=[presence()],
                  blanks=[blank(start="09:00", end="09:30", kind="frozen")])
    row = _row(hours_of(ev))
    assert row["recorded_min"] == pytest.approx(180.0) and row["observed_min"] == pytest.approx(180.0)


def test_checkin_method_and_counts():
    ev = evidence(trainees=[trainee("S1"), trainee("S2"), trainee("S3")], sessions=[session()],
                  checkins=[checkin("S1", at("08:25")), checkin("S1", at("11:35"), method="card"),
                            checkin("S2", at("08:20"), method="card"), checkin("S3", at("08:21"), edited=True)])
    df = hours_of(ev)
    assert (_row(df, "S1")["checkin_method"], _row(df, "S1")["checkin_events"]) == ("face", 2)
    assert _row(df, "S2")["checkin_method"] == "card"
    assert _row(df, "S3")["checkin_method"] == "edited"


def test_observed_hours_convert_at_45_min_and_never_exceed_credited():
    ev = evidence(trainees=[trainee()], sessions=[session(start="08:30", end="12:00", hours=4.0)],
                  recordings=[recording(start="08:00", end="12:30")],
                  presence_rows=[presence(start="08:30", end="12:00"), presence("S2", start="08:30", end="10:00")])
    ev2 = evidence(trainees=[trainee(), trainee("S2")], sessions=ev.archive.sessions,
                   recordings=[recording(start="08:00", end="12:30")],
                   presence_rows=[presence(start="08:30", end="12:00"), presence("S2", start="08:30", end="10:00")])
    df = hours_of(ev2)
    assert _row(df, "S1")["observed_hours"] == 4.0                      # 210 min = 4.67, capped at 4 credited
    assert _row(df, "S2")["observed_hours"] == pytest.approx(90 / 45)   # 90 min
    assert _row(hours_of(ev), "S1")["credited_hours"] == 4.0


@pytest.mark.parametrize("pk, minutes, checks, passed, expected", [
    (NATIONAL, 60.0, 2, 2, 2.0),    # 2 学时 credited, 60 min at 30 min per 学时: 2
    (SHANDONG, 60.0, 2, 2, 2.0),    # 45 min per 学时 supports 1.33: ONLINE_COURSE_SHORT, still credited
    (NATIONAL, 60.0, 2, 1, 0.0),    # a failed face check: not observed
    (NATIONAL, 60.0, 0, 0, 0.0),    # no face check at all
])
def test_online_session_credited_and_observed(pk, minutes, checks, passed, expected):
    s = session("ON1", "19:00", "21:00", mode="online", room=None, hours=2.0)
    ev = evidence(trainees=[trainee()], sessions=[s],
                  online_records=[online(course="ON1", hours=2.0, minutes=minutes, checks=checks, passed=passed)])
    row = _row(hours_of(ev, pk), sid="ON1")
    assert row["credited_hours"] == 2.0
    assert row["observed_hours"] == pytest.approx(expected)
    assert pd.isna(row["observed_min"])


def test_online_session_without_any_online_export_keeps_schedule_hours():
    s = session("ON1", "19:00", "21:00", mode="online", room=None, hours=2.0)
    row = _row(hours_of(evidence(trainees=[trainee()], sessions=[s])), sid="ON1")
    assert row["credited_hours"] == 2.0 and row["observed_hours"] == 0.0


def test_theory_and_practical_kept_apart():
    ev = evidence(trainees=[trainee()], sessions=[session("T"), session("P", "13:30", "17:30", kind="practical")])
    assert sorted(hours_of(ev)["kind"]) == ["practical", "theory"]


minute = st.integers(min_value=0, max_value=24 * 60 - 1)


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(minute, minute), max_size=6), st.lists(st.tuples(minute, minute), max_size=4),
       st.tuples(minute, minute), st.lists(st.tuples(minute, minute), max_size=2))
def test_observed_minutes_never_negative_nor_above_the_session_or_recording(seen, files, sess, blanks):
    a, b = sorted(sess)
    if a == b:
        b = a + 1
    s = session(start=_hhmm(a), end=_hhmm(min(b, 24 * 60 - 1)))
    rows = [presence(start=_hhmm(min(x, y)), end=_hhmm(max(x, y))) for x, y in seen]
    recs = [recording(path=f"f{i}.mp4", start=_hhmm(min(x, y)), end=_hhmm(max(x, y))) for i, (x, y) in enumerate(files)]
    bl = [blank(path="f0.mp4", start=_hhmm(min(x, y)), end=_hhmm(max(x, y))) for x, y in blanks]
    ev = evidence(trainees=[trainee()], sessions=[s], recordings=recs, presence_rows=rows, blanks=bl,
                  headcounts=[headcount()])
    row = _row(hours_of(ev))
    if pd.isna(row["observed_min"]):
        assert pd.isna(row["recorded_min"]) or row["recorded_min"] == 0
        return
    assert 0.0 <= row["observed_min"] <= row["scheduled_min"] + 1e-9
    assert row["observed_min"] <= row["recorded_min"] + 1e-9
    assert row["recorded_min"] <= row["scheduled_min"] + 1e-9
    assert not math.isnan(row["observed_hours"]) and row["observed_hours"] <= s.hours + 1e-9
