"""The reliability corpus (tests/reliability_corpus.py): hostile, malformed and real-world class folders.

Every case runs through the real command line in a child process that is limited to 3 GB of address
space (a bomb that got through fails this test instead of taking the shared machine) and measured: it
must end with the documented exit code, print no traceback, report a located problem, read nothing
outside the archive (a canary token outside must appear nowhere; a FIFO outside would hang a reader),
and peak under 1 GB of resident memory.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipeline.ingest.confine import display_path
from reliability_corpus import CANARY, CASE_NAMES, build

REPO = Path(__file__).resolve().parents[1]
ADDRESS_SPACE_BYTES = 3 * 1024**3
PEAK_RSS_LIMIT_MB = 1024


@dataclass
class Ran:
    rc: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    wall_s: float


def run_limited(args: list[str], timeout_s: float = 180, file_size_bytes: int | None = None) -> Ran:
    """`python -m pipeline ARGS` with RLIMIT_AS (and optionally RLIMIT_FSIZE), its peak RSS from wait4."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
        if file_size_bytes is not None:  # a write past it fails with EFBIG, as on a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_bytes, file_size_bytes))

    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=limit)
    streams: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, s=s: streams.__setitem__(n, s.read()))
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (with its reaped children)
    timed_out = not timer.is_alive()
    timer.cancel()
    for reader in readers:
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = streams["err"].decode("utf-8", "replace")
    if timed_out:
        pytest.fail(f"{args} ran past {timeout_s} s (a hang: a read outside the archive, or a bomb)\n{err[-2000:]}")
    return Ran(proc.returncode, streams["out"].decode("utf-8", "replace"), err, usage.ru_maxrss / 1024,
               time.perf_counter() - started)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpus")
    root, cases = build(base)
    assert [c.name for c in cases] == CASE_NAMES
    return base, root, {c.name: c for c in cases}


def _clean(ran: Ran) -> None:
    assert "Traceback" not in ran.stderr, ran.stderr[-3000:]
    assert CANARY not in ran.stdout and CANARY not in ran.stderr
    assert ran.peak_rss_mb < PEAK_RSS_LIMIT_MB


def test_validate_reports_every_case(corpus) -> None:
    """One `validate --json` over the whole corpus: every case's located problem, and errors exactly where
    the case documents exit 1 (validate exits 1 when a class has an error)."""
    _, root, cases = corpus
    ran = run_limited(["validate", str(root), "--json"], timeout_s=300)
    _clean(ran)
    assert ran.rc == 1
    problems = [json.loads(line) for line in ran.stdout.splitlines()]
    misses = []
    for case in cases.values():
        folder = display_path(case.name)
        own = [p for p in problems if p["file"].split("/")[0] in (folder, *_subfolders(root / case.name))]
        for file_part, message_part in case.expect:
            if not any(file_part in p["file"] and message_part in p["message"] for p in own):
                misses.append(f"{folder}: {case.why}: no problem about {file_part!r} saying {message_part!r}")
        has_error = any(p["level"] == "error" for p in own)
        if has_error != (case.validate_exit == 1):
            misses.append(f"{folder}: {case.why}: errors {[p['message'] for p in own if p['level'] == 'error']}, "
                          f"documented exit {case.validate_exit}")
    assert not misses, "\n".join(misses)


def _subfolders(folder: Path) -> tuple[str, ...]:
    return tuple(p.name for p in folder.iterdir() if (p / "class.yaml").exists())


@pytest.mark.parametrize("name", ["yaml-laughs", "link-fifo", "xlsx-bomb", "video-liar", CASE_NAMES[-2]])
def test_validate_of_one_case_exits_as_documented(corpus, name: str) -> None:
    _, root, cases = corpus
    ran = run_limited(["validate", str(root / name)], timeout_s=120)
    _clean(ran)
    assert ran.rc == cases[name].validate_exit, ran.stderr[-2000:]


