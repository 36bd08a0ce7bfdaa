"""A long recording analysed in time chunks gives the whole-file pass's evidence (issue 19): the sample
class's covered-lens recording (19 min, real face pass on its generated classroom), cut every 5 minutes so
that the 7-minute covered stretch spans a seam."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from pipeline.analysis import RecordingAnalysis, RecordingChunk, RecordingTask, safe_analyse
from pipeline.audit import gallery_spec, run_recordings
from pipeline.chunks import grid_s, plan_chunks
from pipeline.config import load_pipeline_config
from pipeline.ingest.archive import iter_classes

REPO = Path(__file__).resolve().parents[1]
CLASS = REPO / "sample_data" / "archive" / "TA2024-DG-017"
COVERED = "P101-A_20241009135800.mp4"  # S06: lens covered for 7 minutes in the middle


def _noop(*_):
    return None


@pytest.fixture(scope="module")
def whole_and_chunked():
    config = load_pipeline_config()
    archive = next(a for _, a, _ in iter_classes(CLASS.parent, config.ingest) if a is not None)
    video = dataclasses.replace(config.video, chunk_s=300.0)
    faces = config.faces.replace(sample_interval_s=60.0)  # half the face samples: a cheaper test
    task = RecordingTask(archive.info.class_id, str(CLASS / "recordings" / COVERED), video, faces,
                         gallery_spec(archive), None, True, (33554432, 2147483647))
    whole = run_recordings([task], None, _noop)[0]
    plan = safe_analyse(dataclasses.replace(task, may_split=True))
    chunked = run_recordings([dataclasses.replace(task, may_split=True)], None, _noop)[0]
    return whole, plan, chunked


def test_a_long_file_is_planned_in_chunks_on_the_samples_grid(whole_and_chunked):
    whole, plan, chunked = whole_and_chunked
    assert not whole.chunks and not chunked.chunks and whole.error is None and chunked.error is None
    assert plan.chunks == ((0.0, 300.0), (300.0, 600.0), (600.0, 900.0), (900.0, None))
    assert plan.samples == 0  # nothing decoded by the planning task
    assert grid_s([3.0, 10.0, 60.0]) == 60.0 and grid_s([2.5, 10.0]) == 10.0


def test_chunked_and_whole_file_give_the_same_sightings_within_one_sample_at_the_seams(whole_and_chunked):
    whole, _, chunked = whole_and_chunked
    assert chunked.samples == whole.samples
    seams = (300.0, 600.0, 900.0)
    face_interval = 60.0

    def by_time(result):
        out: dict[float, set] = {}
        for s in result.sightings:
            out.setdefault(s.offset_s, set()).add((s.person_id, s.box_xywh))
        return out

    a, b = by_time(whole.faces), by_time(chunked.faces)
    assert sorted(a) == sorted(b)  # the same face samples
    assert sum(len(v) for v in a.values()) > 50  # a real face pass: many sightings
    differ = [t for t in a if a[t] != b[t]]
    assert all(min(abs(t - s) for s in seams) <= face_interval for t in differ), differ
    assert [r.offset_s for r in whole.faces.headcount] == [r.offset_s for r in chunked.faces.headcount]
    assert [r.faces for r in whole.faces.headcount] == [r.faces for r in chunked.faces.headcount]
    known = {s.person_id for s in whole.faces.sightings} - {None}
    assert known and known == {s.person_id for s in chunked.faces.sightings} - {None}
    # every unknown index points at an encoding
    assert all(s.unknown_index is None or s.unknown_index < len(chunked.faces.unknown_encodings)
               for s in chunked.faces.sightings)


def test_blank_stretch_across_a_seam_and_fingerprints_are_those_of_the_whole_file(whole_and_chunked):
    whole, _, chunked = whole_and_chunked
    longest = max(whole.blanks, key=lambda b: b.duration_s)  # the 7-minute cover (black in this footage)
    assert longest.duration_s >= 400 and longest.start_offset_s < 600 < longest.end_offset_s  # across a seam
    assert chunked.blanks == whole.blanks
    np.testing.assert_array_equal(chunked.fingerprint.offsets_s, whole.fingerprint.offsets_s)
    np.testing.assert_array_equal(chunked.fingerprint.vectors, whole.fingerprint.vectors)
    assert chunked.enrollment_problems == whole.enrollment_problems


def test_a_chunk_that_fails_fails_its_file_with_the_reason(whole_and_chunked, tmp_path):
    from pipeline.chunks import finish_chunks

    whole, plan, _ = whole_and_chunked
    task = RecordingTask("C", plan.path, load_pipeline_config().video, None, None, None)
    ok = RecordingChunk(class_id="C", path=plan.path, span=(0.0, 300.0), samples=0, scan_error=None, parts=())
    broken = RecordingAnalysis(class_id="C", path=plan.path, probe=plan.probe, error="analysis failed: MemoryError: ")
    result = finish_chunks(task, plan, [ok, broken, ok, ok])
    assert result.error == "chunk from 300 s: analysis failed: MemoryError: "
