"""Nightly runs that decode video: the per-recording analysis cache spares unchanged videos, and a corrupt
cache entry is detected and rebuilt, never trusted. Tiny ffmpeg test-pattern clips keep it fast."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ClassWriter
from pipeline.nightly import NightlyOptions, run_nightly
from test_nightly import A, B, SAME_INSTITUTION, assert_same_tables, tables

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def clip(path: Path, seconds: int = 20, pattern: str = "testsrc") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"{pattern}=size=160x120:rate=5", "-t", str(seconds), "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return path


def video_archive(root: Path) -> Path:
    ClassWriter(root, A, SAME_INSTITUTION).default()
    clip(root / A / "recordings" / "R201_20241008083000.mp4")
    ClassWriter(root, B, "370900-0033").default()
    clip(root / B / "recordings" / "R201_20241008133000.mp4", pattern="smptebars")
    return root


def run(root: Path, out: Path, **options):
    return run_nightly(root, out, NightlyOptions(workers=1, **options))


def entries(out: Path) -> dict[str, Path]:
    found = sorted((out / ".trainaudit-cache" / "recordings").rglob("*.analysis"))
    return {p.name: p for p in found}


def checksum_ok(path: Path) -> bool:
    with open(path, "rb") as handle:
        header = json.loads(handle.readline())
        return hashlib.sha256(handle.read()).hexdigest() == header["sha256"]


def test_unchanged_videos_come_from_the_cache_and_a_corrupt_entry_is_rebuilt(tmp_path):
    root, out = video_archive(tmp_path / "archive"), tmp_path / "out"
    first = run(root, out)
    assert sorted(first.audited) == [A, B]
    cached = entries(out)
    assert len(cached) == 2 and all(checksum_ok(p) for p in cached.values())
    inodes = {name: p.stat().st_ino for name, p in cached.items()}
    assert (tables(out)["recordings"]["readable"] == "True").all()

    # A changed class (not its video): everything is re-evaluated, no video decoded again.
    roster = root / B / "roster.csv"
    roster.write_bytes(roster.read_bytes() + "S004,钱六,370902199404044567,初训,\n".encode("gb18030"))
    second = run(root, out)
    assert second.audited == [B]
    assert {name: p.stat().st_ino for name, p in entries(out).items()} == inodes  # hits, not rewritten

    # Flip one byte inside A's entry: the checksum catches it, the entry is rebuilt, the outputs are the same.
    victim = next(p for p in cached.values() if p.name.startswith(_sha(root / A / "recordings")))
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    assert not checksum_ok(victim)
    before = tables(out)
    run(root, out, force=True)
    rebuilt = entries(out)[victim.name]
    # The damaged bytes are gone: the entry was rewritten (a freed inode number may be reused, so the
    # content is what tells).
    assert checksum_ok(rebuilt) and rebuilt.read_bytes() != bytes(data)
    untouched = next(name for name in inodes if name != victim.name)
    assert entries(out)[untouched].stat().st_ino == inodes[untouched]
    after = tables(out)
    for name, frame in before.items():
        assert after[name].equals(frame), name

    clean = tmp_path / "clean"
    run(root, clean)
    assert_same_tables(out, clean)


def _sha(folder: Path) -> str:
    (video,) = folder.glob("*.mp4")
    return hashlib.sha256(video.read_bytes()).hexdigest()
