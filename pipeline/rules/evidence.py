"""Evidence lookups shared by rules: the check-in rows behind a finding, the best frame of a person,
the sampled frame nearest a time, how much of a session the face stage could judge. The frames are the
class evidence checked against pipeline/outputs/schemas.py on the way in (rules.engine.evaluate), so every
column read here exists; what comes back is typed (`Sighting`, `Judged`), with `detail()` for a finding's
JSON `detail`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

from pipeline.attendance.timeline import to_ts
from pipeline.rules.context import RuleContext, Snapshot

# People look down and turn away: a face is counted as "could not be judged" in a session when the faces
# nobody could judge reach that number in a quarter of its samples (the headcount's own 0.75 quantile,
# FaceParams.headcount_quantile), so a trainee whose face stays unjudgeable for a quarter of the session
# holds back an accusation against whoever is missing.
UNJUDGED_QUANTILE = 0.75


def trainee_checkins(ctx: RuleContext, trainee_id: str, session_id: str | None = None) -> pd.DataFrame:
    c = ctx.evidence.checkin_sessions
    if c is None or len(c) == 0:
        return pd.DataFrame(columns=["ts", "source_file", "source_row", "method", "is_face", "edited"])
    keep = c["trainee_id"].astype("string") == trainee_id
    if session_id is not None:
        keep &= c["session_id"].astype("string") == session_id
    return c[keep.fillna(False)].sort_values("ts")


def checkin_rows(events: pd.DataFrame) -> list[dict]:
    """Where each event comes from, so an inspector can open the export at the row."""
    cols = ("ts", "source_file", "source_row", "device_id", "method", "method_raw", "edited")
    out = []
    for rec in events.to_dict("records"):
        item = {}
        for k in cols:
            v = rec.get(k)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            item[k] = v.isoformat() if hasattr(v, "isoformat") else (v.item() if hasattr(v, "item") else v)
        out.append(item)
    return out


def _box(value: object) -> tuple[int, int, int, int] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        items = [int(v) for v in value]
    except (TypeError, ValueError):
        return None
    return tuple(items[:4]) if len(items) >= 4 else None


@dataclass(frozen=True)
class Sighting:
    """One sampled face of a person: where (recording as the tables name it, offset, camera), when, how
    certain (distance to the enrolled face), and its box (x, y, w, h)."""

    path: str | None
    offset_s: float | None
    ts: str | None  # ISO time in the class's time zone
    camera_id: str | None
    distance: float | None
    box: tuple[int, int, int, int] | None

    def snapshot(self) -> Snapshot | None:
        return Snapshot(self.path, self.offset_s, self.box) if self.path else None

    def detail(self) -> dict:
        return dataclasses.asdict(self)


def best_sighting(ctx: RuleContext, person_id: str, session_id: str) -> Sighting | None:
    """The most certain sighting (smallest distance, then largest face) of a person in a session."""
    s = ctx.evidence.sightings
    if s is None or len(s) == 0:
        return None
    rows = s[(s["person_id"].astype("string") == person_id).fillna(False)]
    sid = rows["session_id"]
    rows = rows[sid.isna() | (sid.astype("string") == session_id)]
    if len(rows) == 0:
        return None
    area = [(b[2] * b[3]) if b else 0 for b in map(_box, rows["box"])]
    rows = rows.assign(_area=area, _dist=rows["distance"].fillna(math.inf))
    best = rows.sort_values(["_dist", "_area"], ascending=[True, False]).iloc[0]
    return Sighting(path=None if pd.isna(best["path"]) else str(best["path"]),
                    offset_s=None if pd.isna(best["offset_s"]) else float(best["offset_s"]),
                    ts=None if pd.isna(best["ts"]) else to_ts(best["ts"], ctx.tz).isoformat(),
                    camera_id=None if pd.isna(best["camera_id"]) else str(best["camera_id"]),
                    distance=None if pd.isna(best["distance"]) else float(best["distance"]),
                    box=_box(best["box"]))


def frame_near(ctx: RuleContext, session_id: str, ts: pd.Timestamp) -> Snapshot | None:
    """The sampled frame of a session nearest a time (headcount samples, else sightings)."""
    for frame in (ctx.evidence.headcount, ctx.evidence.sightings):
        if frame is None or len(frame) == 0:
            continue
        rows = frame[(frame["session_id"].astype("string") == session_id).fillna(False)]
        rows = rows.dropna(subset=["path", "offset_s", "ts"])
        if len(rows) == 0:
            continue
        gap = [abs((to_ts(t, ctx.tz) - ts).total_seconds()) for t in rows["ts"]]
        best = rows.iloc[min(range(len(gap)), key=gap.__getitem__)]
        return Snapshot(str(best["path"]), float(best["offset_s"]))
    return None


@dataclass(frozen=True)
class Judged:
    """How much of a session's video the face stage could judge (see judged_in_session)."""

    samples: int = 0  # sampled frames (headcount rows)
    faces: int = 0  # faces seen (sightings)
    judged_faces: int = 0  # of them, faces that passed the quality gate
    unidentified_people: float = 0.0  # robust per-window count of faces neither named nor called strangers
    unidentified_share: float = 0.0  # share of samples with at least one such face
    person_samples: int | None = None  # with a person: their sightings in the session
    person_judged_samples: int | None = None  # ... and how many of them passed the quality gate
    faces_counted: int = 0  # every face of the headcount, also those under the recognition floor
    too_small_faces: int = 0  # counted but under the recognition floor: no sighting at all
    unidentified_judged_faces: int = 0  # passed the gate, yet neither named nor called a stranger

    @property
    def undecided(self) -> bool:
        """Someone in the room could not be judged (or no face was): a missing trainee may be that face."""
        return self.unidentified_people >= 1 or bool(self.faces and not self.judged_faces)

    def detail(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def judged_in_session(ctx: RuleContext, session_id: str, person_id: str | None = None) -> Judged:
    """How much of a session's video the face stage could judge: sampled frames, faces seen, faces that
    passed the quality gate (``judged``), and the people it could not judge (``unidentified_people``: the
    robust per-window count of faces that were neither named nor called strangers, as the headcount takes
    it; ``unidentified_share``: the share of samples with at least one such face). With ``person_id``: that
    person's sightings and judged sightings too."""
    samples, unidentified_people, unidentified_share, faces_counted = 0, 0.0, 0.0, 0
    h = ctx.evidence.headcount
    if h is not None and len(h):
        rows = h[(h["session_id"].astype("string") == session_id).fillna(False)]
        if len(rows):
            per_frame = (rows["faces"] - rows["identified"] - rows["unknown"]).clip(lower=0)
            samples, faces_counted = int(len(rows)), int(rows["faces"].sum())
            unidentified_people = float(per_frame.quantile(UNJUDGED_QUANTILE))
            unidentified_share = round(float((per_frame >= 1).mean()), 4)
    faces = judged_faces = unidentified_judged = 0
    person_samples = person_judged_samples = None
    s = ctx.evidence.sightings
    if s is not None and len(s):
        rows = s[(s["session_id"].astype("string") == session_id).fillna(False)]
        judged = rows["judged"].astype("boolean").fillna(True).astype(bool)
        faces, judged_faces = int(len(rows)), int(judged.sum())
        # judged, yet neither named nor called a stranger: too near an enrolled person, or judged too rarely
        unidentified_judged = int((judged & (rows["person_kind"].astype("string") == "unidentified").fillna(False)).sum())
        if person_id is not None:
            mine = (rows["person_id"].astype("string") == person_id).fillna(False)
            person_samples, person_judged_samples = int(mine.sum()), int((mine & judged).sum())
    return Judged(samples, faces, judged_faces, unidentified_people, unidentified_share, person_samples,
                  person_judged_samples, faces_counted, max(0, faces_counted - faces), unidentified_judged)
