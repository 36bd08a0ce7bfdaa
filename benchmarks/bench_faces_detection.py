"""Face detection, box by box: recall and precision by face height, count error per photo, cost.

Data (used where it lies, never copied): ``../shared/data/count_dev/`` (51 WIDER FACE validation photos of
meetings, groups, pupils and crowds, 2,826 faces with the official boxes: where the defaults are chosen)
and the development photos of ``labels.json`` (19 images, 156 faces: the "no regression" check).

Matching: one-to-one, greedy by IoU, at IoU >= 0.4 (a detector's box and WIDER's differ in extent).
WIDER's invalid faces are not scored (a box on one is neither right nor wrong). A face's bucket is its
reference height; a detection's is the height of the face it matched, else its own height. Recall and
precision ">= 10 px" pool every bucket from 10 px up.

Detectors: YuNet (the default; rows named by their setting only) and CenterFace (``detector: centerface``),
side by side in one run. YuNet runs in OpenCV (``yunet_runtime: opencv``, the default) or in libfacedetection
(``yunet_runtime: yuface``, the runtime before issue 19): both at the default setting, by face height.

Cost: CPU seconds of ``detect_faces`` per count_dev photo (1024 px wide) and per 1080p classroom frame
(40 seated faces of 25-60 px, 12 back-row faces of 10-18 px, pasted from the development photos onto a
plain room, never saved), and what that makes per hour of video at the default sampling interval.
One compute thread. Writes benchmarks/results/faces_detection.md.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_faces_detection.py [--quick]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path
import platform
import time

import cv2
import numpy as np

from bench_faces_speed import SEATS, classroom_frame, face_crops
from pipeline.faces.adapter import detect_faces
from pipeline.faces.evaluation import (SIZE_BUCKETS_PX, TruthBoxes, match_boxes, read_wider_gt, reference_boxes,
                                       score, score_by_height)
from pipeline.faces.params import FaceParams

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
COUNT_DEV = DATA / "count_dev"
OUT = Path(__file__).resolve().parent / "results" / "faces_detection.md"
MEETING = "wider_face_val_samples/11_Meeting_Meeting_11_Meeting_Meeting_11_176.jpg"
BEFORE = FaceParams().replace(min_face_px=14)  # the counting floor before count_dev
YUFACE = "yuface x1.0 score 0.6 min 8 px (YuNet's runtime before issue 19)"


def settings(quick: bool) -> list[tuple[str, FaceParams]]:
    """YuNet (rows without a name: the default detector) and CenterFace (detector=centerface), one run."""
    base = FaceParams()
    out = [("x1.0 score 0.6 min 14 px (before)", BEFORE),
           ("x1.0 score 0.6 min 8 px (default)", base),
           (YUFACE, base.replace(yunet_runtime="yuface"))]
    cf = base.replace(detector="centerface")
    centerface = [("CenterFace x1.0 score 0.4 min 8 px", cf),
                  ("CenterFace x1.0 score 0.3 min 8 px", cf.replace(centerface_score_threshold=0.3)),
                  ("CenterFace x1.5 score 0.4 min 8 px", cf.replace(upscale=1.5)),
                  ("CenterFace x1.5 score 0.3 min 8 px", cf.replace(upscale=1.5, centerface_score_threshold=0.3))]
    if quick:
        return out + [("x1.5 score 0.6 min 8 px", base.replace(upscale=1.5))] + centerface[:1]
    return out + centerface + [
        ("x1.0 score 0.5 min 8 px", base.replace(score_threshold=0.5)),
        ("x1.0 score 0.7 min 8 px", base.replace(score_threshold=0.7)),
        ("x1.0 score 0.6 min 10 px", base.replace(min_face_px=10)),
        ("x1.0 score 0.6 min 6 px", base.replace(min_face_px=6)),
        ("x1.5 score 0.6 min 8 px", base.replace(upscale=1.5)),
        ("x1.5 score 0.7 min 8 px", base.replace(upscale=1.5, score_threshold=0.7)),
        ("x2.0 score 0.6 min 8 px", base.replace(upscale=2.0)),
        ("x2.0 score 0.7 min 8 px", base.replace(upscale=2.0, score_threshold=0.7)),
    ]


def cpu_detect(image: np.ndarray, params: FaceParams):
    t0 = time.process_time()
    dets = detect_faces(image, params)
    return dets, time.process_time() - t0


def count_dev_photos() -> list[tuple[str, np.ndarray, TruthBoxes, int]]:
    """(name, image, reference boxes, faces_all) per count_dev photo, as labels.csv lists them."""
    with open(COUNT_DEV / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows, f"no photos listed in {COUNT_DEV / 'labels.csv'}"
    return [(r["path"], cv2.imread(str(COUNT_DEV / r["path"])), read_wider_gt(COUNT_DEV / r["path"].replace(".jpg", ".gt.txt")),
             int(r["faces_all"])) for r in rows]


def classroom_1080p() -> np.ndarray:
    rng = np.random.default_rng(7)
    crops = face_crops()
    seats = [(140 + (k % 10) * 170, 260 + (k // 10) * 190) for k in range(SEATS)]
    frame = classroom_frame(crops, rng.integers(25, 61, SEATS), seats, np.ones(SEATS, bool))
    for k in range(12):  # a back row far from the camera
        side = int(rng.integers(10, 19) * 1.6)
        x, y = 150 + k * 140, 150
        frame[y:y + side, x:x + side] = cv2.resize(crops[k], (side, side), interpolation=cv2.INTER_AREA)
    return frame


def evaluate_count_dev(photos, params: FaceParams):
    matches, per_photo, cpu = [], [], 0.0
    for name, image, truth, faces_all in photos:
        dets, s = cpu_detect(image, params)
        cpu += s
        matches.append(match_boxes(dets.boxes_xywh, truth))
        per_photo.append((name, faces_all, int((~truth.invalid & (truth.boxes_xywh[:, 3] >= 10)).sum()), len(dets)))
    return matches, per_photo, cpu / len(photos)


def evaluate_dev(dev, refs, params: FaceParams):
    rows, cpu = [], 0.0
    for rel, truth_count in dev:
        dets, s = cpu_detect(cv2.imread(str(DATA / rel)), params)
        cpu += s
        rows.append((rel, score(dets.boxes_xywh, truth_count, refs.get(rel))))
    return rows, cpu / len(dev)


def fmt(x: float) -> str:
    return "-" if x != x else f"{x:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="three settings only")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    photos = count_dev_photos()
    counts = json.loads((DATA / "labels.json").read_text())["counts"]
    dev = sorted((rel, v["faces"]) for rel, v in counts.items())
    assert dev, f"no labelled images under {DATA}"
    refs = reference_boxes(DATA)
    frame = classroom_1080p()
    default = FaceParams()
    samples_per_hour = 3600 / default.sample_interval_s
    n_faces = sum(p[3] for p in photos)
    lines = ["# Face detection, box by box\n",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other work), one compute thread "
             f"(`OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}`); times are CPU seconds. "
             f"`.venv/bin/python benchmarks/bench_faces_detection.py`.\n",
             f"count_dev: {len(photos)} WIDER FACE validation photos, {n_faces} valid faces. Boxes matched one-to-one "
             "at IoU >= 0.4; WIDER's invalid faces not scored; a detection's size bucket is its face's height if it "
             "matched one, else its own. Count error: boxes found minus valid faces, per photo. Development photos: "
             f"{len(dev)} images, {sum(t for _, t in dev)} faces (labels.json; boxes at IoU >= 0.3 where reference "
             "boxes exist, else counts).\n",
             "1080p cost: one classroom frame (40 faces of 25-60 px, 12 of 10-18 px); per video hour at one "
             f"sample every {default.sample_interval_s:g} s ({samples_per_hour:.0f} frames).\n",
             "## Settings on count_dev (defaults chosen here) and on the development photos\n",
             "| setting | recall >= 10 px | precision >= 10 px | recall >= 20 px | precision >= 20 px | "
             "mean count error / photo | mean abs. count error | CPU s / photo | CPU s / 1080p frame | "
             "detection CPU s / video hour | dev: found of 156 | dev: boxes | dev: precision | dev: WIDER meeting (17) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by_setting = {}
    for name, params in settings(args.quick):
        matches, per_photo, cpu_photo = evaluate_count_dev(photos, params)
        frame_cpu = min(cpu_detect(frame, params)[1] for _ in range(3))
        dev_rows, _ = evaluate_dev(dev, refs, params)
        ge10, ge20 = score_by_height(matches, 10), score_by_height(matches, 20)
        err = np.array([found - faces for _, faces, _, found in per_photo])
        matched = sum(s.matched for _, s in dev_rows)
        found = sum(s.found for _, s in dev_rows)
        meeting = next(s for rel, s in dev_rows if rel == MEETING)
        line = (f"| {name} | {fmt(ge10.recall)} | {fmt(ge10.precision)} | {fmt(ge20.recall)} | {fmt(ge20.precision)} | "
                f"{err.mean():+.1f} | {np.abs(err).mean():.1f} | {cpu_photo:.3f} | {frame_cpu:.3f} | "
                f"{frame_cpu * samples_per_hour:.0f} | {matched} | {found} | {matched / max(found, 1):.3f} | "
                f"{meeting.matched} ({meeting.found} boxes) |")
        print(line, flush=True)
        lines.append(line)
        by_setting[name] = (params, matches, per_photo, dev_rows, frame_cpu)
    lines += ["", "## By face height on count_dev: before (min 14 px) and the default (min 8 px)\n",
              "| height px | faces | found before | recall before | boxes before | precision before | "
              "found now | recall now | boxes now | precision now |", "|---|---|---|---|---|---|---|---|---|---|"]
    before = by_setting["x1.0 score 0.6 min 14 px (before)"]
    now = by_setting["x1.0 score 0.6 min 8 px (default)"]
    for label, lo, hi in SIZE_BUCKETS_PX:
        b, n = score_by_height(before[1], lo, hi), score_by_height(now[1], lo, hi)
        lines.append(f"| {label} | {n.faces} | {b.found} | {fmt(b.recall)} | {b.boxes} | {fmt(b.precision)} | "
                     f"{n.found} | {fmt(n.recall)} | {n.boxes} | {fmt(n.precision)} |")
    lines += ["", "## YuNet's runtime by face height on count_dev: OpenCV (the default) and yuface (before issue 19)\n",
              "| height px | faces | found yuface | recall yuface | boxes yuface | precision yuface | "
              "found OpenCV | recall OpenCV | boxes OpenCV | precision OpenCV |", "|---|---|---|---|---|---|---|---|---|---|"]
    yu = by_setting[YUFACE]
    for label, lo, hi in SIZE_BUCKETS_PX:
        b, n = score_by_height(yu[1], lo, hi), score_by_height(now[1], lo, hi)
        lines.append(f"| {label} | {n.faces} | {b.found} | {fmt(b.recall)} | {b.boxes} | {fmt(b.precision)} | "
                     f"{n.found} | {fmt(n.recall)} | {n.boxes} | {fmt(n.precision)} |")
    lines.append(f"\nCPU per 1080p frame: OpenCV {now[4]:.3f} s, yuface {yu[4]:.3f} s ({yu[4] / now[4]:.1f}x).")
    lines += centerface_sections(by_setting, samples_per_hour)
    lines += ["", "## What the default misses among faces >= 20 px (WIDER attributes)\n"]
    lines += missed_attributes(photos, now[1])
    lines += ["", f"## Per photo, default setting (count_dev)\n",
              "| photo | faces | faces >= 10 px | boxes | count error | recall >= 10 px | precision >= 10 px |",
              "|---|---|---|---|---|---|---|"]
    for (name, faces, ge10_n, found), m in zip(now[2], now[1]):
        s = score_by_height([m], 10)
        lines.append(f"| {name} | {faces} | {ge10_n} | {found} | {found - faces:+d} | {fmt(s.recall)} | "
                     f"{fmt(s.precision)} |")
    lines += ["", "## Per image, default setting (development photos)\n",
              "| image | faces | boxes | on a face | missed | false | matched by |", "|---|---|---|---|---|---|---|"]
    for rel, s in now[3]:
        lines.append(f"| {rel} | {s.truth} | {s.found} | {s.matched} | {s.missed} | {s.false_boxes} | "
                     f"{'IoU' if s.by_boxes else 'count'} |")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


def centerface_sections(by_setting, samples_per_hour: float) -> list[str]:
    """YuNet's default next to each CenterFace row by face height, and what CenterFace would cost per video
    hour on every sample or on one sample in 5 (a headcount every 150 s instead of 30 s)."""
    now = by_setting["x1.0 score 0.6 min 8 px (default)"]
    rows = [(name, v) for name, v in by_setting.items() if name.startswith("CenterFace")]
    if not rows:
        return []
    out = ["", "## YuNet (default) and CenterFace by face height on count_dev (same run)\n",
           "| height px | faces | YuNet recall | YuNet precision | " + " | ".join(
               f"{name.replace(' min 8 px', '')} recall | precision" for name, _ in rows) + " |",
           "|---|---|---|---|" + "---|---|" * len(rows)]
    for label, lo, hi in list(SIZE_BUCKETS_PX) + [(">=10", 10, 1 << 30), (">=20", 20, 1 << 30)]:
        y = score_by_height(now[1], lo, hi)
        cells = []
        for _, v in rows:
            c = score_by_height(v[1], lo, hi)
            cells += [fmt(c.recall), fmt(c.precision)]
        out.append(f"| {label} | {y.faces} | {fmt(y.recall)} | {fmt(y.precision)} | " + " | ".join(cells) + " |")
    out += ["", "## Detection CPU per hour of 1080p video (one thread)\n",
            "| detector | CPU s / 1080p frame | every sample (CPU s / video hour) | one sample in 5 (CPU s / video hour) |",
            "|---|---|---|---|",
            f"| YuNet default | {now[4]:.3f} | {now[4] * samples_per_hour:.0f} | {now[4] * samples_per_hour / 5:.0f} |"]
    for name, v in rows:
        out.append(f"| {name} | {v[4]:.3f} | {v[4] * samples_per_hour:.0f} | {v[4] * samples_per_hour / 5:.0f} |")
    return out


def missed_attributes(photos, matches) -> list[str]:
    """Missed valid faces >= 20 px, by WIDER's blur and occlusion labels (columns 5 and 9 of .gt.txt)."""
    rows_all, found_all = [], []
    for (name, _, truth, _), m in zip(photos, matches):
        lines = (COUNT_DEV / name.replace(".jpg", ".gt.txt")).read_text().split("\n")
        attrs = np.asarray([list(map(int, ln.split()[:10])) for ln in lines[2:2 + len(truth.boxes_xywh)]])
        attrs = attrs[~truth.invalid]
        keep = attrs[:, 3] >= 20
        rows_all.append(attrs[keep])
        found_all.append(m.truth_found[keep])
    attrs, found = np.concatenate(rows_all), np.concatenate(found_all)
    out = ["| faces >= 20 px | faces | found | recall |", "|---|---|---|---|"]
    for label, mask in (("all", np.ones(len(attrs), bool)),
                        ("heavy blur (blur 2)", attrs[:, 4] == 2), ("heavy occlusion (occlusion 2)", attrs[:, 8] == 2),
                        ("neither heavy blur nor heavy occlusion", (attrs[:, 4] < 2) & (attrs[:, 8] < 2))):
        out.append(f"| {label} | {int(mask.sum())} | {int(found[mask].sum())} | {fmt(found[mask].mean())} |")
    return out


if __name__ == "__main__":
    main()
