"""The per-recording task: probe a file, then one decode pass feeding blank detection, fingerprints and
the face pass. It runs in any worker (local process pool or a Dask worker): it receives paths and
settings, never models (dlib objects do not pickle), and returns compact, picklable results.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from pipeline.recording_task import (ANALYSIS_VERSION, GallerySpec, RecordingAnalysis, RecordingChunk,  # noqa: F401
                                     RecordingTask, cache_path, load_cached, probe_cache_path, scan_intervals,
                                     store_cached)
from pipeline.video.probe import ProbeResult, decode_budget_s, failed_probe, probe_recording


def _probe(task: RecordingTask) -> ProbeResult:
    """Probe the file; with a known hash, a readable file's earlier probe of the same bytes is reused (no
    ffprobe, no hashing): what a nightly run does for the unchanged recordings of a changed class."""
    from pipeline import cache_codec
    from pipeline.recording_task import analysis_types

    cache = probe_cache_path(task)
    if cache is not None:
        try:
            cached = cache_codec.loads(cache.read_bytes(), analysis_types())
            if isinstance(cached, ProbeResult):
                return dataclasses.replace(cached, path=Path(task.path))
        except (OSError, cache_codec.CacheFormatError):
            pass
    probe = probe_recording(Path(task.path), task.video.probe_timeout_s, task.video, known_sha256=task.sha256)
    if cache is not None and probe.readable:  # an unreadable file may be a transient error: probed again
        store_cached(cache, probe)
    return probe


def analyse_recording(task: RecordingTask) -> RecordingAnalysis | RecordingChunk:
    """The file's analysis; for a chunk task (`span`) that chunk's parts; for a long file whose task
    `may_split`, the plan of its chunks (`RecordingAnalysis.chunks`), nothing decoded yet."""
    import time

    from pipeline.chunks import plan_chunks

    started = time.perf_counter()
    probe = task.probe or _probe(task)
    timings = {"probe_s": time.perf_counter() - started}
    if not probe.readable or not task.analyse_video:
        return RecordingAnalysis(class_id=task.class_id, path=task.path, probe=probe, timings_s=timings, recording_id=task.recording_id)
    if task.span is None:
        cached = load_cached(cache_path(task, probe.sha256))
        if cached is not None:
            # The same bytes may sit in several places (a copied file is reused footage): the cached frame
            # analysis is the file's, the identity is this task's.
            fingerprint = dataclasses.replace(cached.fingerprint, path=Path(task.path)) if cached.fingerprint else None
            return dataclasses.replace(cached, class_id=task.class_id, path=task.path, probe=probe,
                                       fingerprint=fingerprint, timings_s=timings, recording_id=task.recording_id)
        chunks = plan_chunks(probe, task.video.chunk_s, scan_intervals(task)) if task.may_split else ()
        if chunks:
            return RecordingAnalysis(class_id=task.class_id, path=task.path, probe=probe, timings_s=timings, chunks=chunks,
                                     recording_id=task.recording_id)
    _test_delay()
    enrollment, pairs = _enroll(task, probe)
    interval_s = scan_intervals(task)[0]
    start_s, end_s = task.span if task.span is not None else (0.0, None)
    scan = _scan(task, probe, interval_s, start_s, end_s)
    timings["scan_s"] = time.perf_counter() - started - timings["probe_s"]
    results = list(scan.results)
    if task.span is not None:
        return RecordingChunk(class_id=task.class_id, path=task.path, span=task.span, samples=scan.samples,
                              scan_error=scan.error, parts=tuple(results), enrollment_problems=tuple(enrollment),
                              enrollment_pairs=tuple(pairs), timings_s=timings)
    analysis = RecordingAnalysis(
        class_id=task.class_id, path=task.path, probe=probe, samples=scan.samples, scan_error=scan.error,
        blanks=tuple(results[0]), fingerprint=results[1], faces=results[2] if task.gallery is not None else None,
        enrollment_problems=tuple(enrollment), enrollment_pairs=tuple(pairs), timings_s=timings,
        recording_id=task.recording_id)
    store_cached(cache_path(task, probe.sha256), analysis)
    return analysis


def _consumers(task: RecordingTask, probe: ProbeResult) -> list[Any]:
    """Built where the frames are: the face pass (and its models) only ever in the process that decodes."""
    from pipeline.video.blank import BlankConsumer
    from pipeline.video.reuse import FingerprintConsumer

    consumers: list[Any] = [BlankConsumer(task.video), FingerprintConsumer(Path(task.path), task.video, probe.sha256)]
    face_consumer, _, _ = _face_consumer(task)
    if face_consumer is not None:
        consumers.append(face_consumer)
    return consumers


def _unfed_results(task: RecordingTask, probe: ProbeResult, parts: bool) -> tuple[Any, ...]:
    """What the consumers give when the pass never ran (the decoder timed out or crashed): no models."""
    from pipeline.faces.video import VideoFacePass
    from pipeline.video.blank import BlankConsumer
    from pipeline.video.reuse import FingerprintConsumer

    consumers: list[Any] = [BlankConsumer(task.video), FingerprintConsumer(Path(task.path), task.video, probe.sha256)]
    if task.gallery is not None:
        consumers.append(VideoFacePass(None, task.faces))  # type: ignore[arg-type]  # never fed
    return tuple(c.part() if parts else c.result() for c in consumers)


_GALLERIES: dict[str, Any] = {}  # per worker process: galleries by spec digest (dlib objects never pickle)


def _face_consumer(task: RecordingTask) -> tuple[Any, list[tuple[str, str, str | None]], list[tuple[str, str, float]]]:
    """The face pass and what enrolling the class's photos found. Loads the face models: called only in the
    process that decodes (the decoding child, or a daemonic worker itself), never in a pool worker."""
    if task.gallery is None:
        return None, [], []
    from pipeline.faces.video import VideoFacePass

    _tune_allocator(task)
    digest = f"{task.gallery.digest()}-{task.faces.digest()}"  # the same photos encoded per encoder
    if digest not in _GALLERIES:
        _GALLERIES.clear()  # one class at a time per worker is the common case; bound the memory
        from pipeline.enrollment import enrolled

        _GALLERIES[digest] = enrolled(task, digest)
        from pipeline.faces import adapter
        from pipeline.ops.worker import release_free_memory

        # a child that read the stored enrollment loads its encoder here, not at the first face: SFace's
        # cv2.dnn import frees ~38 MB of parse buffers that would otherwise stay held through the first file
        adapter.load_models(task.faces)
        release_free_memory()
    gallery, pairs = _GALLERIES[digest]
    problems = [(p.path, p.found, p.identity) for p in gallery.problems]
    return Throttled(VideoFacePass(gallery, task.faces), task.faces.sample_interval_s), problems, pairs


def _tune_allocator(task: RecordingTask) -> None:
    """ops/worker.py's allocator thresholds, where they pay: libfacedetection (yunet_runtime yuface) allocates
    and frees its buffers on every frame. OpenCV's YuNet keeps its own between frames: with it the thresholds
    save no CPU (13 face samples of a 1080p recording: 4.57-4.78 against 4.63-4.73 CPU s, the same page
    faults) and hold ~11 MB more per decoding child, so glibc's defaults stay."""
    from pipeline.ops.worker import tune_allocator

    if task.faces.detector == "yunet" and task.faces.yunet_runtime == "opencv":
        return
    tune_allocator(*task.malloc)


