"""Recording rules: is every offline session on video, is the video usable, was it kept, is it reused.

Coverage is judged from the evidence's `recordings` frame (readable files of the session's room, door
cameras excluded; see pipeline/attendance/timeline.py), falling back to the `coverage` table when no file
of the room has a known time. Full recording is required for sessions on or after the pack's
`full_recording_from`; before it only retention rules apply (RECORDING_RETENTION).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd

from pipeline.attendance.rows import BlankRow, RecordingRow, typed_rows
from pipeline.attendance.timeline import (
    coverage_of, frame_intervals, intersect, minutes, recorded_intervals, room_recordings, subtract, to_ts, window,
)
from pipeline.ingest.values import is_null
from pipeline.model import Finding, Session
from pipeline.rules.context import ArchiveContext, RuleContext, Snapshot
from pipeline.rules.findings import finding_id
from pipeline.rules.registry import rule

EPS = 1e-9


def recorded(ctx: RuleContext, s: Session) -> tuple[list, float, list | None]:
    """(covered intervals, covered minutes, uncovered intervals or None when unknown), blank footage
    counted as covered. The coverage frame's numbers win where it has the session (see coverage_of)."""
    spans = recorded_intervals(ctx.evidence, s) if frame_intervals(room_recordings(ctx.evidence, s), ctx.tz) else []
    cov = coverage_of(ctx.evidence, s)
    if cov is not None:
        gaps = cov["gaps"] if cov["gaps"] is not None else (subtract([window(s, ctx.tz)], spans) if spans else None)
        return spans, cov["recorded_min"], gaps
    return spans, minutes(spans), subtract([window(s, ctx.tz)], spans)


def _full_required(ctx: RuleContext) -> list[Session]:
    return [s for s in ctx.offline_sessions() if s.date >= ctx.pack.full_recording_from]


@rule("RECORDING_MISSING")
def recording_missing(ctx: RuleContext) -> list[Finding]:
    """An offline session (on or after `full_recording_from`) with no readable recording of its room."""
    out = []
    for s in _full_required(ctx):
        if recorded(ctx, s)[1] > EPS:
            continue
        out.append(ctx.finding(
            "RECORDING_MISSING", session_id=s.session_id, start=s.start, end=s.end, measured=0.0,
            threshold=s.scheduled_min, fields={"room": s.room or "?", "scheduled_min": s.scheduled_min},
            detail={"room": s.room, "scheduled_min": s.scheduled_min,
                    "files_of_room": int(len(room_recordings(ctx.evidence, s)))}))
    return out


@rule("RECORDING_GAP")
def recording_gap(ctx: RuleContext) -> list[Finding]:
    """Scheduled time of a recorded offline session not covered by its room's recordings, in stretches
    longer than `gap_tolerance_min`: one finding per session listing the stretches."""
    tol = ctx.pack.gap_tolerance_min
    out = []
    for s in _full_required(ctx):
        _, covered, uncovered = recorded(ctx, s)
        if covered <= EPS:
            continue  # RECORDING_MISSING
        if uncovered is not None:
            gaps = [g for g in uncovered if minutes([g]) > tol + EPS]
            total = minutes(gaps)
            if not gaps:
                continue
        else:  # only the coverage minutes are known: judge their sum
            gaps, total = [], max(0.0, s.scheduled_min - covered)
            if total <= tol + EPS:
                continue
        longest = max(gaps, key=lambda g: g[1] - g[0]) if gaps else (None, None)
        out.append(ctx.finding(
            "RECORDING_GAP", session_id=s.session_id, start=longest[0], end=longest[1], measured=total,
            threshold=tol, fields={"room": s.room or "?", "gaps": len(gaps) or 1, "gap_min": total},
            detail={"room": s.room, "covered_min": covered, "scheduled_min": s.scheduled_min,
                    "gaps": [{"start": a.isoformat(), "end": b.isoformat(), "minutes": minutes([(a, b)])}
                             for a, b in gaps]}))
    return out


@dataclass(frozen=True)
class _Stretch:
    """A blank stretch (its blanks row) inside one offline session, clipped to the session's window."""

    row: BlankRow
    session_id: str
    start: pd.Timestamp
    end: pd.Timestamp
    minutes: float
    clip_s: float  # seconds the clipping took off the stretch's start


