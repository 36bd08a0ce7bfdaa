"""Publish tables as hive-partitioned Parquet, atomically, one file per class and table.

Layout: `OUT/<table>/institution_id=<id>/<class key>.parquet`, and `OUT/runs/<run_id>.parquet`. A file is
written under `OUT/.staging/`, fsynced, then moved into place with `os.replace`: a reader sees the old
file or the new one, never half of one. Re-running a class replaces its files (and removes files of
tables where the class now has no rows), so rows are never duplicated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import unicodedata
import uuid
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.ingest.confine import display_name
from pipeline.ingest.values import is_null
from pipeline.ops.atomic import write_atomic
from pipeline.outputs.schemas import PARTITION_KEY, TABLES, UNPARTITIONED, schema

STAGING = ".staging"


class SchemaError(ValueError):
    """Rows that do not fit their table's schema; lists every offending column."""


_KEY_UNSAFE = re.compile(r"[^0-9A-Za-z_\-\u4e00-\u9fff]+")
_KEY_HASHED = re.compile(r"-[0-9a-f]{10}$")
_KEY_MAX_CHARS = 60  # 180 bytes of UTF-8 at most, well under the 255 bytes of a file name


def class_key(class_id: str) -> str:
    """A file name for a class's rows: readable, never starting with `_` or `.` (pyarrow, pandas and DuckDB
    skip such files, so a class would silently vanish from every table), and never the same for two
    class ids. An id that is not already a plain name is normalised (NFKC: full-width brackets become
    ASCII), its unsafe characters become `-`, and a hash of the original id is appended.

    `（2024）泰安-017` -> `2024-泰安-017-<hash>`; `TA2024-DG-017` stays as it is.
    """
    text = unicodedata.normalize("NFKC", class_id)
    safe = _KEY_UNSAFE.sub("-", text).strip("-_")[:_KEY_MAX_CHARS].strip("-_") or "class"
    if safe != class_id or _KEY_HASHED.search(class_id):  # an id that looks hashed could meet a hashed one
        digest = hashlib.sha256(class_id.encode("utf-8", "surrogateescape")).hexdigest()[:10]
        safe = f"{safe}-{digest}"
    return safe


def unreadable_key(folder: Path) -> str:
    """The file name for the problems of a folder that could not be audited as a class (no usable
    class.yaml, or a class_id already used): by its name, and a hash of its whole path, since two such
    folders of one name in different places must not overwrite each other's problems."""
    where = hashlib.sha256(os.fsencode(str(folder))).hexdigest()[:8]
    return f"{class_key(f'unreadable:{folder.name}')}-{where}"


def partition_value(value: str) -> str:
    """A hive partition value (`institution_id=<value>`): no separator, `=`, or control character."""
    return re.sub(r"[/\\=\x00-\x1f\x7f]", "_", value)[:100] or "_empty"


