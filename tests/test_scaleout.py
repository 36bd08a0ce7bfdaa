"""The same audit on a Dask cluster: outputs equal the local run's; a worker killed mid-run loses nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import ClassWriter, make_clip
from pipeline.audit import audit_archive
from pipeline.outputs.store import read_table

distributed = pytest.importorskip("distributed")

COMPARED = ("classes", "recordings", "coverage", "checkins", "trainee_hours", "findings", "headcount")


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    for n, (class_id, pattern) in enumerate([("D-1", "testsrc"), ("D-2", "testsrc2")]):
        writer = ClassWriter(root / f"c{n}", class_id).default()
        rec = writer.folder / "recordings"
        make_clip(rec / "R201_20241008083000.mp4", 40, pattern)
        make_clip(rec / "R201_20241008083100.mp4", 30, "smptebars")
    return root


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in COMPARED:
        frame = read_table(out, name).drop(columns=["folder"], errors="ignore")
        frame = frame.astype("string").fillna("<null>")
        tables[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return tables


def _assert_same(a: Path, b: Path) -> None:
    left, right = _tables(a), _tables(b)
    for name in COMPARED:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


def test_dask_cluster_gives_the_local_result(archive: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    audit_archive(archive, tmp_path / "local", workers=1)
    assert len(read_table(tmp_path / "local", "recordings")) == 4
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        audit_archive(archive, tmp_path / "dask", scheduler=cluster.scheduler_address)
    _assert_same(tmp_path / "local", tmp_path / "dask")


def test_a_worker_killed_mid_run_loses_nothing(archive: Path, tmp_path: Path, monkeypatch) -> None:
    from distributed import LocalCluster

    audit_archive(archive, tmp_path / "local", workers=1)
    # Hold every task open for a few seconds so one worker dies while it works (workers inherit the env).
    monkeypatch.setenv("TRAINAUDIT_TEST_TASK_DELAY_S", "4")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        done = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                audit_archive(archive, tmp_path / "dask", scheduler=cluster.scheduler_address)
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                done.set()

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.time() + 60
        while time.time() < deadline and not any(
                cluster.scheduler.tasks.get(k) and cluster.scheduler.tasks[k].state == "processing"
                for k in list(cluster.scheduler.tasks)):
            time.sleep(0.2)
        time.sleep(1.0)
        nanny = next(iter(cluster.workers.values()))
        nanny.process.process.kill()  # SIGKILL to one worker process in the middle of its task
        assert done.wait(180), "the audit did not finish after a worker died"
        thread.join()
    assert not errors, errors
    _assert_same(tmp_path / "local", tmp_path / "dask")
