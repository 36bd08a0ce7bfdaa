"""The `faces` click group: JSON on stdout, errors naming the file, exit codes."""
from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from pipeline.cli.faces import faces
from pipeline.faces.params import FaceParams


def test_count_prints_json(shared_data, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"junk")
    photo = shared_data / "face_recognition/examples/two_people.jpg"
    res = CliRunner().invoke(faces, ["count", str(photo), str(bad)])
    assert res.exit_code == 1, res.output  # one image failed: every image is still answered
    rows = json.loads(res.stdout)
    assert rows[0]["image"] == str(photo) and rows[0]["faces"] == 2 and len(rows[0]["boxes"]) == 2
    assert rows[1]["image"] == str(bad) and "error" in rows[1]


def test_match_with_only_bad_enrollment_photos_exits_1(shared_data, tmp_path):
    (tmp_path / "g/T001").mkdir(parents=True)
    shutil.copy(shared_data / "dlib/examples/faces/dogs.jpg", tmp_path / "g/T001/dogs.jpg")
    res = CliRunner().invoke(faces, ["match", "--gallery", str(tmp_path / "g"),
                                     str(shared_data / "face_recognition/examples/obama_small.jpg")])
    assert res.exit_code == 1 and "dogs.jpg" in res.stderr and "no face" in res.stderr
    assert "nobody enrolled" in res.stderr and res.stdout == ""


def test_match_with_one_bad_gallery_photo_matches_the_rest(shared_data, tmp_path):
    """One unusable enrollment photo (several faces, none the subject) never stops `faces match`: it is
    named on stderr and in the JSON, the probes are matched against the rest, and the exit code is 1."""
    ex = shared_data / "face_recognition/examples"
    for who, photo in (("obama", ex / "obama-480p.jpg"), ("biden", ex / "knn_examples/train/biden/biden.jpg"),
                       ("crowd", shared_data / "dlib/examples/faces/2007_007763.jpg")):
        (tmp_path / "g" / who).mkdir(parents=True)
        shutil.copy(photo, tmp_path / "g" / who / photo.name)
    res = CliRunner().invoke(faces, ["match", "--gallery", str(tmp_path / "g"), str(ex / "obama_small.jpg"),
                                     str(ex / "knn_examples/train/biden/biden2.jpg")])
    assert res.exit_code == 1, res.output
    assert "2007_007763.jpg" in res.stderr and "crowd" in res.stderr
    rows = json.loads(res.stdout)
    assert [r["identity"] for r in rows] == ["obama", "biden"]
    (problem,) = rows[0]["gallery_problems"]
    assert problem["identity"] == "crowd" and problem["photo"].endswith("2007_007763.jpg")
    assert "none clearly the subject" in problem["problem"]
    assert "Exit codes" in CliRunner().invoke(faces, ["match", "--help"]).output


def test_match_prints_identity(shared_data, tmp_path):
    (tmp_path / "g/obama").mkdir(parents=True)
    shutil.copy(shared_data / "face_recognition/examples/obama-480p.jpg", tmp_path / "g/obama/a.jpg")
    res = CliRunner().invoke(faces, ["match", "--gallery", str(tmp_path / "g"),
                                     str(shared_data / "face_recognition/examples/obama_small.jpg")])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert row["identity"] == "obama" and 0 <= row["distance"] <= FaceParams().match_threshold
    assert "gallery_problems" not in row


def test_count_all_good_exits_0(shared_data):
    res = CliRunner().invoke(faces, ["count", str(shared_data / "dlib/examples/faces/dogs.jpg")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["faces"] == 0


def test_help_names_the_commands():
    res = CliRunner().invoke(faces, ["--help"])
    assert "count" in res.output and "match" in res.output


def test_count_upscale_finds_more_small_faces(shared_data):
    """count_dev's crowded meeting: at x1.5 YuNet finds faces under the counting floor's reach at x1."""
    photo = str(shared_data / "count_dev/11_Meeting_Meeting_11_Meeting_Meeting_11_774.jpg")
    plain = CliRunner().invoke(faces, ["count", photo])
    larger = CliRunner().invoke(faces, ["count", "--upscale", "1.5", photo])
    assert plain.exit_code == 0 and larger.exit_code == 0, (plain.output, larger.output)
    assert json.loads(larger.stdout)[0]["faces"] > json.loads(plain.stdout)[0]["faces"] + 5
    bad = CliRunner().invoke(faces, ["count", "--upscale", "9", photo])
    assert bad.exit_code == 2 and "--upscale" in bad.output
