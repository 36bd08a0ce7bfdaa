"""Turn one class's archive and its recordings' analyses into the evidence frames the rules read and the
tables analysts read (the same columns: pipeline/outputs/schemas.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Sequence

import pandas as pd

from pipeline.analysis import RecordingAnalysis
from pipeline.config import RulePack
from pipeline.ingest.values import mask_id_number
from pipeline.model import ClassArchive, ClassEvidence, Problem, Recording, Session
from pipeline.outputs.schemas import schema
from pipeline.video.coverage import blank_spans, footage_spans, session_coverage

BLANK_COLUMNS = ["class_id", "path", "camera_id", "session_id", "kind", "start", "end", "start_offset_s",
                 "end_offset_s", "snapshot_offset_s", "snapshot_path"]
UNKNOWN_COLUMNS = ["class_id", "person_id", "minutes", "snapshot_path", "sessions"]


def empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in schema(table).names})


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=schema(table).names) if rows else empty(table)


def recording_window(rec: Recording, analysis: RecordingAnalysis | None) -> tuple[dt.datetime, dt.datetime] | None:
    """When the file's footage starts and ends in wall-clock time (None: start unknown)."""
    if rec.start is None:
        return None
    probe = analysis.probe if analysis else None
    length_s = None
    if probe is not None:
        length_s = probe.footage_s if probe.footage_s is not None else probe.duration_s
    if length_s is None:
        return (rec.start, rec.end) if rec.end else None
    return rec.start, rec.start + dt.timedelta(seconds=length_s)


def session_of(sessions: Sequence[Session], room: str | None, moment: dt.datetime) -> Session | None:
    """The offline session of this room (any room when unknown) whose window holds `moment`."""
    for session in sessions:
        if session.mode != "offline" or not (session.start <= moment < session.end):
            continue
        if room is None or session.room is None or session.room == room:
            return session
    return None


def recordings_frame(archive: ClassArchive, analyses: dict[str, RecordingAnalysis]) -> pd.DataFrame:
    rows = []
    for rec in archive.recordings:
        analysis = analyses.get(str(rec.path))
        probe = analysis.probe if analysis else None
        window = recording_window(rec, analysis)
        errors = [e for e in (probe.error if probe else "not analysed", analysis.scan_error if analysis else None,
                              analysis.error if analysis else None) if e]
        jumps = list(probe.timestamp_jumps) if probe else []
        if jumps:
            errors.append("timestamp jumps at " + ", ".join(f"{o:.0f}s (+{j:.0f}s)" for o, j in jumps))
        rows.append({
            "class_id": rec.class_id, "path": rec.rel_path, "camera_id": rec.camera_id, "room": rec.room,
            "role": rec.role, "start": window[0] if window else rec.start, "end": window[1] if window else rec.end,
            "duration_min": (probe.duration_s / 60.0) if probe and probe.duration_s is not None else None,
            "codec": probe.codec if probe else None, "width": probe.width if probe else None,
            "height": probe.height if probe else None, "fps": probe.fps if probe else None,
            "sha256": probe.sha256 if probe else None, "size_bytes": rec.size_bytes,
            "readable": bool(probe.readable and not probe.truncated) if probe else False,
            "error": "; ".join(errors) or None, "start_source": rec.start_source})
    return _frame("recordings", rows)


def coverage_frame(archive: ClassArchive, analyses: dict[str, RecordingAnalysis]) -> pd.DataFrame:
    rows = []
    for session in archive.sessions:
        if session.mode != "offline":
            continue
        spans, blanks, used = [], [], 0
        for rec in archive.recordings:
            if rec.role == "door" or (session.room and rec.room and rec.room != session.room):
                continue
            analysis = analyses.get(str(rec.path))
            window = recording_window(rec, analysis)
            if window is None or window[1] <= session.start or window[0] >= session.end:
                continue
            used += 1
            probe = analysis.probe if analysis else None
            readable = bool(probe and probe.readable)
            if readable:
                footage_s = (window[1] - window[0]).total_seconds()
                for span in footage_spans(window[0], footage_s, probe.timestamp_jumps):
                    spans.append((span[0], span[1], True))
            if analysis and analysis.blanks:
                blanks.extend(blank_spans(window[0], analysis.blanks))
        cov = session_coverage(session.start, session.end, spans, blanks)
        rows.append({"class_id": session.class_id, "session_id": session.session_id, "room": session.room,
                     "scheduled_min": cov.scheduled_min, "recorded_min": cov.recorded_min, "gap_min": cov.gap_min,
                     "blank_min": cov.blank_min, "recordings": used,
                     "gaps": json.dumps([[a.isoformat(), b.isoformat()] for a, b in cov.gaps])})
    return _frame("coverage", rows)


