"""How a process that computes (a pool worker, the decoding child that runs the face pass) is set up:
one compute thread, and glibc allocator thresholds that stop the face detector's page faults.

The detector allocates and frees buffers of a few MB per tile and per frame. With glibc's defaults a
buffer above the (dynamic) mmap threshold is mapped and unmapped each time, and freed heap tops are
trimmed back to the kernel, so every frame faults its buffers in again: ~67,000 minor faults a 1080p
frame, a third of the audit's CPU spent in the kernel (issue 19). Raising both thresholds keeps the
freed memory in the process for the next frame (benchmarks/results/cpu_per_hour.md measures the
effect). `mallopt` applies from the call on, so it is called where the frames are processed rather
than through MALLOC_* environment variables, which only a process started afterwards would read.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3
_APPLIED: tuple[int, int] | None = None


# One compute thread: YuNet's OpenMP and numpy's OpenBLAS would otherwise each start a thread per core in
# every worker, and N workers x N threads on N cores spend their time switching (faces_speed.md measures
# both layouts). A decoding child gets these in its environment as it starts (analysis.set_child_env),
# before the face libraries load.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def one_thread_per_worker() -> None:
    """A worker process (and the children it starts, which inherit the environment) computes on one thread
    (ONE_THREAD). Set before the face libraries load, which happens on a worker's first video."""
    os.environ.update(ONE_THREAD)


def tune_allocator(mmap_threshold_bytes: int, trim_threshold_bytes: int) -> bool:
    """Set glibc's mmap and trim thresholds in this process (0 leaves one at glibc's default). Returns
    whether they are in force; False where the C library is not glibc (nothing is changed there).
    Setting the same values again costs nothing."""
    global _APPLIED
    wanted = (int(mmap_threshold_bytes), int(trim_threshold_bytes))
    if wanted == (0, 0):
        return False
    if _APPLIED == wanted:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = True
    if wanted[0]:
        ok &= mallopt(_M_MMAP_THRESHOLD, min(wanted[0], 2**31 - 1)) == 1
    if wanted[1]:
        ok &= mallopt(_M_TRIM_THRESHOLD, min(wanted[1], 2**31 - 1)) == 1
    _APPLIED = wanted if ok else None
    return bool(ok)


def release_free_memory() -> bool:
    """Give the memory this process holds free back to the system (glibc `malloc_trim(0)`: the heap's top
    and every free page inside it). Called between files and after enrolling a class's photos: with the
    thresholds above a decoding child otherwise keeps its largest working set (a 2048 px enrollment photo's
    detection: ~580 MB) for as long as it lives. Returns whether anything was released; False where the C
    library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim(0) == 1
