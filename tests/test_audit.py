"""The orchestrator on small archives with real (generated) video: caching, reuse across classes, isolation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ClassWriter, make_clip
from pipeline.audit import audit_archive
from pipeline.outputs.store import read_table


@pytest.fixture(scope="module")
def copied_footage(tmp_path_factory) -> Path:
    """Two classes presenting byte-identical footage, plus a 0-byte and a text file posing as videos."""
    root = tmp_path_factory.mktemp("archive")
    a = ClassWriter(root / "a", "R-1").default()
    b = ClassWriter(root / "b", "R-2").default()
    make_clip(a.folder / "recordings" / "R201_20241008083000.mp4", 30, "testsrc")
    (b.folder / "recordings").mkdir()
    # the copy presented as the next day's lesson (a copy named for the same moment is one lesson filed in two
    # classes: CLASS_MERGED, tests/test_rules_recording.py)
    shutil.copy(a.folder / "recordings" / "R201_20241008083000.mp4", b.folder / "recordings" / "R201_20241009083000.mp4")
    (b.folder / "recordings" / "R201_20241008090000.mp4").write_bytes(b"")
    (b.folder / "recordings" / "R201_20241008100000.mp4").write_text("not a video\n")
    return root


def test_identical_files_in_two_classes_are_each_analysed_and_reported_as_reused(copied_footage: Path,
                                                                                  tmp_path: Path) -> None:
    for run in ("first", "cached"):  # the second run answers from the analysis cache
        out = tmp_path / "out"
        audit_archive(copied_footage, out, workers=1)
        recordings = read_table(out, "recordings").set_index(["class_id", "path"])
        good = recordings.loc[[("R-1", "recordings/R201_20241008083000.mp4"),
                               ("R-2", "recordings/R201_20241009083000.mp4")]]
        assert good["readable"].all(), run
        assert good["end"].notna().all(), run
        findings = read_table(out, "findings")
        reused = findings[findings.rule_id == "RECORDING_REUSED"]
        assert sorted(reused.class_id) == ["R-1", "R-2"], run


def test_broken_videos_are_findings_and_the_rest_is_audited(copied_footage: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    audit_archive(copied_footage, out, workers=1)
    recordings = read_table(out, "recordings")
    broken = recordings[(recordings.class_id == "R-2") & ~recordings.readable.astype(bool)]
    assert sorted(broken.path) == ["recordings/R201_20241008090000.mp4", "recordings/R201_20241008100000.mp4"]
    assert broken.error.str.contains("empty|not a video", regex=True).all()
    corrupt = read_table(out, "findings").query("rule_id == 'RECORDING_CORRUPT' and class_id == 'R-2'")
    assert set(corrupt.path) == set(broken.path)


def test_face_errors_survive_the_trip_to_a_worker_process() -> None:
    import pickle

    from pipeline.faces.errors import EnrollmentError
    from pipeline.faces.images import ImageReadError

    for error in (EnrollmentError("photos/a.jpg", "no face", "trainee:S001"), ImageReadError("x.jpg", "junk")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error) and back.path == error.path
