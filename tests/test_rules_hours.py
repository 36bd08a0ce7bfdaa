"""HOURS_SHORTFALL, HOURS_OVERCLAIMED, HOURS_DAILY_LIMIT, EXAM_INELIGIBLE."""

import json

import pytest

from rules_factories import (
    NATIONAL, SHANDONG, at, checkin, evidence, headcount, info, online, pack, presence, recording, run, session,
    trainee,
)

# A class that must reach theory 4 + practical 4 学时 (class.yaml override), one session of each.
NEED = dict(required_theory_hours=4.0, required_practical_hours=4.0)
T = session("T", "08:30", "11:30", hours=4.0)
P = session("P", "13:30", "16:30", kind="practical", hours=4.0)


def _class(t_seen=180, p_seen=180, t_hours=4.0, p_hours=4.0, kind="initial", cls_kind="initial", checked_in=True,
           month=10, video=True, analysed=True, exam_registration=None, **kw):
    """Theory 08:30-11:30 and practical 13:30-16:30 (4 学时 each), both recorded; the trainee is seen for
    `t_seen` / `p_seen` minutes from the start of each."""
    sessions = [session("T", "08:30", "11:30", hours=t_hours, month=month),
                session("P", "13:30", "16:30", kind="practical", hours=p_hours, month=month)]
    pres = [presence(start="08:30", end=f"08:{30 + t_seen}", sid="T", month=month),
            presence(start="13:30", end=f"13:{30 + p_seen}", sid="P", month=month)] if analysed else []
    cls = info(training_kind=cls_kind, exam_registration=exam_registration, **{**NEED, **kw.pop("need", {})})
    return evidence(cls=cls, trainees=[trainee(kind=kind)],
                    sessions=sessions, recordings=[recording(start="08:20", end="16:40", month=month)] if video else [],
                    headcounts=kw.pop("headcounts", [headcount(month=month)]) if analysed else [], presence_rows=pres,
                    checkins=[checkin(ts=at("08:25", month=month)), checkin(ts=at("13:25", month=month), row=3)]
                    if checked_in else [], **kw)


# --- HOURS_SHORTFALL ---------------------------------------------------------------------------------

@pytest.mark.parametrize("t_seen, p_seen, parts", [
    (180, 180, []),
    (135, 180, ["theory"]),                 # 135 min = 3 学时 of 4
    (180, 179, ["practical"]),              # 3.98 学时
    (90, 90, ["practical", "theory"]),      # checked separately: two findings
])
def test_shortfall_by_part(t_seen, p_seen, parts):
    found = run(_class(t_seen, p_seen), "HOURS_SHORTFALL")
    assert sorted(json.loads(f.detail)["part"] for f in found) == parts
    assert len({f.finding_id for f in found}) == len(found)


def test_shortfall_threshold_exactly():
    ev = _class(180, 180, need=dict(required_theory_hours=3.0))
    assert run(ev, "HOURS_SHORTFALL") == []                       # 4 observed, 3 required
    ev = _class(135, 180, need=dict(required_theory_hours=3.0))   # 3.0 observed: exactly
    assert run(ev, "HOURS_SHORTFALL") == []
    ev = _class(134, 180, need=dict(required_theory_hours=3.0))
    assert [f.measured for f in run(ev, "HOURS_SHORTFALL")] == [pytest.approx(134 / 45)]


def test_shortfall_without_recording_depends_on_whether_recording_was_mandatory():
    # From 2024-07-01 an unrecorded session supports no 学时 (RECORDING_MISSING says why) ...
    assert len(run(_class(video=False), "HOURS_SHORTFALL")) == 2
    # ... before it, recording was not required: the credited 学时 stand.
    assert run(_class(video=False, month=5), "HOURS_SHORTFALL") == []
    # Recorded but not analysed by the face stage: unknown is not zero.
    assert run(_class(analysed=False), "HOURS_SHORTFALL") == []


