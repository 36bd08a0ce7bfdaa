"""CenterFace, the second face detector (faces.detector: centerface; YuNet stays the default, see
benchmarks/results/faces_detection.md): its weights are read only with the SHA-256 it was measured with, it
runs on real count_dev photos at a recall and precision floor by face height, and its five landmarks are
YuNet's points in YuNet's order (SFace aligns faces on them)."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.faces import centerface
from pipeline.faces.adapter import detect_faces
from pipeline.faces.evaluation import match_boxes, read_wider_gt, score_by_height
from pipeline.faces.images import read_image
from pipeline.faces.params import FaceParams
from test_faces_counting import SUBSET

# Measured on test_faces_counting's ten photos (2026-12-03), CenterFace x1.0 score 0.4: faces >= 10 px
# recall 0.615 (434/706) at precision 0.969, >= 20 px 0.858 (313/365) at 0.994 (YuNet's default: 0.619 at
# 0.916, 0.849 at 0.966: the same recall, fewer false boxes). Floors sit a few points below.
FLOORS = {10: (0.58, 0.93), 20: (0.82, 0.96)}  # height px: (recall, precision)
PARAMS = FaceParams(detector="centerface")


def test_weights_are_the_measured_file(tmp_path):
    path = centerface.model_path()
    assert path.name == "centerface.onnx" and len(centerface.check_model(path)) > 1_000_000
    other = tmp_path / "centerface.onnx"
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    other.write_bytes(bytes(data))
    with pytest.raises(centerface.ModelFileError, match=f"{other}: expected SHA-256 {centerface.MODEL_SHA256}, found"):
        centerface.CenterFace(other)
    with pytest.raises(centerface.ModelFileError, match="unreadable"):
        centerface.check_model(tmp_path / "missing.onnx")


@pytest.fixture(scope="module")
def matches(shared_data):
    root = shared_data / "count_dev"
    return [match_boxes(detect_faces(read_image(root / name), PARAMS).boxes_xywh,
                        read_wider_gt(root / name.replace(".jpg", ".gt.txt"))) for name in SUBSET]


@pytest.mark.parametrize("height_px", sorted(FLOORS))
def test_count_dev_recall_and_precision_floors(matches, height_px):
    s = score_by_height(matches, height_px)
    recall_floor, precision_floor = FLOORS[height_px]
    assert s.faces >= 300, s
    assert s.recall >= recall_floor and s.precision >= precision_floor, s


def test_landmarks_are_yunets_points(shared_data):
    image = read_image(shared_data / "pypi_insightface/insightface/data/images/t1.jpg")  # 6 faces
    yunet, cf = detect_faces(image, FaceParams()), detect_faces(image, PARAMS)
    assert len(yunet) == len(cf) == 6
    for box, marks in zip(yunet.boxes_xywh, yunet.landmarks):
        j = int(np.abs(cf.boxes_xywh - box).sum(axis=1).argmin())
        eye = np.linalg.norm(marks[1] - marks[0])
        # each point within 0.4 eye distances of YuNet's (measured: 0.04-0.35)
        assert (np.linalg.norm(cf.landmarks[j] - marks, axis=1) <= 0.4 * eye).all(), (box, cf.landmarks[j], marks)
