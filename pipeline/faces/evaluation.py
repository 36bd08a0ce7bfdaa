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