def to_arrow(table: str, frame: pd.DataFrame | list[dict], tz: str) -> pa.Table:
    """Conform rows to the table's schema: missing columns become nulls, extra columns are an error."""
    target = schema(table, tz)
    if isinstance(frame, list):
        frame = pd.DataFrame(frame)
    extra = [c for c in frame.columns if c not in target.names and c != PARTITION_KEY]
    if extra:
        raise SchemaError(f"{table}: columns not in the schema: {', '.join(extra)}")
    arrays, problems = [], []
    for field in target:
        if field.name not in frame.columns or len(frame) == 0:
            arrays.append(pa.nulls(len(frame), type=field.type))
            continue
        values = frame[field.name]
        try:
            arrays.append(_array(values, field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            problems.append(f"{table}.{field.name}: expected {field.type}, found {values.dtype} ({exc})")
    if problems:
        raise SchemaError("; ".join(problems))
    return pa.Table.from_arrays(arrays, schema=target)


def _array(values: pd.Series, type_: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(type_):
        converted = pd.to_datetime(values, utc=True)
        return pa.array(converted, type=pa.timestamp("us", tz="UTC")).cast(type_)
    if pa.types.is_date32(type_):
        return pa.array([None if is_null(v) else pd.Timestamp(v).date() for v in values], type=type_)
    if pa.types.is_string(type_):
        texts = [None if is_null(v) else str(v) for v in values]
        try:
            return pa.array(texts, type=type_)
        except UnicodeEncodeError:  # a file name in GBK bytes (kept by Python as surrogates): shown decoded
            return pa.array([None if t is None else display_name(t) for t in texts], type=type_)
    if pa.types.is_list(type_):
        return pa.array([None if v is None else [int(x) for x in v] for v in values], type=type_)
    if pa.types.is_integer(type_):
        return pa.array([None if is_null(v) else int(v) for v in values], type=type_)
    if pa.types.is_floating(type_):
        return pa.array([None if is_null(v) else float(v) for v in values], type=type_)
    if pa.types.is_boolean(type_):
        return pa.array([None if is_null(v) else bool(v) for v in values], type=type_)
    return pa.array(values, type=type_)


class Store:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.staging = self.out / STAGING / uuid.uuid4().hex
        self.staging.mkdir(parents=True, exist_ok=True)
        # Who owns this folder, so a later run can prune the folders of dead runs and only those
        # (pipeline/ops/disk.py: prune_staging).
        owner = {"pid": os.getpid(), "host": socket.gethostname()}
        (self.staging / "owner.json").write_text(json.dumps(owner), encoding="utf-8")

    def _publish(self, table: pa.Table, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # a full disk, say: the published file is the old one, the half-written one goes
        write_atomic(target, lambda temp: pq.write_table(table, temp, compression="zstd"), temp_dir=self.staging)

    def write_class(self, class_id: str, institution_id: str, tz: str, tables: dict[str, pd.DataFrame | list],
                    *, key: str | None = None) -> None:
        """Replace every table's rows for one class (tables not given are left as they are); `key` names the
        files when they are not the class's own (see unreadable_key)."""
        key = key or class_key(class_id)
        for name, rows in tables.items():
            if name in UNPARTITIONED:
                raise ValueError(f"{name} is not a per-class table")
            arrow = to_arrow(name, rows, tz)
            target = self.out / name / f"{PARTITION_KEY}={partition_value(institution_id)}" / f"{key}.parquet"
            self._remove_elsewhere(name, key, keep=target)
            if arrow.num_rows == 0:
                if target.exists():
                    target.unlink()
                continue
            self._publish(arrow, target)

    def remove_class(self, class_id: str, tables: Iterable[str] = TABLES) -> None:
        key = class_key(class_id)
        for name in tables:
            if name not in UNPARTITIONED:
                self._remove_elsewhere(name, key, keep=None)

    def _remove_elsewhere(self, table: str, key: str, keep: Path | None) -> None:
        folder = self.out / table
        if not folder.is_dir():
            return
        for old in folder.glob(f"{PARTITION_KEY}=*/{key}.parquet"):
            if keep is None or old != keep:
                old.unlink(missing_ok=True)

    def write_run(self, run_id: str, row: dict) -> Path:
        """The run's row in `runs` (build it with `run_row`)."""
        target = self.out / "runs" / f"{run_id}.parquet"
        self._publish(to_arrow("runs", [row], "UTC"), target)
        return target

    def close(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        parent = self.staging.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def read_table(out: Path, table: str) -> pd.DataFrame:
    """Read one published table (all partitions) with its schema's columns, even when empty."""
    folder = Path(out) / table
    files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
    target = schema(table)
    if not files:
        frame = target.empty_table().to_pandas()
        if table not in UNPARTITIONED:
            frame[PARTITION_KEY] = pd.Series(dtype="object")
        return frame
    frames = []
    for path in files:
        data = pq.read_table(path).to_pandas()
        if table not in UNPARTITIONED:
            part = path.parent.name.split("=", 1)[1] if "=" in path.parent.name else None
            data[PARTITION_KEY] = part
        frames.append(data)
    frames = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(frames, ignore_index=True)


def run_row(*, run_id: str, started: dt.datetime, finished: dt.datetime, config_hash: str | None, mode: str,
            archive: Path, classes: int, audited: int, skipped: int, failed: int, findings: int, errors: int,
            status: str, detail: dict) -> dict:
    """A row of the `runs` table, the one shape `audit` and `nightly` both write."""
    import pipeline

    return {"run_id": run_id, "started": started, "finished": finished, "pipeline_version": pipeline.__version__,
            "config_hash": config_hash, "mode": mode, "archive": str(archive), "classes": classes,
            "audited": audited, "skipped": skipped, "failed": failed, "findings": findings, "errors": errors,
            "duration_s": (finished - started).total_seconds(), "status": status,
            "detail": json.dumps(detail, ensure_ascii=False, default=str)}
