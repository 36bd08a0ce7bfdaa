"""Pure functions behind `trainaudit faces count` and `trainaudit faces match` (JSON-ready dicts).

A bad image is an entry with an "error" key, never a crash of the batch. A bad gallery photo is listed
in each entry's "gallery_problems" and the probes are matched against the rest of the gallery; only a
gallery folder that is missing, or that leaves nobody enrolled, raises EnrollmentError.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.faces import adapter
from pipeline.faces.errors import EnrollmentError
from pipeline.faces.gallery import Gallery
from pipeline.faces.images import ImageReadError, read_image
from pipeline.faces.params import FaceParams


def count_faces(paths: Sequence[str | Path], params: FaceParams) -> list[dict]:
    """[{"image": path, "faces": n, "boxes": [[x, y, w, h], ...]}]; unreadable: {"image", "error"}."""
    out = []
    for path in paths:
        try:
            image = read_image(path)
        except ImageReadError as exc:
            out.append({"image": str(path), "error": str(exc)})
            continue
        dets = adapter.detect_faces(image, params)
        out.append({"image": str(path), "faces": len(dets), "boxes": dets.boxes_xywh.tolist()})
    return out


def load_gallery(gallery_dir: str | Path, params: FaceParams) -> Gallery:
    """``DIR/<identity>/<photos>``, lenient: a photo that cannot give one face (unreadable, no face, several
    faces and none clearly the subject) is kept in ``problems`` and its person enrolled from their other
    photos, if any. EnrollmentError when the folder is missing or nobody could be enrolled."""
    gallery = Gallery.from_dir(gallery_dir, params, strict=False)
    if not len(gallery):
        found = "; ".join(str(p) for p in gallery.problems[:5]) or "no photos"
        more = f" (and {len(gallery.problems) - 5} more)" if len(gallery.problems) > 5 else ""
        raise EnrollmentError(str(gallery_dir), f"nobody enrolled: {found}{more}")
    return gallery


def gallery_problems(gallery: Gallery) -> list[dict]:
    return [{"photo": p.path, "identity": p.identity, "problem": p.found} for p in gallery.problems]


def match_faces(gallery_dir: str | Path, probes: Sequence[str | Path], params: FaceParams,
                gallery: Gallery | None = None) -> list[dict]:
    """[{"probe": path, "identity": name | "unknown", "distance": d}], one per probe: its largest face.

    "faces" says how many faces the probe holds. No face: identity "unknown", distance null and a
    "note"; unreadable probe: the same with an "error". When some gallery photos were skipped
    (``load_gallery``), every entry says so in "gallery_problems" ({"photo", "identity", "problem"}): its
    match was made against the rest of the gallery.
    """
    gallery = gallery if gallery is not None else load_gallery(gallery_dir, params)
    gallery.require(params)
    skipped = gallery_problems(gallery)
    extra = {"gallery_problems": skipped} if skipped else {}
    out = []
    for path in probes:
        entry: dict = {"probe": str(path), "identity": "unknown", "distance": None}
        try:
            image = read_image(path)
        except ImageReadError as exc:
            out.append({**entry, "error": str(exc), **extra})
            continue
        dets = adapter.detect_faces(image, params)
        if not len(dets):
            out.append({**entry, "faces": 0, "note": f"{path}: no face found", **extra})
            continue
        largest = int(np.argmax(dets.boxes_xywh[:, 2].astype(float) * dets.boxes_xywh[:, 3]))
        one = dets.filter(np.arange(len(dets)) == largest)
        match = gallery.match(adapter.encode_faces(image, one, params))[0]
        out.append({**entry, "identity": match.identity or "unknown",
                    "distance": round(match.distance, 4) if np.isfinite(match.distance) else None,
                    "faces": len(dets), "box": one.boxes_xywh[0].tolist(), **extra})
    return out
