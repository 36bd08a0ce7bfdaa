"""The per-video face pass over sampled frames, and what a class does with its results.

``VideoFacePass.feed(frame)`` per ``SampledFrame``; ``result()`` gives headcount rows, sightings and the
encodings of unknown faces (biometric data: they stay in memory and in the face cache only).

Identity is decided per track, not per frame. A face is followed across samples by the overlap of its box
(``track_iou``), through looks down of up to ``track_max_gap_s``. Each sample's face passes the quality
gate (pipeline/faces/quality.py) or not; only judged faces are encoded, and only until the track holds a
few of them, then every ``reencode_every_s`` and after every gap (someone else may have sat down). When
``split_after`` judged samples in a row disagree with the track's evidence, the track is split there (a
seat swap); fewer are outliers and are left out of the evidence, so one poor frame neither names nor
un-names anyone. At the end each track's evidence (the mean of its normalised encodings) is matched against
the gallery, tracks seen in one sample never taking one person twice. A track that matches nobody is an
unknown person only with at least ``unknown_min_judged`` judged samples and when nobody enrolled who could
be it (not named beside it) lies within ``unknown_min_distance``; otherwise, and for a track that was never
judged, it is "unidentified": counted in the headcount, neither a trainee nor an unknown person.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from pipeline.faces import adapter, pictured, quality
from pipeline.faces.detections import iou_matrix
from pipeline.faces.params import FaceParams
from pipeline.video.sample import SampledFrame

if TYPE_CHECKING:  # results travel to pool workers that never load OpenCV (the gallery's image reader)
    from pipeline.faces.gallery import Gallery

SNAPSHOT_PX = 96  # side of the stored crop of an unknown face (report thumbnail)


@dataclass(frozen=True)
class HeadcountRow:
    offset_s: float
    faces: int  # every face counted (counting floor, min_face_px)
    identified: int
    unknown: int  # judged and matched nobody; faces - identified - unknown are unidentified


@dataclass(frozen=True)
class Sighting:
    offset_s: float
    person_id: str | None  # None: unknown (see unknown_index) or unidentified (no unknown_index)
    distance: float  # from the track's evidence to the nearest enrolled person (inf: never judged)
    box_xywh: tuple[int, int, int, int]
    unknown_index: int | None = None  # row of VideoFaceResult.unknown_encodings
    judged: bool = True  # this sample's face passed the quality gate (the identity is the track's)
    track_judged: int = 0  # judged samples the track's identity rests on


@dataclass(frozen=True)
class VideoFaceResult:
    headcount: tuple[HeadcountRow, ...]
    sightings: tuple[Sighting, ...]
    unknown_encodings: np.ndarray  # (K, D) float32, one per unknown face track
    unknown_snapshots: tuple[np.ndarray, ...]  # K BGR crops, SNAPSHOT_PX square
    encoded_faces: int = 0  # faces sent to the encoder (the rest reused a tracked identity)
    excluded: tuple[pictured.ExcludedFace, ...] = ()  # faces that are pictures, not people (taken out above)


@dataclass
class _Obs:
    offset_s: float
    box: tuple[int, int, int, int]
    judged: bool
    encoding: np.ndarray | None = None  # judged and encoded at this sample
    outlier: bool = False  # disagreed with the track, and no split followed: not evidence
    crop: np.ndarray | None = None  # report thumbnail, kept for a track's first encodings and for outliers
    look: np.ndarray | None = None  # 16x16 grey thumbnail, normalised (judged faces only)
    same_look: bool = False  # not encoded: it looked like the track's last confirmed face


@dataclass
class _Track:
    obs: list[_Obs] = field(default_factory=list)
    encoded_at_s: float = -np.inf
    disagree: int = 0  # judged encodings in a row that disagree with the evidence
    unconfirmed_from: int | None = None  # samples from here on came after a gap and no encoding confirmed them
    look: np.ndarray | None = None  # thumbnail of the last confirmed face
    ended: bool = False  # split: its later samples went to another track

    @property
    def box(self) -> np.ndarray:
        return np.asarray(self.obs[-1].box)

    @property
    def last_s(self) -> float:
        return self.obs[-1].offset_s

    def evidence(self) -> list[np.ndarray]:
        return [o.encoding for o in self.obs if o.encoding is not None and not o.outlier]


def _mean_encoding(encodings: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of the normalised encodings, at their mean length (right for a Euclidean or a cosine gallery)."""
    e = np.asarray(encodings, np.float64)
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    mean = (e / np.maximum(norms, 1e-12)).mean(axis=0)
    return (mean / max(np.linalg.norm(mean), 1e-12) * norms.mean()).astype(np.float32)


