"""Rows into DataFrames with a table's columns (pipeline/outputs/schemas.py), in one place: every stage that
hands a table on builds it here, so a column list is written once, in the schema."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pipeline.model import Finding, Problem
from pipeline.outputs.schemas import schema


def empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in schema(table).names})


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=schema(table).names) if rows else empty(table)


def conform(data: pd.DataFrame | None, table: str) -> pd.DataFrame:
    """`data` with exactly the table's columns (missing ones empty, extra ones dropped)."""
    names = schema(table).names
    return data.reindex(columns=names) if data is not None and len(data) else empty(table)


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    return frame("findings", [{name: getattr(f, name) for name in schema("findings").names} for f in findings])


def problems_frame(problems: Sequence[Problem], class_id: str | None) -> pd.DataFrame:
    rows = [{"class_id": class_id, "file": p.file, "row": p.row, "column": p.column, "level": p.level,
             "message": p.message, "expected": p.expected, "found": p.found} for p in problems]
    return frame("problems", rows)
