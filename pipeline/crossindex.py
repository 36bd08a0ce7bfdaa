"""Which stored cross-class views a nightly run reads: the index of the cross-class rules' pairing keys.

The cross-class rules report pairs of classes (or pairs within one class): a finding of class A about
class B depends on the views of A and B only. Two classes can only form a pair when they share one of:
- an offline session's teacher, or its room, within one institution, on one UTC date (TEACHER_CONFLICT,
  CLASS_MERGED: rules/schedule.py pairs overlapping sessions grouped by (institution, teacher) and
  (institution, room); two overlapping sessions share the UTC date of the later start);
- a recording's sha256 (byte-identical files) or a footage match between their recordings (RECORDING_REUSED);
- a check-in snapshot (IDENTITY_SHARED, checkin_photo);
- an enrollment photo's digest, held by two entries that are not the same person (IDENTITY_SHARED,
  enrollment_photo; rules/identity._same_person). Enrollment-face pairs stay within one class.

After a change, only a class that pairs with a changed, new, failed or removed class (by its keys before
or after the change) can see its cross-class findings change (`Selection.affected`), and an affected
class's findings need only the views of its own partners (`Selection.needed`). The index keeps each stored
view's keys (OUT/.trainaudit-cross/index.bin, written atomically after the views; each entry names its view
by the view file's stamp, the one the manifest keeps of it, so an entry of another view is never used and
no view is read to check it), and a nightly run reads and decodes the needed views only; every other
class's cross-class rows stay as published. Where the index cannot answer (missing, another version, an
entry missing or stale, a rule error, a rule this module does not know), every view is read as before.
tests/test_crossindex.py checks the selected evaluation against the full one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from pipeline import cache_codec
from pipeline.ops.atomic import write_atomic

INDEX_FILE = "index.bin"
INDEX_VERSION = 3  # 2: session keys carry the UTC dates; 3: entries name their view by its file stamp
# The rules whose pairing keys this module knows; any other archive-scope rule turns the selection off.
KNOWN_RULES = frozenset({"TEACHER_CONFLICT", "CLASS_MERGED", "RECORDING_REUSED", "IDENTITY_SHARED"})


@dataclass(frozen=True)
class ViewKeys:
    """What one class's view can pair on, and its fingerprinted recordings (the reuse matcher's cheap
    filter, so that no view is decoded to compare footage)."""

    class_id: str
    view_stamp: str | None  # the stored view file's stamp (ops.manifest.fingerprint_outputs); None: not stored
    keys: tuple  # tuples of text: ("teacher"|"room", institution, id, UTC date), ("sha256", h), ("snapshot", p)
    photos: tuple  # (digest, person) per enrollment photo; person: rules.identity._person of the entry
    recording_paths: tuple  # every listed recording (footage matches name files by path)
    fingerprint_paths: tuple
    fingerprint_shas: tuple
    medians: np.ndarray


def view_keys(view, view_stamp: str | None) -> ViewKeys:
    """The keys of a view (crossclass.CrossView), as the rules read it."""
    from pipeline.ingest.values import is_null
    from pipeline.rules.identity import _person

    archive = view.archive
    info = archive.info
    inst = str(info.institution_id)
    keys = set()
    for s in archive.sessions:
        if s.mode != "offline":
            continue
        for day in _utc_days(s, info.timezone):
            if s.teacher_id:
                keys.add(("teacher", inst, str(s.teacher_id), day))
            if s.room:
                keys.add(("room", inst, str(s.room), day))
    for row in view.recordings:
        if not is_null(row.get("sha256")):
            keys.add(("sha256", str(row["sha256"])))
    trainees = {t.trainee_id for t in archive.trainees}
    keys.update(("snapshot", e.photo.strip()) for e in archive.checkins if e.photo and e.trainee_id in trainees)
    digests = view.photo_digests or {}
    photos = {(digests.get(str(p)), _person(t)) for t in archive.trainees for p in t.photos}
    photos = tuple(sorted(((d, person) for d, person in photos if d is not None), key=repr))
    return ViewKeys(str(info.class_id), view_stamp, tuple(sorted(keys)), photos,
                    tuple(str(r.path) for r in archive.recordings), tuple(view.fingerprint_paths),
                    tuple(view.fingerprint_shas), view.medians)


def stamp(path: Path) -> str:
    """The file's stamp as the manifest keeps it for every published file ("missing" when there is none)."""
    from pipeline.ops.manifest import fingerprint_outputs

    return fingerprint_outputs({"view": Path(path)})["view"]


