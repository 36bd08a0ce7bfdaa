"""Schedule rules: sessions too short for their 学时, the teacher seen on video vs. the plan, and the
cross-class checks on teachers and rooms (teacher_id and room are unique within an institution)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pipeline.attendance.timeline import intersect, merge, minutes, to_ts, window
from pipeline.model import Finding, Session
from pipeline.rules.context import ArchiveContext, RuleContext
from pipeline.rules.evidence import best_sighting
from pipeline.rules.findings import _fmt
from pipeline.rules.registry import rule

EPS = 1e-9


@rule("SESSION_TOO_SHORT")
def session_too_short(ctx: RuleContext) -> list[Finding]:
    """An offline session credits more 学时 than its length allows: hours x `offline_min_per_hour` >
    scheduled minutes (45 minutes per 学时 nationally)."""
    out = []
    per_hour = ctx.pack.offline_min_per_hour
    for s in ctx.offline_sessions():
        if not s.hours or s.hours * per_hour <= s.scheduled_min + EPS:
            continue
        out.append(ctx.finding(
            "SESSION_TOO_SHORT", session_id=s.session_id, start=s.start, end=s.end, measured=s.scheduled_min,
            threshold=s.hours * per_hour, fields={"hours": s.hours, "minutes": s.scheduled_min, "per_hour": per_hour},
            detail={"hours": s.hours, "scheduled_min": s.scheduled_min, "min_per_hour": per_hour,
                    "source_row": s.source_row}))
    return out


def _teacher_minutes(ctx: RuleContext, session: Session) -> dict[str, float]:
    p = ctx.evidence.presence
    if p is None or len(p) == 0:
        return {}
    p = p[(p["person_kind"] == "teacher") & (p["session_id"].isna() | (p["session_id"].astype("string") == session.session_id))]
    st = ctx.times[session.session_id]
    out = {}
    for pid, rows in p.groupby("person_id"):
        spans = intersect(merge(zip((to_ts(a, ctx.tz) for a in rows["start"]), (to_ts(b, ctx.tz) for b in rows["end"]))),
                          [window(session, ctx.tz)])
        if st.known:
            spans = intersect(spans, st.usable)
        out[str(pid)] = minutes(spans)
    return out


@rule("TEACHER_MISMATCH")
def teacher_mismatch(ctx: RuleContext) -> list[Finding]:
    """The teacher recognised longest on a session's video is not the scheduled one, was seen at least
    `teacher_mismatch_min_minutes` (or `teacher_mismatch_min_share` of the usable recorded minutes, if
    less), and the scheduled teacher was seen less. Judged only when the scheduled
    teacher has photos (otherwise the face stage could not have recognised them)."""
    with_photos = {t.teacher_id for t in ctx.archive.teachers if t.photos}
    out = []
    for s in ctx.offline_sessions():
        if not s.teacher_id or s.teacher_id not in with_photos:
            continue
        seen = _teacher_minutes(ctx, s)
        if not seen:
            continue
        recorded = ctx.times[s.session_id].recorded_min or 0.0
        need = min(ctx.pack.teacher_mismatch_min_minutes, ctx.pack.teacher_mismatch_min_share * recorded)
        top, top_min = max(sorted(seen.items()), key=lambda kv: kv[1])
        scheduled_min = seen.get(s.teacher_id, 0.0)
        if top == s.teacher_id or top_min < need - EPS or scheduled_min >= top_min:
            continue
        sight = best_sighting(ctx, top, s.session_id)
        shot = sight.snapshot() if sight else None
        out.append(ctx.finding(
            "TEACHER_MISMATCH", session_id=s.session_id, id_keys=("session_id",),
            camera_id=sight.camera_id if sight else None, start=s.start, end=s.end, measured=top_min,
            threshold=need, snapshot=shot,
            fields={"scheduled": s.teacher_id, "seen": top, "minutes": top_min},
            detail={"scheduled_teacher": s.teacher_id, "seen_teacher": top, "seen_minutes": seen,
                    "best_sighting": sight.detail() if sight else None}))
    return out


def _offline(actx: ArchiveContext) -> list[tuple[RuleContext, Session]]:
    return [(ctx, s) for ctx in actx.contexts() for s in ctx.offline_sessions()]


def _overlapping(items: list[tuple[RuleContext, Session]], key: Callable | None = None) -> Iterator[tuple]:
    """Pairs of sessions whose scheduled times overlap (a sweep over start times), within each group of
    `key(ctx, session)` (None: all sessions form one group; a key of None leaves a session out).

    A city's classes mostly run at the same hours, so a sweep over all of them pairs every class with
    every other in session: the rules only care about one institution's teacher or room, and indexing
    by it keeps the pairs to those (benchmarks/bench_crossclass.py: same findings, time ratio)."""
    groups: dict[object, list] = {}
    for ctx, s in items:
        group = None if key is None else key(ctx, s)
        if key is None or group is not None:
            groups.setdefault(group, []).append((to_ts(s.start, ctx.tz), to_ts(s.end, ctx.tz), ctx, s))
    for members in groups.values():
        members.sort(key=lambda m: (m[0], m[2].info.class_id, m[3].session_id))
        for i, (_, end_a, ca, sa) in enumerate(members):
            for start_b, _, cb, sb in members[i + 1:]:
                if start_b >= end_a:
                    break
                yield (ca, sa), (cb, sb)


def _by_teacher(ctx: RuleContext, s: Session):
    return (ctx.info.institution_id, s.teacher_id) if s.teacher_id else None


def _by_room(ctx: RuleContext, s: Session):
    return (ctx.info.institution_id, s.room) if s.room else None


def _pair_findings(rule_id: str, a: tuple, b: tuple, fields: dict, detail: dict) -> list[Finding]:
    """One finding in each class involved; within one class, one on the earlier session."""
    (ca, sa), (cb, sb) = a, b
    sides = [(ca, sa, cb, sb), (cb, sb, ca, sa)] if ca is not cb else [(ca, sa, cb, sb)]
    out = []
    for ctx, own, octx, oth in sides:
        other = oth.session_id if octx is ctx else f"{octx.info.class_id}/{oth.session_id}"
        overlap = intersect([window(own, ctx.tz)], [window(oth, octx.tz)])
        out.append(ctx.finding(
            rule_id, session_id=own.session_id, other=other, start=overlap[0][0], end=overlap[0][1],
            measured=minutes(overlap), threshold=0,
            fields={**fields, "other": other, "other_room": oth.room or "?", "room": own.room or "?"},
            detail={**detail, "session": own.session_id, "room": own.room, "teacher_id": own.teacher_id,
                    "other_class_id": octx.info.class_id, "other_session": oth.session_id, "other_room": oth.room,
                    "other_teacher_id": oth.teacher_id, "other_start": oth.start, "other_end": oth.end,
                    "overlap_min": minutes(overlap)}))
    return out


@rule("TEACHER_CONFLICT", scope="archive")
def teacher_conflict(actx: ArchiveContext) -> list[Finding]:
    """One teacher (same institution) scheduled in overlapping offline sessions of different classes, or of
    one class in different rooms."""
    out = []
    for a, b in _overlapping(_offline(actx), _by_teacher):
        (ca, sa), (cb, sb) = a, b
        if not sa.teacher_id or sa.teacher_id != sb.teacher_id or ca.info.institution_id != cb.info.institution_id:
            continue
        if ca is cb and sa.room == sb.room:
            continue
        out += _pair_findings("TEACHER_CONFLICT", a, b, {"teacher": sa.teacher_id}, {})
    return out


def _scheduled_basis(lang: str, room: object, overlap_min: float) -> str:
    if lang == "en":
        return f"are scheduled in the same room {room or '?'}, overlapping {_fmt(overlap_min)} min"
    return f"在同一教室 {room or '?'} 时间重叠 {_fmt(overlap_min)} 分钟"


@rule("CLASS_MERGED", scope="archive")
def class_merged(actx: ArchiveContext) -> list[Finding]:
    """Two classes (same institution) scheduled in the same room at overlapping times. One camera's footage
    of that lesson filed in both classes is consistent with it and not reported again as RECORDING_REUSED;
    the same footage filed by classes the schedule keeps apart is RECORDING_REUSED (see recording.py)."""
    out = []
    for a, b in _overlapping(_offline(actx), _by_room):
        (ca, sa), (cb, sb) = a, b
        if ca is cb or not sa.room or sa.room != sb.room or ca.info.institution_id != cb.info.institution_id:
            continue
        overlap = minutes(intersect([window(sa, ca.tz)], [window(sb, cb.tz)]))
        out += _pair_findings("CLASS_MERGED", a, b, {"basis": _scheduled_basis(ca.lang, sa.room, overlap)}, {})
    return out


