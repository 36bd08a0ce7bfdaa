"""Find class folders under an archive root and read each into a `ClassArchive` (no video decoded).

A class folder is any folder holding `class.yaml`, at any depth. Reading never stops at the first
problem: every problem of the class is collected, and a broken class never stops the others.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Collection, Iterator, Mapping
from zoneinfo import ZoneInfo

from pipeline.config import IngestParams
from pipeline.ingest.checkins import CheckinFormat, read_checkins
from pipeline.ingest.confine import ClassFiles, InputRefused, display_path, read_confined
from pipeline.ingest.classfiles import Collector, load_class_yaml, load_online, load_roster, load_schedule, load_teachers
from pipeline.ingest.recordings import list_recordings
from pipeline.model import ClassArchive, OnlineRecord, Problem
from pipeline.ops.digest import folder_digest, sha256_bytes, sha256_text

CLASS_FILE = "class.yaml"
TABLE_SUFFIXES = (".csv", ".xlsx", ".xls")
INPUT_DIGEST_MAX_READ = 16 * 1024 * 1024  # larger files (videos) enter input_sha256 by size and mtime


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


def _table_file(files: ClassFiles | Path, stem: str) -> Path | None:
    if not isinstance(files, ClassFiles):  # a class folder (the report reads rosters this way)
        files = ClassFiles.scan(files)
    for suffix in TABLE_SUFFIXES:
        candidate = files.get(f"{stem}{suffix}")
        if candidate is not None:
            return candidate
    return None


def input_digest(folder: Path, files: ClassFiles | None = None) -> str:
    """`ops.digest.folder_digest` of every file of the class by its bytes (a file over 16 MiB, a video, by
    its size and mtime only: the video stage hashes its content itself, and reading gigabytes here would
    defeat a quick skip). Only the class's own regular files count (confine.py): a link out of the folder
    is never read."""
    digests = {}
    for path in (files or ClassFiles.scan(folder)).files:
        try:
            stat = path.stat()
            if stat.st_size > INPUT_DIGEST_MAX_READ:
                digest = sha256_text(f"size:{stat.st_size}:{stat.st_mtime_ns}")
            else:
                digest = sha256_bytes(read_confined(path, folder, INPUT_DIGEST_MAX_READ))
        except (OSError, InputRefused) as exc:  # changed since the scan: the digest still differs
            digest = sha256_text(f"unreadable:{exc}")
        digests[path.relative_to(folder).as_posix()] = digest
    return folder_digest(digests)


def load_class(folder: Path, params: IngestParams | None = None, formats: list[CheckinFormat] | None = None,
               *, read_container_tags: bool = True, pack_names: Collection[str] | None = None) -> ClassArchive | None:
    """Read one class folder. Raises ClassUnreadable only when class.yaml itself is unusable; `problems`
    says why. With `pack_names`, a `province` naming no rule pack is a problem here (audit would fail)."""
    params = params or IngestParams()
    folder = Path(folder)
    col = Collector(folder, limits=params.limits)
    files = ClassFiles.scan(folder)
    for path, message, found in files.refused:
        if path == folder / CLASS_FILE:
            continue  # load_class_yaml says it (once)
        col.add(path, message, expected="a regular file inside the class folder", found=found)
    info = load_class_yaml(folder / CLASS_FILE, col)
    if info is None:
        raise ClassUnreadable(folder, col.problems)
    if pack_names is not None and info.province not in pack_names:
        col.add(folder / CLASS_FILE, "unknown rule pack (province)", column="province",
                expected="one of " + ", ".join(sorted(pack_names)), found=info.province)
    tz = ZoneInfo(info.timezone)
    missing: list[str] = []

    roster_path = _table_file(files, "roster")
    trainees = load_roster(roster_path, info, col) if roster_path else ()
    if roster_path is None:
        missing.append("roster")
        col.add(folder / "roster.csv", "required file missing", expected="roster.csv (学员名单)", found="no file")
    if not (folder / "photos").is_dir():
        missing.append("photos")

    teachers_path = _table_file(files, "teachers")
    teachers = load_teachers(teachers_path, info, col) if teachers_path else ()
    teacher_ids = {t.teacher_id for t in teachers} if teachers_path else None

    schedule_path = _table_file(files, "schedule")
    sessions = load_schedule(schedule_path, info, teacher_ids, col) if schedule_path else ()
    if schedule_path is None:
        missing.append("schedule")
        col.add(folder / "schedule.csv", "required file missing", expected="schedule.csv (培训教学实施计划)", found="no file")

    checkin_files = files.under("checkins")
    checkins = read_checkins(checkin_files, info.class_id, tz, trainees, col, formats)
    if not checkin_files:
        missing.append("checkins")

    online: list[OnlineRecord] = []
    for path in (p for p in files.under("online") if p.suffix.lower() in TABLE_SUFFIXES):
        online.extend(load_online(path, info, col))
    online = _online_sessions(online, {s.session_id for s in sessions if s.mode == "online"})
    if any(s.mode == "online" for s in sessions) and not online:
        missing.append("online")

    recordings = list_recordings(files, info.class_id, tz, params, col, read_container_tags=read_container_tags)
    if not recordings and any(s.mode == "offline" for s in sessions):
        missing.append("recordings")
    if not files.under("documents"):
        missing.append("documents")

    roster_ids = {t.trainee_id for t in trainees}
    for record in online:
        if roster_ids and record.trainee_id not in roster_ids:
            col.problems.append(Problem(record.source_file, "online record of a trainee not on the roster",
                                        record.source_row, "trainee_id", "a trainee_id from roster.csv",
                                        record.trainee_id, "warning", info.class_id))
    return ClassArchive(info, tuple(trainees), tuple(teachers), tuple(sessions), tuple(checkins), tuple(online),
                        tuple(recordings), tuple(missing), tuple(col.problems), input_digest(folder, files))


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


def iter_classes(root: Path, params: IngestParams | None = None, *, pack_names: Collection[str] | None = None,
                 only: Collection[Path] | None = None, known_ids: Mapping[Path, str] | None = None,
                 **kwargs) -> Iterator[tuple[Path, ClassArchive | None, list[Problem]]]:
    """Yield (folder, archive or None, problems) for every class under root; one broken class never stops the rest.

    A class_id already used by an earlier folder is a problem and that folder is not audited (its tables
    would replace the first class's): class_id is "unique across the archive" (ARCHIVE.md).

    `only` (resolved folders): the others are not read (a nightly run's unchanged classes); their ids, from
    `known_ids` (resolved folder -> class_id), still claim their place, and one whose id an earlier folder
    now takes is read after all, to be reported as the duplicate it has become."""
    from pipeline.ingest.checkins import load_formats

    formats = load_formats()
    first_folder: dict[str, Path] = {}
    for folder in find_class_folders(root):
        resolved = folder.resolve() if only is not None else None
        if only is not None and resolved not in only:
            known = (known_ids or {}).get(resolved)
            if known is None:
                continue
            if known not in first_folder:
                first_folder[known] = folder
                continue
        try:
            archive = load_class(folder, params, formats, pack_names=pack_names, **kwargs)
        except ClassUnreadable as exc:
            yield folder, None, exc.problems
            continue
        except OSError as exc:
            yield folder, None, [Problem(display_path(folder), f"class folder cannot be read ({exc.strerror or exc})")]
            continue
        class_id = archive.info.class_id
        if class_id in first_folder:
            duplicate = Problem(
                display_path(Path(folder.name) / CLASS_FILE), "class_id already used by another class folder "
                "(this folder is not audited, so neither class's results are overwritten)", column="class_id",
                expected=f"a class_id used once in the archive (already used by {display_path(first_folder[class_id])})",
                found=class_id, class_id=class_id)
            yield folder, None, [*archive.problems, duplicate]
            continue
        first_folder[class_id] = folder
        yield folder, archive, list(archive.problems)
