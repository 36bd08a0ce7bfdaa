"""Reused footage: a trimmed, rescaled, re-encoded copy is found with its offsets; different days
of the same fixed camera in the same room (empty with only noise and lighting changes, or with
other people moving) are never called reused."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.video.params import VideoParams
from pipeline.video.probe import sha256_file
from pipeline.video.reuse import Fingerprint, FingerprintConsumer, find_reused, motion_signature
from pipeline.video.scan import scan_recording
from test_video_media import class_video, reencode

# Test videos are 1-2 minutes: scale the time parameters down with the sampling (10 s -> 1 s).
PARAMS = VideoParams(sample_interval_s=1.0, motion_window_s=10.0, reuse_min_run_s=20.0)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("reuse")
    session = class_video(d / "class1_session3.mp4", 120)  # room 1, people moving
    out = {
        "original": session,
        # presented again for another session: 30-100 s of it, 1.5x larger, lower quality, brighter
        "copy": reencode(session, d / "class2_session1.mp4", "-ss", "30", "-t", "70",
                         "-vf", "scale=480:360,eq=brightness=0.05", "-crf", "30", "-g", "17"),
        "empty_day1": class_video(d / "empty_day1.mp4", 120, people_seed=None, noise=4.0),
        "empty_day2": class_video(d / "empty_day2.mp4", 120, people_seed=None, noise=3.0, brightness=20),
        "other_class": class_video(d / "class1_session4.mp4", 120, people_seed=7),
    }
    return out


def _fingerprints(paths, params=PARAMS) -> dict[Path, Fingerprint]:
    out = {}
    for path in paths:
        scan = scan_recording(path, params.sample_interval_s, [FingerprintConsumer(path, params)])
        assert scan.error is None and scan.samples > 10, scan
        out[path] = scan.results[0]
    return out


@pytest.fixture(scope="module")
def fingerprints(archive):
    return _fingerprints(archive.values())


def test_reencoded_trimmed_rescaled_copy_is_found_with_offsets(archive, fingerprints):
    matches = find_reused(fingerprints, PARAMS)
    assert len(matches) == 1, matches
    m = matches[0]
    assert {m.path_a, m.path_b} == {archive["original"], archive["copy"]}
    offsets = {m.path_a: m.offset_a_s, m.path_b: m.offset_b_s}
    assert offsets[archive["original"]] == pytest.approx(30.0, abs=2.0)
    assert offsets[archive["copy"]] == pytest.approx(0.0, abs=2.0)
    assert m.duration_s == pytest.approx(70.0, abs=3.0)
    assert m.similarity >= 0.8 and m.method == "motion_signature"  # measured 0.85


@pytest.mark.parametrize(
    "a, b",
    [("empty_day1", "empty_day2"), ("original", "empty_day1"), ("original", "other_class"),
     ("copy", "other_class"), ("other_class", "empty_day2")],
)
def test_same_room_on_different_days_is_not_reuse(archive, fingerprints, a, b):
    pair = {archive[a]: fingerprints[archive[a]], archive[b]: fingerprints[archive[b]]}
    assert find_reused(pair, PARAMS) == []


@pytest.mark.parametrize("min_run_s, found", [(60.0, 1), (69.0, 1), (75.0, 0)])
def test_min_run_length_at_and_past_the_threshold(archive, fingerprints, min_run_s, found):
    params = VideoParams(sample_interval_s=1.0, motion_window_s=10.0, reuse_min_run_s=min_run_s)
    pair = {k: fingerprints[archive[k]] for k in ("original", "copy")}
    assert len(find_reused(pair, params)) == found


def test_byte_identical_copy_is_reported_even_without_motion(archive, tmp_path):
    copy = tmp_path / "empty_again.mp4"
    shutil.copy(archive["empty_day1"], copy)
    fps = {}
    for path in (archive["empty_day1"], copy):
        scan = scan_recording(path, 1.0, [FingerprintConsumer(path, PARAMS, sha256=sha256_file(path))])
        fps[path] = scan.results[0]
    matches = find_reused(fps, PARAMS)
    assert [(m.method, m.similarity) for m in matches] == [("identical_file", 1.0)]


def test_motion_signature_removes_static_appearance():
    offsets = np.arange(50, dtype=np.float64)
    still = np.tile(np.linspace(-1, 1, 12, dtype=np.float32), (50, 1))
    assert np.abs(motion_signature(offsets, still, 5.0)).max() < 1e-5


def test_empty_and_single_inputs_find_nothing(fingerprints):
    assert find_reused({}, PARAMS) == []
    first = next(iter(fingerprints.values()))
    assert find_reused([first], PARAMS) == []


def _still_room_with_bursts(seed: int, burst_at_s, n: int = 300) -> Fingerprint:
    """A motionless room sampled every 10 s, with the same strong change at `burst_at_s` (0 noise)."""
    rng = np.random.default_rng(seed)
    room = np.random.default_rng(0).normal(size=576)
    x = np.tile(room, (n, 1)) + rng.normal(scale=0.01, size=(n, 576))
    for k, t in enumerate(burst_at_s):
        x[int(t // 10)] += 3.0 * np.random.default_rng(100 + k).normal(size=576) * (np.arange(576) < 60)
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    return Fingerprint(Path(f"/r{seed}.mp4"), np.arange(n) * 10.0, x.astype(np.float16))


def test_matches_strung_over_motionless_stretches_are_not_a_run():
    """Six moments that agree, 200 s apart, with nothing moving between them: coincidences in two
    different recordings of a still room, not reused footage (the default allows 120 s between matches)."""
    bursts = [400, 600, 800, 1000, 1200, 1400]
    a, b = _still_room_with_bursts(1, bursts), _still_room_with_bursts(2, bursts)
    params = VideoParams()
    assert find_reused([a, b], params) == []
    found = find_reused([a, b], dataclasses.replace(params, reuse_max_match_gap_s=1000.0))
    assert len(found) == 1 and found[0].method == "motion_signature" and found[0].matching_samples == 6
    # the same six matches 100 s apart are a run
    close = [400, 500, 600, 700, 800, 900]
    assert len(find_reused([_still_room_with_bursts(1, close), _still_room_with_bursts(2, close)], params)) == 1
