"""The per-recording analysis cache's file format: JSON for the structure, ``.npy`` blocks for arrays.

Pickle would run whatever code a cache file names when it is loaded, so anyone able to write the cache
folder could run code in the auditor's process. This format can only describe data: JSON values, numpy
arrays (loaded with ``allow_pickle=False``), paths, tuples, dates and times (with their zone) and the
dataclasses the caller lists when it loads (``loads(data, types)``); a file naming anything else is
refused. The nightly run's stored cross-class views (pipeline/crossclass.py) use the same format. A
damaged or foreign file raises ``CacheFormatError`` and the caller rebuilds the entry. The codec imports
nothing of the pipeline: the modules whose records it stores import it.

Layout: one JSON line (``{"format": ..., "sha256": <of the rest>}``), the JSON body (one line), then the
arrays as ``.npy`` blocks in the order the body refers to them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np

FORMAT = "trainaudit-analysis/1"


class CacheFormatError(ValueError):
    """The bytes are not a cache entry this version wrote (damaged, foreign or from another format)."""


def _zone(value: dt.datetime) -> str | None:
    """The zone's name (zoneinfo or pytz), so a time comes back in its zone, not a fixed offset."""
    tz = value.tzinfo
    return getattr(tz, "key", None) or getattr(tz, "zone", None) if tz is not None else None


