"""What a rule function reads: one class's evidence, its rule pack, its trainee hours, the language.

`RuleContext.finding(...)` builds a Finding (stable id, message, severity) and, for video evidence,
writes the snapshot JPEG under the class's snapshot folder (`OUT/evidence/<class_id>/`), named by the
finding id so re-runs overwrite rather than pile up.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.attendance.hours import SessionTime
from pipeline.config import RulePack
from pipeline.model import ClassEvidence, Finding, Session, Trainee
from pipeline.rules.findings import ID_KEYS, finding_id, make_finding


@dataclass(frozen=True)
class Snapshot:
    """A frame to save as evidence: a recording (path as in the tables), an offset, an optional box."""

    path: str
    offset_s: float
    box: tuple[int, int, int, int] | None = None  # x, y, w, h in pixels


def _write_snapshot():
    # The video stage owns frame decoding; without it findings still carry file and offset.
    try:
        from pipeline.video.blank import write_snapshot
    except ImportError:
        return None
    return write_snapshot


@dataclass
class RuleContext:
    evidence: ClassEvidence
    pack: RulePack
    hours: pd.DataFrame
    lang: str = "zh"
    audit_date: dt.date = field(default_factory=dt.date.today)
    snapshot_errors: list[str] = field(default_factory=list)
    # enrollment photo (as in Trainee.photos) -> sha256, from a stored cross-class view; None: read the files
    photo_digests: dict[str, str | None] | None = None
    # the recordings table as rows, from a stored cross-class view (no DataFrame per class); None: use
    # evidence.recordings
    recording_rows: tuple[dict, ...] | None = None
    # accusations held back because the evidence could not decide (shown as warnings in problems/report)
    not_judged: list[dict] = field(default_factory=list)

    def recordings_rows(self) -> list[dict]:
        if self.recording_rows is not None:
            return list(self.recording_rows)
        rec = self.evidence.recordings
        return rec.to_dict("records") if rec is not None and len(rec) else []

    @property
    def archive(self):
        return self.evidence.archive

    @property
    def info(self):
        return self.evidence.archive.info

    @property
    def tz(self) -> str:
        return self.evidence.archive.info.timezone

    @cached_property
    def sessions(self) -> dict[str, Session]:
        return {s.session_id: s for s in self.archive.sessions}

    @cached_property
    def trainees(self) -> dict[str, Trainee]:
        return {t.trainee_id: t for t in self.archive.trainees}

    @cached_property
    def times(self) -> dict[str, SessionTime]:
        return {s.session_id: SessionTime(self.evidence, s) for s in self.archive.sessions}

    def offline_sessions(self) -> list[Session]:
        return sorted((s for s in self.archive.sessions if s.mode == "offline"), key=lambda s: (s.start, s.session_id))

    def session_at(self, start: object, end: object = None) -> str | None:
        """The offline session a file's (or stretch's) time falls in: the one it overlaps most."""
        from pipeline.attendance.timeline import intersect, minutes, to_ts, window
        a = to_ts(start, self.tz)
        if a is None:
            return None
        b = to_ts(end, self.tz) or a + pd.Timedelta(seconds=1)
        best, best_min = None, 0.0
        for s in self.offline_sessions():
            overlap = minutes(intersect([(a, b)], [window(s, self.tz)]))
            if overlap > best_min:
                best, best_min = s.session_id, overlap
        return best

    def recording_file(self, recording_id: str) -> Path | None:
        """The file on disk of a recording (as the tables name it), or None: not one of this class's."""
        for r in self.archive.recordings:
            if r.recording_id == recording_id:
                return r.path
        return None

    def snapshot(self, fid: str, rule_id: str, shot: Snapshot) -> str | None:
        """Write the JPEG for a finding; its path relative to the output folder, or None."""
        folder = self.evidence.snapshot_dir
        writer = _write_snapshot()
        if folder is None or writer is None:
            return None
        out = Path(folder) / f"{rule_id.lower()}_{fid}.jpg"
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            # write_snapshot returns None on success, else why not.
            source = self.recording_file(shot.path)
            why = (writer(source, float(shot.offset_s), out, box=shot.box) if source is not None
                   else "not a recording of this class")
        except Exception as exc:  # a snapshot is evidence, not a reason to lose the finding
            why = f"{type(exc).__name__}: {exc}"
        if why:
            self.snapshot_errors.append(f"{shot.path} @ {shot.offset_s:.1f}s: {why}")
            return None
        if not out.exists():
            return None
        # snapshot_dir is OUT/evidence/<class_id>: paths are relative to OUT.
        return Path(os.path.relpath(out, Path(folder).parent.parent)).as_posix()

    def finding(self, rule_id: str, *, snapshot: Snapshot | None = None, detail: dict[str, Any] | None = None,
                id_keys: Sequence[str] = ID_KEYS, **kwargs: Any) -> Finding:
        """A finding of this class. `id_keys`: which of the keys identify it (default all; a camera that only
        shows where the snapshot came from is left out, so the id does not move with the best frame)."""
        keys = {k: kwargs.get(k) for k in id_keys}
        fid = finding_id(self.info.class_id, rule_id, **keys)
        evidence_path = None
        if snapshot is not None:
            evidence_path = self.snapshot(fid, rule_id, snapshot)
            detail = {**(detail or {}), "snapshot_file": snapshot.path, "snapshot_offset_s": round(snapshot.offset_s, 2)}
            if snapshot.box is not None:
                detail["snapshot_box"] = list(snapshot.box)
        return make_finding(self.info, self.pack, self.lang, rule_id, evidence_path=evidence_path,
                            detail=detail, fid=fid, **kwargs)


@dataclass
class ArchiveContext:
    """Cross-class rules: every class of the run, each with its own pack, plus the footage-reuse pairs."""

    classes: dict[str, RuleContext]
    reuse: pd.DataFrame

    def contexts(self) -> Sequence[RuleContext]:
        return list(self.classes.values())
