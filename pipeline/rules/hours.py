"""Hours rules: does each trainee reach the required 学时, were more 学时 credited than attended, daily
limits, and exam registration before the hours were complete. See pipeline/attendance/requirements.py for
what is required and what the evidence supports."""

from __future__ import annotations

import pandas as pd

from pipeline.attendance.hours import hours_rows, online_observed_hours, online_session_of
from pipeline.attendance.requirements import counted_hours, requirements
from pipeline.attendance.timeline import to_ts
from pipeline.model import Finding, OnlineRecord
from pipeline.rules.context import RuleContext
from pipeline.rules.evidence import judged_in_session
from pipeline.rules.registry import rule

EPS = 1e-9
PART_NAMES = {"theory": "理论", "practical": "实操", "total": "总"}


def unlinked_online(ctx: RuleContext, trainee_id: str) -> list[OnlineRecord]:
    """Online courses of a trainee that belong to no schedule row (counted as theory)."""
    ids = set(ctx.sessions)
    return [r for r in ctx.archive.online if r.trainee_id == trainee_id and online_session_of(r, ids) is None]


def _trainee_rows(ctx: RuleContext) -> dict[str, pd.DataFrame]:
    return {str(t): g for t, g in ctx.hours.groupby("trainee_id")} if len(ctx.hours) else {}


def _benefit_of_doubt(ctx: RuleContext, rows: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each trainee's rows with the observed time of every offline session raised by the share of its recorded
    minutes in which some face in the room could not be judged (too small, blurred, turned away, or too near
    an enrolled person to call a stranger): the trainee may have been that face, so this is the most the
    video could support. A shortfall that remains under it is certain; one that does not could not be judged."""
    shares: dict[str, float] = {}
    out = {}
    for tid, g in rows.items():
        g = g.copy()
        for i, r in zip(g.index, hours_rows(g)):
            if r.mode != "offline" or pd.isna(r.observed_min) or not (r.recorded_min or 0) > 0:
                continue
            sid = str(r.session_id)
            if sid not in shares:
                shares[sid] = judged_in_session(ctx, sid).unidentified_share
            if shares[sid] <= 0:
                continue
            minutes = min(float(r.recorded_min), float(r.observed_min) + shares[sid] * float(r.recorded_min))
            hours = minutes / ctx.pack.offline_min_per_hour
            g.at[i, "observed_min"] = minutes
            g.at[i, "observed_hours"] = hours if pd.isna(r.credited_hours) else min(hours, float(r.credited_hours))
        out[tid] = g
    return out


def _not_judged(ctx: RuleContext, rule_id: str, t, what: str, at_most: float) -> None:
    """A could-not-judge warning instead of a finding: the shortfall rests on minutes the face stage could not
    judge (see _benefit_of_doubt)."""
    ctx.could_not_judge(
        rule_id, f"could not judge {rule_id} for trainee {t.trainee_id} ({t.name}): {what}, but faces in the "
                 f"room could not be judged during part of the trainee's sessions; counting those samples for "
                 f"the trainee gives {at_most:.2f} 学时, enough. Check the video by eye.",
        expected="every face in the room judged", found=f"up to {at_most:.2f} 学时 if the unjudged faces were the "
                                                        f"trainee")


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
    doubt = None
    out = []
    for t in ctx.archive.trainees:
        short = _short_parts(ctx, rows, t)
        if short:
            doubt = _benefit_of_doubt(ctx, rows) if doubt is None else doubt
            at_most = {req.part: have for req, have in _short_parts(ctx, doubt, t)}
        for req, have in short:
            if req.part not in at_most:
                best = counted_hours(doubt.get(t.trainee_id, ctx.hours.iloc[0:0]), ctx.sessions,
                                     unlinked_online(ctx, t.trainee_id), ctx.pack, tz=ctx.tz)[req.part]
                _not_judged(ctx, "HOURS_SHORTFALL", t, f"{req.part} 学时 {have:.2f} seen of {req.hours:g} required",
                            best)
                continue
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
    doubt = None
    out = []
    for t in ctx.archive.trainees:
        short = _short_parts(ctx, rows, t, until=until)
        if not short:
            continue
        doubt = _benefit_of_doubt(ctx, rows) if doubt is None else doubt
        if not _short_parts(ctx, doubt, t, until=until):
            req, have = short[0]
            best = counted_hours(doubt.get(t.trainee_id, ctx.hours.iloc[0:0]), ctx.sessions,
                                 unlinked_online(ctx, t.trainee_id), ctx.pack, until=until, tz=ctx.tz)[req.part]
            _not_judged(ctx, "EXAM_INELIGIBLE", t, f"registered for the exam with {req.part} 学时 {have:.2f} seen of "
                        f"{req.hours:g} required", best)
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


def _claimed_seen(ctx: RuleContext, rows: pd.DataFrame, t) -> tuple:
    """(claimed, seen, offline rows, claimed per offline row, (claimed_offline, seen_offline, claimed_online,
    seen_online)) of one trainee (see hours_overclaimed)."""
    offline = rows[(rows["mode"] == "offline") & rows["observed_hours"].notna() & (rows["scheduled_min"] > 0)]
    share = (offline["recorded_min"].fillna(0) / offline["scheduled_min"]).clip(upper=1.0)
    claimed_v = offline["credited_hours"].fillna(0) * share
    claimed_offline = float(claimed_v[offline["checked_in"]].sum())
    seen_offline = float(offline["observed_hours"].clip(upper=claimed_v).sum())
    online = rows[rows["mode"] == "online"]
    extra = unlinked_online(ctx, t.trainee_id)
    claimed_online = float(online["credited_hours"].fillna(0).sum()) + sum(r.credited_hours or 0.0 for r in extra)
    seen_online = float(online["observed_hours"].fillna(0).sum()) + sum(online_observed_hours(r) for r in extra)
    return (claimed_offline + claimed_online, seen_offline + seen_online, offline, claimed_v,
            (claimed_offline, seen_offline, claimed_online, seen_online))


@rule("HOURS_OVERCLAIMED")
def hours_overclaimed(ctx: RuleContext) -> list[Finding]:
    """学时 the institution claims for a trainee exceed the 学时 seen by more than
    `overclaim_tolerance_hours` (class total). Claimed: the credited 学时 of the offline sessions the trainee
    checked in for, for their usable recorded share (uncovered time is not judged), plus credited online
    学时. Seen: observed 学时 on video (any session) plus online 学时 whose face checks passed."""
    tol = ctx.pack.overclaim_tolerance_hours
    h = ctx.hours
    doubt = None
    out = []
    for t in ctx.archive.trainees:
        rows = h[h["trainee_id"] == t.trainee_id]
        claimed, seen, offline, claimed_v, parts = _claimed_seen(ctx, rows, t)
        excess = claimed - seen
        if excess <= tol + EPS:
            continue
        doubt = _benefit_of_doubt(ctx, _trainee_rows(ctx)) if doubt is None else doubt
        _, seen_at_most, *_ = _claimed_seen(ctx, doubt.get(t.trainee_id, rows), t)
        if claimed - seen_at_most <= tol + EPS:
            _not_judged(ctx, "HOURS_OVERCLAIMED", t, f"{claimed:.2f} 学时 claimed, {seen:.2f} seen", seen_at_most)
            continue
        claimed_offline, seen_offline, claimed_online, seen_online = parts
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