def _blank_stretches(ctx: RuleContext) -> list[_Stretch]:
    b = ctx.evidence.blanks
    if b is None or len(b) == 0:
        return []
    out = []
    for row in typed_rows(b, BlankRow):
        a, z = to_ts(row.start, ctx.tz), to_ts(row.end, ctx.tz)
        sid = row.session_id
        sid = sid if isinstance(sid, str) and sid in ctx.sessions else ctx.session_at(a, z)
        if a is None or z is None or sid is None or ctx.sessions[sid].mode != "offline":
            continue
        inside = intersect([(a, z)], [window(ctx.sessions[sid], ctx.tz)])
        if inside:
            out.append(_Stretch(row, sid, inside[0][0], inside[0][1], minutes(inside),
                                (inside[0][0] - a).total_seconds()))
    return out


@rule("RECORDING_BLANK")
def recording_blank(ctx: RuleContext) -> list[Finding]:
    """Black, frozen or covered footage of `blank_tolerance_min` or longer inside an offline session (a covered
    lens or a frozen picture is never normal: the tolerance only absorbs sampling): one finding per file and
    session, listing the stretches with their offsets; snapshots in the middle of the longest and, as
    `snapshot_before`, the last normal picture before it."""
    tol = ctx.pack.blank_tolerance_min
    long = [s for s in _blank_stretches(ctx) if s.minutes >= tol - EPS and s.minutes > EPS]
    out = []
    for (path, sid), group in itertools.groupby(sorted(long, key=lambda s: (str(s.row.path), s.session_id, s.start)),
                                               key=lambda s: (str(s.row.path), s.session_id)):
        group = list(group)
        top = max(group, key=lambda s: s.minutes)
        mid_s = float(top.row.start_offset_s or 0.0) + top.clip_s + top.minutes * 30.0
        camera = _text(top.row.camera_id)
        before_s = _num(top.row.before_offset_s)
        before = None
        if before_s is not None:
            fid = finding_id(ctx.info.class_id, "RECORDING_BLANK", path=path, session_id=sid, camera_id=camera)
            before = ctx.snapshot(fid, "RECORDING_BLANK", Snapshot(path, before_s), detail_key="snapshot_before",
                                  name=f"recording_blank_{fid}_before")
        out.append(ctx.finding(
            "RECORDING_BLANK", path=path, session_id=sid, camera_id=camera, start=top.start, end=top.end,
            measured=top.minutes, threshold=tol,
            snapshot=Snapshot(path, mid_s),
            fields={"kind": _text(top.row.kind) or "?", "minutes": top.minutes},
            detail={"stretches": [{"kind": _text(s.row.kind), "start": s.start.isoformat(),
                                   "end": s.end.isoformat(), "minutes": s.minutes,
                                   "start_offset_s": _num(s.row.start_offset_s),
                                   "end_offset_s": _num(s.row.end_offset_s)} for s in group],
                    "offset_s": _num(top.row.start_offset_s), "end_offset_s": _num(top.row.end_offset_s),
                    "snapshot_before_offset_s": before_s, "snapshot_before": before}))
    return out


