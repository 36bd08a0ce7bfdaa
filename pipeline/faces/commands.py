"""Pure functions behind `trainaudit faces count` and `trainaudit faces match` (JSON-ready dicts).

A bad image is an entry with an "error" key, never a crash of the batch. Enrollment problems in the
gallery raise EnrollmentError (the CLI turns it into a message and exit code 1).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.faces import adapter
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


def match_faces(gallery_dir: str | Path, probes: Sequence[str | Path], params: FaceParams,
                gallery: Gallery | None = None) -> list[dict]:
    """[{"probe": path, "identity": name | "unknown", "distance": d}], one per probe: its largest face.

    "faces" says how many faces the probe holds. No face: identity "unknown", distance null and a
    "note"; unreadable probe: the same with an "error".
    """
    gallery = gallery if gallery is not None else Gallery.from_dir(gallery_dir, params)
    out = []
    for path in probes:
        entry: dict = {"probe": str(path), "identity": "unknown", "distance": None}
        try:
            image = read_image(path)
        except ImageReadError as exc:
            out.append({**entry, "error": str(exc)})
            continue
        dets = adapter.detect_faces(image, params)
        if not len(dets):
            out.append({**entry, "faces": 0, "note": f"{path}: no face found"})
            continue
        largest = int(np.argmax(dets.boxes_xywh[:, 2].astype(float) * dets.boxes_xywh[:, 3]))
        one = dets.filter(np.arange(len(dets)) == largest)
        match = gallery.match(adapter.encode_faces(image, one, params))[0]
        out.append({**entry, "identity": match.identity or "unknown",
                    "distance": round(match.distance, 4) if np.isfinite(match.distance) else None,
                    "faces": len(dets), "box": one.boxes_xywh[0].tolist()})
    return out
