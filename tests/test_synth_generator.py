"""The class generator (tools.synth): determinism, formats as ARCHIVE.md describes them, truth sanity."""
import csv
import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from openpyxl import load_workbook

from pipeline.ingest.archive import load_class
from tools.synth.generate import build_suite, write_class
from tools.synth.oracle import truth
from tools.synth.scenarios import Identity
from tools.synth.scene import VideoParams, encode
from tools.synth.tables import write_tables

RULES_MD = Path(__file__).resolve().parents[1] / ".." / "shared" / "spec" / "RULES.md"


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    """Plain coloured images (no face needed for tables; the video falls back to the image centre)."""
    root = tmp_path_factory.mktemp("ids")
    rng = np.random.default_rng(0)
    out = []
    for i in range(24):
        d = root / f"p{i:02d}"
        d.mkdir()
        photos = []
        for j in range(3):
            img = np.full((60, 50, 3), rng.integers(0, 255, 3), np.uint8)
            cv2.imwrite(str(d / f"{j}.png"), img)
            photos.append(d / f"{j}.png")
        out.append(Identity(d.name, tuple(photos)))
    return out


def _tables_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_truth_and_bytes(identities, tmp_path):
    digests, truths = [], []
    for run in ("a", "b"):
        for w in build_suite(identities, seed=11, session_min=22.5):
            write_tables(w, tmp_path / run / w.class_id)
        digests.append(_tables_digest(tmp_path / run))
        truths.append([json.dumps(truth(w, 11), default=str, sort_keys=True)
                       for w in build_suite(identities, seed=11, session_min=22.5)])
    assert len(digests[0]) > 20 and digests[0] == digests[1]
    assert truths[0] == truths[1]
    other = [json.dumps(truth(w, 12), default=str, sort_keys=True) for w in build_suite(identities, 12, 22.5)]
    assert other != truths[0]


def test_video_bytes_are_deterministic(identities, tmp_path):
    w = build_suite(identities, seed=3, session_min=22.5, suite="video")[0]
    rec = replace(w.recordings[0], duration_s=12.0)
    vp = VideoParams(width_px=320, height_px=180, row_face_px=(12, 14, 16, 18), teacher_face_px=20)
    for name in ("a.mp4", "b.mp4"):
        encode(w, rec, tmp_path / name, vp, seed=3)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    cap = cv2.VideoCapture(str(tmp_path / "a.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12


def test_vendor_formats(identities, tmp_path):
    w = build_suite(identities, seed=5, session_min=22.5, suite="video")[0]
    folder = tmp_path / w.class_id
    write_tables(w, folder)
    zk = next((folder / "checkins").glob("ZKTime*.csv"))
    rows = list(csv.reader(io.StringIO(zk.read_bytes().decode("gb18030"))))
    assert rows[0][0] == "考勤记录表" and rows[2][:3] == ["部门", "姓名", "登记号码"]  # title rows above
    assert all(r[2].startswith("'") for r in rows[3:])  # apostrophe-prefixed ids
    assert len({tuple(r[1:4]) for r in rows[3:]}) < len(rows) - 3  # re-uploaded duplicates
    ws = load_workbook(next((folder / "checkins").glob("*.xlsx"))).active
    header = [c.value for c in next(ws.iter_rows(min_row=3, max_row=3))]
    assert header[:4] == ["姓名", "考勤组", "部门", "工号"] and "管理员修改备注" in header
    roster = list(csv.reader(io.StringIO((folder / "roster.csv").read_bytes().decode("gb18030"))))
    assert roster[0][:2] == ["学员编号", "姓名"]
    assert (folder / "photos").is_dir() and (folder / "documents").is_dir()


def test_ingest_reads_generated_tables_without_problems(identities, tmp_path):
    for w in build_suite(identities, seed=5, session_min=22.5):
        write_tables(w, tmp_path / w.class_id)
        arch = load_class(tmp_path / w.class_id, read_container_tags=False)
        assert arch is not None and not [p for p in arch.problems if p.level == "error"], arch.problems
        assert len(arch.trainees) == len(w.trainees())
        assert len(arch.checkins) == sum(1 for c in w.checkins if not c.duplicate)
        assert all(e.trainee_id for e in arch.checkins)  # every id matched (apostrophes, dropped zeros)


def test_every_rule_of_rules_md_is_planted(identities):
    if not RULES_MD.is_file():  # the spec sits beside the repository, as ../shared/data does
        pytest.skip(f"the rule catalogue is not at {RULES_MD}")
    rules = {line.split("|")[1].strip() for line in RULES_MD.read_text(encoding="utf-8").splitlines()
             if line.startswith("| ") and line.split("|")[1].strip().isupper()}
    assert len(rules) >= 25
    planted = {f["rule_id"] for w in build_suite(identities, 5, 22.5) for f in truth(w, 5)["findings"]}
    assert rules - planted == set()


def test_truth_observed_minutes_within_sessions(identities):
    w = build_suite(identities, seed=9, session_min=22.5, suite="video")[0]
    t = truth(w, 9)
    obs = [o for o in t["observed"] if o["observed_min"] is not None]
    assert obs and all(0 <= o["observed_min"] <= o["recorded_min"] + 1e-6 for o in obs)
    assert any(o["observed_min"] is None for o in t["observed"])  # the session without a recording
