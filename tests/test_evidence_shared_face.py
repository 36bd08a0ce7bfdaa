"""Trainees enrolled with one face form one group: a sighting of that face is presence of each of them."""
from __future__ import annotations

from pipeline.analysis import RecordingAnalysis
from pipeline.attendance.evidence import _shared_face_groups


def _analysis(*pairs):
    return RecordingAnalysis(class_id="C1", path="/v.mp4", probe=None, enrollment_pairs=tuple(pairs))


def test_pairs_join_transitively_and_teachers_stay_out():
    groups = _shared_face_groups([
        _analysis(("trainee:003", "trainee:001", 0.2)),
        _analysis(("trainee:001", "trainee:007", 0.3), ("teacher:T1", "trainee:009", 0.1)),
    ])
    assert groups == {k: ("trainee:001", "trainee:003", "trainee:007")
                      for k in ("trainee:001", "trainee:003", "trainee:007")}


def test_no_pairs_no_groups():
    assert _shared_face_groups([_analysis(), _analysis()]) == {}
