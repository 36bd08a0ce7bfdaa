"""One decode pass per recording, shared by every consumer of its frames.

Decoding dominates the cost of the video stage, so each file is sampled once and each sampled
frame is handed to every consumer (blank detection, fingerprints, and later faces). A consumer
that needs less than full resolution says so with `max_width_px`; when all consumers need little,
frames are reduced inside the colour conversion, which is much cheaper than converting the full
frame and resizing it afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from av.video.reformatter import VideoReformatter

from pipeline.video.sample import SampledFrame, SampleReport, decoded_frames, to_image


@runtime_checkable
class FrameConsumer(Protocol):
    """Receives every sampled frame of one file, in time order, then gives its result.

    Optional attribute `max_width_px: int | None`: the widest frame the consumer needs;
    None or absent means full resolution. Optional attribute `interval_s: float`: feed it at most
    one frame per that many seconds (a pass sampled more densely for another consumer). Optional method
    `part()`: its state for joining with other chunks of the same file (scan_recording's `parts`).
    """

    def feed(self, frame: SampledFrame) -> None: ...

    def result(self) -> Any: ...


@dataclass(frozen=True)
class ScanResult:
    path: Path
    interval_s: float
    samples: int
    last_offset_s: float | None  # offset of the last frame decoded (None: none)
    error: str | None  # why the pass ended early (decode error), None when it reached the end
    results: tuple[Any, ...]  # consumer results, in the order the consumers were given


def frame_width_for(consumers: Sequence[FrameConsumer]) -> int | None:
    widths = [getattr(c, "max_width_px", None) for c in consumers]
    if not widths or any(w is None for w in widths):
        return None
    return max(widths)


def scan_recording(
    path: Path,
    interval_s: float,
    consumers: Sequence[FrameConsumer],
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    max_keyframe_lag_s: float | None = None,
    parts: bool = False,
) -> ScanResult:
    """`parts`: results are the consumers' `part()` (what a chunk of a longer file gives for joining)."""
    report = SampleReport()
    last = None
    due = [float("-inf")] * len(consumers)
    every = [getattr(c, "interval_s", None) for c in consumers]
    reformatters: dict[int | None, VideoReformatter] = {}  # one scaler context per width (each costs ~1 ms to set up)
    frames = decoded_frames(Path(path), interval_s, start_s, end_s, max_keyframe_lag_s=max_keyframe_lag_s, report=report)
    for offset, decoded in frames:
        last = offset
        fed = [k for k in range(len(consumers)) if every[k] is None or offset + 1e-6 >= due[k]]
        for k in fed:
            if every[k] is not None:
                # on the consumer's own grid (multiples of its interval from the file's start, whatever
                # offset the pass began at: a chunk of a long file samples as the whole-file pass does),
                # never closer than half its interval
                due[k] = math.ceil((offset + every[k] / 2) / every[k] - 1e-9) * every[k]
        # converted once, at the width the consumers fed this time need (full resolution only for faces)
        width = frame_width_for([consumers[k] for k in fed])
        frame = SampledFrame(offset, to_image(decoded, width, reformatters.setdefault(width, VideoReformatter())))
        for k in fed:
            consumers[k].feed(frame)
    return ScanResult(
        path=Path(path),
        interval_s=interval_s,
        samples=report.samples,
        last_offset_s=last,
        error=report.error,
        results=tuple(c.part() if parts else c.result() for c in consumers),
    )


def _scan_child(path: Path, interval_s: float, consumers, start_s: float, end_s: float | None) -> ScanResult:
    return scan_recording(path, interval_s, consumers, start_s=start_s, end_s=end_s)


def scan_recording_isolated(
    path: Path,
    interval_s: float,
    consumers: Sequence[FrameConsumer],
    timeout_s: float,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> ScanResult:
    """scan_recording in a child process killed after `timeout_s`: a decoder that loops or
    crashes on a hostile file costs that file, never the run. Consumers travel by pickle (keep
    models out of their state until the first feed); their results come back in the ScanResult.
    On timeout or crash the results are those of the unfed consumers, with the reason in `error`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    reason = None
    try:
        future = pool.submit(_scan_child, Path(path), interval_s, list(consumers), start_s, end_s)
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        reason = f"{path}: decoding did not finish within {timeout_s:g} s (damaged file?)"
    except BrokenProcessPool:
        reason = f"{path}: the decoder crashed on this file"
    finally:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()  # only this pool's own worker
        pool.shutdown(wait=False, cancel_futures=True)
    return ScanResult(Path(path), interval_s, 0, None, reason, tuple(c.result() for c in consumers))
