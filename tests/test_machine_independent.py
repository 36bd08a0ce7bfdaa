"""One archive audited from two places gives the same findings, finding ids and tables: a recording is
known by its recording_id (its path within the class folder), never by where the archive is mounted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from pipeline.outputs.report import read_table
from pipeline.outputs.schemas import TABLES

REPO = Path(__file__).resolve().parents[1]
# Where the archive's location may show: the class folder as found (classes.folder); runs are run metadata.
LOCATION_COLUMNS = {"classes": ["folder"]}


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    found = {}
    for name in TABLES:
        if name == "runs":
            continue
        frame = read_table(out, name).drop(columns=LOCATION_COLUMNS.get(name, []))
        found[name] = frame.astype(str).sort_values(list(frame.columns)).reset_index(drop=True)
    return found


def test_the_same_archive_from_another_folder_gives_the_same_findings_and_tables(sample_audit, tmp_path):
    moved = tmp_path / "elsewhere" / "mounted archive"  # another depth, a space in the name
    shutil.copytree(REPO / "sample_data" / "archive", moved)
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "pipeline", "audit", str(moved), "--out", str(out), "--no-report"],
                         cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert run.returncode in (0, 3), run.stderr[-3000:]

    here, there = read_table(sample_audit, "findings"), read_table(out, "findings")
    assert len(here) >= 20  # the sample class's findings (its truth file lists them), not an empty run
    assert sorted(here["finding_id"]) == sorted(there["finding_id"])
    for path in [*here["path"].dropna(), *there["path"].dropna()]:
        assert not Path(path).is_absolute() and "\\" not in path, path
    text = json.dumps(there.astype(str).to_dict("records"), ensure_ascii=False)
    assert str(moved) not in text and str(REPO) not in text

    a, b = _tables(sample_audit), _tables(out)
    assert sum(len(t) for t in a.values()) > 1000
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    assert read_table(sample_audit, "classes")["folder"].iloc[0] != read_table(out, "classes")["folder"].iloc[0]
    snapshots = {p.relative_to(sample_audit / "evidence") for p in (sample_audit / "evidence").rglob("*.jpg")}
    assert snapshots and snapshots == {p.relative_to(out / "evidence") for p in (out / "evidence").rglob("*.jpg")}