def _utc_days(session, tz: str) -> list[str]:
    """Every UTC date from the session's start to its end, as the rules read its times (to_ts): the later
    start of two overlapping sessions lies in both, so they share its date."""
    from pipeline.attendance.timeline import to_ts

    a, b = to_ts(session.start, tz), to_ts(session.end, tz)
    if a is None or b is None:  # ingest never keeps such a session; the rules would not pair it either
        return ["?"]
    first, last = sorted([a.tz_convert("UTC").date(), b.tz_convert("UTC").date()])
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def load_index(folder: Path) -> dict[str, ViewKeys] | None:
    """class key -> ViewKeys, as the last run wrote it; None when there is none usable."""
    try:
        body, arrays = cache_codec.loads_plain((Path(folder) / INDEX_FILE).read_bytes())
        if not isinstance(body, dict) or body.get("version") != INDEX_VERSION:
            return None
        out = {}
        for key, (cid, sha, keys, photos, recordings, paths, shas, block) in body["views"].items():
            medians = arrays[block] if block is not None else np.zeros((0, 0), np.float32)
            out[key] = ViewKeys(cid, sha, tuple(map(tuple, keys)), tuple((d, tuple(p)) for d, p in photos),
                                tuple(recordings), tuple(paths), tuple(shas), medians)
        return out
    except (OSError, cache_codec.CacheFormatError, KeyError, TypeError, ValueError, IndexError):
        return None


def write_index(folder: Path, entries: Mapping[str, ViewKeys]) -> None:
    """Written after the views it names (an entry whose view changed since is not used: view_stamp)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    views, arrays = {}, []
    for key, e in sorted(entries.items()):
        if e.view_stamp is None:
            continue
        block = None
        if len(e.fingerprint_paths):
            block = len(arrays)
            arrays.append(e.medians)
        views[key] = [e.class_id, e.view_stamp, e.keys, e.photos, e.recording_paths, e.fingerprint_paths,
                      e.fingerprint_shas, block]
    write_atomic(folder / INDEX_FILE, cache_codec.dumps_plain({"version": INDEX_VERSION, "views": views}, arrays))


@dataclass(frozen=True)
class Selection:
    affected: frozenset[str]  # stored classes whose cross-class findings may have changed
    needed: frozenset[str]  # stored classes whose views the affected classes' findings read (affected included)


class _Partners:
    """Which classes each class can pair with (a superset: sharing a key is necessary, not sufficient)."""

    def __init__(self, entries: Iterable[ViewKeys], queries: Iterable[ViewKeys], matches: Iterable):
        self.by_key: dict[tuple, set[str]] = defaultdict(set)
        self.by_photo: dict[str, list[tuple[str, tuple]]] = defaultdict(list)
        by_path: dict[str, set[str]] = defaultdict(set)
        for e in entries:
            for k in e.keys:
                self.by_key[tuple(k)].add(e.class_id)
            for digest, person in e.photos:
                self.by_photo[digest].append((e.class_id, tuple(person)))
            for p in e.recording_paths:
                by_path[p].add(e.class_id)
        for e in queries:  # the removed side of a change: its old files name it in the old matches
            for p in e.recording_paths:
                by_path[p].add(e.class_id)
        self.matched: dict[str, set[str]] = defaultdict(set)
        for m in matches:
            for a in by_path.get(str(m.path_a), ()):
                for b in by_path.get(str(m.path_b), ()):
                    self.matched[a].add(b)
                    self.matched[b].add(a)

    def of(self, e: ViewKeys) -> set[str]:
        from pipeline.rules.identity import _same_person

        out = set(self.matched.get(e.class_id, ()))
        for k in e.keys:
            out |= self.by_key.get(tuple(k), set())
        for digest, person in e.photos:
            person = tuple(person)
            for cid, other in self.by_photo.get(digest, ()):
                if cid != e.class_id and not _same_person(person, other):
                    out.add(cid)
        out.discard(e.class_id)
        return out


def select(fresh: Mapping[str, ViewKeys], stored: Mapping[str, ViewKeys], gone: Sequence[ViewKeys],
           matches: Sequence, kept: Sequence | None) -> Selection:
    """`fresh`: the classes audited in this run (class_id -> keys); `stored`: the unchanged classes; `gone`:
    the keys last run of the classes audited again, failed or removed in this run; `matches`: this run's
    footage matches, `kept`: the last run's."""
    partners = _Partners([*stored.values(), *fresh.values()], gone, [*matches, *(kept or ())])
    affected = set()
    for e in [*fresh.values(), *gone]:
        affected |= partners.of(e)
    affected &= set(stored)
    needed = set(affected)
    for cid in affected:
        needed |= partners.of(stored[cid])
    return Selection(frozenset(affected), frozenset(needed & set(stored)))


def selectable(rule_ids: Iterable[str]) -> bool:
    return set(rule_ids) <= KNOWN_RULES
