"""Tunable parameters of the face stage, kept apart from its structure.

Every field carries its documentation and bounds (``pipeline.settings.setting``) so the strict config
(``pipeline/config.py``) documents and checks it; ``__post_init__`` checks them too, so a FaceParams built
in code is as safe as one read from YAML. Defaults come from measurements in ``benchmarks/results/``
(2-core x86 CPU, one thread), cited next to each field.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
import hashlib
import json
from pathlib import Path

from pipeline.settings import build, load_yaml_text, out_of_bounds, setting

DETECTORS = ("yunet", "centerface", "hog")
YUNET_RUNTIMES = ("opencv", "yuface")
ENCODERS = ("sface", "dlib")
ENCODER_RUNTIMES = ("numpy", "dlib")
LANDMARK_MODES = ("dlib5_on_box", "yunet5")
ENCODER_THRESHOLDS_FILE = Path(__file__).resolve().parents[2] / "configs" / "face_encoders.yaml"


@dataclass(frozen=True)
class EncoderThresholds:
    """One encoder's recognition thresholds (configs/face_encoders.yaml holds them with their measurements).
    Distances are on that encoder's own scale: never compare them across encoders."""

    match_threshold: float = setting(0.55, "largest distance accepted as the same person", min=0.05, max=2.0)
    relaxed_match_threshold: float = setting(0.6, "relaxed rule: largest distance to the nearest person",
                                             min=0.05, max=2.0)
    relaxed_match_margin: float = setting(0.1, "relaxed rule: how much farther everyone else must be",
                                          min=0.0, max=2.0)
    same_face_max_distance: float = setting(0.45, "largest distance between two roster entries' enrollment "
                                                  "photos reported as one face enrolled twice", min=0.05, max=2.0)
    cluster_threshold: float = setting(0.5, "largest distance joining unknown faces into one cluster",
                                       min=0.05, max=2.0)
    unknown_min_distance: float = setting(0.62, "a face that matched nobody is an unknown person only if "
                                                "every enrolled person not seen with it is farther than this",
                                          min=0.05, max=2.0)


THRESHOLD_FIELDS = tuple(f.name for f in dataclasses.fields(EncoderThresholds))


@lru_cache(maxsize=1)
def encoder_thresholds() -> dict[str, EncoderThresholds]:
    """{encoder: its thresholds} from configs/face_encoders.yaml, checked strictly (every encoder present,
    every key known and within bounds)."""
    data = load_yaml_text(ENCODER_THRESHOLDS_FILE.read_text(encoding="utf-8"))
    where = ENCODER_THRESHOLDS_FILE.name
    if not isinstance(data, dict) or set(data) != set(ENCODERS):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{where}: expected one section per encoder {list(ENCODERS)}, found {found}")
    out = {}
    for name in ENCODERS:
        missing = set(THRESHOLD_FIELDS) - set(data[name] or {})
        if missing:
            raise ValueError(f"{where}: {name}: expected every threshold, missing {sorted(missing)}")
        out[name] = build(EncoderThresholds, data[name], f"{where}:{name}")
    return out


