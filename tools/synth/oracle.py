"""What an auditor should find in a generated class: RULES.md applied to the true world.

The generator knows where everybody was; this module turns that into expected findings, observed minutes
and headcounts. A decision closer to its threshold than a band (a few minutes, a tenth of a 学时, one
person) is not scored either way: it goes to `ignored` with the reason, so the accuracy check measures
the auditor, not the luck of sampling. Readings of RULES.md that the contract leaves open are stated in
`SEMANTICS` and written into every truth file.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from tools.synth.world import ClassWorld, Interval, Planted, SessionPlan

SEMANTICS = [
    "observed minutes: presence inside the scheduled window, in time covered by a readable recording of the "
    "room that is not blank (black/covered); looking down counts as present",
    "presence ratio: observed minutes / usable recorded minutes of the session",
    "credited 学时 of an offline session are judged only for its usable recorded share (hours x usable/scheduled)",
    "online 学时 count as observed when credited with every face check passed",
    "headcount on video: people in the room (unknown included, teachers excluded); compared as the median and "
    "the maximum over the session, a decision must hold for both",
]
BANDS = {"ratio": 0.08, "hours": 0.1, "minutes": 3.0, "share": 0.05}
# Rules whose outcome depends on whose face the auditor matched (unscored for people who share a face).
PERSON_RULES = ("ATTENDANCE_PROXY", "ATTENDANCE_ABSENT", "ATTENDANCE_SPARSE_CHECKIN", "HOURS_SHORTFALL",
                "HOURS_OVERCLAIMED", "EXAM_INELIGIBLE")
_RULES_DIR = Path(__file__).resolve().parents[2] / "configs" / "rules"


@lru_cache(maxsize=4)
def pack(name: str) -> dict:
    """The rule pack's numbers as configs/rules/<name>.yaml gives them (with `extends`)."""
    data = yaml.safe_load((_RULES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    base = pack(data["extends"]) if data.get("extends") else {}
    return {**base, **data}


def _overlap(a: list[Interval], b: list[Interval]) -> float:
    return sum(max(0.0, min(x1, y1) - max(x0, y0)) for x0, x1 in a for y0, y1 in b)


def _subtract(a: list[Interval], cut: list[Interval]) -> list[Interval]:
    out = list(a)
    for c0, c1 in cut:
        nxt = []
        for x0, x1 in out:
            if c1 <= x0 or c0 >= x1:
                nxt.append((x0, x1))
                continue
            if x0 < c0:
                nxt.append((x0, c0))
            if c1 < x1:
                nxt.append((c1, x1))
        out = nxt
    return out


def covered(world: ClassWorld, s: SessionPlan, blanks_count: bool) -> list[Interval]:
    """Session offsets (clipped to the window) covered by readable recordings of the session's room."""
    out = []
    for r in world.recordings:
        room = world.cameras.get(r.camera_id, (r.camera_id, ""))[0]
        if r.corrupt or room != s.room:
            continue
        off = (r.start - s.start_dt()).total_seconds()
        a, b = max(0.0, off), min(s.length_s, off + r.duration_s)
        if b > a:
            part = [(a, b)] if blanks_count else _subtract([(a, b)], [(off + x, off + y) for x, y in r.blanks])
            out += part
    return out


def observed_min(world: ClassWorld, key: str, s: SessionPlan) -> float | None:
    usable = covered(world, s, blanks_count=False)
    if not usable:
        return None
    return _overlap(world.presence.get((key, s.session_id), []), usable) / 60.0


def session_of(world: ClassWorld, ts: dt.datetime) -> SessionPlan | None:
    """ARCHIVE.md: the offline session whose window (start-30 to end+30) holds it; the nearest if several."""
    p = pack(world.province)
    best = None
    for s in world.sessions:
        if s.mode != "offline":
            continue
        lo = s.start_dt() - dt.timedelta(minutes=p["checkin_window_before_min"])
        hi = s.end_dt() + dt.timedelta(minutes=p["checkin_window_after_min"])
        if lo <= ts <= hi:
            d = min(abs((ts - s.start_dt()).total_seconds()), abs((ts - s.end_dt()).total_seconds()))
            if best is None or d < best[0]:
                best = (d, s)
    return best[1] if best else None


def checked_in(world: ClassWorld) -> dict[str, set[str]]:
    """session_id -> trainee keys with at least one event in it."""
    out: dict[str, set[str]] = defaultdict(set)
    for c in world.checkins:
        s = session_of(world, c.ts)
        if s is not None:
            out[s.session_id].add(c.person_key)
    return out


def observed_hours(world: ClassWorld) -> dict[str, dict[str, float]]:
    """Per trainee: observed theory/practical 学时 (video + online with face checks passed) and credits."""
    p = pack(world.province)
    cin = checked_in(world)
    out = {}
    for t in world.trainees():
        acc = defaultdict(float)
        for s in world.sessions:
            if s.mode != "offline":
                continue
            obs = observed_min(world, t.key, s)
            if obs is None:
                continue
            acc[s.kind] += obs / p["offline_min_per_hour"]
            if t.key in cin[s.session_id]:
                usable = sum(b - a for a, b in covered(world, s, blanks_count=False))
                acc["credited"] += s.hours * usable / s.length_s
        for o in world.online:
            if o.trainee_id != t.key or not o.credited_hours:
                continue
            acc["credited"] += o.credited_hours
            acc["online_" + o.kind] += o.credited_hours
            if o.face_checks > 0 and o.face_checks_passed >= o.face_checks:
                acc[o.kind] += o.credited_hours
        out[t.key] = {k: acc[k] for k in ("theory", "practical", "credited", "online_theory", "online_practical")}
    return out


def decide(value: float, threshold: float, band: float, fires_above: bool = True) -> str:
    """'fire', 'clear' or 'ambiguous' (closer to the threshold than the band)."""
    if abs(value - threshold) < band:
        return "ambiguous"
    return "fire" if (value > threshold) == fires_above else "clear"


class _Truth:
    def __init__(self, world: ClassWorld):
        self.world = world
        self.findings: list[dict] = []
        self.ignored: list[dict] = []

    def add(self, rule_id: str, keys: dict, decision: str, note: str, capacity: int = 1) -> None:
        w = self.world
        tid = keys.get("trainee_id")
        if rule_id in w.ignore_rules:
            return  # listed once, rule-wide, by truth()
        if isinstance(tid, str) and tid in w.ambiguous_people and rule_id in PERSON_RULES:
            decision, note = "ambiguous", w.ambiguous_people[tid]
        if decision == "fire":
            self.findings.append({"rule_id": rule_id, "keys": keys, "note": note, "capacity": capacity})
        elif decision == "ambiguous":
            self.ignored.append({"rule_id": rule_id, "keys": keys, "reason": note})


def _attendance(t: _Truth, cin: dict[str, set[str]]) -> None:
    w, p = t.world, pack(t.world.province)
    for s in (s for s in w.sessions if s.mode == "offline"):
        usable = covered(w, s, blanks_count=False)
        if not usable:
            continue
        rec_min = sum(b - a for a, b in usable) / 60
        for tr in w.trainees():
            obs = observed_min(w, tr.key, s) or 0.0
            keys = {"trainee_id": tr.key, "session_id": s.session_id}
            if tr.key in cin[s.session_id] and obs == 0:
                t.add("ATTENDANCE_PROXY", keys, "fire", "checked in, never on video")
                continue
            if obs < p["proxy_max_seen_min"] + BANDS["minutes"] and tr.key in cin[s.session_id]:
                t.add("ATTENDANCE_PROXY", keys, "ambiguous", f"seen only {obs:.1f} min")
            ratio = obs / rec_min
            t.add("ATTENDANCE_ABSENT", keys, decide(ratio, p["min_presence_ratio"], BANDS["ratio"], False),
                  f"seen {obs:.1f} of {rec_min:.1f} recorded min")
        for u in (x for x in w.people if x.role == "unknown"):
            mins = observed_min(w, u.key, s) or 0.0
            if mins > 0:
                t.add("UNKNOWN_PERSON", {"session_id": s.session_id},
                      decide(mins, p["unknown_person_min_minutes"], BANDS["minutes"]), f"{u.key}: {mins:.1f} min")
        _headcount(t, s, usable, cin)


def headcount_series(w: ClassWorld, s: SessionPlan, usable: list[Interval], step_s: float = 20) -> np.ndarray:
    ts = [x for a, b in usable for x in np.arange(a, b, step_s)]
    roles = {q.key: q.role for q in w.people}
    counts = []
    for x in ts:
        n = sum(1 for (k, sid), iv in w.presence.items()
                if sid == s.session_id and roles.get(k) != "teacher" and any(a <= x < b for a, b in iv))
        counts.append(n)
    return np.asarray(counts)


def _headcount(t: _Truth, s: SessionPlan, usable: list[Interval], cin: dict[str, set[str]]) -> None:
    p = pack(t.world.province)
    counts = headcount_series(t.world, s, usable)
    c = len(cin[s.session_id])
    tol = max(p["headcount_tolerance_people"], p["headcount_tolerance_ratio"] * c)
    d = [abs(c - float(np.median(counts))), abs(c - float(counts.max()))]
    decision = "fire" if min(d) > tol + 1 else "clear" if max(d) <= tol - 1 else "ambiguous"
    t.add("HEADCOUNT_MISMATCH", {"session_id": s.session_id}, decision,
          f"{c} checked in, {np.median(counts):.0f} (max {counts.max()}) on video")


def _checkins(t: _Truth) -> None:
    w, p = t.world, pack(t.world.province)
    offline_days = {s.date for s in w.sessions if s.mode == "offline"}
    events: dict[tuple, int] = defaultdict(int)
    weak: set[tuple] = set()
    for c in w.checkins:
        if c.duplicate:
            continue
        events[(c.person_key, c.ts.date())] += 1
        if c.method != "face" or c.edited:
            weak.add((c.person_key, c.ts.date()))
    for tr in w.trainees():
        for d in sorted(offline_days):
            keys = {"trainee_id": tr.key, "date": d.isoformat()}
            n = events[(tr.key, d)]
            if n < p["min_checkins_per_day"]:
                t.add("ATTENDANCE_SPARSE_CHECKIN", keys, "fire", f"{n} events")
            if (tr.key, d) in weak:
                t.add("ATTENDANCE_NON_FACE", keys, "fire", "card/fingerprint/edited rows")


def required(world: ClassWorld, kind: str) -> dict[str, float]:
    """Hours a trainee of this kind must observe, by category (theory/practical, or total)."""
    p = pack(world.province)
    if kind == "refresher":
        return {"total": float(p["refresher_required_hours"])}
    if world.required_hours:
        return {k: float(v) for k, v in world.required_hours.items()}
    return {k: float(v) for k, v in p["syllabus"].get(world.job_type, {}).items()}


def _hours(t: _Truth) -> None:
    w, p = t.world, pack(t.world.province)
    obs = observed_hours(w)
    for tr in w.trainees():
        o, keys = obs[tr.key], {"trainee_id": tr.key}
        req = required(w, tr.training_kind)
        short = []
        for cat, need in req.items():
            have = o["theory"] + o["practical"] if cat == "total" else o[cat]
            short.append(decide(have, need, BANDS["hours"], fires_above=False))
            t.add("HOURS_SHORTFALL", keys, short[-1], f"{cat}: {have:.2f} of {need:.2f}")
        if w.exam_registration is not None:
            ex = "fire" if "fire" in short else "ambiguous" if "ambiguous" in short else "clear"
            t.add("EXAM_INELIGIBLE", keys, ex, "registered with a shortfall")
        diff = o["credited"] - o["theory"] - o["practical"]
        dec = "fire" if diff >= 0.3 else "clear" if diff <= 0.15 else "ambiguous"
        t.add("HOURS_OVERCLAIMED", keys, dec, f"credited exceeds observed by {diff:.2f}")
        base = req.get("theory", req.get("total"))
        if base:
            t.add("ONLINE_SHARE", keys, decide(o["online_theory"] / base, p["max_online_share_theory"],
                                               BANDS["share"]), f"{o['online_theory']:.1f} of {base}")
    for o in w.online:
        keys = {"trainee_id": o.trainee_id}
        if not o.credited_hours:
            t.add("ONLINE_COURSE_SHORT", keys, "fire", f"{o.course_id}: no 学时 stated")
        else:
            allowed = o.effective_min / p["online_min_per_hour"]
            t.add("ONLINE_COURSE_SHORT", keys, decide(o.credited_hours, allowed, BANDS["hours"]),
                  f"{o.course_id}: {o.credited_hours} 学时 for {o.effective_min} min")
        if o.credited_hours and (o.face_checks == 0 or o.face_checks_passed < o.face_checks):
            t.add("ONLINE_NO_FACE_CHECK", keys, "fire", f"{o.course_id}: {o.face_checks_passed}/{o.face_checks}")


def _schedule(t: _Truth, cin: dict[str, set[str]]) -> None:
    w, p = t.world, pack(t.world.province)
    daily: dict[tuple, float] = defaultdict(float)
    for s in w.sessions:
        if s.mode == "offline":
            excess = s.hours - s.length_s / 60 / p["offline_min_per_hour"]
            dec = "fire" if excess > 0.05 else "clear" if excess <= 1e-9 else "ambiguous"
            t.add("SESSION_TOO_SHORT", {"session_id": s.session_id}, dec, f"{s.hours} 学时")
            if s.kind == p["daily_limit_applies_to"] or p["daily_limit_applies_to"] == "total":
                for tr in w.trainees():
                    daily[(tr.key, s.date)] += s.hours
    if p.get("max_daily_hours"):
        for (k, d), hrs in daily.items():
            t.add("HOURS_DAILY_LIMIT", {"trainee_id": k, "date": d.isoformat()},
                  decide(hrs, p["max_daily_hours"], 0.5), f"{hrs} 学时")
    full_from = p["full_recording_from"]
    for s in (s for s in w.sessions if s.mode == "offline"):
        if s.date < full_from:
            continue
        cov = covered(w, s, blanks_count=True)
        if not cov:
            t.add("RECORDING_MISSING", {"session_id": s.session_id}, "fire", "no recording")
            continue
        gaps = _subtract([(0.0, s.length_s)], cov)
        longest = max((b - a for a, b in gaps), default=0.0) / 60
        t.add("RECORDING_GAP", {"session_id": s.session_id},
              decide(longest, p["gap_tolerance_min"], BANDS["minutes"] / 1.5), f"longest gap {longest:.1f} min")


def truth(world: ClassWorld, seed: int) -> dict:
    """The truth file's content for one class."""
    t = _Truth(world)
    cin = checked_in(world)
    _attendance(t, cin)
    _checkins(t)
    _hours(t)
    _schedule(t, cin)
    for pl in world.planted:
        t.add(pl.rule_id, pl.keys, "fire", pl.note, pl.capacity)
    t.ignored += [{"rule_id": r, "keys": {}, "reason": why} for r, why in sorted(world.ignore_rules.items())]
    observed, heads = [], []
    for s in (s for s in world.sessions if s.mode == "offline"):
        usable = covered(world, s, blanks_count=False)
        for tr in world.trainees():
            obs = observed_min(world, tr.key, s)
            observed.append({"trainee_id": tr.key, "session_id": s.session_id,
                             "observed_min": None if obs is None else round(obs, 2),
                             "recorded_min": round(sum(b - a for a, b in usable) / 60, 2),
                             "scored": tr.key not in world.ambiguous_people})
        if usable:
            c = headcount_series(world, s, usable)
            heads.append({"session_id": s.session_id, "median": float(np.median(c)), "max": int(c.max()),
                          "checked_in": len(cin[s.session_id])})
    return {"class_id": world.class_id, "seed": seed, "semantics": SEMANTICS, "bands": BANDS,
            "findings": t.findings, "ignored": t.ignored, "observed": observed, "headcount": heads}
