"""Records that cross stage boundaries.

Everything the ingest stage reads out of a class folder becomes one of these frozen dataclasses; the video,
face, attendance and rule stages take them and return new records. Times are timezone-aware datetimes in
the class's time zone. Units are in the field names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high")  # least to most severe
# The zone of a class whose class.yaml names none, and of rows that belong to no class.
DEFAULT_TZ = "Asia/Shanghai"


def worst_severity(severities: Iterable[str]) -> Severity | None:
    """The most severe of `severities` (None when there are none)."""
    ranks = [SEVERITIES.index(s) for s in severities]  # type: ignore[arg-type]
    return SEVERITIES[max(ranks)] if ranks else None


def at_least(severity: str | None, threshold: str) -> bool:
    """Whether `severity` is `threshold` or more severe."""
    return severity is not None and SEVERITIES.index(severity) >= SEVERITIES.index(threshold)  # type: ignore[arg-type]
TrainingKind = Literal["initial", "refresher"]
SessionKind = Literal["theory", "practical"]
SessionMode = Literal["offline", "online"]
ProblemLevel = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    `row` is the 1-based line of the file as a spreadsheet program shows it (header row included), so an
    inspector can open the file and go straight to it.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    expected: str | None = None
    found: str | None = None
    level: ProblemLevel = "error"
    class_id: str | None = None

    def describe(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.expected is not None:
            text += f" (expected {self.expected}"
            text += f"; found {self.found!r})" if self.found is not None else ")"
        elif self.found is not None:
            text += f" (found {self.found!r})"
        return text


@dataclass(frozen=True)
class ClassInfo:
    class_id: str
    institution_id: str
    institution_name: str | None
    job_type: str | None
    training_kind: TrainingKind
    start_date: dt.date | None
    end_date: dt.date | None
    head_teacher: str | None
    province: str
    timezone: str
    required_theory_hours: float | None  # class.yaml override; None = from the rule pack's syllabus
    required_practical_hours: float | None
    required_total_hours: float | None
    exam_registration: dt.datetime | None
    folder: Path


@dataclass(frozen=True)
class Trainee:
    class_id: str
    trainee_id: str
    name: str
    id_number: str | None  # personal data: only ever written masked
    training_kind: TrainingKind
    photos: tuple[Path, ...]
    source_row: int


@dataclass(frozen=True)
class Teacher:
    class_id: str
    teacher_id: str
    name: str | None
    photos: tuple[Path, ...]
    certificate: str | None
    experience_years: float | None
    source_row: int


@dataclass(frozen=True)
class Session:
    class_id: str
    session_id: str
    start: dt.datetime
    end: dt.datetime
    kind: SessionKind
    mode: SessionMode
    room: str | None
    teacher_id: str | None
    topic: str | None
    hours: float | None  # 学时 credited by the schedule
    source_row: int

    @property
    def date(self) -> dt.date:
        return self.start.date()

    @property
    def scheduled_min(self) -> float:
        return (self.end - self.start).total_seconds() / 60.0


VerifyMethod = Literal["face", "card", "password", "fingerprint", "manual", "other"]


@dataclass(frozen=True)
class CheckinEvent:
    class_id: str
    trainee_id: str | None  # roster id after matching; None when unmatched (see match_status)
    person_ref: str  # id as written in the export (apostrophes stripped), else the name
    name: str | None
    ts: dt.datetime
    device_id: str | None
    method: VerifyMethod
    method_raw: str | None  # the vendor's own value, kept for evidence
    is_face: bool  # a face event that nobody edited by hand: the only strong evidence
    edited: bool  # added/changed by an administrator
    direction: Literal["in", "out"] | None
    vendor: str
    source_file: str
    source_row: int
    match_status: Literal["id", "name", "unknown", "ambiguous"]
    score: float | None = None
    photo: str | None = None  # check-in snapshot path if the export carries one


@dataclass(frozen=True)
class OnlineRecord:
    class_id: str
    trainee_id: str
    course_id: str
    course_title: str | None
    session_id: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    effective_min: float | None
    credited_hours: float | None
    face_checks: int | None
    face_checks_passed: int | None
    source_file: str
    source_row: int


StartSource = Literal["sidecar", "filename", "container", "none"]


@dataclass(frozen=True)
class Recording:
    """A video file as listed (no decoding). Probe results are added by the video stage."""

    class_id: str
    path: Path
    # The recording's identity everywhere after ingest (tables, findings, finding ids): its path within the
    # class folder, '/'-separated, NFC (ingest/recordings.recording_id); `path` is only for opening the file.
    recording_id: str
    camera_id: str | None
    room: str | None
    role: str | None  # classroom / practical / door, from cameras.csv
    start: dt.datetime | None
    end: dt.datetime | None  # from the file name or sidecar if given; else start + probed duration
    start_source: StartSource
    size_bytes: int


@dataclass(frozen=True)
class Finding:
    class_id: str
    institution_id: str
    rule_id: str
    severity: Severity
    message: str  # in the run's language
    trainee_id: str | None = None
    session_id: str | None = None
    date: dt.date | None = None
    camera_id: str | None = None
    path: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    measured: float | None = None
    threshold: float | None = None
    evidence_path: str | None = None
    detail: str | None = None  # JSON with rule-specific evidence (both ids, distances, offsets...)
    finding_id: str = field(default="")


@dataclass(frozen=True)
class ClassArchive:
    """Everything ingest read from one class folder (no video decoded)."""

    info: ClassInfo
    trainees: tuple[Trainee, ...]
    teachers: tuple[Teacher, ...]
    sessions: tuple[Session, ...]
    checkins: tuple[CheckinEvent, ...]
    online: tuple[OnlineRecord, ...]
    recordings: tuple[Recording, ...]
    missing_parts: tuple[str, ...]  # roster, schedule, checkins, recordings, documents, photos, ...
    problems: tuple[Problem, ...]
    input_sha256: str  # over every input file of the class (names and bytes), for incremental runs


@dataclass(frozen=True)
class ClassEvidence:
    """What the rules read for one class: the archive plus the video and face evidence as DataFrames.

    The frames have the columns of the output tables of the same name (pipeline/outputs/schemas.py), so
    rules read exactly what analysts see. Frames that a stage did not produce are empty, with columns.
    - `recordings`, `coverage`, `headcount`, `sightings`, `presence`: as the tables.
    - `blanks`: class_id, path, camera_id, session_id, kind (black/frozen/covered), start, end,
      start_offset_s, end_offset_s, snapshot_path.
    - `unknowns`: class_id, person_id, minutes, snapshot_path (one row per unknown-face cluster).
    - `checkin_sessions`: the `checkins` table (events with their session_id assigned).
    """

    archive: ClassArchive
    recordings: object  # pandas.DataFrame
    coverage: object
    headcount: object
    sightings: object
    presence: object
    blanks: object
    unknowns: object
    checkin_sessions: object
    snapshot_dir: Path | None = None
    # Added for IDENTITY_SHARED (rules stage): pairs of roster entries whose enrollment photos the face
    # stage matches to each other (columns person_a, person_b, distance; trainee ids), or None when the
    # face stage did not compare its gallery.
    enrollment_pairs: object = None
    # The attendance stage's trainee_hours table (attendance.build); None: not built yet.
    hours: object = None
    # enrollment photo (as in Trainee.photos) -> sha256 (None: unreadable), read by the orchestrator
    # (ingest.photos.photo_digests) so that no rule opens a file; None: not read.
    photo_digests: dict | None = None
    # unknowns.snapshot_path -> the face crop (BGR array) to write there (outputs.publish writes it)
    unknown_crops: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SnapshotRequest:
    """A frame a finding shows as evidence, to be written by outputs.publish (rules never decode video)."""

    class_id: str
    finding_id: str
    recording_id: str
    source: Path | None  # the recording's file (None: no recording of the class has that id)
    offset_s: float
    box: tuple[int, int, int, int] | None  # x, y, w, h in pixels, drawn on the frame
    target: Path  # the JPEG to write (OUT/evidence/<class_key>/...)
    evidence_path: str  # `target` relative to OUT, as the finding holds it
    detail_key: str | None = None  # the finding's detail key that holds evidence_path (None: evidence_path)
