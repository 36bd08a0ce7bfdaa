"""Reused footage: re-encoded (other GOP, frame rate, scale, bitrate), trimmed, remuxed copies and a
segment inside a longer file are found between the right files with their offsets; two real sessions
of one class in the same seats, and the same session continued after a gap, are never called reused.

Footage from tools/synth/footage.py, sampled as the audit samples it (keyframes, every 3 s). The
clips are 4 minutes, so runs need 90 s instead of the default 180 s.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from tools.synth import footage as F
from pipeline.video.params import VideoParams
from pipeline.video.probe import sha256_file
from pipeline.video.reuse import Fingerprint, FingerprintConsumer, compare_pair, find_reused, motion_signature
from pipeline.video.scan import scan_recording

PARAMS = VideoParams(reuse_min_run_s=90.0)
SMALL = F.Footage(width_px=320, height_px=180, fps=5.0, gop_s=2.0)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("reuse")
    a = F.render(d / "R1_session1.mp4", 240, session_seed=1, p=SMALL)
    b = F.render(d / "R1_session2.mp4", 240, session_seed=2, p=SMALL)  # same class, same seats, next session
    head = F.reencode(b, d / "head.mp4", duration_s=60, gop_s=2)
    return {
        "a": a,
        "b": b,
        # the same session, exported again after a 60 s gap
        "a_after_gap": F.render(d / "R1_session1_part2.mp4", 180, session_seed=1, start_s=300, p=SMALL),
        # cut 15 s in, larger, 12.5 fps, 3 s GOP, low quality
        "trim15": F.reencode(a, d / "copy_trim15.mp4", trim_start_s=15, width_px=480, fps=12.5, gop_s=3, crf=33),
        # cut 47 s in and 40 s off the end, smaller, 10 fps, 5 s GOP, 150 kbit/s, brighter
        "trim47": F.reencode(a, d / "copy_trim47.mp4", trim_start_s=47, duration_s=153, width_px=256, fps=10,
                             gop_s=5, bitrate="150k", brightness=0.06),
        # 40-200 s of a inside another recording, after 60 s of b
        "inside": F.embed(F.reencode(a, d / "seg.mp4", trim_start_s=40, duration_s=160), head, None,
                          d / "longer.mp4", width_px=320, fps=8, gop_s=4),
    }


def _fingerprint(path: Path, params: VideoParams = PARAMS, sha256: str | None = None) -> Fingerprint:
    scan = scan_recording(path, params.fingerprint_interval_s, [FingerprintConsumer(path, params, sha256)],
                          max_keyframe_lag_s=1.5 * params.sample_interval_s)
    assert scan.error is None and scan.samples > 20, scan
    return scan.results[0]


@pytest.fixture(scope="module")
def fingerprints(clips) -> dict[str, Fingerprint]:
    out = {name: _fingerprint(path) for name, path in clips.items()}
    out["trim15_mkv"] = _fingerprint(F.remux(clips["trim15"], clips["trim15"].with_suffix(".mkv")))
    return out


@pytest.mark.parametrize("copy, offset_a_s, offset_copy_s, min_duration_s", [
    ("trim15", 15.0, 0.0, 200.0),
    ("trim15_mkv", 15.0, 0.0, 200.0),
    ("trim47", 47.0, 0.0, 130.0),
    ("inside", 40.0, 60.0, 140.0),
])
def test_reused_footage_is_found_with_its_offsets(fingerprints, copy, offset_a_s, offset_copy_s, min_duration_s):
    profile, matches = compare_pair(fingerprints["a"], fingerprints[copy], PARAMS)
    assert len(matches) == 1, (profile, matches)
    m = matches[0]
    # the run starts at the first samples that agree: within a few samples of the true start
    assert m.offset_a_s - m.offset_b_s == pytest.approx(offset_a_s - offset_copy_s, abs=3.0)
    assert m.offset_a_s == pytest.approx(offset_a_s, abs=15.0) and m.offset_b_s == pytest.approx(offset_copy_s, abs=15.0)
    assert m.duration_s >= min_duration_s and m.method == "motion_signature"
    assert profile.margin >= PARAMS.reuse_min_margin + 0.15  # measured 0.56-0.81


@pytest.mark.parametrize("x, y", [("a", "b"), ("a", "a_after_gap"), ("b", "trim15"), ("a_after_gap", "inside"),
                                  ("a_after_gap", "trim47")])
def test_real_sessions_of_one_room_are_not_reuse(fingerprints, x, y):
    """Same room, same people in the same seats, same lighting: another session, or the same session
    after a gap. The best offset is a coincidence, no better than the others."""
    profile, matches = compare_pair(fingerprints[x], fingerprints[y], PARAMS)
    assert matches == [], (profile, matches)
    assert profile.margin < PARAMS.reuse_min_margin - 0.1  # measured 0.01-0.17 (4-minute clips: 90 s windows)


def test_find_reused_pairs_the_right_files(clips, fingerprints):
    found = find_reused(fingerprints, PARAMS)
    pairs = {frozenset((m.path_a.name, m.path_b.name)) for m in found}
    copies = {"copy_trim15.mp4", "copy_trim15.mkv", "copy_trim47.mp4", "longer.mp4"}
    # every copy matches the source, and the copies match each other; nothing else
    assert all(frozenset(("R1_session1.mp4", c)) in pairs for c in copies), pairs
    assert all(p <= copies | {"R1_session1.mp4"} for p in pairs), pairs


@pytest.mark.parametrize("past, found", [(0.0, 1), (0.001, 0)])
def test_margin_at_and_past_the_threshold(fingerprints, past, found):
    margin = compare_pair(fingerprints["a"], fingerprints["trim15"], PARAMS)[0].margin
    params = dataclasses.replace(PARAMS, reuse_min_margin=margin + past)
    assert len(compare_pair(fingerprints["a"], fingerprints["trim15"], params)[1]) == found


@pytest.mark.parametrize("min_run_s, found", [(90.0, 1), (200.0, 1), (240.0, 0)])
def test_min_run_length_at_and_past_the_threshold(fingerprints, min_run_s, found):
    params = dataclasses.replace(PARAMS, reuse_min_run_s=min_run_s)
    assert len(compare_pair(fingerprints["a"], fingerprints["trim15"], params)[1]) == found


def test_byte_identical_copy_is_reported_even_without_motion(clips, tmp_path):
    copy = tmp_path / "backup_copy.mp4"
    shutil.copy(clips["b"], copy)
    fps = [_fingerprint(p, sha256=sha256_file(p)) for p in (clips["b"], copy)]
    assert [(m.method, m.similarity) for m in find_reused(fps, PARAMS)] == [("identical_file", 1.0)]


def test_motion_signature_removes_static_appearance():
    offsets = np.arange(50, dtype=np.float64)
    still = np.tile(np.linspace(-1, 1, 12, dtype=np.float32), (50, 1))
    assert np.abs(motion_signature(offsets, still, 5.0)).max() < 1e-5


def test_empty_and_single_inputs_find_nothing(fingerprints):
    assert find_reused({}, PARAMS) == []
    assert find_reused([fingerprints["a"]], PARAMS) == []


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
    """Six moments that agree, 200 s apart, with nothing moving between them: too little to judge (no
    window of reuse_min_run_s holds enough of them), so not reuse. The same changes 20 s apart are."""
    params = VideoParams()
    sparse = [400, 600, 800, 1000, 1200, 1400]
    assert find_reused([_still_room_with_bursts(1, sparse), _still_room_with_bursts(2, sparse)], params) == []
    dense = list(range(400, 800, 20))
    found = find_reused([_still_room_with_bursts(1, dense), _still_room_with_bursts(2, dense)], params)
    assert len(found) == 1 and found[0].matching_samples >= len(dense)  # a burst shows in its neighbours too


def test_incremental_comparison_finds_exactly_what_comparing_every_pair_finds(fingerprints):
    """A nightly run compares only pairs with a new recording and carries the others' matches over: the
    result equals find_reused over everything, whichever recordings are new."""
    from types import SimpleNamespace

    from pipeline.crossclass import StoredClass, find_reused_incremental
    from pipeline.video.reuse import median_view

    everything = list(fingerprints.values())
    full = find_reused(everything, PARAMS)
    assert full, "the clips hold reused footage"
    for fresh_names in (["a"], ["trim15", "b"], ["inside", "a_after_gap", "trim47"]):
        fresh = [fingerprints[n] for n in fresh_names]
        old = [fp for n, fp in fingerprints.items() if n not in fresh_names]
        # the stored side as a nightly run reads it: views with median views, fingerprints from a store
        store = SimpleNamespace(fingerprints=lambda key, old=old: {str(f.path): f for f in old})
        view = SimpleNamespace(fingerprint_paths=tuple(str(f.path) for f in old),
                               fingerprint_shas=tuple(f.sha256 for f in old),
                               medians=np.stack([median_view(f) for f in old]))
        kept = find_reused(old, PARAMS)
        got, stats = find_reused_incremental(fresh, [StoredClass(view, "k", store)], kept, PARAMS)
        assert got == full, fresh_names
        assert stats["pairs_compared"] < stats["pairs_possible"]