def _look(image: np.ndarray, box) -> np.ndarray:
    """A 16x16 grey thumbnail of the face, zero mean and unit length (dot product = correlation)."""
    import cv2

    x, y, w, h = (int(v) for v in box)
    crop = image[max(0, y):y + h, max(0, x):x + w]
    g = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
    g = g.ravel() - g.mean()
    return g / max(float(np.linalg.norm(g)), 1e-6)


def _snapshot(image: np.ndarray, box) -> np.ndarray:
    import cv2

    x, y, w, h = (int(v) for v in box)
    pad = max(w, h) // 4
    crop = image[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad]
    return cv2.resize(crop, (SNAPSHOT_PX, SNAPSHOT_PX), interpolation=cv2.INTER_AREA)


class VideoFacePass:
    """Consumes one video's sampled frames in time order."""

    def __init__(self, gallery: Gallery, params: FaceParams):
        gallery.require(params)  # never match one encoder's faces against another's gallery
        self.gallery, self.params = gallery, params
        self._tracks: list[_Track] = []  # every track, live or ended
        self._live: list[int] = []
        self._frames: list[tuple[float, int, list[_Obs]]] = []  # offset, faces counted, the tracked faces
        self._encoded = 0
        self._prev_s: float | None = None
        self._seen: list[tuple] = []  # per sample: boxes, landmarks and on-screen mask of every face counted

    def _distance(self, probes: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """Distances of probes to one reference encoding, in the gallery's own metric."""
        one = dataclasses.replace(self.gallery, identities=("track",), encodings=ref[None, :],
                                  owner=np.zeros(1, np.int64))
        return one.distances(probes)[:, 0]

    def feed(self, frame: SampledFrame) -> None:
        p = self.params
        t = frame.offset_s
        counted = adapter.detect_faces(frame.image_bgr, p)
        if counted.landmarks is not None:
            screen = (pictured.faces_on_screen(frame.image_bgr, counted.boxes_xywh) if p.screen_faces
                      else np.zeros(len(counted), bool))
            self._seen.append((t, counted.boxes_xywh, counted.landmarks, screen))
        # faces under the recognition floor are counted only; the rest are tracked and gated
        dets = counted.filter(counted.boxes_xywh[:, 2:].min(axis=1) >= p.recognition_min_face_px)
        ok = quality.judged(quality.measure(frame.image_bgr, dets), p) if len(dets) else np.zeros(0, bool)
        live = [k for k in self._live if t - self._tracks[k].last_s <= p.track_max_gap_s]
        owner = [-1] * len(dets)
        if live and len(dets) and p.track_iou < 1.0:
            ious = iou_matrix(dets.boxes_xywh, np.array([self._tracks[k].box for k in live]))
            for i, j in sorted(np.argwhere(ious >= max(p.track_iou, 1e-9)).tolist(), key=lambda ij: -ious[ij[0], ij[1]]):
                if owner[i] < 0 and live[j] not in owner:
                    owner[i] = live[j]
        resumed = set()
        for i in range(len(dets)):
            if owner[i] < 0:
                self._tracks.append(_Track())
                owner[i] = len(self._tracks) - 1
            elif self._prev_s is not None and self._tracks[owner[i]].last_s < self._prev_s:
                resumed.add(owner[i])  # back after a gap: someone else may sit there now
                tr = self._tracks[owner[i]]
                if tr.unconfirmed_from is None:
                    tr.unconfirmed_from = len(tr.obs)
        settle = max(p.unknown_min_judged, p.split_after + 1)
        encode = np.zeros(len(dets), bool)
        looks = [_look(frame.image_bgr, dets.boxes_xywh[i]) if ok[i] else None for i in range(len(dets))]
        same = np.zeros(len(dets), bool)
        for i, k in enumerate(owner):
            tr = self._tracks[k]
            same[i] = ok[i] and tr.look is not None and float(looks[i] @ tr.look) >= p.track_same_look
            encode[i] = ok[i] and (len(tr.evidence()) < settle or tr.disagree > 0 or k in resumed or not same[i]
                                   or t - tr.encoded_at_s >= p.reencode_every_s)
        encodings = adapter.encode_faces(frame.image_bgr, dets.filter(encode), p) if encode.any() else None
        self._encoded += int(encode.sum())
        rows = iter(encodings if encodings is not None else ())
        seen = []
        for i, k in enumerate(owner):
            seen.append(_Obs(t, tuple(int(v) for v in dets.boxes_xywh[i]), bool(ok[i]),
                             next(rows) if encode[i] else None, look=looks[i], same_look=bool(same[i] and not encode[i])))
            owner[i] = self._add(k, seen[-1], frame.image_bgr)
        self._live = sorted(k for k in set(owner) | set(live) if self._tracks[k].obs and not self._tracks[k].ended)
        self._frames.append((t, len(counted), seen))
        self._prev_s = t

    def _add(self, k: int, obs: _Obs, image: np.ndarray) -> int:
        """Adds a sample to track k, splitting it when its identity evidence has changed; returns the track
        the sample now belongs to."""
        tr = self._tracks[k]
        if obs.encoding is not None:
            tr.encoded_at_s = obs.offset_s
            evidence = tr.evidence()
            if evidence:
                far = self._distance(obs.encoding[None, :], _mean_encoding(evidence))[0] > self.gallery.threshold
                if far:
                    tr.disagree += 1
                    obs.outlier = True
                else:
                    tr.disagree, tr.unconfirmed_from = 0, None
            if not obs.outlier:
                tr.look = obs.look
            if len(evidence) < self.params.unknown_min_judged or obs.outlier:
                obs.crop = _snapshot(image, obs.box)
            if tr.disagree >= self.params.split_after:
                return self._split(k, obs)
        elif obs.same_look:
            tr.look = obs.look  # slow changes of light and pose follow along
        tr.obs.append(obs)
        return k

    def _split(self, k: int, obs: _Obs | None) -> int:
        """The trailing disagreeing encodings of track k (and ``obs``, the latest, if given) start a new
        track: ``split_after`` of them in a row (a seat swap), or fewer left pending when the video ends.
        Samples between the last agreeing encoding and the first disagreeing one were not encoded and could
        be either person: they become a track of their own, never judged."""
        tr = self._tracks[k]
        if obs is not None:
            tr.obs.append(obs)
        enc = [j for j, o in enumerate(tr.obs) if o.encoding is not None]
        agreeing = [j for j in enc if not tr.obs[j].outlier]
        first = enc[-tr.disagree] if tr.disagree else next(j for j in enc if tr.obs[j].outlier)
        confirmed = [j for j, o in enumerate(tr.obs[:first]) if (o.encoding is not None and not o.outlier) or o.same_look]
        last_good = confirmed[-1] if confirmed else (agreeing[-1] if agreeing else -1)
        if tr.unconfirmed_from is not None and last_good < tr.unconfirmed_from <= first:
            last_good = tr.unconfirmed_from - 1  # up to the gap the samples continue the confirmed stretch
        moved, between = tr.obs[first:], tr.obs[last_good + 1:first]
        pending = tr.unconfirmed_from - first if tr.unconfirmed_from is not None and tr.unconfirmed_from > first else None
        tr.obs, tr.disagree, tr.ended, tr.unconfirmed_from = tr.obs[:last_good + 1], 0, True, None
        if between:
            for o in between:
                o.judged = False
            self._tracks.append(_Track(between, ended=True))
        for o in moved:
            o.outlier = False
        self._tracks.append(_Track(moved, encoded_at_s=moved[-1].offset_s, unconfirmed_from=pending))
        return len(self._tracks) - 1

    def snapshot(self, k: int) -> np.ndarray | None:
        crops = [o for o in self._tracks[k].obs if o.crop is not None and not o.outlier]
        return max(crops, key=lambda o: min(o.box[2:])).crop if crops else None

    def _decide(self) -> list[tuple[str | None, float, int | None, int]]:
        """Per track: (person, distance, unknown slot or None, judged samples)."""
        p = self.params
        tracks = self._tracks
        means = [(_mean_encoding(tr.evidence()) if tr.evidence() else None) for tr in tracks]
        judged = [len(tr.evidence()) for tr in tracks]
        times = [{o.offset_s for o in tr.obs} for tr in tracks]
        nearest = np.full(len(tracks), np.inf)
        have = [k for k, m in enumerate(means) if m is not None]
        if have and len(self.gallery):
            nearest[have] = self.gallery.distances(np.stack([means[k] for k in have])).min(axis=1)
        out: list[tuple] = [(None, float(nearest[k]), None, judged[k]) for k in range(len(tracks))]
        named: dict[int, str] = {}
        for k in sorted(have, key=lambda k: (nearest[k], k)):
            # one person is in a frame once: people named on tracks seen in the same samples are taken (not
            # merely overlapping spans: a teacher walking about leaves tracks whose spans overlap)
            present = {name for j, name in named.items() if not times[j].isdisjoint(times[k])}
            match = self.gallery.assign(means[k][None, :], present, p.relaxed_match_threshold,
                                        p.relaxed_match_margin)[0]
            if match.identity is not None:
                named[k] = match.identity
                out[k] = (match.identity, match.distance, None, judged[k])
        slot = 0
        for k in have:
            if k not in named and judged[k] >= p.unknown_min_judged and not self._could_be(k, means, named, times):
                out[k] = (None, float(nearest[k]), slot, judged[k])
                slot += 1
        return out

    def _could_be(self, k: int, means: list, named: dict[int, str], times: list[set]) -> bool:
        """An unmatched track is still someone enrolled, for all its evidence can tell, when a person not
        named on a track seen in the same samples lies within ``unknown_min_distance`` (beyond the match
        threshold, a genuine small face and a stranger overlap): then it is unidentified, not a stranger."""
        if not len(self.gallery):
            return False
        beside = {name for j, name in named.items() if not times[j].isdisjoint(times[k])}
        per_person = self.gallery.distances(means[k][None, :])[0]
        return any(d <= self.params.unknown_min_distance and name not in beside
                   for name, d in zip(self.gallery.identities, per_person.tolist()))

    def result(self) -> VideoFaceResult:
        return pictured.exclude_pictures(*self.part(), self.params)

    def part(self) -> tuple[VideoFaceResult, list[tuple]]:
        """The result before pictures are taken out, and what that needs (every face counted, per sample):
        a recording analysed in chunks takes pictures out once, over the whole file (pipeline/chunks.py)."""
        for k in range(len(self._tracks)):
            if self._tracks[k].disagree:  # disagreed, and nothing after confirmed the track: not its evidence
                self._split(k, None)
        for k in range(len(self._tracks)):
            tr = self._tracks[k]
            if tr.unconfirmed_from is not None:  # after a gap, never judged again: could be anyone
                rest, tr.obs, tr.unconfirmed_from = tr.obs[tr.unconfirmed_from:], tr.obs[:tr.unconfirmed_from], None
                for o in rest:
                    o.judged = False
                self._tracks.append(_Track(rest, ended=True))
        decided = self._decide()
        unknown, snapshots = [], []
        for k, (_, _, slot, _) in enumerate(decided):
            if slot is not None:
                unknown.append(_mean_encoding(self._tracks[k].evidence()))
                snapshots.append(self.snapshot(k))
        headcount, sightings = [], []
        track_of = {id(o): k for k, tr in enumerate(self._tracks) for o in tr.obs}
        for t, faces, seen in self._frames:
            identified = unknown_n = 0
            for o in seen:
                person, distance, slot, n_judged = decided[track_of[id(o)]]
                identified += person is not None
                unknown_n += slot is not None
                sightings.append(Sighting(t, person, float(distance), o.box, slot, o.judged, n_judged))
            headcount.append(HeadcountRow(t, faces, identified, unknown_n))
        dim = unknown[0].shape[0] if unknown else adapter.ENCODING_DIM
        raw = VideoFaceResult(tuple(headcount), tuple(sightings), np.asarray(unknown, np.float32).reshape(-1, dim),
                              tuple(snapshots), self._encoded)
        return raw, list(self._seen)


def run_face_pass(frames: Iterable[SampledFrame], gallery: Gallery, params: FaceParams) -> VideoFaceResult:
    face_pass = VideoFacePass(gallery, params)
    for frame in frames:
        face_pass.feed(frame)
    return face_pass.result()
