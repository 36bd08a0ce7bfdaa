"""ATTENDANCE_PROXY, ATTENDANCE_ABSENT, ATTENDANCE_SPARSE_CHECKIN, ATTENDANCE_NON_FACE, UNKNOWN_PERSON:
empty, at the threshold, just past it, and the pack's number."""

import json

import pytest

from rules_factories import (
    SHANDONG, at, checkin, evidence, headcount, pack, presence, recording, run, session, sighting,
    trainee,
)

# One session 08:30-11:30 (180 min), fully recorded, analysed by the face stage.
S = session()
REC = recording()


def _class(seen_min=None, checked_in=True, **kw):
    """Trainee S1 seen `seen_min` minutes from 08:30 (None: not seen at all)."""
    rows = [] if seen_min is None else [presence(start="08:30", end=f"{8 + (30 + seen_min) // 60:02d}:{(30 + seen_min) % 60:02d}")]
    return evidence(trainees=[trainee()], sessions=[S], recordings=[REC], presence_rows=rows,
                    headcounts=[headcount()], checkins=[checkin()] if checked_in else [], **kw)


# --- ATTENDANCE_PROXY: checked in, seen at most proxy_max_seen_min (1.0 national) -----------------------

@pytest.mark.parametrize("seen, fires", [(None, True), (1, True), (2, False), (180, False)])
def test_proxy_threshold(seen, fires):
    found = run(_class(seen), "ATTENDANCE_PROXY")
    assert len(found) == int(fires)
    if fires:
        f = found[0]
        assert (f.trainee_id, f.session_id, f.threshold) == ("S1", "S01", 1.0)
        d = json.loads(f.detail)
        assert d["checkins"][0]["source_file"] == "checkins/export.csv" and d["checkins"][0]["source_row"] == 2
        assert d["searched"]


def _evaluate(ev):
    from rules_factories import NATIONAL, evaluate_class

    errors = []
    _, findings = evaluate_class(ev, NATIONAL, "en", errors=errors,
                                 only=lambda r: r in ("ATTENDANCE_PROXY", "UNKNOWN_PERSON"))
    return findings, errors


def test_proxy_says_how_many_faces_were_judged():
    ev = _class(None, sightings=[sighting("T1", kind="teacher"), sighting("S2", judged=False)])
    (f,) = run(ev, "ATTENDANCE_PROXY")
    judged = json.loads(f.detail)["judged"]
    # 10 faces counted in the sample, 2 of them recognisable (sightings), 1 of those passed the quality gate
    assert judged == {"samples": 1, "faces": 2, "judged_faces": 1, "unidentified_people": 0.0,
                      "unidentified_share": 0.0, "faces_counted": 10, "too_small_faces": 8,
                      "unidentified_judged_faces": 0, "person_samples": 0, "person_judged_samples": 0}


@pytest.mark.parametrize("rows, sights, why", [
    # 3 of the 10 faces in the room were neither named nor strangers, in every sample (too small: no sighting)
    ([headcount(faces=10, identified=7), headcount(ts="09:30", offset_s=4200.0, faces=10, identified=7)], [],
     "Of the 20 faces counted, 20 were too small to recognise, 0 failed the quality gate (blurred, turned away) "
     "and 0 passed it"),
    # faces were seen, but none passed the quality gate
    ([headcount(faces=2, identified=0, unknown=0)], [sighting(None, kind="unidentified", judged=False)] * 2,
     "Of the 2 faces counted, 0 were too small to recognise, 2 failed the quality gate"),
    # faces passed the gate, but lay too near an enrolled person to call strangers
    ([headcount(faces=2, identified=0, unknown=0)], [sighting(None, kind="unidentified", judged=True)] * 2,
     "0 failed the quality gate (blurred, turned away) and 2 passed it but were too near an enrolled person"),
])
def test_proxy_could_not_judge(rows, sights, why):
    """Checked in, never recognised, but faces in the room could not be judged: the trainee may be one of
    them. No accusation; a warning that says so, and why the faces could not be judged, for the inspector."""
    ev = evidence(trainees=[trainee()], sessions=[S], recordings=[REC], presence_rows=[], headcounts=rows,
                  checkins=[checkin()], sightings=sights)
    findings, problems = _evaluate(ev)
    assert findings == []
    (p,) = problems
    assert p.level == "warning" and p.column == "ATTENDANCE_PROXY"
    assert p.message.startswith("could not judge ATTENDANCE_PROXY for trainee S1") and "S01" in p.message
    assert why in p.message, p.message


