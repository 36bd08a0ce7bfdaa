"""The per-video face pass over sampled frames, and what a class does with its results.

``VideoFacePass.feed(frame)`` per ``SampledFrame``; ``result()`` gives headcount rows, sightings and the
encodings of unknown faces (biometric data: they stay in memory and in the face cache only). Trainees sit
still, so a recognised face whose box overlaps the previous sample's box keeps its identity without being
encoded again (``track_iou``), re-encoded at least every ``reencode_every_s``; an unknown face is encoded
again at every sample (a better view may recognise it) and keeps its unknown entry while it stays unknown.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.faces import adapter, pictured
from pipeline.faces.detections import iou_matrix
from pipeline.faces.gallery import Gallery
from pipeline.faces.params import FaceParams
from pipeline.video.sample import SampledFrame

SNAPSHOT_PX = 96  # side of the stored crop of an unknown face (report thumbnail)


@dataclass(frozen=True)
class HeadcountRow:
    offset_s: float
    faces: int  # every face counted (counting floor, min_face_px)
    identified: int
    unknown: int  # judged (recognition floor) and matched nobody; faces - identified - unknown were too small


@dataclass(frozen=True)
class Sighting:
    offset_s: float
    person_id: str | None  # None: unknown (see unknown_index)
    distance: float  # to the nearest enrolled person
    box_xywh: tuple[int, int, int, int]
    unknown_index: int | None = None  # row of VideoFaceResult.unknown_encodings


@dataclass(frozen=True)
class VideoFaceResult:
    headcount: tuple[HeadcountRow, ...]
    sightings: tuple[Sighting, ...]
    unknown_encodings: np.ndarray  # (K, 128) float32, one per distinct unknown face track
    unknown_snapshots: tuple[np.ndarray, ...]  # K BGR crops, SNAPSHOT_PX square
    encoded_faces: int = 0  # faces sent to the encoder (the rest reused a tracked identity)
    excluded: tuple[pictured.ExcludedFace, ...] = ()  # faces that are pictures, not people (taken out above)


@dataclass
class _Track:
    box: np.ndarray
    person_id: str | None
    distance: float
    unknown_index: int | None
    encoded_at_s: float


def _snapshot(image: np.ndarray, box) -> np.ndarray:
    import cv2

    x, y, w, h = (int(v) for v in box)
    pad = max(w, h) // 4
    crop = image[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad]
    return cv2.resize(crop, (SNAPSHOT_PX, SNAPSHOT_PX), interpolation=cv2.INTER_AREA)


class VideoFacePass:
    """Consumes one video's sampled frames in time order."""

    def __init__(self, gallery: Gallery, params: FaceParams):
        self.gallery, self.params = gallery, params
        self._headcount: list[HeadcountRow] = []
        self._sightings: list[Sighting] = []
        self._unknown: list[np.ndarray] = []
        self._snapshots: list[np.ndarray] = []
        self._tracks: list[_Track] = []
        self._encoded = 0
        self._seen: list[tuple] = []  # per sample: boxes, landmarks and on-screen mask of every face counted

    def feed(self, frame: SampledFrame) -> None:
        p = self.params
        counted = adapter.detect_faces(frame.image_bgr, p)
        # every face is counted; only those at the recognition floor are judged (encoded, tracked, sighted)
        dets = counted.filter(counted.boxes_xywh[:, 2:].min(axis=1) >= p.recognition_min_face_px)
        if counted.landmarks is not None:
            screens = pictured.screen_regions(frame.image_bgr) if p.screen_faces and len(counted) else []
            self._seen.append((frame.offset_s, counted.boxes_xywh, counted.landmarks,
                               pictured.on_screen(counted.boxes_xywh, screens)))
        tracks: list[_Track | None] = [None] * len(dets)
        carried: dict[int, _Track] = {}  # detection -> the previous sample's track it continues
        if self._tracks and len(dets) and p.track_iou < 1.0:
            ious = iou_matrix(dets.boxes_xywh, np.array([t.box for t in self._tracks]))
            for i in range(len(dets)):
                j = int(np.argmax(ious[i]))
                if ious[i, j] >= p.track_iou:
                    carried[i] = self._tracks[j]
                    ious[:, j] = -1  # one previous face continues one current face
        for i, prev in carried.items():
            # a known face keeps its identity until it is due for re-encoding; an unknown one is encoded
            # again every sample (cheap since faces/resnet.py): a better view may recognise it
            if prev.person_id is not None and frame.offset_s - prev.encoded_at_s < p.reencode_every_s:
                tracks[i] = _Track(dets.boxes_xywh[i], prev.person_id, prev.distance, None, prev.encoded_at_s)
        todo = np.array([t is None for t in tracks], bool)
        if todo.any():
            encodings = adapter.encode_faces(frame.image_bgr, dets.filter(todo), p)
            # A new face close to a person a carried track holds: one of the two is wrong. Encode the
            # carried face again too and let the frame's assignment decide (nearest first).
            close = self.gallery.distances(encodings) <= p.match_threshold
            wanted = {self.gallery.identities[k] for k in np.flatnonzero(close.any(axis=0))}
            clash = np.array([t is not None and t.person_id in wanted for t in tracks], bool)
            if clash.any():
                tracks = [None if c else t for t, c in zip(tracks, clash)]
                encodings = np.concatenate([encodings, adapter.encode_faces(frame.image_bgr, dets.filter(clash), p)])
                order = np.concatenate([np.flatnonzero(todo), np.flatnonzero(clash)])
                encodings = encodings[np.argsort(order, kind="stable")]
                todo = todo | clash
            self._encoded += int(todo.sum())
            present = {t.person_id for t in tracks if t is not None and t.person_id is not None}
            matches = self.gallery.assign(encodings, present, p.relaxed_match_threshold, p.relaxed_match_margin)
            for i, enc, match in zip(np.flatnonzero(todo), encodings, matches):
                unknown_index = None
                if match.identity is None:
                    prev = carried.get(i)
                    if prev is not None and prev.unknown_index is not None:
                        unknown_index = prev.unknown_index  # the same unknown face, still unknown
                    else:
                        unknown_index = len(self._unknown)
                        self._unknown.append(enc)
                        self._snapshots.append(_snapshot(frame.image_bgr, dets.boxes_xywh[i]))
                tracks[i] = _Track(dets.boxes_xywh[i], match.identity, match.distance, unknown_index,
                                   frame.offset_s)
        self._tracks = [t for t in tracks if t is not None]
        identified = sum(t.person_id is not None for t in self._tracks)
        self._headcount.append(HeadcountRow(frame.offset_s, len(counted), identified, len(dets) - identified))
        for t in self._tracks:
            self._sightings.append(Sighting(frame.offset_s, t.person_id, float(t.distance),
                                            tuple(int(v) for v in t.box), t.unknown_index))

    def result(self) -> VideoFaceResult:
        return pictured.exclude_pictures(*self.part(), self.params)

    def part(self) -> tuple[VideoFaceResult, list[tuple]]:
        """The result before pictures are taken out, and what that needs (every face counted, per sample):
        a recording analysed in chunks takes pictures out once, over the whole file (pipeline/chunks.py)."""
        unknown = np.asarray(self._unknown, np.float32).reshape(-1, adapter.ENCODING_DIM)
        raw = VideoFaceResult(tuple(self._headcount), tuple(self._sightings), unknown, tuple(self._snapshots),
                              self._encoded)
        return raw, list(self._seen)


