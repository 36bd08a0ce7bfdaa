"""CPU seconds per video-hour of a full audit: earlier code or glibc's allocator defaults against this tree.

    .venv/bin/python benchmarks/bench_cpu_per_hour.py [--work DIR] [--session-min 6] [--repeat 2] [--before REV]

Generates one class of 1080p classroom recordings (about one video-hour at --session-min 6; faces from
../shared/data identities, linked, never copied), then audits it from scratch (no cache) with
`run.malloc_*_threshold_bytes: 0` (glibc's defaults: issue 19's baseline) and with the configured
thresholds, alternating, --repeat times each, all in this one run; with --before REV, the code of git
revision REV (a detached worktree, same interpreter and packages) against this tree, both with their
configs/ defaults, and glibc's defaults on REV as a third setting. Each audit is a separate
`trainaudit audit` process; its whole process tree is measured (benchmarks/proctree.py): CPU user +
system, minor page faults, wall. Checks that both settings give the same findings and sightings.
Writes benchmarks/results/cpu_per_hour.md. A shared, noisy machine: compare CPU, not wall.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import link_identities  # noqa: E402
from bench_scaleout import video_seconds  # noqa: E402
from proctree import checkout, drop_checkout, measure, trainaudit_command  # noqa: E402

from pipeline.config import load_pipeline_config  # noqa: E402
from pipeline.outputs.store import read_table  # noqa: E402

SETTINGS = {
    "glibc defaults (before)": "run:\n  malloc_mmap_threshold_bytes: 0\n  malloc_trim_threshold_bytes: 0\n",
    "tuned thresholds (after)": "",  # configs/pipeline.yaml's defaults
}


def generate_hour(work: Path, session_min: float, width: int, height: int) -> Path:
    from tools.synth.generate import generate
    from tools.synth.scene import VideoParams

    archive = work / "gen" / "archive"
    if not archive.exists():
        generate(link_identities(work / "identities"), work / "gen", seed=11, session_min=session_min,
                 suite="video", video=VideoParams(width_px=width, height_px=height))
    return archive


def evidence(out: Path) -> tuple:
    findings = read_table(out, "findings")
    sightings = read_table(out, "sightings")
    keyf = sorted(map(tuple, findings[["rule_id", "trainee_id", "session_id"]].astype(str).values.tolist()))
    cols = [c for c in ("path", "offset_s", "person_id") if c in sightings.columns]
    keys = sorted(map(tuple, sightings[cols].astype(str).values.tolist()))
    return tuple(keyf), tuple(keys)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path)
    ap.add_argument("--session-min", type=float, default=6.0)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--workers", type=int, default=2, help="worker processes (the pipeline's layout: one per core)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--before", help="git revision measured as 'before' (default: glibc's defaults on this tree)")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-cpu-hour-"))
    archive = generate_hour(work, a.session_min, a.width, a.height)
    hours = video_seconds(archive) / 3600.0
    code = {name: str(ROOT) for name in SETTINGS}
    settings = dict(SETTINGS)
    if a.before:
        old = checkout(a.before, work / "before-code")
        settings = {f"{a.before}, glibc defaults": SETTINGS["glibc defaults (before)"], f"{a.before} (before)": "",
                    "this tree (after)": ""}
        code = {name: old for name in settings}
        code["this tree (after)"] = str(ROOT)
    load_start = os.getloadavg()[0]
    rows: dict[str, list] = {name: [] for name in settings}
    outcome: dict[str, tuple] = {}
    for r in range(a.repeat):
        for name, yaml in settings.items():
            cfg = work / f"config-{list(settings).index(name)}.yaml"
            cfg.write_text(yaml or "version: 1\n", encoding="utf-8")
            out = work / f"out-{list(settings).index(name)}-{r}"
            shutil.rmtree(out, ignore_errors=True)  # from scratch: no analysis cache from an earlier run
            cmd = trainaudit_command("audit", str(archive), "--out", str(out), "--config", str(cfg),
                                     "--workers", str(a.workers), "--no-report")
            env = dict(os.environ, PYTHONPATH=code[name])
            usage = measure(cmd, env=env, cwd=code[name])
            if usage.returncode not in (0, 3):
                print(usage.output[-3000:])
                raise SystemExit(f"audit failed ({usage.returncode})")
            rows[name].append(usage)
            outcome.setdefault(name, evidence(out))
            print(f"{name} run {r + 1}: wall {usage.wall_s:.1f} s, CPU {usage.cpu_s:.1f} s "
                  f"(user {usage.user_s:.1f}, system {usage.system_s:.1f}), minor faults {usage.minor_faults}",
                  flush=True)
    same = len(set(outcome.values())) == 1
    config = load_pipeline_config()
    lines = ["# CPU per video-hour (issue 19)\n",
             f"Machine: {os.cpu_count()} cores (shared, noisy VM, no GPU). Archive: one generated class, "
             f"{a.width}x{a.height} at 1 fps, {hours:.2f} video-hours in 7 files. Each audit from scratch (no "
             f"cache), `--workers {a.workers} --no-report`, as a separate process; CPU is user + system of the "
             "whole process tree (workers, decoding children, ffprobe), read from /proc. Runs alternate "
             f"between the settings, {a.repeat} each, in one benchmark run" + (
                 f"; '{a.before}' is that git revision's code (a detached worktree, same interpreter and packages), "
                 "'this tree' the code committed with this file, each with its own configs/ defaults" if a.before
                 else "") + ".\n",
             f"Load average (1 min, all sessions on the machine) at the start / end: {load_start:.1f} / "
             f"{os.getloadavg()[0]:.1f}.\n",
             f"Tuned: `malloc_mmap_threshold_bytes: {config.run.malloc_mmap_threshold_bytes}`, "
             f"`malloc_trim_threshold_bytes: {config.run.malloc_trim_threshold_bytes}` (mallopt in the processes "
             "that run the face pass, pipeline/ops/worker.py).\n",
             "| setting | runs | wall s | CPU s | user s | system s | CPU-s per video-hour | minor faults per video-hour |",
             "|---|---|---|---|---|---|---|---|"]
    per_hour = {}
    for name, usages in rows.items():
        cpu = statistics.mean(u.cpu_s for u in usages)
        per_hour[name] = cpu / hours
        lines.append(f"| {name} | {len(usages)} | {statistics.mean(u.wall_s for u in usages):.1f} | {cpu:.1f} | "
                     f"{statistics.mean(u.user_s for u in usages):.1f} | "
                     f"{statistics.mean(u.system_s for u in usages):.1f} | {cpu / hours:.1f} | "
                     f"{statistics.mean(u.minor_faults for u in usages) / hours:,.0f} |")
    before, after = list(per_hour.values())[-2:]
    lines += ["", f"CPU per video-hour: {before:.1f} -> {after:.1f} s ({after / before:.2f}x; target <= 45 s). "
              f"Findings and sightings identical between the settings: {'yes' if same else 'NO'}.",
              "Every run: " + "; ".join(f"{name}: " + ", ".join(f"{u.cpu_s:.0f}" for u in us) + " CPU-s"
                                        for name, us in rows.items()) + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.before:
        drop_checkout(work / "before-code")
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "cpu_per_hour.md").write_text(text, encoding="utf-8")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
