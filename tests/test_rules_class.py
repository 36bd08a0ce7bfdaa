"""CLASS_MIXED, HEAD_TEACHER_MISSING, ARCHIVE_INCOMPLETE, IDENTITY_SHARED."""

import json

import pytest

from rules_factories import SHANDONG, checkin, evidence, info, pack, run, run_archive, teacher, trainee


@pytest.mark.parametrize("kinds, odd", [([], 0), (["initial"] * 3, 0), (["initial", "initial", "refresher"], 1),
                                        (["refresher"], 1)])
def test_class_mixed(kinds, odd):
    ev = evidence(trainees=[trainee(f"S{i}", kind=k) for i, k in enumerate(kinds)])
    found = run(ev, "CLASS_MIXED")
    assert len(found) == int(odd > 0)
    if odd:
        assert found[0].measured == odd and json.loads(found[0].detail)["other_kind_trainees"]


def test_class_mixed_refresher_class_and_severity_from_pack():
    ev = evidence(cls=info(training_kind="refresher"), trainees=[trainee(kind="initial"), trainee("S2", kind="refresher")])
    assert run(ev, "CLASS_MIXED", SHANDONG)[0].severity == "medium"
    assert run(ev, "CLASS_MIXED", pack(severity={"CLASS_MIXED": "high"}))[0].severity == "high"


@pytest.mark.parametrize("head, teachers, reason", [
    ("T1", [teacher("T1")], None),
    ("T1", [], None),                 # no teachers.csv: nothing contradicts the id
    (None, [], "missing"),
    ("  ", [teacher("T1")], "missing"),
    ("T9", [teacher("T1")], "unknown"),
])
def test_head_teacher_missing(head, teachers, reason):
    found = run(evidence(cls=info(head_teacher=head), teachers=teachers), "HEAD_TEACHER_MISSING")
    assert [json.loads(f.detail)["reason"] for f in found] == ([reason] if reason else [])


@pytest.mark.parametrize("missing", [(), ("checkins",), ("recordings", "documents")])
def test_archive_incomplete_one_per_part(missing):
    found = run(evidence(missing=missing), "ARCHIVE_INCOMPLETE")
    assert sorted(json.loads(f.detail)["part"] for f in found) == sorted(missing)
    assert len({f.finding_id for f in found}) == len(missing)
    assert all(p in f.message for p, f in zip(sorted(missing), found))


# --- IDENTITY_SHARED (archive) ------------------------------------------------------------------------

@pytest.fixture
def photos(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"face-a")
    (tmp_path / "a_copy.jpg").write_bytes(b"face-a")
    (tmp_path / "b.jpg").write_bytes(b"face-b")
    return tmp_path


def test_identity_shared_same_enrollment_photo_in_one_class(photos):
    ev = evidence(trainees=[trainee("S1", photos=[photos / "a.jpg"]), trainee("S2", photos=[photos / "a_copy.jpg"]),
                            trainee("S3", photos=[photos / "b.jpg"])])
    found = run_archive([ev], "IDENTITY_SHARED")
    assert [(f.trainee_id, json.loads(f.detail)["other_trainee_id"]) for f in found] == [("S1", "S2")]


def test_identity_shared_across_classes_but_not_the_same_person_twice(photos):
    def cls(cid, tid, name, idn):
        return evidence(cls=info(cid), trainees=[trainee(tid, class_id=cid, name=name, id_number=idn,
                                                         photos=[photos / "a.jpg"])])
    found = run_archive([cls("C1", "S1", "张三", "370900199001011234"), cls("C2", "X7", "李四", "370900199202021234")],
                        "IDENTITY_SHARED")
    assert sorted((f.class_id, f.trainee_id) for f in found) == [("C1", "S1"), ("C2", "X7")]
    same = run_archive([cls("C1", "S1", "张三", "370900199001011234"), cls("C2", "X7", "张三", "370900199001011234")],
                       "IDENTITY_SHARED")
    assert same == []


def test_identity_shared_same_checkin_snapshot(photos):
    ev = evidence(trainees=[trainee("S1"), trainee("S2")],
                  checkins=[checkin("S1", photo="https://img/1.jpg"), checkin("S2", photo="https://img/1.jpg", row=3),
                            checkin("S2", photo="https://img/2.jpg", row=4)])
    found = run_archive([ev], "IDENTITY_SHARED")
    assert len(found) == 1 and json.loads(found[0].detail)["basis"] == "checkin_photo"
    assert len(json.loads(found[0].detail)["checkins"]) == 2


def test_identity_shared_no_data_and_unreadable_photos():
    assert run_archive([], "IDENTITY_SHARED") == []
    ev = evidence(trainees=[trainee("S1", photos=["/nonexistent/a.jpg"]), trainee("S2", photos=["/nonexistent/a.jpg"])])
    assert run_archive([ev], "IDENTITY_SHARED") == []


def test_identity_shared_from_the_face_stage_enrollment_pairs():
    import dataclasses
    import pandas as pd
    ev = evidence(trainees=[trainee("S1"), trainee("S2"), trainee("S3")])
    pairs = pd.DataFrame([dict(person_a="S1", person_b="S3", distance=0.31)])
    found = run_archive([dataclasses.replace(ev, enrollment_pairs=pairs)], "IDENTITY_SHARED")
    assert [(f.trainee_id, json.loads(f.detail)["other_trainee_id"], json.loads(f.detail)["distance"]) for f in found] == [
        ("S1", "S3", 0.31)]
