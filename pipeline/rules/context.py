"""What a rule function reads: one class's evidence, its rule pack, its trainee hours, the language.

`RuleContext.finding(...)` builds a Finding (stable id, message, severity) and, for video evidence, asks
for a snapshot: a SnapshotRequest for the JPEG under the class's snapshot folder
(`OUT/evidence/<class_key>/`), named by the finding id so re-runs overwrite rather than pile up. Rules
never open a file: outputs.publish writes the requested frames and takes the path off a finding whose
frame could not be written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.attendance.hours import SessionTime
from pipeline.config import RulePack
from pipeline.model import ClassEvidence, Finding, Problem, Session, SnapshotRequest, Trainee
from pipeline.rules.findings import ID_KEYS, finding_id, make_finding


@dataclass(frozen=True)
class Snapshot:
    """A frame to save as evidence: a recording (path as in the tables), an offset, an optional box."""

    path: str
    offset_s: float
    box: tuple[int, int, int, int] | None = None  # x, y, w, h in pixels


@dataclass
class RuleContext:
    evidence: ClassEvidence
    pack: RulePack
    hours: pd.DataFrame
    lang: str = "zh"
    audit_date: dt.date = field(default_factory=dt.date.today)
    snapshots: list[SnapshotRequest] = field(default_factory=list)  # the frames the findings ask for
    # enrollment photo (as in Trainee.photos) -> sha256, from a stored cross-class view; None: the evidence's
    photo_digests: dict[str, str | None] | None = None
    # the recordings table as rows, from a stored cross-class view (no DataFrame per class); None: use
    # evidence.recordings
    recording_rows: tuple[dict, ...] | None = None
    # accusations held back because the evidence could not decide (warnings in problems and the report)
    not_judged: list[Problem] = field(default_factory=list)
    # what several rules derive from the same evidence, derived once (RuleContext.shared)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def shared(self, name: str, derive: Callable[[], Any]) -> Any:
        """`derive()`, computed once per context for every rule that asks for `name`; rules only read it."""
        if name not in self._shared:
            self._shared[name] = derive()
        return self._shared[name]

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

    def could_not_judge(self, rule_id: str, message: str, expected: str, found: str) -> None:
        """Hold back an accusation the evidence cannot decide: a warning naming the rule, not a finding."""
        self.not_judged.append(Problem(file=str(self.info.folder), message=message, column=rule_id,
                                       expected=expected, found=found, level="warning",
                                       class_id=self.info.class_id))

    def snapshot(self, fid: str, rule_id: str, shot: Snapshot, detail_key: str | None = None,
                 name: str | None = None) -> str | None:
        """Ask for the JPEG of a finding (`fid`); the path it will have relative to the output folder, or None
        (no snapshot folder). `detail_key`: the finding's detail key that holds the path (default: its
        evidence_path); `name`: the file's name without .jpg (default: rule and finding id)."""
        folder = self.evidence.snapshot_dir
        if folder is None:
            return None
        folder = Path(folder)
        file = f"{name or f'{rule_id.lower()}_{fid}'}.jpg"
        # snapshot_dir is OUT/evidence/<class_key>: paths are relative to OUT.
        rel = f"{folder.parent.name}/{folder.name}/{file}"
        self.snapshots.append(SnapshotRequest(
            self.info.class_id, fid, str(shot.path), self.recording_file(str(shot.path)), float(shot.offset_s),
            tuple(int(v) for v in shot.box) if shot.box is not None else None, folder / file, rel, detail_key))
        return rel

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
