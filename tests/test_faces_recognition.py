"""Recognition with the real detector and encoder on the identity photos of ../shared/data."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from pipeline.faces import EnrollmentError
from pipeline.faces.commands import match_faces
from pipeline.faces.gallery import Gallery, dominant_face
from pipeline.faces.detections import FaceDetections
from pipeline.faces.params import FaceParams

PARAMS = FaceParams()


def _johns(shared_data):
    root = shared_data / "dlib/examples/johns"
    people = {d.name: sorted(d.glob("*.jpg")) for d in sorted(root.iterdir()) if d.is_dir()}
    assert len(people) == 5 and all(len(v) >= 3 for v in people.values()), people.keys()
    return people


def test_johns_enroll_two_identify_rest(shared_data):
    people = _johns(shared_data)
    gallery = Gallery.from_photos({k: v[:2] for k, v in people.items()}, PARAMS)
    probes = [(k, p) for k, v in people.items() for p in v[2:5]]
    rows = match_faces(None, [p for _, p in probes], PARAMS, gallery=gallery)
    right = sum(r["identity"] == k for (k, _), r in zip(probes, rows))
    assert right / len(rows) >= 0.97, rows


def test_deepface_clusters_leave_one_out(shared_data):
    """The benchmark protocol (bench_faces_recognition.py) on the deepface clusters: each photo is a probe
    against a gallery of every other photo."""
    base = shared_data / "deepface/tests/unit/dataset"
    with open(shared_data / "deepface/deepface_identity_clusters.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if (base / r["file"]).is_file()]
    assert len(rows) >= 30, rows
    one_each = Gallery.from_photos({f"{r['identity']}#{r['file']}": [base / r["file"]] for r in rows}, PARAMS)
    who = np.array([name.split("#")[0] for name in one_each.identities])
    d = one_each.distances(one_each.encodings)
    np.fill_diagonal(d, np.inf)
    has_other = np.array([(who == w).sum() > 1 for w in who])
    nearest = d.argmin(axis=1)
    right = (who[nearest] == who) & (d.min(axis=1) <= PARAMS.match_threshold)
    assert right[has_other].mean() >= 0.95, list(zip(who, who[nearest], d.min(axis=1)))


def test_knn_examples_and_stranger_unknown(shared_data, tmp_path):
    knn = shared_data / "face_recognition/examples/knn_examples"
    gallery_dir = tmp_path / "gallery"
    for person in sorted((knn / "train").iterdir()):
        if person.name != "obama":  # obama stays out: a non-enrolled person must come back unknown
            shutil.copytree(person, gallery_dir / person.name)
    labels = json.loads((shared_data / "labels.json").read_text())["identities"]
    rows = match_faces(gallery_dir, [knn / "test/alex_lacamoire1.jpg", knn / "test/johnsnow_test1.jpg",
                                     knn / "test/obama1.jpg"], PARAMS)
    assert labels["face_recognition/examples/knn_examples/test/johnsnow_test1.jpg"] == "kit_harington"
    assert [r["identity"] for r in rows] == ["alex_lacamoire", "kit_harington", "unknown"]
    assert rows[2]["distance"] > PARAMS.match_threshold and rows[0]["distance"] <= PARAMS.match_threshold


def test_probe_without_face_and_corrupt_probe(shared_data, tmp_path):
    gallery = Gallery.from_photos({"obama": [shared_data / "face_recognition/examples/obama-480p.jpg"]}, PARAMS)
    corrupt = tmp_path / "snap.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff garbage")
    rows = match_faces(None, [shared_data / "dlib/examples/faces/dogs.jpg", corrupt], PARAMS, gallery=gallery)
    assert rows[0]["identity"] == "unknown" and rows[0]["distance"] is None and "no face" in rows[0]["note"]
    assert rows[1]["identity"] == "unknown" and rows[1]["distance"] is None and str(corrupt) in rows[1]["error"]


@pytest.mark.parametrize("photo, found", [
    ("dlib/examples/faces/dogs.jpg", "no face"),
    ("dlib/examples/faces/2007_007763.jpg", "7 faces"),
])
def test_enrollment_errors_name_the_file(shared_data, photo, found):
    with pytest.raises(EnrollmentError) as err:
        Gallery.from_photos({"T001": [shared_data / photo]}, PARAMS)
    assert str(shared_data / photo) in str(err.value) and found in str(err.value) and "T001" in str(err.value)


def test_enrollment_corrupt_file_and_lenient_mode(shared_data, tmp_path):
    bad = tmp_path / "T002.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(EnrollmentError, match="T002.jpg"):
        Gallery.from_photos({"T002": [bad]}, PARAMS)
    good = shared_data / "face_recognition/examples/lin-manuel-miranda.png"
    g = Gallery.from_photos({"T002": [bad], "T003": [good]}, PARAMS, strict=False)
    assert g.identities == ("T003",) and [p.path for p in g.problems] == [str(bad)]


@pytest.mark.parametrize("sizes, dominance, expected", [
    ([(100, 100)], 2.0, 0),
    ([(100, 100), (40, 40)], 2.0, 0),  # a bystander far behind: the largest face is used
    ([(40, 40), (100, 100)], 2.0, 1),
    ([(100, 100), (90, 90)], 2.0, None),  # two people side by side: ambiguous
])
def test_dominant_face(sizes, dominance, expected):
    boxes = np.array([[0, 0, w, h] for w, h in sizes])
    assert dominant_face(FaceDetections(boxes, np.ones(len(sizes))), dominance) == expected


def test_combined_gallery_teachers(shared_data):
    ex = shared_data / "face_recognition/examples"
    trainees = Gallery.from_photos({"S001": [ex / "obama-480p.jpg"]}, PARAMS)
    teachers = Gallery.from_photos({"teacher:T003": [ex / "knn_examples/train/biden/biden.jpg"]}, PARAMS)
    both = Gallery.combine(trainees, teachers)
    rows = match_faces(None, [ex / "knn_examples/train/biden/biden2.jpg", ex / "obama_small.jpg"], PARAMS,
                       gallery=both)
    assert [r["identity"] for r in rows] == ["teacher:T003", "S001"]


def test_the_configured_pixel_limit_applies_to_enrollment_photos(shared_data):
    """ingest.limits.max_image_pixels reaches the face stage (GallerySpec -> from_photos): a real photo over a
    lowered limit is an EnrollmentError naming it, read from its header and never decoded; the same photo
    enrolls under the default limit."""
    import cv2

    from pipeline.analysis import GallerySpec
    from pipeline.config import InputLimits

    photo = shared_data / "face_recognition/examples/lin-manuel-miranda.png"
    height, width = cv2.imread(str(photo)).shape[:2]
    limit = width * height - 1
    with pytest.raises(EnrollmentError) as err:
        Gallery.from_photos({"T001": [photo]}, PARAMS, max_pixels=limit)
    assert str(photo) in str(err.value) and f"{width} x {height} px" in str(err.value) and "over the limit" in str(err.value)
    assert Gallery.from_photos({"T001": [photo]}, PARAMS, max_pixels=width * height).identities == ("T001",)
    default, lowered = GallerySpec((("T001", "trainee", (str(photo),)),)), GallerySpec((("T001", "trainee", (str(photo),)),), limit)
    assert default.max_image_pixels == InputLimits().max_image_pixels and default.digest() != lowered.digest()
