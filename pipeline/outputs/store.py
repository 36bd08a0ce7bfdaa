"""Publish tables as hive-partitioned Parquet, atomically, one file per class and table.

Layout: `OUT/<table>/institution_id=<id>/<class key>.parquet`, and `OUT/runs/<run_id>.parquet`. A file is
written under `OUT/.staging/`, fsynced, then moved into place with `os.replace`: a reader sees the old
file or the new one, never half of one. Re-running a class replaces its files (and removes files of
tables where the class now has no rows), so rows are never duplicated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import uuid
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.ingest.values import is_null
from pipeline.outputs.schemas import PARTITION_KEY, TABLES, UNPARTITIONED, schema

STAGING = ".staging"


class SchemaError(ValueError):
    """Rows that do not fit their table's schema; lists every offending column."""


def class_key(class_id: str) -> str:
    """A file-name-safe, collision-free key for a class id."""
    safe = re.sub(r"[^0-9A-Za-z_.\-\u4e00-\u9fff]", "_", class_id)
    if safe != class_id:
        import hashlib

        safe += "-" + hashlib.sha1(class_id.encode("utf-8")).hexdigest()[:8]
    return safe


def partition_value(value: str) -> str:
    return re.sub(r"[/\\=]", "_", value)


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
        return pa.array([None if is_null(v) else str(v) for v in values], type=type_)
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
        temp = self.staging / f"{uuid.uuid4().hex}.parquet"
        pq.write_table(table, temp, compression="zstd")
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
        _fsync_dir(target.parent)

    def write_class(self, class_id: str, institution_id: str, tz: str, tables: dict[str, pd.DataFrame | list]) -> None:
        """Replace every table's rows for one class (tables not given are left as they are)."""
        key = class_key(class_id)
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
        target = self.out / "runs" / f"{run_id}.parquet"
        self._publish(to_arrow("runs", [row], "UTC"), target)
        return target

    def close(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        parent = self.staging.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
