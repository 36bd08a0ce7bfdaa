"""Online-study rules: the share of theory studied online, courses credited beyond their minutes, face
verification during online study, and practical 学时 credited online."""

from __future__ import annotations

from pipeline.attendance.hours import online_passed, online_session_of
from pipeline.attendance.requirements import requirements
from pipeline.model import Finding, OnlineRecord
from pipeline.rules.context import RuleContext
from pipeline.rules.hours import unlinked_online
from pipeline.rules.registry import rule

EPS = 1e-9


@rule("ONLINE_SHARE")
def online_share(ctx: RuleContext) -> list[Finding]:
    """Per trainee: online theory 学时 credited (schedule's online theory rows as the trainee's records
    credit them, plus online courses outside the schedule) above `max_online_share_theory` of the class's
    required theory 学时 (refresher: the required total). Without a requirement (unknown job type) the
    trainee's credited theory 学时 are the base."""
    limit = ctx.pack.max_online_share_theory
    h = ctx.hours
    out = []
    for t in ctx.archive.trainees:
        rows = h[(h["trainee_id"] == t.trainee_id) & (h["kind"] == "theory")] if len(h) else h
        unlinked = sum(float(r.credited_hours or 0.0) for r in unlinked_online(ctx, t.trainee_id))
        online = unlinked + (float(rows[rows["mode"] == "online"]["credited_hours"].fillna(0).sum()) if len(rows) else 0.0)
        if online <= EPS:
            continue
        reqs = {r.part: r for r in requirements(ctx.info, ctx.pack, t.training_kind)}
        req = reqs.get("theory") or reqs.get("total")
        base = req.hours if req else unlinked + (float(rows["credited_hours"].fillna(0).sum()) if len(rows) else 0.0)
        if base <= EPS:
            continue
        share = online / base
        if share <= limit + EPS:
            continue
        out.append(ctx.finding(
            "ONLINE_SHARE", trainee_id=t.trainee_id, measured=share, threshold=limit,
            fields={"name": t.name, "online": online, "base": base, "share": share * 100, "limit": limit * 100},
            detail={"online_theory_hours": online, "base_hours": base,
                    "base": req.source if req else "credited theory hours"}))
    return out


def _records(ctx: RuleContext) -> list[OnlineRecord]:
    return sorted(ctx.archive.online, key=lambda r: (r.trainee_id, r.course_id, r.source_row))


def _record_detail(r: OnlineRecord) -> dict:
    return {"course_id": r.course_id, "course_title": r.course_title, "effective_min": r.effective_min,
            "credited_hours": r.credited_hours, "face_checks": r.face_checks,
            "face_checks_passed": r.face_checks_passed, "source_file": r.source_file, "source_row": r.source_row}


@rule("ONLINE_COURSE_SHORT")
def online_course_short(ctx: RuleContext) -> list[Finding]:
    """A trainee's online course credited with more 学时 than its effective minutes allow at
    `online_min_per_hour` (Shandong 45: a course under 45 minutes cannot be one 学时), or with no 学时
    stated: one finding per trainee and course (an online record is per trainee)."""
    per_hour = ctx.pack.online_min_per_hour
    ids = set(ctx.sessions)
    out = []
    for r in _records(ctx):
        if r.credited_hours is None:
            reason, need = "no_hours", None
        elif r.credited_hours > 0 and r.effective_min is not None and r.effective_min < r.credited_hours * per_hour - EPS:
            reason, need = "short", r.credited_hours * per_hour
        else:
            continue
        out.append(ctx.finding(
            "ONLINE_COURSE_SHORT", trainee_id=r.trainee_id, part=f"course:{r.course_id}",
            session_id=online_session_of(r, ids), measured=r.effective_min, threshold=need,
            fields={"course": r.course_id, "title": r.course_title or r.course_id, "reason": reason,
                    "minutes": r.effective_min, "hours": r.credited_hours, "per_hour": per_hour},
            detail={**_record_detail(r), "reason": reason, "min_per_hour": per_hour}))
    return out


@rule("ONLINE_NO_FACE_CHECK")
def online_no_face_check(ctx: RuleContext) -> list[Finding]:
    """Online study credited (学时 > 0) without face verification (no checks recorded) or with failed
    checks: one finding per trainee and course, with the counts."""
    ids = set(ctx.sessions)
    out = []
    for r in _records(ctx):
        if not r.credited_hours or online_passed(r):
            continue
        out.append(ctx.finding(
            "ONLINE_NO_FACE_CHECK", trainee_id=r.trainee_id, part=f"course:{r.course_id}",
            session_id=online_session_of(r, ids), measured=r.face_checks_passed or 0, threshold=r.face_checks or 0,
            fields={"course": r.course_id, "title": r.course_title or r.course_id,
                    "checks": r.face_checks if r.face_checks is not None else 0,
                    "passed": r.face_checks_passed if r.face_checks_passed is not None else 0},
            detail=_record_detail(r)))
    return out


@rule("PRACTICAL_ONLINE")
def practical_online(ctx: RuleContext) -> list[Finding]:
    """A practical session of the schedule held online (or online records tied to one) while the pack does
    not allow practical 学时 online: one finding per session."""
    if ctx.pack.practical_online_allowed:
        return []
    ids = set(ctx.sessions)
    linked: dict[str, list[OnlineRecord]] = {}
    for r in ctx.archive.online:
        sid = online_session_of(r, ids)
        if sid:
            linked.setdefault(sid, []).append(r)
    out = []
    for s in sorted(ctx.archive.sessions, key=lambda s: (s.start, s.session_id)):
        if s.kind != "practical" or (s.mode != "online" and s.session_id not in linked):
            continue
        credited = sum(float(r.credited_hours or 0.0) for r in linked.get(s.session_id, []))
        hours = s.hours if s.hours is not None else credited
        out.append(ctx.finding(
            "PRACTICAL_ONLINE", session_id=s.session_id, start=s.start, end=s.end, measured=hours, threshold=0,
            fields={"hours": hours, "topic": s.topic or ""},
            detail={"mode": s.mode, "schedule_hours": s.hours, "online_records": len(linked.get(s.session_id, [])),
                    "online_credited_hours": credited}))
    return out
