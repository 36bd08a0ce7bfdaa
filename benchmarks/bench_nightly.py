"""Nightly runs over a synthetic archive: what an unchanged night, a changed spreadsheet and a new class
with a new video cost, against a clean full audit measured in the same run (the baseline).

    .venv/bin/python benchmarks/bench_nightly.py [--classes 8] [--clip-s 60] [--city 200 1000] [--rounds 3]
        [--no-report] [--before REV [--cold]] [--work DIR [--keep-out]]

Classes are tests/conftest.py ClassWriter folders, each with one ffmpeg test-pattern clip (160x120,
5 fps). `--city` archives are N classes as a city's (20 institutions, 4 rooms and 6 teachers each,
3-day classes over a 12-week term, so schedules overlap as they do), each with its own 2-second clip,
listed and probed but not decoded (--no-video); each is measured: first run, unchanged night, one
changed check-in file (the issue's target: <= 3x the unchanged night; --rounds times, the file restored
after each change), and the report rebuilt after that change against a full report rebuild (unless
--no-report). CPU seconds (this process and its children, e.g. ffprobe)
next to wall seconds. Prints tables and writes benchmarks/results/nightly.md.

With --before REV, the city nights run in two long-lived child processes, one with REV's code (a git
worktree) and one with this tree's, each on its own output folder over the same archive, night by night
in turn (before, then after, on the same files): before and after measured in one run, under the same
load. --work DIR keeps the archives (and reuses a city already generated there); with --keep-out the
cities' output folders of an earlier run too (no first audit of every class). --cold starts a new process
for every night instead (what cron does), so each night's CPU includes the interpreter and its imports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
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


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (ffprobe, ffmpeg)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(label: str, root: Path, out: Path, rows: list, **options):
    started, cpu = time.perf_counter(), cpu_s()
    result = run_nightly(root, out, NightlyOptions(workers=1, **options))
    wall = time.perf_counter() - started
    rows.append((label, wall, cpu_s() - cpu, result.timings_s.get("stamp_s", 0.0),
                 result.timings_s.get("audit_s", 0.0), len(result.audited), len(result.plan.unchanged),
                 result.hashed_bytes))
    return result


def city_class(root: Path, i: int, rng: random.Random) -> None:
    """One class of a city: its institution's room and teacher, its own 3 weekdays, its own clip."""
    inst = f"3709{rng.randrange(20):02d}-0001"
    room, teacher = f"R{rng.randrange(4)}", f"T{rng.randrange(6)}"
    term = __import__("datetime").date(2024, 9, 2)
    days = [term + __import__("datetime").timedelta(days=d) for d in range(84)]
    first = rng.choice([d for d in days if d.weekday() < 3])
    writer = ClassWriter(root, f"TA2024-CT-{i:04d}", inst).default()
    writer.text("teachers.csv", f"""
        teacher_id,name,photo,certificate,experience_years
        {teacher},赵老师,photos/T003.jpg,低压电工作业,8
        """)
    rows = []
    for day in range(3):
        date = first + __import__("datetime").timedelta(days=day)
        rows.append(f"S{day * 2 + 1},{date},08:30,11:30,theory,offline,{room},{teacher},安全法规,4")
        rows.append(f"S{day * 2 + 2},{date},13:30,16:30,practical,offline,{room},{teacher},实操,4")
    writer.text("schedule.csv", "session_id,date,start,end,kind,mode,room,teacher_id,topic,hours\n" + "\n".join(rows))
    path = writer.folder / "recordings" / f"{room}_{first:%Y%m%d}083000.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t", "2",
                    "-pix_fmt", "yuv420p", "-metadata", f"comment=class {i}", str(path)], check=True)


def timed_report(label: str, out: Path, rows: list, only=None) -> None:
    from pipeline.outputs.report import build_report

    started, cpu = time.perf_counter(), cpu_s()
    result = build_report(out, "zh", only=only)
    rows.append((label, time.perf_counter() - started, cpu_s() - cpu, 0.0, 0.0, len(result.class_pages), 0, 0))


CHILD = r"""
import json, os, sys, time
from pathlib import Path
from pipeline.nightly import NightlyOptions, run_nightly
for line in sys.stdin:
    root, out = json.loads(line)
    t = os.times()
    cpu, started = t.user + t.system + t.children_user + t.children_system, time.perf_counter()
    r = run_nightly(Path(root), Path(out), NightlyOptions(workers=1, analyse_video=False))
    wall, t = time.perf_counter() - started, os.times()
    print("NIGHT " + json.dumps([wall, t.user + t.system + t.children_user + t.children_system - cpu,
                                 r.timings_s.get("stamp_s", 0.0), r.timings_s.get("audit_s", 0.0), len(r.audited),
                                 len(r.plan.unchanged), r.hashed_bytes, (r.reuse or {}).get("views_read")]), flush=True)
"""


