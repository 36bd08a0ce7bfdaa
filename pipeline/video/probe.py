"""Probe one recording: what it is, whether it can be trusted, and its SHA-256.

ffprobe runs as a subprocess with a hard timeout, so a hostile or stalled file costs at most
`timeout_s` and never hangs or crashes the audit. Two calls: container/stream metadata (small
JSON), then the video packet list, which is what reveals truncation (a faststart MP4 cut short
still claims its full duration, but its last readable packet ends early) and timestamp jumps.
The SHA-256 is computed while the packet listing runs in its own process.

MP4/MOV files (what NVRs export) skip the packet listing: their index already holds every
frame's time, file position and size, so truncation (entries pointing past the end of the file)
and jumps are read from it in milliseconds instead of reading the whole file (about 1 s per hour
of 1080p). The index is only opened in-process after ffprobe has opened the same file within the
timeout.
"""

from __future__ import annotations

import json
import subprocess

import av
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from pipeline.ops.digest import sha256_bytes, sha256_file
from pipeline.video.params import VideoParams

# ffprobe's messages for the failures NVR exports actually show, in words an inspector can act on.
_PLAIN_ERRORS = (
    ("moov atom not found", "incomplete MP4: its index (moov atom) is missing, the export was cut off before it was finished"),
    ("Invalid data found when processing input", "not a video file ffmpeg can read (invalid data)"),
    ("partial file", "file ends before the data its index points to (truncated)"),
    ("No such file or directory", "file not found"),
    ("Permission denied", "file cannot be read (permission denied)"),
)


@dataclass(frozen=True)
class ProbeResult:
    path: Path
    readable: bool
    error: str | None  # plain-language reason when not readable, or warnings when readable
    size_bytes: int
    sha256: str | None
    duration_s: float | None  # as the container claims it
    footage_s: float | None  # first to last readable video packet (end of its frame)
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    container_start_s: float | None  # container start_time (MPEG-TS files rarely start at 0)
    creation_time: str | None  # the container's creation_time tag, as written (weak evidence)
    truncated: bool
    packets: int
    timestamps_from: str  # "index" (MP4/MOV frame index), "packets" (ffprobe packet listing) or "" (none read)
    # (offset_s from the first packet, jump_s): consecutive video timestamps jumping forward
    # (footage missing) or backward (negative jump_s) by more than the params' timestamp_jump_s.
    timestamp_jumps: tuple[tuple[float, float], ...]


_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid"}


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end is still text
            return False
    return b"\x00" not in head


def _content_error(path: Path, stderr: str) -> str:
    """ffprobe guesses MP4 from the name and says "moov atom not found" even for a text file:
    look at the first bytes before calling a file an unfinished MP4."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if "moov atom not found" in stderr and head[4:8] not in _MP4_BOXES:
        kind = "text" if _looks_like_text(head) else "unknown data"
        return f"not a video file ffmpeg can read: its content is {kind}, not MP4/MOV boxes"
    return _plain(stderr)


def _plain(stderr: str) -> str:
    text = stderr.strip()
    for needle, plain in _PLAIN_ERRORS:
        if needle in text:
            return f"{plain} [ffprobe: {needle}]"
    last = text.splitlines()[-1] if text else "no message"
    return f"ffprobe could not read it ({last[:200]})"


def _unreadable(path: Path, size: int, sha: str | None, error: str, **known) -> ProbeResult:
    base = dict(
        duration_s=None, footage_s=None, codec=None, width=None, height=None, fps=None,
        container_start_s=None, creation_time=None, truncated=False, packets=0, timestamp_jumps=(),
        timestamps_from="",
    )
    base.update(known)
    return ProbeResult(path=path, readable=False, error=error, size_bytes=size, sha256=sha, **base)


def failed_probe(path: Path, reason: str) -> ProbeResult:
    """The record of a file that could not be probed at all (a worker died on it, say)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return _unreadable(path, size, None, reason)


