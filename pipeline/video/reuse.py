"""Reused footage across the archive: the same moments presented as two recordings.

A fingerprint is the sequence of sampled frames reduced to 32x18 luma, each normalised to zero
mean and unit spread (re-encoding, rescaling and brightness changes leave it almost unchanged),
with the frames' offsets. Static appearance alone cannot tell reused footage from a fixed camera
filming the same room on another day, so matching is done on the motion signature: each frame
minus the local temporal mean of its recording. The room cancels out; what people did in it, and
when, remains. Samples without motion (an empty room) carry no information and can neither prove
nor break a match. Two recordings match when their motion signatures agree, at one time offset,
over a long enough run.

Cost: a cheap filter on median images keeps only pairs that show the same view; each kept pair
costs one (n_a x n_b x 576) matrix product (360 x 360 for two hours sampled every 10 s: ~1 ms).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from pipeline.video.params import VideoParams
from pipeline.video.sample import SampledFrame, downscale_gray

_MAX_OFFSETS_PER_PAIR = 4  # one footage reused several times in one file: report each offset


@dataclass(frozen=True)
class Fingerprint:
    path: Path
    offsets_s: np.ndarray  # (n,) float64, increasing
    vectors: np.ndarray  # (n, w*h) float16, each row zero-mean unit-std luma
    sha256: str | None = None


@dataclass(frozen=True)
class ReuseMatch:
    path_a: Path
    path_b: Path
    offset_a_s: float  # where the shared footage starts in a
    offset_b_s: float  # ... and in b
    duration_s: float
    similarity: float  # mean motion-signature cosine over the run's matching samples (1.0: identical file)
    matching_samples: int
    method: str  # "identical_file" (same SHA-256) or "motion_signature"


class FingerprintConsumer:
    """FrameConsumer collecting a recording's fingerprint (1.2 kB a sample)."""

    max_width_px = 160  # an area reduction to 32x18 is the same from 160 px as from full size

    def __init__(self, path: Path, params: VideoParams | None = None, sha256: str | None = None) -> None:
        self.path = Path(path)
        self.params = params or VideoParams()
        self.sha256 = sha256
        self._offsets: list[float] = []
        self._vectors: list[np.ndarray] = []

    def feed(self, frame: SampledFrame) -> None:
        p = self.params
        tiny = downscale_gray(frame.image_bgr, p.fingerprint_width_px, p.fingerprint_height_px).ravel()
        tiny -= tiny.mean()
        tiny /= tiny.std() + 1.0  # +1 luma level: a flat frame stays near zero instead of amplifying noise
        self._offsets.append(frame.offset_s)
        self._vectors.append(tiny.astype(np.float16))

    def result(self) -> Fingerprint:
        dim = self.params.fingerprint_width_px * self.params.fingerprint_height_px
        vectors = np.stack(self._vectors) if self._vectors else np.zeros((0, dim), np.float16)
        return Fingerprint(self.path, np.asarray(self._offsets, np.float64), vectors, self.sha256)


@dataclass
class _Prepared:
    fp: Fingerprint
    x: np.ndarray  # (n, d) float32 appearance, unit rows
    m: np.ndarray  # (n, d) float32 motion signature, unit rows
    informative: np.ndarray  # (n,) bool
    median: np.ndarray  # (d,) unit
    spacing_s: float


def _unit(a: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.maximum(norm, 1e-6)


def motion_signature(offsets_s: np.ndarray, x: np.ndarray, window_s: float) -> np.ndarray:
    """Each row minus the mean of the rows within +/- window_s of it (prefix sums: O(n d))."""
    csum = np.vstack([np.zeros((1, x.shape[1]), np.float64), np.cumsum(x, axis=0, dtype=np.float64)])
    lo = np.searchsorted(offsets_s, offsets_s - window_s, side="left")
    hi = np.searchsorted(offsets_s, offsets_s + window_s, side="right")
    local_mean = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)[:, None]
    return (x - local_mean).astype(np.float32)


def _prepare(fp: Fingerprint, params: VideoParams) -> _Prepared:
    x = fp.vectors.astype(np.float32)
    m = motion_signature(fp.offsets_s, x, params.motion_window_s)
    rms = np.sqrt((m**2).mean(axis=1)) if len(m) else np.zeros(0)
    spacing = float(np.median(np.diff(fp.offsets_s))) if len(fp.offsets_s) > 1 else 1.0
    median = _unit(np.median(x, axis=0)) if len(x) else np.zeros(x.shape[1], np.float32)
    return _Prepared(fp, _unit(x), _unit(m), rms >= params.reuse_min_motion_rms, median, spacing)


def _offset_peaks(a: _Prepared, b: _Prepared, params: VideoParams) -> list[float]:
    """Time offsets (a minus b) at which many informative samples agree, strongest first."""
    ia, ib = np.flatnonzero(a.informative), np.flatnonzero(b.informative)
    if len(ia) < params.reuse_min_matching_samples or len(ib) < params.reuse_min_matching_samples:
        return []
    sim = a.m[ia] @ b.m[ib].T
    ii, jj = np.nonzero(sim >= params.reuse_min_similarity)
    deltas = a.fp.offsets_s[ia[ii]] - b.fp.offsets_s[ib[jj]]
    bin_s = 2.0 * max(a.spacing_s, b.spacing_s)
    peaks: list[float] = []
    while len(deltas) >= params.reuse_min_matching_samples and len(peaks) < _MAX_OFFSETS_PER_PAIR:
        bins = np.floor(deltas / bin_s).astype(np.int64)
        values, counts = np.unique(bins, return_counts=True)
        by_bin = dict(zip(values.tolist(), counts.tolist()))
        # a peak may straddle two bins: score each bin with its neighbours
        window = [by_bin.get(v - 1, 0) + c + by_bin.get(v + 1, 0) for v, c in by_bin.items()]
        best = values[int(np.argmax(window))]
        near = np.abs(bins - best) <= 1
        if near.sum() < params.reuse_min_matching_samples:
            break
        peaks.append(float(np.median(deltas[near])))
        deltas = deltas[~near]
    return peaks


