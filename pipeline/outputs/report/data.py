"""The report's input: every table of one output folder, sliced per class, plus the lookups pages need
(which recording a finding points into, where its snapshot is).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from pipeline.model import DEFAULT_TZ
from pipeline.outputs.report.tables import read_table
from pipeline.outputs.store import class_key

_TABLES = ("classes", "trainees", "sessions", "checkins", "recordings", "coverage", "headcount",
           "sightings", "presence", "trainee_hours", "findings", "problems")


@dataclass(frozen=True)
class ReportTables:
    """One DataFrame per table (columns as in schemas.py, timestamps UTC, institution_id as text)."""

    classes: pd.DataFrame
    trainees: pd.DataFrame
    sessions: pd.DataFrame
    checkins: pd.DataFrame
    recordings: pd.DataFrame
    coverage: pd.DataFrame
    headcount: pd.DataFrame
    sightings: pd.DataFrame
    presence: pd.DataFrame
    trainee_hours: pd.DataFrame
    findings: pd.DataFrame
    problems: pd.DataFrame

    @classmethod
    def load(cls, out_dir: Path) -> ReportTables:
        return cls(**{name: read_table(out_dir, name) for name in _TABLES})

    def class_ids(self) -> list[str]:
        """Classes with a row in `classes`, then any that only left findings (a class that failed later)."""
        ids = list(dict.fromkeys(self.classes["class_id"].dropna().astype(str)))
        extra = sorted(set(self.findings["class_id"].dropna().astype(str)) - set(ids))
        return ids + extra

    def by_class(self, only: set[str] | None = None) -> dict[str, ReportTables]:
        """Every class's slice (or those in `only`), each table grouped once (a city-wide run has thousands
        of classes)."""
        ids = [cid for cid in self.class_ids() if only is None or cid in only]
        frames = {f.name: getattr(self, f.name) for f in fields(self)}
        if only is not None:
            frames = {name: frame[frame["class_id"].isin(ids)] for name, frame in frames.items()}
        groups = {name: dict(tuple(frame.groupby("class_id", sort=False))) for name, frame in frames.items()}
        empty = {name: frame.iloc[0:0] for name, frame in frames.items()}
        return {cid: replace(self, **{name: groups[name].get(cid, empty[name]).reset_index(drop=True)
                                      for name in groups})
                for cid in ids}

    def for_class(self, class_id: str) -> ReportTables:
        return replace(self, **{
            f.name: getattr(self, f.name)[getattr(self, f.name)["class_id"] == class_id].reset_index(drop=True)
            for f in fields(self)
        })

    def info(self) -> dict:
        """The class's row of `classes` as a dict (empty values as None); {} if the class has none."""
        if self.classes.empty:
            return {}
        return {k: present(v) for k, v in self.classes.iloc[0].to_dict().items()}


def present(value: object) -> object:
    """None for every flavour of missing (None, NaN, NaT, pd.NA); the value otherwise."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def class_tz(info: dict) -> str:
    return str(info.get("timezone") or DEFAULT_TZ)


def _suffix(lang: str) -> str:
    """Chinese pages keep the plain names (OUT/report/index.html); another language gets its own files."""
    return ".html" if lang == "zh" else f".{lang}.html"


def page_name(class_id: str, lang: str = "zh") -> str:
    """File name of a class page: the same safe key the class's Parquet files are named by."""
    return f"{class_key(class_id)}{_suffix(lang)}"


def trainee_page_name(class_id: str, trainee_id: str, lang: str = "zh") -> str:
    """File name of a trainee's page, beside the class page (so every relative link is the same)."""
    return f"{class_key(class_id)}__{class_key(trainee_id)}{_suffix(lang)}"


def index_name(lang: str = "zh") -> str:
    return f"index{_suffix(lang)}"


def detail_dict(text: object) -> dict:
    """The finding's `detail` JSON as a dict; anything unparsable is kept under 'text'."""
    if not present(text):
        return {}
    try:
        value = json.loads(str(text))
    except ValueError:
        return {"text": str(text)}
    return value if isinstance(value, dict) else {"value": value}


@dataclass(frozen=True)
class VideoLink:
    href: str
    offset_s: float
    path: str


def _recording_file(path: str, folder: object) -> Path:
    """Where a recording lives: `recordings.path` as written, joined to the class folder when relative.
    A path still relative after that is taken from the current directory (the run's, normally)."""
    p = Path(path)
    if not p.is_absolute() and present(folder):
        p = Path(str(folder)) / p
    return p if p.is_absolute() else Path.cwd() / p


def video_link(out_dir: Path, rec: dict, offset_s: float, folder: object) -> VideoLink:
    """A link that opens the recording at the offset (media fragment `#t=`, honoured by Chromium and
    Firefox for local files). The href is relative to OUT/report/, so the link survives moving the output
    folder together with the archive (a shared drive, a copied disk)."""
    target = _recording_file(str(rec["path"]), folder)
    try:
        rel = os.path.relpath(target, (out_dir / "report").resolve())
        href = quote(Path(rel).as_posix())
    except ValueError:  # another drive on Windows: no relative path exists
        href = target.as_uri()
    return VideoLink(href=f"{href}#t={int(offset_s)}", offset_s=offset_s, path=str(rec["path"]))


def _same_file(recs: pd.DataFrame, path: str) -> pd.DataFrame:
    """Recordings listed under `path`; the rules may write it as listed or with more of its folders."""
    def same(p: object) -> bool:
        return present(p) is not None and (p == path or path.endswith("/" + str(p)) or str(p).endswith("/" + path))
    return recs[recs["path"].map(same)]


def locate_in_video(t: ReportTables, finding: dict) -> tuple[dict, float] | None:
    """The recording row and offset (s) where a finding can be seen, or None.

    Order of trust: the frame its snapshot was taken from (`detail.snapshot_file`/`snapshot_offset_s`, so the
    link opens on the picture shown); an offset the rule wrote for the finding's file; the finding's file and
    start time; any readable recording of the finding's camera (else its session's room) covering its start.
    """
    recs = t.recordings
    if recs.empty:
        return None
    detail = detail_dict(finding.get("detail"))
    path, start = present(finding.get("path")), present(finding.get("start"))
    snap_file, snap_offset = detail.get("snapshot_file"), detail.get("snapshot_offset_s")
    if isinstance(snap_file, str) and isinstance(snap_offset, (int, float)):
        same = _same_file(recs, snap_file)
        if not same.empty:
            return same.iloc[0].to_dict(), max(0.0, float(snap_offset))
    if path:
        same = _same_file(recs, str(path))
        if not same.empty:
            rec = same.iloc[0].to_dict()
            for key in ("offset_s", "start_offset_s"):
                if isinstance(detail.get(key), (int, float)):
                    return rec, max(0.0, float(detail[key]))
            if start is not None and present(rec.get("start")) is not None:
                return rec, max(0.0, (start - rec["start"]).total_seconds())
            return rec, 0.0
    if start is None:
        return None
    candidates = recs[(recs["start"] <= start) & (recs["end"] > start) & (recs["readable"] != False)]  # noqa: E712
    camera = present(finding.get("camera_id"))
    if camera:
        candidates = candidates[candidates["camera_id"] == camera]
    elif present(finding.get("session_id")):
        rooms = t.sessions.loc[t.sessions["session_id"] == finding["session_id"], "room"].dropna()
        if not rooms.empty:
            candidates = candidates[candidates["room"] == rooms.iloc[0]]
    if candidates.empty:
        return None
    rec = candidates.sort_values("start").iloc[0].to_dict()
    return rec, (start - rec["start"]).total_seconds()
