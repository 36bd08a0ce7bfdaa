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
    reason: str  # "still": did not move for the whole recording; "screen": inside a detected screen
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
    found in among the ``seeing`` samples where any face was found, ``first_s``/``last_s``.
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
    # A sample with no face at all (lens covered, lights off) shows neither the picture nor anyone else: it
    # says nothing about whether the face moved, so the share counts only samples where some face was seen.
    seeing = max(1, sum(1 for _, boxes, _ in frames if len(boxes)))
    out = []
    for g, group in enumerate(members):
        first_s, last_s = frames[group[0][0]][0], frames[group[-1][0]][0]
        share = len(group) / seeing
        if share >= min_share and last_s - first_s >= min_span_s:
            motion = max(float(_motion_px(refs[g], frames[f][2][d])) for f, d in group)
            out.append({"members": group, "motion_px": motion, "share": share, "seeing": seeing,
                        "first_s": first_s, "last_s": last_s})
    return out


def screen_regions(image_bgr: np.ndarray, work_px: int = 480) -> list[np.ndarray]:
    """Screens in a frame (a TV, a projection): closed, convex four-sided outlines covering 1-60% of the
    frame and filling their bounding rectangle, as (4, 2) corner arrays in the frame's pixels.

    A person in front of a screen breaks its outline (the body crosses the lower edge), so a face counts
    as on a screen only while the whole outline around it is intact."""
    import cv2

    h, w = image_bgr.shape[:2]
    k = min(1.0, work_px / max(h, w))
    gray = cv2.cvtColor(cv2.resize(image_bgr, None, fx=k, fy=k, interpolation=cv2.INTER_AREA) if k < 1
                        else image_bgr, cv2.COLOR_BGR2GRAY)
    edges = cv2.dilate(cv2.Canny(gray, 60, 160), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    area_all = gray.shape[0] * gray.shape[1]
    out = []
    for c in contours:
        area = cv2.contourArea(c)
        if not 0.01 * area_all <= area <= 0.6 * area_all:
            continue
        quad = cv2.approxPolyDP(c, 0.03 * cv2.arcLength(c, True), True)
        (_, _), (rw, rh), _ = cv2.minAreaRect(c)
        if len(quad) == 4 and cv2.isContourConvex(quad) and area >= 0.85 * rw * rh:
            out.append(quad.reshape(4, 2).astype(np.float32) / k)
    return out


def on_screen(boxes_xywh: np.ndarray, screens: list[np.ndarray]) -> np.ndarray:
    """Which boxes lie wholly inside one of the screens."""
    import cv2

    inside = np.zeros(len(boxes_xywh), bool)
    for quad in screens:
        q = quad.reshape(-1, 1, 2)
        for i, (x, y, w, h) in enumerate(boxes_xywh):
            corners = ((x, y), (x + w, y), (x, y + h), (x + w, y + h))
            inside[i] |= all(cv2.pointPolygonTest(q, (float(cx), float(cy)), False) > 0 for cx, cy in corners)
    return inside


def exclude_pictures(result, seen: list[tuple], params):
    """``result`` (a VideoFaceResult) without the faces that are pictures: out of the headcount, the
    sightings and the unknown faces, listed in ``excluded`` instead. ``seen``: per sample (offset_s,
    boxes, landmarks, on-screen mask) of every face counted. A face recognised as an enrolled person is
    kept (see the module's docstring): for a still face, if recognised in any of its samples."""
    sighted = {(s.offset_s, tuple(s.box_xywh)): s for s in result.sightings}

    def recognised(key) -> bool:
        return key in sighted and sighted[key].person_id is not None

    def key(f: int, d: int) -> tuple[float, tuple]:
        return seen[f][0], tuple(int(v) for v in seen[f][1][d])

    drop: dict[tuple[float, tuple], tuple[str, str]] = {}
    if params.static_min_span_s > 0:
        frames = [(t, boxes, marks) for t, boxes, marks, _ in seen]
        for face in still_faces(frames, params.static_min_share, params.static_min_span_s, params.static_max_motion):
            keys = [key(f, d) for f, d in face["members"]]
            if any(recognised(k) for k in keys):
                continue  # recognised as someone enrolled: a still trainee, not a picture
            minutes = (face["last_s"] - face["first_s"]) / 60.0
            detail = (f"did not move for {minutes:.0f} min: found in {len(keys)} of {face['seeing']} samples with a face, "
                      f"landmarks within {face['motion_px']:.1f} px")
            drop.update({k: ("still", detail) for k in keys})
    for f, (_, boxes, _, screen) in enumerate(seen):
        for d in np.flatnonzero(screen):
            k = key(f, d)
            if k not in drop and not recognised(k):
                drop[k] = ("screen", "inside a screen (a TV or a projection) whose outline is unbroken")
    if not drop:
        return result
    excluded = tuple(ExcludedFace(t, box, *drop[(t, box)]) for t, box in sorted(drop))
    gone_at: dict[float, int] = {}
    unknown_gone: dict[float, int] = {}
    for t, _ in drop:
        gone_at[t] = gone_at.get(t, 0) + 1
    for k, s in sighted.items():
        if k in drop and s.unknown_index is not None:
            unknown_gone[s.offset_s] = unknown_gone.get(s.offset_s, 0) + 1
    headcount = tuple(dataclasses.replace(r, faces=r.faces - gone_at.get(r.offset_s, 0),
                                          unknown=r.unknown - unknown_gone.get(r.offset_s, 0))
                      for r in result.headcount)
    sightings = [s for s in result.sightings if (s.offset_s, tuple(s.box_xywh)) not in drop]
    # unknown faces only pictures showed: gone, and the remaining ones renumbered
    kept = sorted({s.unknown_index for s in sightings if s.unknown_index is not None})
    new_index = {old: new for new, old in enumerate(kept)}
    sightings = tuple(s if s.unknown_index is None else dataclasses.replace(s, unknown_index=new_index[s.unknown_index])
                      for s in sightings)
    return dataclasses.replace(
        result, headcount=headcount, sightings=sightings,
        unknown_encodings=result.unknown_encodings[kept].reshape(-1, result.unknown_encodings.shape[1]),
        unknown_snapshots=tuple(result.unknown_snapshots[k] for k in kept), excluded=excluded)
