"""RECORDING_MISSING, RECORDING_GAP, RECORDING_BLANK, RECORDING_CORRUPT, RECORDING_RETENTION,
RECORDING_REUSED."""

import dataclasses
import datetime as dt
import json

import pandas as pd
import pytest

from rules_factories import (
    NATIONAL, SHANDONG, at, blank, evidence, info, pack, recording, run, run_archive, session,
)

S = session()  # 2024-10-08 08:30-11:30, room R1


# --- RECORDING_MISSING -------------------------------------------------------------------------------

@pytest.mark.parametrize("recs, fires", [
    ([], True),
    ([recording(readable=False)], True),           # an unreadable file is no recording
    ([recording(room="R2")], True),                # another room's camera
    ([recording(start="11:29", end="12:00")], False),
    ([recording()], False),
])
def test_missing(recs, fires):
    found = run(evidence(sessions=[S], recordings=recs), "RECORDING_MISSING")
    assert [f.session_id for f in found] == (["S01"] if fires else [])


def test_missing_only_offline_and_from_the_full_recording_date():
    old = session("OLD", year=2024, month=6, day=28)
    online = session("ON", mode="online", room=None)
    assert run(evidence(sessions=[old, online]), "RECORDING_MISSING") == []
    assert run(evidence(), "RECORDING_MISSING") == []


def test_missing_pack_override():
    early = session("E", month=5, day=6)
    assert run(evidence(sessions=[early]), "RECORDING_MISSING") == []
    assert len(run(evidence(sessions=[early]), "RECORDING_MISSING", pack(full_recording_from=dt.date(2024, 1, 1)))) == 1


# --- RECORDING_GAP: uncovered stretches longer than gap_tolerance_min (5) ----------------------------

@pytest.mark.parametrize("files, gap_min", [
    ([("08:30", "11:30")], None),
    ([("08:35", "11:30")], None),                        # 5 min uncovered: exactly the tolerance
    ([("08:36", "11:30")], 6.0),                         # 6 min
    ([("08:30", "09:30"), ("09:34", "11:30")], None),    # NVR segment switch of 4 min
    ([("08:30", "09:30"), ("09:40", "11:20")], 20.0),    # two stretches of 10 min, one finding
])
def test_gap_threshold(files, gap_min):
    recs = [recording(path=f"f{i}.mp4", start=a, end=b) for i, (a, b) in enumerate(files)]
    found = run(evidence(sessions=[S], recordings=recs), "RECORDING_GAP")
    if gap_min is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].measured == pytest.approx(gap_min)
        assert found[0].start is not None and json.loads(found[0].detail)["gaps"]


def test_gap_is_not_reported_for_a_missing_session_nor_with_no_data():
    assert run(evidence(sessions=[S]), "RECORDING_GAP") == []
    assert run(evidence(), "RECORDING_GAP") == []


def test_gap_pack_override():
    ev = evidence(sessions=[S], recordings=[recording(start="08:40", end="11:30")])
    assert len(run(ev, "RECORDING_GAP")) == 1
    assert run(ev, "RECORDING_GAP", pack(SHANDONG, gap_tolerance_min=15)) == []


# --- RECORDING_BLANK: blank stretches of blank_tolerance_min (2) or longer ----------------------------

@pytest.mark.parametrize("stretch, fires", [
    (("09:00", "09:01"), False), (("09:00", "09:02"), True), (("09:00", "09:06"), True),
    (("11:29", "11:40"), False),   # only 1 min inside the session
    (("11:28", "11:40"), True),    # 2 min inside the session
])
def test_blank_threshold(stretch, fires):
    ev = evidence(sessions=[S], recordings=[recording()], blanks=[blank(start=stretch[0], end=stretch[1])])
    found = run(ev, "RECORDING_BLANK")
    assert len(found) == int(fires)
    if fires:
        f = found[0]
        assert (f.path, f.session_id) == ("recordings/R1-A_20241008082000.mp4", "S01")
        if stretch[0] == "09:00":
            assert json.loads(f.detail)["stretches"][0]["start_offset_s"] == 2400.0


def test_blank_one_finding_per_file_and_session():
    ev = evidence(sessions=[S], recordings=[recording()],
                  blanks=[blank(start="09:00", end="09:10"), blank(start="10:00", end="10:30", kind="covered")])
    found = run(ev, "RECORDING_BLANK")
    assert len(found) == 1 and found[0].measured == pytest.approx(30.0)
    assert len(json.loads(found[0].detail)["stretches"]) == 2
    assert run(evidence(), "RECORDING_BLANK") == []


def test_blank_pack_override():
    ev = evidence(sessions=[S], recordings=[recording()], blanks=[blank(start="09:00", end="09:04")])
    assert len(run(ev, "RECORDING_BLANK")) == 1
    assert run(ev, "RECORDING_BLANK", pack(blank_tolerance_min=5)) == []
    assert len(run(ev, "RECORDING_BLANK", pack(blank_tolerance_min=4))) == 1


