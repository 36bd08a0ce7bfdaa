"""Nightly runs over a synthetic archive: what an unchanged night, a changed spreadsheet and a new class
with a new video cost, against a clean full audit measured in the same run (the baseline).

    .venv/bin/python benchmarks/bench_nightly.py [--classes 8] [--clip-s 60] [--plain-classes 200]

Classes are tests/conftest.py ClassWriter folders, each with one ffmpeg test-pattern clip (160x120,
5 fps); `--plain-classes` more classes without video show how skipping scales with the class count.
Prints a table and writes benchmarks/results/nightly.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import ClassWriter  # noqa: E402
from pipeline.nightly import NightlyOptions, run_nightly  # noqa: E402


def clip(path: Path, seconds: int, pattern: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=size=160x120:rate=5",
                    "-t", str(seconds), "-pix_fmt", "yuv420p", str(path)], check=True)


PATTERNS = ("testsrc", "smptebars", "testsrc2", "rgbtestsrc", "mandelbrot", "life")


def video_class(root: Path, i: int, clip_s: int) -> Path:
    writer = ClassWriter(root, f"TA2024-BN-{i:03d}", f"3709{i:02d}-0001").default()
    clip(writer.folder / "recordings" / "R201_20241008083000.mp4", clip_s, PATTERNS[i % len(PATTERNS)])
    return writer.folder


def timed(label: str, root: Path, out: Path, rows: list, **options) -> None:
    started = time.perf_counter()
    result = run_nightly(root, out, NightlyOptions(workers=1, **options))
    wall = time.perf_counter() - started
    rows.append((label, wall, result.timings_s.get("stamp_s", 0.0), result.timings_s.get("audit_s", 0.0),
                 len(result.audited), len(result.plan.unchanged), result.hashed_bytes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--clip-s", type=int, default=60)
    parser.add_argument("--plain-classes", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    rows: list = []
    try:
        root = work / "archive"
        for i in range(args.classes):
            video_class(root, i, args.clip_s)
        timed("baseline: clean full audit (fresh OUT, cold cache)", root, work / "baseline", rows)
        out = work / "out"
        timed("first nightly run (cold)", root, out, rows)
        timed("unchanged night", root, out, rows)
        roster = root / "TA2024-BN-000" / "roster.csv"
        roster.write_bytes(roster.read_bytes() + "S004,钱六,370902199404044567,初训,\n".encode("gb18030"))
        timed("one roster changed", root, out, rows)
        video_class(root, args.classes, args.clip_s)
        timed("one new class with a new video", root, out, rows)

        plain = work / "plain"
        for i in range(args.plain_classes):
            ClassWriter(plain, f"TA2024-PL-{i:04d}", f"3709{i % 50:02d}-0002").default()
        plain_out = work / "plain-out"
        timed(f"{args.plain_classes} classes, no video: first run", plain, plain_out, rows, analyse_video=False)
        timed(f"{args.plain_classes} classes, no video: unchanged night", plain, plain_out, rows,
              analyse_video=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    baseline = rows[0][1]
    lines = [f"# Nightly runs ({platform.node()}, {platform.processor() or platform.machine()}, "
             f"{args.classes} classes x {args.clip_s} s clip, workers=1)", "",
             "| run | wall s | stamp s | audit s | audited | skipped | bytes hashed | wall / baseline |",
             "|---|---|---|---|---|---|---|---|"]
    for label, wall, stamp, audit, audited, skipped, hashed in rows:
        lines.append(f"| {label} | {wall:.2f} | {stamp:.3f} | {audit:.2f} | {audited} | {skipped} | {hashed} | "
                     f"{wall / baseline:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    results = REPO / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "nightly.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