def _runs_at(a: _Prepared, b: _Prepared, delta_s: float, params: VideoParams) -> list[ReuseMatch]:
    """Walk a's samples aligned to b at `delta_s`; a run is broken by two mismatches in a row, or by more
    than `reuse_max_match_gap_s` between two matches (samples without motion bridge only so far)."""
    tol = 0.51 * max(a.spacing_s, b.spacing_s)  # the nearest sample of b, never its neighbour
    targets = a.fp.offsets_s - delta_s
    j = np.clip(np.searchsorted(b.fp.offsets_s, targets), 1, max(len(b.fp.offsets_s) - 1, 1))
    j = np.where(np.abs(b.fp.offsets_s[j - 1] - targets) <= np.abs(b.fp.offsets_s[j] - targets), j - 1, j)
    out, run, misses = [], [], 0
    for i in range(len(targets) + 1):
        state = "end"
        if i < len(targets) and abs(b.fp.offsets_s[j[i]] - targets[i]) <= tol:
            both = a.informative[i] and b.informative[j[i]]
            similarity = float(a.m[i] @ b.m[j[i]]) if both else None
            if similarity is not None:
                state = "match" if similarity >= params.reuse_min_similarity else "miss"
            else:
                # no motion: it neither proves nor breaks, unless the picture itself differs
                state = "neutral" if float(a.x[i] @ b.x[j[i]]) >= params.reuse_candidate_min_similarity else "miss"
        if state == "match":
            if run and a.fp.offsets_s[i] - a.fp.offsets_s[run[-1][0]] > params.reuse_max_match_gap_s:
                out.extend(_emit(a, b, run, params))  # too long without proof: coincidences, not a run
                run = []
            run.append((i, int(j[i]), similarity))
            misses = 0
        elif state == "neutral":
            continue
        elif state == "miss" and run and misses == 0:
            misses = 1
        else:
            out.extend(_emit(a, b, run, params))
            run, misses = [], 0
    return out


def _emit(a: _Prepared, b: _Prepared, run, params: VideoParams) -> list[ReuseMatch]:
    if len(run) < params.reuse_min_matching_samples:
        return []
    (i0, j0, _), (i1, _, _) = run[0], run[-1]
    duration = float(a.fp.offsets_s[i1] - a.fp.offsets_s[i0])
    if duration < params.reuse_min_run_s:
        return []
    return [ReuseMatch(
        path_a=a.fp.path, path_b=b.fp.path,
        offset_a_s=round(float(a.fp.offsets_s[i0]), 2), offset_b_s=round(float(b.fp.offsets_s[j0]), 2),
        duration_s=round(duration, 2), similarity=round(float(np.mean([s for _, _, s in run])), 4),
        matching_samples=len(run), method="motion_signature",
    )]


def _identical(a: Fingerprint, b: Fingerprint) -> ReuseMatch:
    duration = float(a.offsets_s[-1]) if len(a.offsets_s) else 0.0
    return ReuseMatch(a.path, b.path, 0.0, 0.0, duration, 1.0, len(a.offsets_s), "identical_file")


def find_reused(
    fingerprints_by_recording: Mapping[object, Fingerprint] | Iterable[Fingerprint],
    params: VideoParams | None = None,
) -> list[ReuseMatch]:
    """Every pair of recordings (across the whole archive) sharing footage, each pair once
    (path_a sorts before path_b), with where the shared footage starts in each."""
    params = params or VideoParams()
    fps = list(fingerprints_by_recording.values()) if isinstance(fingerprints_by_recording, Mapping) else list(fingerprints_by_recording)
    prepared = sorted((_prepare(fp, params) for fp in fps if len(fp.offsets_s)), key=lambda p: str(p.fp.path))
    if len(prepared) < 2:
        return []
    medians = np.stack([p.median for p in prepared])
    view_similarity = medians @ medians.T
    out: list[ReuseMatch] = []
    for ia, ib in combinations(range(len(prepared)), 2):
        a, b = prepared[ia], prepared[ib]
        if a.fp.path == b.fp.path:
            continue
        if a.fp.sha256 and a.fp.sha256 == b.fp.sha256:
            out.append(_identical(a.fp, b.fp))
            continue
        if view_similarity[ia, ib] < params.reuse_candidate_min_similarity:
            continue
        for delta in _offset_peaks(a, b, params):
            out.extend(_runs_at(a, b, delta, params))
    return _dedupe(out)


def _dedupe(matches: list[ReuseMatch]) -> list[ReuseMatch]:
    """Two nearby offset peaks can find the same run: keep the longest of overlapping ones."""
    kept: list[ReuseMatch] = []
    for m in sorted(matches, key=lambda m: -m.duration_s):
        clash = any(
            k.path_a == m.path_a and k.path_b == m.path_b
            and m.offset_a_s < k.offset_a_s + k.duration_s and k.offset_a_s < m.offset_a_s + m.duration_s
            and abs((m.offset_a_s - m.offset_b_s) - (k.offset_a_s - k.offset_b_s)) <= max(5.0, 0.05 * k.duration_s)
            for k in kept
        )
        if not clash:
            kept.append(m)
    return sorted(kept, key=lambda m: (str(m.path_a), str(m.path_b), m.offset_a_s))