# --- RECORDING_CORRUPT --------------------------------------------------------------------------------

@pytest.mark.parametrize("readable, error, fires", [
    (True, None, False), (False, "moov atom not found", True), (True, "timestamp jump of 3600 s at 00:41:13", True),
])
def test_corrupt(readable, error, fires):
    ev = evidence(sessions=[S], recordings=[recording(readable=readable, error=error)])
    found = run(ev, "RECORDING_CORRUPT")
    assert len(found) == int(fires)
    if fires:
        assert found[0].path == "recordings/R1-A_20241008082000.mp4" and found[0].session_id == "S01"
        assert error in found[0].message
    assert run(evidence(), "RECORDING_CORRUPT") == []


def test_corrupt_file_outside_sessions_has_no_session():
    ev = evidence(sessions=[S], recordings=[recording(start="18:00", end="19:00", readable=False)])
    assert run(ev, "RECORDING_CORRUPT")[0].session_id is None
    assert run(ev, "RECORDING_CORRUPT", SHANDONG)[0].severity == SHANDONG.severity["RECORDING_CORRUPT"]


# --- RECORDING_RETENTION: Shandong 20% before 2024-07-01 ----------------------------------------------

OLD = [session("O1", "08:00", "10:00", month=5, day=6), session("O2", "08:00", "10:00", month=5, day=7),
       session("O3", "08:00", "10:00", month=5, day=8), session("O4", "08:00", "10:00", month=5, day=9),
       session("O5", "08:00", "10:00", month=5, day=10)]


def _old_recording(minutes):
    start = dt.datetime(2024, 5, 6, 8, 0, tzinfo=OLD[0].start.tzinfo)
    return dict(recording(), path="old.mp4", start=start, end=start + dt.timedelta(minutes=minutes))


@pytest.mark.parametrize("kept_min, fires", [(120, False), (119, True), (0, True)])   # 20% of 600 min = 120
def test_retention_share(kept_min, fires):
    recs = [_old_recording(kept_min)] if kept_min else []
    found = run(evidence(sessions=OLD, recordings=recs), "RECORDING_RETENTION", SHANDONG)
    assert len(found) == int(fires)
    if fires:
        assert found[0].threshold == 0.2 and found[0].measured == pytest.approx(kept_min / 600)


def test_retention_national_has_no_share_rule_and_no_data_is_fine():
    assert run(evidence(sessions=OLD), "RECORDING_RETENTION", NATIONAL) == []
    assert run(evidence(sessions=[S]), "RECORDING_RETENTION", SHANDONG) == []
    assert run(evidence(), "RECORDING_RETENTION", SHANDONG) == []


def test_retention_days():
    keep_90 = pack(retention_days=90)
    assert len(run(evidence(sessions=OLD), "RECORDING_RETENTION", keep_90, audit_date=dt.date(2024, 8, 1))) == 1
    assert run(evidence(sessions=OLD), "RECORDING_RETENTION", keep_90, audit_date=dt.date(2024, 8, 9)) == []


# --- RECORDING_REUSED (archive) -----------------------------------------------------------------------

def _ev(cid, path, sha, start="08:20", sessions=None, day=8):
    return evidence(cls=info(cid), sessions=sessions or [session(class_id=cid, day=day)],
                    recordings=[recording(path=path, sha=sha, class_id=cid, start=start, day=day)])


def test_reused_identical_file_in_two_classes_one_finding_each():
    found = run_archive([_ev("C1", "a.mp4", "x"), _ev("C2", "b.mp4", "x", day=9)], "RECORDING_REUSED")
    assert sorted((f.class_id, f.path) for f in found) == [("C1", "a.mp4"), ("C2", "b.mp4")]
    assert all(f.session_id == "S01" for f in found)
    assert json.loads(found[0].detail)["other_file"] == "b.mp4"


def test_reused_no_data_and_different_files():
    assert run_archive([_ev("C1", "a.mp4", "x"), _ev("C2", "b.mp4", "y")], "RECORDING_REUSED") == []
    assert run_archive([], "RECORDING_REUSED") == []


def test_reused_within_a_class_for_two_sessions():
    sessions = [session("S01"), session("S02", day=9)]
    ev = evidence(sessions=sessions, recordings=[recording(path="a.mp4", sha="x"),
                                                 recording(path="b.mp4", sha="x", day=9)])
    found = run_archive([ev], "RECORDING_REUSED")
    assert [(f.path, f.session_id) for f in found] == [("a.mp4", "S01")]
    # the same file copied twice for the same session is not reuse
    ev = evidence(sessions=sessions, recordings=[recording(path="a.mp4", sha="x"), recording(path="copy/a.mp4", sha="x")])
    assert run_archive([ev], "RECORDING_REUSED") == []


