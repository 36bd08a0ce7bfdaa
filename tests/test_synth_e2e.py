"""End-to-end: generate one small class from ../shared/data identities, audit it, score it against truth.

Slow (a few minutes of video through the real detector), so marked `slow`; it still runs in CI. Floors are
below the measured figures (benchmarks/results/accuracy.md) by a margin for sampling noise; the issue's
targets (recall 0.95, precision 0.90, MAE 3 min) are checked by the benchmark, over the full suite.
"""
from pathlib import Path

import pytest

from tools.synth.generate import generate
from tools.synth.scoring import observed_errors, score_findings, totals

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"

# Floors on this class (8 trainees, 15-minute sessions, seed 5), measured 2026-11-28 on the 2-core dev box:
# recall 1.00, precision 1.00, observed-minutes MAE 0.09 min (2026-11-27: precision 0.65, MAE 1.37, before
# the relaxed match with a margin recognised small faces that drift past the threshold, shared-face
# trainees were credited together, and short recordings stopped being judged for ATTENDANCE_ABSENT).
# The floors leave room for sampling noise; benchmarks/accuracy.py prints the per-rule table.
RECALL_FLOOR = 0.90
PRECISION_FLOOR = 0.85
MAE_FLOOR_MIN = 1.0


@pytest.mark.slow
def test_generated_class_audit_scores_above_floors(tmp_path):
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not here")
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from accuracy import link_identities

    from pipeline.audit import audit_archive
    from pipeline.outputs.store import read_table

    ids = link_identities(tmp_path / "ids")
    assert len(list(ids.iterdir())) >= 16
    gen = tmp_path / "gen"
    folders = generate(ids, gen, seed=5, session_min=15, suite="video", n_trainees=8)
    assert len(folders) == 1
    out = tmp_path / "out"
    audit_archive(gen / "archive", out)
    import json

    truth = json.loads(next((gen / "truth").glob("*.json")).read_text(encoding="utf-8"))
    findings = read_table(out, "findings")
    assert len(findings), "the audit wrote no findings"
    t = totals(score_findings(truth, findings))
    errors = observed_errors(truth, read_table(out, "trainee_hours"))
    print(f"recall {t.recall:.3f} precision {t.precision:.3f} MAE {errors['abs_error_min'].mean():.2f}")
    assert t.recall >= RECALL_FLOOR, t
    assert t.precision >= PRECISION_FLOOR, t
    assert errors["abs_error_min"].mean() <= MAE_FLOOR_MIN
