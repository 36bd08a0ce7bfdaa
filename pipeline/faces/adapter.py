"""The only module that imports face libraries (yuface, dlib, face_recognition_models; SFace's and
CenterFace's weights through pipeline.faces.sface and pipeline.faces.centerface).

Models load lazily, once per process, on first use (``_models()``), never at import time, so importing
the pipeline stays cheap and worker processes each load their own copy. Swapping the detector touches
this file only: everything it returns is a ``FaceDetections`` or a plain numpy array.
"""
from __future__ import annotations

from functools import lru_cache
import warnings

import numpy as np

from pipeline.faces.detections import FaceDetections, nms
from pipeline.faces.params import FaceParams

ENCODING_DIM = 128
# Overlapping tiles and scales see the same face twice; boxes overlapping this much are one face.
_MERGE_IOU = 0.4
# Tiles overlap by this share of a tile side so a face on a seam is whole in one of them.
_TILE_OVERLAP = 0.15


class _Models:
    """Each model loads on first use. The defaults (YuNet in OpenCV, SFace) need no dlib: importing dlib and
    face_recognition_models (which imports pkg_resources) and loading the HOG detector and the 5-point
    predictor cost each decoding child 0.61 CPU s and 25 MB when they loaded up front (issue 19)."""

    def __init__(self) -> None:
        self._dlib = self._hog = self._shape5 = self._encoder_path = self._yuface = None
        self._encoder = None
        self._resnet = None
        self._sface = None
        self._centerface = None
        self._yunet_cv = None

    @property
    def dlib(self):
        if self._dlib is None:
            import dlib

            self._dlib = dlib
        return self._dlib

    @property
    def hog(self):
        """dlib's HOG face detector (detector=hog only)."""
        if self._hog is None:
            self._hog = self.dlib.get_frontal_face_detector()
        return self._hog

    def _frm(self):
        with warnings.catch_warnings():  # the models package still imports pkg_resources
            warnings.simplefilter("ignore", UserWarning)
            import face_recognition_models as frm
        return frm

    @property
    def shape5(self):
        """dlib's 5-point shape predictor (the dlib encoder's landmarks)."""
        if self._shape5 is None:
            self._shape5 = self.dlib.shape_predictor(self._frm().pose_predictor_five_point_model_location())
        return self._shape5

    @property
    def encoder_path(self) -> str:
        if self._encoder_path is None:
            self._encoder_path = self._frm().face_recognition_model_location()
        return self._encoder_path

    @property
    def yuface(self):
        """libfacedetection's YuNet (yunet_runtime=yuface)."""
        if self._yuface is None:
            import yuface

            # yuface warns on every image over 960 px; we tile or accept the cost knowingly.
            warnings.filterwarnings("ignore", message="Image size", module="yuface")
            self._yuface = yuface
        return self._yuface

    def yunet_cv(self):
        """YuNet run by OpenCV (pipeline.faces.yunet_cv), loaded and checked on first use, one OpenCV thread."""
        if self._yunet_cv is None:
            import cv2

            from pipeline.faces.yunet_cv import YuNetCV

            cv2.setNumThreads(1)
            self._yunet_cv = YuNetCV()
        return self._yunet_cv

    def centerface(self):
        """CenterFace (pipeline.faces.centerface), loaded and checked on first use, one OpenCV thread."""
        if self._centerface is None:
            import cv2

            from pipeline.faces.centerface import CenterFace

            cv2.setNumThreads(1)
            self._centerface = CenterFace()
        return self._centerface

    @property
    def encoder(self):
        """dlib's own encoder network, loaded on first use: with encoder_runtime numpy (the default) it never
        runs, and it holds ~22 MB in every decoding child (issue 19, tree RSS)."""
        if self._encoder is None:
            self._encoder = self.dlib.face_recognition_model_v1(self.encoder_path)
        return self._encoder

    def sface(self):
        """SFace (pipeline.faces.sface), loaded and checked on first use. OpenCV's own threads are held to
        one, as BLAS is for the numpy ResNet: the pipeline runs one worker process per core."""
        if self._sface is None:
            import cv2

            from pipeline.faces.sface import SFace

            cv2.setNumThreads(1)
            self._sface = SFace()
        return self._sface

    def resnet(self):
        """The same network run by numpy (pipeline.faces.resnet), loaded on first use. BLAS is held to one
        thread: the pipeline's parallelism is one worker process per core, and at 8 faces a batch a second
        thread gains nothing here (faces_speed.md)."""
        if self._resnet is None:
            from threadpoolctl import threadpool_limits

            from pipeline.faces.resnet import DlibResNet

            threadpool_limits(1, user_api="blas")
            self._resnet = DlibResNet(self.encoder_path)
        return self._resnet


@lru_cache(maxsize=1)
def _models() -> _Models:
    return _Models()