def test_reused_from_the_video_stage_matches():
    reuse = pd.DataFrame([dict(class_id_a="C1", path_a="a.mp4", offset_a_s=60.0, class_id_b="C2", path_b="b.mp4",
                               offset_b_s=0.0, similarity=0.97, duration_s=600.0)])
    found = run_archive([_ev("C1", "a.mp4", "x"), _ev("C2", "b.mp4", "y", day=9)], "RECORDING_REUSED", reuse=reuse)
    assert len(found) == 2 and {f.measured for f in found} == {0.97}
    d = {f.class_id: json.loads(f.detail) for f in found}
    assert d["C1"]["offset_s"] == 60.0 and d["C2"]["other_offset_s"] == 60.0


def test_the_coverage_frame_wins_where_it_has_the_session():
    """The video stage's coverage cuts files at timestamp jumps: its minutes and gaps are used."""
    gaps = json.dumps([[at("09:00").isoformat(), at("09:20").isoformat()]])
    cov = dict(class_id="C1", session_id="S01", room="R1", scheduled_min=180.0, recorded_min=160.0, gap_min=20.0,
               blank_min=0.0, recordings=1, gaps=gaps)
    ev = evidence(sessions=[S], recordings=[recording()], coverage=[cov])
    found = run(ev, "RECORDING_GAP")
    assert len(found) == 1 and found[0].measured == pytest.approx(20.0)
    empty = dict(cov, recorded_min=0.0, gaps=json.dumps([[at("08:30").isoformat(), at("11:30").isoformat()]]))
    assert len(run(evidence(sessions=[S], recordings=[recording()], coverage=[empty]), "RECORDING_MISSING")) == 1


def test_files_the_run_did_not_decode_are_not_corrupt():
    ev = evidence(sessions=[S], recordings=[recording(readable=False, error="not analysed")])
    assert run(ev, "RECORDING_CORRUPT") == []


def test_reuse_matches_named_by_disk_path_are_reported_by_recording_id():
    """The matcher names files by where they are on disk; crossclass.reuse_frame names them by class and
    recording_id before the rules see them, so a finding (and its id) never holds a machine's path. A
    match with a file that is no listed recording cannot be attributed and is left out."""
    from pathlib import Path

    from pipeline.crossclass import reuse_frame
    from pipeline.model import Recording
    from pipeline.video.reuse import ReuseMatch

    def cls(cid, rel):
        ev = _ev(cid, rel, None, day=8 if cid == "C1" else 9)
        rec = Recording(cid, Path(f"/archive/{cid}/{rel}"), rel, "R1-A", "R1", "classroom", None, None, "filename", 1)
        return dataclasses.replace(ev, archive=dataclasses.replace(ev.archive, recordings=(rec,)))
    classes = [cls("C1", "a.mp4"), cls("C2", "b.mp4")]
    ids = {str(r.path): (ev.archive.info.class_id, r.recording_id) for ev in classes for r in ev.archive.recordings}
    matches = [ReuseMatch(Path("/archive/C1/a.mp4"), Path("/archive/C2/b.mp4"), 5.0, 0.0, 600.0, 0.9, 8, "motion"),
               ReuseMatch(Path("/archive/C1/a.mp4"), Path("/elsewhere/c.mp4"), 5.0, 0.0, 600.0, 0.9, 8, "motion")]
    reuse = reuse_frame(matches, ids)
    assert reuse[["class_a", "path_a", "class_b", "path_b"]].values.tolist() == [["C1", "a.mp4", "C2", "b.mp4"]]
    found = run_archive(classes, "RECORDING_REUSED", reuse=reuse)
    assert sorted((f.class_id, f.path, f.session_id) for f in found) == [("C1", "a.mp4", "S01"), ("C2", "b.mp4", "S01")]


def _match(path_a, off_a, path_b, off_b):
    return pd.DataFrame([dict(class_id_a="C1", path_a=path_a, offset_a_s=off_a, class_id_b="C1", path_b=path_b,
                              offset_b_s=off_b, similarity=0.9, duration_s=600.0, method="motion_signature")])


@pytest.mark.parametrize("start_b, off_a, off_b, fires", [
    ("08:20", 0.0, 0.0, False),       # a backup copy / second export: the same moment in both files
    ("08:25", 400.0, 100.0, False),   # an overlapping segment: 08:26:40 in both
    ("08:20", 120.0, 0.0, False),     # matched 120 s apart: at the same-moment tolerance
    ("08:20", 121.0, 0.0, True),      # just past it
    ("10:20", 15.0, 0.0, True),       # the same footage presented two hours later
    (None, 0.0, 0.0, False),          # one file's time unknown: a duplicate cannot be told from reuse
])
def test_reuse_within_a_class_is_footage_at_another_time(start_b, off_a, off_b, fires):
    ev = evidence(sessions=[S], recordings=[recording(path="a.mp4"), recording(path="backup/b.mp4", start=start_b)])
    found = run_archive([ev], "RECORDING_REUSED", reuse=_match("a.mp4", off_a, "backup/b.mp4", off_b))
    assert len(found) == int(fires)


