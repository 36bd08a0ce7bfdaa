"""The numpy runtime of dlib's face encoder gives dlib's encodings, on real faces, and refuses other files."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.faces import adapter
from pipeline.faces.images import read_image
from pipeline.faces.params import FaceParams
from pipeline.faces.resnet import DlibResNet, ModelFileError

NUMPY, DLIB = FaceParams(encoder="dlib", encoder_runtime="numpy"), FaceParams(encoder="dlib", encoder_runtime="dlib")


def _photos(shared_data):
    johns = sorted((shared_data / "dlib/examples/johns").rglob("*.jpg"))[:6]
    meeting = shared_data / "wider_face_val_samples/11_Meeting_Meeting_11_Meeting_Meeting_11_176.jpg"
    return johns + [meeting]


def test_numpy_runtime_equals_dlib_on_real_faces(shared_data):
    faces = 0
    for path in _photos(shared_data):
        image = read_image(path)
        dets = adapter.detect_faces(image, NUMPY)
        ours, theirs = adapter.encode_faces(image, dets, NUMPY), adapter.encode_faces(image, dets, DLIB)
        assert ours.shape == theirs.shape == (len(dets), 128) and ours.dtype == np.float32
        # a match threshold of 0.55 sits far above this; the rest is float summation order
        assert np.linalg.norm(ours - theirs, axis=1).max(initial=0) < 1e-4, path
        faces += len(dets)
    assert faces >= 20  # the meeting photo's small faces are in the comparison


def test_batches_do_not_change_encodings(shared_data):
    image = read_image(shared_data / "wider_face_val_samples/11_Meeting_Meeting_11_Meeting_Meeting_11_176.jpg")
    dets = adapter.detect_faces(image, NUMPY)
    assert len(dets) > 8  # more than one internal batch
    together = adapter.encode_faces(image, dets, NUMPY)
    alone = np.concatenate([adapter.encode_faces(image, dets.filter(np.arange(len(dets)) == i), NUMPY)
                            for i in range(len(dets))])
    assert np.abs(together - alone).max() < 1e-5


def test_other_model_file_is_refused_naming_the_layer(tmp_path):
    models = adapter._models()
    data = bytearray(open(models.encoder_path, "rb").read())
    cut = tmp_path / "cut.dat"
    cut.write_bytes(data[: len(data) // 2])  # a truncated file: layers missing, or a tensor that does not fit
    with pytest.raises(ModelFileError, match="cut.dat"):
        DlibResNet(cut)
    five_point = tmp_path / "shape.dat"
    five_point.write_bytes(b"\x01\x05" + b"con_4" + b"\x01\x03" + b"\x00" * 40)  # wrong tensor version
    with pytest.raises(ModelFileError, match="version 3"):
        DlibResNet(five_point)


def test_jitter_needs_the_dlib_runtime():
    with pytest.raises(ValueError, match="encoder_runtime"):
        FaceParams(encode_jitters=5)
    assert FaceParams(encoder="dlib", encode_jitters=5, encoder_runtime="dlib").encode_jitters == 5


def test_chips_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="150"):
        adapter._models().resnet().encode(np.zeros((1, 100, 100, 3), np.uint8))
