"""Typed rows of the evidence frames the rules walk row by row: a frozen record per frame, its fields the
frame's schema columns in order (pipeline/outputs/schemas.py; tests/test_rules_typed_evidence.py keeps them
equal), so a rule reads `row.observed_min`, not `row["observed_min"]`. Nulls stay as the frame holds them
(NaN or None); whole-column arithmetic stays on the frames."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd

Row = TypeVar("Row")


def typed_rows(frame: pd.DataFrame, record: type[Row]) -> list[Row]:
    """The rows of `frame` (all of its schema's columns; extra ones ignored) as `record`s."""
    names = [f.name for f in dataclasses.fields(record)]
    return [record(*values) for values in frame[names].itertuples(index=False, name=None)]


@dataclass(frozen=True)
class HoursRow:
    """One trainee_hours row. Minutes and 学时 are NaN where the frame holds a null."""

    class_id: str
    trainee_id: str
    session_id: str
    date: dt.date
    kind: str
    mode: str
    scheduled_min: float
    recorded_min: float
    observed_min: float
    checked_in: bool
    checkin_method: str | None
    checkin_events: int
    credited_hours: float
    observed_hours: float


@dataclass(frozen=True)
class RecordingRow:
    """One recordings row (a file of the class, probed)."""

    class_id: str
    path: str  # the recording_id
    camera_id: str | None
    room: str | None
    role: str | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    duration_min: float | None
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    sha256: str | None
    size_bytes: int | None
    readable: bool | None
    error: str | None
    start_source: str | None


@dataclass(frozen=True)
class BlankRow:
    """One blanks row: a black, frozen or covered stretch of a recording (video/blank.py)."""

    class_id: str
    path: str
    camera_id: str | None
    session_id: str | None
    kind: str | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    start_offset_s: float | None
    end_offset_s: float | None
    snapshot_offset_s: float | None
    snapshot_path: str | None
    before_offset_s: float | None


@dataclass(frozen=True)
class EnrollmentPairRow:
    """One enrollment_pairs row: two trainees whose enrollment photos show one face (the face stage's gallery)."""

    person_a: str
    person_b: str
    distance: float
