"""Bounded disk: LRU eviction of the face/video cache, pruning of dead runs' staging folders and old logs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

OWNER_FILE = "owner.json"  # written by pipeline.outputs.store.Store into its staging folder
SHA_PREFIX_CHARS = 32  # cache entries are named after the video's SHA-256 (analysis: 64 chars, faces: 32)


@dataclass(frozen=True)
class Eviction:
    entries: int
    bytes_before: int
    bytes_after: int
    evicted: int
    evicted_bytes: int
    touched: int
    evicted_in_use: int  # entries of videos still in the archive: the limit is below the working set


def _cache_entries(cache_dir: Path) -> list[tuple[Path, os.stat_result]]:
    entries = []
    for dirpath, _, filenames in os.walk(cache_dir):
        for name in filenames:
            path = Path(dirpath) / name
            try:
                entries.append((path, path.stat()))
            except OSError:
                continue
    return entries


def evict_cache(cache_dir: Path, max_bytes: int, in_use_sha256: Iterable[str] = ()) -> Eviction:
    """Keep the cache under max_bytes, evicting least recently used entries first.

    "Recently used" is max(atime, mtime): atime is not updated on noatime mounts, so entries of videos
    still in the archive (in_use_sha256) are touched first and are the last to go."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return Eviction(0, 0, 0, 0, 0, 0, 0)
    in_use = {sha[:SHA_PREFIX_CHARS] for sha in in_use_sha256}
    now = time.time()
    touched = 0
    entries = []
    for path, st in _cache_entries(cache_dir):
        if path.name.endswith(".tmp") and now - st.st_mtime > 3600:  # a writer killed mid-write
            path.unlink(missing_ok=True)
            continue
        if path.name[:SHA_PREFIX_CHARS] in in_use:
            try:
                os.utime(path, (now, now))
                touched += 1
                st = path.stat()
            except OSError:
                pass
        entries.append((max(st.st_atime, st.st_mtime), st.st_size, path))
    total = sum(size for _, size, _ in entries)
    before, evicted, evicted_bytes, evicted_in_use = total, 0, 0, 0
    for _, size, path in sorted(entries, key=lambda e: (e[0], str(e[2]))):
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size
        evicted += 1
        evicted_bytes += size
        evicted_in_use += path.name[:SHA_PREFIX_CHARS] in in_use
    _remove_empty_dirs(cache_dir)
    return Eviction(len(entries), before, total, evicted, evicted_bytes, touched, evicted_in_use)


def _remove_empty_dirs(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        if Path(dirpath) != root:
            try:
                os.rmdir(dirpath)  # fails, harmlessly, while the folder holds anything
            except OSError:
                pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def prune_staging(out: Path, max_age_s: float) -> list[Path]:
    """Remove staging folders of runs that are gone: their owner process is dead (same host), or, with no
    owner this host can check, nothing in them changed for max_age_s. A live run's folder is kept.
    Call it holding the run lock, before this process opens a Store."""
    staging = Path(out) / ".staging"
    if not staging.is_dir():
        return []
    removed, host, now = [], socket.gethostname(), time.time()
    for folder in staging.iterdir():
        if not folder.is_dir():
            continue
        owner = _read_owner(folder / OWNER_FILE)
        if owner and owner.get("host") == host and isinstance(owner.get("pid"), int):
            # A live run may spend hours on video before writing, so age says nothing. Our own pid is a
            # dead run's too: the caller holds the lock and has no staging folder yet (in a container,
            # every run is pid 1).
            dead = owner["pid"] == os.getpid() or not pid_alive(owner["pid"])
        else:
            dead = now - _newest_mtime(folder) > max_age_s
        if dead:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _read_owner(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _newest_mtime(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for path in folder.rglob("*"):
        try:
            newest = max(newest, path.stat().st_mtime)
        except OSError:
            continue
    return newest


def prune_logs(folder: Path, keep_days: float, pattern: str = "nightly-*.jsonl") -> list[Path]:
    if not Path(folder).is_dir():
        return []
    cutoff = time.time() - keep_days * 86400
    removed = []
    for path in Path(folder).glob(pattern):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def remove_partial_writes(out: Path) -> list[Path]:
    """`*.tmp` files under OUT/evidence, OUT/report and OUT/.trainaudit-cross (stored cross-class views), and
    `.NAME.*.tmp` beside OUT's manifest: a writer
    stopped mid-write (a full disk, a kill) left them; every writer there renames its temporary file into
    place, so none is ever a finished output. Call it holding the run lock."""
    removed = []
    if Path(out).is_dir():
        for path in Path(out).glob(".*.tmp"):  # write_atomic's temporary files (manifest)
            if path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    for part in ("evidence", "report", ".trainaudit-cross"):
        folder = Path(out) / part
        if not folder.is_dir():
            continue
        for dirpath, _, filenames in os.walk(folder):
            for name in filenames:
                if name.endswith(".tmp"):
                    path = Path(dirpath) / name
                    path.unlink(missing_ok=True)
                    removed.append(path)
    return removed


def _size_of(folder: Path, skip: str) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != skip]
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def write_failure(exc: OSError, out: Path, cache_dir_name: str = ".trainaudit-cache") -> str:
    """What went wrong writing OUT, where, and how much space to free, in words an operator can act on."""
    from pipeline.ingest.confine import display_path

    out = Path(out)
    where = display_path(exc.filename) if exc.filename else display_path(out)
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        free = None
    outputs = _size_of(out, cache_dir_name) if out.is_dir() else 0
    need = max(outputs, 64 * 1024 * 1024)
    text = f"cannot write the outputs: {exc.strerror or exc} ({where})."
    if free is not None:
        text += f" Free space on that disk: {free / 1e6:,.0f} MB."
    text += (f" The outputs in {display_path(out)} take {outputs / 1e6:,.1f} MB; free at least "
             f"{need / 1e6:,.0f} MB and run the audit again. Half-written files are removed by the next run; "
             f"the tables published before are unchanged.")
    return text
