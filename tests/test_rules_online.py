"""ONLINE_SHARE, ONLINE_COURSE_SHORT, ONLINE_NO_FACE_CHECK, PRACTICAL_ONLINE."""

import json

import pytest

from rules_factories import NATIONAL, SHANDONG, evidence, info, online, pack, run, session, trainee

# Theory required: 10 学时 (class.yaml override). National limit 70% online, Shandong 40%.
CLS = info(required_theory_hours=10.0, required_practical_hours=0.0)


def _share(online_hours, linked=True):
    on = session("ON", "19:00", "23:00", mode="online", room=None, hours=online_hours)
    rec = online(course="ON" if linked else "X1", hours=online_hours, minutes=online_hours * 45)
    return evidence(cls=CLS, trainees=[trainee()], sessions=[on] if linked else [], online_records=[rec])


@pytest.mark.parametrize("pk, hours, fires", [
    (NATIONAL, 7.0, False), (NATIONAL, 7.5, True), (SHANDONG, 4.0, False), (SHANDONG, 4.5, True),
])
def test_online_share(pk, hours, fires):
    found = run(_share(hours), "ONLINE_SHARE", pk)
    assert len(found) == int(fires)
    if fires:
        assert found[0].trainee_id == "S1" and found[0].measured == pytest.approx(hours / 10)


def test_online_share_counts_courses_outside_the_schedule_and_no_data():
    assert len(run(_share(4.5, linked=False), "ONLINE_SHARE", SHANDONG)) == 1
    assert run(evidence(), "ONLINE_SHARE") == []
    assert run(evidence(cls=CLS, trainees=[trainee()], sessions=[session()]), "ONLINE_SHARE") == []


def test_online_share_refresher_against_total():
    ev = evidence(cls=info(training_kind="refresher"), trainees=[trainee(kind="refresher")],
                  online_records=[online(hours=4.0, minutes=180)])
    assert run(ev, "ONLINE_SHARE", SHANDONG)[0].threshold == 0.4   # 4 of 8 = 0.5 > 0.4
    assert run(ev, "ONLINE_SHARE", NATIONAL) == []


@pytest.mark.parametrize("pk, minutes, fires", [
    (NATIONAL, 30.0, False), (NATIONAL, 29.0, True),   # 30 min per 学时
    (SHANDONG, 45.0, False), (SHANDONG, 44.0, True),   # the notice: a course under 45 minutes
])
def test_online_course_short(pk, minutes, fires):
    ev = evidence(trainees=[trainee(), trainee("S2")],
                  online_records=[online(minutes=minutes), online("S2", minutes=minutes + 1)])
    found = run(ev, "ONLINE_COURSE_SHORT", pk)
    assert [f.trainee_id for f in found] == (["S1"] if fires else [])   # one per trainee and course
    if fires:
        d = json.loads(found[0].detail)
        assert (d["course_id"], d["reason"], found[0].measured, found[0].threshold) == (
            "OC1", "short", minutes, pk.online_min_per_hour)


def test_online_course_without_hours_and_no_data():
    ev = evidence(trainees=[trainee()], online_records=[online(hours=None, minutes=60), online(course="OC2")])
    found = run(ev, "ONLINE_COURSE_SHORT")
    assert len(found) == 1 and json.loads(found[0].detail)["reason"] == "no_hours"
    assert run(evidence(), "ONLINE_COURSE_SHORT") == []


def test_online_course_short_two_courses_two_findings():
    ev = evidence(trainees=[trainee()], online_records=[online(minutes=10), online(course="OC2", minutes=10)])
    found = run(ev, "ONLINE_COURSE_SHORT")
    assert len({f.finding_id for f in found}) == 2


@pytest.mark.parametrize("checks, passed, fires", [(2, 2, False), (3, 2, True), (0, 0, True), (None, None, True)])
def test_online_no_face_check(checks, passed, fires):
    ev = evidence(trainees=[trainee()], online_records=[online(checks=checks, passed=passed)])
    found = run(ev, "ONLINE_NO_FACE_CHECK")
    assert len(found) == int(fires)
    if fires:
        assert found[0].trainee_id == "S1" and json.loads(found[0].detail)["face_checks"] == checks


def test_online_no_face_check_ignores_uncredited_and_pack_severity():
    ev = evidence(trainees=[trainee()], online_records=[online(hours=0.0, checks=0, passed=0)])
    assert run(ev, "ONLINE_NO_FACE_CHECK") == []
    ev = evidence(trainees=[trainee()], online_records=[online(checks=0, passed=0)])
    assert run(ev, "ONLINE_NO_FACE_CHECK", pack(severity={"ONLINE_NO_FACE_CHECK": "high"}))[0].severity == "high"
    assert run(evidence(), "ONLINE_NO_FACE_CHECK") == []


@pytest.mark.parametrize("kind, mode, fires", [
    ("practical", "online", True), ("practical", "offline", False), ("theory", "online", False),
])
def test_practical_online(kind, mode, fires):
    ev = evidence(sessions=[session(kind=kind, mode=mode)])
    assert [f.session_id for f in run(ev, "PRACTICAL_ONLINE")] == (["S01"] if fires else [])


def test_practical_online_records_tied_to_a_practical_session_and_pack_override():
    ev = evidence(trainees=[trainee()], sessions=[session(kind="practical")],
                  online_records=[online(session_id="S01")])
    assert len(run(ev, "PRACTICAL_ONLINE")) == 1
    assert run(ev, "PRACTICAL_ONLINE", pack(practical_online_allowed=True)) == []
    assert run(evidence(), "PRACTICAL_ONLINE") == []
