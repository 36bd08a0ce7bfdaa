"""Generate class folders and their truth files from a folder of identity photos.

    python -m tools.synth IDENTITIES OUT --seed 7 [--session-min 45] [--suite full|video]

`IDENTITIES/<identity>/<photos>`; OUT/archive/<class_id>/ are the class folders (audit OUT/archive) and
OUT/truth/<class_id>.json their truth (outside the archive: it is not part of ARCHIVE.md).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from tools.synth import scenarios
from tools.synth.oracle import truth
from tools.synth.scene import VideoParams, encode
from tools.synth.tables import write_tables
from tools.synth.world import ClassWorld

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def load_identities(root: Path) -> list[scenarios.Identity]:
    """`root/<identity>/<photos>`, sorted; identities with no photo are skipped."""
    out = []
    for d in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        photos = tuple(sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        if photos:
            out.append(scenarios.Identity(d.name, photos))
    if not out:
        raise ValueError(f"{root}: expected <identity>/<photos> folders, found none")
    return out


def write_class(world: ClassWorld, out: Path, seed: int, video: VideoParams) -> Path:
    folder = out / "archive" / world.class_id
    if folder.exists():
        shutil.rmtree(folder)
    write_tables(world, folder)
    rec_dir = folder / "recordings"
    for r in world.recordings:
        path = rec_dir / r.file_name
        if r.copy_of:
            shutil.copyfile(rec_dir / r.copy_of, path)
        elif r.corrupt:
            src = next(rec_dir / q.file_name for q in world.recordings if not q.corrupt and not q.copy_of)
            junk = np.random.default_rng(seed).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
            path.write_bytes(src.read_bytes()[:1024] + junk)
        else:
            encode(world, r, path, video, seed)
    tdir = out / "truth"
    tdir.mkdir(parents=True, exist_ok=True)
    (tdir / f"{world.class_id}.json").write_text(
        json.dumps(truth(world, seed), ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    return folder


def build_suite(identities: list[scenarios.Identity], seed: int, session_min: float = 45,
                suite: str = "full", n_trainees: int = 12, empty_seats: int = 0,
                enroll_first: bool = False) -> list[ClassWorld]:
    """'video': the class with recordings alone; 'full': plus the schedule and retention classes.
    ``enroll_first``: each person's first photo (sorted) is the roster photo, the others appear on video,
    one per session (real-photo classes from identities_dev, for benchmarks and tests only)."""
    v = scenarios.video_class(identities, seed, session_min, n_trainees, empty_seats=empty_seats,
                              enroll_first=enroll_first)
    if suite == "video":
        return [v]
    # one person enrolled in two classes is a finding (IDENTITY_SHARED): the other classes get other people
    rest = [i for i in identities if i.name not in {p.identity for p in v.people}]
    x = scenarios.schedule_class(rest, seed, session_min)
    r = scenarios.retention_class([i for i in rest if i.name not in {p.identity for p in x.people}], seed)
    scenarios.link_cross_class(v, x)
    return [v, x, r]


def generate(identities_dir: Path, out: Path, seed: int = 7, session_min: float = 45, suite: str = "full",
             n_trainees: int = 12, video: VideoParams | None = None, empty_seats: int = 0,
             enroll_first: bool = False, pictures: bool = False) -> list[Path]:
    """`pictures`: a poster and a TV on the back wall of every classroom, each showing the face of someone
    in none of the classes (faces that are not people: never counted, never an unknown person)."""
    identities = load_identities(identities_dir)
    worlds = build_suite(identities, seed, session_min, suite, n_trainees, empty_seats, enroll_first)
    video = video or VideoParams()
    if pictures:
        used = {p.identity for w in worlds for p in w.people}
        outsiders = [i for i in identities if i.name not in used]
        if len(outsiders) < 2:
            raise ValueError(f"{identities_dir}: pictures need two identities in no class, found {len(outsiders)}")
        video = replace(video, poster_photo=str(outsiders[0].photos[0]), screen_photo=str(outsiders[1].photos[0]))
    return [write_class(w, Path(out), seed, video) for w in worlds]


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tools.synth", description=__doc__.split("\n")[0])
    ap.add_argument("identities", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--session-min", type=float, default=45)
    ap.add_argument("--suite", choices=("full", "video"), default="full")
    ap.add_argument("--trainees", type=int, default=12)
    ap.add_argument("--fps", type=float, default=1.0)
    ap.add_argument("--row-face-px", default="30,38,48,60", help="face widths per seat row, back to front")
    ap.add_argument("--empty-seats", type=int, default=0,
                    help="trainees who check in for the last session but are not in the room (HEADCOUNT_MISMATCH "
                         "from 4); default 0")
    ap.add_argument("--enroll-first", action="store_true",
                    help="each person's first photo (sorted, e.g. identities_dev's _0001) is the roster photo, the "
                         "others appear on video, a different one per session; default: drawn at random")
    ap.add_argument("--pictures", action="store_true",
                    help="a poster and a TV showing faces of people in no class on the back wall (not people: "
                         "the audit must not count them)")
    a = ap.parse_args(argv)
    vp = replace(VideoParams(), fps=a.fps, row_face_px=tuple(int(v) for v in a.row_face_px.split(",")))
    for f in generate(a.identities, a.out, a.seed, a.session_min, a.suite, a.trainees, vp, a.empty_seats,
                      a.enroll_first, a.pictures):
        print(f)
    return 0
