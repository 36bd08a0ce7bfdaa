"""HOURS_SHORTFALL, HOURS_OVERCLAIMED, HOURS_DAILY_LIMIT, EXAM_INELIGIBLE."""

import datetime as dt
import json

import pytest

from rules_factories import (
    NATIONAL, SHANDONG, at, evidence, headcount, info, online, pack, presence, recording, run, session, trainee,
)

# A class that must reach theory 4 + practical 4 学时 (class.yaml override), one session of each.
NEED = dict(required_theory_hours=4.0, required_practical_hours=4.0)
T = session("T", "08:30", "11:30", hours=4.0)
P = session("P", "13:30", "16:30", kind="practical", hours=4.0)


def _class(t_hours=4.0, p_hours=4.0, kind="initial", cls_kind="initial", **kw):
    sessions = [session("T", "08:30", "11:30", hours=t_hours), session("P", "13:30", "16:30", kind="practical", hours=p_hours)]
    return evidence(cls=info(training_kind=cls_kind, **{**NEED, **kw.pop("need", {})}), trainees=[trainee(kind=kind)],
                    sessions=sessions, **kw)


# --- HOURS_SHORTFALL ---------------------------------------------------------------------------------

@pytest.mark.parametrize("t_hours, p_hours, parts", [
    (4.0, 4.0, []),                    # exactly the requirement, nothing recorded: credited hours stand
    (3.9, 4.0, ["theory"]),
    (4.0, 3.5, ["practical"]),
    (3.0, 3.0, ["practical", "theory"]),   # checked separately: two findings
])
def test_shortfall_by_part(t_hours, p_hours, parts):
    found = run(_class(t_hours, p_hours), "HOURS_SHORTFALL")
    assert sorted(json.loads(f.detail)["part"] for f in found) == parts
    assert len({f.finding_id for f in found}) == len(found)


def test_shortfall_uses_observed_hours_on_recorded_time():
    # Theory fully recorded, trainee seen 135 of 180 min = 3 学时 < 4.
    ev = _class(recordings=[recording(start="08:20", end="11:40")], headcounts=[headcount()],
                presence_rows=[presence(start="08:30", end="10:45", sid="T")])
    found = run(ev, "HOURS_SHORTFALL")
    assert [(json.loads(f.detail)["part"], f.measured) for f in found] == [("theory", pytest.approx(3.0))]
    # Half the session recorded and seen throughout it: the unrecorded half keeps its credit (RECORDING_GAP).
    ev = _class(recordings=[recording(start="08:30", end="10:00")], headcounts=[headcount()],
                presence_rows=[presence(start="08:30", end="10:00", sid="T")])
    assert run(ev, "HOURS_SHORTFALL") == []


def test_shortfall_refresher_judged_on_total_and_syllabus_default():
    ev = _class(2.0, 2.0, kind="refresher", cls_kind="refresher", need=dict(required_theory_hours=None,
                                                                           required_practical_hours=None))
    found = run(ev, "HOURS_SHORTFALL")
    assert [(json.loads(f.detail)["part"], f.measured, f.threshold) for f in found] == [("total", 4.0, 8.0)]
    # A refresher trainee inside an initial class: the refresher requirement (8 in total).
    assert [json.loads(f.detail)["part"] for f in run(_class(4.0, 4.0, kind="refresher"), "HOURS_SHORTFALL")] == []
    # Syllabus of the job type when class.yaml has no override: 低压电工作业 88 + 60.
    ev = evidence(trainees=[trainee()], sessions=[T, P])
    assert sorted(f.threshold for f in run(ev, "HOURS_SHORTFALL")) == [60.0, 88.0]


def test_shortfall_no_data_and_unknown_job_type():
    assert run(evidence(), "HOURS_SHORTFALL") == []
    ev = evidence(cls=info(job_type="未知工种"), trainees=[trainee()], sessions=[T])
    assert run(ev, "HOURS_SHORTFALL") == []


def test_shortfall_online_counts_only_with_passed_face_checks():
    on = session("ON", "19:00", "21:00", mode="online", room=None, hours=2.0)
    base = dict(cls=info(**NEED), trainees=[trainee()], sessions=[session("T", hours=2.0), on, P])
    ok = evidence(online_records=[online(course="ON", hours=2.0, minutes=90)], **base)
    assert run(ok, "HOURS_SHORTFALL") == []
    failed = evidence(online_records=[online(course="ON", hours=2.0, minutes=90, passed=1)], **base)
    assert [f.measured for f in run(failed, "HOURS_SHORTFALL")] == [2.0]
    # Shandong: 90 min at 45 min per 学时 supports 2 学时; 60 minutes only 1.33.
    short = evidence(online_records=[online(course="ON", hours=2.0, minutes=60)], **base)
    assert run(short, "HOURS_SHORTFALL", NATIONAL) == []
    assert len(run(short, "HOURS_SHORTFALL", SHANDONG)) == 1


