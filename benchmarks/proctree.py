"""CPU seconds and memory of a process tree (a command and every process it starts), read from /proc.

`measure(cmd)` runs a command and polls its descendants every `poll_s`: per process the last CPU time
seen (user + system, both counted: a third of the audit's CPU was kernel time, issue 19), and the peak
over time of the tree's summed RSS (what `ps` adds up; shared library pages count once per process) and
summed PSS (shared pages divided among the processes sharing them: the memory the tree really holds).
A process's CPU after its last poll is missed (at most `poll_s` each); `cpu_s` also falls back on the
command's own rusage (which counts every descendant that was waited for) when that is larger.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class TreeUsage:
    wall_s: float
    cpu_s: float  # user + system of every process seen
    user_s: float
    system_s: float
    peak_rss_mb: float
    peak_pss_mb: float
    peak_processes: int
    minor_faults: int  # page faults served without I/O (each a kernel entry), every process seen
    returncode: int
    output: str = ""


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        out.setdefault(ppid, []).append(int(name))
    return out


def _tree(root: int) -> list[int]:
    kids, todo, seen = _children(), [root], []
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(kids.get(pid, []))
    return seen


def _stat(pid: int) -> tuple[float, float, int, int] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / _TICK, int(fields[12]) / _TICK, int(fields[21]) * _PAGE, int(fields[7])
    except (OSError, IndexError, ValueError):
        return None


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def trainaudit_command(*args: str) -> list[str]:
    """`trainaudit ARGS` as a user runs it: the console script that pip installed beside this interpreter.
    Not `python -m pipeline`: multiprocessing's spawn re-imports a script-run main module in every decoding
    child but skips a package's __main__, so only the script shows what the children import (issue 19).
    With PYTHONPATH set to another checkout, the script imports that checkout's code."""
    import sys
    from pathlib import Path

    return [sys.executable, str(Path(sys.executable).parent / "trainaudit"), *args]


def measure(cmd: list[str], *, env: dict | None = None, poll_s: float = 0.2, pss_every: int = 5,
            cwd: str | None = None) -> TreeUsage:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cpu: dict[int, tuple[float, float]] = {}
    faults: dict[int, int] = {}
    peak_rss = peak_pss = peak_n = 0
    polls = 0
    import threading

    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        pids = _tree(proc.pid)
        rss = 0
        for pid in pids:
            st = _stat(pid)
            if st is None:
                continue
            cpu[pid] = (st[0], st[1])
            faults[pid] = st[3]
            rss += st[2]
        peak_rss, peak_n = max(peak_rss, rss), max(peak_n, len(pids))
        if polls % pss_every == 0:
            peak_pss = max(peak_pss, sum(_pss(pid) for pid in pids))
        polls += 1
        time.sleep(poll_s)
    wall = time.perf_counter() - started
    reader.join(timeout=10)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = sum(u for u, _ in cpu.values())
    system = sum(s for _, s in cpu.values())
    r_user, r_sys = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    if r_user + r_sys > user + system:
        user, system = r_user, r_sys
    return TreeUsage(wall, user + system, user, system, peak_rss / 2**20, peak_pss / 2**20, peak_n,
                     sum(faults.values()), proc.returncode, "".join(chunks))


def checkout(rev: str, dest) -> str:
    """A detached git worktree of `rev` at `dest` (made once): the code to measure as "before" in the same
    run as the working tree, with the same interpreter and packages (PYTHONPATH and cwd point at it)."""
    from pathlib import Path

    dest = Path(dest)
    if not (dest / "pipeline").is_dir():
        root = Path(__file__).resolve().parents[1]
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(dest), rev], check=True,
                       capture_output=True)
    return str(dest)


def drop_checkout(dest) -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(dest)], capture_output=True)