def run_face_pass(frames: Iterable[SampledFrame], gallery: Gallery, params: FaceParams) -> VideoFaceResult:
    face_pass = VideoFacePass(gallery, params)
    for frame in frames:
        face_pass.feed(frame)
    return face_pass.result()


@dataclass(frozen=True)
class UnknownCluster:
    cluster_id: str  # "unknown-<n>", stable for the same inputs
    members: tuple[tuple[int, int], ...]  # (result index, unknown index)
    representative: tuple[int, int]  # the member nearest the cluster centre (its snapshot is the evidence)


def cluster_unknowns(results: Sequence[VideoFaceResult], threshold: float) -> list[UnknownCluster]:
    """Unknown faces across a class's videos, one cluster per unknown person (greedy centroid linkage:
    each face joins the nearest cluster centre within ``threshold``, else starts a cluster)."""
    keys = [(r, k) for r, res in enumerate(results) for k in range(len(res.unknown_encodings))]
    if not keys:
        return []
    enc = np.concatenate([res.unknown_encodings for res in results])
    centres: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, e in enumerate(enc):
        if centres:
            d = np.linalg.norm(np.asarray(centres) - e, axis=1)
            c = int(np.argmin(d))
            if d[c] <= threshold:
                members[c].append(i)
                centres[c] = enc[members[c]].mean(axis=0)
                continue
        centres.append(e.copy())
        members.append([i])
    out = []
    for n, (centre, idx) in enumerate(zip(centres, members)):
        rep = idx[int(np.argmin(np.linalg.norm(enc[idx] - centre, axis=1)))]
        out.append(UnknownCluster(f"unknown-{n + 1}", tuple(keys[i] for i in idx), keys[rep]))
    return out


