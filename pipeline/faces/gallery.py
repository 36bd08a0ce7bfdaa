"""Enrolled people (trainees, teachers) as face encodings, and nearest-neighbour matching.

"Unknown" is a normal answer: a probe farther than ``match_threshold`` from everyone enrolled gets
``Match(None, distance)``. The threshold is calibrated in benchmarks/bench_faces_recognition.py.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.faces import adapter
from pipeline.faces.detections import FaceDetections
from pipeline.faces.errors import EnrollmentError
from pipeline.faces.images import ImageReadError, read_image
from pipeline.faces.params import FaceParams

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class Match:
    identity: str | None  # None: nobody enrolled is close enough (unknown)
    distance: float  # to the nearest enrolled encoding (of anyone), inf for an empty gallery


def centre_offsets(dets: FaceDetections, shape_hw: tuple[int, int]) -> np.ndarray:
    """(N,) distance of each box's centre from the image centre, as a share of the half-diagonal (0 at the
    centre, 1 in a corner)."""
    h, w = shape_hw[:2]
    boxes = dets.boxes_xywh.astype(np.float64)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    return np.linalg.norm(centres - [w / 2, h / 2], axis=1) / (np.hypot(w, h) / 2)


def subject_face(dets: FaceDetections, shape_hw: tuple[int, int], params: FaceParams) -> int | None:
    """Index of the face an enrollment photo is of, or None when the photo does not say whose it is.

    The only face; else the face nearest the centre when it is clearly the subject: its area is at least
    ``enroll_dominance`` times every other face's (a bystander far behind), or it is not much smaller than
    any other (``enroll_min_relative_size``) and every other face is ``enroll_centre_margin`` farther from
    the centre (a person beside the subject, cut by the frame's edge)."""
    if len(dets) == 1:
        return 0
    if len(dets) == 0:
        return None
    areas = dets.boxes_xywh[:, 2].astype(np.float64) * dets.boxes_xywh[:, 3]
    offsets = centre_offsets(dets, shape_hw)
    pick = int(np.argmin(offsets))
    others = np.arange(len(dets)) != pick
    if areas[pick] >= params.enroll_dominance * areas[others].max():
        return pick
    if (areas[pick] >= params.enroll_min_relative_size * areas[others].max()
            and offsets[others].min() - offsets[pick] >= params.enroll_centre_margin):
        return pick
    return None


def _ambiguity(dets: FaceDetections, shape_hw: tuple[int, int]) -> str:
    offsets = centre_offsets(dets, shape_hw)
    faces = ", ".join(f"{w}x{h} px at {o:.2f} from the centre"
                      for (_, _, w, h), o in sorted(zip(dets.boxes_xywh.tolist(), offsets), key=lambda t: t[1]))
    return f"{len(dets)} faces and none clearly the subject ({faces}; offsets as a share of the half-diagonal)"


def encode_photo(path: str | Path, params: FaceParams, identity: str | None = None,
                 max_pixels: int | None = None) -> np.ndarray:
    """One (128,) encoding from an enrollment photo; EnrollmentError names the file and what was found
    (a photo over `max_pixels`, read from its header, is never decoded)."""
    try:
        image = read_image(path, max_pixels)
    except ImageReadError as exc:
        raise EnrollmentError(str(path), exc.found, identity) from exc
    dets = adapter.detect_faces(image, params)
    if len(dets) == 0:
        raise EnrollmentError(str(path), "no face", identity)
    pick = subject_face(dets, image.shape, params)
    if pick is None:
        raise EnrollmentError(str(path), _ambiguity(dets, image.shape), identity)
    return adapter.encode_faces(image, dets.filter(np.arange(len(dets)) == pick), params)[0]


@dataclass(frozen=True)
class Gallery:
    identities: tuple[str, ...]  # one entry per distinct person
    encodings: np.ndarray  # (M, 128) float32, several rows per person allowed
    owner: np.ndarray  # (M,) int index into identities
    threshold: float
    problems: tuple[EnrollmentError, ...] = ()  # photos skipped when built with strict=False
    # The encoder that made ``encodings`` (FaceParams.encoder); None: not recorded (built from raw vectors).
    # Distances of two encoders are on unrelated scales: require() refuses to mix them.
    encoder: str | None = None

    def __post_init__(self) -> None:
        enc = np.asarray(self.encodings, np.float32).reshape(-1, adapter.ENCODING_DIM)
        owner = np.asarray(self.owner, np.int64).reshape(-1)
        if len(owner) != len(enc):
            raise ValueError(f"Gallery: expected one owner per encoding ({len(enc)}), found {len(owner)}")
        if len(owner) and (owner.min() < 0 or owner.max() >= len(self.identities)):
            raise ValueError("Gallery: owner index outside identities")
        object.__setattr__(self, "encodings", enc)
        object.__setattr__(self, "owner", owner)

    def __len__(self) -> int:
        return len(self.identities)

    @classmethod
    def from_photos(cls, photos: Mapping[str, Sequence[str | Path]], params: FaceParams,
                    strict: bool = True, max_pixels: int | None = None,
                    encode: Callable[[str, str | Path], np.ndarray] | None = None) -> Gallery:
        """``{identity: [photo paths]}``. strict: the first bad photo raises EnrollmentError; otherwise bad
        photos are kept in ``problems`` and the person is enrolled from the good ones (if any). ``encode``
        (identity, path) gives a photo's encoding or raises its EnrollmentError (default: encode_photo;
        pipeline/enrollment.py reads the encodings that several processes computed)."""
        if encode is None:
            def encode(identity, path):
                return encode_photo(path, params, identity, max_pixels)
        identities, encodings, owner, problems = [], [], [], []
        for identity, paths in photos.items():
            rows = []
            for path in paths:
                try:
                    rows.append(encode(identity, path))
                except EnrollmentError as exc:
                    if strict:
                        raise
                    problems.append(exc)
            if rows:
                encodings.extend(rows)
                owner.extend([len(identities)] * len(rows))
                identities.append(identity)
        return cls(tuple(identities), np.asarray(encodings, np.float32), np.asarray(owner), params.match_threshold,
                   tuple(problems), params.encoder)

    @classmethod
    def from_dir(cls, root: str | Path, params: FaceParams, strict: bool = True) -> Gallery:
        """``root/<identity>/<photos>``; files with other suffixes are ignored."""
        root = Path(root)
        if not root.is_dir():
            raise EnrollmentError(str(root), "no such folder (expected DIR/<identity>/<photos>)")
        photos = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
                  for d in sorted(root.iterdir()) if d.is_dir()}
        empty = [name for name, paths in photos.items() if not paths]
        if strict and empty:
            raise EnrollmentError(str(root / empty[0]), "a folder without photos", empty[0])
        return cls.from_photos({k: v for k, v in photos.items() if v}, params, strict)

    @classmethod
    def combine(cls, *galleries: Gallery) -> Gallery:
        """One gallery from several (trainees and teachers); identity names must not collide."""
        names = [n for g in galleries for n in g.identities]
        if len(set(names)) != len(names):
            raise ValueError("Gallery.combine: an identity appears in two galleries")
        encoders = {g.encoder for g in galleries} - {None}
        if len(encoders) > 1:
            raise ValueError(f"Gallery.combine: expected one encoder, found {sorted(encoders)}")
        offsets = np.cumsum([0] + [len(g) for g in galleries[:-1]])
        return cls(tuple(names), np.concatenate([g.encodings for g in galleries]),
                   np.concatenate([g.owner + off for g, off in zip(galleries, offsets)]),
                   galleries[0].threshold, tuple(p for g in galleries for p in g.problems),
                   next(iter(encoders), None))

    def require(self, params: FaceParams) -> None:
        """ValueError unless this gallery's encodings come from ``params.encoder`` (or are unlabelled)."""
        if self.encoder is not None and self.encoder != params.encoder:
            raise ValueError(f"Gallery: encodings made by the {self.encoder!r} encoder cannot be matched with "
                             f"faces encoded by {params.encoder!r} (rebuild the gallery with faces.encoder)")

    def distances(self, encodings: np.ndarray) -> np.ndarray:
        """(N, len(identities)): each probe's distance to the nearest photo of each person."""
        probes = np.asarray(encodings, np.float32).reshape(-1, adapter.ENCODING_DIM)
        d = np.linalg.norm(probes[:, None, :] - self.encodings[None, :, :], axis=2)
        per_person = np.full((len(probes), len(self.identities)), np.inf, np.float32)
        for k in range(len(self.identities)):
            cols = self.owner == k
            if cols.any():
                per_person[:, k] = d[:, cols].min(axis=1)
        return per_person

    def assign(self, encodings: np.ndarray, present: Iterable[str] = (), relaxed: float | None = None,
               margin: float = 0.0) -> list[Match]:
        """The faces of one video frame; one person is in a frame once. Pairs (face, person) within
        ``threshold`` are taken closest first, so two faces near one person give it to the nearer face and
        the other takes its next person within the threshold, if any (look-alikes: a trainee's face sat at
        0.54 from a classmate who was also in the frame, at 0.19, and 0.547 from himself). People in
        ``present`` (already placed in the frame) are taken. Then a face still unplaced is its nearest person
        up to ``relaxed`` when everyone else enrolled is at least ``margin`` farther and that person is free:
        a small, blurred face drifts past the threshold while staying far from everyone else
        (faces_recognition.md measures the stranger rate of this rule)."""
        probes = np.asarray(encodings, np.float32).reshape(-1, adapter.ENCODING_DIM)
        if not len(self.identities) or not len(probes):
            return self.match(probes)
        per_person = self.distances(probes)
        nearest = per_person.min(axis=1)
        taken = set(present)
        placed: dict[int, Match] = {}
        faces, people = np.nonzero(per_person <= self.threshold)
        for d, i, k in sorted(zip(per_person[faces, people].tolist(), faces.tolist(), people.tolist())):
            name = self.identities[k]
            if i not in placed and name not in taken:
                placed[i] = Match(name, float(d))
                taken.add(name)
        if relaxed is not None and relaxed > self.threshold:
            order = np.sort(per_person, axis=1)
            second = order[:, 1] if per_person.shape[1] > 1 else np.full(len(probes), np.inf, np.float32)
            for i in sorted(set(range(len(probes))) - set(placed), key=lambda i: nearest[i]):
                k = int(per_person[i].argmin())
                name, d = self.identities[k], float(per_person[i, k])
                if d <= relaxed and second[i] - d >= margin and name not in taken:
                    placed[i] = Match(name, d)
                    taken.add(name)
        return [placed.get(i, Match(None, float(nearest[i]))) for i in range(len(probes))]

    def match(self, encodings: np.ndarray) -> list[Match]:
        if not len(self.identities):
            return [Match(None, float("inf")) for _ in range(len(np.asarray(encodings).reshape(-1, 128)))]
        per_person = self.distances(encodings)
        best = per_person.argmin(axis=1)
        out = []
        for i, k in enumerate(best):
            dist = float(per_person[i, k])
            out.append(Match(self.identities[k] if dist <= self.threshold else None, dist))
        return out
