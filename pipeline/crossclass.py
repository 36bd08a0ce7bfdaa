"""Cross-class rules (TEACHER_CONFLICT, CLASS_MERGED, RECORDING_REUSED, IDENTITY_SHARED) over per-class views.

A view is what those rules read of one class, and nothing more: its info, sessions, roster (ID numbers
masked with a per-output secret, so two classes can still be compared), check-ins that carry a snapshot,
listed recordings, the recordings table, the enrollment face pairs, the digest of each enrollment photo,
and, per fingerprinted recording, its median view (the reuse matcher's cheap filter). Fingerprints are
kept beside it. Every run, full or nightly, evaluates the cross-class rules on views that went through
the stored format (cache_codec), so a nightly run that reads the unchanged classes' views from
OUT/.trainaudit-cross/ instead of re-auditing them gets exactly the findings of a full run.

Reused footage is compared only where a pair involves a recording of a class audited in this run; the
matches between two untouched recordings are carried over from the last run (a pair's result depends on
the two fingerprints only). A nightly run decodes only the stored views a change can touch
(crossindex.py: the classes pairing with a changed one, and their partners).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from pipeline import cache_codec
from pipeline.ops.atomic import write_atomic
from pipeline.model import ClassArchive, ClassEvidence, Finding, Problem, SnapshotRequest
from pipeline.video.reuse import Fingerprint, ReuseMatch

VIEWS_DIR = ".trainaudit-cross"
SECRET_FILE = "id-mask.key"
MATCHES_FILE = "reuse-matches.bin"
VIEW_SUFFIX = ".view"
FINGERPRINT_SUFFIX = ".fingerprints"


@dataclass(frozen=True)
class CrossView:
    archive: ClassArchive  # slim: masked ID numbers, check-ins with a snapshot only, no teachers/online/problems
    recordings: tuple  # rows (dicts) of the class's recordings table
    enrollment_pairs: tuple | None  # (person_a, person_b, distance) rows, None: no gallery was compared
    photo_digests: dict  # enrollment photo (as in Trainee.photos) -> sha256, None when unreadable
    fingerprint_paths: tuple  # recordings with a non-empty fingerprint (paths as analysed)
    fingerprint_shas: tuple
    medians: np.ndarray  # (n, d) float32 unit median view per fingerprinted recording


def archive_rule_ids() -> frozenset[str]:
    from pipeline.rules.registry import all_rules

    return frozenset(spec.rule_id for spec in all_rules("archive"))


class Masker:
    """ID numbers become keyed hashes: equal numbers stay equal, and without the key (kept in the output
    folder, not in the views) an 18-digit number cannot be recovered by trying candidates."""

    def __init__(self, key: bytes):
        self.key = key

    @classmethod
    def for_output(cls, folder: Path | None) -> "Masker":
        if folder is None:
            return cls(secrets.token_bytes(32))
        path = Path(folder) / SECRET_FILE
        try:
            return cls(bytes.fromhex(path.read_text(encoding="ascii").strip()))
        except (OSError, ValueError):
            key = secrets.token_bytes(32)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, key.hex().encode("ascii"))
            return cls(key)

    def __call__(self, id_number: str | None) -> str | None:
        if not id_number:
            return id_number
        import hmac

        return "masked:" + hmac.new(self.key, id_number.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


def build_view(evidence: ClassEvidence, fingerprints: Sequence[Fingerprint], mask: Masker) -> CrossView:
    from pipeline.video.reuse import median_view

    archive = evidence.archive
    slim = dataclasses.replace(
        archive, trainees=tuple(dataclasses.replace(t, id_number=mask(t.id_number)) for t in archive.trainees),
        teachers=(), checkins=tuple(e for e in archive.checkins if e.photo), online=(), problems=(), missing_parts=())
    digests = dict(evidence.photo_digests or {})
    rec = evidence.recordings
    rows = tuple(rec.to_dict("records")) if rec is not None and len(rec) else ()
    pairs = evidence.enrollment_pairs
    pairs = None if pairs is None else tuple((str(r["person_a"]), str(r["person_b"]),
                                              None if pd.isna(r["distance"]) else float(r["distance"]))
                                             for r in pairs.to_dict("records"))
    fps = sorted((f for f in fingerprints if len(f.offsets_s)), key=lambda f: str(f.path))
    dim = fps[0].vectors.shape[1] if fps else 0
    medians = np.stack([median_view(f) for f in fps]) if fps else np.zeros((0, dim), np.float32)
    return CrossView(slim, rows, pairs, digests, tuple(str(f.path) for f in fps), tuple(f.sha256 for f in fps),
                     medians)


def view_types() -> tuple[type, ...]:
    """The record types a stored view, its fingerprints and the kept matches may hold."""
    from pipeline.model import CheckinEvent, ClassInfo, Recording, Session, Trainee

    return (CrossView, ClassArchive, ClassInfo, Trainee, Session, CheckinEvent, Recording, Fingerprint, ReuseMatch)


def encode(view: CrossView) -> bytes:
    return cache_codec.dumps(view)


def decode(data: bytes) -> CrossView:
    view = cache_codec.loads(data, view_types())
    if not isinstance(view, CrossView):
        raise cache_codec.CacheFormatError("not a cross-class view")
    return view


class ViewStore:
    """OUT/.trainaudit-cross/: one view and one fingerprint file per class key, and the reuse matches."""

    def __init__(self, out: Path):
        self.folder = Path(out) / VIEWS_DIR

    def view_path(self, key: str) -> Path:
        return self.folder / f"{key}{VIEW_SUFFIX}"

    def fingerprints_path(self, key: str) -> Path:
        return self.folder / f"{key}{FINGERPRINT_SUFFIX}"

    def write(self, key: str, view_bytes: bytes, fingerprints: Sequence[Fingerprint]) -> None:

        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.fingerprints_path(key), cache_codec.dumps(tuple(fingerprints)))
        write_atomic(self.view_path(key), view_bytes)

    def load(self, key: str) -> CrossView:
        return decode(self.view_path(key).read_bytes())

    def fingerprints(self, key: str) -> dict[str, Fingerprint]:
        value = cache_codec.loads(self.fingerprints_path(key).read_bytes(), view_types())
        return {str(f.path): f for f in value}

    def remove(self, key: str) -> None:
        for path in (self.view_path(key), self.fingerprints_path(key)):
            path.unlink(missing_ok=True)

    def matches(self) -> list[ReuseMatch] | None:
        try:
            value = cache_codec.loads((self.folder / MATCHES_FILE).read_bytes(), view_types())
        except (OSError, cache_codec.CacheFormatError):
            return None
        return list(value)

    def write_matches(self, matches: Sequence[ReuseMatch]) -> None:

        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / MATCHES_FILE, cache_codec.dumps(tuple(matches)))


class StoredClass:
    """An unchanged class: its view (read and decoded on first use when the nightly run did not need it
    before the audit), where its fingerprints are (loaded only for candidate pairs), and its index entry
    (crossindex.py), which gives the reuse matcher its recordings without reading the view."""

    def __init__(self, view: CrossView | None, key: str, store: ViewStore, keys=None):
        self._view, self.key, self.store, self.keys = view, key, store, keys

    @property
    def decoded(self) -> bool:
        return self._view is not None

    @property
    def view(self) -> CrossView:
        if self._view is None:
            try:
                self._view = self.store.load(self.key)
            except (OSError, cache_codec.CacheFormatError):  # the run fails; without the file the next redoes it
                self.store.remove(self.key)
                raise
        return self._view

    @property
    def fingerprinted(self):
        """(paths, shas, medians) of its fingerprinted recordings."""
        source = self.keys if self.keys is not None else self.view
        return source.fingerprint_paths, source.fingerprint_shas, source.medians


EMPTY_EVIDENCE = ("recordings", "coverage", "headcount", "sightings", "presence", "blanks", "unknowns", "checkins")


def view_evidence(view: CrossView, snapshot_dir: Path | None, empties: Mapping[str, pd.DataFrame] | None = None
                  ) -> ClassEvidence:
    """The evidence the cross-class rules read, from a view. A view holds no video or attendance frames:
    they are empty (the recordings table is read from the view's rows, RuleContext.recording_rows).
    `empties` (table -> its empty frame, EMPTY_EVIDENCE) may be shared by every view of a run: the rules
    only read the evidence."""
    from pipeline.outputs.frames import check_evidence, empty, frame

    empties = empties or {table: empty(table) for table in EMPTY_EVIDENCE}
    pairs = frame("enrollment_pairs", [dict(zip(("person_a", "person_b", "distance"), p)) for p in view.enrollment_pairs]) \
        if view.enrollment_pairs else None  # none or an empty list: the rule has nothing to read either way
    evidence = ClassEvidence(view.archive, *(empties[table] for table in EMPTY_EVIDENCE),
                             snapshot_dir=snapshot_dir, enrollment_pairs=pairs)
    check_evidence(evidence)
    return evidence


def find_reused_incremental(fresh: Sequence[Fingerprint], stored: Sequence[StoredClass], kept: Sequence[ReuseMatch] | None, params
                            ) -> tuple[list[ReuseMatch], dict]:
    """find_reused over fresh + stored fingerprints, comparing only pairs with a fresh side and carrying the
    matches between two stored recordings over from `kept`. Returns the matches and counts."""
    from pipeline.video.reuse import candidate_pairs, compare_candidates

    from pipeline.video.reuse import median_view

    index: dict[str, tuple[str | None, np.ndarray, StoredClass | None]] = {}
    fresh_by_path = {str(f.path): f for f in fresh if len(f.offsets_s)}
    for path, fp in fresh_by_path.items():
        index[path] = (fp.sha256, median_view(fp), None)
    for item in stored:
        paths, shas, medians = item.fingerprinted
        for i, path in enumerate(paths):
            index.setdefault(path, (shas[i], medians[i], item))
    stored_paths = {p for p, v in index.items() if v[2] is not None}
    if kept is None:  # nothing to carry over: every pair is compared (as a full run)
        new = set(index)
        kept = []
    else:
        new = set(fresh_by_path)
    pairs = candidate_pairs(index, new, params)
    loaded: dict[str, dict[str, Fingerprint]] = {}

    def fingerprint(path: str) -> Fingerprint:
        if path in fresh_by_path:
            return fresh_by_path[path]
        item = index[path][2]
        if item.key not in loaded:
            loaded[item.key] = item.store.fingerprints(item.key)
        return loaded[item.key][path]

    out = [m for m in kept if str(m.path_a) in stored_paths and str(m.path_b) in stored_paths
           and str(m.path_a) not in new and str(m.path_b) not in new]
    carried = len(out)
    out += compare_candidates(pairs, fingerprint, params)
    stats = {"recordings": len(index), "fresh": len(new), "pairs_possible": len(index) * (len(index) - 1) // 2,
             "pairs_compared": len(pairs), "matches_carried_over": carried, "fingerprint_files_read": len(loaded)}
    return sorted(out, key=lambda m: (str(m.path_a), str(m.path_b), m.offset_a_s)), stats


REUSE_COLUMNS = ["path_a", "class_a", "path_b", "class_b", "offset_a_s", "offset_b_s", "duration_s", "similarity",
                 "method", "matching_samples", "margin", "min_margin"]


def reuse_frame(matches: Sequence[ReuseMatch], ids: Mapping[str, tuple[str, str]],
                min_margin: float | None = None) -> pd.DataFrame:
    """The matcher's pairs for the rules, each file named by its class and recording_id (the matcher names
    files by where they are on disk; `ids`: that path -> (class_id, recording_id); a match with a file
    that is no listed recording cannot be attributed and is left out). With what an inspector needs to
    judge one: where the footage starts in each file, how long and how alike it is, how many samples
    matched, and by how much the matched time offset stood above every other offset of the pair (margin,
    against the threshold it had to pass)."""
    rows = []
    for m in matches:
        a, b = ids.get(str(m.path_a)), ids.get(str(m.path_b))
        if a is None or b is None:
            continue
        signature = m.method == "motion_signature"
        rows.append({"path_a": a[1], "class_a": a[0], "path_b": b[1], "class_b": b[0], "offset_a_s": m.offset_a_s,
                     "offset_b_s": m.offset_b_s, "duration_s": m.duration_s, "similarity": m.similarity,
                     "method": m.method, "matching_samples": m.matching_samples,
                     "margin": m.margin if signature else None, "min_margin": min_margin if signature else None})
    return pd.DataFrame(rows, columns=REUSE_COLUMNS)


def evaluate_cross(views: Mapping[str, CrossView], packs: Mapping[str, object], reuse: pd.DataFrame, lang: str,
                   snapshot_dir: Callable[[str], Path | None]
                   ) -> tuple[dict[str, list[Finding]], list[Problem], list[SnapshotRequest]]:
    """The cross-class findings of every class (class_id -> findings, in the order a full run publishes
    them), the errors of rules that failed (they concern every class) and the snapshots the findings ask
    for (outputs.publish writes them)."""
    from pipeline.rules.engine import evaluate_archive

    from pipeline.outputs.frames import empty

    empties = {table: empty(table) for table in EMPTY_EVIDENCE}  # one set for every view (7 per view: 2.8 s at 200)
    evidences = [view_evidence(v, snapshot_dir(cid), empties) for cid, v in views.items()]
    stored = {cid: {"photo_digests": v.photo_digests, "recording_rows": v.recordings} for cid, v in views.items()}
    result = evaluate_archive(evidences, dict(packs), reuse, lang=lang, stored=stored)
    by_class: dict[str, list[Finding]] = {cid: [] for cid in views}
    for finding in result.findings:
        if finding.class_id in by_class:
            by_class[finding.class_id].append(finding)
    return by_class, list(result.problems), list(result.snapshots)


def cross_digest(findings: Sequence[Finding], errors: Sequence[Problem]) -> str:
    """What a class's cross-class part of the tables depends on: its findings and the rules' errors."""
    data = [dataclasses.asdict(f) for f in findings] + [dataclasses.asdict(p) for p in errors]
    return hashlib.sha256(json.dumps(data, default=str, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def severities(findings: Sequence[Finding]) -> dict[str, int]:
    return dict(Counter(f.severity for f in findings))


def republish_cross(store, out: Path, class_id: str, institution_id: str, tz: str, key: str,
                    findings: Sequence[Finding], errors: Sequence[Problem], previous_errors: int) -> None:
    """Replace the cross-class rows of an unchanged class: its own findings stay, the cross-class ones are
    replaced (a full run appends them after the class's own, in this order); likewise the rule errors at
    the end of its problems."""
    import pyarrow.parquet as pq

    from pipeline.outputs.frames import findings_frame, problems_frame
    from pipeline.outputs.schemas import PARTITION_KEY
    from pipeline.outputs.store import partition_value

    folder = f"{PARTITION_KEY}={partition_value(institution_id)}"
    rules = archive_rule_ids()

    def existing(table: str) -> pd.DataFrame | None:
        path = out / table / folder / f"{key}.parquet"
        return pq.read_table(path).to_pandas() if path.exists() else None

    old = existing("findings")
    own = old[~old["rule_id"].isin(rules)] if old is not None else None
    store.write_class(class_id, institution_id, tz, {"findings": _concat(own, findings_frame(findings))}, key=key)
    if previous_errors or errors:
        old = existing("problems")
        kept = old.iloc[:len(old) - previous_errors] if old is not None else None
        store.write_class(class_id, institution_id, tz, {"problems": _concat(kept, problems_frame(errors, class_id))},
                          key=key)


def _concat(first: pd.DataFrame | None, second: pd.DataFrame) -> pd.DataFrame:
    pieces = [f for f in (first, second) if f is not None and len(f)]
    return pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else (pieces[0] if pieces else second)


@dataclass
class CrossInputs:
    """What a nightly run hands the audit: where views are kept, the unchanged classes' views (class_id ->
    StoredClass), the reuse matches of the last run (None: compare every pair), the ID-number masker."""

    mask: Masker
    store: ViewStore | None = None
    stored: dict[str, StoredClass] = dataclasses.field(default_factory=dict)
    kept: list[ReuseMatch] | None = None
    # crossindex.py: every stored class has its index entry (StoredClass.keys) and `gone` holds the last
    # run's entries of the classes audited again, failed or removed: only the views a change can touch are
    # read. False: every stored view takes part (as a full run).
    selective: bool = False
    gone: tuple = ()
