"""A class's enrollment is computed once per run and shared by every worker's decoding child (issue 19):
the sample class's photos are enrolled with the real detector and encoder, stored in the cache, and read
back identical (encodings, problems, same-face pairs) without enrolling again; a damaged entry is rebuilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.analysis import GallerySpec, RecordingTask
from pipeline.config import load_pipeline_config
from pipeline.enrollment import enrolled

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
    fresh = enrolled(_task(None), _digest(task))  # no cache: enrolled in place
    first = enrolled(task, _digest(task))
    _same(fresh, first)
    gallery, pairs = first
    assert len(gallery.identities) == 3 and len(gallery.problems) == 1  # the text file is a problem
    assert [(a, b) for a, b, _ in pairs] == [("teacher:T1", "trainee:00001")]
    stored = list((tmp_path / "enrolled").glob("*.gallery"))
    assert len(stored) == 1

    def no_enrolling(*args, **kwargs):
        raise AssertionError("enrolled again instead of reading the stored enrollment")

    monkeypatch.setattr("pipeline.faces.gallery.Gallery.from_photos", no_enrolling)
    _same(fresh, enrolled(task, _digest(task)))

    stored[0].write_bytes(stored[0].read_bytes()[:-40])  # damaged: never trusted
    with pytest.raises(AssertionError, match="enrolled again"):
        enrolled(task, _digest(task))
    assert not stored[0].exists()
    monkeypatch.undo()
    _same(fresh, enrolled(task, _digest(task)))


def test_other_photos_or_settings_are_enrolled_apart(tmp_path):
    task = _task(tmp_path)
    enrolled(task, _digest(task))
    other = task.faces.replace(score_threshold=0.7)
    task2 = RecordingTask("C", "unused.mp4", task.video, other, task.gallery, str(tmp_path))
    assert _digest(task2) != _digest(task)
    enrolled(task2, _digest(task2))
    assert len(list((tmp_path / "enrolled").glob("*.gallery"))) == 2


# Several decoding children enrol one class together (pipeline/enrollment.py): each photo is encoded once,
# by whichever child gets to it first, and every child builds the same gallery. Another child is played by
# a lock held on a photo's lock file (flock locks conflict between open files, in one process as across
# processes); the real detector and encoder run on the sample class's photos.


def _photos(task: RecordingTask) -> list[tuple[str, str]]:
    from pipeline.enrollment import person_key

    return [(person_key(kind, pid), p) for pid, kind, paths in task.gallery.people for p in paths]


def _count_encodes(monkeypatch) -> list[str]:
    import pipeline.faces.gallery as gallery_module

    calls, real = [], gallery_module.encode_photo

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(gallery_module, "encode_photo", counting)
    return calls


def _shared(task: RecordingTask):
    from pipeline.enrollment import SharedPhotos

    path = Path(task.cache_dir) / "enrolled" / f"{analysis_version()}-{_digest(task)}.gallery"
    return SharedPhotos(path.with_suffix(".photos"), task.faces, task.gallery.max_image_pixels), path


def analysis_version() -> str:
    from pipeline.recording_task import ANALYSIS_VERSION

    return ANALYSIS_VERSION


def test_a_child_encodes_the_free_photos_waits_for_the_held_one_and_builds_the_same_gallery(tmp_path, monkeypatch):
    import fcntl
    import threading
    import time

    fresh = enrolled(_task(None), _digest(_task(None)))
    task = _task(tmp_path)
    shared, gallery_file = _shared(task)
    photos = _photos(task)
    held_identity, held_photo = photos[1]
    lock_file, result = shared._files(held_identity, held_photo)
    other_child = open(lock_file, "a+b")
    fcntl.flock(other_child, fcntl.LOCK_EX)  # "another child" is encoding photo 1
    calls = _count_encodes(monkeypatch)
    answer: list = []
    child = threading.Thread(target=lambda: answer.append(enrolled(task, _digest(task))))
    child.start()
    deadline = time.monotonic() + 120
    while len(calls) < len(photos) - 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.join(timeout=1.0)
    assert child.is_alive()  # waiting for photo 1, having encoded every other photo
    assert sorted(calls) == sorted(p for i, (_, p) in enumerate(photos) if i != 1)
    shared._encode(held_identity, held_photo, result)  # the other child finishes photo 1
    assert len(calls) == len(photos)
    fcntl.flock(other_child, fcntl.LOCK_UN)
    other_child.close()
    child.join(timeout=120)
    assert not child.is_alive()
    assert len(calls) == len(photos)  # photo 1 read, not encoded again
    _same(fresh, answer[0])
    assert gallery_file.is_file() and not shared.folder.exists()  # stored; the photos' files tidied away


def test_a_photo_whose_child_died_is_encoded_by_the_next(tmp_path, monkeypatch):
    import fcntl

    fresh = enrolled(_task(None), _digest(_task(None)))
    task = _task(tmp_path)
    shared, _ = _shared(task)
    identity, photo = _photos(task)[0]
    lock_file, result = shared._files(identity, photo)
    with open(lock_file, "a+b") as dead:
        fcntl.flock(dead, fcntl.LOCK_EX)
        shared.encode_free(_photos(task))  # photo 0 held: skipped
        assert not result.exists()
    # the holder ended without storing photo 0 (its lock went with it)
    calls = _count_encodes(monkeypatch)
    _same(fresh, enrolled(task, _digest(task)))
    assert calls == [photo]  # only the orphaned photo was left to encode


def _enrol_in_child(cache_dir: str) -> tuple:
    """Run in a spawned process: (identities, encodings, problems, pairs, photos this process encoded)."""
    import pipeline.faces.gallery as gallery_module

    calls, real = [], gallery_module.encode_photo

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    gallery_module.encode_photo = counting
    task = _task(Path(cache_dir))
    gallery, pairs = enrolled(task, _digest(task))
    return (gallery.identities, gallery.encodings, [(p.path, p.found, p.identity) for p in gallery.problems],
            pairs, calls)


def test_two_processes_enrolling_at_once_encode_each_photo_once_and_agree(tmp_path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    fresh, _ = enrolled(_task(None), _digest(_task(None)))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        answers = [f.result(timeout=240) for f in [pool.submit(_enrol_in_child, str(tmp_path)) for _ in range(2)]]
    for identities, encodings, problems, pairs, _ in answers:
        assert identities == fresh.identities and np.array_equal(encodings, fresh.encodings)
        assert problems == [(p.path, p.found, p.identity) for p in fresh.problems]
    assert answers[0][3] == answers[1][3]
    encoded = answers[0][4] + answers[1][4]
    assert sorted(encoded) == sorted(p for _, p in _photos(_task(tmp_path)))  # every photo once, between them
