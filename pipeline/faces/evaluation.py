"""Scoring detections against reference boxes or counts (used by tests and benchmarks).

Reference boxes come from WIDER FACE ``.gt.txt`` files and dlib imglab ``training.xml``/``testing.xml``.
Boxes are matched one-to-one, greedily by IoU; conventions differ between annotators (YuNet boxes run
from forehead to chin, dlib's are square and tighter), hence a lenient ``MATCH_IOU``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import xml.etree.ElementTree as ET

import numpy as np

from pipeline.faces.detections import iou_matrix

MATCH_IOU = 0.3


@dataclass(frozen=True)
class DetectionScore:
    truth: int  # faces there
    found: int  # boxes returned
    matched: int  # boxes on a real face (one-to-one); for count-only images min(found, truth)
    by_boxes: bool  # matched by IoU against reference boxes (else by count)

    @property
    def missed(self) -> int:
        return self.truth - self.matched

    @property
    def false_boxes(self) -> int:
        return self.found - self.matched


def match_count(pred_xywh: np.ndarray, truth_xywh: np.ndarray, min_iou: float = MATCH_IOU) -> int:
    ious = iou_matrix(pred_xywh, truth_xywh)
    matched = 0
    while ious.size and ious.max() >= min_iou:
        i, j = np.unravel_index(np.argmax(ious), ious.shape)
        matched += 1
        ious[i, :] = -1
        ious[:, j] = -1
    return matched


def score(pred_xywh: np.ndarray, truth_count: int, truth_xywh: np.ndarray | None) -> DetectionScore:
    found = len(pred_xywh)
    if truth_xywh is None:
        return DetectionScore(truth_count, found, min(found, truth_count), False)
    return DetectionScore(len(truth_xywh), found, match_count(pred_xywh, truth_xywh), True)


def reference_boxes(data_dir: Path) -> dict[str, np.ndarray]:
    """{path relative to data_dir: (N, 4) xywh} for every image with reference boxes."""
    out: dict[str, np.ndarray] = {}
    for gt in sorted((data_dir / "wider_face_val_samples").glob("*.gt.txt")):
        lines = gt.read_text().split("\n")
        n = int(lines[1])
        rows = [list(map(int, ln.split()[:4])) for ln in lines[2:2 + n]]
        out[str(gt.relative_to(data_dir)).replace(".gt.txt", ".jpg")] = np.asarray(rows).reshape(-1, 4)
    faces = data_dir / "dlib" / "examples" / "faces"
    for xml in ("training.xml", "testing.xml"):
        path = faces / xml
        if not path.exists():
            continue
        for image in ET.parse(path).getroot().iter("image"):
            rows = [[int(b.get(k)) for k in ("left", "top", "width", "height")]
                    for b in image.iter("box") if b.get("ignore") != "1"]
            out[str((faces / image.get("file")).relative_to(data_dir))] = np.asarray(rows).reshape(-1, 4)
    return out


# ---- box-level scoring by face size (benchmarks/bench_faces_detection.py, tests) ----

# A detector's box and WIDER's differ in extent (YuNet runs from forehead to chin): IoU 0.4, not 0.5.
BOX_MATCH_IOU = 0.4
# Face-height buckets in px: (label, lowest, highest exclusive)
SIZE_BUCKETS_PX = (("<10", 0, 10), ("10-19", 10, 20), ("20-29", 20, 30), ("30-49", 30, 50), (">=50", 50, 1 << 30))


@dataclass(frozen=True)
class TruthBoxes:
    """One image's reference faces: boxes (N, 4) xywh and which of them WIDER marks invalid (not scored:
    a detection on one is neither right nor wrong)."""

    boxes_xywh: np.ndarray
    invalid: np.ndarray


def read_wider_gt(path: Path) -> TruthBoxes:
    """A WIDER FACE ``.gt.txt`` block: image path, count N, then N rows
    ``x y w h blur expression illumination invalid occlusion pose``."""
    lines = Path(path).read_text().split("\n")
    n = int(lines[1])
    body = [ln for ln in lines[2:] if ln.strip()][:n]  # a photo with no face has one dummy row
    rows = np.asarray([list(map(int, ln.split()[:10])) for ln in body], np.int64).reshape(-1, 10)
    if len(rows) != n:
        raise ValueError(f"{path}: expected {n} box rows, found {len(rows)}")
    return TruthBoxes(rows[:, :4], rows[:, 7] == 1)


@dataclass(frozen=True)
class BoxMatch:
    """One image's detections matched one-to-one to its reference faces (greedy, highest IoU first).

    truth_height_px / truth_found: per valid reference face. pred_height_px: per scored detection, the
    height of the face it matched, else its own; pred_true: whether it matched a valid face. Detections on
    invalid faces are left out of both.
    """

    truth_height_px: np.ndarray
    truth_found: np.ndarray
    pred_height_px: np.ndarray
    pred_true: np.ndarray


def match_boxes(pred_xywh: np.ndarray, truth: TruthBoxes, min_iou: float = BOX_MATCH_IOU) -> BoxMatch:
    pred = np.asarray(pred_xywh).reshape(-1, 4)
    ious = iou_matrix(pred, truth.boxes_xywh)
    pred_to = np.full(len(pred), -1)
    while ious.size and ious.max() >= min_iou:
        i, j = np.unravel_index(np.argmax(ious), ious.shape)
        pred_to[i] = j
        ious[i, :] = -1
        ious[:, j] = -1
    found = np.zeros(len(truth.boxes_xywh), bool)
    found[pred_to[pred_to >= 0]] = True
    heights = truth.boxes_xywh[:, 3]
    matched = pred_to >= 0
    on_invalid = matched & truth.invalid[np.maximum(pred_to, 0)]
    pred_h = np.where(matched, heights[np.maximum(pred_to, 0)], pred[:, 3])
    valid = ~truth.invalid
    return BoxMatch(heights[valid], found[valid], pred_h[~on_invalid], matched[~on_invalid])


@dataclass(frozen=True)
class SizeScore:
    faces: int
    found: int
    boxes: int
    boxes_on_a_face: int

    @property
    def recall(self) -> float:
        return self.found / self.faces if self.faces else float("nan")

    @property
    def precision(self) -> float:
        return self.boxes_on_a_face / self.boxes if self.boxes else float("nan")


def score_by_height(matches: list[BoxMatch], lo_px: int, hi_px: int = 1 << 30) -> SizeScore:
    """Recall and precision over faces (and detections) with heights in [lo_px, hi_px)."""
    faces = found = boxes = on_face = 0
    for m in matches:
        t = (m.truth_height_px >= lo_px) & (m.truth_height_px < hi_px)
        p = (m.pred_height_px >= lo_px) & (m.pred_height_px < hi_px)
        faces += int(t.sum())
        found += int(m.truth_found[t].sum())
        boxes += int(p.sum())
        on_face += int(m.pred_true[p].sum())
    return SizeScore(faces, found, boxes, on_face)
