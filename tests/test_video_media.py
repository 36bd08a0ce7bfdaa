"""Synthetic classroom videos for the video-stage tests, made with numpy and ffmpeg into tmp_path,
plus the real clips of ../shared/data probed and sampled end to end.

A "room" is a fixed camera's static view; "people" are blobs moving on smooth random paths;
sensor noise is fresh every frame. All 320x240, 10 fps, keyframe every second: small and quick.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.video.probe import probe_recording
from pipeline.video.sample import SampleReport, sample_frames

FPS = 10
W, H = 320, 240
Frame = np.ndarray


def room(seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    img = np.empty((H, W, 3), np.uint8)
    img[:] = np.linspace(150, 110, H, dtype=np.uint8)[:, None, None]  # lit wall, darker floor
    for _ in range(14):  # desks, windows, a board
        x, y = int(rng.integers(0, W - 40)), int(rng.integers(0, H - 30))
        colour = tuple(int(c) for c in rng.integers(40, 220, 3))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(20, 90)), y + int(rng.integers(10, 50))), colour, -1)
    return img


def people(seed: int, n: int = 7) -> Callable[[Frame, float], Frame]:
    """Blobs on smooth random paths (sums of slow sines): a class moving about."""
    rng = np.random.default_rng(seed)
    params = [(rng.uniform(40, W - 40), rng.uniform(40, H - 40), rng.uniform(15, 60), rng.uniform(10, 50),
               rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4), rng.uniform(0, 6.3), rng.uniform(0, 6.3),
               tuple(int(c) for c in rng.integers(0, 255, 3))) for _ in range(n)]

    def draw(bg: Frame, t: float) -> Frame:
        img = bg.copy()
        for cx, cy, ax, ay, wx, wy, px, py, colour in params:
            x, y = cx + ax * np.sin(wx * t + px), cy + ay * np.sin(wy * t + py)
            cv2.ellipse(img, (int(x), int(y)), (12, 22), 0, 0, 360, colour, -1)
            cv2.circle(img, (int(x), int(y) - 28), 9, (90, 120, 200), -1)
        return img

    return draw


def noisy(img: Frame, rng: np.random.Generator, sigma: float) -> Frame:
    noise = rng.normal(0, sigma, (H, W, 1)).astype(np.float32)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def encode(path: Path, frames: Iterable[Frame], *, fps: int = FPS, gop: int = FPS, args: Iterable[str] = ()) -> Path:
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}",
           "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop),
           "-pix_fmt", "yuv420p", *args, str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for frame in frames:
        proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0, f"ffmpeg failed writing {path}"
    return path


def class_video(path: Path, seconds: float, *, room_seed: int = 1, people_seed: int | None = 2,
                noise: float = 4.0, brightness: float = 0.0, segments: Callable[[float, Frame], Frame] | None = None,
                **kw) -> Path:
    """`seconds` of a room (with people unless people_seed is None); `segments(t, frame)` may replace frames."""
    bg = room(room_seed)
    draw = people(people_seed) if people_seed is not None else (lambda img, t: img)
    rng = np.random.default_rng(room_seed * 1000 + (people_seed or 0) + int(brightness))

    def frames():
        for k in range(int(seconds * FPS)):
            t = k / FPS
            img = draw(bg, t)
            if brightness:
                img = np.clip(img.astype(np.int16) + int(brightness), 0, 255).astype(np.uint8)
            img = noisy(img, rng, noise) if noise else img
            yield segments(t, img) if segments else img

    return encode(path, frames(), **kw)


def reencode(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(dst)], check=True)
    return dst


# ---- real clips ------------------------------------------------------------------------------

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def real_clips() -> list[Path]:
    labels = SHARED_DATA / "labels.json"
    if not labels.exists():
        return []
    return [SHARED_DATA / rel for rel in json.loads(labels.read_text())["media"]]


@pytest.mark.skipif(not (SHARED_DATA / "labels.json").exists(), reason="../shared/data not present")
def test_real_clips_probe_and_sample_without_crashing():
    clips = real_clips()
    assert len(clips) >= 5, "labels.json lists the real clips"
    for clip in clips:
        result = probe_recording(clip, timeout_s=30)
        assert result.sha256 and len(result.sha256) == 64, clip
        if clip.suffix in (".mp4", ".avi"):
            assert result.readable, (clip, result.error)
            assert result.width and result.height and result.duration_s > 1, clip
        report = SampleReport()
        frames = list(sample_frames(clip, 1.0, report=report))
        assert frames or report.error, clip  # either frames or a stated reason, never an exception
        if result.readable and clip.suffix == ".mp4":
            assert len(frames) >= 2 and frames[0].image_bgr.shape == (result.height, result.width, 3), clip
            offsets = [f.offset_s for f in frames]
            assert offsets == sorted(set(offsets))
