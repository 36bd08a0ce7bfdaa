"""Tiny records and evidence frames for the attendance and rules tests (no files, no video).

Times are on 2024-10-08 (after full recording became mandatory) in Asia/Shanghai unless a test says
otherwise; `at("08:30")` is that day at 08:30, `at("08:30", day=9)` the next day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline.attendance.checkin_sessions import assign_sessions
from pipeline.config import RulePacks
from pipeline.ingest.photos import photo_digests
from pipeline.model import (
    CheckinEvent, ClassArchive, ClassEvidence, ClassInfo, OnlineRecord, Session, Teacher, Trainee,
)
from pipeline.outputs.schemas import schema

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
PACKS = RulePacks()
NATIONAL = PACKS.get("national", dt.date(2024, 10, 8))
SHANDONG = PACKS.get("shandong", dt.date(2024, 10, 8))


def pack(base=NATIONAL, **changes):
    return dataclasses.replace(base, **changes)


def at(hhmm: str, day: int = 8, month: int = 10, year: int = 2024) -> dt.datetime:
    """Local time on a day; minutes past 59 roll over ("08:75" is 09:15), which keeps tables short."""
    h, m = map(int, hhmm.split(":"))
    return dt.datetime(year, month, day, tzinfo=ZONE) + dt.timedelta(hours=h, minutes=m)


def info(class_id="C1", **kw) -> ClassInfo:
    base = dict(class_id=class_id, institution_id="I1", institution_name="某培训机构", job_type="低压电工作业",
                training_kind="initial", start_date=dt.date(2024, 10, 8), end_date=dt.date(2024, 10, 26),
                head_teacher="T1", province="national", timezone=TZ, required_theory_hours=None,
                required_practical_hours=None, required_total_hours=None, exam_registration=None,
                folder=Path("/nonexistent") / class_id)
    base.update(kw)
    return ClassInfo(**base)


def trainee(tid="S1", kind="initial", class_id="C1", name=None, photos=(), id_number=None) -> Trainee:
    return Trainee(class_id, tid, name or f"学员{tid}", id_number, kind, tuple(Path(p) for p in photos), 2)


def teacher(tid="T1", photos=("photos/t1.jpg",), class_id="C1") -> Teacher:
    return Teacher(class_id, tid, f"教师{tid}", tuple(Path(p) for p in photos), None, None, 2)


def session(sid="S01", start="08:30", end="11:30", day=8, kind="theory", mode="offline", room="R1", teacher_id="T1",
            hours=4.0, class_id="C1", month=10, year=2024) -> Session:
    return Session(class_id, sid, at(start, day, month, year), at(end, day, month, year), kind, mode, room,
                   teacher_id, "topic", hours, 2)


def checkin(tid="S1", ts=None, method="face", edited=False, class_id="C1", row=2, photo=None, device="D1") -> CheckinEvent:
    ts = ts or at("08:25")
    return CheckinEvent(class_id, tid, tid, None, ts, device, method, method, method == "face" and not edited, edited,
                        None, "generic", "checkins/export.csv", row, "id", None, photo)


def online(tid="S1", course="OC1", hours=1.0, minutes=45.0, checks=2, passed=2, session_id=None, class_id="C1",
           start=None) -> OnlineRecord:
    start = start or at("19:00")
    return OnlineRecord(class_id, tid, course, f"课程{course}", session_id, start,
                        start + dt.timedelta(minutes=minutes or 0), minutes, hours, checks, passed, "online/records.csv", 2)


def recording(path="recordings/R1-A_20241008082000.mp4", start="08:20", end="11:40", day=8, room="R1", camera="R1-A",
              readable=True, error=None, sha=None, role="classroom", class_id="C1", month=10) -> dict:
    return dict(class_id=class_id, path=path, camera_id=camera, room=room, role=role,
                start=at(start, day, month) if start else None, end=at(end, day, month) if end else None,
                readable=readable, error=error, sha256=sha, size_bytes=1000, start_source="filename")


def presence(person="S1", start="08:30", end="11:30", kind="trainee", sid="S01", day=8, camera="R1-A",
             month=10) -> dict:
    return dict(class_id="C1", person_id=person, person_kind=kind, session_id=sid, camera_id=camera,
                start=at(start, day, month), end=at(end, day, month), minutes=None)


def sighting(person="S1", ts="09:00", kind="trainee", sid="S01", distance=0.4, box=(10, 20, 30, 40),
             path="recordings/R1-A_20241008082000.mp4", offset_s=2400.0, camera="R1-A", judged=True,
             track_judged=3) -> dict:
    return dict(class_id="C1", session_id=sid, camera_id=camera, path=path, offset_s=offset_s, ts=at(ts),
                person_id=person, person_kind=kind, distance=distance, box=list(box), judged=judged,
                track_judged=track_judged)


def headcount(ts="09:00", faces=10, teachers=1, sid="S01", camera="R1-A", smoothed=None,
              path="recordings/R1-A_20241008082000.mp4", offset_s=2400.0, month=10, identified=None,
              unknown=0) -> dict:
    """identified: faces - unknown unless given; faces - identified - unknown were unidentified."""
    return dict(class_id="C1", session_id=sid, camera_id=camera, path=path, offset_s=offset_s, ts=at(ts, month=month),
                faces=faces, identified=faces - unknown if identified is None else identified, unknown=unknown,
                teachers=teachers, people_smoothed=smoothed)


def blank(path="recordings/R1-A_20241008082000.mp4", start="09:00", end="09:10", kind="black", sid="S01") -> dict:
    return dict(class_id="C1", path=path, camera_id="R1-A", session_id=sid, kind=kind, start=at(start), end=at(end),
                start_offset_s=2400.0, end_offset_s=3000.0, snapshot_path=None)


def frame(table: str | list[str], rows: list[dict] | None) -> pd.DataFrame:
    cols = schema(table).names if isinstance(table, str) else table
    df = pd.DataFrame(rows or [], columns=cols)
    for col in ("start", "end", "ts"):
        if col in df and len(df):
            df[col] = pd.to_datetime(df[col], utc=True).dt.tz_convert(TZ)
    return df


def evidence(*, cls=None, trainees=(), teachers=(), sessions=(), checkins=(), online_records=(), missing=(),
             recordings=(), presence_rows=(), sightings=(), headcounts=(), blanks=(), unknowns=(), coverage=(),
             pk=NATIONAL, snapshot_dir=None) -> ClassEvidence:
    cls = cls or info()
    archive = ClassArchive(cls, tuple(trainees), tuple(teachers), tuple(sessions), tuple(checkins),
                           tuple(online_records), (), tuple(missing), (), "sha")
    return ClassEvidence(
        archive=archive, recordings=frame("recordings", list(recordings)), coverage=frame("coverage", list(coverage)),
        headcount=frame("headcount", list(headcounts)), sightings=frame("sightings", list(sightings)),
        presence=frame("presence", list(presence_rows)), blanks=frame("blanks", list(blanks)),
        unknowns=frame("unknowns", list(unknowns)),
        checkin_sessions=assign_sessions(list(checkins), list(sessions), pk, TZ), snapshot_dir=snapshot_dir,
        photo_digests=photo_digests(archive))  # what the orchestrator reads for IDENTITY_SHARED


def evaluate_class(ev: ClassEvidence, pk=NATIONAL, lang="zh", *, errors: list | None = None, **kw):
    """(hours, findings) of one class as audit.py gets them: the attendance stage's hours
    (attendance.hours.trainee_hours, as attendance.build adds them), then the rules (rules.engine.evaluate);
    the problems the rules return go to `errors`."""
    from pipeline.attendance.hours import trainee_hours
    from pipeline.rules.engine import evaluate

    ev = dataclasses.replace(ev, hours=trainee_hours(ev, pk))
    result = evaluate(ev, pk, lang, **kw)
    if errors is not None:
        errors.extend(result.problems)
    return ev.hours, result.findings


def run(ev: ClassEvidence, rule_id: str, pk=NATIONAL, lang="zh", **kw):
    """Findings of one rule on one class (through the engine, so registration is exercised too)."""
    errors = []
    _, findings = evaluate_class(ev, pk, lang, errors=errors, only=lambda r: r == rule_id, **kw)
    assert not errors, errors
    return findings


def run_archive(evs, rule_id: str, reuse=None, packs=None):
    from pipeline.rules.engine import evaluate_archive
    packs = packs or {e.archive.info.class_id: NATIONAL for e in evs}
    result = evaluate_archive(evs, packs, reuse, only=lambda r: r == rule_id)
    assert not result.problems, result.problems
    return result.findings


def hours_of(ev: ClassEvidence, pk=NATIONAL) -> pd.DataFrame:
    from pipeline.attendance.hours import trainee_hours
    return trainee_hours(ev, pk)