def test_shortfall_pack_override_refresher_hours():
    ev = _class(2.0, 2.0, kind="refresher", cls_kind="refresher", need=dict(required_theory_hours=None,
                                                                           required_practical_hours=None))
    assert run(ev, "HOURS_SHORTFALL", pack(refresher_required_hours=4.0)) == []


# --- HOURS_OVERCLAIMED: observed < min_presence_ratio x credited on recorded time --------------------

def _seen(end):
    return _class(recordings=[recording(start="08:20", end="16:40")], headcounts=[headcount()],
                  presence_rows=[presence(start="08:30", end=end, sid="T"),
                                 presence(start="13:30", end="16:30", sid="P")])


@pytest.mark.parametrize("end, fires", [
    ("11:30", False),   # seen throughout
    ("09:42", False),   # theory 72 min = 1.6 学时; 1.6 + 4 = 5.6 of 8 = exactly 0.7
    ("09:41", True),
])
def test_overclaimed_with_pack_ratio(end, fires):
    found = run(_seen(end), "HOURS_OVERCLAIMED", pack(min_presence_ratio=0.7))
    assert len(found) == int(fires)


@pytest.mark.parametrize("seen_t_min, fires", [(108, False), (107, True)])   # 8 x 0.8 = 6.4 学时; 4 + 2.4 = 108 min
def test_overclaimed_threshold(seen_t_min, fires):
    end = f"{8 + (30 + seen_t_min) // 60:02d}:{(30 + seen_t_min) % 60:02d}"
    found = run(_seen(end), "HOURS_OVERCLAIMED")
    assert len(found) == int(fires)
    if fires:
        assert found[0].threshold == pytest.approx(6.4) and found[0].measured < 6.4


def test_overclaimed_no_video_no_finding():
    assert run(_class(), "HOURS_OVERCLAIMED") == []
    assert run(evidence(), "HOURS_OVERCLAIMED") == []


def test_overclaimed_pack_override():
    assert len(run(_seen("09:30"), "HOURS_OVERCLAIMED")) == 1
    assert run(_seen("09:30"), "HOURS_OVERCLAIMED", pack(min_presence_ratio=0.6)) == []


# --- HOURS_DAILY_LIMIT: Shandong 8 practical 学时 a day; none nationally -----------------------------

def _day(practical_hours, theory_hours=4.0):
    sessions = [session("P1", "08:00", "12:00", kind="practical", hours=practical_hours / 2),
                session("P2", "13:00", "17:00", kind="practical", hours=practical_hours / 2),
                session("T1", "18:00", "21:00", hours=theory_hours)]
    return evidence(trainees=[trainee()], sessions=sessions)


@pytest.mark.parametrize("practical, fires", [(8.0, False), (8.5, True)])
def test_daily_limit_shandong(practical, fires):
    found = run(_day(practical), "HOURS_DAILY_LIMIT", SHANDONG)
    assert len(found) == int(fires)
    if fires:
        assert (found[0].trainee_id, str(found[0].date), found[0].measured, found[0].threshold) == (
            "S1", "2024-10-08", 8.5, 8.0)


def test_daily_limit_none_nationally_and_no_data():
    assert run(_day(12.0), "HOURS_DAILY_LIMIT", NATIONAL) == []
    assert run(evidence(), "HOURS_DAILY_LIMIT", SHANDONG) == []


def test_daily_limit_total_per_pack():
    assert run(_day(6.0, 4.0), "HOURS_DAILY_LIMIT", SHANDONG) == []
    assert len(run(_day(6.0, 4.0), "HOURS_DAILY_LIMIT", pack(SHANDONG, daily_limit_applies_to="total"))) == 1


# --- EXAM_INELIGIBLE -----------------------------------------------------------------------------------

def _exam(registration):
    sessions = [session("T", "08:30", "11:30", hours=4.0), session("P", "08:30", "11:30", day=9, kind="practical", hours=4.0)]
    return evidence(cls=info(exam_registration=registration, **NEED), trainees=[trainee()], sessions=sessions)


@pytest.mark.parametrize("registration, parts", [
    (None, []),
    (at("11:30", day=9), []),              # registered exactly when the last session ended
    (at("11:29", day=9), ["practical"]),   # one minute early: practical not yet complete
    (at("08:00", day=8), ["practical", "theory"]),
])
def test_exam_ineligible(registration, parts):
    found = run(_exam(registration), "EXAM_INELIGIBLE")
    assert sorted(json.loads(f.detail)["part"] for f in found) == parts


def test_exam_ineligible_on_observed_hours_and_pack_override():
    ev = evidence(cls=info(exam_registration=at("18:00"), required_theory_hours=4.0, required_practical_hours=0.0),
                  trainees=[trainee()], sessions=[T], recordings=[recording()], headcounts=[headcount()],
                  presence_rows=[presence(start="08:30", end="10:00", sid="T")])
    assert [f.measured for f in run(ev, "EXAM_INELIGIBLE")] == [2.0]
    assert run(ev, "EXAM_INELIGIBLE", pack(offline_min_per_hour=20)) == []
    assert run(evidence(), "EXAM_INELIGIBLE") == []
