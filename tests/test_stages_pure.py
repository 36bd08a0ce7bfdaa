"""The attendance stage and the rules open no file: run on the sample class's in-memory evidence with every
way of opening a file patched to fail, they give the same evidence, findings and snapshot requests as the
normal path, and the same findings the published sample audit holds. Frames and crops are only asked
for (written by outputs.publish)."""

from __future__ import annotations

import builtins
import io
import os
import pathlib
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from pipeline import attendance
from pipeline.audit import gallery_spec, pack_of, run_recordings
from pipeline.config import RulePacks, load_pipeline_config
from pipeline.ingest.archive import load_class
from pipeline.ingest.photos import photo_digests
from pipeline.outputs.report import read_table
from pipeline.outputs.store import class_key
from pipeline.recording_task import RecordingTask
from pipeline.rules.engine import evaluate, evaluate_archive

REPO = Path(__file__).resolve().parents[1]
CLASS = REPO / "sample_data" / "archive" / "TA2024-DG-017"


def _no_files(monkeypatch) -> list[str]:
    """Every way the stages could reach a file or a decoder raises (and is recorded)."""
    import av
    import cv2

    tried: list[str] = []

    def refuse(name):
        def fail(*args, **kwargs):
            tried.append(name)
            raise PermissionError(f"{name}: the attendance stage and the rules open no file")
        return fail

    for target, name in [(builtins, "open"), (io, "open"), (os, "open"), (subprocess, "run"), (subprocess, "Popen"),
                         (pathlib.Path, "open"), (pathlib.Path, "read_bytes"), (pathlib.Path, "read_text"),
                         (pathlib.Path, "write_bytes"), (pathlib.Path, "write_text"), (pathlib.Path, "mkdir"),
                         (cv2, "VideoCapture"), (cv2, "imread"), (cv2, "imwrite"), (cv2, "imdecode"), (av, "open")]:
        monkeypatch.setattr(target, name, refuse(f"{getattr(target, '__name__', target)}.{name}"))
    return tried


@pytest.fixture(scope="module")
def inputs(sample_audit):
    """The sample class read and its recordings analysed (from the sample audit's cache when it is there)."""
    config = load_pipeline_config()
    archive = load_class(CLASS, config.ingest)
    pack = pack_of(archive, RulePacks())
    tasks = [RecordingTask(archive.info.class_id, str(rec.path), config.video, config.faces,
                           gallery_spec(archive, config.ingest.limits.max_image_pixels),
                           str(sample_audit / ".trainaudit-cache"), True, recording_id=rec.recording_id)
             for rec in archive.recordings]
    analyses = run_recordings(tasks, None, lambda *a: None)
    assert len(analyses) >= 5 and sum(a.faces is not None for a in analyses) >= 4
    return config, archive, pack, analyses, photo_digests(archive), sample_audit


def _stages(config, archive, pack, analyses, digests, out: Path):
    evidence = attendance.build(archive, analyses, pack, config.faces, out / "evidence" / class_key(archive.info.class_id),
                                digests)
    judged = evaluate(evidence, pack, audit_date=pd.Timestamp("2026-01-01").date())
    cross = evaluate_archive([evidence], {archive.info.class_id: pack}, None)
    return evidence, judged, cross


def test_attendance_and_rules_run_without_opening_a_file(inputs, monkeypatch, tmp_path):
    config, archive, pack, analyses, digests, published = inputs
    normal = _stages(config, archive, pack, analyses, digests, tmp_path)
    tried = _no_files(monkeypatch)
    sealed = _stages(config, archive, pack, analyses, digests, tmp_path)
    monkeypatch.undo()
    assert tried == []
    (ev_a, judged_a, cross_a), (ev_b, judged_b, cross_b) = normal, sealed
    for name in ("recordings", "coverage", "headcount", "sightings", "presence", "blanks", "unknowns", "hours"):
        pd.testing.assert_frame_equal(getattr(ev_a, name), getattr(ev_b, name), obj=name)
    assert judged_a == judged_b and cross_a == cross_b
    assert len(judged_a.findings) >= 20 and judged_a.snapshots and ev_a.unknown_crops
    assert not any(r.target.exists() for r in judged_a.snapshots)  # asked for, not written

    # The same findings as the published audit of the sample (class rules, then cross-class rules).
    table = read_table(published, "findings")
    found = judged_a.findings + cross_a.findings
    assert sorted(f.finding_id for f in found) == sorted(table["finding_id"])
    shown = {fid: path if isinstance(path, str) else None for fid, path in zip(table["finding_id"], table["evidence_path"])}
    assert {f.finding_id: f.evidence_path for f in found} == shown


def test_the_check_itself_catches_a_file_being_read(monkeypatch, tmp_path):
    """A stage that read a file would be caught: the patched calls raise and are recorded."""
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"x")
    tried = _no_files(monkeypatch)
    with pytest.raises(PermissionError):
        photo.read_bytes()
    with pytest.raises(PermissionError):
        open(photo, "rb")
    monkeypatch.undo()
    assert tried == ["Path.read_bytes", "builtins.open"]
