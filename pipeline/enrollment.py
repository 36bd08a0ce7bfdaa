"""A class's enrollment (its roster photos detected and encoded into a gallery), computed once per run and
shared by every decoding child.

A child that needs a class's gallery reads the stored one (`enrolled/<version>-<digest>.gallery` in the
cache). When there is none yet, the children that need it enrol the photos together: each photo has a lock
file; a child encodes, in roster order, every photo no other child holds and stores its encoding (or the
problem found) beside the gallery; then it waits for the photos the others hold and reads theirs. A photo
whose child died (its lock freed, no result stored) is encoded by the next child to reach it. Every child
assembles the same gallery, in roster order, stores it and tidies the photos' files away.

Before, the first child enrolled alone under one lock while the others waited: on a 3-hour recording on
2 workers one core sat idle for the ~3 s of enrollment (benchmarks/results/long_file.md). Encodings never
leave the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from pathlib import Path
from typing import Any

from pipeline.recording_task import ANALYSIS_VERSION, RecordingTask, store_cached


def person_key(kind: str, person_id: str) -> str:
    """Gallery identity of a roster person: trainee and teacher ids may collide, so the kind is kept."""
    return f"{kind}:{person_id}"


def same_face_pairs(gallery, max_distance: float) -> list[tuple[str, str, float]]:
    """Pairs of enrolled people whose photos lie within `max_distance` of each other: one face enrolled
    under two roster entries (IDENTITY_SHARED)."""
    if len(gallery) < 2:
        return []
    per_person = gallery.distances(gallery.encodings)  # (photos, people)
    best: dict[tuple[str, str], float] = {}
    for row, owner in enumerate(gallery.owner):
        for other, distance in enumerate(per_person[row]):
            if other == owner or distance > max_distance:
                continue
            key = tuple(sorted((gallery.identities[owner], gallery.identities[other])))
            best[key] = min(best.get(key, float("inf")), float(distance))
    return [(a, b, d) for (a, b), d in sorted(best.items())]


def enrolled(task: RecordingTask, digest: str):
    """(gallery, same-face pairs) of the task's class photos; `digest` names the photos and face settings."""
    from pipeline.faces.gallery import Gallery

    photos = {person_key(kind, pid): list(paths) for pid, kind, paths in task.gallery.people}
    params, max_pixels = task.faces, task.gallery.max_image_pixels
    if not task.cache_dir:
        gallery = Gallery.from_photos(photos, params, strict=False, max_pixels=max_pixels)
        _release()
        return gallery, same_face_pairs(gallery, params.same_face_max_distance)
    path = Path(task.cache_dir) / "enrolled" / f"{ANALYSIS_VERSION}-{digest}.gallery"
    for _ in range(3):
        stored = load_gallery(path)
        if stored is not None:
            return stored
        shared = SharedPhotos(path.with_suffix(".photos"), params, max_pixels)
        try:
            shared.encode_free([(identity, p) for identity, paths in photos.items() for p in paths])
            gallery = Gallery.from_photos(photos, params, strict=False, max_pixels=max_pixels, encode=shared.encoded)
        except FileNotFoundError:  # another child stored the gallery and tidied up meanwhile: read it
            continue
        finally:
            _release()
        pairs = same_face_pairs(gallery, params.same_face_max_distance)
        _store_gallery(path, gallery, pairs)
        shutil.rmtree(shared.folder, ignore_errors=True)
        return gallery, pairs
    raise RuntimeError(f"{path}: the class's stored enrollment kept disappearing while it was read")


def _release() -> None:
    """The photos' detection peaks far above what scanning needs: the detector's buffers sized for the largest
    photo are dropped and the free memory given back."""
    from pipeline.faces import adapter
    from pipeline.ops.worker import release_free_memory

    adapter.release_buffers()
    release_free_memory()


def _store_gallery(path: Path, gallery, pairs) -> None:
    store_cached(path, {
        "identities": gallery.identities, "encodings": gallery.encodings, "owner": gallery.owner,
        "threshold": float(gallery.threshold), "encoder": gallery.encoder, "pairs": [tuple(p) for p in pairs],
        "problems": [(p.path, p.found, p.identity) for p in gallery.problems]})


def load_gallery(path: Path):
    """The stored enrollment, or None (missing, damaged or foreign: enrolled again)."""
    from pipeline import cache_codec
    from pipeline.faces.errors import EnrollmentError
    from pipeline.faces.gallery import Gallery

    try:
        v = cache_codec.loads(path.read_bytes())
        gallery = Gallery(tuple(v["identities"]), v["encodings"], v["owner"], v["threshold"],
                          tuple(EnrollmentError(*p) for p in v["problems"]), v["encoder"])
        return gallery, [(str(a), str(b), float(d)) for a, b, d in v["pairs"]]
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or foreign entry is rebuilt, never trusted
        path.unlink(missing_ok=True)
        return None


class SharedPhotos:
    """One class's photos, encoded by whichever decoding children need them, each photo once (module doc)."""

    def __init__(self, folder: Path, params, max_pixels: int | None):
        self.folder, self.params, self.max_pixels = folder, params, max_pixels
        folder.mkdir(parents=True, exist_ok=True)

    def _files(self, identity: str, photo: str) -> tuple[Path, Path]:
        key = hashlib.sha256(f"{identity}\0{photo}".encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return self.folder / f"{key}.lock", self.folder / f"{key}.photo"

    def encode_free(self, photos: list[tuple[str, str]]) -> None:
        """Encode and store, in order, every photo that has no result and that no other child holds."""
        for identity, photo in photos:
            lock_file, result = self._files(identity, str(photo))
            if result.exists():
                continue
            with open(lock_file, "a+b") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the file closes
                except BlockingIOError:
                    continue  # another child is encoding it
                if not result.exists():
                    self._encode(identity, str(photo), result)

    def encoded(self, identity: str, photo) -> Any:
        """The photo's encoding (waiting for the child that holds it, or encoding it if that child died);
        raises the EnrollmentError found in it, as `encode_photo` would."""
        from pipeline.faces.errors import EnrollmentError

        lock_file, result = self._files(identity, str(photo))
        value = _read(result)
        if value is None:
            with open(lock_file, "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                value = _read(result)
                if value is None:
                    value = self._encode(identity, str(photo), result)
        if "problem" in value:
            raise EnrollmentError(*value["problem"])
        return value["encoding"]

    def _encode(self, identity: str, photo: str, result: Path) -> dict:
        from pipeline import cache_codec
        from pipeline.faces.errors import EnrollmentError
        from pipeline.faces.gallery import encode_photo
        from pipeline.ops.atomic import write_atomic

        try:
            value: dict = {"encoding": encode_photo(photo, self.params, identity, self.max_pixels)}
        except EnrollmentError as exc:
            value = {"problem": [exc.path, exc.found, exc.identity]}
        # not store_cached: it would make the folder again after another child stored the gallery and
        # tidied it away; the write fails instead (FileNotFoundError) and `enrolled` reads the gallery
        write_atomic(result, cache_codec.dumps(value))
        return value


def _read(result: Path) -> dict | None:
    from pipeline import cache_codec

    try:
        return cache_codec.loads(result.read_bytes())
    except FileNotFoundError:
        if not result.parent.is_dir():
            raise  # tidied away: the gallery is stored (enrolled reads it)
        return None
    except Exception:  # damaged: encoded again
        result.unlink(missing_ok=True)
        return None
