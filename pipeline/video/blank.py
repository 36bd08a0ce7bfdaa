"""Black, frozen and covered-lens stretches, and the snapshot writer for evidence.

Each sampled frame gets at most one label, in order of certainty: black (mean luma at or below
`black_luma_max`), covered (near-uniform: luma std of a 64x36 reduction at or below
`uniform_luma_std_max`, a reduction averages sensor noise away, so a taped lens reads as flat even
when the camera raises its gain; or partly covered: at least `covered_min_share` of the 8x6-pixel
blocks of that reduction featureless, a hand or a sheet of paper over most of the lens), frozen
(the same picture as the previous sample).

The same picture means nothing changed anywhere: no fresh sensor noise (the mean difference is at
the codec's level) and no region that moved (no 8x8 block of the 320 px frame changed by more than
a codec refines a repeated picture). A frozen feed (an NVR repeating its last frame while its clock
runs on) meets both; a live camera fails one: noise, or people who move, even seated and quiet (a
head that turns, a hand). A quiet room on a clean, noise-free encode has a whole-frame difference
as low as a freeze's, so the mean alone called quiet classes frozen. The top and bottom tenth of
the frame are left out of both: cameras and NVRs burn the clock and the camera name in there, and
a clock ticking over a frozen picture must not make it live. What cannot be told apart: an empty,
motionless room on a camera whose noise the encoder removes (no evidence of life either way).

A stretch runs from midway between the last sample before it and its first sample to midway
between its last sample and the next one: the true edges lie within half a sample interval of
these (an unbiased estimate, so that a 2-minute cover sampled every 10 s measures 2 minutes, not
1:50). `first_sample_s` / `last_sample_s` keep what was actually seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from pipeline.ops.atomic import write_atomic
from pipeline.video.params import VideoParams
from pipeline.video.sample import SampledFrame, downscale_gray

BLACK, COVERED, FROZEN = "black", "covered", "frozen"
_FREEZE_WIDTH_PX = 320  # freeze differences are measured at this width (thresholds depend on it)
_UNIFORM_SIZE_PX = (64, 36)


@dataclass(frozen=True)
class BlankStretch:
    kind: str  # "black" | "frozen" | "covered"
    start_offset_s: float  # first sample showing it (seconds from the file's first frame)
    end_offset_s: float  # last sample showing it
    snapshot_offset_s: float  # a sample in the middle of the stretch, for the evidence snapshot
    samples: int
    mean_luma: float  # mean over the stretch's samples (0-255), evidence for black/covered
    path: Path | None = None  # the recording, when the consumer was told it
    before_offset_s: float | None = None  # the last sample before the stretch (a normal picture), for evidence

    @property
    def duration_s(self) -> float:
        return self.end_offset_s - self.start_offset_s


@dataclass(frozen=True)
class _Sample:
    offset_s: float
    label: str | None
    mean_luma: float


class BlankConsumer:
    """FrameConsumer finding blank stretches; keeps one reduced frame and one label per sample."""

    max_width_px = _FREEZE_WIDTH_PX

    def __init__(self, params: VideoParams | None = None, path: Path | None = None) -> None:
        self.params = params or VideoParams()
        self.interval_s = self.params.sample_interval_s  # a denser pass (fingerprints) is thinned to this
        self.path = None if path is None else Path(path)
        self._samples: list[_Sample] = []
        self._prev: np.ndarray | None = None

    def feed(self, frame: SampledFrame) -> None:
        import cv2  # in the process that decodes (a pool worker passing results on never loads OpenCV)

        h, w = frame.image_bgr.shape[:2]
        width = min(_FREEZE_WIDTH_PX, w)
        height = max(2, round(h * width / w))
        gray = downscale_gray(frame.image_bgr, width, height)
        tiny = cv2.resize(gray, _UNIFORM_SIZE_PX, interpolation=cv2.INTER_AREA)
        mean = float(tiny.mean())
        p = self.params
        label = None
        if mean <= p.black_luma_max:
            label = BLACK
        elif float(tiny.std()) <= p.uniform_luma_std_max or featureless_share(tiny, p.uniform_luma_std_max) >= p.covered_min_share:
            label = COVERED
        elif self._prev is not None and self._prev.shape == gray.shape:
            mean_diff, block_diff = picture_change(self._prev, gray)
            if mean_diff <= p.freeze_mean_diff_max and block_diff <= p.freeze_block_diff_max:
                label = FROZEN
                # The previous sample is the picture that froze.
                prev = self._samples[-1]
                if prev.label is None:
                    self._samples[-1] = _Sample(prev.offset_s, FROZEN, prev.mean_luma)
        self._prev = gray
        self._samples.append(_Sample(frame.offset_s, label, mean))

    def result(self) -> list[BlankStretch]:
        return stretches_from_labels(self._samples, self.params.min_blank_s, self.path)

    def part(self) -> tuple[_Sample, ...]:
        """The labelled samples, for a recording analysed in chunks (pipeline/chunks.py joins them and
        finds the stretches over the whole file)."""
        return tuple(self._samples)


def picture_change(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean, largest 8x8-block mean) of |a - b| for two luma frames of one size, leaving out the top and
    bottom tenth of the frame (burnt-in clock and camera name)."""
    h = a.shape[0]
    band = h // 10
    diff = np.abs(a[band:h - band] - b[band:h - band])
    bh, bw = diff.shape[0] // 8, diff.shape[1] // 8
    if bh == 0 or bw == 0:
        return float(diff.mean()), float(diff.max(initial=0.0))
    blocks = diff[: bh * 8, : bw * 8].reshape(bh, 8, bw, 8).mean(axis=(1, 3))
    return float(diff.mean()), float(blocks.max())


