"""Recognition with the real detector and encoder on the identity photos of ../shared/data."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from pipeline.faces import EnrollmentError
from pipeline.faces.commands import match_faces
from pipeline.faces.gallery import Gallery, subject_face
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


@pytest.mark.parametrize("boxes, expected", [
    ([(75, 75, 100, 100)], 0),
    ([(75, 75, 100, 100), (0, 0, 40, 40)], 0),  # a bystander far behind: the subject is used
    ([(0, 0, 100, 100), (105, 105, 40, 40)], None),  # a large face off centre, a small one in the middle
    ([(75, 80, 90, 90), (190, 60, 100, 100)], 0),  # a person beside the subject, as large, at the edge
    ([(30, 75, 90, 90), (130, 75, 90, 90)], None),  # two people side by side: ambiguous
    ([(90, 90, 60, 60), (170, 90, 90, 90)], None),  # the central face much smaller than its neighbour
])
def test_subject_face(boxes, expected):
    """The face nearest the centre of a 250x250 photo, when clearly the subject by size and position."""
    dets = FaceDetections(np.array(boxes), np.ones(len(boxes)))
    assert subject_face(dets, (250, 250), PARAMS) == expected


def test_enrollment_photo_with_several_faces(shared_data, tmp_path):
    """Real photos: a news photo with a second, nearly as large face beside the subject enrolls the subject
    (he is recognised in his other photos); two real portraits side by side are reported, naming the file
    and the faces, and the lenient gallery enrolls the trainee's other photo."""
    import cv2

    from pipeline.faces import adapter
    from pipeline.faces.images import read_image

    lfw = shared_data / "identities_dev/enrolled"
    crowded = lfw / "Paul_McCartney/Paul_McCartney_0003.jpg"
    assert len(adapter.detect_faces(read_image(crowded), PARAMS)) >= 2
    gallery = Gallery.from_photos({"T001": [crowded], "T002": [lfw / "Yoko_Ono/Yoko_Ono_0003.jpg"]}, PARAMS)
    rows = match_faces(None, [lfw / "Paul_McCartney/Paul_McCartney_0001.jpg"], PARAMS, gallery=gallery)
    assert rows[0]["identity"] == "T001", rows
    pair = np.concatenate([read_image(lfw / "Tom_Hanks/Tom_Hanks_0002.jpg"),
                           read_image(lfw / "Kofi_Annan/Kofi_Annan_0001.jpg")], axis=1)
    cv2.imwrite(str(tmp_path / "pair.jpg"), pair)
    with pytest.raises(EnrollmentError) as err:
        Gallery.from_photos({"T003": [tmp_path / "pair.jpg"]}, PARAMS)
    assert "pair.jpg" in str(err.value) and "T003" in str(err.value) and "none clearly the subject" in str(err.value)
    lenient = Gallery.from_photos({"T003": [tmp_path / "pair.jpg", lfw / "Tom_Hanks/Tom_Hanks_0001.jpg"]}, PARAMS,
                                  strict=False)
    assert lenient.identities == ("T003",) and [p.identity for p in lenient.problems] == ["T003"]


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