def test_shortfall_refresher_judged_on_total_and_syllabus_default():
    ev = _class(90, 90, kind="refresher", cls_kind="refresher", need=dict(required_theory_hours=None,
                                                                         required_practical_hours=None))
    found = run(ev, "HOURS_SHORTFALL")
    assert [(json.loads(f.detail)["part"], f.measured, f.threshold) for f in found] == [("total", 4.0, 8.0)]
    # A refresher trainee inside an initial class: the refresher requirement (8 in total).
    assert run(_class(kind="refresher"), "HOURS_SHORTFALL") == []
    # Syllabus of the job type when class.yaml has no override: 低压电工作业 88 + 60.
    ev = _class(need=dict(required_theory_hours=None, required_practical_hours=None))
    assert sorted(f.threshold for f in run(ev, "HOURS_SHORTFALL")) == [60.0, 88.0]


def test_shortfall_no_data_and_unknown_job_type():
    assert run(evidence(), "HOURS_SHORTFALL") == []
    ev = evidence(cls=info(job_type="未知工种"), trainees=[trainee()], sessions=[T])
    assert run(ev, "HOURS_SHORTFALL") == []


def test_shortfall_online_counts_only_with_passed_face_checks():
    on = session("ON", "19:00", "21:00", mode="online", room=None, hours=2.0)
    base = dict(cls=info(required_theory_hours=2.0, required_practical_hours=0.0), trainees=[trainee()], sessions=[on])
    ok = evidence(online_records=[online(course="ON", hours=2.0, minutes=90)], **base)
    assert run(ok, "HOURS_SHORTFALL") == []
    failed = evidence(online_records=[online(course="ON", hours=2.0, minutes=90, passed=1)], **base)
    assert [f.measured for f in run(failed, "HOURS_SHORTFALL")] == [0.0]
    # Shandong: 60 minutes at 45 min per 学时 support only 1.33 of the 2 学时 credited. That excess is
    # ONLINE_COURSE_SHORT; the credited 学时 still count as observed (RULES.md), so it is not a shortfall too.
    short = evidence(online_records=[online(course="ON", hours=2.0, minutes=60)], **base)
    assert run(short, "HOURS_SHORTFALL", NATIONAL) == run(short, "HOURS_SHORTFALL", SHANDONG) == []
    assert len(run(short, "ONLINE_COURSE_SHORT", SHANDONG)) == 1
    assert run(short, "ONLINE_COURSE_SHORT", NATIONAL) == []


def test_shortfall_pack_override_refresher_hours():
    ev = _class(90, 90, kind="refresher", cls_kind="refresher", need=dict(required_theory_hours=None,
                                                                         required_practical_hours=None))
    assert run(ev, "HOURS_SHORTFALL", pack(refresher_required_hours=4.0)) == []
    assert len(run(ev, "HOURS_SHORTFALL", SHANDONG)) == 1


# --- HOURS_OVERCLAIMED: claimed - seen > overclaim_tolerance_hours (0.4) -------------------------------

@pytest.mark.parametrize("t_seen, fires", [
    (180, False),
    (162, False),   # 3.6 学时 seen of 4 claimed: exactly 0.4 over
    (161, True),
    (0, True),
])
def test_overclaimed_threshold(t_seen, fires):
    found = run(_class(t_seen), "HOURS_OVERCLAIMED")
    assert len(found) == int(fires)
    if fires:
        assert found[0].threshold == 0.4 and found[0].measured == pytest.approx(4 - t_seen / 45)
        assert json.loads(found[0].detail)["short_sessions"] == ["T"]


def test_overclaimed_only_for_claimed_sessions_and_recorded_time():
    assert run(_class(0, 0, checked_in=False), "HOURS_OVERCLAIMED") == []   # not claimed: ATTENDANCE_ABSENT's case
    assert run(_class(video=False), "HOURS_OVERCLAIMED") == []
    assert run(evidence(), "HOURS_OVERCLAIMED") == []


def test_overclaimed_online_without_passed_face_checks():
    ev = evidence(trainees=[trainee()], online_records=[online(hours=1.0, minutes=45, checks=2, passed=0)])
    assert [f.measured for f in run(ev, "HOURS_OVERCLAIMED")] == [1.0]