def _audit_misses(case, out: Path) -> list[str]:
    """What the audit's tables lack for one case (empty: all there)."""
    misses = []
    problems = pd.read_parquet(out / "problems")
    for file_part, message_part in case.expect:
        hit = problems[problems.file.str.contains(file_part, regex=False) &
                       problems.message.str.contains(message_part, regex=False)]
        if not len(hit):
            misses.append(f"no problem about {file_part!r} saying {message_part!r}")
    classes = set(pd.read_parquet(out / "classes").class_id)
    class_id = case.class_id or case.name
    if case.audited and class_id not in classes:
        misses.append("the class was not audited")
    if not case.audited and case.class_id is None and class_id in classes:
        misses.append("the class was audited")
    findings = pd.read_parquet(out / "findings")
    own = findings[findings.class_id == class_id]
    if case.finding:
        rule_id, text = case.finding
        if not len(own[(own.rule_id == rule_id) & own.message.str.contains(text, regex=False)]):
            misses.append(f"no {rule_id} finding saying {text!r}")
    if case.no_finding and case.no_finding in set(own.rule_id):
        misses.append(f"a false {case.no_finding} finding")
    return [f"{case.name}: {case.why}: {m}" for m in misses]


def _audit_reports_every_case(corpus, out: Path) -> None:
    _, _, cases = corpus
    misses = [m for case in cases.values() for m in _audit_misses(case, out)]
    assert not misses, "\n".join(misses)
    hik = pd.read_parquet(out / "checkins").query("class_id == 'hikvision-original'")
    assert len(hik) == 6 and hik.is_face.all()


def _every_reader_finds_the_rows_of_awkward_class_ids(out: Path) -> None:
    """Files starting with `_` or `.` are skipped by pyarrow, pandas and DuckDB: no class key may."""
    import duckdb
    import pyarrow.dataset as ds

    wanted = {"（2024）泰安-017", "<b>x</b>/../_y", "..", "DUP-001", "gbk-names"}
    tables = [p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in (
        "evidence", "runs", "report")]
    assert {"classes", "findings", "checkins", "problems"} <= set(tables)
    for table in tables:
        files = list((out / table).rglob("*.parquet"))
        assert all(not f.name.startswith(("_", ".")) for f in files), table
    for table in ("classes", "checkins", "findings"):
        by_pandas = set(pd.read_parquet(out / table).class_id)
        by_arrow = set(ds.dataset(out / table, format="parquet", partitioning="hive").to_table()
                       .column("class_id").to_pylist())
        by_duckdb = {r[0] for r in duckdb.sql(
            f"select distinct class_id from read_parquet('{out / table}/**/*.parquet', hive_partitioning=true)")
            .fetchall()}
        for class_id in wanted:
            assert class_id in by_pandas and class_id in by_arrow and class_id in by_duckdb, (table, class_id)
    checkins = pd.read_parquet(out / "checkins")
    dup = checkins[checkins.class_id == "DUP-001"]
    assert set(dup.trainee_id) == {"S001", "S002", "S003"}  # the first folder's roster: not overwritten
    files = set(checkins[checkins.class_id == "gbk-names"].source_file)
    assert files == {"培训班-gbk/checkins/签到记录.csv", "培训班-gbk/checkins/bad\\xff\\xfe.csv"}


def test_audit_of_the_corpus(corpus) -> None:
    """One audit over the whole corpus (one test, so one xdist worker runs it): it ends cleanly, each bad
    class is a located problem, the others are audited, and every reader finds every class's rows."""
    base, root, _ = corpus
    out = base / "out"
    ran = run_limited(["audit", str(root), "--out", str(out), "--no-report", "--quiet", "--workers", "1"],
                      timeout_s=600)
    _clean(ran)
    assert ran.rc == 1  # classes that cannot be audited are failures (cli.py exit codes)
    for table in ("findings", "problems", "checkins", "classes"):
        text = pd.read_parquet(out / table).astype(str).to_string()
        assert CANARY not in text, f"{table} holds content from outside the archive"
    _audit_reports_every_case(corpus, out)
    _every_reader_finds_the_rows_of_awkward_class_ids(out)


