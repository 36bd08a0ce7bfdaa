"""Hours rules: does each trainee reach the required 学时, were more 学时 credited than attended, daily
limits, and exam registration before the hours were complete. See pipeline/attendance/requirements.py for
what is required and what the evidence supports."""

from __future__ import annotations

import pandas as pd

from pipeline.attendance.hours import online_observed_hours, online_session_of
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


def _short_parts(ctx: RuleContext, rows: dict[str, pd.DataFrame], t, until: object = None) -> list:
    """(requirement, supported 学时) of each part a trainee is short of, counting sessions ended by `until`."""
    have = counted_hours(rows.get(t.trainee_id, ctx.hours.iloc[0:0]), ctx.sessions,
                         unlinked_online(ctx, t.trainee_id), ctx.pack, until=until, tz=ctx.tz)
    return [(req, have[req.part]) for req in requirements(ctx.info, ctx.pack, t.training_kind)
            if have[req.part] < req.hours - EPS]


@rule("HOURS_SHORTFALL")
def hours_shortfall(ctx: RuleContext) -> list[Finding]:
    """Supported 学时 below the requirement: initial trainees on theory and practical separately, refresher
    trainees on the total (one finding per trainee and part)."""
    rows = _trainee_rows(ctx)
    out = []
    for t in ctx.archive.trainees:
        for req, have in _short_parts(ctx, rows, t):
            out.append(ctx.finding(
                "HOURS_SHORTFALL", trainee_id=t.trainee_id, part=req.part, measured=have, threshold=req.hours,
                fields={"name": t.name, "part": req.part, "part_zh": PART_NAMES[req.part]},
                detail={"part": req.part, "supported_hours": have, "required_hours": req.hours,
                        "required_from": req.source, "trainee_kind": t.training_kind}))
    return out


@rule("EXAM_INELIGIBLE")
def exam_ineligible(ctx: RuleContext) -> list[Finding]:
    """Registered for the exam (class.yaml `exam_registration`) while the 学时 supported by sessions that had
    ended by then were below the requirement. One finding per trainee (one registration), listing each part
    short; measured/threshold are those of the part furthest below its requirement."""
    if ctx.info.exam_registration is None:
        return []
    until = ctx.info.exam_registration
    registration = to_ts(until, ctx.tz).isoformat()
    rows = _trainee_rows(ctx)
    out = []
    for t in ctx.archive.trainees:
        short = _short_parts(ctx, rows, t, until=until)
        if not short:
            continue
        req, have = min(short, key=lambda s: s[1] / s[0].hours)
        parts = [{"part": r.part, "supported_hours": h, "required_hours": r.hours, "required_from": r.source}
                 for r, h in short]
        out.append(ctx.finding(
            "EXAM_INELIGIBLE", trainee_id=t.trainee_id, measured=have, threshold=req.hours,
            fields={"name": t.name, "registration": to_ts(until, ctx.tz).strftime("%Y-%m-%d %H:%M"),
                    "parts_zh": "、".join(f"{PART_NAMES[r.part]}学时 {h:.2f}（要求 {r.hours:g}）" for r, h in short),
                    "parts_en": ", ".join(f"{r.part} {h:.2f} of {r.hours:g}" for r, h in short)},
            detail={"registration": registration, "part": req.part, "parts": parts,
                    "trainee_kind": t.training_kind}))
    return out


@rule("HOURS_OVERCLAIMED")
def hours_overclaimed(ctx: RuleContext) -> list[Finding]:
    """学时 the institution claims for a trainee exceed the 学时 seen by more than
    `overclaim_tolerance_hours` (class total). Claimed: the credited 学时 of the offline sessions the trainee
    checked in for, for their usable recorded share (uncovered time is not judged), plus credited online
    学时. Seen: observed 学时 on video (any session) plus online 学时 whose face checks passed."""
    tol = ctx.pack.overclaim_tolerance_hours
    h = ctx.hours
    out = []
    for t in ctx.archive.trainees:
        rows = h[h["trainee_id"] == t.trainee_id]
        offline = rows[(rows["mode"] == "offline") & rows["observed_hours"].notna() & (rows["scheduled_min"] > 0)]
        share = (offline["recorded_min"].fillna(0) / offline["scheduled_min"]).clip(upper=1.0)
        claimed_v = offline["credited_hours"].fillna(0) * share
        claimed_offline = float(claimed_v[offline["checked_in"]].sum())
        seen_offline = float(offline["observed_hours"].clip(upper=claimed_v).sum())
        online = rows[rows["mode"] == "online"]
        extra = unlinked_online(ctx, t.trainee_id)
        claimed_online = float(online["credited_hours"].fillna(0).sum()) + sum(r.credited_hours or 0.0 for r in extra)
        seen_online = float(online["observed_hours"].fillna(0).sum()) + sum(
            online_observed_hours(r) for r in extra)
        claimed, seen = claimed_offline + claimed_online, seen_offline + seen_online
        excess = claimed - seen
        if excess <= tol + EPS:
            continue
        short = [str(s) for s, c, o, ci in zip(offline["session_id"], claimed_v, offline["observed_hours"],
                                               offline["checked_in"]) if ci and o < c - EPS]
        out.append(ctx.finding(
            "HOURS_OVERCLAIMED", trainee_id=t.trainee_id, measured=excess, threshold=tol,
            fields={"name": t.name, "credited": claimed, "observed": seen},
            detail={"claimed_hours": claimed, "seen_hours": seen, "claimed_offline_recorded": claimed_offline,
                    "seen_offline": seen_offline, "claimed_online": claimed_online, "seen_online": seen_online,
                    "short_sessions": short}))
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