def test_overclaimed_pack_override():
    assert len(run(_class(150), "HOURS_OVERCLAIMED")) == 1
    assert run(_class(150), "HOURS_OVERCLAIMED", pack(overclaim_tolerance_hours=1.0)) == []


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

@pytest.mark.parametrize("registration, parts", [
    (None, []),
    (at("16:30"), []),                  # registered exactly when the last session ended
    (at("16:29"), ["practical"]),       # one minute early: practical not yet complete
    (at("08:00"), ["practical", "theory"]),
])
def test_exam_ineligible(registration, parts):
    found = run(_class(exam_registration=registration), "EXAM_INELIGIBLE")
    assert len(found) == int(bool(parts))  # one registration, one finding, each part short listed
    assert sorted(p["part"] for f in found for p in json.loads(f.detail)["parts"]) == parts
    if len(parts) == 2:
        assert found[0].trainee_id == "S1" and "理论" in found[0].message and "实操" in found[0].message


def test_exam_ineligible_on_observed_hours_and_pack_override():
    ev = _class(90, 180, exam_registration=at("18:00"))
    assert [f.measured for f in run(ev, "EXAM_INELIGIBLE")] == [2.0]
    assert run(ev, "EXAM_INELIGIBLE", pack(offline_min_per_hour=20)) == []
    assert run(evidence(), "EXAM_INELIGIBLE") == []


# --- faces that could not be judged ----------------------------------------------------------------------

@pytest.mark.parametrize("unjudged_samples, expect_finding", [(6, False), (1, True)])
def test_shortfall_resting_on_faces_nobody_could_judge_is_not_a_finding(unjudged_samples, expect_finding):
    """Seen for 90 of the theory session's 180 minutes (2 学时 of 4). In 6 of its 12 samples a face in the room
    could not be judged (too small, turned away): counting those for the trainee would give 4 学时, so the
    shortfall could not be judged (a warning naming the trainee, no finding). With 1 unjudged sample of 12 the
    trainee is short whatever that face was: the finding stands."""
    from rules_factories import evaluate_class

    counts = [headcount(ts=f"{8 + (30 + 15 * i) // 60:02d}:{(30 + 15 * i) % 60:02d}", sid="T", faces=3,
                        identified=2 if i < unjudged_samples else 3) for i in range(12)]
    ev = _class(90, 180, headcounts=counts)
    errors = []
    _, found = evaluate_class(ev, NATIONAL, "en", errors=errors,
                              only=lambda r: r in ("HOURS_SHORTFALL", "HOURS_OVERCLAIMED"))
    shortfalls = [f for f in found if f.rule_id == "HOURS_SHORTFALL"]
    if expect_finding:
        assert [json.loads(f.detail)["part"] for f in shortfalls] == ["theory"]
        assert not [e for e in errors if "HOURS_SHORTFALL" in e.message]
    else:
        assert shortfalls == []
        (p,) = [e for e in errors if "HOURS_SHORTFALL" in e.message]
        assert p.message.startswith("could not judge HOURS_SHORTFALL for trainee S1") and p.level == "warning"
    # checked in for 4 学时, 2 seen: overclaimed by 2 学时 unless the unjudged face may be the trainee
    over = [f for f in found if f.rule_id == "HOURS_OVERCLAIMED"]
    assert bool(over) == expect_finding


def test_exam_registration_resting_on_unjudged_faces_is_not_a_finding():
    from rules_factories import evaluate_class

    counts = [headcount(ts=f"{8 + (30 + 15 * i) // 60:02d}:{(30 + 15 * i) % 60:02d}", sid="T", faces=3,
                        identified=2) for i in range(12)]
    ev = _class(90, 180, headcounts=counts, exam_registration=at("18:00"))
    errors = []
    _, found = evaluate_class(ev, NATIONAL, "en", errors=errors, only=lambda r: r == "EXAM_INELIGIBLE")
    assert found == [] and [e for e in errors if e.message.startswith("could not judge EXAM_INELIGIBLE")]
    assert len(run(_class(90, 180, exam_registration=at("18:00")), "EXAM_INELIGIBLE")) == 1