def test_a_full_disk_is_a_message_and_the_next_run_leaves_nothing_behind(tmp_path) -> None:
    """A write past RLIMIT_FSIZE fails with EFBIG, as a write on a full disk fails with ENOSPC."""
    from reliability_corpus import _base

    root, out = tmp_path / "archive", tmp_path / "out"
    _base(root / "C-1")
    args = ["audit", str(root), "--out", str(out), "--no-report", "--quiet", "--no-video"]
    ran = run_limited(args, file_size_bytes=2048)
    _clean(ran)
    assert ran.rc == 1
    assert "cannot write the outputs" in ran.stderr and "Free space on that disk" in ran.stderr, ran.stderr
    assert not [p for p in (out / ".staging").rglob("*") if p.is_file()]  # the failed run cleaned up
    # What a run killed mid-write leaves: a snapshot's temporary file, a staging folder of a dead process.
    (out / "evidence" / "C-1").mkdir(parents=True, exist_ok=True)
    (out / "evidence" / "C-1" / "snapshot.jpg.4242.tmp").write_bytes(b"half a jpeg")
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / ".staging" / "dead").mkdir(parents=True, exist_ok=True)
    (out / ".staging" / "dead" / "owner.json").write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename}))
    (out / ".staging" / "dead" / "x.parquet").write_bytes(b"half")
    again = run_limited(args)
    _clean(again)
    assert again.rc == 0, again.stderr
    assert not list((out / "evidence").rglob("*.tmp"))
    assert not [p for p in (out / ".staging").rglob("*") if p.is_file()] if (out / ".staging").exists() else True
    assert set(pd.read_parquet(out / "classes").class_id) == {"C-1"}


def test_nightly_on_a_full_disk_says_what_to_free_and_the_next_run_cleans_up(tmp_path) -> None:
    """The nightly run writes through the same store as audit: a write past RLIMIT_FSIZE (EFBIG, as ENOSPC on
    a full disk) stops the run with exit 1 and what/where/how much to free, leaves no half-written table or
    manifest, and the next run removes what a killed run left and publishes everything."""
    from reliability_corpus import _base

    root, out = tmp_path / "archive", tmp_path / "out"
    _base(root / "C-1")
    args = ["nightly", str(root), "--out", str(out), "--no-report", "--quiet", "--no-video",
            "--log-file", os.devnull]  # the log is not a regular file: the tables hit the limit first
    ran = run_limited(args, file_size_bytes=2048)
    _clean(ran)
    assert ran.rc == 1
    assert "nightly run stopped: cannot write the outputs" in ran.stderr, ran.stderr
    assert "Free space on that disk" in ran.stderr and "free at least" in ran.stderr, ran.stderr
    left = [p for p in out.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or ".staging" in p.parts)]
    assert not left, left
    assert not (out / ".trainaudit-manifest.json").exists()  # the manifest is written last: never before the tables
    # What a nightly run killed mid-write leaves: the manifest's temporary file, a snapshot's.
    (out / ".trainaudit-manifest.json.0123abcd.tmp").write_text('{"format": 1, "clas')
    (out / "evidence" / "C-1").mkdir(parents=True, exist_ok=True)
    (out / "evidence" / "C-1" / "snapshot.jpg.4242.tmp").write_bytes(b"half a jpeg")
    again = run_limited(args)
    _clean(again)
    assert again.rc == 0, again.stderr
    assert not [p for p in out.rglob("*.tmp")]
    assert json.loads((out / ".trainaudit-manifest.json").read_text())["classes"]
    assert set(pd.read_parquet(out / "classes").class_id) == {"C-1"}
