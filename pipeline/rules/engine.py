"""Run the rule catalogue: per class (`evaluate`), then across the classes of a run (`evaluate_archive`).
Both are pure: they read the evidence and return an Evaluation (findings, problems, snapshot requests).
A rule that raises is returned as an error (a Problem naming the rule) and the other rules still run."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from dataclasses import dataclass, field
from collections.abc import Callable, Sequence

import pandas as pd

from pipeline.attendance.hours import HOURS_COLUMNS
from pipeline.config import RulePack
from pipeline.model import ClassEvidence, Finding, Problem, SnapshotRequest
from pipeline.outputs.frames import check_evidence
from pipeline.rules.context import ArchiveContext, RuleContext
from pipeline.rules.registry import all_rules

log = logging.getLogger(__name__)

LANGS = ("zh", "en")


@dataclass(frozen=True)
class Evaluation:
    """What the rules give back: findings (sorted by rule, then keys), problems (a rule that raised, an
    accusation held back because the evidence could not decide) and the snapshots the findings ask for."""

    findings: list[Finding]
    problems: list[Problem] = field(default_factory=list)
    snapshots: list[SnapshotRequest] = field(default_factory=list)


def _run(spec, arg, where: str, class_id: str | None, problems: list[Problem]) -> list[Finding]:
    try:
        return list(spec.func(arg))
    except Exception as exc:  # one broken rule must not cost the class its other findings
        log.error("rule %s failed on %s: %s", spec.rule_id, where, exc)
        problems.append(Problem(
            file=where, message=f"rule {spec.rule_id} failed: {type(exc).__name__}: {exc}",
            expected="the rule to evaluate", found=traceback.format_exc(limit=3)[-500:], class_id=class_id))
        return []


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang: expected one of {', '.join(LANGS)}, found {lang!r}")


def class_context(evidence: ClassEvidence, pack: RulePack, lang: str = "zh", hours: pd.DataFrame | None = None,
                  audit_date: dt.date | None = None) -> RuleContext:
    hours = hours if hours is not None else pd.DataFrame(columns=list(HOURS_COLUMNS))
    return RuleContext(evidence, pack, hours, lang, audit_date or dt.date.today())


def evaluate(evidence: ClassEvidence, pack: RulePack, lang: str = "zh", *, audit_date: dt.date | None = None,
             only: Callable[[str], bool] | None = None) -> Evaluation:
    """The class-scope rules on one class's evidence (attendance.build: its hours included). Pure: reads
    the evidence only, opens no file. `audit_date` (default today) is the date retention periods are
    measured to; `only` selects rule ids (tests, debugging)."""
    _check_lang(lang)
    if evidence.hours is None:
        raise ValueError("evaluate: the evidence has no trainee hours (build it with attendance.build)")
    check_evidence(evidence)
    info = evidence.archive.info
    ctx = class_context(evidence, pack, lang, evidence.hours, audit_date)
    findings: list[Finding] = []
    problems: list[Problem] = []
    for spec in all_rules("class"):
        if only is None or only(spec.rule_id):
            findings += _run(spec, ctx, str(info.folder), info.class_id, problems)
    problems += ctx.not_judged
    return Evaluation(_dedupe(findings), problems, ctx.snapshots)


def evaluate_archive(evidences: Sequence[ClassEvidence], packs: dict[str, RulePack], reuse: pd.DataFrame | None,
                     lang: str = "zh", *, only: Callable[[str], bool] | None = None,
                     stored: dict[str, dict] | None = None) -> Evaluation:
    """Cross-class findings (TEACHER_CONFLICT, CLASS_MERGED, RECORDING_REUSED, IDENTITY_SHARED), one in each
    class involved. `packs` maps class_id to the class's pack (severity, tolerances); `reuse` holds the
    video stage's footage matches, files named by recording_id (columns class_id_a, path_a, offset_a_s,
    class_id_b, path_b, offset_b_s, similarity, optional duration_s), or None. `stored` (class_id ->
    RuleContext fields: photo_digests, recording_rows) gives what a stored view holds
    (pipeline/crossclass.py), so that no DataFrame is built per class."""
    _check_lang(lang)
    classes = {}
    hours = pd.DataFrame(columns=list(HOURS_COLUMNS))  # cross-class rules read no hours: one empty frame
    for ev in evidences:
        cid = ev.archive.info.class_id
        classes[cid] = class_context(ev, packs[cid], lang, hours)
        for name, value in (stored or {}).get(cid, {}).items():
            setattr(classes[cid], name, value)
    actx = ArchiveContext(classes, reuse if reuse is not None else pd.DataFrame())
    findings: list[Finding] = []
    problems: list[Problem] = []
    for spec in all_rules("archive"):
        if only is None or only(spec.rule_id):
            findings += _run(spec, actx, "archive", None, problems)
    return Evaluation(_dedupe(findings), problems, [r for ctx in classes.values() for r in ctx.snapshots])


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: dict[str, Finding] = {}
    for f in findings:
        seen.setdefault(f.finding_id, f)
    return sorted(seen.values(), key=lambda f: (f.class_id, f.rule_id, f.trainee_id or "", f.session_id or "",
                                                str(f.date or ""), f.path or "", f.finding_id))
