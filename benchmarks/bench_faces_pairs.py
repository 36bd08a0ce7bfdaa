"""Pair distances on identities_dev for the two thresholds that compare faces with faces, not with a probe:
`same_face_max_distance` (two roster entries' enrollment photos closer than this are one face enrolled twice,
IDENTITY_SHARED) and `cluster_threshold` (unknown faces of a class within it of a cluster's centre are one
unknown person, pipeline.attendance.presence.cluster_unknowns).

identities_dev (benchmarks/identities_dev.py): 150 people with one enrollment photo and 740 other photos,
200 strangers; the face used is the photo's subject; other photos also shrunk to 40 and 30 px face width on
a grey canvas and detected again. One encoder per run (default: sface, the pipeline's default).

- Enrollment pairs (full size, as enrollment photos are): different people are every pair of enrollment
  photos and every enrollment x stranger pair; the same person is an enrollment photo against each of the
  person's other photos (someone enrolled twice with two photos). For each threshold: the share of
  different-people pairs within it (false IDENTITY_SHARED per pair, and the expected number in a roster of
  50, 1,225 pairs) and the share of same-person pairs caught.
- Unknown faces (40 px, 30 px and the two mixed, as a classroom camera sees them): pair distances between
  photos of one person and of two people; then `cluster_unknowns` itself on simulated classes: 3 unknown
  people drawn at random (2,000 draws), each seen in every one of their other photos (one unknown track per
  photo, sizes drawn from 40/30 px), in random order. Split: an unknown person spread over several
  clusters (reported as two unknown people); merged: a cluster holding two people (one finding for two).

    .venv/bin/python benchmarks/bench_faces_pairs.py [--encoder sface] [--limit N]

Writes benchmarks/results/faces_pairs.md.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
import platform
import sys
import time
from types import SimpleNamespace

import numpy as np

from pipeline.faces.params import FaceParams
from pipeline.attendance.presence import cluster_unknowns

sys.path.insert(0, str(Path(__file__).resolve().parent))
import identities_dev as idv  # noqa: E402  (the calibration set's loader, beside this script)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "faces_pairs.md"
GRIDS = {"sface": np.round(np.arange(0.60, 1.201, 0.05), 2), "dlib": np.round(np.arange(0.30, 0.651, 0.025), 3)}
ROSTER = 50
DRAWS = 2000
PEOPLE_PER_CLASS = 3


def pairwise(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Distances of every pair (rows of a with rows of b; within a: each unordered pair once), NaN rows out."""
    a = a[np.isfinite(a[:, 0])]
    if b is None:
        d = np.linalg.norm(a[:, None] - a[None], axis=2)
        return d[np.triu_indices(len(a), 1)]
    b = b[np.isfinite(b[:, 0])]
    return np.linalg.norm(a[:, None] - b[None], axis=2).ravel()