class Nights:
    """A process that runs a nightly run on request with one checkout's code (its imports paid once, as
    the in-process nights of this script): CPU s are the child's own (and its ffprobe children)."""

    def __init__(self, name: str, code: Path, out: Path, cold: bool = False):
        self.name = name + (", a new process per night" if cold else "")
        self.out, self.code, self.cold = out, code, cold
        self.proc = None if cold else self._start()

    def _start(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(self.code)}
        return subprocess.Popen([sys.executable, "-c", CHILD], cwd=self.code, env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)

    def night(self, label: str, root: Path, rows: list) -> tuple:
        """One night; `cold`: in a process of its own, as cron starts one, its CPU s with the interpreter's
        start and every import (measured by the parent: the child's user + system time)."""
        proc = self._start() if self.cold else self.proc
        started, before = time.perf_counter(), os.times()
        proc.stdin.write(json.dumps([str(root), str(self.out)]) + "\n")
        proc.stdin.flush()
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name}: the nightly child ended")
            if line.startswith("NIGHT "):
                break
        wall, cpu, stamp, audit, audited, skipped, hashed, read = json.loads(line[6:])
        if self.cold:
            proc.stdin.close()
            proc.wait()
            after = os.times()
            wall = time.perf_counter() - started
            cpu = after.children_user + after.children_system - before.children_user - before.children_system
        views = f", {read} stored views decoded" if read is not None else ""
        rows.append((f"{label} [{self.name}{views}]", wall, cpu, stamp, audit, audited, skipped, hashed))
        return rows[-1]

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()


def city_root(n: int, work: Path, seed: int = 7) -> Path:
    root = work / f"city-{n}"
    if not (root / f"TA2024-CT-{n - 1:04d}" / "recordings").is_dir():  # made once (--work keeps it)
        rng = random.Random(seed)
        for i in range(n):
            city_class(root, i, rng)
    return root


def city_before_after(n: int, work: Path, rows: list, codes: list[tuple[str, Path]], rounds: int,
                      keep_out: bool = False, cold: bool = False) -> dict:
    """Per code, per round, (unchanged night, changed night) rows; the codes take turns night by night.
    `keep_out`: an output folder left in `work` by an earlier run is used as it is (its first night is then
    labelled as such: it audits nothing, or only what that code's change made stale)."""
    root = city_root(n, work)
    nights = [Nights(name, code, work / f"city-{n}-out-{i}", cold) for i, (name, code) in enumerate(codes)]
    kept = {night.name for night in nights if keep_out and (night.out / ".trainaudit-manifest.json").is_file()}
    for night in nights:
        if night.name not in kept:
            shutil.rmtree(night.out, ignore_errors=True)
    pairs: dict[str, list] = {night.name: [] for night in nights}
    checkins = root / "TA2024-CT-0000" / "checkins" / "zk.csv"
    original = checkins.read_bytes()
    try:
        for night in nights:
            night.night(f"city {n}: first run" + (" (OUT kept from an earlier run)" if night.name in kept else ""),
                        root, rows)
        for r in range(rounds):
            tag = f" (round {r + 1})" if rounds > 1 else ""
            unchanged = {night.name: night.night(f"city {n}: unchanged night{tag}", root, rows) for night in nights}
            checkins.write_bytes(original + "培训部,王五,S003,2024-10-08 13:21:00,1,5,15,\n".encode("gb18030"))
            for night in nights:
                pairs[night.name].append((unchanged[night.name],
                                          night.night(f"city {n}: one check-in file changed{tag}", root, rows)))
            checkins.write_bytes(original)
            for night in nights:
                night.night(f"city {n}: the file restored (one changed file again){tag}", root, rows)
    finally:
        checkins.write_bytes(original)
        for night in nights:
            night.close()
    return pairs


