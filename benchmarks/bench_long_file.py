"""One long recording on one worker and on several (time chunks, issue 19), and the tree's memory.

    .venv/bin/python benchmarks/bench_long_file.py [--work DIR] [--hours 3] [--width 960 --height 540]
        [--memory-archive DIR --memory-workers 2 8 [--before REV]]

Generates a class with a single recording of --hours (one camera, the generated classroom with faces from
../shared/data identities, linked, never copied; a low resolution keeps it cheap: what is measured is the
ratio), then audits it from scratch with `--workers 1` (the whole file in one pass) and `--workers 2`
(chunks of `video.chunk_s` on both workers). Every process computes on one thread (OMP_NUM_THREADS=1, the
pipeline's layout). Reports wall, CPU (user + system of the process tree) and the ratio of the walls.

With --memory-archive (an archive, e.g. bench_cpu_per_hour.py's 1080p class), audits it with each of
--memory-workers and reports the peak of the tree's summed RSS and PSS (benchmarks/proctree.py); chunks of
--memory-chunk-s keep every worker busy there. Writes benchmarks/results/long_file.md (with --skip-long,
the memory table alone to benchmarks/results/memory_per_worker.md). With --before REV, each worker count is
also audited with git revision REV's code (a detached worktree, same interpreter and packages), alternating.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import link_identities  # noqa: E402
from bench_scaleout import video_seconds  # noqa: E402
from proctree import checkout, drop_checkout, measure, trainaudit_command  # noqa: E402


def generate_long(work: Path, hours: float, width: int, height: int) -> Path:
    from tools.synth import scenarios
    from tools.synth.generate import load_identities, write_class
    from tools.synth.scene import VideoParams

    archive = work / "long" / "archive"
    if archive.exists():
        return archive
    identities = load_identities(link_identities(work / "identities"))
    world = scenarios.video_class(identities, 11, session_min=hours * 60 - 4)
    first = next(r for r in world.recordings if r.session_id == "S01")
    world = dataclasses.replace(world, recordings=[first]) if dataclasses.is_dataclass(world) else world
    write_class(world, work / "long", 11, VideoParams(width_px=width, height_px=height))
    return archive


def audit(archive: Path, out: Path, workers: int, config: Path | None = None, code: Path = ROOT):
    import shutil

    shutil.rmtree(out, ignore_errors=True)  # from scratch: no analysis cache from an earlier run
    cmd = trainaudit_command("audit", str(archive), "--out", str(out), "--workers", str(workers), "--no-report")
    if config is not None:
        cmd += ["--config", str(config)]
    env = dict(os.environ, PYTHONPATH=str(code), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    usage = measure(cmd, env=env, cwd=str(code))
    if usage.returncode not in (0, 3):
        print(usage.output[-3000:])
        raise SystemExit(f"audit failed ({usage.returncode})")
    return usage


def sightings(out: Path) -> int:
    from pipeline.outputs.store import read_table

    return len(read_table(out, "sightings"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path)
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    ap.add_argument("--memory-archive", type=Path)
    ap.add_argument("--memory-workers", type=int, nargs="*", default=[2, 8])
    ap.add_argument("--memory-chunk-s", type=float, default=120.0)
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument("--before", help="git revision whose code is also measured in the memory table")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-long-"))
    work.mkdir(parents=True, exist_ok=True)  # a --work folder that does not exist yet
    lines = ["# Long recordings on several workers, and memory per worker (issue 19)\n",
             f"Machine: {os.cpu_count()} cores (shared with other sessions: wall is noisy, CPU less so), no GPU. "
             "Each audit from scratch (no cache), `--no-report`, one compute thread per process; CPU is user + "
             "system of the whole process tree, memory the peak of the tree's summed RSS and PSS, read from "
             "/proc every 0.2 s (benchmarks/proctree.py).\n"]
    results = ROOT / "benchmarks" / "results" / "long_file.md"
    if not a.skip_long:
        archive = generate_long(work, a.hours, a.width, a.height)
        hours = video_seconds(archive) / 3600.0
        one = audit(archive, work / "out-1", 1)
        two = audit(archive, work / "out-2", 2)
        lines += [f"## One {hours:.2f}-hour recording ({a.width}x{a.height}, 1 fps)\n",
                  "| setting | wall s | CPU s | peak RSS MB | sightings | wall vs one worker |", "|---|---|---|---|---|---|"]
        for name, u, out in (("1 worker (whole file)", one, "out-1"), ("2 workers (30-min chunks)", two, "out-2")):
            lines.append(f"| {name} | {u.wall_s:.1f} | {u.cpu_s:.1f} | {u.peak_rss_mb:.0f} | {sightings(work / out)} | "
                         f"{u.wall_s / one.wall_s:.2f}x |")
        lines += ["", f"2 workers take {two.wall_s / one.wall_s:.2f}x the single worker's wall time (target <= 0.6x), "
                  f"for {two.cpu_s / one.cpu_s:.2f}x its CPU.\n"]
        print("\n".join(lines), flush=True)
    if a.memory_archive:
        config = work / "memory-config.yaml"
        config.write_text(f"version: 1\nvideo:\n  chunk_s: {a.memory_chunk_s:g}\n", encoding="utf-8")
        hours = video_seconds(a.memory_archive) / 3600.0
        lines += [f"## Tree memory by workers ({hours:.2f} video-hours of 1080p, chunks of {a.memory_chunk_s:g} s "
                  "so that every worker is busy)\n",
                  f"Load average (1 min, all sessions on the machine) at the start: {os.getloadavg()[0]:.1f}.\n",
                  "| code | workers | peak processes | peak tree RSS MB | peak tree PSS MB | wall s | CPU s |",
                  "|---|---|---|---|---|---|---|"]
        codes = [("this tree", ROOT)]
        if a.before:
            codes.insert(0, (a.before, Path(checkout(a.before, work / "before-code"))))
        for n in a.memory_workers:
            for name, code in codes:
                u = audit(a.memory_archive, work / f"out-mem-{n}", n, config, code)
                lines.append(f"| {name} | {n} | {u.peak_processes} | {u.peak_rss_mb:.0f} | {u.peak_pss_mb:.0f} | "
                             f"{u.wall_s:.1f} | {u.cpu_s:.1f} |")
                print(lines[-1], flush=True)
        lines.append(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")
        if a.before:
            drop_checkout(work / "before-code")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.skip_long:  # the memory table alone: its own file, the long-file figures stay
        results = results.with_name("memory_per_worker.md")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