def test_proxy_fires_when_a_few_frames_had_unjudged_faces():
    """One sample in four with an unjudgeable face (someone turning away) does not hold back the finding."""
    rows = [headcount(ts=f"09:{m:02d}", offset_s=2400.0 + 60 * m, faces=10, identified=10 if m else 9)
            for m in range(8)]
    ev = evidence(trainees=[trainee()], sessions=[S], recordings=[REC], presence_rows=[], headcounts=rows,
                  checkins=[checkin()])
    findings, problems = _evaluate(ev)
    assert [f.rule_id for f in findings] == ["ATTENDANCE_PROXY"] and problems == []


def test_proxy_needs_a_checkin_and_a_recording():
    assert run(_class(None, checked_in=False), "ATTENDANCE_PROXY") == []
    no_video = evidence(trainees=[trainee()], sessions=[S], checkins=[checkin()], headcounts=[headcount()])
    assert run(no_video, "ATTENDANCE_PROXY") == []
    assert run(evidence(), "ATTENDANCE_PROXY") == []


def test_proxy_pack_override():
    lenient = pack(proxy_max_seen_min=5.0)
    assert len(run(_class(3), "ATTENDANCE_PROXY", lenient)) == 1
    assert run(_class(3), "ATTENDANCE_PROXY") == []


def test_checked_in_never_seen_is_proxy_only_not_absent():
    ev = _class(None)
    assert len(run(ev, "ATTENDANCE_PROXY")) == 1
    assert run(ev, "ATTENDANCE_ABSENT") == []


# --- ATTENDANCE_ABSENT: seen < min_presence_ratio (0.8) of recorded minutes ------------------------------

@pytest.mark.parametrize("seen, checked_in, fires", [
    (144, True, False),    # exactly 0.8 x 180
    (143, True, True),     # just below
    (None, False, True),   # never seen, not checked in: absent (not proxy)
    (180, False, False),
])
def test_absent_threshold(seen, checked_in, fires):
    found = run(_class(seen, checked_in), "ATTENDANCE_ABSENT")
    assert len(found) == int(fires)
    if fires:
        assert found[0].threshold == pytest.approx(144.0)
        assert found[0].measured == pytest.approx(seen or 0)


def test_absent_ratio_is_against_recorded_minutes_only():
    # Only 09:30-11:30 recorded (120 min); seen 100 of them: 0.83 >= 0.8, no finding.
    ev = evidence(trainees=[trainee()], sessions=[S], recordings=[recording(start="09:30", end="11:40")],
                  presence_rows=[presence(start="09:30", end="11:10")], headcounts=[headcount()])
    assert run(ev, "ATTENDANCE_ABSENT") == []


def test_absent_pack_override():
    strict = pack(min_presence_ratio=0.9)
    assert len(run(_class(150), "ATTENDANCE_ABSENT", strict)) == 1
    assert run(_class(150), "ATTENDANCE_ABSENT") == []
    assert run(evidence(), "ATTENDANCE_ABSENT") == []


@pytest.mark.parametrize("recorded_end, fires", [
    ("09:05", True),    # exactly 5 recorded minutes: judged
    ("09:04", False),   # 4 minutes: too few samples for a ratio
])
def test_absent_needs_enough_recorded_minutes(recorded_end, fires):
    ev = evidence(trainees=[trainee()], sessions=[S], recordings=[recording(start="09:00", end=recorded_end)],
                  presence_rows=[presence(start="09:00", end="09:02")], headcounts=[headcount()])
    assert len(run(ev, "ATTENDANCE_ABSENT")) == int(fires)
    assert len(run(ev, "ATTENDANCE_ABSENT", pack(presence_min_recorded_min=1))) == 1


