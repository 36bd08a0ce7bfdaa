"""The face-quality gate: can this face be judged (named, or called a stranger) at all?

Three measures per detected face, all from what YuNet already gives plus the image:
- ``size_px``: the box's shorter side;
- pose from the 5 landmarks (eyes, nose tip, mouth corners): ``yaw`` is how far the nose sits off the
  eye midpoint, in eye distances (0 frontal, about 0.5 in profile), ``pitch`` where the nose sits between
  the eye line and the mouth line (about 0.5 frontal, towards 0 or 1 when the head tips up or down), and
  ``eyes`` the eye distance as a share of the box width (small when the head is turned or the landmarks
  collapsed on an occluded face);
- ``sharpness``: variance of the Laplacian of the grey face crop (at most 64 px wide, so large faces are
  not favoured by their pixel count), divided by the crop's own grey variance (a dark or low-contrast
  face is not "blurred" for that alone).

A face below the gate is "unidentified": it counts for the headcount, and is neither a trainee nor an
unknown person. The thresholds are ``FaceParams.quality_*`` (configs/pipeline.yaml, measured in
benchmarks/results/faces_quality.md on identities_dev and count_dev).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.faces.detections import FaceDetections

SHARPNESS_SIDE_PX = 64  # crops wider than this are shrunk before the Laplacian


@dataclass(frozen=True)
class FaceQuality:
    """Per-face measures of one image's detections, parallel arrays of length N."""

    size_px: np.ndarray  # int, shorter box side
    yaw: np.ndarray  # float, |nose offset from the eye midpoint| / eye distance (nan without landmarks)
    pitch: np.ndarray  # float, (nose - eye line) / (mouth line - eye line) (nan without landmarks)
    eyes: np.ndarray  # float, eye distance / box width (nan without landmarks)
    sharpness: np.ndarray  # float, var(Laplacian) / var(grey) of the crop

    def __len__(self) -> int:
        return len(self.size_px)

    def row(self, i: int) -> dict:
        return {k: round(float(getattr(self, k)[i]), 3) for k in ("size_px", "yaw", "pitch", "eyes", "sharpness")}


def _pose(dets: FaceDetections) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(dets)
    if dets.landmarks is None:
        nan = np.full(n, np.nan)
        return nan, nan.copy(), nan.copy()
    m = dets.landmarks.astype(np.float64)
    left, right, nose = m[:, 0], m[:, 1], m[:, 2]
    mouth = (m[:, 3] + m[:, 4]) / 2
    ex = right - left
    eye_dist = np.linalg.norm(ex, axis=1)
    safe = np.maximum(eye_dist, 1e-6)
    ux = ex / safe[:, None]  # the face's own axes (roll taken out)
    uy = np.stack([-ux[:, 1], ux[:, 0]], axis=1)
    mid = (left + right) / 2
    yaw = np.abs(((nose - mid) * ux).sum(axis=1)) / safe
    down_nose = ((nose - mid) * uy).sum(axis=1)
    down_mouth = ((mouth - mid) * uy).sum(axis=1)
    pitch = np.where(down_mouth > 1e-6, down_nose / np.maximum(down_mouth, 1e-6), np.nan)
    eyes = eye_dist / np.maximum(dets.boxes_xywh[:, 2].astype(np.float64), 1.0)
    return yaw, pitch, eyes


def _sharpness(image_bgr: np.ndarray, dets: FaceDetections) -> np.ndarray:
    import cv2

    out = np.zeros(len(dets))
    h, w = image_bgr.shape[:2]
    for i, (x, y, bw, bh) in enumerate(dets.boxes_xywh):
        x0, y0, x1, y1 = max(0, int(x)), max(0, int(y)), min(w, int(x + bw)), min(h, int(y + bh))
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        grey = cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        if grey.shape[1] > SHARPNESS_SIDE_PX:
            k = SHARPNESS_SIDE_PX / grey.shape[1]
            grey = cv2.resize(grey, (SHARPNESS_SIDE_PX, max(3, round(grey.shape[0] * k))), interpolation=cv2.INTER_AREA)
        g = grey.astype(np.float64)
        var = g.var()
        out[i] = cv2.Laplacian(g, cv2.CV_64F).var() / var if var > 1.0 else 0.0
    return out


def measure(image_bgr: np.ndarray, dets: FaceDetections) -> FaceQuality:
    yaw, pitch, eyes = _pose(dets)
    return FaceQuality(dets.boxes_xywh[:, 2:].min(axis=1).astype(np.int64) if len(dets) else np.zeros(0, np.int64),
                       yaw, pitch, eyes, _sharpness(image_bgr, dets))


def judged(q: FaceQuality, params) -> np.ndarray:
    """Boolean mask: the faces good enough to name or to call a stranger. Without landmarks (the HOG
    detector) only size and sharpness are checked."""
    ok = (q.size_px >= params.recognition_min_face_px) & (q.sharpness >= params.quality_min_sharpness)
    has_pose = ~np.isnan(q.yaw)
    pose_ok = ((q.yaw <= params.quality_max_yaw) & (q.eyes >= params.quality_min_eyes)
               & (q.pitch >= params.quality_min_pitch) & (q.pitch <= params.quality_max_pitch))
    return ok & (~has_pose | np.nan_to_num(pose_ok, nan=False).astype(bool))


def reasons(q: FaceQuality, i: int, params) -> list[str]:
    """Why face ``i`` fails the gate (empty when judged), for details and tests."""
    out = []
    if q.size_px[i] < params.recognition_min_face_px:
        out.append(f"{int(q.size_px[i])} px < {params.recognition_min_face_px} px")
    if q.sharpness[i] < params.quality_min_sharpness:
        out.append(f"sharpness {q.sharpness[i]:.3f} < {params.quality_min_sharpness}")
    if not np.isnan(q.yaw[i]):
        if q.yaw[i] > params.quality_max_yaw:
            out.append(f"turned (yaw {q.yaw[i]:.2f} > {params.quality_max_yaw})")
        if q.eyes[i] < params.quality_min_eyes:
            out.append(f"eyes {q.eyes[i]:.2f} of the box < {params.quality_min_eyes}")
        lo, hi = params.quality_min_pitch, params.quality_max_pitch
        if np.isnan(q.pitch[i]) or not lo <= q.pitch[i] <= hi:
            out.append(f"tipped (pitch {q.pitch[i]:.2f} outside {lo}-{hi})")
    return out