def _text(v: object) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _num(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


# Error texts of files the run did not decode (video analysis off): unknown, not corrupt.
NOT_JUDGED = ("not analysed",)


@rule("RECORDING_CORRUPT")
def recording_corrupt(ctx: RuleContext) -> list[Finding]:
    """A file that cannot be decoded or is truncated (readable false), or whose timestamps jump (error
    text on a readable file)."""
    rec = ctx.evidence.recordings
    if rec is None or len(rec) == 0:
        return []
    out = []
    for r in typed_rows(rec, RecordingRow):
        error = _text(r.error)
        readable = r.readable
        unreadable = readable is not None and not pd.isna(readable) and not bool(readable)
        if error in NOT_JUDGED or (not unreadable and not error):
            continue
        out.append(ctx.finding(
            "RECORDING_CORRUPT", path=str(r.path), session_id=ctx.session_at(r.start, r.end),
            camera_id=_text(r.camera_id), start=to_ts(r.start, ctx.tz), end=to_ts(r.end, ctx.tz),
            fields={"error": error or "unreadable"},
            detail={"error": error, "readable": None if readable is None or pd.isna(readable) else bool(readable),
                    "size_bytes": _num(r.size_bytes), "start_source": _text(r.start_source)}))
    return out


@rule("RECORDING_RETENTION")
def recording_retention(ctx: RuleContext) -> list[Finding]:
    """Retention rules: before `full_recording_from`, at least `retention_share_before_full` of offline time
    kept (Shandong 20%); with `retention_days`, sessions before that date still inside the retention period
    on the audit date must have some recording kept."""
    before = [s for s in ctx.offline_sessions() if s.date < ctx.pack.full_recording_from]
    out = []
    if before and ctx.pack.retention_share_before_full is not None:
        scheduled = sum(s.scheduled_min for s in before)
        kept = sum(recorded(ctx, s)[1] for s in before)
        share = kept / scheduled if scheduled > 0 else 1.0
        need = ctx.pack.retention_share_before_full
        if share < need - EPS:
            out.append(ctx.finding(
                "RECORDING_RETENTION", part="share_before_full", measured=share, threshold=need,
                fields={"share": share * 100, "need": need * 100},
                detail={"kept_min": kept, "scheduled_min": scheduled, "sessions": len(before),
                        "before": ctx.pack.full_recording_from}))
    if before and ctx.pack.retention_days is not None:
        horizon = ctx.audit_date.toordinal() - ctx.pack.retention_days
        due = [s for s in before if s.end.date().toordinal() >= horizon]
        lost = [s.session_id for s in due if not recorded(ctx, s)[1]]
        if lost:
            out.append(ctx.finding(
                "RECORDING_RETENTION", part="retention_days", measured=len(lost), threshold=0,
                fields={"days": ctx.pack.retention_days, "sessions": len(lost)},
                detail={"sessions_without_recording": lost, "retention_days": ctx.pack.retention_days,
                        "audit_date": ctx.audit_date}))
    return out


REUSE_ALIASES = {"class_a": "class_id_a", "class_b": "class_id_b", "start_offset_a_s": "offset_a_s",
                 "start_offset_b_s": "offset_b_s"}


def _pairs(actx: ArchiveContext) -> list[dict]:
    """Footage pairs: byte-identical files (sha256) anywhere in the run, plus the video stage's matches."""
    pairs = []
    files = []
    for cid, ctx in actx.classes.items():
        for r in ctx.recordings_rows():
            if not is_null(r.get("sha256")):
                files.append((str(r["sha256"]), cid, str(r["path"])))
    files.sort()
    for _, group in itertools.groupby(files, key=lambda f: f[0]):
        for (_, ca, pa), (_, cb, pb) in itertools.combinations(list(group), 2):
            pairs.append({"class_id_a": ca, "path_a": pa, "offset_a_s": 0.0, "class_id_b": cb, "path_b": pb,
                          "offset_b_s": 0.0, "similarity": 1.0, "method": "sha256"})
    reuse = actx.reuse
    if reuse is not None and len(reuse):  # files named by recording_id (crossclass.reuse_frame)
        for r in reuse.rename(columns=REUSE_ALIASES).to_dict("records"):
            pairs.append({**r, "method": r.get("method") or "video"})
    return pairs


def _file_times(ctx: RuleContext, path: str) -> tuple[object, object, str | None]:
    for r in ctx.recordings_rows():
        if str(r.get("path")) == path:
            return to_ts(r.get("start"), ctx.tz), to_ts(r.get("end"), ctx.tz), _text(r.get("camera_id"))
    return None, None, None


def same_moment(start_a, offset_a_s: float, start_b, offset_b_s: float, tolerance_s: float) -> bool | None:
    """Whether matched footage shows the same wall-clock moment in both files (a backup copy, a second
    export of the same session and time, overlapping NVR segments: one recording kept twice, not reuse).
    `start_*` are the files' start datetimes; None when either is unknown (it cannot be told)."""
    if start_a is None or start_b is None:
        return None
    moment_a = start_a.timestamp() + float(offset_a_s or 0.0)
    moment_b = start_b.timestamp() + float(offset_b_s or 0.0)
    return abs(moment_a - moment_b) <= tolerance_s


def _moment(ctx: RuleContext, path: str, offset_s: object):
    """Wall-clock time of a file's footage at `offset_s`, None when the file's start is unknown."""
    start = _file_times(ctx, path)[0]
    return None if start is None else start + pd.Timedelta(seconds=_num(offset_s) or 0.0)


def _scheduled_together(xa: RuleContext, path_a: str, xb: RuleContext, path_b: str) -> bool:
    """Whether the two files fall in sessions that the schedule shows as one merged class: two classes of one
    institution in the same room at overlapping times (what CLASS_MERGED reports)."""
    if xa.info.institution_id != xb.info.institution_id:
        return False
    own = xa.session_at(*_file_times(xa, path_a)[:2])
    oth = xb.session_at(*_file_times(xb, path_b)[:2])
    sa, sb = xa.sessions.get(own) if own else None, xb.sessions.get(oth) if oth else None
    if sa is None or sb is None or not sa.room or sa.room != sb.room:
        return False
    return bool(intersect([window(sa, xa.tz)], [window(sb, xb.tz)]))


def merged_footage(actx: ArchiveContext, pairs: list[dict] | None = None) -> list[tuple[dict, RuleContext, RuleContext]]:
    """Footage pairs across two classes that show the same wall-clock moment in both files, filed for two
    sessions the schedule itself shows merged (same institution, same room, overlapping times): one camera
    recording one merged lesson, which CLASS_MERGED already reports; not reuse. Same-moment footage in any
    other pair of classes (other rooms, a class with no session then, another institution) is the same
    footage appearing for two classes: RECORDING_REUSED. Each with the two classes' contexts (a's, b's)."""
    out = []
    for p in _pairs(actx) if pairs is None else pairs:
        ca, cb = str(p["class_id_a"]), str(p["class_id_b"])
        if ca == cb or ca not in actx.classes or cb not in actx.classes:
            continue
        xa, xb = actx.classes[ca], actx.classes[cb]
        pa, pb = str(p["path_a"]), str(p["path_b"])
        a, b = _moment(xa, pa, p.get("offset_a_s")), _moment(xb, pb, p.get("offset_b_s"))
        if a is not None and b is not None and abs((a - b).total_seconds()) <= min(
                xa.pack.reuse_same_moment_s, xb.pack.reuse_same_moment_s) and _scheduled_together(xa, pa, xb, pb):
            out.append((p, xa, xb))
    return out


@rule("RECORDING_REUSED", scope="archive")
def recording_reused(actx: ArchiveContext) -> list[Finding]:
    """The same footage for two sessions or classes: one finding per class involved (within a class, one per
    pair, on the first file by path). Within a class, footage that shows the same wall-clock moment in both
    files (within `reuse_same_moment_s`) is one recording kept twice (a backup copy, a second export of the
    same session and time, overlapping NVR segments), not reuse; where either file's time is unknown the two
    cannot be told apart and nothing is reported. Across classes the same footage is reuse whatever its time
    (`same_moment` in the detail says whether both files show it at one wall-clock time), except for two
    sessions the schedule shows merged (same room, overlapping: CLASS_MERGED), where one camera recording
    both is what a merged lesson looks like. The detail carries what an inspector needs to judge a match: where
    the footage starts in each file and at what wall-clock time, how far apart in time it is presented
    (time_shift_s), how long and how alike it is, and the matcher's margin against its threshold."""
    out, seen = [], set()
    pairs = _pairs(actx)
    merged = {id(p) for p, _, _ in merged_footage(actx, pairs)}
    for p in pairs:
        ca, cb, pa, pb = str(p["class_id_a"]), str(p["class_id_b"]), str(p["path_a"]), str(p["path_b"])
        if ca not in actx.classes or cb not in actx.classes or (ca, pa) == (cb, pb) or id(p) in merged:
            continue
        sides = [(ca, pa, p.get("offset_a_s"), cb, pb, p.get("offset_b_s")),
                 (cb, pb, p.get("offset_b_s"), ca, pa, p.get("offset_a_s"))]
        if ca == cb:
            ctx = actx.classes[ca]
            same = same_moment(_file_times(ctx, pa)[0], _num(p.get("offset_a_s")) or 0.0,
                               _file_times(ctx, pb)[0], _num(p.get("offset_b_s")) or 0.0, ctx.pack.reuse_same_moment_s)
            if same is None or same:
                continue
            sides = [min(sides, key=lambda x: x[1])]
        for cid, path, off, other_cid, other_path, other_off in sides:
            ctx = actx.classes[cid]
            other = other_path if other_cid == cid else f"{other_cid}/{other_path}"
            if (cid, path, other) in seen:
                continue
            seen.add((cid, path, other))
            start, end, camera = _file_times(ctx, path)
            off_s = _num(off) or 0.0
            here, there = _moment(ctx, path, off), _moment(actx.classes[other_cid], other_path, other_off)
            out.append(ctx.finding(
                "RECORDING_REUSED", path=path, other=other, session_id=ctx.session_at(start, end),
                camera_id=camera, start=start, end=end, measured=_num(p.get("similarity")),
                snapshot=Snapshot(path, off_s),
                fields={"other": other, "similarity": _num(p.get("similarity"))},
                detail={"file": path, "offset_s": off_s, "other_class_id": other_cid, "other_file": other_path,
                        "other_offset_s": _num(other_off), "similarity": _num(p.get("similarity")),
                        "duration_s": _num(p.get("duration_s")), "method": p.get("method"),
                        "footage_time": here, "other_footage_time": there,
                        "time_shift_s": None if here is None or there is None else round((there - here).total_seconds(), 1),
                        "same_moment": None if here is None or there is None else abs((there - here).total_seconds())
                        <= min(ctx.pack.reuse_same_moment_s, actx.classes[other_cid].pack.reuse_same_moment_s),
                        "matching_samples": _num(p.get("matching_samples")), "margin": _num(p.get("margin")),
                        "min_margin": _num(p.get("min_margin"))}))
    return out
