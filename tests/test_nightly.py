"""`trainaudit nightly` end to end: skips, incremental re-audits equal to clean runs, the lock, kills at
every stage, broken classes, links leaving the archive, empty videos. Runs use no video decoding (the
video cases live in test_nightly_video.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import ClassWriter
from pipeline.nightly import EmptyArchive, NightlyOptions, run_nightly
from pipeline.ops.manifest import MANIFEST_FILE, sha256_file
from pipeline.outputs.schemas import TABLES, UNPARTITIONED
from pipeline.outputs.store import read_table

REPO = Path(__file__).resolve().parents[1]
A, B, C = "TA2024-DG-017", "TA2024-DG-018", "TA2024-DG-019"
SAME_INSTITUTION = "370900-0032"  # A and C share it: their schedules overlap (TEACHER_CONFLICT, CLASS_MERGED)


def make_archive(root: Path, classes=((A, SAME_INSTITUTION), (B, "370900-0033"))) -> Path:
    for class_id, institution in classes:
        ClassWriter(root, class_id, institution).default()
    return root


def nightly(root: Path, out: Path, **options):
    return run_nightly(root, out, NightlyOptions(analyse_video=False, **options))


def tables(out: Path) -> dict[str, pd.DataFrame]:
    """Every per-class table, rows in a canonical order, output-folder paths neutralised."""
    result = {}
    for name in TABLES:
        if name in UNPARTITIONED:
            continue
        frame = read_table(out, name).astype(str).replace(str(out), "OUT", regex=True)
        result[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return result


def assert_same_tables(out: Path, expected_out: Path) -> None:
    got, expected = tables(out), tables(expected_out)
    assert len(expected["classes"]) > 0
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)


def clean_run(root: Path, tmp_path: Path, **options) -> Path:
    out = tmp_path / f"clean-{time.monotonic_ns()}"
    nightly(root, out, **options)
    return out


def published(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): sha256_file(p) for p in sorted(out.glob("*/institution_id=*/*.parquet"))}


def cli(root: Path, out: Path, *args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipeline", "nightly", str(root), "--out", str(out), "--no-video",
               "--no-report", "-q", *args]
    return subprocess.Popen(command, cwd=REPO, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(path: Path, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"process ended before pausing: {process.communicate()}")
        assert time.monotonic() < deadline, "the run never reached its pause point"
        time.sleep(0.05)


def start_paused(root: Path, out: Path, point: str, tmp_path: Path, *args: str) -> subprocess.Popen:
    marker = tmp_path / f"paused-{point.replace(':', '_')}-{time.monotonic_ns()}"
    process = cli(root, out, *args, env={"TRAINAUDIT_TEST_PAUSE_AT": point, "TRAINAUDIT_TEST_PAUSE_FILE": str(marker)})
    wait_for(marker, process)
    return process


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def runs(out: Path) -> pd.DataFrame:
    return read_table(out, "runs").sort_values("started").reset_index(drop=True)


# -- skipping and incremental re-audits -------------------------------------------------------------------

def test_second_run_skips_everything_and_changes_nothing(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    first = nightly(root, out)
    assert sorted(first.audited) == [A, B] and first.status == "completed"
    before_files, before = published(out), tables(out)
    findings_before = set(before["findings"]["finding_id"])
    assert findings_before

    second = nightly(root, out)
    assert second.plan.changed == {} and sorted(second.plan.unchanged) == [A, B]
    assert second.audited == [] and second.hashed_bytes == 0  # no input file read again
    assert published(out) == before_files  # not even rewritten
    assert set(tables(out)["findings"]["finding_id"]) == findings_before
    history = runs(out)
    assert list(history["mode"]) == ["nightly", "nightly"]
    assert list(history["audited"]) == [2, 0] and list(history["skipped"]) == [0, 2]
    assert json.loads(history["detail"][1])["rules_rerun_for_all_classes"] is False


def test_changed_file_reaudits_that_class_only_and_matches_a_clean_run(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    nightly(root, out)
    roster = root / B / "roster.csv"
    roster.write_bytes(roster.read_bytes() + "S004,钱六,370902199404044567,初训,\n".encode("gb18030"))

    result = nightly(root, out)
    assert list(result.plan.changed) == [B] and "roster.csv" in result.plan.changed[B]
    assert result.audited == [B] and result.plan.unchanged == [A]
    assert result.hashed_bytes == roster.stat().st_size  # only the changed file was read
    detail = json.loads(runs(out)["detail"].iloc[-1])
    assert detail["audited"] == [B] and detail["skipped"] == [A] and detail["rules_rerun_for_all_classes"]
    assert "S004" in set(tables(out)["trainees"]["trainee_id"])
    assert_same_tables(out, clean_run(root, tmp_path))


def test_a_new_class_brings_cross_class_findings_to_an_unchanged_class(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    nightly(root, out)
    assert not {"TEACHER_CONFLICT", "CLASS_MERGED"} & set(tables(out)["findings"]["rule_id"])

    ClassWriter(root, C, SAME_INSTITUTION).default()  # same teacher, same room, same hours as class A
    result = nightly(root, out)
    assert result.audited == [C] and sorted(result.plan.unchanged) == [A, B]
    findings = tables(out)["findings"]
    cross = findings[findings["rule_id"].isin(["TEACHER_CONFLICT", "CLASS_MERGED"])]
    assert set(cross["class_id"]) == {A, C}  # A's inputs did not change, its findings did
    assert_same_tables(out, clean_run(root, tmp_path))


def test_removed_class_loses_its_rows_and_changed_settings_redo_everything(tmp_path):
    root, out = make_archive(tmp_path / "archive", ((A, SAME_INSTITUTION), (B, "370900-0033"),
                                                     (C, SAME_INSTITUTION))), tmp_path / "out"
    nightly(root, out)
    shutil.rmtree(root / C)
    result = nightly(root, out)
    assert result.plan.vanished == [C] and result.audited == []
    assert C not in set(tables(out)["classes"]["class_id"])
    assert_same_tables(out, clean_run(root, tmp_path))

    english = nightly(root, out, lang="en")
    assert sorted(english.audited) == [A, B]
    assert set(english.plan.changed.values()) == {"configuration, rule packs or pipeline version changed"}


def test_an_empty_archive_root_changes_nothing(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    nightly(root, out)
    before = published(out)
    empty = tmp_path / "unmounted"
    empty.mkdir()
    with pytest.raises(EmptyArchive):
        nightly(empty, out)
    assert published(out) == before
    assert runs(out)["status"].iloc[-1] == "failed"


# -- one run at a time ------------------------------------------------------------------------------------

def test_second_concurrent_run_exits_4_and_a_killed_holders_lock_is_taken_over(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    holder = start_paused(root, out, "locked", tmp_path)
    try:
        started = time.monotonic()
        refused = cli(root, out)
        _, err = refused.communicate(timeout=120)
        assert refused.returncode == 4, err
        assert "holds" in err and f"pid {holder.pid}" in err
        waited = cli(root, out, "--wait", "--wait-timeout", "1")
        _, err = waited.communicate(timeout=120)
        assert waited.returncode == 4 and time.monotonic() - started >= 1, err
    finally:
        kill(holder)

    after = cli(root, out)
    _, err = after.communicate(timeout=300)
    assert after.returncode == 0, err
    assert "took over" in err and str(holder.pid) in err
    log = [json.loads(line) for p in (out / "logs").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert any(e["event"] == "lock_taken_over" and e["previous"]["pid"] == holder.pid for e in log)
    assert_same_tables(out, clean_run(root, tmp_path))


def test_waiting_run_starts_when_the_holder_finishes(tmp_path):
    root, out = make_archive(tmp_path / "archive", ((A, SAME_INSTITUTION),)), tmp_path / "out"
    marker = tmp_path / "paused"
    holder = cli(root, out, env={"TRAINAUDIT_TEST_PAUSE_AT": "locked", "TRAINAUDIT_TEST_PAUSE_FILE": str(marker),
                                 "TRAINAUDIT_TEST_PAUSE_S": "2"})
    wait_for(marker, holder)
    waiter = cli(root, out, "--wait")
    assert holder.wait(timeout=300) == 0
    _, err = waiter.communicate(timeout=300)
    assert waiter.returncode == 0, err
    assert list(runs(out)["audited"]) == [1, 0]  # the waiter saw the holder's finished manifest


# -- crash safety -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("point", ["locked", "planned", "write:1", "write:2", "tables-published",
                                   "manifest-written"])
def test_killed_run_leaves_tables_whole_and_the_next_run_equals_a_clean_run(tmp_path, point):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    nightly(root, out)
    before = published(out)
    ClassWriter(root, C, SAME_INSTITUTION).default()  # new class: cross-class findings change in A too
    roster = root / B / "roster.csv"
    roster.write_bytes(roster.read_bytes() + "S004,钱六,370902199404044567,初训,\n".encode("gb18030"))

    kill(start_paused(root, out, point, tmp_path))
    if point in ("locked", "planned"):
        assert published(out) == before  # nothing was published yet: the tables are as they were
    for path in out.glob("*/institution_id=*/*.parquet"):
        pd.read_parquet(path)  # every file is whole

    result = nightly(root, out)
    assert result.took_over_from is not None and result.took_over_from["pid"] != os.getpid()
    assert not any(p.is_dir() for p in (out / ".staging").glob("*")), "the dead run's staging folder remains"
    assert_same_tables(out, clean_run(root, tmp_path))
    assert nightly(root, out).plan.changed == {}  # and the state is settled


def test_killed_first_run_is_completed_by_the_next(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    kill(start_paused(root, out, "write:1", tmp_path))
    assert not (out / MANIFEST_FILE).exists()
    result = nightly(root, out)
    assert sorted(result.audited) == [A, B]
    assert_same_tables(out, clean_run(root, tmp_path))


def test_tampered_published_file_is_redone(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    nightly(root, out)
    victim = next(out.glob(f"findings/institution_id=*/{B}.parquet"))
    victim.unlink()
    result = nightly(root, out)
    assert list(result.plan.changed) == [B] and "do not match" in result.plan.changed[B]
    assert victim.exists()
    assert_same_tables(out, clean_run(root, tmp_path))


# -- broken inputs ----------------------------------------------------------------------------------------

def test_broken_classes_are_recorded_and_the_rest_proceeds(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    bad_yaml = ClassWriter(root, "BAD-YAML").default()
    bad_yaml.text("class.yaml", "class_id: [unclosed\n  institution_id: : :\n")
    bad_sheet = ClassWriter(root, "BAD-SHEET", "370900-0034").default()
    (bad_sheet.folder / "roster.csv").unlink()
    (bad_sheet.folder / "roster.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    unreadable = ClassWriter(root, "NO-YAML").default()  # class.yaml that cannot be opened at all
    (unreadable.folder / "class.yaml").unlink()
    (unreadable.folder / "class.yaml").symlink_to(unreadable.folder / "missing.yaml")

    process = cli(root, out)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 1, err  # completed, with failures
    assert "FAILED BAD-YAML" in err and "FAILED NO-YAML" in err
    row = runs(out).iloc[-1]
    assert row["status"] == "completed_with_failures" and row["failed"] == 2
    assert set(json.loads(row["detail"])["failed"]) == {"BAD-YAML", "NO-YAML"}
    audited = set(tables(out)["classes"]["class_id"])
    assert {A, B, "BAD-SHEET"} <= audited  # a broken spreadsheet is a problem of its class, not a crash
    problems = read_table(out, "problems")
    assert problems["file"].astype(str).str.contains("roster.xlsx").any()
    assert problems["file"].astype(str).str.contains("BAD-YAML").any()

    again = nightly(root, out)  # unchanged broken classes are skipped but still reported
    assert again.audited == [] and set(again.failing()) == {"BAD-YAML", "NO-YAML"}
    bad_yaml.default()
    fixed = nightly(root, out)
    assert fixed.audited == ["BAD-YAML"] and set(fixed.failing()) == {"NO-YAML"}


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file permissions do not stop root from reading "
                                               "(the unreadable-class case is covered with a class.yaml that "
                                               "cannot be opened in test_broken_classes_are_recorded_...)")
def test_class_folder_without_read_permission(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    locked = root / B / "checkins"
    locked.chmod(0)
    try:
        result = nightly(root, out)
    finally:
        locked.chmod(0o755)
    assert A in result.audited
    assert B in result.audited or B in result.failed


def test_symlink_leaving_the_archive_is_refused_and_never_read(tmp_path):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    outside = tmp_path / "elsewhere" / "R201_20241008083000.mp4"
    outside.parent.mkdir()
    outside.write_bytes(b"\0" * 4096)
    (root / A / "recordings").mkdir()
    (root / A / "recordings" / outside.name).symlink_to(outside)

    result = nightly(root, out)
    assert A in result.audited
    assert result.hashed_bytes == sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    problems = read_table(out, "problems")
    refused = problems[problems["file"].astype(str).str.contains(outside.name)]
    assert len(refused) == 1 and str(outside) in str(refused["found"].iloc[0])
    log = [json.loads(line) for line in result.log_path.read_text().splitlines()]
    assert any(e["event"] == "symlink_refused" and e["file"] == f"recordings/{outside.name}" for e in log)
    assert read_table(out, "recordings").empty

    outside.write_bytes(b"\1" * 8192)  # its content is not an input of the class: nothing to redo
    assert nightly(root, out).plan.changed == {}


@pytest.mark.parametrize("kind", ["empty", "fifo"])
def test_empty_or_blocking_video_is_reported_and_the_class_audited(tmp_path, kind):
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    video = root / A / "recordings" / "R201_20241008083000.mp4"
    video.parent.mkdir()
    if kind == "empty":
        video.write_bytes(b"")
    else:
        os.mkfifo(video)  # a reader that opens it waits forever: must never be opened
    process = cli(root, out)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert set(tables(out)["classes"]["class_id"]) == {A, B}
    recordings = read_table(out, "recordings")
    if kind == "empty":
        assert len(recordings) == 1 and not recordings["readable"].iloc[0]
        assert "empty" in recordings["error"].iloc[0]
    else:  # not a regular file: ingest leaves it out; what matters here is that nothing blocked on it
        assert recordings.empty
