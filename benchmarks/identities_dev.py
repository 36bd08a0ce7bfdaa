"""Recognition on ../shared/data/identities_dev: one enrollment photo per person, both encoders, by face size.

identities_dev (labels.csv: path, identity, role): 150 enrolled people (LFW deep-funneled, enrollment photo
`_0001`), 740 other photos of them (probes) and 200 strangers. Some photos show other people too: the face
used is the subject (pipeline.faces.gallery.subject_face) and, where that is ambiguous, the face nearest the
centre. Probes and strangers are also shrunk to 40 and 30 px face width on a plain canvas and detected again,
as a classroom camera sees faces (the gallery stays full size, as enrollment photos are).

Detection runs once per photo and size; each encoder then encodes the same faces (same run, same crops).
For each encoder and size, at every threshold of a grid:
- top-1: share of all probes whose nearest enrolled person is right AND within the threshold (a probe whose
  face is no longer found counts as missed);
- genuine accepted: share of probes within the threshold of their own person;
- strangers accepted: share of strangers within the threshold of anyone (not found: rejected).
The threshold is the largest that accepts at most 1% of strangers at every size (full, 40 px, 30 px).
Used by benchmarks/bench_faces_recognition.py (writes benchmarks/results/faces_recognition.md).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
import time

import cv2
import numpy as np

from pipeline.faces import adapter
from pipeline.faces.detections import FaceDetections
from pipeline.faces.gallery import centre_offsets, subject_face
from pipeline.faces.images import read_image
from pipeline.faces.params import FaceParams

SIZES = ("full", 40, 30)
GRIDS = {"sface": np.round(np.arange(0.80, 1.301, 0.01), 2), "dlib": np.round(np.arange(0.30, 0.701, 0.01), 2)}
MAX_STRANGERS = 0.01
RELAXED = {"sface": [(0.0, 0.0), (0.03, 0.1), (0.05, 0.1), (0.05, 0.15), (0.08, 0.15), (0.1, 0.15), (0.1, 0.2)],
           "dlib": [(0.0, 0.0), (0.03, 0.05), (0.05, 0.1), (0.05, 0.15), (0.08, 0.1), (0.1, 0.15)]}


@dataclass
class Face:
    image: np.ndarray  # the image the face was detected in (the photo, or the shrunk canvas)
    dets: FaceDetections  # one row


def pick_subject(image: np.ndarray, params: FaceParams) -> tuple[FaceDetections | None, str]:
    """The photo's subject: ("subject" when clear, "centre" when only nearest the centre, "none")."""
    dets = adapter.detect_faces(image, params)
    if not len(dets):
        return None, "none"
    pick = subject_face(dets, image.shape, params)
    how = "subject" if pick is not None else "centre"
    if pick is None:
        pick = int(np.argmin(centre_offsets(dets, image.shape)))
    return dets.filter(np.arange(len(dets)) == pick), how


def shrink(image: np.ndarray, dets: FaceDetections, face_px: int, params: FaceParams) -> Face | None:
    """The face shrunk to `face_px` wide on a grey canvas, detected again (None if no longer found)."""
    x, y, w, h = dets.boxes_xywh[0]
    pad = w
    crop = image[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad]
    small = cv2.resize(crop, None, fx=face_px / w, fy=face_px / w, interpolation=cv2.INTER_AREA)
    canvas = np.full((small.shape[0] + 2 * face_px, small.shape[1] + 2 * face_px, 3), 128, np.uint8)
    canvas[face_px:face_px + small.shape[0], face_px:face_px + small.shape[1]] = small
    found = adapter.detect_faces(canvas, params)
    if not len(found):
        return None
    biggest = int(np.argmax(found.boxes_xywh[:, 2] * found.boxes_xywh[:, 3]))
    return Face(canvas, found.filter(np.arange(len(found)) == biggest))


