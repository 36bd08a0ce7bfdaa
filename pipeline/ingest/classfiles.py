"""class.yaml, roster, schedule, teachers and online study records of one class folder (ARCHIVE.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from pipeline.config import InputLimits
from pipeline.ingest.confine import InputRefused, display_path, read_confined
from pipeline.ingest.photos import limit_text, oversized
from pipeline.ingest.tables import RawTable, Table, TableError, find_header, read_raw
from pipeline.ingest.yamlsafe import YamlRefused, load_archive_yaml
from pipeline.ingest.values import (SESSION_KINDS, SESSION_MODES, TRAINING_KINDS, parse_choice, parse_date,
                                    parse_float, parse_int, parse_time, parse_timestamp)
from pipeline.model import DEFAULT_TZ, ClassInfo, OnlineRecord, Problem, Session, Teacher, Trainee

T = TypeVar("T")

ROSTER_ALIASES = {
    "trainee_id": ["学员编号", "编号", "工号", "学号"],
    "name": ["姓名", "学员姓名"],
    "id_number": ["身份证号", "证件号码", "身份证号码"],
    "training_kind": ["培训类型"],
    "photo": ["照片", "photos"],
}
SCHEDULE_ALIASES = {
    "session_id": ["课次", "序号"],
    "date": ["日期"],
    "start": ["开始时间"],
    "end": ["结束时间"],
    "kind": ["类型"],
    "mode": ["方式"],
    "room": ["教室", "场地"],
    "teacher_id": ["教师编号", "授课教师"],
    "topic": ["课程内容"],
    "hours": ["学时"],
}
TEACHER_ALIASES = {
    "teacher_id": ["教师编号"],
    "name": ["姓名"],
    "photo": ["照片"],
    "certificate": ["证书"],
    "experience_years": ["从业年限"],
}
ONLINE_ALIASES = {
    "trainee_id": ["学员编号"],
    "course_id": ["课程编号"],
    "course_title": ["课程名称"],
    "start": ["开始时间"],
    "end": ["结束时间"],
    "effective_minutes": ["有效时长(分钟)", "有效时长（分钟）", "有效时长"],
    "credited_hours": ["学时"],
    "face_checks": ["人脸核验次数"],
    "face_checks_passed": ["人脸核验通过次数"],
    "session_id": ["课次"],
}


class Collector:
    """Gathers every problem of a class instead of stopping at the first."""

    def __init__(self, class_folder: Path, class_id: str | None = None, limits: InputLimits | None = None):
        self.folder = class_folder
        self.class_id = class_id
        self.limits = limits or InputLimits()
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        """The path from the archive root (class folder included), as text any writer accepts."""
        try:
            return display_path(path.relative_to(self.folder.parent))
        except ValueError:
            return display_path(path)

    def add(self, path: Path, message: str, *, row: int | None = None, column: str | None = None,
            expected: str | None = None, found: str | None = None, level: str = "error") -> None:
        self.problems.append(Problem(self.rel(path), message, row, column, expected, found, level, self.class_id))

    def adopt(self, problem: Problem) -> None:
        path = Path(problem.file)
        file = self.rel(path) if path.is_absolute() else problem.file
        self.problems.append(Problem(file, problem.message, problem.row, problem.column, problem.expected,
                                     problem.found, problem.level, self.class_id))

    def cell(self, table: Table, row: tuple[str, ...], line: int, column: str, parse: Callable[[str], T],
             *, required: bool = False) -> T | None:
        text = table.get(row, column)
        if not text:
            if required:
                self.add(table.path, "required value is empty", row=line, column=table.column_label(column),
                         expected="a value", found="")
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.add(table.path, "value cannot be read", row=line, column=table.column_label(column),
                     expected=str(exc), found=text)
            return None

    def raw(self, path: Path) -> RawTable | None:
        """A table file of this class, read inside the class folder and within the limits."""
        try:
            return read_raw(path, self.limits, self.folder)
        except TableError as exc:
            self.adopt(exc.problem)
            return None

    def table(self, path: Path, aliases: dict, required: list[str]) -> Table | None:
        raw = self.raw(path)
        if raw is None:
            return None
        try:
            return find_header(raw, aliases, required)
        except TableError as exc:
            self.adopt(exc.problem)
            return None


def load_class_yaml(path: Path, col: Collector) -> ClassInfo | None:
    lines: dict[str, int] = {}
    try:
        raw = read_confined(path, col.folder, col.limits.max_yaml_bytes)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        data, lines = load_archive_yaml(text, col.limits.max_yaml_depth)
    except InputRefused as exc:
        col.add(path, exc.reason, expected=exc.expected, found=exc.found)
        return None
    except OSError as exc:
        col.add(path, f"class.yaml cannot be read ({exc.strerror or exc})", expected="a readable file")
        return None
    except UnicodeDecodeError:
        col.add(path, "class.yaml cannot be read", expected="UTF-8 (or GB18030) text", found="undecodable bytes")
        return None
    except YamlRefused as exc:
        col.add(path, exc.message, row=exc.line, expected="plain key: value lines", found=exc.found)
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        col.add(path, "class.yaml is not valid YAML", row=mark.line + 1 if mark else None,
                expected="YAML key: value lines", found=str(getattr(exc, "problem", exc)))
        return None
    if not isinstance(data, dict):
        col.add(path, "class.yaml does not hold class metadata", expected="a mapping with class_id, institution_id, ...",
                found=type(data).__name__)
        return None
    known = {"class_id", "institution_id", "institution_name", "job_type", "training_kind", "start_date",
             "end_date", "head_teacher", "province", "timezone", "required_hours", "exam_registration"}
    for key in data:
        if key not in known:
            col.add(path, "unknown key in class.yaml (kept, not used)", column=str(key), level="warning",
                    expected=", ".join(sorted(known)), found=str(key))
    ok = True
    for key in ("class_id", "institution_id"):
        if data.get(key) in (None, ""):
            col.add(path, "required key missing", column=key, expected=f"{key}: <text>", found="nothing")
            ok = False
        elif not isinstance(data[key], (str, int, float)) or not str(data[key]).strip():
            col.add(path, "value cannot be read", row=lines.get(key), column=key, expected="a single line of text",
                    found=str(data[key])[:200])
            ok = False
    for key in ("province", "timezone", "job_type", "training_kind", "institution_name", "head_teacher"):
        if isinstance(data.get(key), (dict, list)):
            col.add(path, "value cannot be read", row=lines.get(key), column=key, expected="a single value",
                    found=str(data[key])[:200])
            data[key] = None
    if not ok:
        return None
    col.class_id = str(data["class_id"])
    tz_name = str(data.get("timezone") or DEFAULT_TZ)
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        col.add(path, "unknown time zone", column="timezone", expected="an IANA zone like Asia/Shanghai", found=tz_name)
        tz_name, tz = DEFAULT_TZ, ZoneInfo(DEFAULT_TZ)

    def date_of(key: str) -> dt.date | None:
        value = data.get(key)
        if value in (None, ""):
            return None
        if isinstance(value, dt.date):
            return value if not isinstance(value, dt.datetime) else value.date()
        try:
            return parse_date(str(value))
        except ValueError as exc:
            col.add(path, "value cannot be read", row=lines.get(key), column=key, expected=str(exc),
                    found=str(value))
            return None

    kind = str(data.get("training_kind") or "initial")
    try:
        kind = parse_choice(kind, TRAINING_KINDS)
    except ValueError as exc:
        col.add(path, "value cannot be read", column="training_kind", expected=str(exc), found=kind)
        kind = "initial"
    required = data.get("required_hours") or {}
    if not isinstance(required, dict):
        col.add(path, "value cannot be read", column="required_hours", expected="{theory: N, practical: N}",
                found=str(required))
        required = {}
    hours: dict[str, float | None] = {}
    for key in ("theory", "practical", "total"):
        value = required.get(key)
        try:
            hours[key] = None if value is None else parse_float(str(value))
        except ValueError as exc:
            col.add(path, "value cannot be read", column=f"required_hours.{key}", expected=str(exc), found=str(value))
            hours[key] = None
    exam = data.get("exam_registration")
    exam_ts = None
    if exam not in (None, ""):
        if isinstance(exam, dt.datetime):
            exam_ts = exam.replace(tzinfo=tz) if exam.tzinfo is None else exam.astimezone(tz)
        else:
            try:
                exam_ts = parse_timestamp(str(exam), tz)
            except ValueError as exc:
                col.add(path, "value cannot be read", row=lines.get("exam_registration"), column="exam_registration",
                        expected=str(exc), found=str(exam))
    start, end = date_of("start_date"), date_of("end_date")
    if start and end and end < start:
        col.add(path, "the class ends before it starts", column="end_date", expected=f"a date on or after {start}",
                found=str(end))
    head = data.get("head_teacher")
    return ClassInfo(
        class_id=str(data["class_id"]), institution_id=str(data["institution_id"]),
        institution_name=_text(data.get("institution_name")), job_type=_text(data.get("job_type")),
        training_kind=kind, start_date=start, end_date=end,
        head_teacher=_text(head), province=str(data.get("province") or "national"), timezone=tz_name,
        required_theory_hours=hours["theory"], required_practical_hours=hours["practical"],
        required_total_hours=hours["total"], exam_registration=exam_ts, folder=path.parent)


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value).strip()


def _photos(text: str, table: Table, line: int, column: str, col: Collector) -> tuple[Path, ...]:
    photos = []
    for part in (p.strip() for p in text.replace("；", ";").split(";")):
        if not part:
            continue
        candidate = (col.folder / part).resolve()
        try:
            candidate.relative_to(col.folder.resolve())
        except ValueError:
            col.add(table.path, "photo path points outside the class folder", row=line,
                    column=table.column_label(column), expected="a path inside the class folder", found=part)
            continue
        if not candidate.is_file():
            col.add(table.path, "photo file does not exist", row=line, column=table.column_label(column),
                    expected="an existing image file", found=part)
            continue
        try:
            head = read_confined(candidate, col.folder, col.limits.max_image_bytes, head=1 << 18)
        except (InputRefused, OSError) as exc:
            found = exc.found if isinstance(exc, InputRefused) else (exc.strerror or str(exc))
            col.add(candidate, "photo cannot be used (not read)", expected=f"an image file of at most "
                    f"{col.limits.max_image_bytes:,} bytes inside the class folder", found=found)
            continue
        too_large = oversized(head, col.limits.max_image_pixels)
        if too_large:
            col.add(candidate, "photo too large to decode (not used for recognition)",
                    expected=limit_text(col.limits.max_image_pixels), found=too_large)
            continue
        photos.append(candidate)
    return tuple(photos)


def load_roster(path: Path, info: ClassInfo, col: Collector) -> tuple[Trainee, ...]:
    table = col.table(path, ROSTER_ALIASES, ["trainee_id", "name"])
    if table is None:
        return ()
    trainees, seen = [], {}
    for row, line in zip(table.rows, table.line_numbers):
        trainee_id = col.cell(table, row, line, "trainee_id", str, required=True)
        name = col.cell(table, row, line, "name", str, required=True)
        if not trainee_id or not name:
            continue
        if trainee_id in seen:
            col.add(path, "duplicate trainee id", row=line, column=table.column_label("trainee_id"),
                    expected=f"an id used once (already on row {seen[trainee_id]})", found=trainee_id)
            continue
        seen[trainee_id] = line
        kind = col.cell(table, row, line, "training_kind", lambda t: parse_choice(t, TRAINING_KINDS))
        photos = _photos(table.get(row, "photo"), table, line, "photo", col)
        trainees.append(Trainee(info.class_id, trainee_id, name, table.get(row, "id_number") or None,
                                kind or info.training_kind, photos, line))
    if not trainees:
        col.add(path, "the roster lists no trainees", expected="one row per trainee", found="0 rows")
    return tuple(trainees)


def load_teachers(path: Path, info: ClassInfo, col: Collector) -> tuple[Teacher, ...]:
    table = col.table(path, TEACHER_ALIASES, ["teacher_id"])
    if table is None:
        return ()
    teachers, seen = [], set()
    for row, line in zip(table.rows, table.line_numbers):
        teacher_id = col.cell(table, row, line, "teacher_id", str, required=True)
        if not teacher_id:
            continue
        if teacher_id in seen:
            col.add(path, "duplicate teacher id", row=line, column=table.column_label("teacher_id"),
                    expected="an id used once", found=teacher_id)
            continue
        seen.add(teacher_id)
        teachers.append(Teacher(
            info.class_id, teacher_id, table.get(row, "name") or None,
            _photos(table.get(row, "photo"), table, line, "photo", col), table.get(row, "certificate") or None,
            col.cell(table, row, line, "experience_years", parse_float), line))
    return tuple(teachers)


def load_schedule(path: Path, info: ClassInfo, teacher_ids: set[str] | None, col: Collector) -> tuple[Session, ...]:
    table = col.table(path, SCHEDULE_ALIASES, ["session_id", "date", "start", "end"])
    if table is None:
        return ()
    tz = ZoneInfo(info.timezone)
    sessions, seen = [], {}
    for row, line in zip(table.rows, table.line_numbers):
        session_id = col.cell(table, row, line, "session_id", str, required=True)
        day = col.cell(table, row, line, "date", parse_date, required=True)
        start = col.cell(table, row, line, "start", parse_time, required=True)
        end = col.cell(table, row, line, "end", parse_time, required=True)
        kind = col.cell(table, row, line, "kind", lambda t: parse_choice(t, SESSION_KINDS)) or "theory"
        mode = col.cell(table, row, line, "mode", lambda t: parse_choice(t, SESSION_MODES)) or "offline"
        hours = col.cell(table, row, line, "hours", parse_float)
        teacher_id = table.get(row, "teacher_id") or None
        if session_id and session_id in seen:
            col.add(path, "duplicate session id", row=line, column=table.column_label("session_id"),
                    expected=f"an id used once (already on row {seen[session_id]})", found=session_id)
            continue
        if not (session_id and day and start and end):
            continue
        seen[session_id] = line
        begin, finish = dt.datetime.combine(day, start, tz), dt.datetime.combine(day, end, tz)
        if finish <= begin:
            col.add(path, "the session ends before it starts", row=line, column=table.column_label("end"),
                    expected=f"a time after {start:%H:%M}", found=table.get(row, "end"))
            continue
        if teacher_id and teacher_ids is not None and teacher_id not in teacher_ids:
            col.add(path, "unknown teacher (not in teachers.csv)", row=line, column=table.column_label("teacher_id"),
                    expected="a teacher_id listed in teachers.csv", found=teacher_id, level="warning")
        sessions.append(Session(info.class_id, session_id, begin, finish, kind, mode, table.get(row, "room") or None,
                                teacher_id, table.get(row, "topic") or None, hours, line))
    return tuple(sessions)


def load_online(path: Path, info: ClassInfo, col: Collector) -> tuple[OnlineRecord, ...]:
    table = col.table(path, ONLINE_ALIASES, ["trainee_id", "course_id"])
    if table is None:
        return ()
    tz = ZoneInfo(info.timezone)
    has_session = "session_id" in table.columns
    records = []
    for row, line in zip(table.rows, table.line_numbers):
        trainee_id = col.cell(table, row, line, "trainee_id", str, required=True)
        course_id = col.cell(table, row, line, "course_id", str, required=True)
        if not trainee_id or not course_id:
            continue
        session_id = table.get(row, "session_id") or None if has_session else None
        records.append(OnlineRecord(
            info.class_id, trainee_id, course_id, table.get(row, "course_title") or None, session_id,
            col.cell(table, row, line, "start", lambda t: parse_timestamp(t, tz)),
            col.cell(table, row, line, "end", lambda t: parse_timestamp(t, tz)),
            col.cell(table, row, line, "effective_minutes", parse_float),
            col.cell(table, row, line, "credited_hours", parse_float),
            col.cell(table, row, line, "face_checks", parse_int),
            col.cell(table, row, line, "face_checks_passed", parse_int),
            col.rel(path), line))
    return tuple(records)
