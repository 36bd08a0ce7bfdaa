"""End-to-end accuracy: generate classes with known truth, audit them, score the findings.

    .venv/bin/python benchmarks/accuracy.py [--session-min 45] [--seed 7] [--work DIR] [--skip-generate]
    .venv/bin/python benchmarks/accuracy.py --identities dev [--suite video] [--row-face-px 30,38,48,60]

Identities come from ../shared/data. `mixed` (default): dlib johns, deepface clusters, face_recognition knn
examples; several photos per person: one enrolls, the others are pasted into the video. `dev`:
identities_dev (LFW, real people): the `_0001` photo is the roster photo and a different real photo of the
person is pasted in each session, so trainees look as different across sessions as real people do; the
stranger (U1) is another real person, and the planted proxy check-in (a trainee checked in for a session
they missed) stands next to them. Nothing generated here may be copied into the repo: the work folder
defaults to a temporary directory. Prints the per-rule table and writes benchmarks/results/accuracy.md
(mixed) or accuracy_real.md (dev), with the false accusations (ATTENDANCE_PROXY, UNKNOWN_PERSON) and
observed-minute errors by face size (the seat row's face width: the difficulty).
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
from tools.synth.scoring import observed_errors, score_findings  # noqa: E402

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


def link_identities_dev(dest: Path) -> Path:
    """DEST/<person>/<photos> symlinks to identities_dev's enrolled people (no copies); `_0001` sorts
    first and is the enrollment photo."""
    dest.mkdir(parents=True, exist_ok=True)
    with open(SHARED / "identities_dev" / "labels.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["role"] not in ("enroll", "probe"):
                continue
            src = SHARED / "identities_dev" / row["path"]
            (dest / row["identity"]).mkdir(exist_ok=True)
            link = dest / row["identity"] / src.name
            if not link.exists():
                link.symlink_to(src.resolve())
    return dest


def face_px_of(worlds, video) -> dict[tuple[str, str], int]:
    """(trainee_id, session_id) -> the face width of the seat the trainee sits in that session."""
    from tools.synth.scene import seat_of, seat_xy

    out = {}
    for w in worlds:
        for (key, sid) in w.presence:
            if key in w.seats:
                out[(key, sid)] = seat_xy(video, seat_of(w, key, sid, video))[2]
    return out


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


def accusations(findings: pd.DataFrame, truth_dir: Path) -> pd.DataFrame:
    """ATTENDANCE_PROXY and UNKNOWN_PERSON findings that no planted problem explains (false accusations)."""
    rows = []
    for tf in sorted(truth_dir.glob("*.json")):
        truth = json.loads(tf.read_text(encoding="utf-8"))
        f = findings[(findings["class_id"] == truth["class_id"])] if len(findings) else findings
        for rule in ("ATTENDANCE_PROXY", "UNKNOWN_PERSON"):
            got = f[f["rule_id"] == rule] if len(f) else f
            score = next((x for x in score_findings(truth, got) if x.rule_id == rule), None)
            rows.append({"class_id": truth["class_id"], "rule_id": rule, "found": len(got),
                         "false": score.false_pos if score else 0, "expected": score.expected if score else 0,
                         "true_pos": score.true_pos if score else 0})
    return pd.DataFrame(rows)


def main() -> int:
    from dataclasses import replace

    from tools.synth.generate import build_suite, load_identities, write_class
    from tools.synth.scene import VideoParams

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--session-min", type=float, default=45)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--skip-generate", action="store_true")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--identities", choices=("mixed", "dev"), default="mixed")
    ap.add_argument("--suite", choices=("full", "video"), default="full")
    ap.add_argument("--row-face-px", default="30,38,48,60", help="face widths per seat row, back to front")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="trainaudit-accuracy-"))
    gen, out = work / "gen", work / "audit"
    video = replace(VideoParams(), row_face_px=tuple(int(v) for v in a.row_face_px.split(",")))
    dev = a.identities == "dev"
    ids = link_identities_dev(work / "identities_dev") if dev else link_identities(work / "identities")
    worlds = build_suite(load_identities(ids), a.seed, a.session_min, a.suite, enroll_first=dev)
    t0, c0 = time.perf_counter(), time.process_time()
    if not a.skip_generate:
        for w in worlds:
            write_class(w, gen, a.seed, video)
    t_gen, c_gen = time.perf_counter() - t0, time.process_time() - c0
    import resource

    def children_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    c1 = children_cpu()
    subprocess.run([str(ROOT / ".venv" / "bin" / "trainaudit"), "audit", str(gen / "archive"), "--out", str(out),
                    "--workers", str(a.workers), "--no-report"], check=False)
    t_audit, c_audit = time.perf_counter() - t0 - t_gen, children_cpu() - c1
    rules, obs, heads = score_run(gen, out)
    table = summarise(rules)
    tp, exp = table["true_pos"].sum(), table["expected"].sum()
    found, fp = table["found"].sum(), table["false_pos"].sum()
    mae = float(obs["abs_error_min"].mean()) if len(obs) else float("nan")
    heads["abs_error"] = (heads["audited_median"] - heads["true_median"]).abs()
    findings = read_table(out, "findings")
    acc = accusations(findings, gen / "truth")
    problems = read_table(out, "problems")
    not_judged = problems[problems["message"].astype(str).str.startswith("could not judge")] if len(problems) else problems
    px = face_px_of(worlds, video)
    if len(obs):
        obs["face_px"] = [px.get((str(t), str(s))) for t, s in zip(obs["trainee_id"], obs["session_id"])]
    by_px = (obs.groupby("face_px")["abs_error_min"].agg(["count", "mean", "max"]).reset_index()
             .rename(columns={"count": "trainee_sessions", "mean": "mae_min", "max": "max_error_min"})
             if len(obs) else pd.DataFrame())
    false_acc = int(acc["false"].sum()) if len(acc) else 0
    title = "real-photo trainees (identities_dev)" if dev else "mixed identity photos"
    lines = [f"# End-to-end accuracy, {title} (seed {a.seed}, sessions of {a.session_min:g} min, faces "
             f"{a.row_face_px} px by seat row)", "",
             f"generate {t_gen:.0f} s wall / {c_gen:.0f} s CPU (without ffmpeg), audit {t_audit:.0f} s wall / "
             f"{c_audit:.0f} s CPU (shared 2-core VM), {len(rules['class_id'].unique())} classes", "",
             f"**false accusations (ATTENDANCE_PROXY or UNKNOWN_PERSON no planted problem explains): {false_acc}; "
             f"could-not-judge warnings: {len(not_judged)}**", "",
             f"**findings recall {tp / exp:.3f} ({tp}/{exp}), precision {(found - fp) / max(found, 1):.3f} "
             f"({found - fp}/{found}); ignored (near-threshold or not judged) {table['ignored'].sum()}**", "",
             f"**observed minutes MAE {mae:.2f} min over {len(obs)} trainee-sessions; headcount median abs error "
             f"{heads['abs_error'].mean():.2f} people over {len(heads)} sessions**", "",
             "## False accusations (hard negatives: a stranger in the room, a proxy check-in)", "",
             markdown(acc), "",
             "## Observed minutes by face size (the seat row's face width)", "", markdown(by_px), "",
             "## Could not judge (warnings in the problems table)", "",
             markdown(not_judged[["message"]].head(20)) if len(not_judged) else "(none)", "",
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
    name = "accuracy_real.md" if dev else "accuracy.md"
    (ROOT / "benchmarks" / "results" / name).write_text(text, encoding="utf-8")
    print(f"work folder: {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