def _child_enroll(task: RecordingTask) -> tuple[list, list]:
    _, problems, pairs = _face_consumer(task)
    return problems, pairs


def _child_scan(task: RecordingTask, probe: ProbeResult, interval_s: float, start_s: float, end_s: float | None):
    """The shared decode pass, run in the decoding child (or a daemonic worker): consumers built here."""
    from pipeline.ops.worker import release_free_memory
    from pipeline.video.scan import scan_recording

    _tune_allocator(task)
    # keyframes are used as they fall while they lag at most 1.5 blank-detection intervals (an NVR GOP
    # of 2-12 s): fingerprints then follow the keyframes, and their times are exact either way
    max_lag_s = 1.5 * task.video.sample_interval_s
    try:
        return scan_recording(Path(task.path), interval_s, _consumers(task, probe), start_s=start_s, end_s=end_s,
                              max_keyframe_lag_s=max_lag_s, parts=task.span is not None)
    finally:
        release_free_memory()  # an idle child between files holds its imports and models, not a frame's buffers


class Throttled:
    """A consumer fed only every `interval_s` of the shared pass (scan_recording thins it, and converts a
    frame to full resolution only when it is due): the face pass samples more sparsely than fingerprints
    and blank detection (it costs ~0.25 s a 1080p frame against ~1 ms), from the same decoded frames."""

    def __init__(self, consumer: Any, interval_s: float):
        self.consumer, self.interval_s = consumer, interval_s
        self.max_width_px = getattr(consumer, "max_width_px", None)

    def feed(self, frame) -> None:
        self.consumer.feed(frame)

    def result(self) -> Any:
        return self.consumer.result()

    def part(self) -> Any:
        return self.consumer.part()


