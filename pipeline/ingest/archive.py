"""Find class folders under an archive root and read each into a `ClassArchive` (no video decoded).

A class folder is any folder holding `class.yaml`, at any depth. Reading never stops at the first
problem: every problem of the class is collected, and a broken class never stops the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from pipeline.config import IngestParams
from pipeline.ingest.checkins import CheckinFormat, read_checkins
from pipeline.ingest.classfiles import Collector, load_class_yaml, load_online, load_roster, load_schedule, load_teachers
from pipeline.ingest.recordings import list_recordings
from pipeline.model import ClassArchive, OnlineRecord, Problem

CLASS_FILE = "class.yaml"
TABLE_SUFFIXES = (".csv", ".xlsx", ".xls")


def find_class_folders(root: Path) -> list[Path]:
    """Every folder under `root` (or `root` itself) that holds class.yaml; links are not followed."""
    root = Path(root)
    if (root / CLASS_FILE).is_file():
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if CLASS_FILE in filenames:
            found.append(Path(dirpath))
            dirnames[:] = []  # a class folder's own subfolders are its parts, not more classes
    return found


def _table_file(folder: Path, stem: str) -> Path | None:
    for suffix in TABLE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def input_digest(folder: Path) -> str:
    """SHA-256 over the names, sizes and bytes of every file of the class (videos by size and mtime only:
    the video stage hashes their content itself, and reading gigabytes here would defeat a quick skip)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        stat = path.stat()
        digest.update(rel.encode("utf-8") + b"\0")
        if stat.st_size > 16 * 1024 * 1024:
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        else:
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load_class(folder: Path, params: IngestParams | None = None, formats: list[CheckinFormat] | None = None,
               *, read_container_tags: bool = True) -> ClassArchive | None:
    """Read one class folder. Returns None only when class.yaml itself is unusable; `problems` says why."""
    params = params or IngestParams()
    folder = Path(folder)
    col = Collector(folder)
    info = load_class_yaml(folder / CLASS_FILE, col)
    if info is None:
        raise ClassUnreadable(folder, col.problems)
    tz = ZoneInfo(info.timezone)
    missing: list[str] = []

    roster_path = _table_file(folder, "roster")
    trainees = load_roster(roster_path, info, col) if roster_path else ()
    if roster_path is None:
        missing.append("roster")
        col.add(folder / "roster.csv", "required file missing", expected="roster.csv (学员名单)", found="no file")
    if not (folder / "photos").is_dir():
        missing.append("photos")

    teachers_path = _table_file(folder, "teachers")
    teachers = load_teachers(teachers_path, info, col) if teachers_path else ()
    teacher_ids = {t.teacher_id for t in teachers} if teachers_path else None

    schedule_path = _table_file(folder, "schedule")
    sessions = load_schedule(schedule_path, info, teacher_ids, col) if schedule_path else ()
    if schedule_path is None:
        missing.append("schedule")
        col.add(folder / "schedule.csv", "required file missing", expected="schedule.csv (培训教学实施计划)", found="no file")

    checkin_dir = folder / "checkins"
    checkins = read_checkins(checkin_dir, info.class_id, tz, trainees, col, formats) if checkin_dir.is_dir() else []
    if not checkin_dir.is_dir() or not any(checkin_dir.iterdir()):
        missing.append("checkins")

    online: list[OnlineRecord] = []
    online_dir = folder / "online"
    if online_dir.is_dir():
        for path in sorted(p for p in online_dir.rglob("*") if p.suffix.lower() in TABLE_SUFFIXES):
            online.extend(load_online(path, info, col))
    online = _online_sessions(online, {s.session_id for s in sessions if s.mode == "online"})
    if any(s.mode == "online" for s in sessions) and not online:
        missing.append("online")

    rec_dir = folder / "recordings"
    recordings = list_recordings(rec_dir, info.class_id, tz, params, col,
                                 read_container_tags=read_container_tags) if rec_dir.is_dir() else []
    if not recordings and any(s.mode == "offline" for s in sessions):
        missing.append("recordings")
    docs = folder / "documents"
    if not docs.is_dir() or not any(p.is_file() for p in docs.rglob("*")):
        missing.append("documents")

    roster_ids = {t.trainee_id for t in trainees}
    for record in online:
        if roster_ids and record.trainee_id not in roster_ids:
            col.add(folder.parent / record.source_file, "online record of a trainee not on the roster", row=record.source_row, column="trainee_id",
                    expected="a trainee_id from roster.csv", found=record.trainee_id, level="warning")
    return ClassArchive(info, tuple(trainees), tuple(teachers), tuple(sessions), tuple(checkins), tuple(online),
                        tuple(recordings), tuple(missing), tuple(col.problems), input_digest(folder))


def _online_sessions(records: list[OnlineRecord], online_session_ids: set[str]) -> list[OnlineRecord]:
    """A course of an online schedule row carries its session_id, or uses it as course_id."""
    out = []
    for record in records:
        if record.session_id is None and record.course_id in online_session_ids:
            record = dataclasses.replace(record, session_id=record.course_id)
        out.append(record)
    return out


class ClassUnreadable(Exception):
    """class.yaml is missing or unusable: the folder cannot be audited as a class."""

    def __init__(self, folder: Path, problems: list[Problem]):
        self.folder = folder
        self.problems = problems
        super().__init__(f"{folder}: " + "; ".join(p.describe() for p in problems))


def iter_classes(root: Path, params: IngestParams | None = None, **kwargs) -> Iterator[tuple[Path, ClassArchive | None, list[Problem]]]:
    """Yield (folder, archive or None, problems) for every class under root; one broken class never stops the rest."""
    from pipeline.ingest.checkins import load_formats

    formats = load_formats()
    for folder in find_class_folders(root):
        try:
            archive = load_class(folder, params, formats, **kwargs)
            yield folder, archive, list(archive.problems)
        except ClassUnreadable as exc:
            yield folder, None, exc.problems
        except OSError as exc:
            yield folder, None, [Problem(str(folder), f"class folder cannot be read ({exc.strerror or exc})")]
