"""Scale-out throughput: the same audit locally and on a Dask LocalCluster with 1 and 2 workers.

    .venv/bin/python benchmarks/bench_scaleout.py [--session-min 20] [--work DIR]

Generates one class with classroom recordings (faces from ../shared/data identities, linked, never
copied), then audits it three times from scratch (no cache): in-process (the baseline), on a Dask cluster
with one worker process, and with two. Prints wall and CPU seconds, video-hours per wall-hour, the ratio
to the baseline, and the number of machines like this one a city's nightly load needs. Writes
benchmarks/results/scaleout.md. Figures from a shared, noisy machine: compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import link_identities  # noqa: E402

from pipeline.audit import audit_archive  # noqa: E402
from tools.synth.generate import generate  # noqa: E402


def video_seconds(archive: Path) -> float:
    total = 0.0
    for path in archive.rglob("recordings/**/*"):
        if path.suffix.lower() not in (".mp4", ".mkv", ".ts", ".avi", ".mov"):
            continue
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                             capture_output=True, text=True, check=False).stdout
        try:
            total += float(json.loads(out or "{}").get("format", {}).get("duration", 0.0))
        except ValueError:
            pass
    return total


def timed(label: str, run) -> dict:
    wall0 = time.perf_counter()
    run()
    return {"setting": label, "wall_s": time.perf_counter() - wall0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--session-min", type=float, default=20)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--night-hours", type=float, default=8.0, help="length of the nightly window")
    ap.add_argument("--city-video-hours", type=float, default=500.0, help="video-hours to audit a night")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    archive = work / "archive"
    if not archive.exists():
        generate(link_identities(work / "identities"), archive, seed=11, session_min=a.session_min, suite="video")
    hours = video_seconds(archive) / 3600.0
    from distributed import LocalCluster

    rows = [timed("in-process, one process (baseline; YuNet's OpenMP may use every core)",
                  lambda: audit_archive(archive, work / "out-local", workers=1))]
    for n in (1, 2):
        def on_cluster(n=n):
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                audit_archive(archive, work / f"out-dask{n}", scheduler=cluster.scheduler_address)
        rows.append(timed(f"Dask LocalCluster, {n} worker(s)", on_cluster))
    base = rows[0]["wall_s"]
    lines = [f"# Scale-out throughput\n",
             f"Machine: {os.cpu_count()} cores (shared, noisy). Archive: one generated class, "
             f"{hours:.2f} video-hours, session {a.session_min:g} min. Each run from scratch (no cache); the Dask "
             "rows include starting the cluster and loading the models in each worker.\n",
             "| setting | wall s | video-hours per wall-hour | speed vs baseline | vs 1 Dask worker |",
             "|---|---|---|---|---|"]
    one = rows[1]["wall_s"]
    for r in rows:
        lines.append(f"| {r['setting']} | {r['wall_s']:.1f} | {hours / (r['wall_s'] / 3600):.0f} | "
                     f"{base / r['wall_s']:.2f}x | {one / r['wall_s']:.2f}x |")
    best = max(hours / (r["wall_s"] / 3600) for r in rows)
    machines = a.city_video_hours / (best * a.night_hours)
    lines += ["", f"Estimate: {a.city_video_hours:g} video-hours in a {a.night_hours:g}-hour night at the best "
              f"measured rate of this machine ({best:.0f} video-hours per wall-hour) needs "
              f"{machines:.1f} machine(s) like it (rounded up: {int(-(-machines // 1))}); real NVR footage decodes "
              "slower than this generated video, so keep a 2x margin."]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "scaleout.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
