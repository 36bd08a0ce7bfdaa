"""SFace (pipeline/faces/sface.py) on real photos of ../shared/data/identities_dev, its model check, and the
encoder setting (per-encoder thresholds, galleries never mixed across encoders)."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from pipeline.config import load_pipeline_config
from pipeline.faces import adapter, sface
from pipeline.faces.commands import match_faces
from pipeline.faces.gallery import Gallery
from pipeline.faces.images import read_image
from pipeline.faces.params import FaceParams, encoder_thresholds
from pipeline.settings import SettingsError

SFACE = FaceParams(encoder="sface")
PEOPLE = 8  # the first people of labels.csv (sorted by name) and as many strangers: a small, fixed subset


def _subset(shared_data):
    root = shared_data / "identities_dev"
    with open(root / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    people = sorted({r["identity"] for r in rows if r["role"] == "enroll"})[:PEOPLE]
    enroll = {r["identity"]: [root / r["path"]] for r in rows if r["role"] == "enroll" and r["identity"] in people}
    probes = [(r["identity"], root / r["path"]) for r in rows if r["role"] == "probe" and r["identity"] in people]
    strangers = [root / r["path"] for r in rows if r["role"] == "stranger"][:PEOPLE]
    return enroll, probes, strangers


def test_sface_recognises_real_people_and_rejects_strangers(shared_data):
    """One enrollment photo per person (LFW): their other photos are named, strangers come back unknown."""
    enroll, probes, strangers = _subset(shared_data)
    gallery = Gallery.from_photos(enroll, SFACE)
    assert gallery.encoder == "sface" and len(gallery) == PEOPLE
    rows = match_faces(None, [p for _, p in probes], SFACE, gallery=gallery)
    right = [r["identity"] == who for (who, _), r in zip(probes, rows)]
    assert np.mean(right) >= 0.95, [(who, r["identity"], r["distance"]) for (who, _), r in zip(probes, rows)]
    others = match_faces(None, strangers, SFACE, gallery=gallery)
    assert [r["identity"] for r in others] == ["unknown"] * len(strangers), others
    assert min(r["distance"] for r in others) > SFACE.match_threshold


def test_sface_encodings_are_unit_vectors_in_rgb(shared_data):
    image = read_image(shared_data / "identities_dev/enrolled/Jose_Maria_Aznar/Jose_Maria_Aznar_0001.jpg")
    dets = adapter.detect_faces(image, SFACE)
    enc = adapter.encode_faces(image, dets, SFACE)
    assert enc.shape == (len(dets), 128) and np.allclose(np.linalg.norm(enc, axis=1), 1, atol=1e-5)
    chip = sface.align(image, dets.landmarks[0])
    assert chip.shape == (112, 112, 3)
    swapped = adapter._models().sface().encode(chip[None, :, :, ::-1].copy())
    assert np.linalg.norm(swapped[0] - enc[0]) > 0.05  # the channel order reaches the network


def test_model_file_is_checked(tmp_path):
    good = sface.model_path()
    assert sface.check_model(good)[:4] and good.name == sface.MODEL_FILE
    bad = tmp_path / sface.MODEL_FILE
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(sface.ModelFileError, match=f"{bad}.*expected SHA-256 {sface.MODEL_SHA256}"):
        sface.SFace(bad)
    with pytest.raises(sface.ModelFileError, match="unreadable"):
        sface.SFace(tmp_path / "missing.onnx")


def test_encoder_setting_is_strict_and_carries_its_thresholds(tmp_path):
    cfg = tmp_path / "pipeline.yaml"
    cfg.write_text("faces:\n  encoder: arcface\n")
    with pytest.raises(SettingsError, match="faces.encoder: expected one of sface, dlib"):
        load_pipeline_config(cfg)
    cfg.write_text("faces:\n  encoder: dlib\n")
    dlib = load_pipeline_config(cfg).faces
    assert dlib.match_threshold == encoder_thresholds()["dlib"].match_threshold
    assert SFACE.match_threshold == encoder_thresholds()["sface"].match_threshold != dlib.match_threshold
    # switching encoders takes the new encoder's thresholds unless given
    assert SFACE.replace(encoder="dlib").cluster_threshold == encoder_thresholds()["dlib"].cluster_threshold
    assert SFACE.replace(encoder="dlib", match_threshold=0.5).match_threshold == 0.5
    assert SFACE.digest() != dlib.digest()  # the analysis cache is keyed by the encoder too
    with pytest.raises(ValueError, match="needs detector 'yunet'"):
        FaceParams(encoder="sface", detector="hog")


def test_galleries_of_two_encoders_never_mix(shared_data):
    photo = shared_data / "face_recognition/examples/obama-480p.jpg"
    dlib_params = SFACE.replace(encoder="dlib")
    dlib_gallery = Gallery.from_photos({"S001": [photo]}, dlib_params)
    with pytest.raises(ValueError, match="'dlib' encoder cannot be matched with faces encoded by 'sface'"):
        match_faces(None, [photo], SFACE, gallery=dlib_gallery)
    with pytest.raises(ValueError, match="one encoder"):
        Gallery.combine(dlib_gallery, Gallery.from_photos({"T001": [photo]}, SFACE))
