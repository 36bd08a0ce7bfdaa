"""Hours rules: does each trainee reach the required 学时, were more 学时 credited than attended, daily
limits, and exam registration before the hours were complete. See pipeline/attendance/requirements.py for
what is required and what the evidence supports."""

from __future__ import annotations

import pandas as pd

from pipeline.attendance.hours import online_session_of
from pipeline.attendance.requirements import counted_hours, requirements
from pipeline.attendance.timeline import to_ts
from pipeline.model import Finding, OnlineRecord
from pipeline.rules.context import RuleContext
from pipeline.rules.registry import rule

EPS = 1e-9
PART_NAMES = {"theory": "理论", "practical": "实操", "total": "总"}


def unlinked_online(ctx: RuleContext, trainee_id: str) -> list[OnlineRecord]:
    """Online courses of a trainee that belong to no schedule row (counted as theory)."""
    ids = set(ctx.sessions)
    return [r for r in ctx.archive.online if r.trainee_id == trainee_id and online_session_of(r, ids) is None]


def _trainee_rows(ctx: RuleContext) -> dict[str, pd.DataFrame]:
    return {str(t): g for t, g in ctx.hours.groupby("trainee_id")} if len(ctx.hours) else {}


def _shortfalls(ctx: RuleContext, rule_id: str, until: object = None) -> list[Finding]:
    rows = _trainee_rows(ctx)
    out = []
    for t in ctx.archive.trainees:
        have = counted_hours(rows.get(t.trainee_id, ctx.hours.iloc[0:0]), ctx.sessions,
                             unlinked_online(ctx, t.trainee_id), ctx.pack, until=until, tz=ctx.tz)
        for req in requirements(ctx.info, ctx.pack, t.training_kind):
            if have[req.part] >= req.hours - EPS:
                continue
            extra = {"registration": to_ts(until, ctx.tz).isoformat()} if until is not None else {}
            out.append(ctx.finding(
                rule_id, trainee_id=t.trainee_id, part=req.part, measured=have[req.part], threshold=req.hours,
                fields={"name": t.name, "part": req.part, "part_zh": PART_NAMES[req.part], **extra},
                detail={"part": req.part, "supported_hours": have[req.part], "required_hours": req.hours,
                        "required_from": req.source, "trainee_kind": t.training_kind, **extra}))
    return out


@rule("HOURS_SHORTFALL")
def hours_shortfall(ctx: RuleContext) -> list[Finding]:
    """Supported 学时 below the requirement: initial trainees on theory and practical separately, refresher
    trainees on the total (one finding per trainee and part)."""
    return _shortfalls(ctx, "HOURS_SHORTFALL")


@rule("EXAM_INELIGIBLE")
def exam_ineligible(ctx: RuleContext) -> list[Finding]:
    """Registered for the exam (class.yaml `exam_registration`) while the 学时 supported by sessions that had
    ended by then were below the requirement."""
    if ctx.info.exam_registration is None:
        return []
    return _shortfalls(ctx, "EXAM_INELIGIBLE", until=ctx.info.exam_registration)


@rule("HOURS_OVERCLAIMED")
def hours_overclaimed(ctx: RuleContext) -> list[Finding]:
    """学时 credited for the recorded part of a trainee's offline sessions exceed the 学时 seen on video by
    more than the presence tolerance: observed < `min_presence_ratio` x credited (class total). Online
    study is left to ONLINE_NO_FACE_CHECK; sessions without usable recording are not judged."""
    ratio = ctx.pack.min_presence_ratio
    out = []
    h = ctx.hours
    if len(h) == 0:
        return out
    judged = h[(h["mode"] == "offline") & h["observed_hours"].notna() & (h["scheduled_min"] > 0)]
    for tid, rows in judged.groupby("trainee_id"):
        share = (rows["recorded_min"].fillna(0) / rows["scheduled_min"]).clip(upper=1.0)
        credited = float((rows["credited_hours"].fillna(0) * share).sum())
        observed = float(rows["observed_hours"].clip(upper=rows["credited_hours"].fillna(0) * share).sum())
        if credited <= EPS or observed >= ratio * credited - EPS:
            continue
        tid = str(tid)
        out.append(ctx.finding(
            "HOURS_OVERCLAIMED", trainee_id=tid, measured=observed, threshold=ratio * credited,
            fields={"name": ctx.trainees[tid].name if tid in ctx.trainees else tid, "credited": credited,
                    "observed": observed},
            detail={"credited_hours_recorded": credited, "observed_hours": observed, "min_presence_ratio": ratio,
                    "sessions": int(len(rows)),
                    "short_sessions": [str(s) for s, o, c in zip(rows["session_id"], rows["observed_hours"],
                                                                  rows["credited_hours"].fillna(0) * share)
                                       if o < ratio * c - EPS]}))
    return out


@rule("HOURS_DAILY_LIMIT")
def hours_daily_limit(ctx: RuleContext) -> list[Finding]:
    """More 学时 credited to a trainee on one day than `max_daily_hours`, counting practical or all 学时
    per `daily_limit_applies_to` (Shandong: 8 practical 学时). Online courses outside the schedule count on
    the day they started, as theory."""
    limit = ctx.pack.max_daily_hours
    if limit is None or len(ctx.hours) == 0:
        return []
    h = ctx.hours
    if ctx.pack.daily_limit_applies_to == "practical":
        h = h[h["kind"] == "practical"]
    out = []
    for t in ctx.archive.trainees:
        rows = h[h["trainee_id"] == t.trainee_id]
        per_day = rows.groupby("date")["credited_hours"].sum(min_count=1).fillna(0).to_dict()
        if ctx.pack.daily_limit_applies_to == "total":
            for r in unlinked_online(ctx, t.trainee_id):
                if r.start is not None and r.credited_hours:
                    day = to_ts(r.start, ctx.tz).tz_convert(ctx.tz).date()
                    per_day[day] = per_day.get(day, 0.0) + float(r.credited_hours)
        for day, total in sorted(per_day.items()):
            if total <= limit + EPS:
                continue
            out.append(ctx.finding(
                "HOURS_DAILY_LIMIT", trainee_id=t.trainee_id, date=day, measured=total, threshold=limit,
                fields={"name": t.name, "hours": total, "limit": limit,
                        "part_zh": PART_NAMES[ctx.pack.daily_limit_applies_to],
                        "part": ctx.pack.daily_limit_applies_to},
                detail={"applies_to": ctx.pack.daily_limit_applies_to,
                        "sessions": [str(s) for s in rows[rows["date"] == day]["session_id"]]}))
    return out