# The decoding child: a process that decodes and runs the face pass for its supervisor (a thread of the
# audit's process, or a Dask worker's task), so that a decoder stuck on a hostile file is killed when its
# time limit passes and a crash costs that file only. One child per supervising thread, reused across files
# (imports, face models and the class's gallery load once); started on first use.
_LOCAL = threading.local()  # .scanner: this thread's child; .child_env: variables a child starts with
_SCANNERS: set = set()  # every live child's executor, to stop them all (stop_children)
_SCANNERS_LOCK = threading.Lock()  # also held while a child starts: its environment is the process's
_EXIT_HOOK: Any = None
# Enrolling a class's photos in the child (detect + encode each photo) may take this long per photo
_ENROLL_S_PER_PHOTO, _ENROLL_MIN_S = 10.0, 120.0


def set_child_env(env: dict[str, str] | None) -> None:
    """Variables (e.g. one compute thread, ops.worker.ONE_THREAD) that the decoding children this thread
    starts get in their environment, from their first import on."""
    _LOCAL.child_env = dict(env) if env else None


def _in_child(fn, timeout_s: float, *args):
    """`fn(*args)` in this thread's decoding child, started on first use. The child lives on across files;
    it is killed and replaced when a call times out or crashes it (raises TimeoutError or
    BrokenProcessPool)."""
    import multiprocessing
    import multiprocessing.util
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    global _EXIT_HOOK
    scanner = getattr(_LOCAL, "scanner", None)
    try:
        with _SCANNERS_LOCK:
            if scanner not in _SCANNERS:  # none yet, or stopped by stop_children
                scanner = _LOCAL.scanner = ProcessPoolExecutor(max_workers=1,
                                                               mp_context=multiprocessing.get_context("spawn"))
                _SCANNERS.add(scanner)
                if _EXIT_HOOK is None:  # a process joins its children as it exits: end them first, or it waits
                    _EXIT_HOOK = multiprocessing.util.Finalize(None, stop_children, exitpriority=10)
                with _environment(getattr(_LOCAL, "child_env", None)):
                    future = scanner.submit(fn, *args)  # starts the child (spawn: at the first submit)
            else:
                future = scanner.submit(fn, *args)
        return future.result(timeout=timeout_s)
    except (FutureTimeout, BrokenProcessPool):
        _stop_scanner()
        raise


