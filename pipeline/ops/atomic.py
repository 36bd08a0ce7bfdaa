"""Atomic file writes, the one way every output and cache file is written.

The payload goes to a temporary file beside the target (or in a given folder on the same file system),
is flushed to disk (fsync), renamed over the target (`os.replace`), and the folder is fsynced so the
rename itself survives a crash: a reader sees the old file or the new one, never a part. A failed write
(a full disk, say) removes its temporary file and leaves the old target whole. Temporary names end in
`.tmp`, so a run that was killed mid-write leaves files that `ops/disk.remove_partial_writes` finds.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable


def temp_path(path: Path, folder: Path | None = None) -> Path:
    """A fresh temporary name for `path` (unique per call: concurrent writers never share one)."""
    path = Path(path)
    return (Path(folder) if folder is not None else path.parent) / f".{path.name}.{uuid.uuid4().hex}.tmp"


def write_atomic(path: Path, payload: bytes | str | Callable[[Path], object], *,
                 temp_dir: Path | None = None) -> None:
    """Replace `path` with `payload`: bytes, text (UTF-8), or a function that writes the file it is
    given (a Parquet or workbook writer). `temp_dir`: where the temporary file goes (default: beside
    `path`; it must be on the same file system)."""
    path = Path(path)
    temp = temp_path(path, temp_dir)
    try:
        if callable(payload):
            payload(temp)
        else:
            with open(temp, "wb") as handle:
                handle.write(payload.encode("utf-8") if isinstance(payload, str) else payload)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:  # the old file stays whole, the half-written one goes
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename into it); a file system that cannot is left as it is."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
