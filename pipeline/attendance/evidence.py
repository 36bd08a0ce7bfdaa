"""Turn one class's archive and its recordings' analyses into the evidence frames the rules read and the
tables analysts read (the same columns: pipeline/outputs/schemas.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pandas as pd

from pipeline.recording_task import RecordingAnalysis
from pipeline.attendance.timeline import UNUSABLE_BLANK_KINDS
from pipeline.config import RulePack
from pipeline.ingest.confine import display_path
from pipeline.ingest.values import mask_id_number
from pipeline.model import ClassArchive, ClassEvidence, Problem, Recording, Session
from pipeline.outputs.frames import check_evidence, conform, frame
from pipeline.video.coverage import blank_spans, footage_spans, session_coverage



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
        analysis = analyses.get(rec.recording_id)
        probe = analysis.probe if analysis else None
        window = recording_window(rec, analysis)
        errors = [e for e in (probe.error if probe else "not analysed", analysis.scan_error if analysis else None,
                              analysis.error if analysis else None) if e]
        jumps = list(probe.timestamp_jumps) if probe else []
        if jumps:
            errors.append("timestamp jumps at " + ", ".join(f"{o:.0f}s (+{j:.0f}s)" for o, j in jumps))
        rows.append({
            "class_id": rec.class_id, "path": rec.recording_id, "camera_id": rec.camera_id, "room": rec.room,
            "role": rec.role, "start": window[0] if window else rec.start, "end": window[1] if window else rec.end,
            "duration_min": (probe.duration_s / 60.0) if probe and probe.duration_s is not None else None,
            "codec": probe.codec if probe else None, "width": probe.width if probe else None,
            "height": probe.height if probe else None, "fps": probe.fps if probe else None,
            "sha256": probe.sha256 if probe else None, "size_bytes": rec.size_bytes,
            "readable": bool(probe.readable and not probe.truncated) if probe else False,
            "error": "; ".join(errors) or None, "start_source": rec.start_source})
    return frame("recordings", rows)


def coverage_frame(archive: ClassArchive, analyses: dict[str, RecordingAnalysis]) -> pd.DataFrame:
    rows = []
    for session in archive.sessions:
        if session.mode != "offline":
            continue
        spans, blanks, used = [], [], 0
        for rec in archive.recordings:
            if rec.role == "door" or (session.room and rec.room and rec.room != session.room):
                continue
            analysis = analyses.get(rec.recording_id)
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
    return frame("coverage", rows)


def blanks_frame(archive: ClassArchive, analyses: dict[str, RecordingAnalysis]) -> pd.DataFrame:
    rows = []
    for rec in archive.recordings:
        analysis = analyses.get(rec.recording_id)
        if not analysis or not analysis.blanks:
            continue
        window = recording_window(rec, analysis)
        for stretch in analysis.blanks:
            start = window[0] + dt.timedelta(seconds=stretch.start_offset_s) if window else None
            end = window[0] + dt.timedelta(seconds=stretch.end_offset_s) if window else None
            session = session_of(archive.sessions, rec.room, start) if start else None
            rows.append({"class_id": rec.class_id, "path": rec.recording_id, "camera_id": rec.camera_id,
                         "session_id": session.session_id if session else None, "kind": stretch.kind,
                         "start": start, "end": end, "start_offset_s": stretch.start_offset_s,
                         "end_offset_s": stretch.end_offset_s, "snapshot_offset_s": stretch.snapshot_offset_s,
                         "snapshot_path": None, "before_offset_s": getattr(stretch, "before_offset_s", None)})
    return frame("blanks", rows)


def _split_person(key: str | None) -> tuple[str | None, str]:
    if key is None:
        return None, "unknown"
    kind, _, person_id = key.partition(":")
    return person_id, kind


def face_frames(archive: ClassArchive, analyses: dict[str, RecordingAnalysis], faces, snapshot_dir: Path | None):
    """headcount, sightings, presence and unknown-person frames of one class from its videos' face passes.

    Unknown faces are clustered across the whole class (one cluster = one unknown person). A sighting at a
    sample time stands for half a sampling interval either side, so presence is not undercounted by one
    interval per stretch. Trainees enrolled with one face (IDENTITY_SHARED) cannot be told apart on video:
    a sighting of that face is presence of each of them (the shared enrollment is the finding; "never seen"
    would be false for both).
    """
    from pipeline.attendance.presence import cluster_unknowns, presence_intervals, robust_headcount

    recs = [(rec, analyses[rec.recording_id]) for rec in archive.recordings
            if rec.recording_id in analyses and analyses[rec.recording_id].faces is not None]
    recs = [(rec, a, recording_window(rec, a)) for rec, a in recs]
    recs = [(rec, a, w) for rec, a, w in recs if w is not None]
    results = [a.faces for _, a, _ in recs]
    twins = _shared_face_groups(a for _, a, _ in recs)
    clusters = cluster_unknowns(results, faces.cluster_threshold)
    cluster_of = {member: c.cluster_id for c in clusters for member in c.members}
    headcount, sightings, presence = [], [], []
    unknown_minutes: dict[str, float] = {}
    unknown_sessions: dict[str, set] = {}
    for r, (rec, analysis, window) in enumerate(recs):
        start = window[0]
        half_s = _interval(analysis) / 2.0
        result = analysis.faces
        teachers_at: dict[float, int] = {}
        for s in result.sightings:
            if s.person_id and s.person_id.startswith("teacher:"):
                teachers_at[s.offset_s] = teachers_at.get(s.offset_s, 0) + 1
        windows = robust_headcount(result.headcount, faces.headcount_window_s, faces.headcount_quantile)
        not_people: dict[float, list[dict]] = {}
        for e in result.excluded:
            not_people.setdefault(e.offset_s, []).append({"box": list(e.box_xywh), "reason": e.reason,
                                                          "detail": e.detail})
        for row in result.headcount:
            ts = start + dt.timedelta(seconds=row.offset_s)
            session = session_of(archive.sessions, rec.room, ts)
            teachers = teachers_at.get(row.offset_s, 0)
            smooth = next((w.faces for w in windows if w.start_s <= row.offset_s < w.end_s), float(row.faces))
            headcount.append({"class_id": rec.class_id, "session_id": session.session_id if session else None,
                              "camera_id": rec.camera_id, "path": rec.recording_id, "offset_s": row.offset_s, "ts": ts,
                              "faces": row.faces, "identified": row.identified, "unknown": row.unknown,
                              "teachers": teachers, "people_smoothed": max(0.0, smooth - teachers),
                              "not_people": len(not_people.get(row.offset_s, ())),
                              "not_people_why": json.dumps(not_people[row.offset_s], ensure_ascii=False)
                              if row.offset_s in not_people else None})

        def who(s, r=r):
            if s.person_id is not None:
                return s.person_id
            return cluster_of.get((r, s.unknown_index)) if s.unknown_index is not None else None

        def face_of(s):  # one key per face: shared-face trainees are one group
            key = who(s)
            return twins[key][0] if key in twins else key

        for s in result.sightings:
            ts = start + dt.timedelta(seconds=s.offset_s)
            session = session_of(archive.sessions, rec.room, ts)
            key = who(s)
            person_id, kind = _split_person(key) if key and ":" in key else (key, "unknown")
            if key is None:
                kind = "unidentified"  # too few judged samples to name anyone or call a stranger
            sightings.append({"class_id": rec.class_id, "session_id": session.session_id if session else None,
                              "camera_id": rec.camera_id, "path": rec.recording_id, "offset_s": s.offset_s, "ts": ts,
                              "person_id": person_id, "person_kind": kind,
                              "distance": s.distance if s.distance == s.distance and s.distance != float("inf") else None,
                              "box": list(s.box_xywh), "judged": bool(s.judged), "track_judged": int(s.track_judged)})
        unseeable = [(b.start_offset_s, b.end_offset_s) for b in analysis.blanks if b.kind in UNUSABLE_BLANK_KINDS]
        for face, spans in presence_intervals(result.sightings, faces.gap_tolerance_s, face_of, unseeable).items():
            for key, (a_s, b_s) in ((k, span) for k in twins.get(face, (face,)) for span in spans):
                person_id, kind = _split_person(key) if ":" in key else (key, "unknown")
                a = start + dt.timedelta(seconds=max(0.0, a_s - half_s))
                b = start + dt.timedelta(seconds=b_s + half_s)
                for session, lo, hi in _split_by_session(archive.sessions, rec.room, a, b):
                    minutes = (hi - lo).total_seconds() / 60.0
                    presence.append({"class_id": rec.class_id, "person_id": person_id, "person_kind": kind,
                                     "session_id": session.session_id if session else None,
                                     "camera_id": rec.camera_id, "start": lo, "end": hi, "minutes": minutes})
                    if kind == "unknown":
                        unknown_minutes[person_id] = unknown_minutes.get(person_id, 0.0) + minutes
                        if session:
                            unknown_sessions.setdefault(person_id, set()).add(session.session_id)
    unknown_rows, crops = [], {}
    for cluster in clusters:
        snapshot = None
        if snapshot_dir is not None:
            r, k = cluster.representative
            crop = results[r].unknown_snapshots[k] if k < len(results[r].unknown_snapshots) else None
            if crop is not None:  # written by outputs.publish; the path is relative to OUT
                snapshot = f"{snapshot_dir.parent.name}/{snapshot_dir.name}/{cluster.cluster_id}.jpg"
                crops[snapshot] = crop
        unknown_rows.append({"class_id": archive.info.class_id, "person_id": cluster.cluster_id,
                             "minutes": unknown_minutes.get(cluster.cluster_id, 0.0), "snapshot_path": snapshot,
                             "sessions": sorted(unknown_sessions.get(cluster.cluster_id, set()))})
    return (frame("headcount", headcount), frame("sightings", sightings), frame("presence", presence),
            frame("unknowns", unknown_rows), crops)


def _shared_face_groups(analyses: Iterable[RecordingAnalysis]) -> dict[str, tuple[str, ...]]:
    """{gallery key: its group} for trainees whose enrollment photos show one face (the pairs the face stage
    found, joined transitively); each group is sorted, its first key stands for the face."""
    parent: dict[str, str] = {}

    def root(k: str) -> str:
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    for analysis in analyses:
        for a, b, _ in analysis.enrollment_pairs:
            if a.startswith("trainee:") and b.startswith("trainee:"):
                ra, rb = root(a), root(b)
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for k in parent:
        groups.setdefault(root(k), []).append(k)
    return {k: tuple(sorted(g)) for g in groups.values() if len(g) > 1 for k in g}


def _interval(analysis: RecordingAnalysis) -> float:
    """Seconds between the samples of this recording's face pass."""
    offsets = sorted({row.offset_s for row in analysis.faces.headcount})
    if len(offsets) < 2:
        return 0.0
    steps = [b - a for a, b in zip(offsets, offsets[1:])]
    return float(sorted(steps)[len(steps) // 2])


def _split_by_session(sessions: Sequence[Session], room: str | None, start: dt.datetime, end: dt.datetime):
    """Cut [start, end) at the boundaries of the room's offline sessions: (session or None, start, end)."""
    cuts = sorted({start, end, *(t for s in sessions if s.mode == "offline" and (room is None or s.room in (None, room))
                                 for t in (s.start, s.end) if start < t < end)})
    for lo, hi in zip(cuts, cuts[1:]):
        yield session_of(sessions, room, lo), lo, hi


def enrollment_problems(archive: ClassArchive, analyses: Sequence[RecordingAnalysis]) -> list[Problem]:
    seen, problems = set(), []
    for analysis in analyses:
        for photo, found, who in analysis.enrollment_problems:
            if photo in seen:
                continue
            seen.add(photo)
            person = who.partition(":")[2] if who else None
            try:
                rel = str(Path(photo).relative_to(archive.info.folder.parent))
            except ValueError:
                rel = photo
            problems.append(Problem(rel, f"enrollment photo of {person} cannot be used for recognition",
                                    expected="exactly one face", found=found, level="warning",
                                    class_id=archive.info.class_id))
    return problems


def build(archive: ClassArchive, analyses: Sequence[RecordingAnalysis], pack: RulePack, faces,
          snapshot_dir: Path | None = None, photo_digests: dict[str, str | None] | None = None) -> ClassEvidence:
    """The attendance stage: one class's evidence from its archive and its recordings' analyses (keyed by
    recording_id): the recordings, coverage, blanks, headcount, sightings, presence and unknown-person
    frames, check-ins assigned to sessions, the trainee_hours table, and what the cross-class rules compare
    (enrollment pairs; `photo_digests`, read by the orchestrator). Pure: no file is opened; the unknown
    faces' crops ride along (`unknown_crops`) for outputs.publish to write."""
    from pipeline.attendance.checkin_sessions import assign_sessions
    from pipeline.attendance.hours import trainee_hours

    by_id = {a.recording_id: a for a in analyses}
    headcount, sightings, presence, unknowns, crops = face_frames(archive, by_id, faces, snapshot_dir)
    evidence = ClassEvidence(
        archive=archive, recordings=recordings_frame(archive, by_id), coverage=coverage_frame(archive, by_id),
        headcount=headcount, sightings=sightings, presence=presence, blanks=blanks_frame(archive, by_id),
        unknowns=unknowns, checkin_sessions=assign_sessions(archive.checkins, archive.sessions, pack),
        snapshot_dir=snapshot_dir, enrollment_pairs=_enrollment_pairs(analyses), photo_digests=photo_digests,
        unknown_crops=crops)
    evidence = dataclasses.replace(evidence, hours=trainee_hours(evidence, pack))
    check_evidence(evidence)
    return evidence


def _enrollment_pairs(analyses: Sequence[RecordingAnalysis]) -> pd.DataFrame | None:
    """Trainee pairs sharing one face, from the gallery the face stage built (None: no gallery built)."""
    if not any(a.faces is not None for a in analyses):
        return None
    rows = {}
    for analysis in analyses:
        for a, b, distance in analysis.enrollment_pairs:
            (id_a, kind_a), (id_b, kind_b) = _split_person(a), _split_person(b)
            if kind_a == kind_b == "trainee":
                rows[(id_a, id_b)] = distance
    return frame("enrollment_pairs", [{"person_a": a, "person_b": b, "distance": d} for (a, b), d in rows.items()])


def required_hours(info, pack: RulePack) -> tuple[float | None, float | None, float | None]:
    """(theory, practical, total) 学时 the class requires, as the hours rules judge a trainee of the class's
    own kind (pipeline.attendance.requirements); the total of an initial class is class.yaml's, else the sum."""
    from pipeline.attendance.requirements import requirements

    parts = {r.part: r.hours for r in requirements(info, pack, info.training_kind)}
    theory, practical = parts.get("theory"), parts.get("practical")
    total = parts.get("total")
    if total is None:
        total = info.required_total_hours if info.required_total_hours is not None else (
            theory + practical if theory is not None and practical is not None else None)
    return theory, practical, total


def base_tables(archive: ClassArchive, evidence: ClassEvidence, pack: RulePack) -> dict[str, pd.DataFrame]:
    info = archive.info
    theory, practical, total = required_hours(info, pack)
    classes = [{
        "class_id": info.class_id, "institution_name": info.institution_name, "job_type": info.job_type,
        "training_kind": info.training_kind, "province": info.province, "start_date": info.start_date,
        "end_date": info.end_date, "rule_pack": pack.name, "rule_pack_effective_from": pack.effective_from,
        "head_teacher": info.head_teacher, "timezone": info.timezone, "required_theory_hours": theory,
        "required_practical_hours": practical, "required_total_hours": total,
        "exam_registration": info.exam_registration,
        "trainees": len(archive.trainees), "sessions": len(archive.sessions), "recordings": len(archive.recordings),
        "folder": display_path(info.folder), "input_sha256": archive.input_sha256,
        "problems": sum(1 for p in archive.problems if p.level == "error")}]
    trainees = [{"class_id": t.class_id, "trainee_id": t.trainee_id, "name": t.name,
                 "id_number_masked": mask_id_number(t.id_number), "training_kind": t.training_kind,
                 "photos": len(t.photos)} for t in archive.trainees]
    sessions = [{"class_id": s.class_id, "session_id": s.session_id, "date": s.date, "start": s.start, "end": s.end,
                 "kind": s.kind, "mode": s.mode, "room": s.room, "teacher_id": s.teacher_id, "topic": s.topic,
                 "hours": s.hours, "scheduled_min": s.scheduled_min} for s in archive.sessions]
    return {
        "classes": frame("classes", classes), "trainees": frame("trainees", trainees),
        "sessions": frame("sessions", sessions), "checkins": conform(evidence.checkin_sessions, "checkins"),
        "recordings": evidence.recordings, "coverage": evidence.coverage, "headcount": evidence.headcount,
        "sightings": evidence.sightings, "presence": evidence.presence,
    }