def blanks_frame(archive: ClassArchive, analyses: dict[str, RecordingAnalysis]) -> pd.DataFrame:
    rows = []
    for rec in archive.recordings:
        analysis = analyses.get(str(rec.path))
        if not analysis or not analysis.blanks:
            continue
        window = recording_window(rec, analysis)
        for stretch in analysis.blanks:
            start = window[0] + dt.timedelta(seconds=stretch.start_offset_s) if window else None
            end = window[0] + dt.timedelta(seconds=stretch.end_offset_s) if window else None
            session = session_of(archive.sessions, rec.room, start) if start else None
            rows.append({"class_id": rec.class_id, "path": rec.rel_path, "camera_id": rec.camera_id,
                         "session_id": session.session_id if session else None, "kind": stretch.kind,
                         "start": start, "end": end, "start_offset_s": stretch.start_offset_s,
                         "end_offset_s": stretch.end_offset_s, "snapshot_offset_s": stretch.snapshot_offset_s,
                         "snapshot_path": None, "abs_path": str(rec.path)})
    return pd.DataFrame(rows, columns=BLANK_COLUMNS + ["abs_path"])


def assemble_evidence(archive: ClassArchive, analyses: Sequence[RecordingAnalysis], pack: RulePack, config,
                      snapshot_dir: Path | None) -> ClassEvidence:
    from pipeline.attendance.checkin_sessions import assign_sessions
    from pipeline.faces.evidence import face_frames

    by_path = {str(a.path): a for a in analyses}
    headcount, sightings, presence, unknowns = face_frames(archive, by_path, config.faces, snapshot_dir)
    return ClassEvidence(
        archive=archive, recordings=recordings_frame(archive, by_path), coverage=coverage_frame(archive, by_path),
        headcount=headcount, sightings=sightings, presence=presence, blanks=blanks_frame(archive, by_path),
        unknowns=unknowns, checkin_sessions=assign_sessions(archive.checkins, archive.sessions, pack),
        snapshot_dir=snapshot_dir)


def base_tables(archive: ClassArchive, evidence: ClassEvidence) -> dict[str, pd.DataFrame]:
    info = archive.info
    classes = [{
        "class_id": info.class_id, "institution_name": info.institution_name, "job_type": info.job_type,
        "training_kind": info.training_kind, "province": info.province, "start_date": info.start_date,
        "end_date": info.end_date, "rule_pack": info.province, "head_teacher": info.head_teacher,
        "timezone": info.timezone, "required_theory_hours": info.required_theory_hours,
        "required_practical_hours": info.required_practical_hours,
        "required_total_hours": info.required_total_hours, "exam_registration": info.exam_registration,
        "trainees": len(archive.trainees), "sessions": len(archive.sessions), "recordings": len(archive.recordings),
        "folder": str(info.folder), "input_sha256": archive.input_sha256,
        "problems": sum(1 for p in archive.problems if p.level == "error")}]
    trainees = [{"class_id": t.class_id, "trainee_id": t.trainee_id, "name": t.name,
                 "id_number_masked": mask_id_number(t.id_number), "training_kind": t.training_kind,
                 "photos": len(t.photos)} for t in archive.trainees]
    sessions = [{"class_id": s.class_id, "session_id": s.session_id, "date": s.date, "start": s.start, "end": s.end,
                 "kind": s.kind, "mode": s.mode, "room": s.room, "teacher_id": s.teacher_id, "topic": s.topic,
                 "hours": s.hours, "scheduled_min": s.scheduled_min} for s in archive.sessions]
    return {
        "classes": _frame("classes", classes), "trainees": _frame("trainees", trainees),
        "sessions": _frame("sessions", sessions), "checkins": _conform(evidence.checkin_sessions, "checkins"),
        "recordings": evidence.recordings, "coverage": evidence.coverage, "headcount": evidence.headcount,
        "sightings": evidence.sightings, "presence": evidence.presence,
    }


def _conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    names = schema(table).names
    return frame.reindex(columns=names) if frame is not None and len(frame) else empty(table)


def problems_frame(problems: Sequence[Problem], class_id: str | None) -> pd.DataFrame:
    rows = [{"class_id": class_id, "file": p.file, "row": p.row, "column": p.column, "level": p.level,
             "message": p.message, "expected": p.expected, "found": p.found} for p in problems]
    return _frame("problems", rows)