def _evaluate_absent(ev):
    from rules_factories import NATIONAL, evaluate_class

    errors = []
    _, findings = evaluate_class(ev, NATIONAL, "en", errors=errors, only=lambda r: r == "ATTENDANCE_ABSENT")
    return findings, errors


def _samples(unjudged_at: set[int], n: int = 12) -> list[dict]:
    """n samples 15 min apart over the session; at the samples in ``unjudged_at`` one of 10 faces was
    neither named nor a stranger (too small, turned away)."""
    return [headcount(ts=f"{8 + (30 + 15 * k) // 60:02d}:{(30 + 15 * k) % 60:02d}", offset_s=600.0 + 900 * k,
                      faces=10, identified=9 if k in unjudged_at else 10) for k in range(n)]


@pytest.mark.parametrize("seen, unjudged_at, verdict", [
    # never recognised, not checked in, and one face in the room was never judged: the trainee may be it
    (None, set(range(12)), "could not judge"),
    # recognised 60 of 180 min; a face could not be judged in 8 of 12 samples (120 min): could make up 84
    (60, set(range(4, 12)), "could not judge"),
    # the same 60 min, an unjudged face in 4 samples only (60 min): 120 < 144 whoever that was
    (60, set(range(8, 12)), "finding"),
    # nobody unjudged: the plain rule
    (60, set(), "finding"),
])
def test_absent_could_not_judge(seen, unjudged_at, verdict):
    """A trainee whose face could not be judged is not called absent: when the samples with an unjudged face
    could make up the shortfall, a could-not-judge warning replaces the finding."""
    ev = evidence(trainees=[trainee()], sessions=[S], recordings=[REC],
                  presence_rows=[] if seen is None else [presence(start="08:30", end="09:30")],
                  headcounts=_samples(unjudged_at))
    findings, problems = _evaluate_absent(ev)
    if verdict == "finding":
        (f,) = findings
        assert f.rule_id == "ATTENDANCE_ABSENT" and problems == []
        assert json.loads(f.detail)["judged"]["unidentified_share"] == pytest.approx(len(unjudged_at) / 12, abs=1e-4)
    else:
        assert findings == []
        (p,) = problems
        assert p.level == "warning" and p.column == "ATTENDANCE_ABSENT"
        assert p.message.startswith("could not judge ATTENDANCE_ABSENT for trainee S1") and "S01" in p.message
        assert f"{len(unjudged_at) / 12:.0%} of the 12 samples show a face nobody could name" in p.message


def test_no_video_no_absent():
    ev = evidence(trainees=[trainee()], sessions=[S], headcounts=[headcount()])
    assert run(ev, "ATTENDANCE_ABSENT") == []


# --- ATTENDANCE_SPARSE_CHECKIN: < min_checkins_per_day (2) distinct events on offline days ---------------

@pytest.mark.parametrize("times, fires", [
    ([], True),
    (["08:25"], True),
    (["08:25", "08:26"], True),          # a double scan 1 min apart counts once (checkin_merge_min 2)
    (["08:25", "08:27"], False),         # exactly 2 min apart: two events
    (["08:25", "11:35"], False),
])
def test_sparse_checkin_threshold(times, fires):
    ev = evidence(trainees=[trainee()], sessions=[S], checkins=[checkin(ts=at(t), row=i + 2) for i, t in enumerate(times)])
    found = run(ev, "ATTENDANCE_SPARSE_CHECKIN")
    assert len(found) == int(fires)
    if fires:
        assert (found[0].trainee_id, str(found[0].date), found[0].threshold) == ("S1", "2024-10-08", 2.0)


def test_sparse_checkin_only_on_offline_days_and_per_day():
    online_day = session("ON", "19:00", "21:00", day=9, mode="online", room=None)
    ev = evidence(trainees=[trainee()], sessions=[S, session("S02", day=10), online_day],
                  checkins=[checkin(ts=at("08:25")), checkin(ts=at("11:35"))])
    found = run(ev, "ATTENDANCE_SPARSE_CHECKIN")
    assert [str(f.date) for f in found] == ["2024-10-10"]
    assert run(evidence(), "ATTENDANCE_SPARSE_CHECKIN") == []


