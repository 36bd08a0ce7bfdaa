"""The 学时 a trainee must have, and the 学时 the evidence supports, by part (theory, practical, total).

Required (RULES.md "Hours"): initial trainees are checked on theory and practical separately against
the class's `required_hours` override, else the pack's syllabus for the job type (a job type whose split
is not published is checked on its total). Refresher trainees, in a refresher class or mixed into an
initial one, are checked on the total (class override for refresher classes, else the pack's 8 学时).

Supported ("counted") 学时 per session, the measure for HOURS_SHORTFALL and EXAM_INELIGIBLE ("observed
学时", RULES.md):
- offline sessions from `full_recording_from` on (recording mandatory): the 学时 seen on video
  (observed_hours); a session without usable recording supports none (RECORDING_MISSING says why);
- offline sessions before that date (recording not mandatory): the observed 学时 plus the credited share
  of the unrecorded part, so an old class is not failed for video it did not have to keep;
- a session the face stage did not analyse (recorded, but no observation): its credited 学时 (unknown is
  not zero);
- online: credited 学时 whose face checks passed (RULES.md "Hours"), practical included: practical 学时
  studied online are PRACTICAL_ONLINE's finding; counting them as missing too would report one fact twice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from pipeline.attendance.hours import online_observed_hours
from pipeline.attendance.timeline import to_ts
from pipeline.config import RulePack
from pipeline.model import DEFAULT_TZ, ClassInfo, OnlineRecord, Session, TrainingKind

PARTS = ("theory", "practical", "total")


@dataclass(frozen=True)
class Requirement:
    part: str  # theory, practical or total
    hours: float
    source: str  # "class.yaml", "syllabus:<job type>", "refresher"


def requirements(info: ClassInfo, pack: RulePack, trainee_kind: TrainingKind) -> list[Requirement]:
    """What a trainee of this kind must reach in this class; empty when nothing says (unknown job type)."""
    if trainee_kind == "refresher":
        if info.training_kind == "refresher" and info.required_total_hours is not None:
            return [Requirement("total", float(info.required_total_hours), "class.yaml")]
        return [Requirement("total", pack.refresher_required_hours, "refresher")]
    syllabus = pack.required_hours(info.job_type)
    source = f"syllabus:{info.job_type}"
    theory = info.required_theory_hours if info.required_theory_hours is not None else (
        syllabus.theory if syllabus else None)
    practical = info.required_practical_hours if info.required_practical_hours is not None else (
        syllabus.practical if syllabus else None)
    out = []
    if theory is not None:
        out.append(Requirement("theory", float(theory),
                               "class.yaml" if info.required_theory_hours is not None else source))
    if practical is not None:
        out.append(Requirement("practical", float(practical),
                               "class.yaml" if info.required_practical_hours is not None else source))
    if not out:
        total = info.required_total_hours if info.required_total_hours is not None else (
            syllabus.total if syllabus else None)
        if total is not None:
            out.append(Requirement("total", float(total),
                                   "class.yaml" if info.required_total_hours is not None else source))
    return out


def _num(value: object) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def session_counted_hours(row: Mapping, pack: RulePack) -> float:
    """Supported 学时 of one trainee_hours row (see the module docstring)."""
    credited = _num(row["credited_hours"]) or 0.0
    observed = _num(row["observed_hours"])
    if row["mode"] == "online":
        return observed or 0.0
    scheduled, recorded = _num(row["scheduled_min"]) or 0.0, _num(row["recorded_min"]) or 0.0
    mandatory = _date(row["date"]) >= pack.full_recording_from
    if observed is None:
        return credited if recorded > 0 or not mandatory else 0.0
    if mandatory:
        return observed
    unrecorded = max(0.0, 1.0 - recorded / scheduled) if scheduled > 0 else 0.0
    return min(credited, observed + credited * unrecorded)


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def counted_hours(rows: pd.DataFrame, sessions: Mapping[str, Session], unlinked: Iterable[OnlineRecord],
                  pack: RulePack, until: dt.datetime | None = None, tz: str = DEFAULT_TZ) -> dict[str, float]:
    """Supported 学时 of one trainee by part, from sessions (and unlinked online courses) finished by `until`."""
    limit = to_ts(until, tz) if until is not None else None
    out = dict.fromkeys(PARTS, 0.0)
    for row in rows.to_dict("records"):
        s = sessions.get(str(row["session_id"]))
        if s is None or (limit is not None and to_ts(s.end, tz) > limit):
            continue
        out[str(row["kind"])] += session_counted_hours(row, pack)
    for r in unlinked:
        when = to_ts(r.end or r.start, tz)
        if limit is not None and when is not None and when > limit:
            continue
        out["theory"] += online_observed_hours(r)
    out["total"] = out["theory"] + out["practical"]
    return out
