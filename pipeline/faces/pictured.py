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

from pipeline.faces.detections import iou_matrix


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


# A head in front of a screen hides part of its outline: from the top of the hair (half a face above the
# face box) to the chin, a quarter of a face wider on each side.
_HEAD_ABOVE, _HEAD_SIDE = 0.5, 0.25


def _filled_across(gray: np.ndarray, region: tuple[int, int, int, int], axis: int) -> None:
    """Fill ``region`` (x0, y0, x1, y1, inclusive) of ``gray`` in place by straight interpolation between the
    pixels just outside it: along rows (axis 1; a horizontal edge behind it is restored) or columns (0)."""
    x0, y0, x1, y1 = region
    if axis == 1:
        left, right = gray[y0:y1 + 1, x0 - 1].astype(np.float32), gray[y0:y1 + 1, x1 + 1].astype(np.float32)
        w = np.linspace(0, 1, x1 - x0 + 3, dtype=np.float32)[1:-1]
        gray[y0:y1 + 1, x0:x1 + 1] = (left[:, None] * (1 - w) + right[:, None] * w).round().astype(np.uint8)
    else:
        top, bottom = gray[y0 - 1, x0:x1 + 1].astype(np.float32), gray[y1 + 1, x0:x1 + 1].astype(np.float32)
        w = np.linspace(0, 1, y1 - y0 + 3, dtype=np.float32)[1:-1]
        gray[y0:y1 + 1, x0:x1 + 1] = (top[None, :] * (1 - w[:, None]) + bottom[None, :] * w[:, None]).round().astype(np.uint8)


def _edge_maps(gray: np.ndarray, heads: np.ndarray, k: float) -> list[np.ndarray]:
    """Canny edges of the work image; with ``heads`` (face boxes xywh in the frame's pixels), of two copies
    instead, one with every head filled along rows and one along columns: a straight outline passing
    behind a head is whole again in one of them, and the head's own outline is gone."""
    import cv2

    if not len(heads):
        return [cv2.Canny(gray, 60, 160)]
    h, w = gray.shape
    out = []
    for axis in (1, 0):
        g = gray.copy()
        for x, y, bw, bh in np.asarray(heads, np.float32) * k:
            x0, x1 = int(x - _HEAD_SIDE * bw), int(np.ceil(x + (1 + _HEAD_SIDE) * bw))
            y0, y1 = int(y - _HEAD_ABOVE * bh), int(np.ceil(y + bh))
            x0, y0, x1, y1 = max(1, x0), max(1, y0), min(w - 2, x1), min(h - 2, y1)
            if x0 <= x1 and y0 <= y1:
                _filled_across(g, (x0, y0, x1, y1), axis)
        out.append(cv2.Canny(g, 60, 160))
    return out


def _hugs(contour: np.ndarray, quad: np.ndarray, short_side: float) -> bool:
    """The outline follows its four sides closely: every point within 2 px (work image) or 4% of the
    shorter side. The approximation alone allows 3% of the perimeter, which on a tall outline lets a dark
    door and the body of the person standing in front of it pass as one four-sided shape."""
    import cv2

    tol = max(2.0, 0.04 * short_side)
    q = quad.reshape(-1, 1, 2).astype(np.float32)
    return all(abs(cv2.pointPolygonTest(q, (float(x), float(y)), True)) <= tol for x, y in contour.reshape(-1, 2))


