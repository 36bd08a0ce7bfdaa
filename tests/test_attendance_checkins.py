"""Which session each check-in belongs to (ARCHIVE.md: window, back-to-back sessions, same day only)."""

import pytest

from pipeline.attendance.checkin_sessions import CHECKIN_COLUMNS, assign_sessions
from pipeline.outputs.schemas import schema
from rules_factories import NATIONAL, TZ, at, checkin, pack, session


def _assign(times, sessions, pk=NATIONAL):
    events = [checkin(ts=t, row=i + 2) for i, t in enumerate(times)]
    return list(assign_sessions(events, sessions, pk, TZ)["session_id"])


def test_columns_are_the_checkins_table():
    df = assign_sessions([checkin()], [session()], NATIONAL, TZ)
    assert list(df.columns) == schema("checkins").names == list(CHECKIN_COLUMNS)
    assert len(assign_sessions([], [session()], NATIONAL, TZ)) == 0


@pytest.mark.parametrize("hhmm, expected", [
    ("08:00", "S01"),   # exactly start - 30 min
    ("07:59", None),    # just before the window
    ("12:00", "S01"),   # exactly end + 30 min
    ("12:01", None),
    ("10:00", "S01"),
])
def test_window_edges(hhmm, expected):
    assert _assign([at(hhmm)], [session()]) == [expected]


def test_window_from_the_pack():
    wide = pack(checkin_window_before_min=60)
    assert _assign([at("07:45")], [session()], wide) == ["S01"]
    assert _assign([at("07:45")], [session()]) == [None]


@pytest.mark.parametrize("hhmm, expected", [
    ("09:50", "A"),   # inside A, 10 min from its end, 20 from B's start
    ("10:07", "B"),   # 7 min after A's end, 3 before B's start
    ("10:05", "A"),   # tie between A's end and B's start, inside neither: the earlier session
    ("10:20", "B"),
])
def test_back_to_back_sessions_nearest_start_or_end(hhmm, expected):
    a = session("A", "08:00", "10:00")
    b = session("B", "10:10", "12:00")
    assert _assign([at(hhmm)], [a, b]) == [expected]


def test_tie_prefers_the_session_whose_time_contains_the_event():
    a = session("A", "08:00", "10:00")
    b = session("B", "10:00", "12:00")
    assert _assign([at("09:00"), at("10:00"), at("11:00")], [a, b]) == ["A", "A", "B"]


def test_other_day_and_online_sessions_are_not_candidates():
    s_online = session("ON", "08:30", "11:30", mode="online")
    s_next_day = session("D2", "00:10", "02:00", day=9)
    assert _assign([at("23:50")], [s_next_day, s_online]) == [None]
    assert _assign([at("09:00")], [s_online]) == [None]