def _float(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None  # NaN -> None


def _rate(text: str | None) -> float | None:
    try:
        rate = Fraction(text) if text else None
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate else None


def _run(cmd: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, errors="replace")


def _metadata(path: Path, timeout_s: float) -> tuple[dict | None, str | None]:
    cmd = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    proc = _run(cmd, timeout_s)
    if proc.returncode != 0:
        return None, _content_error(path, proc.stderr)
    try:
        return json.loads(proc.stdout or "{}"), None
    except json.JSONDecodeError:
        return None, "ffprobe gave unparseable output"


def _packets_and_hash(path: Path, timeout_s: float, compute_sha256: bool) -> tuple[list[tuple[float | None, float | None, float | None]], str | None, str]:
    """Video packet (pts, dts, duration) list and SHA-256, hashed while ffprobe lists packets."""
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v:0",
           "-show_entries", "packet=pts_time,dts_time,duration_time", "-of", "csv=p=0", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    try:
        sha = sha256_file(path) if compute_sha256 else None
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    packets = []
    for line in out.splitlines():
        parts = line.split(",")
        if len(parts) >= 3:
            packets.append((_float(parts[0]), _float(parts[1]), _float(parts[2])))
    return packets, sha, err


def _index_packets(path: Path, size: int, meta: dict) -> list[tuple[None, float, float]] | None:
    """(None, dts_s, duration_s) of every indexed video frame whose bytes are in the file, or None
    when the container has no complete per-frame index (MPEG-TS, MKV cues hold keyframes only)."""
    if "mp4" not in meta.get("format", {}).get("format_name", ""):
        return None
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            entries = stream.index_entries
            base = float(stream.time_base)
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            frame_s = 1.0 / rate if rate > 0 else 0.04
            out = [(None, e.timestamp * base, frame_s) for e in entries if e.pos + e.size <= size]
    except (av.FFmpegError, OSError, ValueError):
        return None
    return out if out else None


def _jumps(packets, jump_s: float) -> tuple[tuple[float, float], ...]:
    stamps = [dts if dts is not None else pts for pts, dts, _ in packets]
    stamps = [t for t in stamps if t is not None]
    if len(stamps) < 2:
        return ()
    first = stamps[0]
    out = []
    for prev, cur in zip(stamps, stamps[1:]):
        step = cur - prev
        if abs(step) > jump_s:
            out.append((round(prev - first, 3), round(step, 3)))
    return tuple(out)


def probe_recording(
    path: Path, timeout_s: float, params: VideoParams | None = None, *, compute_sha256: bool = True,
    known_sha256: str | None = None,
) -> ProbeResult:
    """Probe `path`; never raises for a bad file (readable=False and a plain-language error instead).

    The SHA-256 reads every byte (about 2 s per hour of 4 Mbit/s 1080p, benchmarks/results/
    video_bench.md): a caller that already holds the hash for an unchanged file (same size and
    mtime) can pass compute_sha256=False and get sha256=None, or pass the hash as known_sha256 (the
    nightly manifest's, trusted by size, mtime, ctime and inode)."""
    params = params or VideoParams()
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return _unreadable(path, 0, None, f"file cannot be accessed ({exc.strerror or exc})")
    if not path.is_file():  # a FIFO or device would block the hash and ffprobe forever
        return _unreadable(path, 0, None, "not a regular file")
    if size == 0:
        return _unreadable(path, 0, sha256_bytes(b""), "file is empty (0 bytes)")
    try:
        meta, error = _metadata(path, timeout_s)
        if meta is None:
            return _unreadable(path, size, known_sha256 or (sha256_file(path) if compute_sha256 else None),
                               error or "unreadable")
        packets, source = _index_packets(path, size, meta), "index"
        if packets is not None:
            sha, packet_err = known_sha256 or (sha256_file(path) if compute_sha256 else None), ""
        else:
            packets, sha, packet_err = _packets_and_hash(path, timeout_s, compute_sha256 and not known_sha256)
            sha = known_sha256 or sha
            source = "packets"
    except subprocess.TimeoutExpired:
        return _unreadable(path, size, None, f"ffprobe did not finish within {timeout_s:g} s (damaged file or stalled storage)")
    except OSError as exc:
        return _unreadable(path, size, None, f"file cannot be read ({exc.strerror or exc})")
    return _assemble(path, size, sha, meta, packets, packet_err, source, params)


def decode_budget_s(probe: ProbeResult, params: VideoParams) -> float:
    """Seconds the decode pass of one recording may take: the fixed part plus the ratio times its length,
    the length bounded by what the file's real size can hold, so a lying header cannot buy hours."""
    length_s = probe.footage_s or probe.duration_s or 0.0
    length_s = min(length_s, probe.size_bytes / params.min_bytes_per_s)
    return params.scan_timeout_min_s + params.scan_timeout_ratio * length_s


def _assemble(path, size, sha, meta, packets, packet_err, source: str, params: VideoParams) -> ProbeResult:
    fmt = meta.get("format", {})
    video = next((s for s in meta.get("streams", []) if s.get("codec_type") == "video"), None)
    tags = {k.lower(): v for k, v in (fmt.get("tags") or {}).items()}
    known = dict(
        duration_s=_float(fmt.get("duration")),
        container_start_s=_float(fmt.get("start_time")),
        creation_time=tags.get("creation_time"),
    )
    if video is None:
        return _unreadable(path, size, sha, "no video stream in the file", **known)
    if str(fmt.get("format_name", "")).endswith("_pipe") or fmt.get("format_name") == "image2":
        return _unreadable(path, size, sha, f"a still image ({fmt.get('format_name')}), not a video", **known)
    claims = [c for c in (known["duration_s"], _float(video.get("duration"))) if c is not None]
    if claims and max(claims) * params.min_bytes_per_s > size:
        return _unreadable(
            path, size, sha, f"the header claims {max(claims):,.0f} s of video but the file holds only {size:,} "
            f"bytes (at least {max(claims) * params.min_bytes_per_s:,.0f} needed): a damaged or forged header",
            **known)
    known.update(
        codec=video.get("codec_name"),
        width=video.get("width"),
        height=video.get("height"),
        fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
        packets=len(packets),
        timestamps_from=source,
    )
    if not packets:
        return _unreadable(path, size, sha, "no video frames can be read " + (_plain(packet_err) if packet_err.strip() else ""), **known)
    starts = [pts if pts is not None else dts for pts, dts, _ in packets]
    ends = [(t + (d or 0.0)) for t, (_, _, d) in zip(starts, packets) if t is not None]
    starts = [t for t in starts if t is not None]
    footage = (max(ends) - min(starts)) if starts else None
    known.update(footage_s=footage, timestamp_jumps=_jumps(packets, params.timestamp_jump_s))
    claimed = _float(video.get("duration")) or known["duration_s"]
    if claimed is not None and footage is not None and claimed - footage > params.truncation_tolerance_s:
        return _unreadable(
            path, size, sha,
            f"truncated: the file claims {claimed:.1f} s but its video stops after {footage:.1f} s",
            truncated=True, **known,
        )
    warnings = _plain(packet_err) if packet_err.strip() else None
    return ProbeResult(path=path, readable=True, error=warnings, size_bytes=size, sha256=sha, truncated=False, **known)
