"""sample_data's synthetic people under the default encoder (real detector and encoder on the shipped
enrollment photos): distinct people are farther apart than the match threshold and the shared-face
threshold (hard negatives), and the two roster entries planted with one face (IDENTITY_SHARED) are within it."""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from pipeline.faces import adapter
from pipeline.faces.images import read_image
from pipeline.faces.params import FaceParams

PHOTOS = Path(__file__).resolve().parents[1] / "sample_data" / "archive" / "TA2024-DG-017" / "photos"
SHARED_FACE = {"00001", "00007"}  # the planted IDENTITY_SHARED pair (truth file)


def test_sample_people_are_told_apart_and_the_shared_face_is_one():
    params = FaceParams()
    photos = sorted(PHOTOS.rglob("*.jpg"))
    assert len(photos) == 10
    enc = {}
    for p in photos:
        image = read_image(p)
        dets = adapter.detect_faces(image, params)
        assert len(dets) == 1, p
        enc[p.stem] = adapter.encode_faces(image, dets, params)[0]
    far = {}
    for a, b in combinations(sorted(enc), 2):
        d = float(np.linalg.norm(enc[a] - enc[b]))
        if {a, b} == SHARED_FACE:
            assert d <= params.same_face_max_distance, (a, b, d)
        else:
            far[(a, b)] = d
    nearest = min(far, key=far.get)
    assert far[nearest] > max(params.match_threshold, params.same_face_max_distance), (nearest, far[nearest])
