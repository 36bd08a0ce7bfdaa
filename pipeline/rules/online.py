"""Online-study rules: the share of theory studied online, courses credited beyond their minutes, face
verification during online study, and practical 学时 credited online."""

from __future__ import annotations

import itertools

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


def _course_key(r: OnlineRecord) -> str:
    return r.course_id


@rule("ONLINE_COURSE_SHORT")
def online_course_short(ctx: RuleContext) -> list[Finding]:
    """An online course credited with more 学时 than its effective minutes allow at `online_min_per_hour`
    (Shandong: 45, so a course under 45 minutes cannot be one 学时), or with no 学时 stated: one finding per
    course, measured as the fewest minutes per credited 学时 among its records."""
    per_hour = ctx.pack.online_min_per_hour
    out = []
    records = sorted(ctx.archive.online, key=_course_key)
    ids = set(ctx.sessions)
    for course, group in itertools.groupby(records, key=_course_key):
        group = list(group)
        no_hours = [r for r in group if r.credited_hours is None]
        short = [r for r in group if r.credited_hours and r.effective_min is not None
                 and r.effective_min < r.credited_hours * per_hour - EPS]
        if not no_hours and not short:
            continue
        rates = [r.effective_min / r.credited_hours for r in short]
        worst = min(rates) if rates else None
        sid = next((online_session_of(r, ids) for r in group if online_session_of(r, ids)), None)
        out.append(ctx.finding(
            "ONLINE_COURSE_SHORT", part=f"course:{course}", session_id=sid, measured=worst, threshold=per_hour,
            fields={"course": course, "title": group[0].course_title or course,
                    "reason": "no_hours" if not short else "short", "min_per_hour": worst,
                    "records": len(short) + len(no_hours)},
            detail={"course_id": course, "course_title": group[0].course_title,
                    "records_short": [{"trainee_id": r.trainee_id, "effective_min": r.effective_min,
                                       "credited_hours": r.credited_hours, "source_file": r.source_file,
                                       "source_row": r.source_row} for r in short],
                    "records_without_hours": [{"trainee_id": r.trainee_id, "source_file": r.source_file,
                                               "source_row": r.source_row} for r in no_hours]}))
    return out


@rule("ONLINE_NO_FACE_CHECK")
def online_no_face_check(ctx: RuleContext) -> list[Finding]:
    """Online study credited without face verification (no checks recorded) or with failed checks: one
    finding per course, with the records and their counts."""
    out = []
    records = sorted((r for r in ctx.archive.online if r.credited_hours), key=_course_key)
    ids = set(ctx.sessions)
    for course, group in itertools.groupby(records, key=_course_key):
        bad = [r for r in group if not online_passed(r)]
        if not bad:
            continue
        sid = next((online_session_of(r, ids) for r in bad if online_session_of(r, ids)), None)
        out.append(ctx.finding(
            "ONLINE_NO_FACE_CHECK", part=f"course:{course}", session_id=sid, measured=len(bad), threshold=0,
            fields={"course": course, "title": bad[0].course_title or course, "records": len(bad)},
            detail={"course_id": course, "records": [
                {"trainee_id": r.trainee_id, "face_checks": r.face_checks, "face_checks_passed": r.face_checks_passed,
                 "credited_hours": r.credited_hours, "source_file": r.source_file, "source_row": r.source_row}
                for r in bad]}))
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
