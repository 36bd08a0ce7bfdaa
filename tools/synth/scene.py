"""Classroom footage: a drawn room, pasted face photos, H.264 through ffmpeg.

The camera hangs above the board and looks at the trainees: back rows at the top of the frame with small
faces, front rows larger, the teacher standing at the front left. Frames are drawn at a low rate (the
auditor samples every few seconds) with real timestamps; ffmpeg is run single-threaded with bit-exact
flags so that the same world gives the same bytes.
"""
from __future__ import annotations

import hashlib
import math
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from tools.synth.world import ClassWorld, RecordingPlan


@dataclass(frozen=True)
class VideoParams:
    width_px: int = 1280
    height_px: int = 720
    fps: float = 1.0
    gop_frames: int = 60
    crf: int = 30
    # face widths per seat row, back to front; RULES/issue: classroom faces are 25-80 px
    row_face_px: tuple[int, ...] = (30, 38, 48, 60)
    seats_per_row: int = 4
    teacher_face_px: int = 76
    # Faces that are not people (issue 14), off by default (sample_data is unchanged): a poster on the back
    # wall showing `poster_photo`'s face, never moving; a TV on the back wall showing `screen_photo`'s face
    # on a video call (it moves like a person, inside the TV's unbroken bezel). Photo paths, or None.
    poster_photo: str | None = None
    screen_photo: str | None = None
    picture_face_px: int = 44


