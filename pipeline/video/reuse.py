"""Reused footage across the archive: the same moments presented as two recordings.

A fingerprint is the sequence of sampled frames reduced to 32x18 luma, each normalised to zero
mean and unit spread (re-encoding, rescaling and brightness changes leave it almost unchanged),
with the frames' true offsets (the decoded frame's time, not the requested one). Samples come from
the shared decode pass every `fingerprint_interval_s` (a few seconds), so two encodes of one source
with keyframes in different places still have samples within a second or two of the same moments;
samples are paired across files with that tolerance in time, never by index.

What is compared is fine time detail: each frame minus the mean of its recording's frames within
`motion_window_s` (seconds) of it. The room, the seating, the lighting and everything else that
drifts slowly cancel; what changed within those seconds (who moved, looked down, stood up) remains.
Samples in which nothing changed carry no information and neither prove nor break a match.

A pair is judged against itself: for every time offset between the two files, the best mean
similarity over a window of `reuse_min_run_s` is computed (the offset profile). Reused footage has
one offset far above all the others; two real sessions of one room (same people in the same seats,
an NVR export continuing after a gap) have a flat profile whose best offset is a coincidence, no
better than the offsets around it. A match needs the best offset to beat the best offset outside
its neighbourhood by `reuse_min_margin`, and the run there to hold sample after sample.

Cost: a cheap filter on median images keeps only pairs that show the same view; each kept pair
costs one (n_a x n_b x 576) matrix product and an (offsets x n_a) gather for the profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.video.params import VideoParams
from pipeline.video.sample import SampledFrame, downscale_gray


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
    similarity: float  # mean fine-detail cosine over the run's matching samples (1.0: identical file)
    matching_samples: int
    method: str  # "identical_file" (same SHA-256) or "motion_signature"
    margin: float = 1.0  # best offset's window similarity minus the best offset away from it


@dataclass(frozen=True)
class PairProfile:
    """How one pair of recordings looks over all time offsets (a minus b): for the decision and for
    benchmarks that show the distributions."""

    delta_s: float | None  # the best offset (None: too little to compare)
    best: float  # best window-mean similarity at delta_s
    best_elsewhere: float  # best window-mean similarity at offsets away from delta_s
    offsets_compared: int

    @property
    def margin(self) -> float:
        return self.best - self.best_elsewhere


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

    def part(self) -> Fingerprint:
        return self.result()


@dataclass
class _Prepared:
    fp: Fingerprint
    x: np.ndarray  # (n, d) float32 appearance, unit rows
    m: np.ndarray  # (n, d) float32 fine-detail signature, unit rows
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


def _tolerance_s(a: _Prepared, b: _Prepared) -> float:
    """Two samples show the same moment when their times differ by at most this: half the coarser
    spacing (the nearest sample of the other file is never further) plus half a second of jitter."""
    return 0.5 * max(a.spacing_s, b.spacing_s) + 0.5


def _partners(b: _Prepared, targets_s: np.ndarray, tol_s: float) -> np.ndarray:
    """Index of b's sample nearest each target time, -1 where none lies within tol_s."""
    t = b.fp.offsets_s
    if len(t) == 0:
        return np.full(targets_s.shape, -1, np.int64)
    j = np.clip(np.searchsorted(t, targets_s), 1, max(len(t) - 1, 1))
    j = np.where(np.abs(t[j - 1] - targets_s) <= np.abs(t[j] - targets_s), j - 1, j)
    return np.where(np.abs(t[j] - targets_s) <= tol_s, j, -1)


