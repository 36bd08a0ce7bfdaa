"""The last stage: what one run writes. The frames the findings ask for and the unknown-face crops (fanned
out on the run's executor), then each class's tables (atomic, through Store). The report is built from the
published tables afterwards (`trainaudit report`, or the audit and nightly commands)."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from pipeline.config import RulePack
from pipeline.model import DEFAULT_TZ, ClassEvidence, Problem, SnapshotRequest
from pipeline.outputs.frames import findings_frame, problems_frame
from pipeline.outputs.snapshots import settle, write_crops, write_snapshots
from pipeline.outputs.store import Store, unreadable_key


@dataclass
class Audited:
    """One class the rules judged: its evidence, pack, outcome (audit.ClassOutcome: findings, problems,
    status) and the snapshots its findings ask for."""

    evidence: ClassEvidence
    pack: RulePack
    outcome: Any
    snapshots: Sequence[SnapshotRequest] = ()


def publish_snapshots(items: Sequence[Audited], executor: Executor | None = None) -> None:
    """Write every class's requested frames (on `executor`) and unknown-face crops; a finding whose frame
    could not be written loses the path, and the class gets a warning saying which frame and why."""
    requests = [r for item in items for r in item.snapshots]
    failed = write_snapshots(requests, executor)
    for item in items:
        out = item.evidence.snapshot_dir.parent.parent if item.evidence.snapshot_dir is not None else None
        if out is not None and item.evidence.unknown_crops:
            write_crops({out / rel: crop for rel, crop in item.evidence.unknown_crops.items()})
        info, outcome = item.evidence.archive.info, item.outcome
        mine = [(r, why) for r, why in failed if r.class_id == info.class_id]
        if not mine:
            continue
        outcome.findings[:] = settle(outcome.findings, [r for r, _ in mine])
        outcome.problems.extend(
            Problem(file=str(info.folder), message=f"snapshot not written: {r.recording_id} @ {r.offset_s:.1f}s: {why}",
                    level="warning", class_id=info.class_id) for r, why in mine if why)


def publish_tables(store: Store, items: Sequence[Audited], outcomes: Sequence[Any],
                   progress: Callable[[str, int, int], None]) -> None:
    """Each judged class's tables; a class that failed has its earlier rows removed and its problems
    published. An OSError (a full disk) stops the run: the caller says what and where."""
    from pipeline.attendance.evidence import base_tables

    for i, item in enumerate(items):
        evidence, outcome = item.evidence, item.outcome
        info = evidence.archive.info
        tables = base_tables(evidence.archive, evidence, item.pack)
        tables["trainee_hours"] = evidence.hours
        tables["findings"] = findings_frame(outcome.findings)
        tables["problems"] = problems_frame(outcome.problems, info.class_id)
        try:
            store.write_class(info.class_id, info.institution_id, info.timezone, tables)
        except OSError:  # a full disk fails every class alike: stop, the caller says what and where
            raise
        except Exception as exc:  # e.g. a schema violation: this class fails, the others are published
            outcome.status, outcome.reason = "failed", f"tables not written: {type(exc).__name__}: {exc}"
        progress("write", i + 1, len(items))
    published = {item.outcome.class_id for item in items if item.outcome.status == "audited"}
    for outcome in outcomes:
        if outcome.status == "failed" and outcome.class_id is not None and outcome.class_id not in published:
            # A class that could not be judged (no rule pack, say): its earlier rows go, its problems are
            # published (a reader sees what this run found).
            store.remove_class(outcome.class_id)
            store.write_class(outcome.class_id, outcome.institution_id or "_unknown", DEFAULT_TZ,
                              {"problems": problems_frame(outcome.problems, outcome.class_id)})
        if outcome.status == "failed" and outcome.class_id is None:
            store.write_class(f"unreadable:{Path(outcome.folder).name}", "_unreadable", DEFAULT_TZ,
                              {"problems": problems_frame(outcome.problems, None)},
                              key=unreadable_key(outcome.folder))