@lru_cache(maxsize=256)
def face_chip(path: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The photo cropped around its largest face (box expanded), and the face box inside the crop."""
    from pipeline.faces.adapter import detect_faces
    from pipeline.faces.params import FaceParams

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: not an image")
    dets = detect_faces(img, FaceParams(min_face_px=20))
    if len(dets):
        # the subject: of the faces at least half the largest one's area, the one nearest the centre (real
        # photos, e.g. LFW, show other people beside the subject; a single face is simply taken)
        area = dets.boxes_xywh[:, 2] * dets.boxes_xywh[:, 3]
        centre = dets.boxes_xywh[:, :2] + dets.boxes_xywh[:, 2:] / 2
        off = np.linalg.norm(centre - [img.shape[1] / 2, img.shape[0] / 2], axis=1)
        pick = int(np.argmin(np.where(area >= 0.5 * area.max(), off, np.inf)))
        x, y, w, h = (int(v) for v in dets.boxes_xywh[pick])
    else:  # aligned face chips: the face fills the middle of the image
        H, W = img.shape[:2]
        x, y, w, h = int(W * 0.2), int(H * 0.2), int(W * 0.6), int(H * 0.65)
    half = int(0.5 * max(w, h) + 0.55 * max(w, h))
    pad = half + 2  # a face at the photo's edge still gets a whole crop
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    cx, cy = x + w // 2 + pad, y + h // 2 + pad
    crop = big[cy - half:cy + half, cx - half:cx + half]
    return crop, (half - w // 2, half - h // 2, w, h)


@lru_cache(maxsize=512)
def _scaled(path: str, face_px: int) -> tuple[np.ndarray, np.ndarray]:
    crop, (_, _, w, _) = face_chip(path)
    k = face_px / w
    side = max(8, int(round(crop.shape[0] * k)))
    img = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side - 0.5
    mask = np.clip((0.5 - np.sqrt((xx / 0.62) ** 2 + (yy / 0.8) ** 2)) * 10, 0, 1)[..., None]
    return img.astype(np.float32), mask.astype(np.float32)


def _background(p: VideoParams, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h, w = p.height_px, p.width_px
    bg = np.zeros((h, w, 3), np.uint8)
    bg[:] = (196, 206, 214)  # wall
    bg[int(h * 0.38):] = (120, 130, 140)  # floor
    cv2.rectangle(bg, (0, int(h * 0.36)), (w, int(h * 0.38)), (90, 100, 110), -1)
    for i in range(3):  # windows on the back wall
        x0 = int(w * (0.12 + 0.3 * i))
        cv2.rectangle(bg, (x0, int(h * 0.05)), (x0 + int(w * 0.16), int(h * 0.22)), (235, 225, 200), -1)
        cv2.rectangle(bg, (x0, int(h * 0.05)), (x0 + int(w * 0.16), int(h * 0.22)), (80, 80, 80), 3)
    # a fixed plaster texture: static, so it costs nothing after the first key frame
    noise = cv2.GaussianBlur(rng.normal(0, 6, bg.shape[:2]).astype(np.float32), (0, 0), 3)[..., None]
    bg = np.clip(bg + noise, 0, 255).astype(np.uint8)
    if p.poster_photo:
        _poster(bg, p)
    return bg


POSTER_XY = (0.35, 0.12)  # centres, as shares of the frame: on the back wall between the windows
SCREEN_XY = (0.65, 0.12)


def _poster(bg: np.ndarray, p: VideoParams) -> None:
    """A framed poster with a face, painted into the static background (it never moves)."""
    h, w = bg.shape[:2]
    cx, cy = int(w * POSTER_XY[0]), int(h * POSTER_XY[1])
    f = p.picture_face_px
    cv2.rectangle(bg, (cx - f, cy - int(1.3 * f)), (cx + f, cy + int(1.5 * f)), (225, 215, 190), -1)
    cv2.rectangle(bg, (cx - f, cy - int(1.3 * f)), (cx + f, cy + int(1.5 * f)), (60, 50, 40), 3)
    img, mask = _scaled(p.poster_photo, f)
    _paste(bg, img, mask, cx, cy)


def _screen(frame: np.ndarray, p: VideoParams, x: float) -> None:
    """A TV on the wall: black bezel, a lit picture, a face on a video call that sways and nods."""
    h, w = frame.shape[:2]
    cx, cy = int(w * SCREEN_XY[0]), int(h * SCREEN_XY[1])
    f = p.picture_face_px
    cv2.rectangle(frame, (cx - int(1.6 * f), cy - int(1.2 * f)), (cx + int(1.6 * f), cy + int(1.4 * f)), (25, 25, 25), -1)
    cv2.rectangle(frame, (cx - int(1.6 * f) + 6, cy - int(1.2 * f) + 6), (cx + int(1.6 * f) - 6, cy + int(1.4 * f) - 6),
                  (205, 215, 225), -1)
    dx = int(round(0.15 * f * _wiggle("screen/x", x, 13.0)))
    dy = int(round(0.1 * f * _wiggle("screen/y", x, 19.0)))
    img, mask = _scaled(p.screen_photo, f)
    _paste(frame, img, mask, cx + dx, cy + dy)


def seat_xy(p: VideoParams, seat: int) -> tuple[int, int, int]:
    """Face centre and face width of a seat (row 0 is the back row)."""
    row, col = divmod(seat, p.seats_per_row)
    row = min(row, len(p.row_face_px) - 1)
    face = p.row_face_px[row]
    y = int(p.height_px * (0.22 + 0.2 * row))
    span = p.width_px * (0.5 + 0.12 * row)
    x = int(p.width_px * 0.58 - span / 2 + span * (col + 0.5) / p.seats_per_row)
    return x, y, face


def seat_of(world: ClassWorld, key: str, session_id: str, p: VideoParams) -> int:
    """The seat a person takes in a session: people take other seats each session (and the auditor must not
    read two sessions as one footage)."""
    n_seats = len(p.row_face_px) * p.seats_per_row
    shift = int(hashlib.sha256(session_id.encode()).hexdigest()[:8], 16) % n_seats
    return (world.seats[key] + shift) % n_seats


def _paste(frame: np.ndarray, img: np.ndarray, mask: np.ndarray, cx: int, cy: int) -> None:
    s = img.shape[0]
    x0, y0 = cx - s // 2, cy - s // 2
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(frame.shape[1], x0 + s), min(frame.shape[0], y0 + s)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    sub = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    a = mask[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    frame[fy0:fy1, fx0:fx1] = (sub * (1 - a) + img[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0] * a).astype(np.uint8)


def _colour(key: str) -> tuple[int, int, int]:
    d = hashlib.sha256(key.encode()).digest()
    return (40 + d[0] % 160, 40 + d[1] % 160, 40 + d[2] % 160)


def _person(frame, key: str, photo: str, cx: int, cy: int, face: int, down: bool) -> None:
    cv2.ellipse(frame, (cx, cy + int(1.6 * face)), (int(0.95 * face), int(0.9 * face)), 0, 180, 360,
                _colour(key), -1)  # shoulders
    if down:  # looking down: the top of the head, no face
        cv2.ellipse(frame, (cx, cy + face // 6), (int(0.5 * face), int(0.45 * face)), 0, 0, 360, (40, 45, 55), -1)
    else:
        img, mask = _scaled(photo, face)
        _paste(frame, img, mask, cx, cy)


def _desks(frame, p: VideoParams) -> None:
    for row, face in enumerate(p.row_face_px):
        y = int(p.height_px * (0.22 + 0.2 * row)) + int(1.5 * face)
        span = p.width_px * (0.5 + 0.12 * row)
        x0 = int(p.width_px * 0.58 - span / 2)
        cv2.rectangle(frame, (x0, y), (int(x0 + span), y + int(0.5 * face)), (60, 90, 130), -1)


def _photo_for(world: ClassWorld, key: str, session_id: str) -> str:
    person = world.person(key)
    photos = person.video_photos or ((person.enroll_photo,) if person.enroll_photo else ())
    k = int(hashlib.sha256(f"{key}/{session_id}".encode()).hexdigest(), 16) % len(photos)
    return str(photos[k])


def _wiggle(key: str, x: float, knot_s: float) -> float:
    """Smooth, aperiodic motion in [-1, 1]: seeded values every `knot_s` seconds, linearly joined. Periodic
    motion (sines) repeats itself at some lag in every recording, which the reuse detector rightly reads as
    the same footage shown twice; real classrooms do not repeat."""
    i = math.floor(x / knot_s)
    a, b = (int(hashlib.sha256(f"{key}/{j}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF * 2 - 1 for j in (i, i + 1))
    w = x / knot_s - i
    return a + (b - a) * w


def render_frame(world: ClassWorld, rec: RecordingPlan, base: np.ndarray, t_s: float, p: VideoParams) -> np.ndarray:
    frame = base.copy()
    if any(a <= t_s < b for a, b in rec.blanks):
        frame[:] = 8  # lens covered
        return frame
    s = world.session(rec.session_id)
    x = (rec.start - s.start_dt()).total_seconds() + t_s
    if p.screen_photo:
        _screen(frame, p, x + 1000.0 * int(hashlib.sha256(s.session_id.encode()).hexdigest()[:4], 16))
    present = {k for (k, sid), iv in world.presence.items() if sid == s.session_id and any(a <= x < b for a, b in iv)}
    order = sorted((seat_of(world, k, s.session_id, p), k) for k in present if k in world.seats)
    for seat, k in order:
        cx, cy, face = seat_xy(p, seat)
        # people sway a little (a still picture reads as frozen footage to the auditor)
        cx += int(round(0.08 * face * _wiggle(f"{s.session_id}/{k}/x", x, 17.0)))
        cy += int(round(0.04 * face * _wiggle(f"{s.session_id}/{k}/y", x, 23.0)))
        down = any(a <= x < b for a, b in world.look_down.get((k, s.session_id), []))
        _person(frame, k, _photo_for(world, k, s.session_id), cx, cy, face, down)
    _desks(frame, p)
    if rec.teacher_on_video and rec.teacher_on_video in present:
        tx = int(p.width_px * (0.12 + 0.06 * _wiggle(f"{s.session_id}/teacher", x, 40.0)))  # paces at the front
        _person(frame, rec.teacher_on_video, _photo_for(world, rec.teacher_on_video, s.session_id), tx,
                int(p.height_px * 0.5), p.teacher_face_px, False)
    # slow lighting drift (clouds, lamps): +-12% over tens of minutes
    # stepped once a minute: a gain change re-codes the whole frame, so it must not happen every frame
    # (on the encoder's 60 s keyframes it costs nothing)
    xm = 60.0 * math.floor(x / 60.0)
    gain = 1.0 + 0.12 * _wiggle(f"{s.session_id}/light", xm, 600.0)
    return cv2.convertScaleAbs(frame, alpha=gain)


def encode(world: ClassWorld, rec: RecordingPlan, out: Path, p: VideoParams, seed: int) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    base = _background(p, seed)
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
           "-s", f"{p.width_px}x{p.height_px}", "-r", f"{p.fps:g}", "-i", "-", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", str(p.crf), "-g", str(p.gop_frames), "-pix_fmt", "yuv420p",
           "-threads", "1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
           "-movflags", "+faststart", str(out)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    try:
        for i in range(int(rec.duration_s * p.fps)):
            proc.stdin.write(render_frame(world, rec, base, i / p.fps, p).tobytes())
    finally:
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed writing {out}")
