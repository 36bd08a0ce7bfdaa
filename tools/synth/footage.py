"""Seated-class footage for the reuse and blank detectors, and what people do to footage.

One fixed camera over a classroom: the same people in the same seats every session (the hard case
for reused-footage detection: two real sessions of one class look alike), a teacher walking at the
front, slow lighting drift, sensor noise. What differs between sessions is only what people do, at
random and never periodically (`session_seed`): heads turn and look down, people sway, stand up.
Time `t` is seconds into the session, so `start_s` renders the continuation of the same session
(an NVR export after a gap).

Transforms (ffmpeg): re-encode with other GOP, bitrate, scale and frame rate, trimmed; remux; a
segment inside a longer file. Used by tests/test_video_reuse.py and benchmarks/bench_video.py; the
class generator (generate.py) does not use it, so sample_data/ is unchanged.
"""
from __future__ import annotations

import hashlib
import math
from functools import lru_cache
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True)
class Footage:
    width_px: int = 640
    height_px: int = 360
    fps: float = 5.0
    gop_s: float = 2.0  # an NVR's keyframe interval
    crf: int = 28
    rows: int = 4
    cols: int = 6
    noise: float = 3.0  # sensor noise, luma levels (fresh every frame)
    # How much people do: 1 = a normal class (heads turn, people look down, stand up, a teacher walks);
    # a quiet class (an exam, a video being watched) is seated and nearly still: sway and looking down
    # scaled by `activity`, nobody stands, and no teacher walking when `teacher` is False.
    activity: float = 1.0
    teacher: bool = True
    # An NVR's clock burnt into the top left corner of every frame, frozen ones included (the recorder
    # draws it over the picture it repeats).
    osd_clock: bool = False


def _u(*key: object) -> float:
    """Seeded uniform in [0, 1) from a key."""
    return int(hashlib.sha256("/".join(map(str, key)).encode()).hexdigest()[:12], 16) / float(16**12)


def _smooth(key: str, t: float, knot_s: float) -> float:
    """Aperiodic smooth noise in [-1, 1]: seeded knots joined by a cosine ramp."""
    i = math.floor(t / knot_s)
    a, b = (2 * _u(key, j) - 1 for j in (i, i + 1))
    w = (1 - math.cos(math.pi * (t / knot_s - i))) / 2
    return a + (b - a) * w


@lru_cache(maxsize=4096)
def _events(key: str, length_s: float, per_min: float, lo_s: float, hi_s: float) -> tuple[tuple[float, float], ...]:
    """Random intervals (a Poisson-like sequence from seeded draws) over [-60, length_s]."""
    out, t, k = [], -60.0, 0
    while t < length_s:
        t += -math.log(1 - _u(key, "gap", k) * 0.999) * 60.0 / per_min
        out.append((t, t + lo_s + (hi_s - lo_s) * _u(key, "len", k)))
        k += 1
    return tuple(out)


def _room(p: Footage, room_seed: int) -> np.ndarray:
    rng = np.random.default_rng(room_seed)
    h, w = p.height_px, p.width_px
    img = np.empty((h, w, 3), np.uint8)
    img[:] = np.linspace(190, 120, h, dtype=np.uint8)[:, None, None]
    for i in range(3):  # windows, board
        x0 = int(w * (0.1 + 0.3 * i))
        cv2.rectangle(img, (x0, int(h * 0.04)), (x0 + int(w * 0.15), int(h * 0.18)), (230, 225, 205), -1)
    for _ in range(10):
        x, y = int(rng.integers(0, w - 60)), int(rng.integers(int(h * 0.2), h - 40))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(20, 80)), y + int(rng.integers(8, 30))),
                      tuple(int(c) for c in rng.integers(60, 200, 3)), -1)
    return img


def _seat(p: Footage, row: int, col: int) -> tuple[int, int, int]:
    """Head centre and head radius of a seat (row 0 at the back, small)."""
    r = int(p.height_px * (0.025 + 0.008 * row))
    y = int(p.height_px * (0.3 + 0.17 * row))
    span = p.width_px * (0.55 + 0.1 * row)
    x = int(p.width_px * 0.55 - span / 2 + span * (col + 0.5) / p.cols)
    return x, y, r


