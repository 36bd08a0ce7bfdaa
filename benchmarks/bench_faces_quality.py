"""Calibrate the face-quality gate (pipeline/faces/quality.py) on real faces.

1. identities_dev (../shared/data/identities_dev): every probe and stranger, at full size and shrunk so its
   face is 40, 30, 24 and 20 px wide (the whole photo is resized, then detected again; the face nearest
   the centre is used). For each face: the gate's measures, and the encoder's distance to the person's own
   enrollment photo (probes) or to the nearest enrolled person (strangers). A gate is good when the faces
   it rejects are the ones whose distances are unreliable: genuine faces past the threshold, strangers
   inside it.
2. count_dev (WIDER FACE val, official labels): detected faces matched to labelled boxes (IoU >= 0.4); the
   measures per label (blur 0/1/2, pose typical/atypical, occlusion), i.e. how much of what WIDER's
   annotators call heavy blur or an atypical pose the gate rejects, and how much of the clear, typical
   faces it keeps.

Writes benchmarks/results/faces_quality.md. CPU seconds next to wall time (shared 2-core machine).

    .venv/bin/python benchmarks/bench_faces_quality.py [--people 150]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.faces import adapter, quality  # noqa: E402
from pipeline.faces.detections import iou_matrix  # noqa: E402
from pipeline.faces.gallery import Gallery  # noqa: E402
from pipeline.faces.params import FaceParams  # noqa: E402

DATA = ROOT / ".." / "shared" / "data"
OUT = ROOT / "benchmarks" / "results" / "faces_quality.md"
WIDTHS = (None, 40, 30, 20)


def centre_face(image, params):
    dets = adapter.detect_faces(image, params)
    if not len(dets):
        return None
    h, w = image.shape[:2]
    c = dets.boxes_xywh[:, :2] + dets.boxes_xywh[:, 2:] / 2
    i = int(np.argmin(np.linalg.norm(c - [w / 2, h / 2], axis=1)))
    return dets.filter(np.arange(len(dets)) == i)


def identities(people: int, strangers: int, params: FaceParams):
    rows = list(csv.DictReader(open(DATA / "identities_dev" / "labels.csv", newline="")))
    enroll = {r["identity"]: r["path"] for r in rows if r["role"] == "enroll"}
    names = sorted(enroll)[:people]
    gallery = Gallery.from_photos({n: [DATA / "identities_dev" / enroll[n]] for n in names}, params, strict=False)
    probes = [(r["path"], r["identity"]) for r in rows if r["role"] == "probe" and r["identity"] in names]
    strangers = [(r["path"], None) for r in rows if r["role"] == "stranger"][:strangers]
    out = []
    for path, who in probes + strangers:
        img = cv2.imread(str(DATA / "identities_dev" / path))
        full = centre_face(img, params)
        if full is None:
            out.append({"path": path, "who": who, "width": "full", "found": False})
            continue
        for width in WIDTHS:
            im = img
            if width is not None:
                k = width / float(full.boxes_xywh[0, 2])
                im = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
            det = centre_face(im, params) if width is not None else full
            row = {"path": path, "who": who, "width": width or "full", "found": det is not None}
            if det is not None:
                q = quality.measure(im, det)
                enc = adapter.encode_faces(im, det, params)
                d = gallery.distances(enc)[0]
                row.update(q.row(0))
                if who is not None and who in gallery.identities:
                    row["d_own"] = float(d[gallery.identities.index(who)])
                    others = np.delete(d, gallery.identities.index(who))
                    row["d_other"] = float(others.min())
                else:
                    row["d_other"] = float(d.min())
            out.append(row)
    return out, gallery.threshold


def wider(params: FaceParams):
    out = []
    for gt in sorted((DATA / "count_dev").glob("*.gt.txt")):
        lines = gt.read_text().split("\n")
        n = int(lines[1])
        boxes = np.array([[int(v) for v in ln.split()[:10]] for ln in lines[2:2 + n] if ln.strip()]).reshape(-1, 10)
        boxes = boxes[boxes[:, 7] == 0]  # valid only
        img = cv2.imread(str(gt.with_name(gt.name.replace(".gt.txt", ".jpg"))))
        dets = adapter.detect_faces(img, params)
        if not len(dets) or not len(boxes):
            continue
        q = quality.measure(img, dets)
        iou = iou_matrix(dets.boxes_xywh, boxes[:, :4])
        for i in range(len(dets)):
            j = int(np.argmax(iou[i]))
            if iou[i, j] >= 0.4:
                out.append({**q.row(i), "blur": int(boxes[j, 4]), "occlusion": int(boxes[j, 8]),
                            "pose": int(boxes[j, 9])})
    return out


def share(rows, mask_fn):
    rows = list(rows)
    return (sum(1 for r in rows if mask_fn(r)) / len(rows)) if rows else float("nan"), len(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=150)
    ap.add_argument("--strangers", type=int, default=200)
    a = ap.parse_args()
    params = FaceParams()
    t0, c0 = time.perf_counter(), time.process_time()
    ids, thr = identities(a.people, a.strangers, params)
    wid = wider(params)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0

    def gate(r):
        q = quality.FaceQuality(*(np.array([r[k]]) for k in ("size_px", "yaw", "pitch", "eyes", "sharpness")))
        return bool(quality.judged(q, params)[0])

    lines = ["# Face-quality gate, calibrated on real faces", "",
             f"Encoder as configured (threshold {thr}); gate: size >= {params.recognition_min_face_px} px, "
             f"yaw <= {params.quality_max_yaw}, eyes >= {params.quality_min_eyes} of the box, pitch in "
             f"[{params.quality_min_pitch}, {params.quality_max_pitch}], sharpness >= {params.quality_min_sharpness}. "
             f"{wall:.0f} s wall, {cpu:.0f} s CPU on the shared 2-core VM; {a.people} enrolled people (their "
             f"probes) and {a.strangers} strangers of identities_dev, all 51 count_dev photos.", "",
             "## identities_dev: what the gate keeps, by face width", "",
             "genuine: a probe within the threshold of its own enrollment photo; stranger accepted: within the "
             "threshold of anyone enrolled. Both are shown for all faces and for the faces the gate judges.", "",
             "| width | faces found | judged | genuine accepted (all) | genuine accepted (judged) | "
             "genuine accepted (rejected) | strangers accepted (all) | strangers accepted (judged) |",
             "|---|---|---|---|---|---|---|---|"]
    for width in [w or "full" for w in WIDTHS]:
        rows = [r for r in ids if r["width"] == width and r.get("found")]
        gen = [r for r in rows if "d_own" in r]
        st = [r for r in rows if r["who"] is None]
        jg = [r for r in gen if gate(r)]
        rej = [r for r in gen if not gate(r)]
        js = [r for r in st if gate(r)]
        ok = lambda r: r["d_own"] <= thr  # noqa: E731
        acc = lambda r: r["d_other"] <= thr  # noqa: E731
        lines.append(f"| {width} | {len(rows)} | {share(rows, gate)[0]:.3f} | {share(gen, ok)[0]:.3f} ({len(gen)}) | "
                     f"{share(jg, ok)[0]:.3f} ({len(jg)}) | {share(rej, ok)[0]:.3f} ({len(rej)}) | "
                     f"{share(st, acc)[0]:.3f} ({len(st)}) | {share(js, acc)[0]:.3f} ({len(js)}) |")
    lines += ["", "## identities_dev: measures of the genuine faces, accepted vs missed (full size and 30 px)", "",
              "| width | outcome | n | yaw p50 / p90 / p99 | pitch p1 / p50 / p99 | eyes p1 / p50 | sharpness p1 / p10 / p50 |",
              "|---|---|---|---|---|---|---|"]
    for width in ("full", 30):
        for label, cond in (("accepted", True), ("missed", False)):
            rs = [r for r in ids if r["width"] == width and "d_own" in r and (r["d_own"] <= thr) == cond]
            if not rs:
                continue
            p = lambda k, qs: " / ".join(f"{np.nanpercentile([r[k] for r in rs], q):.2f}" for q in qs)  # noqa: E731
            lines.append(f"| {width} | {label} | {len(rs)} | {p('yaw', (50, 90, 99))} | {p('pitch', (1, 50, 99))} | "
                         f"{p('eyes', (1, 50))} | {p('sharpness', (1, 10, 50))} |")
    lines += ["", "## count_dev (WIDER labels): share of detected faces the gate judges", "",
              "| label | faces | judged | sharpness p10 / p50 | yaw p50 / p90 |", "|---|---|---|---|---|"]
    groups = [("all", lambda r: True), ("size >= 20 px", lambda r: r["size_px"] >= 20),
              ("clear (blur 0), typical pose, no occlusion, >= 20 px",
               lambda r: r["blur"] == 0 and r["pose"] == 0 and r["occlusion"] == 0 and r["size_px"] >= 20),
              ("blur 1 (normal), >= 20 px", lambda r: r["blur"] == 1 and r["size_px"] >= 20),
              ("blur 2 (heavy), >= 20 px", lambda r: r["blur"] == 2 and r["size_px"] >= 20),
              ("atypical pose, >= 20 px", lambda r: r["pose"] == 1 and r["size_px"] >= 20),
              ("heavy occlusion, >= 20 px", lambda r: r["occlusion"] == 2 and r["size_px"] >= 20)]
    for name, cond in groups:
        rs = [r for r in wid if cond(r)]
        if not rs:
            continue
        sh = np.percentile([r["sharpness"] for r in rs], [10, 50])
        yw = np.nanpercentile([r["yaw"] for r in rs], [50, 90])
        lines.append(f"| {name} | {len(rs)} | {share(rs, gate)[0]:.3f} | {sh[0]:.3f} / {sh[1]:.3f} | "
                     f"{yw[0]:.2f} / {yw[1]:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
