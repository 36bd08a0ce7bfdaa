"""Recognition on the identity sets of ../shared/data: top-1 accuracy and non-enrolled acceptance.

First, the calibration set identities_dev (benchmarks/identities_dev.py): 150 people with one enrollment
photo each, 740 other photos of them, 200 strangers; both encoders (SFace, dlib) from the same run, at full
size and with the probes shrunk to 40 and 30 px; thresholds that accept at most 1% of strangers, the relaxed
rule, pair distances for same_face_max_distance and cluster_threshold, and each encoder's CPU per face.

Then the small sets (dlib encoder, history of the dlib defaults): dlib johns (5 people x 11 chips), deepface clusters (deepface_identity_clusters.csv), and the
face_recognition knn/example photos (obama, biden, alex lacamoire, kit harington, rose leslie, ...),
pooled into one gallery (byte-identical files counted once). Protocol, for each threshold:
- top-1 (enrolled people): leave-one-photo-out. Each photo of a person with >= 2 photos is a probe against
  the gallery of all other photos; correct if the nearest person is right and within the threshold.
- non-enrolled acceptance: leave-one-person-out. Every photo of a person is a probe against the gallery
  without that person; a false accept if anyone is within the threshold.
Both landmark modes are compared. Then, for the default settings, the relaxed rule (Gallery.assign: the
nearest person up to a relaxed threshold when everyone else is a margin farther), on the photos as they are
and on probes shrunk to a classroom face size (the gallery stays full size, as enrollment photos are).
Writes benchmarks/results/faces_recognition.md.

    .venv/bin/python benchmarks/bench_faces_recognition.py [--limit N] [--skip-small-sets]
"""
from __future__ import annotations

import argparse
import csv
import hashlib
from pathlib import Path
import sys
import time

import numpy as np

import cv2

from pipeline.faces import adapter
from pipeline.faces.errors import EnrollmentError
from pipeline.faces.gallery import encode_photo, subject_face
from pipeline.faces.images import read_image
from pipeline.faces.params import FaceParams

sys.path.insert(0, str(Path(__file__).resolve().parent))
import identities_dev as idv  # noqa: E402  (the calibration set's loader, beside this script)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "faces_recognition.md"
THRESHOLDS = [0.35, 0.4, 0.42, 0.44, 0.46, 0.48, 0.5, 0.52, 0.55, 0.6]
RELAXED = [(0.6, 0.0), (0.6, 0.05), (0.6, 0.1), (0.62, 0.1), (0.65, 0.1), (0.65, 0.15)]
SMALL_FACE_PX = (40, 30)
KNN_TEST = {"alex_lacamoire1.jpg": "alex_lacamoire", "johnsnow_test1.jpg": "kit_harington", "obama1.jpg": "obama"}
FR_EXTRA = {"examples/obama-240p.jpg": "obama", "examples/obama-480p.jpg": "obama",
            "examples/obama_small.jpg": "obama", "tests/test_images/obama_partial_face.jpg": "obama",
            "examples/alex-lacamoire.png": "alex_lacamoire", "examples/lin-manuel-miranda.png": "lin_manuel_miranda"}


