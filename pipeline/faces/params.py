"""Tunable parameters of the face stage, kept apart from its structure.

Every field carries a description and bounds (``FIELD_BOUNDS``), checked in ``__post_init__``; the lead
hooks this into the strict config. Defaults are justified by measurements in ``benchmarks/results/``
(2-core x86 CPU, one thread), cited next to each field.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import hashlib
import json

DETECTORS = ("yunet", "hog")
LANDMARK_MODES = ("dlib5_on_box", "yunet5")

# field -> (min, max, description). Bounds are inclusive.
FIELD_BOUNDS: dict[str, tuple[float, float, str]] = {
    "score_threshold": (0.05, 0.99, "YuNet confidence below which a box is dropped"),
    "upscale": (0.25, 4.0, "resize factor applied to the image before detection (>1 finds smaller faces)"),
    "max_detect_side_px": (320, 8192, "after upscale, images larger than this are detected in tiles"),
    "min_face_px": (4, 400, "boxes whose shorter side (original pixels) is below this are dropped"),
    "hog_upsample": (0, 3, "upsampling passes of dlib's HOG detector (detector='hog' only)"),
    "encode_jitters": (1, 20, "dlib encoder re-samples per face (more = slower, slightly steadier)"),
    "match_threshold": (0.2, 0.9, "largest encoding distance accepted as the same person"),
    "enroll_dominance": (1.0, 10.0, "several faces in an enrollment photo: the largest is used only if its "
                                    "area is at least this many times the next one"),
    "sample_interval_s": (0.5, 600.0, "seconds between frames sampled for the face pass"),
    "track_iou": (0.0, 1.0, "a box overlapping the previous sample's box by this IoU keeps its identity "
                            "without re-encoding (0 = always encode)"),
    "reencode_every_s": (0.0, 3600.0, "a tracked face is re-encoded at least this often"),
    "gap_tolerance_s": (0.0, 3600.0, "sightings of one person closer than this join into one presence interval"),
    "cluster_threshold": (0.2, 0.9, "largest encoding distance joining two unknown faces into one cluster"),
    "headcount_window_s": (1.0, 7200.0, "window over which the robust headcount is taken"),
    "headcount_quantile": (0.0, 1.0, "quantile of per-frame counts in a window (people look down)"),
}


@dataclass(frozen=True)
class FaceParams:
    # YuNet (libfacedetection, via `yuface`): 155/156 labelled faces at 0.08 s/image vs HOG upsample 1
    # 137/156 at 0.24 s (benchmarks/results/faces_detection.md).
    detector: str = "yunet"
    # See faces_detection.md: the threshold sweep, recall vs. false boxes.
    score_threshold: float = 0.5
    upscale: float = 1.0
    max_detect_side_px: int = 8192
    min_face_px: int = 8
    hog_upsample: int = 1
    # How the dlib encoder gets its 5-point shape: dlib's 5-point predictor run on the detector box, or
    # a shape built from YuNet's own 5 landmarks (faces_recognition.md compares them).
    landmark_mode: str = "dlib5_on_box"
    encode_jitters: int = 1
    # Calibrated on the identity sets (faces_recognition.md): the largest threshold at which held-out
    # non-enrolled people are accepted at most 2% of the time.
    match_threshold: float = 0.5
    enroll_dominance: float = 2.0
    sample_interval_s: float = 20.0
    track_iou: float = 0.5
    reencode_every_s: float = 300.0
    gap_tolerance_s: float = 120.0
    cluster_threshold: float = 0.5
    headcount_window_s: float = 300.0
    headcount_quantile: float = 0.75

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"FaceParams.detector: expected one of {DETECTORS}, found {self.detector!r}")
        if self.landmark_mode not in LANDMARK_MODES:
            raise ValueError(f"FaceParams.landmark_mode: expected one of {LANDMARK_MODES}, "
                             f"found {self.landmark_mode!r}")
        for name, (lo, hi, _) in FIELD_BOUNDS.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"FaceParams.{name}: expected a value in [{lo}, {hi}], found {value!r}")

    def replace(self, **changes) -> FaceParams:
        return dataclasses.replace(self, **changes)

    def digest(self) -> str:
        """Stable hash of every field: part of the face cache key."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