def screen_regions(image_bgr: np.ndarray, work_px: int = 480, heads: np.ndarray = ()) -> list[np.ndarray]:
    """Screens in a frame (a TV, a projection): closed, convex four-sided outlines covering 1-60% of the
    frame and filling their bounding rectangle, as (4, 2) corner arrays in the frame's pixels.

    A person in front of a screen breaks its outline (the body crosses the lower edge), so a face counts
    as on a screen only while the whole outline around it is intact. ``heads``: face boxes (xywh) of people
    whose heads may hide part of an outline (someone seated below a TV on the wall): the outline is taken
    as drawn straight on behind them (see ``faces_on_screen`` for why a face never bridges its own)."""
    import cv2

    h, w = image_bgr.shape[:2]
    k = min(1.0, work_px / max(h, w))
    gray = cv2.cvtColor(cv2.resize(image_bgr, None, fx=k, fy=k, interpolation=cv2.INTER_AREA) if k < 1
                        else image_bgr, cv2.COLOR_BGR2GRAY)
    contours = [c for e in _edge_maps(gray, heads, k)
                for c in cv2.findContours(cv2.dilate(e, np.ones((3, 3), np.uint8)), cv2.RETR_LIST,
                                          cv2.CHAIN_APPROX_SIMPLE)[0]]
    area_all = gray.shape[0] * gray.shape[1]
    out = []
    for c in contours:
        area = cv2.contourArea(c)
        if not 0.01 * area_all <= area <= 0.6 * area_all:
            continue
        quad = cv2.approxPolyDP(c, 0.03 * cv2.arcLength(c, True), True)
        (_, _), (rw, rh), _ = cv2.minAreaRect(c)
        if len(quad) == 4 and cv2.isContourConvex(quad) and area >= 0.85 * rw * rh and _hugs(c, quad, min(rw, rh)):
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


def faces_on_screen(image_bgr: np.ndarray, boxes_xywh: np.ndarray, work_px: int = 480) -> np.ndarray:
    """Which faces are on a screen: inside an intact outline, or inside one that is intact but for the
    heads of the other faces in the frame (people seated or standing in front of it).

    A face's own head and body never bridge the outline around it: a person standing in front of a TV,
    a window or a door, face inside its outline, breaks it with their own neck and body, and so is
    counted. Only other people's heads may (from the hair to the chin, not their bodies)."""
    boxes = np.asarray(boxes_xywh).reshape(-1, 4)
    if not len(boxes):
        return np.zeros(0, bool)
    inside = on_screen(boxes, screen_regions(image_bgr, work_px))
    if len(boxes) < 2 or inside.all():
        return inside
    bridged = on_screen(boxes, screen_regions(image_bgr, work_px, heads=boxes)) & ~inside
    for i in np.flatnonzero(bridged):
        others = np.delete(boxes, i, axis=0)
        inside[i] = on_screen(boxes[i:i + 1], screen_regions(image_bgr, work_px, heads=others))[0]
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
    # One unknown face track that was a picture in most of its samples (a TV face on a video call) is a
    # picture in the rest too: there the outline was hidden, say by someone below the TV whose head was
    # turned away (no face found, so nothing to see past). A person's own body breaks the outline around
    # their face, so a real person is on a screen in few of their samples, never in most.
    tracks: dict[int, list] = {}
    for k, s in sighted.items():
        if s.unknown_index is not None:
            tracks.setdefault(s.unknown_index, []).append(k)
    for keys in tracks.values():
        reasons = [drop[k][0] for k in keys if k in drop]
        if len(reasons) < len(keys) and len(reasons) >= max(3, params.static_min_share * len(keys)):
            reason = max(set(reasons), key=reasons.count)
            detail = (f"the same unknown face was a picture ({reason}) in {len(reasons)} of its {len(keys)} "
                      f"samples; here the outline or the face was hidden")
            drop.update({k: (reason, detail) for k in keys if k not in drop})
    # A face nobody could name or call a stranger (unidentified: it has no unknown track to group by) at the
    # place on the wall where a picture was found in most of the samples with a face there is that picture.
    # Pictures on a wall do not move, so the place stands for the track.
    pictures = list(drop)
    if pictures:
        picture_boxes = np.array([box for _, box in pictures])
        every_box = np.array([box for _, box in sighted])
    for k, s in sighted.items() if pictures else ():
        if k in drop or s.person_id is not None or s.unknown_index is not None:
            continue
        here = [pictures[i] for i in np.flatnonzero(iou_matrix([k[1]], picture_boxes)[0] >= 0.5)]
        if len(here) < 3:
            continue
        seen_here = int((iou_matrix([k[1]], every_box)[0] >= 0.5).sum())
        if len(here) >= params.static_min_share * seen_here:
            reasons = [drop[p][0] for p in here]
            reason = max(set(reasons), key=reasons.count)
            drop[k] = (reason, f"at the place of a picture ({reason}) found there in {len(here)} of {seen_here} "
                               f"samples; here the outline or the face was hidden")
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