def identity_photos(data: Path) -> dict[str, tuple[str, list[Path]]]:
    """{identity: (set name, photos)}."""
    sets: dict[str, tuple[str, list[Path]]] = {}

    def add(set_name: str, identity: str, path: Path) -> None:
        if path.is_file():
            sets.setdefault(f"{set_name}:{identity}", (set_name, []))[1].append(path)

    for person in sorted((data / "dlib/examples/johns").iterdir()):
        for p in sorted(person.glob("*.jpg")):
            add("johns", person.name, p)
    with open(data / "deepface/deepface_identity_clusters.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            add("deepface", row["identity"], data / "deepface/tests/unit/dataset" / row["file"])
    knn = data / "face_recognition/examples/knn_examples"
    for person in sorted((knn / "train").iterdir()):
        for p in sorted(person.iterdir()):
            add("face_recognition", person.name, p)
    for name, who in KNN_TEST.items():
        add("face_recognition", who, knn / "test" / name)
    for rel, who in FR_EXTRA.items():
        add("face_recognition", who, data / "face_recognition" / rel)
    return sets


def encode_all(sets, params):
    seen, enc, owner, set_of, skipped = set(), [], [], [], []
    names = sorted(sets)
    for k, name in enumerate(names):
        for path in sets[name][1]:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            try:
                enc.append(encode_photo(path, params))
            except EnrollmentError as exc:
                skipped.append(f"{path.relative_to(DATA)}: {exc.found}")
                continue
            owner.append(k)
            set_of.append(sets[name][0])
    return names, np.asarray(enc), np.asarray(owner), np.asarray(set_of), skipped


def encode_small(path: Path, params: FaceParams, face_px: int) -> np.ndarray | None:
    """The photo's face shrunk to `face_px` wide on a plain canvas, detected and encoded again as a video
    face would be (None if the detector no longer finds it)."""
    image = read_image(path)
    dets = adapter.detect_faces(image, params)
    pick = subject_face(dets, image.shape, params) if len(dets) else None
    if pick is None:
        return None
    face = idv.shrink(image, dets.filter(np.arange(len(dets)) == pick), face_px, params)
    return None if face is None else adapter.encode_faces(face.image, face.dets, params)[0]


def per_person_distances(probes, gallery, owner, probe_owner):
    """(probes, people): each probe's distance to each person's nearest photo, itself excluded."""
    d = np.linalg.norm(probes[:, None] - gallery[None], axis=2)
    if probes is gallery:
        np.fill_diagonal(d, np.inf)
    people = owner.max() + 1
    out = np.full((len(probes), people), np.inf)
    for k in range(people):
        out[:, k] = d[:, owner == k].min(axis=1)
    return out


def evaluate_relaxed(per_person, probe_owner, strict: float, rules):
    """(relaxed, margin, genuine accepted, genuine probes, strangers accepted, stranger probes).
    Genuine: the probe's own person is accepted (strictly, or as the nearest person within `relaxed` with
    everyone else `margin` farther). Stranger: the probe's person left out, anyone accepted."""
    idx = np.arange(len(per_person))
    own = per_person[idx, probe_owner]
    others = per_person.copy()
    others[idx, probe_owner] = np.inf
    o_sorted = np.sort(others, axis=1)
    has_own = np.isfinite(own)
    rows = []
    for relaxed, margin in rules:
        genuine = (own <= strict) | ((own <= relaxed) & (o_sorted[:, 0] - own >= margin))
        stranger = (o_sorted[:, 0] <= strict) | ((o_sorted[:, 0] <= relaxed) & (o_sorted[:, 1] - o_sorted[:, 0] >= margin))
        rows.append((relaxed, margin, genuine[has_own].mean(), int(has_own.sum()), stranger.mean(), len(own)))
    return rows


def evaluate(enc, owner, thresholds):
    d = np.linalg.norm(enc[:, None] - enc[None], axis=2)
    np.fill_diagonal(d, np.inf)
    n_people = owner.max() + 1
    per_person = np.full((len(enc), n_people), np.inf)
    for k in range(n_people):
        if (owner == k).any():
            per_person[:, k] = d[:, owner == k].min(axis=1)
    has_other = np.isfinite(per_person[np.arange(len(enc)), owner])
    nearest = per_person.argmin(axis=1)
    nearest_d = per_person.min(axis=1)
    impostor = per_person.copy()
    impostor[np.arange(len(enc)), owner] = np.inf
    impostor_d = impostor.min(axis=1)
    rows = []
    for t in thresholds:
        top1 = ((nearest == owner) & (nearest_d <= t))[has_other]
        rows.append((t, top1.mean(), int(has_other.sum()), (impostor_d <= t).mean(), len(enc)))
    closed = (nearest == owner)[has_other].mean()
    return rows, closed


def identities_dev_section(limit: int | None) -> list[str]:
    base = FaceParams()
    data = idv.load(DATA / "identities_dev", base, limit)
    rows = data["rows"]
    roles = np.array([r["role"] for r in rows])
    how = np.array(data["how"])
    multi = data.get("multi", [])
    lines = ["## identities_dev: one enrollment photo per person, both encoders (same run, same faces)\n",
             f"{(roles == 'enroll').sum()} enrolled people (one photo each), {(roles == 'probe').sum()} other photos "
             f"of them (probes), {(roles == 'stranger').sum()} strangers. Face used: the subject "
             f"(gallery.subject_face) in {(how == 'subject').sum()} photos, only the face nearest the centre "
             f"(several faces, none clearly the subject) in {(how == 'centre').sum()}, no face in "
             f"{(how == 'none').sum()}. Detection once for all: {data['detect_wall_s']:.0f} s wall, "
             f"{data['detect_cpu_s']:.0f} s CPU (2-core shared VM, one thread). Probes and strangers shrunk to 40 "
             "and 30 px face width on a grey canvas and detected again; the gallery stays full size. top-1: the "
             "nearest person is right and within the threshold, over all probes (a face no longer found is a "
             "miss); strangers: accepted if anyone is within the threshold. Threshold: the largest on the grid "
             f"that accepts at most {idv.MAX_STRANGERS:.0%} of strangers at every size.\n"]
    summary = ["| encoder | threshold | size | probes found | top-1 | genuine accepted | strangers accepted | "
               "closed-set top-1 | threshold for <= 1% strangers at this size alone |",
               "|---|---|---|---|---|---|---|---|---|"]
    details, relaxed_lines, pair_lines, cost_lines = [], [], [], []
    for encoder in ("sface", "dlib"):
        params = base.replace(encoder=encoder)
        grid = idv.GRIDS[encoder]
        results, cost = idv.evaluate(data, params, grid)
        t = idv.pick_threshold(results, grid)
        k = int(np.flatnonzero(grid == t)[0])
        for size, r in results.items():
            alone = idv.pick_threshold({size: r}, grid)
            summary.append(f"| {encoder} | {t:.2f} | {size} | {r.probes_found}/{r.probes} | {r.top1[k]:.3f} | "
                           f"{r.genuine[k]:.3f} | {r.strangers_acc[k]:.3f} ({int(round(r.strangers_acc[k] * r.strangers))}"
                           f"/{r.strangers}) | {r.closed_top1:.3f} | {alone:.2f} |")
        details += [f"\n### {encoder}: by threshold\n",
                    "| threshold | " + " | ".join(f"top-1 {s} | strangers {s}" for s in idv.SIZES) + " |",
                    "|---|" + "---|---|" * len(idv.SIZES)]
        for j, g in enumerate(grid):
            if j % 2 == 0 or g == t:
                details.append(f"| {g:.2f}{' (chosen)' if g == t else ''} | " + " | ".join(
                    f"{results[s].top1[j]:.3f} | {results[s].strangers_acc[j]:.3f}" for s in idv.SIZES) + " |")
        for dr, margin in idv.RELAXED[encoder]:
            cells = [idv.relaxed_rates(results[s], t, t + dr, margin) for s in idv.SIZES]
            relaxed_lines.append(f"| {encoder} | {t:.2f} | {t + dr:.2f} | {margin:.2f} | " + " | ".join(
                f"{a:.3f} / {g:.3f} / {f:.3f}" for a, g, f in cells) + " |")
        pairs = idv.pair_stats(data, cost, grid)
        same, diff, diff_all = pairs["same"], pairs["diff"], pairs["diff_all"]
        for q in (0.0, 0.001):
            cut = np.quantile(diff, q) if q else diff.min()
            pair_lines.append(f"| {encoder} | different people (enrollment x enrollment and x strangers), "
                              f"{'nearest pair' if not q else '0.1% quantile'} | {cut:.3f} | same-person pairs "
                              f"below it: {(same < cut).mean():.3f} |")
        cut = np.quantile(diff_all, 0.001)
        pair_lines.append(f"| {encoder} | different people incl. stranger x stranger, 0.1% quantile | {cut:.3f} | "
                          f"same-person pairs below it: {(same < cut).mean():.3f} |")
        pair_lines.append(f"| {encoder} | same person (enrollment x other photo): median / 90% / 99% | "
                          f"{np.median(same):.3f} / {np.quantile(same, 0.9):.3f} / {np.quantile(same, 0.99):.3f} | |")
        cost_lines.append(f"| {encoder} | {cost['faces']} | {cost['cpu_s']:.1f} | {cost['cpu_s'] / cost['faces'] * 1000:.1f} |")
    lines += summary + details
    lines += ["\n### Relaxed rule (Gallery.assign)\n",
              "A face beyond the threshold is still its nearest person when within `relaxed` and everyone else is "
              "`margin` farther. Cells: top-1 / genuine accepted / strangers accepted.\n",
              "| encoder | strict | relaxed | margin | " + " | ".join(str(s) for s in idv.SIZES) + " |",
              "|---|---|---|---|" + "---|" * len(idv.SIZES)] + relaxed_lines
    lines += ["\n### Pair distances (same_face_max_distance, cluster_threshold)\n",
              "| encoder | pairs | distance | |", "|---|---|---|---|"] + pair_lines
    lines += ["\n### Encoder cost (same run, same faces, one thread)\n",
              "| encoder | faces encoded | CPU s | CPU ms per face (align/chip + network) |", "|---|---|---|---|"]
    lines += cost_lines + [""]
    print("\n".join(lines), flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="identities_dev: first N people and N strangers (a "
                                                            "quick check; the results file needs the full set)")
    ap.add_argument("--skip-small-sets", action="store_true")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    head = identities_dev_section(args.limit)
    if args.limit:
        return
    if args.skip_small_sets:
        OUT.write_text("# Face recognition on the identity sets of ../shared/data\n\n" + "\n".join(head) + "\n")
        print(f"wrote {OUT}")
        return
    sets = identity_photos(DATA)
    assert sets, f"no identity photos under {DATA}"
    lines = ["# Face recognition on the identity sets of ../shared/data\n", *head,
             "## Small sets (dlib encoder): johns, deepface clusters, face_recognition photos\n",
             "Gallery pooled over johns, deepface clusters and face_recognition photos (byte-identical files once). "
             "top-1: leave-one-photo-out over people with >= 2 photos, correct = nearest person right AND within "
             "the threshold. non-enrolled accepted: leave-one-person-out, a probe is accepted if anyone else is "
             "within the threshold.\n"]
    for mode in ("dlib5_on_box", "yunet5"):
        params = FaceParams(encoder="dlib", landmark_mode=mode)
        t0 = time.perf_counter()
        names, enc, owner, set_of, skipped = encode_all(sets, params)
        secs = time.perf_counter() - t0
        rows, closed = evaluate(enc, owner, THRESHOLDS)
        lines += [f"### landmark_mode = {mode}\n",
                  f"{len(enc)} photos of {len(set(owner))} people encoded in {secs:.1f} s (detect + encode); "
                  f"closed-set top-1 (no threshold): {closed:.3f}. Photos skipped (no single face): "
                  f"{len(skipped)}" + ("".join(f"\n- {s}" for s in skipped)) + "\n",
                  "| threshold | top-1 | probes | non-enrolled accepted | probes |", "|---|---|---|---|---|"]
        lines += [f"| {t} | {a:.3f} | {n} | {far:.3f} | {m} |" for t, a, n, far, m in rows]
        for set_name in ("johns", "deepface", "face_recognition"):
            sel = set_of == set_name
            sub_rows, sub_closed = evaluate(enc[sel], np.unique(owner[sel], return_inverse=True)[1], [0.5])
            t, a, n, far, m = sub_rows[0]
            lines.append(f"\n{set_name} alone at 0.5: top-1 {a:.3f} of {n}, non-enrolled accepted {far:.3f} of {m}")
        lines.append("")
        print("\n".join(lines[-len(rows) - 8:]), flush=True)
    params = FaceParams(encoder="dlib")
    names, enc, owner, set_of, skipped = encode_all(sets, params)
    paths = [p for name in sorted(sets) for p in sets[name][1]]
    lines += [f"### Relaxed rule (dlib, default landmarks, strict threshold {params.match_threshold})\n",
              "Accepted as a person: within the strict threshold, or the nearest person within `relaxed` with "
              "everyone else at least `margin` farther (the frame-level rule of the face pass also requires that "
              "person not to be in the frame already, which only helps). Default: relaxed "
              f"{params.relaxed_match_threshold}, margin {params.relaxed_match_margin}.\n",
              "| probes | relaxed | margin | genuine accepted | probes | strangers accepted | probes |",
              "|---|---|---|---|---|---|---|"]
    full = per_person_distances(enc, enc, owner, owner)
    lines += [f"| photos as they are | {r} | {m} | {g:.3f} | {n} | {f:.3f} | {k} |"
              for r, m, g, n, f, k in evaluate_relaxed(full, owner, params.match_threshold, RELAXED)]
    by_digest = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in paths}
    ordered = []  # the photo behind each row of `enc`, in encode_all's order
    seen = set()
    for name in sorted(sets):
        for p in sets[name][1]:
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                ordered.append(by_digest[digest])
    ordered = [p for p in ordered if not any(p == Path(x.split(":")[0]) for x in skipped)]
    for face_px in SMALL_FACE_PX:
        small = [encode_small(p, params, face_px) for p in ordered[:len(enc)]]
        keep = np.array([e is not None for e in small])
        probes = np.asarray([e for e in small if e is not None])
        d = per_person_distances(probes, enc, owner, owner[keep])
        # a shrunk probe must not meet its own full-size photo
        rows_idx = np.flatnonzero(keep)
        for i, row in enumerate(rows_idx):
            own_photos = np.flatnonzero(owner == owner[row])
            others_of_person = own_photos[own_photos != row]
            d[i, owner[row]] = (np.linalg.norm(enc[others_of_person] - probes[i], axis=1).min()
                                if len(others_of_person) else np.inf)
        lines += [f"| faces shrunk to {face_px} px ({int(keep.sum())} of {len(keep)} still detected) | {r} | {m} | "
                  f"{g:.3f} | {n} | {f:.3f} | {k} |"
                  for r, m, g, n, f, k in evaluate_relaxed(d, owner[keep], params.match_threshold,
                                                           [(params.match_threshold, 0.0)] + RELAXED)]
    lines.append("")
    print("\n".join(lines[-30:]), flush=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
