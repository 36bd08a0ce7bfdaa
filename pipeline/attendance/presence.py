"""Class-level face evidence from the recordings' face passes: unknown faces clustered across the class
(one cluster per unknown person), a person's sightings joined into presence intervals, and a robust
headcount per time window. Pure functions over the face stage's records (pipeline/faces/video.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pipeline.faces.video import HeadcountRow, Sighting, VideoFaceResult


@dataclass(frozen=True)
class UnknownCluster:
    cluster_id: str  # "unknown-<n>", stable for the same inputs
    members: tuple[tuple[int, int], ...]  # (result index, unknown index)
    representative: tuple[int, int]  # the member nearest the cluster centre (its snapshot is the evidence)


def cluster_unknowns(results: Sequence[VideoFaceResult], threshold: float) -> list[UnknownCluster]:
    """Unknown faces across a class's videos, one cluster per unknown person (greedy centroid linkage:
    each face joins the nearest cluster centre within ``threshold``, else starts a cluster)."""
    keys = [(r, k) for r, res in enumerate(results) for k in range(len(res.unknown_encodings))]
    if not keys:
        return []
    enc = np.concatenate([res.unknown_encodings for res in results])
    centres: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, e in enumerate(enc):
        if centres:
            d = np.linalg.norm(np.asarray(centres) - e, axis=1)
            c = int(np.argmin(d))
            if d[c] <= threshold:
                members[c].append(i)
                centres[c] = enc[members[c]].mean(axis=0)
                continue
        centres.append(e.copy())
        members.append([i])
    out = []
    for n, (centre, idx) in enumerate(zip(centres, members)):
        rep = idx[int(np.argmin(np.linalg.norm(enc[idx] - centre, axis=1)))]
        out.append(UnknownCluster(f"unknown-{n + 1}", tuple(keys[i] for i in idx), keys[rep]))
    return out


def presence_intervals(sightings: Iterable[Sighting], gap_tolerance_s: float,
                       person_of=lambda s: s.person_id,
                       unseeable: Sequence[tuple[float, float]] = ()) -> dict[str, list[tuple[float, float]]]:
    """{person: [(start_s, end_s), ...]}: sightings of one person closer than gap_tolerance_s are joined.
    ``person_of`` maps a sighting to its person (e.g. an unknown's cluster id); None is skipped.
    ``unseeable``: (start_s, end_s) stretches where nobody can be seen (a black or covered lens); they do
    not count towards a gap, so a trainee seen just before and after a covered lens is one interval (the
    covered time itself is cut from observed time later, with the rest of the unusable video)."""
    times: dict[str, list[float]] = defaultdict(list)
    for s in sightings:
        who = person_of(s)
        if who is not None:
            times[who].append(s.offset_s)

    def gap(a: float, b: float) -> float:
        hidden = sum(max(0.0, min(b, hi) - max(a, lo)) for lo, hi in unseeable)
        return b - a - hidden

    out: dict[str, list[tuple[float, float]]] = {}
    for who, ts in times.items():
        ts = sorted(set(ts))
        spans = [[ts[0], ts[0]]]
        for t in ts[1:]:
            if gap(spans[-1][1], t) <= gap_tolerance_s:
                spans[-1][1] = t
            else:
                spans.append([t, t])
        out[who] = [(a, b) for a, b in spans]
    return out


@dataclass(frozen=True)
class HeadcountWindow:
    start_s: float
    end_s: float
    samples: int
    faces: float  # the window's quantile of per-frame counts
    identified: float
    unknown: float
    peak_offset_s: float  # the sample with the most faces (snapshot for HEADCOUNT_MISMATCH)


def robust_headcount(rows: Sequence[HeadcountRow], window_s: float, quantile: float) -> list[HeadcountWindow]:
    """Per window of ``window_s``: a high quantile of the per-frame counts (people look down, turn away:
    a single frame undercounts far more often than it overcounts)."""
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: r.offset_s)
    start = rows[0].offset_s
    buckets: dict[int, list[HeadcountRow]] = defaultdict(list)
    for r in rows:
        buckets[int((r.offset_s - start) // window_s)].append(r)
    out = []
    for b, rs in sorted(buckets.items()):
        def q(attr: str) -> float:
            return float(np.quantile([getattr(r, attr) for r in rs], quantile))
        peak = max(rs, key=lambda r: r.faces)
        out.append(HeadcountWindow(start + b * window_s, start + (b + 1) * window_s, len(rs), q("faces"),
                                   q("identified"), q("unknown"), peak.offset_s))
    return out
