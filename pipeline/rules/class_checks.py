"""Class-level checks on the archive's metadata: mixed classes, the head teacher, missing parts."""

from __future__ import annotations

from pipeline.model import Finding
from pipeline.rules.context import RuleContext
from pipeline.rules.registry import rule


@rule("CLASS_MIXED")
def class_mixed(ctx: RuleContext) -> list[Finding]:
    """Trainees of another training kind than the class (initial and refresher mixed): one finding per
    class with the counts; each odd trainee is judged by its own kind's hour requirement."""
    kind = ctx.info.training_kind
    odd = sorted(t.trainee_id for t in ctx.archive.trainees if t.training_kind != kind)
    if not odd:
        return []
    counts = {"initial": 0, "refresher": 0}
    for t in ctx.archive.trainees:
        counts[t.training_kind] = counts.get(t.training_kind, 0) + 1
    return [ctx.finding(
        "CLASS_MIXED", measured=len(odd), threshold=0,
        fields={"kind": kind, "initial": counts["initial"], "refresher": counts["refresher"], "odd": len(odd)},
        detail={"class_kind": kind, "counts": counts, "other_kind_trainees": odd})]


@rule("HEAD_TEACHER_MISSING")
def head_teacher_missing(ctx: RuleContext) -> list[Finding]:
    """No head teacher (班主任) in class.yaml, or one that teachers.csv does not list (judged only when the
    archive has a teachers.csv with rows: without it nothing can contradict the id)."""
    head = (ctx.info.head_teacher or "").strip()
    known = {t.teacher_id for t in ctx.archive.teachers}
    if head and (not known or head in known):
        return []
    reason = "unknown" if head else "missing"
    return [ctx.finding(
        "HEAD_TEACHER_MISSING", fields={"head": head or "?", "reason": reason},
        detail={"head_teacher": head or None, "reason": reason, "teachers_listed": len(known)})]


@rule("ARCHIVE_INCOMPLETE")
def archive_incomplete(ctx: RuleContext) -> list[Finding]:
    """A required part of the class folder is missing (as ingest lists them in `missing_parts`): one
    finding per part, so each can be closed on its own."""
    return [ctx.finding("ARCHIVE_INCOMPLETE", part=part, fields={"part": part}, detail={"part": part})
            for part in sorted(set(ctx.archive.missing_parts))]
