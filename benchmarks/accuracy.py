"""End-to-end accuracy: generate classes with known truth, audit them, score the findings.

    .venv/bin/python benchmarks/accuracy.py [--session-min 45] [--seed 7] [--work DIR] [--skip-generate]

Identities come from ../shared/data (dlib johns, deepface clusters, face_recognition knn examples; several
photos per person: one enrolls, the others are pasted into the video). Nothing generated here may be
copied into the repo: the work folder defaults to a temporary directory. Prints the per-rule table and
writes benchmarks/results/accuracy.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.outputs.store import read_table  # noqa: E402
from pipeline.synth.generate import generate  # noqa: E402
from pipeline.synth.scoring import observed_errors, score_findings  # noqa: E402

SHARED = ROOT / ".." / "shared" / "data"


def link_identities(dest: Path) -> Path:
    """DEST/<identity>/<photo> symlinks into ../shared/data (no copies)."""
    dest.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[Path]] = {}
    for d in sorted((SHARED / "dlib" / "examples" / "johns").iterdir()):
        groups[d.name] = sorted(d.glob("*.jpg"))
    for d in sorted((SHARED / "face_recognition" / "examples" / "knn_examples" / "train").iterdir()):
        groups["knn_" + d.name] = sorted(p for p in d.iterdir() if p.is_file())
    with open(SHARED / "deepface" / "deepface_identity_clusters.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            p = SHARED / "deepface" / "tests" / "unit" / "dataset" / row["file"].strip()
            if p.is_file():
                groups.setdefault(row["identity"].strip(), []).append(p)
    for name, photos in groups.items():
        (dest / name).mkdir(exist_ok=True)
        for p in photos:
            link = dest / name / p.name
            if not link.exists():
                link.symlink_to(p.resolve())
    return dest


def score_run(gen: Path, out: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    findings, hours, heads = read_table(out, "findings"), read_table(out, "trainee_hours"), read_table(out, "headcount")
    rule_rows, obs_rows, head_rows = [], [], []
    for tf in sorted((gen / "truth").glob("*.json")):
        truth = json.loads(tf.read_text(encoding="utf-8"))
        cid = truth["class_id"]
        f = findings[findings["class_id"] == cid] if len(findings) else findings
        for s in score_findings(truth, f):
            rule_rows.append({"class_id": cid, **s.__dict__})
        th = hours[hours["class_id"] == cid] if len(hours) else pd.DataFrame(columns=["trainee_id", "session_id",
                                                                                      "observed_min"])
        e = observed_errors(truth, th)
        if len(e):
            obs_rows.append(e.assign(class_id=cid))
        for hc in truth["headcount"]:
            got = heads[(heads["class_id"] == cid) & (heads["session_id"] == hc["session_id"])] if len(heads) else heads
            # what HEADCOUNT_MISMATCH judges: the robust per-window count, teachers excluded (as in the truth)
            people = got["people_smoothed"] if len(got) else None
            head_rows.append({"class_id": cid, "session_id": hc["session_id"], "true_median": hc["median"],
                              "audited_median": float(people.median()) if len(got) else None,
                              "audited_identified_median": float(got["identified"].median()) if len(got) else None})
    return (pd.DataFrame(rule_rows), pd.concat(obs_rows, ignore_index=True) if obs_rows else pd.DataFrame(),
            pd.DataFrame(head_rows))


def markdown(df: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs tabulate, which the project does not depend on)."""
    if df.empty:
        return "(none)"
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    rows = [" | ".join(map(str, df.columns)), " | ".join("---" for _ in df.columns)]
    rows += [" | ".join(fmt(v) for v in r) for r in df.itertuples(index=False)]
    return "\n".join(f"| {r} |" for r in rows)


def summarise(rules: pd.DataFrame) -> pd.DataFrame:
    g = rules.groupby("rule_id")[["expected", "found", "true_pos", "false_pos", "ignored"]].sum().reset_index()
    g["recall"] = (g["true_pos"] / g["expected"]).where(g["expected"] > 0)
    g["precision"] = ((g["found"] - g["false_pos"]) / g["found"]).where(g["found"] > 0)
    return g


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--session-min", type=float, default=45)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--skip-generate", action="store_true")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="trainaudit-accuracy-"))
    gen, out = work / "gen", work / "audit"
    t0 = time.perf_counter()
    if not a.skip_generate:
        generate(link_identities(work / "identities"), gen, a.seed, a.session_min)
    t_gen = time.perf_counter() - t0
    subprocess.run([str(ROOT / ".venv" / "bin" / "trainaudit"), "audit", str(gen / "archive"), "--out", str(out),
                    "--workers", str(a.workers), "--no-report"], check=False)
    t_audit = time.perf_counter() - t0 - t_gen
    rules, obs, heads = score_run(gen, out)
    table = summarise(rules)
    tp, exp = table["true_pos"].sum(), table["expected"].sum()
    found, fp = table["found"].sum(), table["false_pos"].sum()
    mae = float(obs["abs_error_min"].mean()) if len(obs) else float("nan")
    heads["abs_error"] = (heads["audited_median"] - heads["true_median"]).abs()
    lines = [f"# End-to-end accuracy (seed {a.seed}, sessions of {a.session_min:g} min)", "",
             f"generate {t_gen:.0f} s, audit {t_audit:.0f} s, {len(rules['class_id'].unique())} classes", "",
             f"**findings recall {tp / exp:.3f} ({tp}/{exp}), precision {(found - fp) / max(found, 1):.3f} "
             f"({found - fp}/{found}); ignored (near-threshold or not judged) {table['ignored'].sum()}**", "",
             f"**observed minutes MAE {mae:.2f} min over {len(obs)} trainee-sessions; headcount median abs error "
             f"{heads['abs_error'].mean():.2f} people over {len(heads)} sessions**", "",
             markdown(table), "", "## Headcount per session", "",
             markdown(heads), "",
             "audited: the median of `headcount.people_smoothed` (the per-window count HEADCOUNT_MISMATCH "
             "judges). A session with nobody in the room (true 0) whose recording is another session's footage "
             "(RECORDING_REUSED) shows that session's people: the audit counts what the video shows. A session "
             "covered for most of its recording counts 0 there (the truth counts usable time only; the rule "
             "needs 5 usable minutes).", "",
             "## Worst observed-minute errors", "",
             markdown(obs.sort_values("abs_error_min", ascending=False).head(15)) if len(obs) else "(none)"]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "accuracy.md").write_text(text, encoding="utf-8")
    print(f"work folder: {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
