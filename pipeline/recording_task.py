"""What a per-recording task receives (`RecordingTask`, `GallerySpec`) and gives back (`RecordingAnalysis`,
or a chunk's `RecordingChunk`), and where its result is cached.

Kept apart from the task itself (analysis.py) and from the joining of chunks (chunks.py), which both
read these records, so that neither imports the other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import InputLimits
from pipeline.video.params import VideoParams
from pipeline.video.probe import ProbeResult

if TYPE_CHECKING:  # the frame consumers (OpenCV) load where frames are decoded, not in every pool worker
    from pipeline.video.blank import BlankStretch
    from pipeline.video.reuse import Fingerprint

# 2: blank samples on a grid from the file start (scan.py), chunks.
# 3: face encodings may come from SFace or dlib (FaceParams.encoder, part of the key through task.faces);
# entries written before the encoder was a setting are never read again.
ANALYSIS_VERSION = "3"


@dataclass(frozen=True)
class GallerySpec:
    """Who may appear: person id -> (kind, photo paths). Built into a gallery inside the worker."""

    people: tuple[tuple[str, str, tuple[str, ...]], ...]  # (person_id, "trainee"|"teacher", photos)
    max_image_pixels: int = InputLimits().max_image_pixels  # ingest.limits: photos over it are never decoded

    def digest(self) -> str:
        h = hashlib.sha256()
        if self.max_image_pixels != InputLimits().max_image_pixels:  # the default keeps earlier digests
            h.update(f"max_image_pixels={self.max_image_pixels}\0".encode())
        for person_id, kind, photos in self.people:
            h.update(f"{person_id}\0{kind}\0".encode())
            for photo in photos:
                try:
                    h.update(Path(photo).read_bytes())
                except OSError:
                    h.update(b"missing:" + photo.encode())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class RecordingTask:
    class_id: str
    path: str
    video: VideoParams
    faces: Any  # FaceParams
    gallery: GallerySpec | None
    cache_dir: str | None
    analyse_video: bool = True
    # glibc allocator thresholds where the face pass runs (RunParams; 0, 0: glibc's defaults)
    malloc: tuple[int, int] = (0, 0)
    may_split: bool = False  # a long recording may come back as a plan of chunks (several workers)
    span: tuple[float, float | None] | None = None  # this task is one chunk of the file: (start_s, end_s)
    probe: ProbeResult | None = None  # a chunk's file, probed once by the task that planned the chunks
    sha256: str | None = None  # known (nightly: the manifest's stamp): the file is neither hashed nor re-probed
    recording_id: str = ""  # Recording.recording_id: what the result is known by (`path` is where the file is)


@dataclass(frozen=True, kw_only=True)
class RecordingAnalysis:
    class_id: str
    path: str
    probe: ProbeResult
    samples: int = 0
    scan_error: str | None = None
    blanks: tuple[BlankStretch, ...] = ()
    fingerprint: Fingerprint | None = None
    faces: Any = None  # pipeline.faces.video.VideoFaceResult
    enrollment_problems: tuple[tuple[str, str, str | None], ...] = ()  # (photo, what was found, who)
    # Roster entries whose enrollment photos show the same face: (person a, person b, distance)
    enrollment_pairs: tuple[tuple[str, str, float], ...] = ()
    error: str | None = None  # the task itself failed (a bug or a resource error): reported, not raised
    timings_s: dict = field(default_factory=dict)
    # Not a result yet: the file is long, analyse these (start_s, end_s) chunks and join them (chunks.py)
    chunks: tuple[tuple[float, float | None], ...] = ()
    recording_id: str = ""  # the task's: the same bytes elsewhere share a cache entry, not an identity


@dataclass(frozen=True, kw_only=True)
class RecordingChunk:
    """One chunk's analysis: the consumers' parts (scan_recording's `parts`), joined by pipeline/chunks.py."""

    class_id: str
    path: str
    span: tuple[float, float | None]
    samples: int
    scan_error: str | None
    parts: tuple[Any, ...]  # blank samples, fingerprint, (raw face result, faces seen) or None
    enrollment_problems: tuple[tuple[str, str, str | None], ...] = ()
    enrollment_pairs: tuple[tuple[str, str, float], ...] = ()
    timings_s: dict = field(default_factory=dict)


def cache_path(task: RecordingTask, sha256: str | None) -> Path | None:
    if not task.cache_dir or not sha256:
        return None
    from pipeline.config import stable_hash

    key = stable_hash([ANALYSIS_VERSION, sha256, task.video, task.faces,
                       task.gallery.digest() if task.gallery else None, task.analyse_video])
    return Path(task.cache_dir) / "recordings" / sha256[:2] / f"{sha256}-{key}.analysis"


def load_cached(path: Path | None) -> RecordingAnalysis | None:
    if path is None or not path.is_file():
        return None
    from pipeline import cache_codec

    try:
        value = cache_codec.loads(path.read_bytes(), analysis_types())
        if not isinstance(value, RecordingAnalysis):
            raise cache_codec.CacheFormatError("not an analysis")
        return value
    except Exception:  # a corrupt or foreign cache entry is rebuilt, never trusted
        path.unlink(missing_ok=True)
        return None


def store_cached(path: Path | None, value: RecordingAnalysis | ProbeResult) -> None:
    if path is None:
        return
    from pipeline import cache_codec
    from pipeline.ops.atomic import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, cache_codec.dumps(value))


def probe_cache_path(task: RecordingTask) -> Path | None:
    if not task.cache_dir or not task.sha256:
        return None
    from pipeline.config import stable_hash

    # the path is part of the key: a probe's messages may name the file
    key = stable_hash(["probe", ANALYSIS_VERSION, task.sha256, task.video, task.path])
    return Path(task.cache_dir) / "probes" / task.sha256[:2] / f"{task.sha256}-{key}.probe"


def scan_intervals(task: RecordingTask) -> tuple[float, ...]:
    """The shared pass's interval first (fingerprints set the pace), then every consumer's own."""
    own = [task.video.sample_interval_s, task.video.fingerprint_interval_s]
    if task.gallery is not None:
        own.append(task.faces.sample_interval_s)
    return (min(own), *own)


def analysis_types() -> tuple[type, ...]:
    """The record types an analysis cache entry may hold (cache_codec decodes nothing else)."""
    from pipeline.faces.pictured import ExcludedFace
    from pipeline.faces.video import HeadcountRow, Sighting, VideoFaceResult
    from pipeline.video.blank import BlankStretch
    from pipeline.video.reuse import Fingerprint

    return (RecordingAnalysis, ProbeResult, BlankStretch, Fingerprint, VideoFaceResult, HeadcountRow, Sighting,
            ExcludedFace)
