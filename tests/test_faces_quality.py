"""The face-quality gate (pipeline/faces/quality.py) on real photos and video: frontal faces pass, turned
and smeared ones do not (thresholds from configs/pipeline.yaml, measured in faces_quality.md)."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from pipeline.config import load_pipeline_config
from pipeline.faces import adapter, quality

PARAMS = load_pipeline_config().faces


def _centre(image):
    dets = adapter.detect_faces(image, PARAMS)
    c = dets.boxes_xywh[:, :2] + dets.boxes_xywh[:, 2:] / 2
    i = int(np.argmin(np.linalg.norm(c - [image.shape[1] / 2, image.shape[0] / 2], axis=1)))
    return dets.filter(np.arange(len(dets)) == i)


@pytest.fixture(scope="module")
def probes(shared_data):
    rows = list(csv.DictReader(open(shared_data / "identities_dev" / "labels.csv", newline="")))
    paths = [shared_data / "identities_dev" / r["path"] for r in rows if r["role"] == "probe"][:60:3]
    return [cv2.imread(str(p)) for p in paths]


def test_most_real_portraits_are_judged(probes):
    judged = [bool(quality.judged(quality.measure(im, d := _centre(im)), PARAMS)[0]) for im in probes]
    assert sum(judged) >= 0.8 * len(judged), judged


def test_a_smeared_face_is_not_judged(probes):
    """The same real photos blurred (a defocused or moving face): every one fails on sharpness."""
    for im in probes[:5]:
        dets = _centre(im)
        blurred = cv2.GaussianBlur(im, (0, 0), 6)
        q = quality.measure(blurred, dets)
        assert not quality.judged(q, PARAMS)[0] and "sharpness" in quality.reasons(q, 0, PARAMS)[0]


def test_a_profile_in_real_video_is_not_judged(shared_data):
    """short_hamilton_clip.mp4 at 1 s: a large face in profile (nose beside the eyes) next to a frontal one."""
    from pipeline.video.sample import sample_frames

    frame = next(f for f in sample_frames(shared_data / "face_recognition/examples/short_hamilton_clip.mp4", 0.5)
                 if abs(f.offset_s - 1.0) < 0.1)
    dets = adapter.detect_faces(frame.image_bgr, PARAMS)
    q = quality.measure(frame.image_bgr, dets)
    ok = quality.judged(q, PARAMS)
    big = int(np.argmax(q.size_px))
    assert q.size_px[big] > 150 and not ok[big] and any("turned" in r for r in quality.reasons(q, big, PARAMS))
    assert ok.sum() >= 1  # the frontal face beside it is judged
