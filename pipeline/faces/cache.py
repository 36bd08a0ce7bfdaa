"""Per-video cache of face results, so re-runs and report regeneration do not decode again.

Key: the video file's SHA-256 + FaceParams.digest() + the gallery's digest (identities depend on who is
enrolled). Encodings are biometric data: they live here only (never in output tables). Entries are an
.npz of arrays plus JSON text, written to a temporary name and renamed: a reader sees all or nothing.
No pickle: a cache folder is data, not code.
"""
from __future__ import annotations

from dataclasses import asdict
import hashlib
import json
import os
from pathlib import Path
import tempfile

import numpy as np

from pipeline.faces.gallery import Gallery
from pipeline.faces.params import FaceParams
from pipeline.faces.video import SNAPSHOT_PX, HeadcountRow, Sighting, VideoFaceResult

_FORMAT = 1


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            h.update(block)
    return h.hexdigest()


def gallery_digest(gallery: Gallery) -> str:
    h = hashlib.sha256(json.dumps(gallery.identities).encode())
    h.update(np.ascontiguousarray(gallery.encodings).tobytes())
    h.update(np.ascontiguousarray(gallery.owner).tobytes())
    h.update(repr(gallery.threshold).encode())
    return h.hexdigest()[:16]


class FaceCache:
    def __init__(self, cache_dir: str | Path):
        self.root = Path(cache_dir) / "faces"

    def key(self, video_sha256: str, params: FaceParams, gallery: Gallery) -> str:
        return f"{video_sha256[:32]}-{params.digest()}-{gallery_digest(gallery)}"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> VideoFaceResult | None:
        """The cached result, or None if absent or unreadable (a damaged entry is recomputed)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("format") != _FORMAT:
                    return None
                return VideoFaceResult(
                    tuple(HeadcountRow(**r) for r in meta["headcount"]),
                    tuple(Sighting(**{**s, "box_xywh": tuple(s["box_xywh"])}) for s in meta["sightings"]),
                    z["unknown_encodings"].astype(np.float32),
                    tuple(z["snapshots"]),
                    meta.get("encoded_faces", 0))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, result: VideoFaceResult) -> Path:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": _FORMAT, "encoded_faces": result.encoded_faces,
                "headcount": [asdict(r) for r in result.headcount],
                "sightings": [asdict(s) for s in result.sightings]}
        snaps = (np.stack(result.unknown_snapshots) if result.unknown_snapshots
                 else np.zeros((0, SNAPSHOT_PX, SNAPSHOT_PX, 3), np.uint8))
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), unknown_encodings=result.unknown_encodings,
                         snapshots=snaps)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path
