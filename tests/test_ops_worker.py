"""The allocator thresholds of the processes that run the face pass (pipeline/ops/worker.py, issue 19)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Buffers of 1-5 MB allocated and freed together, round after round: the pattern that makes glibc's
# defaults return the freed heap to the system and fault it in again each round (its dynamic thresholds
# follow the largest single buffer, 5 MB here, not the 15 MB held at once).
_CHURN = """
import json, resource, sys
import numpy as np
from pipeline.ops.worker import tune_allocator
applied = tune_allocator(int(sys.argv[1]), int(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    bufs = [np.ones(mb << 17) for mb in range(1, 6)]  # 1-5 MB of float64, touched
    del bufs
print(json.dumps({"applied": applied, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def _churn(mmap_bytes: int, trim_bytes: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHURN, str(mmap_bytes), str(trim_bytes)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_thresholds_stop_freed_buffers_being_faulted_in_again() -> None:
    default = _churn(0, 0)
    tuned = _churn(33554432, 2147483647)
    assert default["applied"] is False and tuned["applied"] is True
    # measured: ~47,000 faults with the defaults (most rounds fault their buffers in again), ~2,300 tuned
    assert default["faults"] > 20_000
    assert tuned["faults"] < default["faults"] / 5


def test_an_out_of_range_threshold_is_refused_by_the_configuration(tmp_path) -> None:
    from pipeline.config import load_pipeline_config
    from pipeline.settings import SettingsError

    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nrun:\n  malloc_mmap_threshold_bytes: 67108864\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="malloc_mmap_threshold_bytes"):
        load_pipeline_config(path)


_HOLD = """
import json, sys
import numpy as np
from pipeline.ops.worker import release_free_memory, tune_allocator
def rss_mb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS"))
tune_allocator(33554432, 2147483647)
start = rss_mb()
bufs = [np.ones(1 << 17) for _ in range(300)]  # 300 MB in 1 MB buffers, on the heap (below the mmap threshold)
bufs.reverse()  # freed from the top down, then fresh buffers above them keep the heap from shrinking
keep = np.ones(1 << 17)
del bufs
held = rss_mb()
released = release_free_memory()
print(json.dumps({"start": start, "held": held, "after": rss_mb(), "released": released}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_free_memory_kept_by_the_thresholds_is_given_back_between_files() -> None:
    out = json.loads(subprocess.run([sys.executable, "-c", _HOLD], capture_output=True, text=True,
                                    check=True).stdout)
    assert out["held"] - out["start"] > 250  # the tuned thresholds keep what was freed
    assert out["released"] is True
    assert out["held"] - out["after"] > 250


def _thresholds_after_tuning(task) -> object:
    """Run in a fresh process: the thresholds in force after the decoding child's policy (analysis)."""
    from pipeline import analysis
    from pipeline.ops import worker

    analysis._tune_allocator(task)
    return worker._APPLIED


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_thresholds_apply_where_the_detector_frees_its_buffers_every_frame() -> None:
    """libfacedetection (yuface) frees its buffers on every frame: its children get the thresholds; OpenCV's
    YuNet keeps its own, and its children keep glibc's defaults (no CPU saved, ~11 MB held)."""
    import dataclasses
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.analysis import RecordingTask
    from pipeline.config import load_pipeline_config

    config = load_pipeline_config()
    malloc = (config.run.malloc_mmap_threshold_bytes, config.run.malloc_trim_threshold_bytes)
    opencv = RecordingTask("C", "x.mp4", config.video, config.faces, None, None, malloc=malloc)
    assert opencv.faces.yunet_runtime == "opencv" and malloc != (0, 0)
    yuface = dataclasses.replace(opencv, faces=config.faces.replace(yunet_runtime="yuface"))
    context = multiprocessing.get_context("spawn")
    for task, expected in ((opencv, None), (yuface, malloc)):
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            assert pool.submit(_thresholds_after_tuning, task).result(timeout=120) == expected
