"""Cross-class schedule rules at city scale: sessions indexed by institution and teacher (TEACHER_CONFLICT) or
room (CLASS_MERGED) against the blind sweep that pairs every two sessions overlapping in time, on an
archive whose classes overlap as a city's do (most classes run at the same hours on the same weekdays).

    .venv/bin/python benchmarks/bench_crossclass.py [--classes 1000 2000] [--institutions 60] [--seed 7]

Classes are built in memory (the rules read sessions, not files): each class runs 3 consecutive weekdays,
08:30-11:30 and 13:30-16:30, in one of its institution's 4 rooms with one of its 6 teachers, starting on
a random weekday of a 12-week term. Both ways must give the same findings (ids and content); the figures
are CPU seconds of the two rules, with the number of session pairs each way looks at. Writes
benchmarks/results/crossclass.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import platform
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import RulePacks  # noqa: E402
from pipeline.model import ClassArchive, ClassEvidence, ClassInfo, Session, Trainee  # noqa: E402
from pipeline.rules import schedule  # noqa: E402
from pipeline.rules.context import ArchiveContext  # noqa: E402
from pipeline.rules.engine import class_context  # noqa: E402

TZ = dt.timezone(dt.timedelta(hours=8))


def city(classes: int, institutions: int, seed: int) -> ArchiveContext:
    rng = random.Random(seed)
    term = dt.date(2024, 9, 2)
    weekdays = [term + dt.timedelta(days=d) for d in range(84) if (term + dt.timedelta(days=d)).weekday() < 3]
    pack = RulePacks().get("shandong", term)
    contexts = {}
    for i in range(classes):
        inst = f"3709{rng.randrange(institutions):04d}"
        class_id = f"TA2024-{i:05d}"
        room, teacher = f"R{rng.randrange(4)}", f"T{rng.randrange(6)}"
        first = rng.choice(weekdays)
        info = ClassInfo(class_id, inst, None, "低压电工作业", "initial", first, first + dt.timedelta(days=2), None,
                         "shandong", "Asia/Shanghai", None, None, None, None, Path(class_id))
        sessions = []
        for day in range(3):
            date = first + dt.timedelta(days=day)
            for n, (a, b) in enumerate(((8, 11), (13, 16))):
                start = dt.datetime(date.year, date.month, date.day, a, 30, tzinfo=TZ)
                end = dt.datetime(date.year, date.month, date.day, b, 30, tzinfo=TZ)
                sessions.append(Session(class_id, f"S{day * 2 + n + 1}", start, end, "theory", "offline", room,
                                        teacher, None, 4.0, day * 2 + n + 2))
        trainees = tuple(Trainee(class_id, f"S{k:03d}", f"学员{i}-{k}", None, "initial", (), k + 2) for k in range(30))
        archive = ClassArchive(info, trainees, (), tuple(sessions), (), (), (), (), (), "")
        evidence = ClassEvidence(archive, None, None, None, None, None, None, None, None)
        contexts[class_id] = class_context(evidence, pack)
    return ArchiveContext(contexts, None)


def _overlapping_before(items, key=None):
    """schedule._overlapping as it was before the index (commit 2c390be), verbatim but for `key`, ignored."""
    to_ts = schedule.to_ts
    items = sorted(items, key=lambda cs: (to_ts(cs[1].start, cs[0].tz), cs[0].info.class_id, cs[1].session_id))
    for i, (ca, sa) in enumerate(items):
        end_a = to_ts(sa.end, ca.tz)
        for cb, sb in items[i + 1:]:
            if to_ts(sb.start, cb.tz) >= end_a:
                break
            yield (ca, sa), (cb, sb)


@contextlib.contextmanager
def blind():
    """The sweep over every session of the archive, as the rules did before indexing."""
    saved = schedule._overlapping
    schedule._overlapping = _overlapping_before
    try:
        yield
    finally:
        schedule._overlapping = saved


def pairs_looked_at(actx: ArchiveContext, key) -> int:
    return sum(1 for _ in schedule._overlapping(schedule._offline(actx), key))


def measure(actx: ArchiveContext) -> tuple[dict, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    found = {f.finding_id: f for rule in (schedule.teacher_conflict, schedule.class_merged) for f in rule(actx)}
    return found, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--institutions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for n in args.classes:
        actx = city(n, args.institutions, args.seed)
        with blind():
            blind_found, blind_cpu, blind_wall = measure(actx)
            blind_pairs = pairs_looked_at(actx, None)  # every overlapping pair, whatever the key
        found, cpu, wall = measure(actx)
        indexed_pairs = pairs_looked_at(actx, schedule._by_teacher) + pairs_looked_at(actx, schedule._by_room)
        assert found == blind_found, "indexed and blind comparison must give the same findings"
        by_rule = {r: sum(1 for f in found.values() if f.rule_id == r) for r in ("TEACHER_CONFLICT", "CLASS_MERGED")}
        rows.append((n, len(found), by_rule, blind_pairs, indexed_pairs, blind_cpu, blind_wall, cpu, wall))
        print(rows[-1], flush=True)
    lines = [f"# Cross-class schedule rules at city scale ({platform.node()}, {platform.machine()}, "
             f"{args.institutions} institutions x 4 rooms x 6 teachers, 3-day classes over a 12-week term, "
             f"seed {args.seed})", "",
             "Same findings both ways (asserted: ids and content). CPU s next to wall s (shared machine).", "",
             "| classes | findings (TEACHER_CONFLICT / CLASS_MERGED) | session pairs: blind | indexed | "
             "blind CPU s (wall) | indexed CPU s (wall) | CPU ratio |", "|---|---|---|---|---|---|---|"]
    for n, total, by_rule, bp, ip, bc, bw, c, w in rows:
        lines.append(f"| {n} | {total} ({by_rule['TEACHER_CONFLICT']} / {by_rule['CLASS_MERGED']}) | {bp:,} | "
                     f"{ip:,} | {bc:.2f} ({bw:.2f}) | {c:.2f} ({w:.2f}) | {bc / max(c, 1e-9):.1f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    (REPO / "benchmarks" / "results" / "crossclass.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