def city(n: int, work: Path, rows: list, seed: int = 7, report: bool = True, rounds: int = 1) -> list[tuple]:
    """Returns, per round, (unchanged night, changed night) rows; each round changes the check-in file and
    then restores it (the restoring night is a one-changed-file night too, listed as such)."""
    root, out = city_root(n, work, seed), work / f"city-{n}-out"
    shutil.rmtree(out, ignore_errors=True)
    timed(f"city {n}: first run", root, out, rows, analyse_video=False)
    if report:
        timed_report(f"city {n}: full report", out, rows)
    checkins = root / "TA2024-CT-0000" / "checkins" / "zk.csv"
    original = checkins.read_bytes()
    pairs = []
    for r in range(rounds):
        tag = f" (round {r + 1})" if rounds > 1 else ""
        timed(f"city {n}: unchanged night{tag}", root, out, rows, analyse_video=False)
        unchanged = rows[-1]
        checkins.write_bytes(original + "培训部,王五,S003,2024-10-08 13:21:00,1,5,15,\n".encode("gb18030"))
        result = timed(f"city {n}: one check-in file changed{tag}", root, out, rows, analyse_video=False)
        pairs.append((unchanged, rows[-1]))
        if report and r == 0:
            redo = {"TA2024-CT-0000", *result.cross_updated}
            timed_report(f"city {n}: report after the change ({len(redo)} class pages)", out, rows, only=redo)
        checkins.write_bytes(original)
        timed(f"city {n}: the file restored (one changed file again){tag}", root, out, rows, analyse_video=False)
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--clip-s", type=int, default=60)
    parser.add_argument("--city", type=int, nargs="*", default=[200, 1000])
    parser.add_argument("--rounds", type=int, default=3, help="unchanged / changed / restored nights per city")
    parser.add_argument("--no-report", action="store_true", help="skip the report rebuilds (200 classes: ~25 min)")
    parser.add_argument("--before", help="git revision whose code also runs the city nights, in turn with this "
                                         "tree's (child processes; the report rows are left out)")
    parser.add_argument("--work", type=Path, help="work folder to keep (a city made there before is reused)")
    parser.add_argument("--cold", action="store_true", help="with --before: every city night in a new process "
                                                            "(as cron runs it: interpreter start and imports included)")
    parser.add_argument("--keep-out", action="store_true", help="with --before and --work: the cities' output "
                                                                "folders of an earlier run are used as they are")
    args = parser.parse_args()
    load_start = os.getloadavg()
    ratios: dict[object, list[tuple]] = {}
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list = []
    codes = [("this tree", REPO)]
    try:
        if args.before:
            from proctree import checkout

            codes.insert(0, (f"before: {args.before}", Path(checkout(args.before, work / "before-code"))))
        root = work / "archive"
        for folder in (root, work / "baseline", work / "out"):  # fresh, also in a kept work folder
            shutil.rmtree(folder, ignore_errors=True)
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

        for n in args.city:
            if args.before:
                for name, pairs in city_before_after(n, work, rows, codes, args.rounds, args.keep_out,
                                                     args.cold).items():
                    ratios[(n, name)] = pairs
            else:
                ratios[n] = city(n, work, rows, report=not args.no_report, rounds=args.rounds)
    finally:
        if args.before:
            from proctree import drop_checkout

            drop_checkout(work / "before-code")
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    baseline = rows[0][1]
    lines = [f"# Nightly runs ({platform.node()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"{args.classes} classes x {args.clip_s} s clip, workers=1)", "",
             f"Load average (1/5/15 min, every session on the machine) at the start: "
             f"{' / '.join(f'{x:.1f}' for x in load_start)}; at the end: "
             f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}. CPU s: the process that ran it and its children "
             "(ffprobe).", "",
             "| run | wall s | CPU s | stamp s | audit s | audited | skipped | bytes hashed | wall / baseline |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, wall, cpu, stamp, audit, audited, skipped, hashed in rows:
        lines.append(f"| {label} | {wall:.2f} | {cpu:.2f} | {stamp:.3f} | {audit:.2f} | {audited} | {skipped} | "
                     f"{hashed} | {wall / baseline:.3f} |")
    by_label = {r[0]: r for r in rows}
    for key, pairs in ratios.items():
        n, name = key if isinstance(key, tuple) else (key, None)
        walls = sorted(changed[1] / unchanged[1] for unchanged, changed in pairs)
        cpus = sorted(changed[2] / max(unchanged[2], 1e-9) for unchanged, changed in pairs)
        lines.append(f"\ncity {n}{f' [{name}]' if name else ''}: one changed check-in file / the unchanged night "
                     f"before it, per round: "
                     f"{', '.join(f'{w:.2f}x' for w in walls)} wall, {', '.join(f'{c:.2f}x' for c in cpus)} CPU; "
                     f"median {walls[len(walls) // 2]:.2f}x wall, {cpus[len(cpus) // 2]:.2f}x CPU (target <= 3x)")
        if f"city {n}: full report" in by_label:
            full = by_label[f"city {n}: full report"]
            report = next(r for label, r in by_label.items() if label.startswith(f"city {n}: report after"))
            lines.append(f"\ncity {n}: report after the change {report[1]:.2f} s wall ({report[2]:.2f} CPU) against "
                         f"{full[1]:.2f} s ({full[2]:.2f}) for the full report")
    text = "\n".join(lines) + "\n"
    print(text)
    results = REPO / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "nightly.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