def pair_profile(a: _Prepared, b: _Prepared, params: VideoParams, screen: bool = True) -> PairProfile:
    """The offset profile of a pair: for each offset on a grid of half the time tolerance, the best mean
    fine-detail similarity over windows of `reuse_min_run_s` of a's informative samples paired with b's (a window
    needs half its samples paired and informative: footage where little moves cannot be judged)."""
    tol = _tolerance_s(a, b)
    ia = np.flatnonzero(a.informative)
    if len(ia) < params.reuse_min_matching_samples or a.informative.sum() == 0 or b.informative.sum() == 0:
        return PairProfile(None, 0.0, 0.0, 0)
    ta = a.fp.offsets_s
    # offsets on a grid of half the tolerance: the true offset is never more than a quarter tolerance off
    deltas = np.arange(ta[0] - b.fp.offsets_s[-1] - tol, ta[-1] - b.fp.offsets_s[0] + tol, tol / 2)
    if len(deltas) == 0:
        return PairProfile(None, 0.0, 0.0, 0)
    sim = a.m[ia] @ b.m.T  # (informative a) x (all b)
    if screen and not _could_match(a, b, ia, sim, tol, params):
        return PairProfile(None, 0.0, 0.0, 0)
    best = np.full(len(deltas), -np.inf)
    window = max(params.reuse_min_matching_samples, int(round(params.reuse_min_run_s / max(a.spacing_s, 1e-3))))
    # a window counts when half its samples are paired and informative: the few-sample windows where two files
    # barely overlap would otherwise give noisy highs on both sides of the decision
    min_count = max(params.reuse_min_matching_samples, (window + 1) // 2)
    chunk = max(1, 2_000_000 // max(len(ia), 1))
    for k0 in range(0, len(deltas), chunk):
        d = deltas[k0:k0 + chunk]
        j = _partners(b, ta[ia][None, :] - d[:, None], tol)  # (offsets, informative a)
        ok = (j >= 0) & b.informative[np.maximum(j, 0)]
        s = np.where(ok, sim[np.arange(len(ia))[None, :], np.maximum(j, 0)], 0.0)
        best[k0:k0 + chunk] = _best_window_mean(s, ok, ia, window, min_count)
    if not np.isfinite(best).any():
        return PairProfile(None, 0.0, 0.0, len(deltas))
    top = int(np.nanargmax(best))
    away = np.abs(deltas - deltas[top]) > 2.0 * params.motion_window_s + 2.0 * tol
    elsewhere = float(best[away & np.isfinite(best)].max()) if (away & np.isfinite(best)).any() else 0.0
    return PairProfile(float(deltas[top]), float(best[top]), max(elsewhere, 0.0), len(deltas))


def _could_match(a: _Prepared, b: _Prepared, ia: np.ndarray, sim: np.ndarray, tol: float, params: VideoParams) -> bool:
    """Cheap necessary condition for any run: `reuse_min_matching_samples` matching informative pairs whose
    time offsets lie within one tolerance of each other (a run's matches all do). Most pairs of different
    footage stop here, before the offset profile."""
    ok = sim[:, b.informative] >= params.reuse_min_similarity
    ii, jj = np.nonzero(ok)
    if len(ii) < params.reuse_min_matching_samples:
        return False
    deltas = a.fp.offsets_s[ia[ii]] - b.fp.offsets_s[np.flatnonzero(b.informative)[jj]]
    values, counts = np.unique(np.floor(deltas / (2.0 * tol)).astype(np.int64), return_counts=True)
    by_bin = dict(zip(values.tolist(), counts.tolist()))
    return max(by_bin.get(v - 1, 0) + c + by_bin.get(v + 1, 0) for v, c in by_bin.items()) >= params.reuse_min_matching_samples


def _best_window_mean(s: np.ndarray, ok: np.ndarray, ia: np.ndarray, window: int, min_count: int) -> np.ndarray:
    """Per row: the best mean of `s` over the paired entries whose a-sample index lies in a window of
    `window` consecutive samples (uninformative samples count as absent); -inf where no window has
    `min_count` paired entries."""
    csum = np.concatenate([np.zeros((len(s), 1)), np.cumsum(s, axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((len(s), 1)), np.cumsum(ok, axis=1)], axis=1)
    hi = np.searchsorted(ia, ia + window, side="left")  # window of a's samples [ia[i], ia[i] + window)
    lo = np.arange(len(ia))
    total, count = csum[:, hi] - csum[:, lo], ccnt[:, hi] - ccnt[:, lo]
    means = np.where(count >= min_count, total / np.maximum(count, 1), -np.inf)
    return means.max(axis=1)


def _runs_at(a: _Prepared, b: _Prepared, delta_s: float, params: VideoParams, margin: float) -> list[ReuseMatch]:
    """The stretches of a paired with b at `delta_s` (within the time tolerance) where samples agree: from
    match to match, split where more than `reuse_max_match_gap_s` passes without one; a stretch counts
    when at least `reuse_min_match_fraction` of its informative pairs match. Samples a second or two
    apart disagree where something moved fast in between, so single misses never break a stretch."""
    tol = _tolerance_s(a, b)
    j = _partners(b, a.fp.offsets_s - delta_s, tol)
    paired = (j >= 0) & a.informative & b.informative[np.maximum(j, 0)]
    sims = np.where(paired, np.einsum("ij,ij->i", a.m, b.m[np.maximum(j, 0)]), np.nan)
    hits = np.flatnonzero(paired & (sims >= params.reuse_min_similarity))
    if len(hits) == 0:
        return []
    t = a.fp.offsets_s
    breaks = np.flatnonzero(np.diff(t[hits]) > params.reuse_max_match_gap_s) + 1
    out = []
    for run in np.split(hits, breaks):
        i0, i1 = int(run[0]), int(run[-1])
        duration = float(t[i1] - t[i0])
        considered = paired[i0:i1 + 1].sum()
        if (len(run) < params.reuse_min_matching_samples or duration < params.reuse_min_run_s
                or len(run) < params.reuse_min_match_fraction * considered):
            continue
        out.append(ReuseMatch(
            path_a=a.fp.path, path_b=b.fp.path, offset_a_s=round(float(t[i0]), 2),
            offset_b_s=round(float(b.fp.offsets_s[j[i0]]), 2), duration_s=round(duration, 2),
            similarity=round(float(np.mean(sims[run])), 4), matching_samples=len(run), method="motion_signature",
            margin=round(margin, 4)))
    return out


def _identical(a: Fingerprint, b: Fingerprint) -> ReuseMatch:
    duration = float(a.offsets_s[-1]) if len(a.offsets_s) else 0.0
    return ReuseMatch(a.path, b.path, 0.0, 0.0, duration, 1.0, len(a.offsets_s), "identical_file")


def compare_pair(a: Fingerprint, b: Fingerprint, params: VideoParams | None = None,
                 screen: bool = True) -> tuple[PairProfile, list[ReuseMatch]]:
    """One pair in detail (no view filter): its offset profile and the runs reported at its best offset.
    `screen=False` computes the whole profile even for pairs that cannot match (to show distributions)."""
    params = params or VideoParams()
    pa, pb = _prepare(a, params), _prepare(b, params)
    return _compare(pa, pb, params, screen)


def _compare(a: _Prepared, b: _Prepared, params: VideoParams, screen: bool = True) -> tuple[PairProfile, list[ReuseMatch]]:
    profile = pair_profile(a, b, params, screen)
    if profile.delta_s is None or profile.margin < params.reuse_min_margin:
        return profile, []
    runs = _runs_at(a, b, profile.delta_s, params, profile.margin)
    return profile, runs


def median_view(fp: Fingerprint) -> np.ndarray:
    """The recording's median image (unit vector): what the cheap view filter compares."""
    x = fp.vectors.astype(np.float32)
    return _unit(np.median(x, axis=0)) if len(x) else np.zeros(x.shape[1], np.float32)


def candidate_pairs(index: Mapping[str, tuple], new: set[str], params: VideoParams) -> list[tuple[str, str, str]]:
    """The pairs worth comparing, each once (path_a sorts first), among those with at least one side in
    `new`: ("identical", a, b) for the same SHA-256, ("compare", a, b) where the median views agree
    (`reuse_candidate_min_similarity`). `index` maps a path to (sha256, median view, ...). The view
    similarity is computed in float64 whichever side is new, so a nightly run that compares only new
    recordings keeps the pairs a full run keeps (to the last bits of a float64 dot product)."""
    paths = sorted(index)
    pos = {p: i for i, p in enumerate(paths)}
    rows = sorted(pos[p] for p in new if p in pos)
    if len(paths) < 2 or not rows:
        return []
    medians = np.stack([np.asarray(index[p][1], np.float64) for p in paths])
    by_sha: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        if index[p][0]:
            by_sha.setdefault(index[p][0], []).append(i)
    fresh = set(rows)
    out = []
    for start in range(0, len(rows), 256):
        block = rows[start:start + 256]
        sims = medians[block] @ medians.T
        for r, i in enumerate(block):
            sha = index[paths[i]][0]
            similar = set(np.flatnonzero(sims[r] >= params.reuse_candidate_min_similarity).tolist())
            for j in sorted(similar | set(by_sha.get(sha, ()) if sha else ())):
                if j == i or (j in fresh and j < i):  # a pair of two new recordings: once, from its first
                    continue
                a, b = (paths[i], paths[j]) if i < j else (paths[j], paths[i])
                out.append(("identical" if sha and index[paths[j]][0] == sha else "compare", a, b))
    return sorted(out, key=lambda t: (t[1], t[2]))


def compare_candidates(pairs: Sequence[tuple[str, str, str]], fingerprint, params: VideoParams) -> list[ReuseMatch]:
    """The matches of candidate pairs; `fingerprint(path)` gives a recording's fingerprint."""
    prepared: dict[str, _Prepared] = {}

    def get(path: str) -> _Prepared:
        if path not in prepared:
            prepared[path] = _prepare(fingerprint(path), params)
        return prepared[path]

    out: list[ReuseMatch] = []
    for kind, a, b in pairs:
        if kind == "identical":
            out.append(_identical(fingerprint(a), fingerprint(b)))
        else:
            out.extend(_compare(get(a), get(b), params)[1])
    return out


def find_reused(
    fingerprints_by_recording: Mapping[object, Fingerprint] | Iterable[Fingerprint],
    params: VideoParams | None = None,
) -> list[ReuseMatch]:
    """Every pair of recordings (across the whole archive) sharing footage, each pair once
    (path_a sorts before path_b), with where the shared footage starts in each."""
    params = params or VideoParams()
    fps = list(fingerprints_by_recording.values()) if isinstance(fingerprints_by_recording, Mapping) else list(fingerprints_by_recording)
    by_path = {str(fp.path): fp for fp in fps if len(fp.offsets_s)}
    index = {p: (fp.sha256, median_view(fp)) for p, fp in by_path.items()}
    out = compare_candidates(candidate_pairs(index, set(index), params), by_path.__getitem__, params)
    return sorted(out, key=lambda m: (str(m.path_a), str(m.path_b), m.offset_a_s))
