"""IDENTITY_SHARED: one face behind two roster entries, across every class of the run.

The face stage assigns each face on video to at most one identity, and check-in snapshots are not
compared with faces, so the rule reads the evidence the archive itself carries:
- enrollment photos: two roster entries whose photos are the same image (same bytes); across classes
  not when they are the same person enrolled twice (same id number, or same name without id numbers);
- enrollment faces: pairs of roster entries whose enrollment photos the face stage matches to each other
  (`ClassEvidence.enrollment_pairs`, when the face stage provides it);
- check-in snapshots: two different trainees' check-in events that carry the same snapshot (file or URL),
  as when one person checks in for another with a stored picture.
One finding per class involved and pair, on the class's own trainee, with the other party in `detail`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from pipeline.attendance.rows import EnrollmentPairRow, typed_rows
from pipeline.model import Finding, Trainee
from pipeline.rules.context import ArchiveContext, RuleContext
from pipeline.rules.registry import rule

def _person(t: Trainee) -> tuple[str, str | None, str]:
    """What `_same_person` compares, normalised once per entry (200 classes enrolling the same three photos
    make 60,000 pairs of entries sharing a photo, nearly all the same person: `_distinct_pairs`)."""
    return t.class_id, t.id_number.strip().upper() if t.id_number else None, t.name.strip()


def _same_person(a: tuple[str, str | None, str], b: tuple[str, str | None, str]) -> bool:
    """The same person legitimately enrolled in two classes (`_person` of each); within one class two
    entries never are."""
    if a[0] == b[0]:
        return False
    if a[1] is not None and b[1] is not None:
        return a[1] == b[1]
    return a[2] == b[2]


def _distinct_pairs(persons: list[tuple[str, str | None, str]]) -> list[tuple[int, int]]:
    """The index pairs (i < j, in itertools.combinations' order) of entries that are not `_same_person`,
    found without comparing every pair: two numbered entries are the same person only with the same id
    number (in two classes), so only entries of one number are looked at together; an entry without a
    number is compared with every other (by name)."""
    pairs: list[tuple[int, int]] = []
    by_number: dict[str, list[int]] = {}
    for i, p in enumerate(persons):
        if p[1] is not None:
            by_number.setdefault(p[1], []).append(i)
    groups = list(by_number.values())
    for group in groups:  # one number: the same person, unless both entries are in one class
        by_class: dict[str, list[int]] = {}
        for i in group:
            by_class.setdefault(persons[i][0], []).append(i)
        for members in by_class.values():
            pairs += itertools.combinations(members, 2)
    for a, b in itertools.combinations(groups, 2):  # two numbers: never the same person
        pairs += ((min(i, j), max(i, j)) for i in a for j in b)
    for i, p in enumerate(persons):
        if p[1] is not None:
            continue
        for j, q in enumerate(persons):
            if j == i or (q[1] is None and j < i):  # a pair of two unnumbered entries once
                continue
            if not _same_person(p, q):
                pairs.append((min(i, j), max(i, j)))
    return sorted(pairs)


def _digest(ctx: RuleContext, p: Path) -> str | None:
    """The photo's sha256, as the orchestrator read it (ClassEvidence.photo_digests, or the class's stored
    view: pipeline/crossclass.py); None: unreadable or not read."""
    digests = ctx.photo_digests if ctx.photo_digests is not None else ctx.evidence.photo_digests
    return (digests or {}).get(str(p))


def _finding(ctx: RuleContext, own: Trainee, octx: RuleContext, oth: Trainee, basis: str, evidence: dict) -> Finding:
    other = oth.trainee_id if octx is ctx else f"{octx.info.class_id}/{oth.trainee_id}"
    return ctx.finding(
        "IDENTITY_SHARED", trainee_id=own.trainee_id, other=other, part=basis,
        fields={"name": own.name, "other": other, "other_name": oth.name, "basis": basis},
        detail={"trainee_id": own.trainee_id, "other_class_id": octx.info.class_id,
                "other_trainee_id": oth.trainee_id, "basis": basis, **evidence})


def _emit(a: tuple, b: tuple, basis: str, evidence: dict) -> list[Finding]:
    (ca, ta), (cb, tb) = sorted([a, b], key=lambda x: (x[0].info.class_id, x[1].trainee_id))
    if ca is cb:
        return [_finding(ca, ta, cb, tb, basis, evidence)]
    return [_finding(ca, ta, cb, tb, basis, evidence), _finding(cb, tb, ca, ta, basis, evidence)]


@rule("IDENTITY_SHARED", scope="archive")
def identity_shared(actx: ArchiveContext) -> list[Finding]:
    out: list[Finding] = []
    done: set[tuple] = set()
    by_photo: dict[str, list[tuple]] = {}
    for ctx in actx.contexts():
        for t in ctx.archive.trainees:
            for digest in {_digest(ctx, p) for p in t.photos} - {None}:
                by_photo.setdefault(digest, []).append((ctx, t))
    for digest, people in sorted(by_photo.items()):
        ids = [(ctx.info.class_id, t.trainee_id) for ctx, t in people]
        persons = [_person(t) for _, t in people]
        for i, j in _distinct_pairs(persons):
            if ids[i] == ids[j]:
                continue
            key = frozenset([ids[i], ids[j]])
            if ("photo", key) in done:
                continue
            done.add(("photo", key))
            out += _emit(people[i], people[j], "enrollment_photo", {"photo_sha256": digest})
    for ctx in actx.contexts():
        pairs = ctx.evidence.enrollment_pairs
        if pairs is None or len(pairs) == 0:
            continue
        for r in typed_rows(pairs, EnrollmentPairRow):
            a, b = str(r.person_a), str(r.person_b)
            key = frozenset([(ctx.info.class_id, a), (ctx.info.class_id, b)])
            if a == b or a not in ctx.trainees or b not in ctx.trainees or ("face", key) in done:
                continue
            done.add(("face", key))
            out += _emit((ctx, ctx.trainees[a]), (ctx, ctx.trainees[b]), "enrollment_face",
                         {"distance": None if r.distance is None else float(r.distance)})
    by_snapshot: dict[str, list[tuple]] = {}
    for ctx in actx.contexts():
        for e in ctx.archive.checkins:
            if e.photo and e.trainee_id in ctx.trainees:
                by_snapshot.setdefault(e.photo.strip(), []).append((ctx, ctx.trainees[e.trainee_id], e))
    for photo, events in sorted(by_snapshot.items()):
        for (ca, ta, ea), (cb, tb, eb) in itertools.combinations(events, 2):
            key = frozenset([(ca.info.class_id, ta.trainee_id), (cb.info.class_id, tb.trainee_id)])
            if len(key) < 2 or ("checkin", key) in done:
                continue
            done.add(("checkin", key))
            rows = [{"class_id": c.info.class_id, "trainee_id": t.trainee_id, "ts": e.ts,
                     "source_file": e.source_file, "source_row": e.source_row} for c, t, e in ((ca, ta, ea), (cb, tb, eb))]
            out += _emit((ca, ta), (cb, tb), "checkin_photo", {"checkin_photo": photo, "checkins": rows})
    return out
