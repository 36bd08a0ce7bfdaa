"""SESSION_TOO_SHORT, TEACHER_MISMATCH, TEACHER_CONFLICT, CLASS_MERGED."""

import json

import pytest

from rules_factories import (
    NATIONAL, SHANDONG, evidence, headcount, info, pack, presence, recording, run, run_archive, session, sighting,
    teacher,
)


@pytest.mark.parametrize("end, hours, fires", [
    ("11:30", 4.0, False),   # 180 min = 4 x 45 exactly
    ("11:29", 4.0, True),
    ("09:00", None, False),  # no 学时 stated: nothing to compare
])
def test_session_too_short(end, hours, fires):
    found = run(evidence(sessions=[session(end=end, hours=hours)]), "SESSION_TOO_SHORT")
    assert len(found) == int(fires)
    if fires:
        assert (found[0].measured, found[0].threshold) == (179.0, 180.0)


def test_session_too_short_offline_only_no_data_and_pack():
    assert run(evidence(sessions=[session(end="09:00", mode="online")]), "SESSION_TOO_SHORT") == []
    assert run(evidence(), "SESSION_TOO_SHORT") == []
    ev = evidence(sessions=[session(end="11:00", hours=4.0)])   # 150 min
    assert len(run(ev, "SESSION_TOO_SHORT", SHANDONG)) == 1
    assert run(ev, "SESSION_TOO_SHORT", pack(offline_min_per_hour=37.5)) == []


# --- TEACHER_MISMATCH ---------------------------------------------------------------------------------

def _taught(minutes_other, minutes_scheduled=0, photos=True):
    rows = [presence("T2", kind="teacher", start="08:30", end=f"08:{30 + minutes_other:02d}")] if minutes_other else []
    if minutes_scheduled:
        rows.append(presence("T1", kind="teacher", start="09:30", end=f"09:{30 + minutes_scheduled:02d}"))
    return evidence(sessions=[session(teacher_id="T1")], teachers=[teacher("T1", () if not photos else ("t1.jpg",)),
                                                                   teacher("T2")],
                    recordings=[recording()], presence_rows=rows, headcounts=[headcount()],
                    sightings=[sighting("T2", kind="teacher")])


@pytest.mark.parametrize("other, scheduled, fires", [(10, 0, True), (9, 0, False), (20, 25, False), (25, 20, True)])
def test_teacher_mismatch(other, scheduled, fires):
    found = run(_taught(other, scheduled), "TEACHER_MISMATCH")
    assert len(found) == int(fires)
    if fires:
        d = json.loads(found[0].detail)
        assert (d["scheduled_teacher"], d["seen_teacher"], found[0].session_id) == ("T1", "T2", "S01")


def test_teacher_mismatch_needs_photos_of_the_scheduled_teacher_and_data():
    assert run(_taught(30, photos=False), "TEACHER_MISMATCH") == []
    assert run(evidence(sessions=[session()]), "TEACHER_MISMATCH") == []


def test_teacher_mismatch_pack_override():
    assert len(run(_taught(9), "TEACHER_MISMATCH", pack(teacher_mismatch_min_minutes=5))) == 1
    assert len(run(_taught(9), "TEACHER_MISMATCH", SHANDONG)) == 0


@pytest.mark.parametrize("seen_min, fires", [(4, True), (3, False)])
def test_teacher_mismatch_short_session_half_of_recorded_time(seen_min, fires):
    ev = evidence(sessions=[session(start="08:30", end="08:38")], teachers=[teacher("T1"), teacher("T2")],
                  recordings=[recording()], headcounts=[headcount()],
                  presence_rows=[presence("T2", kind="teacher", start="08:30", end=f"08:{30 + seen_min}")])
    assert len(run(ev, "TEACHER_MISMATCH")) == int(fires)


# --- TEACHER_CONFLICT and CLASS_MERGED (archive) ------------------------------------------------------

def _two(a_kw, b_kw, same_class=False):
    if same_class:
        return [evidence(sessions=[session("A", **a_kw), session("B", **b_kw)])]
    return [evidence(cls=info("C1"), sessions=[session("A", class_id="C1", **a_kw)]),
            evidence(cls=info("C2"), sessions=[session("B", class_id="C2", **b_kw)])]


@pytest.mark.parametrize("a, b, fires", [
    (dict(teacher_id="T9", room="R1"), dict(teacher_id="T9", room="R2", start="11:29", end="12:30"), True),
    (dict(teacher_id="T9", room="R1"), dict(teacher_id="T9", room="R2", start="11:30", end="12:30"), False),  # touching
    (dict(teacher_id="T9"), dict(teacher_id="T8"), False),
])
def test_teacher_conflict_across_classes(a, b, fires):
    found = run_archive(_two(a, b), "TEACHER_CONFLICT")
    assert sorted(f.class_id for f in found) == (["C1", "C2"] if fires else [])
    if fires:
        by = {f.class_id: json.loads(f.detail) for f in found}
        assert by["C1"]["other_session"] == "B" and by["C2"]["other_session"] == "A"
        assert {f.measured for f in found} == {1.0}


def test_teacher_conflict_within_a_class_only_across_rooms():
    assert len(run_archive(_two(dict(room="R1"), dict(room="R2"), same_class=True), "TEACHER_CONFLICT")) == 1
    assert run_archive(_two(dict(room="R1"), dict(room="R1"), same_class=True), "TEACHER_CONFLICT") == []
    assert run_archive([], "TEACHER_CONFLICT") == []


def test_conflicts_only_within_one_institution():
    evs = [evidence(cls=info("C1"), sessions=[session("A", class_id="C1")]),
           evidence(cls=info("C2", institution_id="I2"), sessions=[session("B", class_id="C2")])]
    assert run_archive(evs, "TEACHER_CONFLICT") == [] and run_archive(evs, "CLASS_MERGED") == []


@pytest.mark.parametrize("b, fires", [
    (dict(room="R1", teacher_id="T2"), True),
    (dict(room="R1", teacher_id="T2", start="11:30", end="12:00"), False),
    (dict(room="R2"), False),
    (dict(room="R1", mode="online"), False),
])
def test_class_merged(b, fires):
    found = run_archive(_two(dict(room="R1"), b), "CLASS_MERGED")
    assert sorted(f.class_id for f in found) == (["C1", "C2"] if fires else [])


def test_class_merged_not_within_one_class_and_pack_severity():
    assert run_archive(_two(dict(room="R1"), dict(room="R1"), same_class=True), "CLASS_MERGED") == []
    evs = _two(dict(room="R1"), dict(room="R1"))
    packs = {"C1": NATIONAL, "C2": pack(severity={**NATIONAL.severity, "CLASS_MERGED": "low"})}
    found = run_archive(evs, "CLASS_MERGED", packs=packs)
    assert {f.class_id: f.severity for f in found} == {"C1": "high", "C2": "low"}
