"""One run at a time per output folder.

The lock is `fcntl.flock` on an open file: the kernel releases it when the holder dies, however it dies
(SIGKILL included), so a lock left behind by a crashed run is simply free again. The file also holds
who took it (pid, host, run id, when) so that a refused run can say who holds it, and a run taking over
after a crash can say whose run died. The file is never deleted: unlinking a flock'ed file lets two
processes lock two different inodes under the same name.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = ".trainaudit.lock"


class LockHeld(Exception):
    """Another live run holds the lock."""

    def __init__(self, path: Path, holder: dict | None):
        self.path = path
        self.holder = holder or {}
        who = ", ".join(f"{k} {v}" for k, v in self.holder.items() if k in ("run_id", "pid", "host", "started"))
        super().__init__(f"another trainaudit run holds {path} ({who or 'holder unknown'})")


@dataclass(frozen=True)
class Acquired:
    path: Path
    previous: dict | None  # what the file said before we took it: a crashed run's record, if any
    waited_s: float

    @property
    def took_over(self) -> bool:
        """True when the file still named a holder: that run ended without releasing (crash, kill)."""
        return bool(self.previous)


class RunLock:
    def __init__(self, out: Path, name: str = LOCK_FILE):
        self.path = Path(out) / name
        self._handle = None

    def acquire(self, run_id: str, *, wait: bool = False, timeout_s: float | None = None,
                poll_s: float = 0.5) -> Acquired:
        """Take the lock, or raise LockHeld at once (wait=False) or after timeout_s (wait=True)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if not wait or (timeout_s is not None and waited >= timeout_s):
                    holder = _read(handle)
                    handle.close()
                    raise LockHeld(self.path, holder) from None
                time.sleep(poll_s)
        previous = _read(handle)
        record = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
                  "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        self._handle = handle
        return Acquired(self.path, previous, time.monotonic() - started)

    def release(self) -> None:
        """Clear the holder record, then unlock: an empty file means the last run ended cleanly."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            handle.seek(0)
            handle.truncate()
            handle.flush()
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read(handle) -> dict | None:
    try:
        handle.seek(0)
        text = handle.read().strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return {"unparsed": True}