class _environment:
    """os.environ with `env` set, restored on exit (a spawned child copies the environment as it starts)."""

    def __init__(self, env: dict[str, str] | None):
        self.env, self.saved = env or {}, {}

    def __enter__(self):
        import os

        for name, value in self.env.items():
            self.saved[name] = os.environ.get(name)
            os.environ[name] = value

    def __exit__(self, *exc):
        import os

        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _enroll(task: RecordingTask, probe: ProbeResult) -> tuple[list, list]:
    """Enrollment problems and same-face pairs of the class's photos, found where the face pass will run
    (the gallery stays there for the scan); a pool worker itself never loads a face model."""
    import multiprocessing
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    if task.gallery is None:
        return [], []
    if multiprocessing.current_process().daemon:
        return _child_enroll(task)
    photos = sum(len(paths) for _, _, paths in task.gallery.people)
    timeout_s = _ENROLL_MIN_S + _ENROLL_S_PER_PHOTO * photos
    try:
        return _in_child(_child_enroll, timeout_s, task)
    except (FutureTimeout, BrokenProcessPool) as exc:
        what = f"did not finish within {timeout_s:.0f} s" if isinstance(exc, FutureTimeout) else "crashed"
        raise RuntimeError(f"enrolling the class's photos {what}") from None


def _scan(task: RecordingTask, probe: ProbeResult, interval_s: float, start_s: float = 0.0, end_s: float | None = None):
    """The shared decode pass in a child process with a time limit, so a decoder stuck on a hostile file
    costs that file only. Daemonic workers (Dask's default) may not start children: there the pass runs in
    the worker itself, bounded by the cluster's own limits."""
    import multiprocessing
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    from pipeline.video.scan import ScanResult

    if multiprocessing.current_process().daemon:
        return _child_scan(task, probe, interval_s, start_s, end_s)
    timeout_s = decode_budget_s(probe, task.video)
    if end_s is not None:  # a chunk: its share of the file's budget, never less than the fixed part
        length_s = max(1.0, probe.footage_s or probe.duration_s or 1.0)
        share = min(1.0, (end_s - start_s) / length_s)
        timeout_s = task.video.scan_timeout_min_s + (timeout_s - task.video.scan_timeout_min_s) * share
    try:
        return _in_child(_child_scan, timeout_s, task, probe, interval_s, start_s, end_s)
    except (FutureTimeout, BrokenProcessPool) as exc:
        reason = (f"decoding did not finish within {timeout_s:.0f} s (damaged file?)"
                  if isinstance(exc, FutureTimeout) else "the decoder crashed on this file")
        return ScanResult(Path(task.path), interval_s, 0, None, reason,
                          _unfed_results(task, probe, task.span is not None))


def _stop_scanner() -> None:
    """Kill this thread's decoding child (idle or stuck) and forget it; the next file starts a fresh one."""
    scanner, _LOCAL.scanner = getattr(_LOCAL, "scanner", None), None
    _stop(scanner)


def _stop(scanner) -> None:
    if scanner is None:
        return
    with _SCANNERS_LOCK:
        _SCANNERS.discard(scanner)
    for process in list((getattr(scanner, "_processes", None) or {}).values()):
        process.kill()
    scanner.shutdown(wait=False, cancel_futures=True)


def stop_children() -> None:
    """Kill every decoding child of this process (the audit's workers are done with them)."""
    with _SCANNERS_LOCK:
        scanners = list(_SCANNERS)
    for scanner in scanners:
        _stop(scanner)


def _test_delay() -> None:
    """Tests that kill a worker mid-task set TRAINAUDIT_TEST_TASK_DELAY_S to hold each task open."""
    import os
    import time

    delay = os.environ.get("TRAINAUDIT_TEST_TASK_DELAY_S")
    if delay:
        time.sleep(float(delay))


def safe_analyse(task: RecordingTask) -> RecordingAnalysis:
    """`analyse_recording`, with any unexpected failure turned into a reported error for this file only."""
    try:
        return analyse_recording(task)
    except Exception as exc:  # one bad video never aborts the audit
        reason = f"analysis failed: {type(exc).__name__}: {exc}"
        return RecordingAnalysis(class_id=task.class_id, path=task.path, probe=failed_probe(Path(task.path), reason), error=reason,
                                 recording_id=task.recording_id)
