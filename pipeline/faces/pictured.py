"""Faces that are pictures, not people in the room: a poster, a portrait on the wall, a face on a screen.

A picture's face does not move: the detector finds it sample after sample with the same box and the same
five landmarks, to a pixel, for the whole recording. A person never does that for long: even sitting very
still a trainee sways, breathes, looks down at the notes and up again, turns to a neighbour, and every
one of those moves the landmarks by more than a pixel (at 1080p a 25 px face is ~1 px per centimetre).

``still_faces`` finds, after the whole recording, faces that stayed put (every landmark within
``static_max_motion`` of the face's size, at least one pixel) in ``static_min_share`` of the samples
over at least ``static_min_span_s``. A face recognised as an enrolled person is never excluded on this
ground: a picture of a trainee on the wall is unusual, a trainee sitting still is not, and taking a
trainee out of the room would accuse them of absence. What was excluded, and why, is kept
(``ExcludedFace``) for the headcount table, where an inspector can check it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ExcludedFace:
    """One face taken out of one sampled frame, with the reason in plain words."""

    offset_s: float
    box_xywh: tuple[int, int, int, int]
    reason: str  # "still": did not move for the whole recording
    detail: str


def _motion_px(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest landmark move (px, either axis) between reference landmarks a (..., 5, 2) and b (5, 2)."""
    return np.abs(a - b).max(axis=(-2, -1))


def still_faces(frames: list[tuple[float, np.ndarray, np.ndarray]], min_share: float, min_span_s: float,
                max_motion: float) -> list[dict]:
    """Faces that did not move across a recording's samples.

    ``frames``: per sample in time order, (offset_s, boxes (N, 4) xywh, landmarks (N, 5, 2)). A face's
    reference is its first sighting; a later detection is the same still face when every landmark lies
    within max(1 px, ``max_motion`` x face size) of the reference (nearest reference first, one detection
    per reference and frame). Returns one dict per still face: ``members`` [(frame index, detection
    index)], ``motion_px`` (largest landmark move from the reference), ``share`` of the samples it was
    found in, ``first_s``/``last_s``.
    """
    if len(frames) < 2 or frames[-1][0] - frames[0][0] < min_span_s:
        return []
    refs = np.zeros((0, 5, 2), np.float32)
    tol = np.zeros(0, np.float32)
    members: list[list[tuple[int, int]]] = []
    for f, (_, boxes, marks) in enumerate(frames):
        taken = np.zeros(len(refs), bool)
        for d in range(len(boxes)):
            motion = _motion_px(refs, marks[d]) if len(refs) else np.zeros(0)
            ok = (motion <= tol) & ~taken
            if ok.any():
                g = int(np.argmin(np.where(ok, motion, np.inf)))
                members[g].append((f, d))
                taken[g] = True
                continue
            refs = np.concatenate([refs, np.asarray(marks[d], np.float32)[None]])
            tol = np.append(tol, max(1.0, max_motion * float(min(boxes[d][2], boxes[d][3]))))
            taken = np.append(taken, True)
            members.append([(f, d)])
    out = []
    for g, group in enumerate(members):
        first_s, last_s = frames[group[0][0]][0], frames[group[-1][0]][0]
        share = len(group) / len(frames)
        if share >= min_share and last_s - first_s >= min_span_s:
            motion = max(float(_motion_px(refs[g], frames[f][2][d])) for f, d in group)
            out.append({"members": group, "motion_px": motion, "share": share, "first_s": first_s, "last_s": last_s})
    return out


def exclude_still(result, seen: list[tuple[float, np.ndarray, np.ndarray]], params):
    """``result`` (a VideoFaceResult) without the faces that stayed still for the whole recording: out of
    the headcount, the sightings and the unknown faces, listed in ``excluded`` instead. ``seen``: per
    sample, the boxes and landmarks of every face counted. A still face recognised as an enrolled person
    in any of its samples is kept (see the module's docstring)."""
    if params.static_min_span_s <= 0 or not seen:
        return result
    still = still_faces(seen, params.static_min_share, params.static_min_span_s, params.static_max_motion)
    if not still:
        return result
    sighted = {(s.offset_s, tuple(s.box_xywh)): s for s in result.sightings}
    drop: dict[tuple[float, tuple], str] = {}
    for face in still:
        keys = [(seen[f][0], tuple(int(v) for v in seen[f][1][d])) for f, d in face["members"]]
        if any(k in sighted and sighted[k].person_id is not None for k in keys):
            continue  # recognised as someone enrolled: a still trainee, not a picture
        minutes = (face["last_s"] - face["first_s"]) / 60.0
        detail = (f"did not move for {minutes:.0f} min: found in {len(keys)} of {len(seen)} samples, landmarks "
                  f"within {face['motion_px']:.1f} px")
        drop.update({k: detail for k in keys})
    if not drop:
        return result
    excluded = tuple(ExcludedFace(t, box, "still", drop[(t, box)]) for t, box in sorted(drop))
    gone_at: dict[float, list[tuple]] = {}
    for t, box in drop:
        gone_at.setdefault(t, []).append(box)
    sightings = [s for s in result.sightings if (s.offset_s, tuple(s.box_xywh)) not in drop]
    unknown_gone = {}
    for s in result.sightings:
        if (s.offset_s, tuple(s.box_xywh)) in drop and s.person_id is None:
            unknown_gone[s.offset_s] = unknown_gone.get(s.offset_s, 0) + 1
    headcount = tuple(dataclasses.replace(r, faces=r.faces - len(gone_at.get(r.offset_s, ())),
                                          unknown=r.unknown - unknown_gone.get(r.offset_s, 0))
                      for r in result.headcount)
    # unknown faces only pictures showed: gone, and the remaining ones renumbered
    kept = sorted({s.unknown_index for s in sightings if s.unknown_index is not None})
    new_index = {old: new for new, old in enumerate(kept)}
    sightings = tuple(s if s.unknown_index is None else dataclasses.replace(s, unknown_index=new_index[s.unknown_index])
                      for s in sightings)
    return dataclasses.replace(
        result, headcount=headcount, sightings=sightings,
        unknown_encodings=result.unknown_encodings[kept].reshape(-1, result.unknown_encodings.shape[1]),
        unknown_snapshots=tuple(result.unknown_snapshots[k] for k in kept), excluded=excluded)
