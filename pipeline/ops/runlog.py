"""Machine-readable run log: one JSON object per line, flushed as it is written, so a run killed at any
moment leaves every event up to that moment readable."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any


class JsonLog:
    def __init__(self, path: Path, run_id: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id
        self._handle = open(self.path, "a", encoding="utf-8")

    def event(self, event: str, level: str = "info", **fields: Any) -> dict:
        record = {"ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"), "level": level,
                  "run_id": self.run_id, "pid": os.getpid(), "event": event, **fields}
        self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()
        return record

    def close(self) -> None:
        self._handle.close()
