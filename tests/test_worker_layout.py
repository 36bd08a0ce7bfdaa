"""The local worker layout (issue 19): each worker is a thread of the audit's process that supervises its own
decoding child; there is no process per worker in between. Real spawned children, no mocks."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout

import pytest

from pipeline.analysis import _in_child, set_child_env, stop_children
from pipeline.audit import make_executor
from pipeline.ops.worker import ONE_THREAD


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):  # gone before the open, or between the open and the read
        return False


def _gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.time() + within_s
    while time.time() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _child_pid_and_env() -> tuple[int, int, str | None]:
    """(this thread's child's pid, the child's parent pid, the child's OMP_NUM_THREADS)."""
    pid = _in_child(os.getpid, 120)
    return pid, _in_child(os.getppid, 120), _in_child(os.getenv, 120, "OMP_NUM_THREADS")


def test_each_worker_thread_has_its_own_child_with_one_compute_thread_and_release_ends_them():
    before = os.environ.get("OMP_NUM_THREADS")
    pool, release = make_executor(2)
    gate = threading.Barrier(2, timeout=120)  # both tasks at once: one per thread

    def task():
        gate.wait()
        return _child_pid_and_env()

    try:
        results = [f.result(timeout=300) for f in [pool.submit(task), pool.submit(task)]]
    finally:
        release()
    pids = {pid for pid, _, _ in results}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(parent == os.getpid() for _, parent, _ in results)  # children of this process, no worker between
    assert all(env == ONE_THREAD["OMP_NUM_THREADS"] for _, _, env in results)
    assert os.environ.get("OMP_NUM_THREADS") == before  # the audit's own environment is left as it was
    assert all(_gone(pid) for pid in pids)  # releasing the executor ends the children


def test_a_child_that_times_out_is_killed_and_the_other_threads_child_goes_on():
    pids: dict[str, int] = {}
    errors: dict[str, BaseException] = {}
    started = threading.Barrier(2, timeout=120)

    def stuck():
        set_child_env(ONE_THREAD)
        pids["stuck"] = _in_child(os.getpid, 120)
        started.wait()
        try:
            _in_child(time.sleep, 1.0, 60)
        except BaseException as exc:  # noqa: BLE001 - checked below
            errors["stuck"] = exc

    def steady():
        pids["steady"] = _in_child(os.getpid, 120)
        started.wait()
        time.sleep(3.0)  # after the other child was killed
        pids["steady_again"] = _in_child(os.getpid, 120)

    threads = [threading.Thread(target=stuck), threading.Thread(target=steady)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert isinstance(errors.get("stuck"), FutureTimeout)
        assert _gone(pids["stuck"])
        assert pids["steady_again"] == pids["steady"] and _alive(pids["steady"])
    finally:
        stop_children()
    assert _gone(pids["steady"])


@pytest.mark.parametrize("env", [None, ONE_THREAD])
def test_set_child_env_only_reaches_the_children_of_that_thread(env):
    result = {}

    def run():
        set_child_env(env)
        result["env"] = _in_child(os.getenv, 120, "OPENBLAS_NUM_THREADS")

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(300)
    stop_children()
    assert result["env"] == (env["OPENBLAS_NUM_THREADS"] if env else os.environ.get("OPENBLAS_NUM_THREADS"))


# What `trainaudit` imports as it starts. A spawned decoding child imports the parent's main script again
# (multiprocessing's spawn re-runs it as __mp_main__), so whatever the command line imports at module level,
# every decoding child pays for: pandas, pyarrow and the report's lxml cost each child 89 MB and 1.6 CPU s.
HEAVY = ("pandas", "pyarrow", "lxml", "numpy", "cv2", "av", "PIL", "yuface", "dlib")
_ENTRY = """\
import sys
from pipeline.cli import main  # the first line of the `trainaudit` entry script, as pip writes it

if __name__ == "__main__":
    from pipeline.analysis import _in_child, stop_children
    print(sorted(_in_child(eval, 120, "sorted(__import__('sys').modules)")))
    stop_children()
"""


def test_the_command_line_and_its_decoding_children_start_without_the_heavy_libraries(tmp_path):
    import ast
    import subprocess
    import sys

    script = tmp_path / "trainaudit_entry.py"
    script.write_text(_ENTRY)
    done = subprocess.run([sys.executable, "-c", "import sys, pipeline.cli; print(sorted(sys.modules))"],
                          capture_output=True, text=True, timeout=120, check=True)
    cli_modules = {m.split(".")[0] for m in ast.literal_eval(done.stdout)}
    assert "click" in cli_modules  # the listing is real
    assert not cli_modules & set(HEAVY)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, check=True,
                          cwd=tmp_path)
    child_modules = {m.split(".")[0] for m in ast.literal_eval(done.stdout)}
    assert "pipeline" in child_modules and "click" in child_modules  # the child did import the entry script
    assert not child_modules & set(HEAVY)