def test_sparse_checkin_pack_override():
    ev = evidence(trainees=[trainee()], sessions=[S], checkins=[checkin(ts=at("08:25")), checkin(ts=at("11:35"))])
    assert run(ev, "ATTENDANCE_SPARSE_CHECKIN") == []
    assert len(run(ev, "ATTENDANCE_SPARSE_CHECKIN", pack(min_checkins_per_day=3))) == 1
    assert len(run(ev, "ATTENDANCE_SPARSE_CHECKIN", pack(SHANDONG, min_checkins_per_day=4))) == 1
    scans = evidence(trainees=[trainee()], sessions=[S], checkins=[checkin(ts=at("08:25")), checkin(ts=at("08:30"))])
    assert run(scans, "ATTENDANCE_SPARSE_CHECKIN") == []
    assert len(run(scans, "ATTENDANCE_SPARSE_CHECKIN", pack(checkin_merge_min=10))) == 1


# --- ATTENDANCE_NON_FACE: one per trainee per day ---------------------------------------------------------

@pytest.mark.parametrize("events, fires", [
    ([], False),
    ([("08:25", "face", False)], False),
    ([("08:25", "card", False)], True),
    ([("08:25", "face", True)], True),                                  # face, edited by an administrator
    ([("08:25", "card", False), ("11:35", "password", False)], True),   # two rows, one finding
])
def test_non_face(events, fires):
    ev = evidence(trainees=[trainee()], sessions=[S],
                  checkins=[checkin(ts=at(t), method=m, edited=e, row=i + 2) for i, (t, m, e) in enumerate(events)])
    found = run(ev, "ATTENDANCE_NON_FACE")
    assert len(found) == int(fires)
    if fires:
        assert found[0].measured == len(events) and found[0].date is not None
        assert len(json.loads(found[0].detail)["checkins"]) == len(events)


def test_non_face_pack_override():
    ev = evidence(trainees=[trainee()], sessions=[S], checkins=[checkin(method="card")])
    assert run(ev, "ATTENDANCE_NON_FACE", pack(face_checkin_required=False)) == []
    assert len(run(ev, "ATTENDANCE_NON_FACE", SHANDONG)) == 1


# --- UNKNOWN_PERSON: unknown face >= unknown_person_min_minutes (10) in a session -------------------------

def _unknown(minutes, missing=True):
    rows = [presence("U7", kind="unknown", start="09:00", end=f"09:{minutes:02d}")]
    if not missing:
        rows.append(presence("S1"))
    return evidence(trainees=[trainee()], sessions=[S], recordings=[REC], presence_rows=rows,
                    sightings=[sighting("U7", kind="unknown", distance=None)], headcounts=[headcount()])


@pytest.mark.parametrize("minutes, fires", [(10, True), (9, False), (0, False)])
def test_unknown_person_threshold(minutes, fires):
    found = run(_unknown(minutes), "UNKNOWN_PERSON")
    assert len(found) == int(fires)
    if fires:
        d = json.loads(found[0].detail)
        assert (found[0].session_id, d["person_id"], d["missing_trainees"]) == ("S01", "U7", ["S1"])
        assert d["snapshot_offset_s"] == 2400.0 and d["snapshot_box"] == [10, 20, 30, 40]
        assert (d["samples"], d["judged_samples"]) == (1, 1)


def test_unknown_person_one_per_person_per_session():
    rows = [presence("U7", kind="unknown", start="08:40", end="08:50"),
            presence("U7", kind="unknown", start="09:00", end="09:30", camera="B"),
            presence("U8", kind="unknown", start="09:00", end="09:30")]
    ev = evidence(trainees=[trainee()], sessions=[S], recordings=[REC], presence_rows=rows, headcounts=[headcount()])
    found = run(ev, "UNKNOWN_PERSON")
    assert sorted(json.loads(f.detail)["person_id"] for f in found) == ["U7", "U8"]
    assert json.loads(found[0].detail)["minutes"] in (40.0, 30.0)
    assert run(evidence(), "UNKNOWN_PERSON") == []


def test_unknown_person_pack_override():
    assert len(run(_unknown(5), "UNKNOWN_PERSON", pack(unknown_person_min_minutes=5))) == 1
    assert run(_unknown(5), "UNKNOWN_PERSON", SHANDONG) == []
