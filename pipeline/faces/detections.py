"""The one columnar record every face detector's output is converted into.

Modelled on supervision's ``Detections``: parallel numpy arrays checked on construction, filtered with a
boolean mask. Third-party output enters only through the ``from_<library>`` constructors, so the rest of
the pipeline never sees a library's own types or conventions (dlib rectangles, yuface's int16 rows).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceDetections:
    """N face boxes in one image, in pixel coordinates of that image.

    boxes_xywh: (N, 4) int32, top-left x, y, width, height (clipped to the image).
    scores: (N,) float32 in [0, 1] (1.0 for detectors without a score).
    landmarks: optional (N, 5, 2) float32: eye (image-left), eye (image-right), nose tip,
        mouth corner (image-left), mouth corner (image-right), as YuNet orders them.
    """

    boxes_xywh: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes_xywh, dtype=np.int32).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        n = len(boxes)
        if len(scores) != n:
            raise ValueError(f"FaceDetections: expected {n} scores (one per box), found {len(scores)}")
        if (boxes[:, 2:] < 0).any():
            raise ValueError("FaceDetections: expected non-negative box width/height, found a negative one")
        object.__setattr__(self, "boxes_xywh", boxes)
        object.__setattr__(self, "scores", scores)
        if self.landmarks is not None:
            marks = np.asarray(self.landmarks, dtype=np.float32)
            if marks.shape != (n, 5, 2):
                raise ValueError(f"FaceDetections: expected landmarks of shape {(n, 5, 2)}, found {marks.shape}")
            object.__setattr__(self, "landmarks", marks)

    def __len__(self) -> int:
        return len(self.boxes_xywh)

    @classmethod
    def empty(cls) -> FaceDetections:
        return cls(np.zeros((0, 4), np.int32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))

    @classmethod
    def from_yuface(cls, rows: np.ndarray, scale: float = 1.0, offset_xy: tuple[int, int] = (0, 0)) -> FaceDetections:
        """Rows as yuface's C detector returns them: (N, 16) int, [score 0-100, x, y, w, h, 10 landmark
        coordinates, unused]. ``scale`` undoes a resize made before detecting, ``offset_xy`` a crop."""
        rows = np.asarray(rows).reshape(-1, 16).astype(np.float32)
        ox, oy = offset_xy
        boxes = rows[:, 1:5] / scale
        boxes[:, 0] += ox
        boxes[:, 1] += oy
        marks = rows[:, 5:15].reshape(-1, 5, 2) / scale + np.array([ox, oy], np.float32)
        return cls(np.rint(boxes).astype(np.int32), rows[:, 0] / 100.0, marks)

    @classmethod
    def from_dlib(cls, rects, scores=None) -> FaceDetections:
        """dlib rectangles (or face_recognition's (top, right, bottom, left) tuples); no landmarks."""
        boxes = []
        for r in rects:
            if isinstance(r, tuple):
                top, right, bottom, left = r
            else:
                top, right, bottom, left = r.top(), r.right(), r.bottom(), r.left()
            boxes.append((left, top, right - left, bottom - top))
        n = len(boxes)
        scores = np.ones(n, np.float32) if scores is None else np.clip(np.asarray(scores, np.float32), 0, 1)
        return cls(np.asarray(boxes, np.int32).reshape(-1, 4), scores, None)

    def filter(self, mask: np.ndarray) -> FaceDetections:
        mask = np.asarray(mask)
        marks = None if self.landmarks is None else self.landmarks[mask]
        return FaceDetections(self.boxes_xywh[mask], self.scores[mask], marks)

    def clip(self, width_px: int, height_px: int) -> FaceDetections:
        """Boxes cut to the image (detectors may reach past its border); boxes left empty are dropped."""
        b = self.boxes_xywh.astype(np.int64)
        x0, y0 = np.clip(b[:, 0], 0, width_px), np.clip(b[:, 1], 0, height_px)
        x1 = np.clip(b[:, 0] + b[:, 2], 0, width_px)
        y1 = np.clip(b[:, 1] + b[:, 3], 0, height_px)
        clipped = FaceDetections(np.stack([x0, y0, x1 - x0, y1 - y0], 1), self.scores, self.landmarks)
        return clipped.filter((x1 > x0) & (y1 > y0))

    @staticmethod
    def concat(parts: list[FaceDetections]) -> FaceDetections:
        if not parts:
            return FaceDetections.empty()
        marks = None
        if all(p.landmarks is not None for p in parts):
            marks = np.concatenate([p.landmarks for p in parts])
        return FaceDetections(np.concatenate([p.boxes_xywh for p in parts]),
                              np.concatenate([p.scores for p in parts]), marks)


def iou_matrix(a_xywh: np.ndarray, b_xywh: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in a against every box in b: (len(a), len(b))."""
    a = np.asarray(a_xywh, np.float64).reshape(-1, 1, 4)
    b = np.asarray(b_xywh, np.float64).reshape(1, -1, 4)
    ix = np.clip(np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    iy = np.clip(np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = ix * iy
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def nms(dets: FaceDetections, iou_threshold: float) -> FaceDetections:
    """Greedy non-maximum suppression (used where tiles or scales overlap)."""
    if len(dets) < 2:
        return dets
    order = np.argsort(-dets.scores, kind="stable")
    ious = iou_matrix(dets.boxes_xywh, dets.boxes_xywh)
    keep: list[int] = []
    suppressed = np.zeros(len(dets), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= ious[i] > iou_threshold
    mask = np.zeros(len(dets), bool)
    mask[keep] = True
    return dets.filter(mask)
