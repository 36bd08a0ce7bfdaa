"""A class's enrollment is computed once per run and shared by every worker's decoding child (issue 19):
the sample class's photos are enrolled with the real detector and encoder, stored in the cache, and read
back identical (encodings, problems, same-face pairs) without enrolling again; a damaged entry is rebuilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline import analysis
from pipeline.analysis import GallerySpec, RecordingTask
from pipeline.config import load_pipeline_config

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO / "sample_data" / "archive" / "TA2024-DG-017" / "photos"
NOT_A_FACE = REPO / "sample_data" / "archive" / "TA2024-DG-017" / "documents" / "教学日志.txt"


def _task(cache_dir: Path | None) -> RecordingTask:
    config = load_pipeline_config()
    people = (("00001", "trainee", (str(PHOTOS / "00001.jpg"),)),
              ("00002", "trainee", (str(PHOTOS / "00002.jpg"), str(NOT_A_FACE))),
              ("T1", "teacher", (str(PHOTOS / "00001.jpg"),)))  # the same face enrolled twice
    return RecordingTask("C", "unused.mp4", config.video, config.faces, GallerySpec(people),
                         None if cache_dir is None else str(cache_dir))


def _digest(task: RecordingTask) -> str:
    return f"{task.gallery.digest()}-{task.faces.digest()}"


def _same(a, b) -> None:
    (ga, pa), (gb, pb) = a, b
    assert ga.identities == gb.identities and ga.encoder == gb.encoder and ga.threshold == gb.threshold
    assert np.array_equal(ga.encodings, gb.encodings) and np.array_equal(ga.owner, gb.owner)
    assert [(p.path, p.found, p.identity) for p in ga.problems] == [(p.path, p.found, p.identity) for p in gb.problems]
    assert pa == pb


def test_enrollment_is_stored_once_and_read_back_identical(tmp_path, monkeypatch):
    task = _task(tmp_path)
    fresh = analysis._enrolled(_task(None), _digest(task))  # no cache: enrolled in place
    first = analysis._enrolled(task, _digest(task))
    _same(fresh, first)
    gallery, pairs = first
    assert len(gallery.identities) == 3 and len(gallery.problems) == 1  # the text file is a problem
    assert [(a, b) for a, b, _ in pairs] == [("teacher:T1", "trainee:00001")]
    stored = list((tmp_path / "enrolled").glob("*.gallery"))
    assert len(stored) == 1

    def no_enrolling(*args, **kwargs):
        raise AssertionError("enrolled again instead of reading the stored enrollment")

    monkeypatch.setattr("pipeline.faces.gallery.Gallery.from_photos", no_enrolling)
    _same(fresh, analysis._enrolled(task, _digest(task)))

    stored[0].write_bytes(stored[0].read_bytes()[:-40])  # damaged: never trusted
    with pytest.raises(AssertionError, match="enrolled again"):
        analysis._enrolled(task, _digest(task))
    assert not stored[0].exists()
    monkeypatch.undo()
    _same(fresh, analysis._enrolled(task, _digest(task)))


def test_other_photos_or_settings_are_enrolled_apart(tmp_path):
    task = _task(tmp_path)
    analysis._enrolled(task, _digest(task))
    other = task.faces.replace(score_threshold=0.7)
    task2 = RecordingTask("C", "unused.mp4", task.video, other, task.gallery, str(tmp_path))
    assert _digest(task2) != _digest(task)
    analysis._enrolled(task2, _digest(task2))
    assert len(list((tmp_path / "enrolled").glob("*.gallery"))) == 2
