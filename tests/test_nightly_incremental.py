"""Nightly at class and recording granularity: only changed classes are audited, the cross-class rules read
the other classes' stored views, unchanged recordings are neither probed nor hashed again, and after every
change the published tables equal a full `trainaudit audit` of the same archive, table by table."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import pipeline.analysis
import pipeline.video.probe
from conftest import ClassWriter
from pipeline.audit import audit_archive
from pipeline.crossclass import VIEWS_DIR
from pipeline.nightly import NightlyOptions, run_nightly
from test_nightly import A, B, C, SAME_INSTITUTION, tables
from test_nightly_video import clip

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")

D = "TA2024-DG-020"
CROSS = {"TEACHER_CONFLICT", "CLASS_MERGED", "RECORDING_REUSED", "IDENTITY_SHARED"}


def archive(root: Path) -> Path:
    """A and C: same institution, room, teacher and hours, and C's recording is a copy of A's (schedule and
    reuse findings across classes). D: other people enrolled with the same photos as A's (IDENTITY_SHARED);
    A, B, C enrol the same people (same ID numbers: not shared identities)."""
    for class_id, institution, pattern in ((A, SAME_INSTITUTION, "testsrc"), (B, "370900-0033", "smptebars"),
                                           (C, SAME_INSTITUTION, None), (D, "370900-0033", "rgbtestsrc")):
        writer = ClassWriter(root, class_id, institution).default()
        if pattern:
            clip(writer.folder / "recordings" / "R201_20241008083000.mp4", 12, pattern)
    (root / C / "recordings").mkdir()
    # the morning's footage filed again as C's afternoon: passed off as another time (reuse, not one lesson)
    shutil.copy(root / A / "recordings" / "R201_20241008083000.mp4", root / C / "recordings" / "R201_20241008133000.mp4")
    roster = root / D / "roster.csv"
    roster.write_bytes(roster.read_bytes().replace(b"370902199001011234", b"370902198801011111")
                       .replace("张三".encode("gb18030"), "孙七".encode("gb18030")))
    return root


def nightly(root: Path, out: Path, **options):
    return run_nightly(root, out, NightlyOptions(workers=1, **options))


def full_audit(root: Path, tmp_path: Path) -> Path:
    out = tmp_path / f"full-{time.monotonic_ns()}"
    audit_archive(root, out, workers=1)
    return out


def assert_equal_to_full(out: Path, root: Path, tmp_path: Path) -> dict:
    got, expected = tables(out), tables(full_audit(root, tmp_path))
    for name in expected:
        import pandas as pd

        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    return got


def stamps(out: Path, class_id: str) -> dict[str, tuple]:
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in out.glob(f"*/institution_id=*/{class_id}.parquet")}


def add_checkin(root: Path, class_id: str) -> Path:
    path = root / class_id / "checkins" / "zk.csv"
    path.write_bytes(path.read_bytes() + "培训部,王五,S003,2024-10-08 13:21:00,1,5,15,\n".encode("gb18030"))
    return path


@pytest.fixture
def counted(monkeypatch):
    """Counts ffprobe runs and video hashes of the in-process analysis (workers=1)."""
    calls = {"probe": [], "hash": []}
    probe, sha = pipeline.analysis.probe_recording, pipeline.video.probe.sha256_file

    def counting_probe(path, *args, **kwargs):
        calls["probe"].append(Path(path).parent.parent.name)
        return probe(path, *args, **kwargs)

    def counting_sha(path, *args, **kwargs):
        calls["hash"].append(Path(path).parent.parent.name)
        return sha(path, *args, **kwargs)

    monkeypatch.setattr(pipeline.analysis, "probe_recording", counting_probe)
    monkeypatch.setattr(pipeline.video.probe, "sha256_file", counting_sha)
    return calls


def test_incremental_nights_equal_a_full_audit_after_every_kind_of_change(tmp_path, counted):
    root, out = archive(tmp_path / "archive"), tmp_path / "out"
    first = nightly(root, out)
    assert sorted(first.audited) == [A, B, C, D]
    got = assert_equal_to_full(out, root, tmp_path)
    cross = got["findings"][got["findings"]["rule_id"].isin(CROSS)]
    assert set(cross["rule_id"]) == CROSS, "the archive must exercise every cross-class rule"
    assert set(cross[cross["rule_id"] == "IDENTITY_SHARED"]["class_id"]) == {A, B, C, D}  # D with each
    assert (out / VIEWS_DIR / f"{A}.view").exists()

    # One check-in file of B: only B is audited; B's video is neither probed nor hashed (its stamp is
    # unchanged), no other class's file is rewritten (their cross-class findings did not change).
    untouched = {cid: stamps(out, cid) for cid in (A, C, D)}
    counted["probe"].clear(), counted["hash"].clear()
    changed = add_checkin(root, B)
    second = nightly(root, out)
    assert second.audited == [B] and sorted(second.plan.unchanged) == [A, C, D]
    assert second.hashed_bytes == changed.stat().st_size
    assert counted["probe"] == [] and counted["hash"] == []
    assert second.cross_updated == []
    assert {cid: stamps(out, cid) for cid in (A, C, D)} == untouched
    assert second.reuse["pairs_compared"] < second.reuse["pairs_possible"]
    assert_equal_to_full(out, root, tmp_path)

    # C's recording replaced by other footage: A (unchanged) loses its RECORDING_REUSED finding; the new
    # video is probed and hashed once (by the manifest), the others not at all.
    counted["probe"].clear(), counted["hash"].clear()
    clip(root / C / "recordings" / "R201_20241008133000.mp4", 12, "mandelbrot")
    third = nightly(root, out)
    assert third.audited == [C] and third.cross_updated == [A]
    assert counted["probe"] == [C] and counted["hash"] == []
    got = assert_equal_to_full(out, root, tmp_path)
    assert "RECORDING_REUSED" not in set(got["findings"][got["findings"]["class_id"] == A]["rule_id"])

    # C removed: A's schedule findings and D's shared identities with C go too.
    shutil.rmtree(root / C)
    fourth = nightly(root, out)
    assert fourth.plan.vanished == [C] and fourth.audited == [] and fourth.cross_updated == [A, D]
    assert not (out / VIEWS_DIR / f"{C}.view").exists()
    assert_equal_to_full(out, root, tmp_path)
    assert nightly(root, out).plan.changed == {}


def test_an_unusable_stored_view_makes_its_class_audited_again(tmp_path):
    root, out = archive(tmp_path / "archive"), tmp_path / "out"
    nightly(root, out, analyse_video=False)
    view = out / VIEWS_DIR / f"{D}.view"
    view.write_bytes(view.read_bytes()[:-20] + b"damaged damaged dama")
    add_checkin(root, B)
    result = nightly(root, out, analyse_video=False)
    assert sorted(result.audited) == [B, D]  # its stamp no longer matches: redone, never trusted
    clean = tmp_path / "clean"
    nightly(root, clean, analyse_video=False)
    import pandas as pd

    got, expected = tables(out), tables(clean)
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)


def test_a_full_hash_on_schedule_reads_every_file_again(tmp_path):
    root, out = archive(tmp_path / "archive"), tmp_path / "out"
    config = tmp_path / "pipeline.yaml"
    config.write_text("version: 1\nrun:\n  rehash_every_days: 0.00001\n", encoding="utf-8")
    first = nightly(root, out, analyse_video=False, config_path=config)
    total = first.hashed_bytes
    assert total > 0
    time.sleep(1)
    assert nightly(root, out, analyse_video=False, config_path=config).hashed_bytes == total  # due
    time.sleep(0.01)
    plain = tmp_path / "never.yaml"
    plain.write_text("version: 1\nrun:\n  rehash_every_days: 0\n", encoding="utf-8")
    skipped = nightly(root, out, analyse_video=False, config_path=plain)
    assert skipped.hashed_bytes == 0 and not skipped.full_hash
    assert skipped.plan.changed == {}  # the period is not an output setting: nothing is redone
    forced = nightly(root, out, analyse_video=False, config_path=plain, rehash=True)
    assert forced.hashed_bytes == total and forced.full_hash and forced.plan.changed == {}


def test_the_report_rebuilds_only_the_pages_of_what_changed(tmp_path):
    from pipeline.cli.nightly import _report
    from pipeline.outputs.report import build_report

    root, out = archive(tmp_path / "archive"), tmp_path / "out"
    nightly(root, out, analyse_video=False)
    build_report(out, "zh")
    pages = {p.name: p.stat().st_mtime_ns for p in (out / "report").glob("*.html")}
    add_checkin(root, B)
    time.sleep(0.01)
    result = nightly(root, out, analyse_video=False)
    _report(result, out, "zh")
    rewritten = {p.name for p in (out / "report").glob("*.html") if p.stat().st_mtime_ns != pages.get(p.name)}
    assert rewritten and {n.split("__")[0].removesuffix(".html") for n in rewritten} == {B, "index"}
    incremental = (out / "report" / f"{B}.html").read_text(encoding="utf-8")
    build_report(out, "zh")  # a full rebuild writes the same page (but for the time it was generated)
    full = (out / "report" / f"{B}.html").read_text(encoding="utf-8")
    import re

    generated = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d \(")
    assert generated.sub("", incremental) == generated.sub("", full)

    shutil.rmtree(root / D)
    result = nightly(root, out, analyse_video=False)
    _report(result, out, "zh")
    assert not list((out / "report").glob(f"{D}*.html"))