def same_and_different(enc: np.ndarray, ids: np.ndarray,
                       enc2: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of photos of one person and of two people (photos as rows; enc2: the same photos at another size,
    pairs taken across the two sizes, a photo never with itself)."""
    other = enc if enc2 is None else enc2
    d = np.linalg.norm(enc[:, None] - other[None], axis=2)
    same_id = ids[:, None] == ids[None]
    upper = np.triu(np.ones_like(same_id), 1).astype(bool) if enc2 is None else ~np.eye(len(ids), dtype=bool)
    ok = upper & np.isfinite(d)
    return d[ok & same_id], d[ok & ~same_id]


def simulate_clusters(enc: dict, ids: np.ndarray, threshold: float, rng: np.random.Generator) -> tuple[float, float]:
    """(share of unknown people split over several clusters, share of draws with a cluster of two people)."""
    people = np.unique(ids)
    split = merged = total = 0
    for _ in range(DRAWS):
        chosen = rng.choice(people, PEOPLE_PER_CLASS, replace=False)
        rows = np.flatnonzero(np.isin(ids, chosen))
        sizes = rng.choice(list(enc), len(rows))
        vecs = np.stack([enc[s][r] for s, r in zip(sizes, rows)])
        keep = np.isfinite(vecs[:, 0])
        rows, vecs = rows[keep], vecs[keep]
        order = rng.permutation(len(rows))
        rows, vecs = rows[order], vecs[order]
        clusters = cluster_unknowns([SimpleNamespace(unknown_encodings=vecs)], threshold)
        who = [{ids[rows[k]] for _, k in c.members} for c in clusters]
        for p in set(ids[rows]):
            total += 1
            split += sum(p in w for w in who) > 1
        merged += any(len(w) > 1 for w in who)
    return split / max(total, 1), merged / DRAWS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder", choices=("sface", "dlib"), default="sface")
    ap.add_argument("--limit", type=int, default=None, help="first N people and N strangers (a quick check)")
    args = ap.parse_args()
    params = FaceParams(encoder=args.encoder)
    grid = GRIDS[args.encoder]
    t0, c0 = time.perf_counter(), time.process_time()
    data = idv.load(DATA / "identities_dev", params, args.limit)
    rows = data["rows"]
    roles = np.array([r["role"] for r in rows])
    ids = np.array([r["identity"] for r in rows])
    enc = {size: idv.encode(data["faces"][size], params)[0] for size in idv.SIZES}
    enroll, probe, stranger = (np.flatnonzero(roles == k) for k in ("enroll", "probe", "stranger"))
    gal = enc["full"][enroll]
    own = {ids[i]: k for k, i in enumerate(enroll)}

    # enrollment pairs
    diff = np.concatenate([pairwise(gal), pairwise(enc["full"][stranger], gal)])
    same = np.array([np.linalg.norm(enc["full"][i] - gal[own[ids[i]]]) for i in probe])
    same = same[np.isfinite(same)]
    lines = [f"# Pair distances on identities_dev ({args.encoder}): same_face_max_distance and cluster_threshold\n",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared. {len(enroll)} enrolled people, "
             f"{len(probe)} other photos, {len(stranger)} strangers; {len(diff):,} different-people enrollment "
             f"pairs, {len(same)} same-person pairs. Configured now: same_face_max_distance "
             f"{params.same_face_max_distance}, cluster_threshold {params.cluster_threshold}, match_threshold "
             f"{params.match_threshold}.\n",
             "## Enrollment photos (same_face_max_distance, IDENTITY_SHARED)\n",
             f"Different people: nearest pair {diff.min():.3f}, 0.01% / 0.1% / 1% quantiles "
             f"{np.quantile(diff, 0.0001):.3f} / {np.quantile(diff, 0.001):.3f} / {np.quantile(diff, 0.01):.3f}. "
             f"Same person (two different photos): median {np.median(same):.3f}, 90% {np.quantile(same, 0.9):.3f}, "
             f"99% {np.quantile(same, 0.99):.3f}.\n",
             f"| threshold | different-people pairs within | expected false pairs in a roster of {ROSTER} | "
             "same person, two photos, caught |", "|---|---|---|---|"]
    n_pairs = ROSTER * (ROSTER - 1) // 2
    for t in grid:
        rate = float((diff <= t).mean())
        lines.append(f"| {t:g} | {int((diff <= t).sum())} ({rate:.5f}) | {rate * n_pairs:.3f} | "
                     f"{(same <= t).mean():.3f} |")

    # unknown faces in video
    small = {s: enc[s][probe] for s in (40, 30)}
    pid = ids[probe]
    lines += ["\n## Unknown faces in video (cluster_threshold)\n",
              "Pairs of other photos (not enrollment photos), both shrunk:\n",
              "| sizes | same person: median / 90% / 99% | different people: nearest / 0.1% / 1% |",
              "|---|---|---|"]
    for label, a, b in (("40 x 40 px", small[40], None), ("30 x 30 px", small[30], None),
                        ("40 x 30 px", small[40], small[30])):
        s, d = same_and_different(a, pid, b)
        lines.append(f"| {label} | {np.median(s):.3f} / {np.quantile(s, 0.9):.3f} / {np.quantile(s, 0.99):.3f} | "
                     f"{d.min():.3f} / {np.quantile(d, 0.001):.3f} / {np.quantile(d, 0.01):.3f} |")
    lines += ["", f"cluster_unknowns on simulated classes: {PEOPLE_PER_CLASS} unknown people per draw, {DRAWS} draws, "
                  "every other photo of each as one unknown track (40 or 30 px at random), random order.\n",
              "| threshold | unknown people split (reported twice or more) | draws with two people in one cluster |",
              "|---|---|---|"]
    for t in grid:
        split, merged = simulate_clusters(small, pid, float(t), np.random.default_rng(1))
        lines.append(f"| {t:g} | {split:.3f} | {merged:.3f} |")
    lines.append(f"\n{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU (detection, "
                 "encoding, simulation; one thread).")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.limit is None:
        OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