def load(data: Path, params: FaceParams, limit: int | None = None) -> dict:
    """Detections for every photo and size: {"rows": labels, "faces": {size: [Face | None]}, "how": [...]}."""
    with open(data / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if limit:
        keep = sorted({r["identity"] for r in rows if r["role"] == "enroll"})[:limit]
        strangers = [r for r in rows if r["role"] == "stranger"][:limit]
        rows = [r for r in rows if r["identity"] in keep] + strangers
    faces: dict = {s: [] for s in SIZES}
    how = []
    t0, c0 = time.perf_counter(), time.process_time()
    for n, r in enumerate(rows):
        if n % 100 == 0:
            print(f"identities_dev: detecting {n}/{len(rows)} ({time.process_time() - c0:.0f} s CPU)", flush=True)
        image = read_image(data / r["path"])
        dets, kind = pick_subject(image, params)
        how.append(kind)
        full = Face(image, dets) if dets is not None else None
        faces["full"].append(full)
        for px in SIZES[1:]:
            faces[px].append(shrink(image, dets, px, params) if full is not None and r["role"] != "enroll" else None)
    return {"rows": rows, "faces": faces, "how": how, "detect_wall_s": time.perf_counter() - t0,
            "detect_cpu_s": time.process_time() - c0}


def encode(faces: list[Face | None], params: FaceParams) -> tuple[np.ndarray, float, int]:
    """(N, 128) encodings (NaN rows where no face), encoder CPU seconds, faces encoded."""
    out = np.full((len(faces), adapter.ENCODING_DIM), np.nan, np.float32)
    cpu, n = 0.0, 0
    for i, f in enumerate(faces):
        if f is None:
            continue
        c0 = time.process_time()
        out[i] = adapter.encode_faces(f.image, f.dets, params)[0]
        cpu += time.process_time() - c0
        n += 1
    return out, cpu, n


def distances(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(probes[:, None, :] - gallery[None, :, :], axis=2)
    return np.where(np.isnan(d), np.inf, d)


@dataclass
class SizeResult:
    size: object
    probes_found: int
    probes: int
    strangers_found: int
    strangers: int
    closed_top1: float  # nearest person right, no threshold
    top1: np.ndarray  # per grid threshold
    genuine: np.ndarray
    strangers_acc: np.ndarray
    own: np.ndarray  # per probe: distance to own person
    nearest_p: np.ndarray
    second_p: np.ndarray
    right: np.ndarray  # per probe: nearest person is own
    nearest_s: np.ndarray
    second_s: np.ndarray


def evaluate(data: dict, params: FaceParams, grid: np.ndarray) -> tuple[dict, dict]:
    rows = data["rows"]
    roles = np.array([r["role"] for r in rows])
    ids = np.array([r["identity"] for r in rows])
    enroll = np.flatnonzero(roles == "enroll")
    people = ids[enroll]
    gal, gal_cpu, gal_n = encode([data["faces"]["full"][i] for i in enroll], params)
    cost = {"cpu_s": gal_cpu, "faces": gal_n, "enrolled": int(np.isfinite(gal[:, 0]).sum())}
    out = {}
    encs = {}
    for size in SIZES:
        probe_idx = np.flatnonzero(roles == "probe")
        stranger_idx = np.flatnonzero(roles == "stranger")
        p_enc, c1, n1 = encode([data["faces"][size][i] for i in probe_idx], params)
        s_enc, c2, n2 = encode([data["faces"][size][i] for i in stranger_idx], params)
        cost["cpu_s"] += c1 + c2
        cost["faces"] += n1 + n2
        encs[size] = (p_enc, s_enc)
        dp, ds = distances(p_enc, gal), distances(s_enc, gal)
        own_col = np.array([np.flatnonzero(people == w)[0] for w in ids[probe_idx]])
        own = dp[np.arange(len(dp)), own_col]
        order_p, order_s = np.sort(dp, axis=1), np.sort(ds, axis=1)
        right = dp.argmin(axis=1) == own_col
        found_p, found_s = np.isfinite(order_p[:, 0]), np.isfinite(order_s[:, 0])
        top1 = np.array([(right & (order_p[:, 0] <= t)).mean() for t in grid])
        genuine = np.array([(own <= t).mean() for t in grid])
        acc = np.array([(order_s[:, 0] <= t).mean() for t in grid])
        out[size] = SizeResult(size, int(found_p.sum()), len(dp), int(found_s.sum()), len(ds),
                               float((right & found_p).mean()), top1, genuine, acc, own, order_p[:, 0],
                               order_p[:, 1], right, order_s[:, 0], order_s[:, 1])
    cost["gallery"] = gal
    cost["encodings"] = encs
    return out, cost


def pick_threshold(results: dict, grid: np.ndarray) -> float:
    ok = np.ones(len(grid), bool)
    for r in results.values():
        ok &= r.strangers_acc <= MAX_STRANGERS
    return float(grid[np.flatnonzero(ok).max()]) if ok.any() else float(grid[0])


def relaxed_rates(r: SizeResult, strict: float, relaxed: float, margin: float) -> tuple[float, float, float]:
    """(top-1, genuine accepted, strangers accepted) with the relaxed rule of Gallery.assign."""
    nearest_ok = (r.nearest_p <= strict) | ((r.nearest_p <= relaxed) & (r.second_p - r.nearest_p >= margin))
    top1 = (r.right & nearest_ok).mean()
    genuine = ((r.own <= strict) | (r.right & (r.own <= relaxed) & (r.second_p - r.own >= margin))).mean()
    stranger = ((r.nearest_s <= strict) | ((r.nearest_s <= relaxed) & (r.second_s - r.nearest_s >= margin))).mean()
    return float(top1), float(genuine), float(stranger)


def pair_stats(data: dict, cost: dict, grid: np.ndarray) -> dict:
    """Same-person and different-person pair distances at full size: enrollment photo vs the person's other
    photos (same), enrollment photos of two people and enrollment vs strangers (different)."""
    rows = data["rows"]
    roles = np.array([r["role"] for r in rows])
    ids = np.array([r["identity"] for r in rows])
    gal = cost["gallery"]
    people = ids[roles == "enroll"]
    p_enc, s_enc = cost["encodings"]["full"]
    dp = distances(p_enc, gal)
    own_col = np.array([np.flatnonzero(people == w)[0] for w in ids[roles == "probe"]])
    same = dp[np.arange(len(dp)), own_col]
    same = same[np.isfinite(same)]
    dg = distances(gal, gal)
    iu = np.triu_indices(len(gal), 1)
    diff = np.concatenate([dg[iu], distances(s_enc, gal).ravel()])
    diff = diff[np.isfinite(diff)]
    ss = distances(s_enc, s_enc)[np.triu_indices(len(s_enc), 1)]
    diff_all = np.concatenate([diff, ss[np.isfinite(ss)]])
    return {"same": same, "diff": diff, "diff_all": diff_all}
