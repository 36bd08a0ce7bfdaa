"""Face detection on the labelled images of ../shared/data: recall, false boxes, time per image.

Prints a summary over detector settings and the per-image table of the chosen default, and writes both
to benchmarks/results/faces_detection.md. Reference: labels.json counts; where WIDER .gt.txt or dlib
imglab boxes exist, boxes are matched one-to-one by IoU (pipeline/faces/evaluation.py), otherwise
min(found, truth) counts as matched. The HOG baseline is measured in the same run.

    .venv/bin/python benchmarks/bench_faces_detection.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import platform
import time

import cv2
import numpy as np

from pipeline.faces.adapter import detect_faces
from pipeline.faces.evaluation import reference_boxes, score
from pipeline.faces.params import FaceParams

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "faces_detection.md"
MEETING = "wider_face_val_samples/11_Meeting_Meeting_11_Meeting_Meeting_11_176.jpg"


def settings(quick: bool) -> list[tuple[str, FaceParams]]:
    base = FaceParams()
    # HOG scores are not YuNet's: the size/score rules are off for it (plain face_recognition behaviour)
    hog = base.replace(detector="hog", min_face_px=4, large_face_px=4096, large_face_min_score=0.05)
    out = [("hog upsample 1", hog.replace(hog_upsample=1))]
    if not quick:
        out.append(("hog upsample 2", hog.replace(hog_upsample=2)))
    for up in (1.0, 1.5, 2.0) if not quick else (1.0,):
        for thr in (0.3, 0.4, 0.5, 0.6, 0.7):
            out.append((f"yunet x{up} score {thr}", base.replace(upscale=up, score_threshold=thr)))
    no_large = dict(large_face_px=4096)
    out.append(("yunet x1.0 score 0.5, no large-face rule, min 8 px",
                base.replace(score_threshold=0.5, min_face_px=8, **no_large)))
    out.append(("yunet x1.0 score 0.6, no large-face rule", base.replace(score_threshold=0.6, **no_large)))
    out.append(("yunet x1.0 score 0.6 (default)", base))
    out.append(("yunet x2.0 tiles 960 score 0.6", base.replace(upscale=2.0, max_detect_side_px=960)))
    return out


def evaluate(images, refs, params: FaceParams):
    rows, elapsed = [], 0.0
    for rel, truth in images:
        img = cv2.imread(str(DATA / rel))
        t0 = time.perf_counter()
        dets = detect_faces(img, params)
        elapsed += time.perf_counter() - t0
        rows.append((rel, img.shape, score(dets.boxes_xywh, truth, refs.get(rel))))
    return rows, elapsed / len(images)


def megamind_boxes(params: FaceParams, frames: int = 12) -> tuple[int, int]:
    cap = cv2.VideoCapture(str(DATA / "opencv-doc_debian" / "Megamind.avi"))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    boxes = with_faces = 0
    for k in range(frames):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(k * n / frames))
        ok, frame = cap.read()
        if ok:
            found = len(detect_faces(frame, params))
            boxes += found
            with_faces += found > 0
    return boxes, with_faces


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer settings")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    counts = json.loads((DATA / "labels.json").read_text())["counts"]
    images = sorted((rel, v["faces"]) for rel, v in counts.items())
    assert images, f"no labelled images under {DATA}"
    refs = reference_boxes(DATA)
    default = FaceParams()
    lines = [f"# Face detection on the labelled images of ../shared/data\n",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, one thread "
             f"(`OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}`). "
             f"{len(images)} images, {sum(t for _, t in images)} faces; "
             f"{sum(1 for r, _ in images if r in refs)} images with reference boxes (IoU >= 0.3 matching).\n",
             "| setting | faces found | of | recall | boxes | on a face | precision | WIDER meeting (17) "
             "| Megamind boxes (frames with any, of 12) | s / image |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    per_image = None
    for name, params in settings(args.quick):
        rows, s_per = evaluate(images, refs, params)
        truth = sum(r[2].truth for r in rows)
        matched = sum(r[2].matched for r in rows)
        found = sum(r[2].found for r in rows)
        meeting = next(r[2] for r in rows if r[0] == MEETING)
        mm_boxes, mm_frames = megamind_boxes(params)
        line = (f"| {name} | {matched} | {truth} | {matched / truth:.3f} | {found} | {matched} | "
                f"{matched / max(found, 1):.3f} | {meeting.matched} ({meeting.found} boxes) | "
                f"{mm_boxes} ({mm_frames}) | {s_per:.3f} |")
        print(line, flush=True)
        lines.append(line)
        if params == default:
            per_image = rows
    lines += ["", f"## Per image, default setting ({default.detector}, upscale {default.upscale}, "
              f"score {default.score_threshold}, min face {default.min_face_px} px)\n",
              "| image | size | faces | boxes | on a face | missed | false | matched by |", "|---|---|---|---|---|---|---|---|"]
    for rel, shape, s in per_image or []:
        lines.append(f"| {rel} | {shape[1]}x{shape[0]} | {s.truth} | {s.found} | {s.matched} | {s.missed} | "
                     f"{s.false_boxes} | {'IoU' if s.by_boxes else 'count'} |")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
