"""probe_recording on healthy, truncated, jumping and hostile files: never a crash or a hang."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
from pathlib import Path

import pytest

from pipeline.video.probe import probe_recording
from test_video_media import class_video


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("probe")
    plain = class_video(d / "R201-A_20241008083000.mp4", 20)
    fast = class_video(d / "faststart.mp4", 20, args=["-movflags", "+faststart"])
    out = {"plain": plain, "faststart": fast}
    for name, src in (("cut_faststart", fast), ("cut_plain", plain)):
        data = src.read_bytes()
        (d / f"{name}.mp4").write_bytes(data[: int(len(data) * 0.6)])
        out[name] = d / f"{name}.mp4"
    out["jump"] = d / "jump.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(plain), "-vf", "setpts='PTS+gte(T,10)*30/TB'",
                    "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", str(out["jump"])], check=True)
    out["jump_ts"] = d / "jump.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(out["jump"]), "-c", "copy", str(out["jump_ts"])], check=True)
    out["ts"] = d / "nvr.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(plain), "-c", "copy", "-output_ts_offset", "1000",
                    str(out["ts"])], check=True)
    (d / "empty.mp4").write_bytes(b"")
    out["empty"] = d / "empty.mp4"
    (d / "notes.mp4").write_text("这不是视频 / this is a text file\n" * 50, encoding="utf-8")
    out["text"] = d / "notes.mp4"
    # seeded: a few random byte strings look like a one-packet stream to ffprobe, so never draw anew
    (d / "noise.mp4").write_bytes(random.Random(20241008).randbytes(200_000))
    out["random"] = d / "noise.mp4"
    out["missing"] = d / "gone.mp4"
    os.mkfifo(d / "fifo.mp4")
    out["fifo"] = d / "fifo.mp4"
    return out


def test_healthy_file_is_described_fully(media):
    r = probe_recording(media["plain"], timeout_s=30)
    assert r.readable and r.error is None and not r.truncated
    assert (r.codec, r.width, r.height) == ("h264", 320, 240)
    assert r.fps == pytest.approx(10.0)
    assert r.duration_s == pytest.approx(20.0, abs=0.2) and r.footage_s == pytest.approx(20.0, abs=0.2)
    assert r.packets == 200 and r.timestamp_jumps == () and r.timestamps_from == "index"
    assert r.sha256 == hashlib.sha256(media["plain"].read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "name, words",
    [
        ("cut_faststart", "truncated: the file claims 20.0 s but its video stops after"),
        ("cut_plain", "index (moov atom) is missing"),
        ("empty", "file is empty (0 bytes)"),
        ("text", "not a video file ffmpeg can read"),
        ("random", "not a video file ffmpeg can read"),
        ("missing", "file cannot be accessed"),
        ("fifo", "not a regular file"),
    ],
)
def test_bad_files_are_unreadable_with_a_plain_reason(media, name, words):
    r = probe_recording(media[name], timeout_s=30)
    assert not r.readable
    assert words in r.error


def test_truncated_faststart_keeps_what_is_there(media):
    r = probe_recording(media["cut_faststart"], timeout_s=30)
    assert r.truncated and r.duration_s == pytest.approx(20.0, abs=0.2)
    assert 5.0 < r.footage_s < 16.0  # 60% of the bytes, a bit of it lost to the index at the front


@pytest.mark.parametrize("name", ["jump", "jump_ts"])
def test_timestamp_jump_is_located(media, name):
    r = probe_recording(media[name], timeout_s=30)
    assert r.readable
    assert len(r.timestamp_jumps) == 1
    offset_s, jump_s = r.timestamp_jumps[0]
    assert offset_s == pytest.approx(10.0, abs=0.5) and jump_s == pytest.approx(30.0, abs=0.5)


def test_mpegts_start_offset_is_reported(media):
    r = probe_recording(media["ts"], timeout_s=30)
    assert r.readable and r.container_start_s == pytest.approx(1000.0, abs=2.0)
    assert r.footage_s == pytest.approx(20.0, abs=0.3) and r.timestamp_jumps == ()
    assert r.timestamps_from == "packets"  # no frame index in MPEG-TS: the packets are listed


def test_timeout_is_a_result_not_a_hang(media):
    r = probe_recording(media["plain"], timeout_s=0.001)
    assert not r.readable and "did not finish within" in r.error