def presence_intervals(sightings: Iterable[Sighting], gap_tolerance_s: float,
                       person_of=lambda s: s.person_id,
                       unseeable: Sequence[tuple[float, float]] = ()) -> dict[str, list[tuple[float, float]]]:
    """{person: [(start_s, end_s), ...]}: sightings of one person closer than gap_tolerance_s are joined.
    ``person_of`` maps a sighting to its person (e.g. an unknown's cluster id); None is skipped.
    ``unseeable``: (start_s, end_s) stretches where nobody can be seen (a black or covered lens); they do
    not count towards a gap, so a trainee seen just before and after a covered lens is one interval (the
    covered time itself is cut from observed time later, with the rest of the unusable video)."""
    times: dict[str, list[float]] = defaultdict(list)
    for s in sightings:
        who = person_of(s)
        if who is not None:
            times[who].append(s.offset_s)

    def gap(a: float, b: float) -> float:
        hidden = sum(max(0.0, min(b, hi) - max(a, lo)) for lo, hi in unseeable)
        return b - a - hidden

    out: dict[str, list[tuple[float, float]]] = {}
    for who, ts in times.items():
        ts = sorted(set(ts))
        spans = [[ts[0], ts[0]]]
        for t in ts[1:]:
            if gap(spans[-1][1], t) <= gap_tolerance_s:
                spans[-1][1] = t
            else:
                spans.append([t, t])
        out[who] = [(a, b) for a, b in spans]
    return out


@dataclass(frozen=True)
class HeadcountWindow:
    start_s: float
    end_s: float
    samples: int
    faces: float  # the window's quantile of per-frame counts
    identified: float
    unknown: float
    peak_offset_s: float  # the sample with the most faces (snapshot for HEADCOUNT_MISMATCH)


def robust_headcount(rows: Sequence[HeadcountRow], window_s: float, quantile: float) -> list[HeadcountWindow]:
    """Per window of ``window_s``: a high quantile of the per-frame counts (people look down, turn away:
    a single frame undercounts far more often than it overcounts)."""
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: r.offset_s)
    start = rows[0].offset_s
    buckets: dict[int, list[HeadcountRow]] = defaultdict(list)
    for r in rows:
        buckets[int((r.offset_s - start) // window_s)].append(r)
    out = []
    for b, rs in sorted(buckets.items()):
        def q(attr: str) -> float:
            return float(np.quantile([getattr(r, attr) for r in rs], quantile))
        peak = max(rs, key=lambda r: r.faces)
        out.append(HeadcountWindow(start + b * window_s, start + (b + 1) * window_s, len(rs), q("faces"),
                                   q("identified"), q("unknown"), peak.offset_s))
    return out