def load_models(params: FaceParams) -> None:
    """Load now what detecting and encoding with ``params`` needs (otherwise loaded on first use), so that a
    process can give back the memory that loading used and freed before it starts on frames."""
    models = _models()
    if params.detector == "yunet" and params.yunet_runtime == "opencv":
        models.yunet_cv()
    elif params.detector == "yunet":
        models.yuface  # noqa: B018 - loads it
    elif params.detector == "hog":
        models.hog  # noqa: B018 - loads it
    if params.encoder == "sface":
        models.sface()
    else:
        if params.landmark_mode == "dlib5_on_box":
            models.shape5  # noqa: B018 - loads it
        if params.encoder_runtime == "numpy":
            models.resnet()


def release_buffers() -> None:
    """Drop the buffers OpenCV's YuNet keeps sized for the last image (a 2500 px enrollment photo's are ~2.5x a
    1080p frame's): the detector is built again, in 15 ms, on its next use. Called after enrolling a class."""
    models = _models()
    models._yunet_cv = None


def _resize(image_bgr: np.ndarray, factor: float) -> np.ndarray:
    import cv2  # opencv is not a face library; imported here to keep module import light

    if factor == 1.0:
        return image_bgr
    interp = cv2.INTER_LINEAR if factor > 1 else cv2.INTER_AREA
    return cv2.resize(image_bgr, None, fx=factor, fy=factor, interpolation=interp)


def _yunet_rows(models: _Models, image_bgr: np.ndarray, min_score_100: float, runtime: str) -> np.ndarray:
    """(N, 16) rows in yuface's layout, from the runtime named: OpenCV's float rows, or yuface's raw int16
    rows (the public wrapper's docstring says uint16 but rows are signed: boxes may start left of the
    image), filtered here."""
    if runtime == "opencv":
        return models.yunet_cv().rows(image_bgr, min_score_100 / 100.0)
    models.yuface  # noqa: B018 - imported and its size warning silenced on first use
    from yuface.yuface import detect as c_detect  # noqa: PLC0415 - same library, raw rows

    rows = c_detect(np.ascontiguousarray(image_bgr))
    return rows[rows[:, 0] > min_score_100] if len(rows) else rows.reshape(0, 16)


def _detect_yunet(models: _Models, image_bgr: np.ndarray, params: FaceParams) -> FaceDetections:
    scaled = _resize(image_bgr, params.upscale)
    h, w = scaled.shape[:2]
    tile = params.max_detect_side_px
    parts = []
    step = max(1, int(tile * (1 - _TILE_OVERLAP)))
    for y0 in range(0, max(1, h - int(tile * _TILE_OVERLAP)), step) if h > tile else [0]:
        for x0 in range(0, max(1, w - int(tile * _TILE_OVERLAP)), step) if w > tile else [0]:
            crop = scaled[y0:y0 + tile, x0:x0 + tile]
            rows = _yunet_rows(models, crop, params.score_threshold * 100, params.yunet_runtime)
            # offset is applied in scaled pixels, then the scale is undone
            parts.append(FaceDetections.from_yuface(rows, 1.0, (x0, y0)))
    dets = FaceDetections.concat(parts)
    if params.upscale != 1.0 and len(dets):
        dets = FaceDetections(np.rint(dets.boxes_xywh / params.upscale).astype(np.int32), dets.scores,
                              dets.landmarks / params.upscale)
    longest = max(image_bgr.shape[:2])
    if params.coarse_side_px and longest > params.coarse_side_px:
        factor = params.coarse_side_px / longest
        rows = _yunet_rows(models, _resize(image_bgr, factor), params.score_threshold * 100, params.yunet_runtime)
        coarse = FaceDetections.from_yuface(rows, factor)
        parts.append(coarse.filter(coarse.boxes_xywh[:, 2:].min(axis=1) >= params.coarse_min_face_px))
        dets = FaceDetections.concat([dets, parts[-1]])
    return nms(dets, _MERGE_IOU) if len(parts) > 1 else dets


def _detect_centerface(models: _Models, image_bgr: np.ndarray, params: FaceParams) -> FaceDetections:
    """CenterFace at ``upscale``; on large images a second pass shrunk to ``coarse_side_px`` for the largest
    faces, as for YuNet (the network's boxes stop growing around 500 px)."""
    net = models.centerface()
    dets = net.detect(image_bgr, params.centerface_score_threshold, params.upscale)
    longest = max(image_bgr.shape[:2])
    if params.coarse_side_px and longest > params.coarse_side_px:
        coarse = net.detect(image_bgr, params.centerface_score_threshold, params.coarse_side_px / longest)
        coarse = coarse.filter(coarse.boxes_xywh[:, 2:].min(axis=1) >= params.coarse_min_face_px)
        if len(coarse):
            dets = nms(FaceDetections.concat([dets, coarse]), _MERGE_IOU)
    return dets


def _detect_hog(models: _Models, image_bgr: np.ndarray, params: FaceParams) -> FaceDetections:
    rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
    rects, scores, _ = models.hog.run(rgb, params.hog_upsample, 0.0)
    # HOG scores are SVM margins (about 0-3); squash to (0, 1) so thresholds read alike
    return FaceDetections.from_dlib(list(rects), 1 - np.exp(-np.asarray(scores, np.float64)))