def featureless_share(tiny: np.ndarray, std_max: float) -> float:
    """Share of the 8x6-pixel blocks of a 64x36 luma image whose std is at most `std_max`."""
    h, w = tiny.shape
    blocks = tiny[: h // 6 * 6, : w // 8 * 8].reshape(h // 6, 6, w // 8, 8).transpose(0, 2, 1, 3)
    return float((blocks.reshape(h // 6, w // 8, -1).std(axis=2) <= std_max).mean())


def stretches_from_labels(samples: list[_Sample], min_blank_s: float, path: Path | None = None) -> list[BlankStretch]:
    out: list[BlankStretch] = []
    run: list[_Sample] = []
    before: _Sample | None = None
    for sample in [*samples, _Sample(float("inf"), None, 0.0)]:
        if run and sample.label != run[0].label:
            if run[0].label is not None:
                start = run[0].offset_s if before is None else (before.offset_s + run[0].offset_s) / 2
                end = run[-1].offset_s if sample.offset_s == float("inf") else (run[-1].offset_s + sample.offset_s) / 2
                if end - start >= min_blank_s:
                    out.append(BlankStretch(
                        kind=run[0].label, start_offset_s=round(start, 3), end_offset_s=round(end, 3),
                        snapshot_offset_s=run[len(run) // 2].offset_s, samples=len(run),
                        mean_luma=round(float(np.mean([s.mean_luma for s in run])), 2), path=path,
                        before_offset_s=None if before is None else before.offset_s,
                    ))
            before = run[-1]
            run = []
        run.append(sample)
    return out


def _frame_at(path: Path, offset_s: float) -> np.ndarray | None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        half_frame = 0.5 / float(stream.average_rate or 25)
        container.seek(int((offset_s + start) / stream.time_base), stream=stream, backward=True, any_frame=False)
        last = None
        for frame in container.decode(stream):
            last = frame
            if frame.time is not None and frame.time - start >= offset_s - half_frame:
                break
        return None if last is None else last.to_ndarray(format="bgr24")


def write_snapshot(
    path: Path,
    offset_s: float,
    out_jpeg: Path,
    box: tuple[int, int, int, int] | None = None,
    quality: int = 85,
) -> str | None:
    """Write the frame at `offset_s` of `path` to `out_jpeg`, `box` (x, y, w, h, full-resolution
    pixels) outlined in red and the offset printed in a corner. Returns None on success, else why
    not (the evidence then names the offset without a picture). Written atomically."""
    import cv2

    try:
        image = _frame_at(Path(path), offset_s)
    except (av.FFmpegError, OSError, IndexError, ValueError) as exc:
        return f"{path}: no frame at {offset_s:.1f} s ({exc})"
    if image is None:
        return f"{path}: no frame at {offset_s:.1f} s (past the end)"
    thickness = max(2, image.shape[1] // 400)
    if box is not None:
        x, y, w, h = (int(v) for v in box)
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 0, 255), thickness)
    stamp = f"{int(offset_s // 3600):02d}:{int(offset_s % 3600 // 60):02d}:{offset_s % 60:04.1f}"
    scale = max(0.4, image.shape[1] / 1200)
    cv2.putText(image, stamp, (8, image.shape[0] - 10), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2)
    cv2.putText(image, stamp, (8, image.shape[0] - 10), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness)
    out_jpeg = Path(out_jpeg)
    out_jpeg.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return f"{path}: JPEG encoding failed at {offset_s:.1f} s"
    write_atomic(out_jpeg, data.tobytes())
    return None
