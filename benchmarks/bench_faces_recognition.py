"""Recognition on the identity sets of ../shared/data: top-1 accuracy and non-enrolled acceptance.

Sets: dlib johns (5 people x 11 chips), deepface clusters (deepface_identity_clusters.csv), and the
face_recognition knn/example photos (obama, biden, alex lacamoire, kit harington, rose leslie, ...),
pooled into one gallery (byte-identical files counted once). Protocol, for each threshold:
- top-1 (enrolled people): leave-one-photo-out. Each photo of a person with >= 2 photos is a probe against
  the gallery of all other photos; correct if the nearest person is right and within the threshold.
- non-enrolled acceptance: leave-one-person-out. Every photo of a person is a probe against the gallery
  without that person; a false accept if anyone is within the threshold.
Both landmark modes are compared. Writes benchmarks/results/faces_recognition.md.

    .venv/bin/python benchmarks/bench_faces_recognition.py
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path
import time

import numpy as np

from pipeline.faces.errors import EnrollmentError
from pipeline.faces.gallery import encode_photo
from pipeline.faces.params import FaceParams

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "faces_recognition.md"
THRESHOLDS = [0.35, 0.4, 0.42, 0.44, 0.46, 0.48, 0.5, 0.52, 0.55, 0.6]
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


def main() -> None:
    sets = identity_photos(DATA)
    assert sets, f"no identity photos under {DATA}"
    lines = ["# Face recognition on the identity sets of ../shared/data\n",
             "Gallery pooled over johns, deepface clusters and face_recognition photos (byte-identical files once). "
             "top-1: leave-one-photo-out over people with >= 2 photos, correct = nearest person right AND within "
             "the threshold. non-enrolled accepted: leave-one-person-out, a probe is accepted if anyone else is "
             "within the threshold.\n"]
    for mode in ("dlib5_on_box", "yunet5"):
        params = FaceParams(landmark_mode=mode)
        t0 = time.perf_counter()
        names, enc, owner, set_of, skipped = encode_all(sets, params)
        secs = time.perf_counter() - t0
        rows, closed = evaluate(enc, owner, THRESHOLDS)
        lines += [f"## landmark_mode = {mode}\n",
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
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
