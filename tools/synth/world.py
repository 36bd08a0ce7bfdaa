"""The generator's world: who is where, when, and what the files say about it.

A `ClassWorld` is the complete truth of one generated class. The scenario builders (`scenarios.py`) make
it from a seed; `tables.py` and `scene.py` turn it into an archive folder; `oracle.py` derives the findings
an auditor should report from it. Offsets are seconds from the start of a session's scheduled window.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

Interval = tuple[float, float]  # [start_s, end_s) offsets from the session start


@dataclass(frozen=True)
class Person:
    key: str  # trainee_id, teacher_id or "U<n>" for people on no list
    role: str  # trainee | teacher | unknown
    name: str
    identity: str  # folder name of the identity photos
    enroll_photo: Path | None  # the photo given to the archive (roster / teachers.csv)
    video_photos: tuple[Path, ...]  # photos pasted into the video (others than the enrollment one)
    id_number: str | None = None
    training_kind: str = "initial"


@dataclass(frozen=True)
class SessionPlan:
    session_id: str
    date: dt.date
    start: dt.time
    end: dt.time
    kind: str  # theory | practical
    mode: str  # offline | online
    room: str | None
    teacher_id: str | None
    hours: float
    topic: str

    def start_dt(self) -> dt.datetime:
        return dt.datetime.combine(self.date, self.start)

    def end_dt(self) -> dt.datetime:
        return dt.datetime.combine(self.date, self.end)

    @property
    def length_s(self) -> float:
        return (self.end_dt() - self.start_dt()).total_seconds()


@dataclass(frozen=True)
class RecordingPlan:
    camera_id: str
    session_id: str  # whose scene the footage shows
    start: dt.datetime  # wall-clock start, written into the file name
    duration_s: float
    blanks: tuple[Interval, ...] = ()  # file offsets where the lens is covered (black frames)
    copy_of: str | None = None  # file name whose bytes this file repeats (reused footage)
    corrupt: bool = False  # written as a truncated, undecodable file
    teacher_on_video: str | None = None  # teacher key standing at the front

    @property
    def file_name(self) -> str:
        return f"{self.camera_id}_{self.start:%Y%m%d%H%M%S}.mp4"


@dataclass(frozen=True)
class CheckinRow:
    person_key: str  # trainee_id as in the roster
    ts: dt.datetime
    vendor: str  # zkteco | hikvision | dingtalk | generic
    device_id: str
    method: str  # face | card | fingerprint | password | manual
    edited: bool = False
    duplicate: bool = False  # re-uploaded copy of the previous row (counts once)


@dataclass(frozen=True)
class OnlineRow:
    trainee_id: str
    course_id: str
    course_title: str
    session_id: str | None
    kind: str  # theory | practical (of the course)
    start: dt.datetime
    effective_min: float
    credited_hours: float | None
    face_checks: int
    face_checks_passed: int


@dataclass(frozen=True)
class Planted:
    """A finding the scenario put there on purpose (the oracle adds the ones that follow from presence)."""

    rule_id: str
    keys: dict  # key column -> value, or a list of acceptable values
    note: str
    capacity: int = 1  # how many findings may match it (e.g. both files of reused footage)


@dataclass
class ClassWorld:
    class_id: str
    institution_id: str
    institution_name: str
    job_type: str
    training_kind: str
    province: str
    head_teacher: str | None
    required_hours: dict | None
    exam_registration: dt.datetime | None
    people: list[Person]
    sessions: list[SessionPlan]
    presence: dict[tuple[str, str], list[Interval]]  # (person key, session_id) -> intervals in the room
    look_down: dict[tuple[str, str], list[Interval]]  # face hidden, still present
    recordings: list[RecordingPlan]
    cameras: dict[str, tuple[str, str]]  # camera_id -> (room, role)
    checkins: list[CheckinRow]
    online: list[OnlineRow]
    planted: list[Planted]
    documents: bool = True
    teachers_csv: bool = True
    ignore_rules: dict[str, str] = field(default_factory=dict)  # rule_id -> why it is not scored here
    ambiguous_people: dict[str, str] = field(default_factory=dict)  # key -> why its person rules are unscored
    roster_chinese_headers: bool = False
    seats: dict[str, int] = field(default_factory=dict)  # person key -> seat index in the room

    def person(self, key: str) -> Person:
        return next(p for p in self.people if p.key == key)

    def trainees(self) -> list[Person]:
        return [p for p in self.people if p.role == "trainee"]

    def session(self, session_id: str) -> SessionPlan:
        return next(s for s in self.sessions if s.session_id == session_id)
