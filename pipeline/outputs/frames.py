"""Rows into DataFrames with a table's columns (pipeline/outputs/schemas.py), in one place: every stage that
hands a table on builds it here, so a column list is written once, in the schema."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pandas as pd

from pipeline.model import Finding, Problem
from pipeline.outputs.schemas import schema


@functools.lru_cache(maxsize=None)
def _names(table: str) -> tuple[str, ...]:
    """A table's column names (the same in every time zone); schema() builds every table's fields per call,
    and check_evidence runs for each of a nightly run's stored classes."""
    return tuple(schema(table).names)


_EMPTY: dict[str, pd.DataFrame] = {}  # table -> its empty frame, built once (copied out, never handed out)


def empty(table: str) -> pd.DataFrame:
    """A table's empty frame (object columns). Built once per table and copied: building one costs ~2 ms
    (a Series per column), copying it ~0.02 ms, and a nightly run builds seven per stored class."""
    template = _EMPTY.get(table)
    if template is None:
        template = _EMPTY[table] = pd.DataFrame({name: pd.Series(dtype="object") for name in schema(table).names})
    return template.copy()


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=schema(table).names) if rows else empty(table)


def conform(data: pd.DataFrame | None, table: str) -> pd.DataFrame:
    """`data` with exactly the table's columns (missing ones empty, extra ones dropped)."""
    names = schema(table).names
    return data.reindex(columns=names) if data is not None and len(data) else empty(table)


# ClassEvidence field -> the schema its frame follows (attendance.build makes them, the rules read them)
EVIDENCE_SCHEMAS = {"recordings": "recordings", "coverage": "coverage", "headcount": "headcount",
                    "sightings": "sightings", "presence": "presence", "blanks": "blanks", "unknowns": "unknowns",
                    "checkin_sessions": "checkins", "hours": "trainee_hours", "enrollment_pairs": "enrollment_pairs"}
OPTIONAL = ("hours", "enrollment_pairs")  # None: not built (hours), the face stage compared no gallery (pairs)


def check_evidence(evidence) -> None:
    """Every frame of a ClassEvidence is a DataFrame with its schema's columns; raises ValueError naming
    each frame and the columns it lacks. Rules read columns by name: a missing one is an error here, not a
    rule that silently reads it as empty."""
    wrong = []
    for name, table in EVIDENCE_SCHEMAS.items():
        data = getattr(evidence, name)
        if data is None and name in OPTIONAL:
            continue
        if not isinstance(data, pd.DataFrame):
            wrong.append(f"{name}: expected a DataFrame, found {type(data).__name__}")
            continue
        columns = set(data.columns)
        missing = [c for c in _names(table) if c not in columns]
        if missing:
            wrong.append(f"{name}: missing columns {missing} (expected the columns of schemas.{table})")
    if wrong:
        raise ValueError("class evidence does not follow pipeline/outputs/schemas.py: " + "; ".join(wrong))


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    return frame("findings", [{name: getattr(f, name) for name in schema("findings").names} for f in findings])


def problems_frame(problems: Sequence[Problem], class_id: str | None) -> pd.DataFrame:
    rows = [{"class_id": class_id, "file": p.file, "row": p.row, "column": p.column, "level": p.level,
             "message": p.message, "expected": p.expected, "found": p.found} for p in problems]
    return frame("problems", rows)