@dataclass(frozen=True)
class FaceParams:
    # faces_detection.md: YuNet (libfacedetection via `yuface`, weights inside the wheel) finds 155/156
    # labelled faces at 0.05 s/image; dlib HOG upsample 1 finds 137/156 at 0.18 s, upsample 2 145 at 0.63 s.
    detector: str = setting("yunet", "face detector", choices=DETECTORS)
    # faces_detection.md, faces_speed.md (issue 19): the same YuNet network run by OpenCV (the 2023mar int8 file)
    # or by libfacedetection (the yuface wheel); on count_dev 2,102 of yuface's 2,143 boxes have an OpenCV box
    # at IoU >= 0.5, and OpenCV takes ~1/3 of the CPU on a 1080p frame (0.10 against 0.27-0.37 s).
    yunet_runtime: str = setting("opencv", "what runs YuNet: opencv (cv2.FaceDetectorYN, ~3x cheaper on 1080p) "
                                           "or yuface (libfacedetection)", choices=YUNET_RUNTIMES)
    # faces_detection.md sweep: 0.5 -> 163 boxes for 155 faces, 0.6 -> 161 with the WIDER meeting still
    # 16/17; 0.7 loses 3 real faces (meeting 14/17).
    score_threshold: float = setting(0.6, "YuNet confidence below which a box is dropped", min=0.05, max=0.99)
    # faces_detection.md (count_dev, CenterFace x1.0): 0.3 -> recall >= 10 px 0.783 at precision 0.897,
    # 0.4 -> 0.720 at 0.963, 0.5 -> 0.645 at 0.987 (YuNet's default: 0.720 at 0.931).
    centerface_score_threshold: float = setting(0.4, "CenterFace confidence below which a box is dropped "
                                                     "(detector=centerface only)", min=0.05, max=0.99)
    # faces_detection.md: x1.5 / x2 finds no more faces here and adds false boxes at 2-6x the cost.
    upscale: float = setting(1.0, "resize factor applied before detection (>1 finds smaller faces, slower)",
                             min=0.25, max=4.0)
    max_detect_side_px: int = setting(8192, "after upscale, images wider or taller than this are detected "
                                            "in overlapping tiles", min=320, max=8192)
    # YuNet misses faces over ~450 px (4 deepface portraits of 2400 px scored 0.70-0.76 as 500 px boxes):
    # a second, cheap pass on the image shrunk to this side finds them (faces_recognition.md).
    coarse_side_px: int = setting(640, "images larger than this get a second detection pass shrunk to this "
                                       "longer side, for very large faces (0: off)", min=0, max=4096)
    # The full pass finds faces up to ~400 px (deepface img22, 273x385, at 0.94); coarse boxes smaller than
    # this are dropped, as the coarse pass scored the dog of dogs.jpg (173 px) 0.85.
    coarse_min_face_px: int = setting(300, "coarse-pass boxes whose shorter side (original pixels) is below "
                                           "this are dropped (the full pass covers them)", min=16, max=4096)
    # The counting floor. faces_detection.md, count_dev (51 WIDER photos, 2,826 faces, IoU >= 0.4): 14 px
    # finds 0.59 of the faces >= 10 px tall at precision 0.96; 8 px finds 0.72 at 0.93 (faces >= 20 px:
    # 0.84 -> 0.85 at 0.97), 6 px 0.72 at 0.93 again. A 10 px tall face is ~8 px wide. The 19 development
    # photos are unchanged (155/156 found, 159 boxes).
    min_face_px: int = setting(8, "counting floor: boxes whose shorter side (original pixels) is below this "
                                  "are dropped", min=4, max=400)
    # The recognition floor: faces between min_face_px and this are counted (headcount) but never encoded,
    # matched or reported as unknown people: dlib's encoder needs a face it can see (the 14 px floor the
    # recognition measurements in faces_recognition.md were made with). The face-quality gate of the
    # recognition work replaces it.
    recognition_min_face_px: int = setting(14, "faces whose box's shorter side is below this are counted but "
                                               "not recognised (no sighting, no unknown person)",
                                           min=4, max=400)
    # Every real labelled face over 60 px scored >= 0.89, while the two dog faces of dogs.jpg (196 and
    # 354 px) scored 0.77 and 0.66: large boxes must be confident.
    large_face_px: int = setting(80, "boxes whose shorter side reaches this must score large_face_min_score",
                                 min=16, max=4096)
    large_face_min_score: float = setting(0.85, "score a large box needs (a well-resolved real face scores "
                                                "high, a face-like object such as a dog does not)",
                                          min=0.05, max=0.99)
    hog_upsample: int = setting(1, "upsampling passes of dlib's HOG detector (detector=hog only)", min=0, max=3)
    # faces_recognition.md, identities_dev (150 people, one enrollment photo each, 200 strangers), both
    # encoders at their own 1% stranger point: SFace top-1 0.988 / 0.977 at full size / 40 px, dlib 0.822 /
    # 0.793. sample_data's synthetic people are made to be told apart by SFace (sample_data/SOURCES.md).
    encoder: str = setting("sface", "face encoder: sface (OpenCV Zoo SFace, int8, needs YuNet's landmarks) or "
                                   "dlib (ResNet); each has its own thresholds (configs/face_encoders.yaml)",
                           choices=ENCODERS)
    # faces_recognition.md compares the two on the identity sets (dlib encoder only).
    landmark_mode: str = setting("dlib5_on_box", "5-point shape for the dlib encoder: dlib's predictor on "
                                                 "the box, or built from YuNet's landmarks",
                                 choices=LANDMARK_MODES)
    # faces_speed.md: dlib-bin has no BLAS, its network takes ~60 ms a face; the same weights in numpy take
    # ~8 ms and give the same encodings (within 1e-5, tests/test_faces_resnet.py).
    encoder_runtime: str = setting("numpy", "what runs dlib's face encoder network: numpy (BLAS, ~8x faster, "
                                            "same encodings) or dlib itself", choices=ENCODER_RUNTIMES)
    encode_jitters: int = setting(1, "dlib encoder re-samples per face (more: slower, slightly steadier; "
                                     "above 1 needs encoder_runtime dlib)", min=1, max=20)
    # The five recognition thresholds below are per encoder: left out (None), each takes the encoder's
    # calibrated value from configs/face_encoders.yaml, where the measurements that justify them are.
    match_threshold: float | None = setting(None, "largest encoding distance accepted as the same person "
                                                  "(default: the encoder's, configs/face_encoders.yaml)",
                                            min=0.05, max=2.0)
    relaxed_match_threshold: float | None = setting(
        None, "a face farther than match_threshold but within this is still its nearest person when everyone "
              "else is relaxed_match_margin farther and that person is not elsewhere in the frame "
              "(= match_threshold: off; default: the encoder's)", min=0.05, max=2.0)
    relaxed_match_margin: float | None = setting(None, "how much farther everyone else must be for a relaxed "
                                                       "match (default: the encoder's)", min=0.0, max=2.0)
    # Two roster entries enrolled with one face (IDENTITY_SHARED) must be told from two look-alikes.
    same_face_max_distance: float | None = setting(None, "largest distance between two roster entries' "
                                                         "enrollment photos reported as one face enrolled twice "
                                                         "(default: the encoder's)", min=0.05, max=2.0)
    # Enrollment photos with several faces (pipeline/faces/gallery.py, subject_face). identities_dev survey (all
    # 1090 LFW photos detected; 68 of those with several faces inspected): the subject was always the face
    # nearest the centre (within 0.18 of the half-diagonal) and the largest; every other face was at least
    # 0.29 farther from the centre; the subject's area was 1.06x (two people side by side) to 76x the next one's.
    enroll_dominance: float = setting(2.0, "several faces in an enrollment photo: the face nearest the centre "
                                           "is the subject if its area is at least this many times every other "
                                           "face's", min=1.0, max=100.0)
    enroll_min_relative_size: float = setting(0.7, "... or if its area is at least this share of every other "
                                                   "face's and they are all enroll_centre_margin farther from "
                                                   "the centre", min=0.1, max=1.0)
    enroll_centre_margin: float = setting(0.15, "how much farther from the centre (share of the half-diagonal) "
                                                "every other face must be", min=0.0, max=1.0)
    # faces_speed.md: the whole face pass must run at >= 100x real time on 2 cores.
    sample_interval_s: float = setting(30.0, "seconds between frames sampled for the face pass",
                                       min=0.5, max=600.0)
    # Trainees sit still: a box overlapping last sample's box keeps its identity without re-encoding
    # (faces_speed.md: encoding every face of every sample dominates otherwise).
    track_iou: float = setting(0.5, "IoU with the previous sample's box above which a face keeps its "
                                    "identity without re-encoding (1: always encode)", min=0.0, max=1.0)
    reencode_every_s: float = setting(300.0, "a tracked face is re-encoded at least this often",
                                      min=0.0, max=3600.0)
    # At one face sample per 30 s, a trainee looking down for a minute and missed by the detector in one or
    # two more frames leaves a 150 s hole (benchmarks/accuracy.py, 8-min sessions: 120 s split 8 present
    # trainees into false ATTENDANCE_ABSENT). 300 s = 10 samples; leaving and coming back within 5 min
    # counts as present, well inside the 20% ATTENDANCE_ABSENT allows.
    gap_tolerance_s: float = setting(300.0, "sightings of one person closer than this join into one "
                                            "presence interval", min=0.0, max=3600.0)
    cluster_threshold: float | None = setting(None, "largest encoding distance joining unknown faces into one "
                                                    "cluster (one cluster = one unknown person; default: the "
                                                    "encoder's)", min=0.05, max=2.0)
    # A face beyond the match threshold but within this of someone who could be it (not seen beside it) is
    # neither that person nor a stranger: unidentified ("could not judge"), never UNKNOWN_PERSON.
    unknown_min_distance: float | None = setting(None, "a face that matched nobody is an unknown person only "
                                                       "if every enrolled person not seen beside it is farther "
                                                       "than this (default: the encoder's)", min=0.05, max=2.0)
    headcount_window_s: float = setting(300.0, "window over which the robust headcount is taken",
                                        min=1.0, max=7200.0)
    headcount_quantile: float = setting(0.75, "quantile of the per-frame counts in a window (people look "
                                              "down: one frame's count is noise)", min=0.0, max=1.0)
    # The face-quality gate (pipeline/faces/quality.py), with recognition_min_face_px as its size floor.
    # Measured in benchmarks/results/faces_quality.md (identities_dev probes/strangers at full size and
    # shrunk, count_dev faces by WIDER's blur/pose labels); the values are set in configs/pipeline.yaml.
    quality_max_yaw: float = setting(0.3, "largest nose offset from the eye midpoint, in eye distances, of a "
                                          "face that is judged (0 frontal, ~0.5 profile)", min=0.0, max=2.0)
    quality_min_eyes: float = setting(0.2, "smallest eye distance, as a share of the box width, of a face that "
                                           "is judged (a turned or occluded face's landmarks collapse)",
                                      min=0.0, max=1.0)
    quality_min_pitch: float = setting(0.2, "where the nose sits between the eye line (0) and the mouth line (1) "
                                            "on a judged face: at least this (head tipped back below)",
                                       min=-1.0, max=2.0)
    quality_max_pitch: float = setting(0.9, "... and at most this (head bowed above)", min=-1.0, max=2.0)
    quality_min_sharpness: float = setting(0.05, "smallest var(Laplacian)/var(grey) of a judged face's crop",
                                           min=0.0, max=10.0)
    # Identity per track (pipeline/faces/video.py). A seated trainee's track survives a look down of up
    # to this long (synthetic classes: looks down last 20-75 s, i.e. up to 3 missed samples at 30 s).
    track_max_gap_s: float = setting(90.0, "a face track survives this long without a detection (looks down)",
                                     min=0.0, max=3600.0)
    # A tracked face is not re-encoded while it looks the same: its 16x16 grey thumbnail correlates with the
    # last confirmed one above this. Someone else taking the seat between two samples changes it, so the
    # face is encoded and a swap is found at once (tests/test_faces_tracks.py); a synthetic trainee's
    # pasted photo under H.264 stays above 0.95.
    track_same_look: float = setting(0.9, "thumbnail correlation above which a tracked face counts as unchanged "
                                          "(not re-encoded; 1: re-encode every judged sample)", min=0.0, max=1.0)
    unknown_min_judged: int = setting(3, "judged samples a track needs before it may be called an unknown "
                                         "person (fewer: unidentified)", min=1, max=100)
    split_after: int = setting(2, "consecutive judged samples that disagree with a track's identity before "
                                  "the track is split (a seat swap); one poor frame never splits",
                               min=1, max=20)
    # Faces that are pictures (pipeline/faces/pictured.py). tests/test_faces_pictured.py: a poster through
    # H.264 with lighting drift moved its landmarks by at most 1 px over 45 min (YuNet's landmarks are whole
    # pixels), a very still seated stranger (about 1 px sway, 2 px shifts every 15 min, notes every 7 min)
    # by up to 6 px; a seated trainee moves more than that over 20 minutes. 0.03 x a 40 px face is 1.2 px.
    static_min_span_s: float = setting(1200.0, "a face that keeps its place and landmarks for at least this long "
                                               "is a picture, not a person (0: never)", min=0.0, max=86400.0)
    static_min_share: float = setting(0.8, "a still face is a picture only if found, unmoved, in at least this share of the "
                                           "recording's samples", min=0.5, max=1.0)
    screen_faces: bool = setting(True, "faces wholly inside a screen (TV, projection) whose outline is unbroken are "
                                       "not people")
    static_max_motion: float = setting(0.03, "largest landmark move, as a share of the face's size, that still "
                                             "counts as not moving (at least 1 px)", min=0.0, max=0.5)

    def __post_init__(self) -> None:
        if self.encoder in ENCODERS:
            calibrated = encoder_thresholds()[self.encoder]
            for name in THRESHOLD_FIELDS:
                if getattr(self, name) is None:
                    value = getattr(calibrated, name)
                    if name == "relaxed_match_threshold" and self.match_threshold is not None:
                        value = max(value, self.match_threshold)  # a raised match threshold: rule off
                    object.__setattr__(self, name, value)
        for f in dataclasses.fields(self):
            if (why := out_of_bounds(getattr(self, f.name), f.metadata)) is not None:
                raise ValueError(f"FaceParams.{f.name}: {why}")
        if self.relaxed_match_threshold < self.match_threshold:
            raise ValueError(f"FaceParams.relaxed_match_threshold: expected at least match_threshold "
                             f"({self.match_threshold}), found {self.relaxed_match_threshold}")
        if self.encoder == "sface" and self.detector not in ("yunet", "centerface"):
            raise ValueError(f"FaceParams.encoder: 'sface' aligns faces on five landmarks (eyes, nose tip, mouth "
                             f"corners) and needs detector 'yunet' or 'centerface', found detector "
                             f"{self.detector!r} (use encoder 'dlib' with it)")
        if self.encode_jitters > 1 and (self.encoder_runtime != "dlib" or self.encoder != "dlib"):
            raise ValueError(f"FaceParams.encode_jitters: {self.encode_jitters} re-samples need encoder 'dlib' "
                             f"with encoder_runtime 'dlib' (found {self.encoder!r}, {self.encoder_runtime!r}); the "
                             f"others encode each face once")

    def replace(self, **changes) -> FaceParams:
        """A copy with ``changes``. Switching the encoder resets the thresholds not given in ``changes`` to
        the new encoder's calibrated values (distances of two encoders are on unrelated scales)."""
        if changes.get("encoder", self.encoder) != self.encoder:
            for name in THRESHOLD_FIELDS:
                changes.setdefault(name, None)
        return dataclasses.replace(self, **changes)

    def digest(self) -> str:
        """Stable hash of every field: part of the face cache key."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