def render_frame(p: Footage, room: np.ndarray, t: float, session_seed: int, length_s: float,
                 blanks: Sequence[tuple[float, float, str]] = ()) -> np.ndarray:
    img = room.copy()
    s = session_seed
    for row in range(p.rows):
        for col in range(p.cols):
            key = f"{row}.{col}"
            x, y, r = _seat(p, row, col)
            colour = tuple(int(40 + 170 * _u("shirt", row, col, c)) for c in range(3))  # same person, any session
            up = p.activity >= 1 and any(a <= t < b for a, b in _events(f"{s}/{key}/stand", length_s, 0.05, 20, 90))
            down = p.activity > 0 and any(a <= t < b for a, b in _events(f"{s}/{key}/down", length_s, 0.6 * p.activity, 5, 50))
            dx = int(round(0.5 * p.activity * r * _smooth(f"{s}/{key}/x", t, 3.0 + 4 * _u(key, "kx"))))
            dy = -int(2.2 * r) if up else int(round(0.25 * p.activity * r * _smooth(f"{s}/{key}/y", t, 5.0)))
            cv2.ellipse(img, (x + dx, y + dy + int(1.7 * r)), (int(1.5 * r), int(1.1 * r)), 0, 180, 360, colour, -1)
            head = (45, 50, 60) if down else (120, 150, 200)
            cv2.circle(img, (x + dx, y + dy + (r // 2 if down else 0)), r, head, -1)
    if p.teacher:
        _teacher(img, p, t, s)
    gain = 1.0 + 0.08 * _smooth(f"{s}/light", t, 300.0)
    img = cv2.convertScaleAbs(img, alpha=gain)
    for a, b, kind in blanks:
        if a <= t < b:
            img = cover(img, kind)
    return img


def _teacher(img: np.ndarray, p: Footage, t: float, s: int) -> None:
    """The teacher walks between random spots at the front."""
    leg = math.floor(t / 12.0)
    ax, bx = (0.08 + 0.84 * _u(s, "teacher", k) for k in (leg, leg + 1))
    w = min(1.0, (t / 12.0 - leg) * 2.5)
    tx = int(p.width_px * (ax + (bx - ax) * w))
    cv2.ellipse(img, (tx, int(p.height_px * 0.92)), (26, 48), 0, 0, 360, (50, 60, 140), -1)
    cv2.circle(img, (tx, int(p.height_px * 0.78)), 15, (120, 150, 200), -1)


def cover(img: np.ndarray, kind: str) -> np.ndarray:
    """'black' (signal lost), 'covered' (lens taped: flat grey), 'hand' (a hand or paper over most of
    the lens: 80% of the frame dark and featureless, a strip of the room still visible)."""
    if kind == "black":
        return np.full_like(img, 6)
    if kind == "covered":
        return np.full_like(img, 70)
    if kind == "hand":
        out = img.copy()
        h, w = img.shape[:2]
        pts = np.array([[0, 0], [int(w * 0.85), 0], [int(w * 0.75), int(h * 0.6)], [int(w * 0.9), h], [0, h]])
        cv2.fillPoly(out, [pts], (28, 34, 44))
        return out
    raise ValueError(f"cover kind: expected black, covered or hand, found {kind!r}")


def render(path: Path, seconds: float, session_seed: int, *, room_seed: int = 1, start_s: float = 0.0,
           p: Footage = Footage(), blanks: Sequence[tuple[float, float, str]] = (),
           frozen: Sequence[tuple[float, float]] = (), length_s: float = 3600.0) -> Path:
    """`seconds` of session `session_seed` from `start_s` (session time) into `path` (H.264 MP4).
    `blanks` (session-time start, end, kind) cover the lens; `frozen` (start, end) repeat the picture
    of `start` (an NVR repeating its last frame while its clock runs on)."""
    room = _room(p, room_seed)
    rng = np.random.default_rng(session_seed * 7919 + int(start_s))
    held: dict[float, np.ndarray] = {}

    def frames() -> Iterable[np.ndarray]:
        for k in range(int(round(seconds * p.fps))):
            t = start_s + k / p.fps
            still = next(((a, b) for a, b in frozen if a <= t < b), None)
            if still is not None:
                if still[0] not in held:
                    held[still[0]] = render_frame(p, room, still[0], session_seed, length_s, blanks)
                img = held[still[0]]  # the NVR repeats the bytes: no fresh noise
            else:
                img = render_frame(p, room, t, session_seed, length_s, blanks).astype(np.float32)
                img += rng.normal(0, p.noise, img.shape[:2])[..., None].astype(np.float32)
                img = np.clip(img, 0, 255).astype(np.uint8)
            yield _clock(img, t) if p.osd_clock else img

    gop = max(1, int(round(p.gop_s * p.fps)))
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{p.width_px}x{p.height_px}",
           "-r", f"{p.fps:g}", "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-crf", str(p.crf),
           "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-threads", "1",
           str(path)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    try:
        for frame in frames():
            proc.stdin.write(frame.tobytes())
    finally:
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed writing {path}")
    return Path(path)


def _clock(img: np.ndarray, t: float) -> np.ndarray:
    """The NVR's date and time (session time `t` after 08:30:00) in white on the top left, as recorders
    draw it: inside the top tenth of the frame."""
    out = img.copy()
    h = img.shape[0]
    when = 8 * 3600 + 30 * 60 + int(t)
    text = f"2024-10-08 {when // 3600:02d}:{when // 60 % 60:02d}:{when % 60:02d}"
    scale = h / 500
    cv2.putText(out, text, (4, max(6, int(h * 0.08))), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                max(1, round(h / 300)), cv2.LINE_AA)
    return out


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def reencode(src: Path, dst: Path, *, trim_start_s: float = 0.0, duration_s: float | None = None,
             width_px: int | None = None, fps: float | None = None, gop_s: float = 4.0, bitrate: str | None = None,
             crf: int = 32, brightness: float = 0.0) -> Path:
    """Another encoder's copy: cut `trim_start_s` into the source (and to `duration_s`), scaled, other
    frame rate, GOP and bitrate (or crf), optionally brightened."""
    filters = []
    if width_px:
        filters.append(f"scale={width_px}:-2")
    if fps:
        filters.append(f"fps={fps:g}")
    if brightness:
        filters.append(f"eq=brightness={brightness:g}")
    rate = fps or 25.0
    cut = ["-ss", f"{trim_start_s:g}"] if trim_start_s else []
    length = ["-t", f"{duration_s:g}"] if duration_s else []
    quality = ["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate] if bitrate else ["-crf", str(crf)]
    _ffmpeg(*cut, "-i", str(src), *length, *(["-vf", ",".join(filters)] if filters else []), "-c:v", "libx264",
            "-preset", "ultrafast", *quality, "-g", str(max(1, int(round(gop_s * rate)))), "-sc_threshold", "0",
            "-pix_fmt", "yuv420p", "-threads", "1", str(dst))
    return Path(dst)


def remux(src: Path, dst: Path) -> Path:
    """The same packets in another container (.mkv, .ts, .mov)."""
    _ffmpeg("-i", str(src), "-c", "copy", str(dst))
    return Path(dst)


def embed(inner: Path, before: Path | None, after: Path | None, dst: Path, *, width_px: int, fps: float,
          gop_s: float = 2.0, crf: int = 28) -> Path:
    """`before` + `inner` + `after` as one re-encoded file (a reused segment inside a longer recording)."""
    parts = [p for p in (before, inner, after) if p is not None]
    inputs = [a for p in parts for a in ("-i", str(p))]
    chains = "".join(f"[{i}:v]scale={width_px}:-2,fps={fps:g},setsar=1[v{i}];" for i in range(len(parts)))
    graph = chains + "".join(f"[v{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=1:a=0[out]"
    _ffmpeg(*inputs, "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-preset", "ultrafast",
            "-crf", str(crf), "-g", str(max(1, int(round(gop_s * fps)))), "-sc_threshold", "0",
            "-pix_fmt", "yuv420p", "-threads", "1", str(dst))
    return Path(dst)


def to_dav(src: Path, dst: Path, start, *, fps: float | None = None) -> Path:
    """Rewrite an H.264 recording as a Dahua DHAV stream (`.dav`, what Dahua NVRs export; ffmpeg reads it
    with its dhav demuxer, it has no muxer): one chunk per access unit, "DHAV" + type (0xfd keyframe,
    0xfc other) + frame number + chunk length + the wall-clock second packed in 32 bits + a millisecond
    counter + extensions (size, codec, frame rate), the Annex B payload, then "dhav" + the chunk length.
    `start` (a datetime) is the recording's wall-clock start, as the NVR stamps it."""
    import datetime as dt
    import struct
    import tempfile

    import av

    with tempfile.TemporaryDirectory() as tmp:
        annexb = Path(tmp) / "stream.h264"
        _ffmpeg("-i", str(src), "-an", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", str(annexb))
        with av.open(str(src)) as probe:
            stream = probe.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = fps or float(stream.average_rate or 25)
        with av.open(str(annexb), format="h264") as container, open(dst, "wb") as out:
            for n, packet in enumerate(container.demux(container.streams.video[0])):
                payload = bytes(packet)
                if not payload:
                    continue
                when = start + dt.timedelta(seconds=n / rate)
                date = (when.second | when.minute << 6 | when.hour << 12 | when.day << 17 | when.month << 22
                        | (when.year - 2000) << 26)
                ms = int(round(n * 1000 / rate)) % 65536
                ext = bytes([0x80, 0, width // 8, height // 8, 0x81, 0, 0x02, int(round(rate))])
                header_len, key = 24 + len(ext), packet.is_keyframe
                length = header_len + len(payload) + 8
                out.write(b"DHAV" + bytes([0xFD if key else 0xFC, 0, 0, 0]) + struct.pack("<III", n, length, date)
                          + struct.pack("<HBB", ms, len(ext), 0) + ext + payload + b"dhav" + struct.pack("<I", length))
    return Path(dst)