def _time(v: dict) -> Any:
    import pandas as pd

    if v["__time__"] is None:
        return pd.NaT
    text = v["__time__"]
    if "." in text and len(text.split(".", 1)[1].split("+")[0].split("-")[0].rstrip("Z")) > 6:
        value = pd.Timestamp(text)  # nanoseconds: only pandas keeps them
    else:
        value = dt.datetime.fromisoformat(text)  # a tenth of pd.Timestamp's parsing time
    if v.get("zone") and value.tzinfo is not None:
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo(v["zone"]))
    if v.get("kind") == "timestamp":
        return pd.Timestamp(value)
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def dumps(value: Any) -> bytes:
    arrays: list[np.ndarray] = []

    def enc(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {"__type__": type(v).__name__, **{f.name: enc(getattr(v, f.name)) for f in dataclasses.fields(v)}}
        if isinstance(v, np.ndarray):
            arrays.append(v)
            return {"__array__": len(arrays) - 1}
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, dt.datetime):  # pandas Timestamps (and NaT) included
            if v != v:  # NaT
                return {"__time__": None}
            kind = "timestamp" if type(v).__name__ == "Timestamp" else "datetime"
            return {"__time__": v.isoformat(), "zone": _zone(v), "kind": kind}
        if isinstance(v, dt.date):
            return {"__date__": v.isoformat()}
        if isinstance(v, Path):
            return {"__path__": str(v)}
        if isinstance(v, tuple):
            return {"__tuple__": [enc(x) for x in v]}
        if isinstance(v, list):
            return [enc(x) for x in v]
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise TypeError("cache dict keys must be text")
            return {"__dict__": {k: enc(x) for k, x in v.items()}}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        raise TypeError(f"cannot store a {type(v).__name__} in the analysis cache")

    # file names in GBK bytes are kept by Python as surrogates: stored as the bytes they stand for
    body = json.dumps(enc(value), ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogateescape") + b"\n"
    blocks = io.BytesIO()
    for a in arrays:
        np.save(blocks, np.ascontiguousarray(a), allow_pickle=False)
    return _framed(body + blocks.getvalue(), FORMAT)


def _framed(rest: bytes, format: str) -> bytes:
    """`rest` (the JSON body line and the arrays) under its head line: the format and the checksum."""
    return json.dumps({"format": format, "sha256": hashlib.sha256(rest).hexdigest()}).encode() + b"\n" + rest


def _verified(data: bytes, format: str) -> bytes:
    """What follows the head line, once the head names `format` and its checksum matches the bytes;
    CacheFormatError otherwise."""
    head_line, _, rest = data.partition(b"\n")
    try:
        head = json.loads(head_line)
        digest = head.get("sha256") if head.get("format") == format else None
    except (ValueError, AttributeError) as exc:
        raise CacheFormatError(f"not an analysis cache entry: {exc}") from exc
    if digest is None:
        raise CacheFormatError(f"format {head.get('format')!r}, expected {format!r}")
    if hashlib.sha256(rest).hexdigest() != digest:
        raise CacheFormatError("checksum mismatch")
    return rest


PLAIN_FORMAT = "trainaudit-plain/1"


def dumps_plain(body: Any, arrays: Iterable[np.ndarray] = ()) -> bytes:
    """JSON values only (no records, tuples, paths or times: json's C encoder writes them in one call) and
    numpy arrays after them, in the layout of `dumps`; for an index read on every run (crossindex.py)."""
    text = json.dumps(body, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogateescape") + b"\n"
    blocks = io.BytesIO()
    for a in arrays:
        np.save(blocks, np.ascontiguousarray(a), allow_pickle=False)
    return _framed(text + blocks.getvalue(), PLAIN_FORMAT)


def loads_plain(data: bytes) -> tuple[Any, list[np.ndarray]]:
    """What `dumps_plain` wrote: the JSON body and the arrays."""
    rest = _verified(data, PLAIN_FORMAT)
    try:
        body_line, _, blocks = rest.partition(b"\n")
        body = json.loads(body_line.decode("utf-8", "surrogateescape"))
        stream, arrays = io.BytesIO(blocks), []
        while stream.tell() < len(blocks):
            arrays.append(np.load(stream, allow_pickle=False))
        return body, arrays
    except (ValueError, OSError, EOFError) as exc:
        raise CacheFormatError(f"not a plain cache entry: {exc}") from exc


def loads(data: bytes, types: Iterable[type] = ()) -> Any:
    """The value `dumps` wrote. Records are rebuilt only as one of `types` (dataclasses, by name): the
    caller says what it expects (recording_task.analysis_types, crossclass.view_types); any other record
    name is refused."""
    rest = _verified(data, FORMAT)
    try:
        body_line, _, blocks = rest.partition(b"\n")
        body = json.loads(body_line.decode("utf-8", "surrogateescape"))
    except (ValueError, AttributeError) as exc:
        raise CacheFormatError(f"not an analysis cache entry: {exc}") from exc
    stream = io.BytesIO(blocks)
    arrays: dict[int, np.ndarray] = {}
    types = {t.__name__: t for t in types}
    field_names: dict[type, set[str]] = {}

    def array(k: int) -> np.ndarray:
        while len(arrays) <= k:
            try:
                arrays[len(arrays)] = np.load(stream, allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise CacheFormatError(f"array block {len(arrays)}: {exc}") from exc
        return arrays[k]

    def dec(v: Any) -> Any:
        if isinstance(v, list):
            return [dec(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "__array__" in v:
            return array(int(v["__array__"]))
        if "__path__" in v:
            return Path(v["__path__"])
        if "__time__" in v:
            return _time(v)
        if "__date__" in v:
            return dt.date.fromisoformat(v["__date__"])
        if "__tuple__" in v:
            return tuple(dec(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {k: dec(x) for k, x in v["__dict__"].items()}
        name = v.get("__type__")
        if name not in types:
            raise CacheFormatError(f"unknown record type {name!r}")
        cls = types[name]
        names = field_names.get(cls)
        if names is None:  # once per record type: a stored view holds thousands of records
            names = field_names[cls] = {f.name for f in dataclasses.fields(cls)}
        fields = {k: dec(x) for k, x in v.items() if k != "__type__"}
        if set(fields) - names:
            raise CacheFormatError(f"{name}: unknown fields {sorted(set(fields) - names)}")
        try:
            return cls(**fields)
        except TypeError as exc:
            raise CacheFormatError(f"{name}: {exc}") from exc

    return dec(body)