# --- what an inspector needs to judge a match; the same moment in two classes is a merged class ------------

def _video_match(off_a=60.0, off_b=0.0, cb="C2"):
    return pd.DataFrame([dict(class_id_a="C1", path_a="a.mp4", offset_a_s=off_a, class_id_b=cb, path_b="b.mp4",
                              offset_b_s=off_b, similarity=0.84, duration_s=420.0, method="motion_signature",
                              matching_samples=31, margin=0.58, min_margin=0.3)])


def test_reused_detail_has_the_margin_and_the_time_shift():
    """The footage at 08:21 in C1's a.mp4 is shown at 08:20 the next day in C2's b.mp4: 86340 s later."""
    found = run_archive([_ev("C1", "a.mp4", "x"), _ev("C2", "b.mp4", "y", day=9)], "RECORDING_REUSED",
                        reuse=_video_match())
    d = {f.class_id: json.loads(f.detail) for f in found}
    assert d["C1"]["margin"] == 0.58 and d["C1"]["min_margin"] == 0.3 and d["C1"]["matching_samples"] == 31
    assert d["C1"]["time_shift_s"] == 86340.0 and d["C2"]["time_shift_s"] == -86340.0
    assert d["C1"]["footage_time"].startswith("2024-10-08T08:21:00") and d["C1"]["duration_s"] == 420.0


@pytest.mark.parametrize("reuse, sha_b", [(None, "x"), (_video_match(off_a=0.0), "y")])
def test_one_cameras_footage_filed_for_two_rooms_is_reuse(reuse, sha_b):
    """C1 and C2 are scheduled in different rooms at the same time, yet their files hold one camera's footage
    of the same moment (a byte-identical file, or footage the video stage matched at the same wall-clock time).
    The same footage appears for two classes: RECORDING_REUSED in each (RULES.md), with `same_moment` in the
    detail; the schedule keeps the rooms apart, so it is no CLASS_MERGED."""
    evs = [evidence(cls=info("C1"), sessions=[session("A", class_id="C1", room="R1")],
                    recordings=[recording(path="a.mp4", sha="x", class_id="C1")]),
           evidence(cls=info("C2"), sessions=[session("B", class_id="C2", room="R2")],
                    recordings=[recording(path="b.mp4", sha=sha_b, class_id="C2", room="R2", camera="R2-A")])]
    assert run_archive(evs, "CLASS_MERGED", reuse=reuse) == []
    found = run_archive(evs, "RECORDING_REUSED", reuse=reuse)
    assert sorted((f.class_id, f.session_id, f.path) for f in found) == [("C1", "A", "a.mp4"), ("C2", "B", "b.mp4")]
    d = {f.class_id: json.loads(f.detail) for f in found}
    assert d["C1"]["same_moment"] is True and d["C1"]["other_class_id"] == "C2" and d["C1"]["time_shift_s"] == 0.0


def test_a_copy_into_a_class_with_no_session_then_is_reuse():
    """C2 files C1's recording of 08:00 on the 8th unchanged, but C2 has no session then (its own session is on
    the 9th): the same footage for two classes, reported as reuse although both files show one moment."""
    evs = [_ev("C1", "a.mp4", "x"),
           evidence(cls=info("C2"), sessions=[session("B", class_id="C2", day=9)],
                    recordings=[recording(path="b.mp4", sha="x", class_id="C2")])]
    found = run_archive(evs, "RECORDING_REUSED")
    assert sorted(f.class_id for f in found) == ["C1", "C2"]
    assert all(json.loads(f.detail)["same_moment"] for f in found)


def test_merged_footage_adds_nothing_where_the_schedule_already_shows_it():
    evs = [_ev("C1", "a.mp4", "x"), _ev("C2", "b.mp4", "x")]  # same room, same time, the same file
    found = run_archive(evs, "CLASS_MERGED")
    assert sorted(f.class_id for f in found) == ["C1", "C2"] and all("时间重叠" in f.message for f in found)
    assert run_archive(evs, "RECORDING_REUSED") == []


def test_one_institutions_footage_in_anothers_class_stays_reuse():
    evs = [_ev("C1", "a.mp4", "x"),
           evidence(cls=info("C2", institution_id="I2"), sessions=[session(class_id="C2")],
                    recordings=[recording(path="b.mp4", sha="x", class_id="C2")])]
    assert len(run_archive(evs, "RECORDING_REUSED")) == 2 and run_archive(evs, "CLASS_MERGED") == []
