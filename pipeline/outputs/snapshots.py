"""Write the frames the findings ask for (SnapshotRequest, from the rules) and the unknown-face crops (from
the attendance stage), fanned out on the run's executor; a finding whose frame could not be written keeps
its file and offset but loses the path (`settle`)."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import Executor
from pathlib import Path
from typing import Sequence

from pipeline.model import Finding, SnapshotRequest


def write_frame(source: Path | None, offset_s: float, target: Path, box) -> str | None:
    """One snapshot (runs in any worker): None when the JPEG is in place, else why not."""
    if source is None:
        return "not a recording of this class"
    from pipeline.video.blank import write_snapshot

    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        why = write_snapshot(source, float(offset_s), target, box=box)  # None on success, else why not
    except Exception as exc:  # a snapshot is evidence, not a reason to lose the finding
        why = f"{type(exc).__name__}: {exc}"
    if why:
        return why
    return None if Path(target).exists() else ""  # "": nothing written, nothing to say (as before)


def write_snapshots(requests: Sequence[SnapshotRequest], executor: Executor | None = None
                    ) -> list[tuple[SnapshotRequest, str]]:
    """Write every requested frame (on `executor` when given); the requests that failed, with why ("" when
    the decoder gave no frame and no reason)."""
    if executor is None or len(requests) < 2:
        results = [write_frame(r.source, r.offset_s, r.target, r.box) for r in requests]
    else:
        futures = [executor.submit(write_frame, r.source, r.offset_s, r.target, r.box) for r in requests]
        results = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # a worker that died: that frame is missing, the rest are written
                results.append(f"worker failed: {type(exc).__name__}: {exc}")
    return [(r, why) for r, why in zip(requests, results) if why is not None]


def settle(findings: Sequence[Finding], failed: Sequence[SnapshotRequest]) -> list[Finding]:
    """The findings with the path of every frame that was not written taken off (evidence_path, or the
    detail key that held it)."""
    missing: dict[str, list[SnapshotRequest]] = {}
    for request in failed:
        missing.setdefault(request.finding_id, []).append(request)
    out = []
    for finding in findings:
        for request in missing.get(finding.finding_id, ()):
            if request.class_id != finding.class_id:
                continue
            if request.detail_key is None:
                finding = dataclasses.replace(finding, evidence_path=None)
            elif finding.detail:
                detail = json.loads(finding.detail)
                detail[request.detail_key] = None
                finding = dataclasses.replace(finding, detail=json.dumps(detail, ensure_ascii=False, sort_keys=True))
        out.append(finding)
    return out


def write_crops(crops: dict[Path, object]) -> None:
    """The unknown-face crops (BGR arrays) at their paths."""
    import cv2

    from pipeline.ops.atomic import write_atomic

    for target, crop in crops.items():
        ok, data = cv2.imencode(".jpg", crop)
        if ok:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(Path(target), data.tobytes())