def detect_faces(image_bgr: np.ndarray, params: FaceParams) -> FaceDetections:
    """Faces in one BGR image, boxes in its pixel coordinates, smallest ones (min_face_px) dropped."""
    if image_bgr is None or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        found = None if image_bgr is None else (image_bgr.shape, image_bgr.dtype)
        raise ValueError(f"detect_faces: expected an HxWx3 uint8 BGR image, found {found}")
    models = _models()
    if params.detector == "yunet":
        dets = _detect_yunet(models, image_bgr, params)
    elif params.detector == "centerface":
        dets = _detect_centerface(models, image_bgr, params)
    else:
        dets = _detect_hog(models, image_bgr, params)
    h, w = image_bgr.shape[:2]
    dets = dets.clip(w, h)
    if not len(dets):
        return dets
    side_px = dets.boxes_xywh[:, 2:].min(axis=1)
    large_ok = (side_px < params.large_face_px) | (dets.scores >= params.large_face_min_score)
    return dets.filter((side_px >= params.min_face_px) & large_ok)


# dlib's 5-point shape (outer/inner corner of the image-right eye, outer/inner corner of the image-left
# eye, base of the nose) expressed in a frame fixed by YuNet's eye centres and mouth centre. Fitted by
# `benchmarks/bench_faces_recognition.py --fit-shape` on the identity photos (dlib predictor on 100
# single-face photos, median; spread about 0.07 of the eye distance); used by landmark_mode="yunet5".
_YUNET_TO_DLIB5 = np.array([[1.11, 0.0], [0.761, 0.012], [-0.159, 0.004], [0.181, 0.015], [0.477, 0.734]],
                           np.float32)


def _shape_from_yunet(models: _Models, marks: np.ndarray):
    """A dlib 5-point shape built from YuNet's landmarks: x axis eye-to-eye, y axis eyes-to-mouth."""
    left_eye, right_eye = marks[0], marks[1]
    mouth = (marks[3] + marks[4]) / 2
    ex = right_eye - left_eye
    eye_mid = (left_eye + right_eye) / 2
    ey = mouth - eye_mid
    pts = left_eye + _YUNET_TO_DLIB5[:, :1] * ex + _YUNET_TO_DLIB5[:, 1:] * ey
    xs, ys = pts[:, 0], pts[:, 1]
    rect = models.dlib.rectangle(int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
    parts = [models.dlib.point(int(round(x)), int(round(y))) for x, y in pts]
    return models.dlib.full_object_detection(rect, parts)


def face_shapes(image_rgb: np.ndarray, detections: FaceDetections, params: FaceParams) -> list:
    models = _models()
    shapes = []
    for i, (x, y, w, h) in enumerate(detections.boxes_xywh):
        if params.landmark_mode == "yunet5" and detections.landmarks is not None:
            shapes.append(_shape_from_yunet(models, detections.landmarks[i]))
        else:
            rect = models.dlib.rectangle(int(x), int(y), int(x + w), int(y + h))
            shapes.append(models.shape5(image_rgb, rect))
    return shapes


def encode_faces(image_bgr: np.ndarray, detections: FaceDetections, params: FaceParams) -> np.ndarray:
    """(N, 128) float32 face encodings of ``params.encoder``, one per detection, in the detections' order.
    SFace's are unit vectors; dlib's are not. Distances of one encoder's vectors only mean anything against
    the same encoder's (Gallery checks this)."""
    if len(detections) == 0:
        return np.zeros((0, ENCODING_DIM), np.float32)
    models = _models()
    if params.encoder == "sface":
        if detections.landmarks is None:
            raise ValueError("encode_faces: the sface encoder needs YuNet's five landmarks per face, found "
                             "detections without landmarks (detector 'hog'?)")
        from pipeline.faces.sface import align

        chips = np.stack([align(image_bgr, marks) for marks in detections.landmarks])
        return models.sface().encode(chips)
    rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
    shapes = models.dlib.full_object_detections()
    shapes.extend(face_shapes(rgb, detections, params))
    if params.encoder_runtime == "numpy":
        # the chips dlib's compute_face_descriptor cuts (150 px, padding 0.25), then the network in numpy
        chips = models.dlib.get_face_chips(rgb, shapes, size=150, padding=0.25)
        return models.resnet().encode(np.stack([np.asarray(c) for c in chips]))
    enc = models.encoder.compute_face_descriptor(rgb, shapes, params.encode_jitters)
    return np.asarray([np.asarray(e) for e in enc], np.float32).reshape(-1, ENCODING_DIM)


def dlib_shape_points(image_bgr: np.ndarray, detections: FaceDetections) -> np.ndarray:
    """(N, 5, 2) points of dlib's 5-point predictor on each box (used to fit ``_YUNET_TO_DLIB5``)."""
    models = _models()
    rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
    out = []
    for x, y, w, h in detections.boxes_xywh:
        s = models.shape5(rgb, models.dlib.rectangle(int(x), int(y), int(x + w), int(y + h)))
        out.append([(s.part(k).x, s.part(k).y) for k in range(5)])
    return np.asarray(out, np.float32).reshape(-1, 5, 2)
