"""Distinct synthetic identities from public-domain portraits (for sample_data/).

Each identity is a smooth geometric warp of one of the portraits (face width and height, eye spacing and
size, nose, mouth, chin), optionally mirrored, with a colour shift; candidates take the portraits in turn.
Each portrait is first scaled so its eyes are ``EYE_PX`` apart (the warp's regions are sized for that face).
Candidates are kept only if the face encoder (``--encoder``, the pipeline's own) puts them farther than
`min_distance` from every identity kept so far, so the auditor sees different people. "Other photos" of one
identity repeat its warp with a small extra jitter, scale, rotation and light change, and must stay within
`max_self_distance` of its enrollment image.

SFace tells warps of one face apart far less than dlib does (it is built to see the same person through
such changes): from the astronaut portrait alone, at most 5 warps lie pairwise beyond 1.2 (300 tried), so
the sample uses two portraits.

    python -m tools.synth.morph PORTRAIT [PORTRAIT ...] OUT --count 10 --seed 1 --encoder sface
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


EYE_PX = 47.0  # eye distance of the astronaut portrait, to which every portrait is scaled
# Per encoder: (min_distance between identities, max_self_distance to the identity's other photos). SFace:
# above its relaxed match threshold with room for the small, compressed faces of the video; dlib: the
# values sample_data was first made with (its nearest pair 0.55, threshold then 0.5).
DISTANCES = {"sface": (1.2, 0.6), "dlib": (0.55, 0.35)}


def _encoder(encoder: str = "sface"):
    from pipeline.faces.adapter import detect_faces, encode_faces
    from pipeline.faces.params import FaceParams

    params = FaceParams(encoder=encoder)

    def enc(img: np.ndarray) -> np.ndarray | None:
        d = detect_faces(img, params)
        return encode_faces(img, d, params)[0] if len(d) == 1 else None
    return enc, detect_faces, params


def _crop(portrait: np.ndarray, marks: np.ndarray, side: int = 256) -> tuple[np.ndarray, np.ndarray]:
    big = cv2.copyMakeBorder(portrait, side, side, side, side, cv2.BORDER_REFLECT)
    cx, cy = (marks[2] + side).astype(int)
    crop = big[cy - side // 2:cy + side // 2, cx - side // 2:cx + side // 2].copy()
    return crop, marks + side - np.array([cx - side // 2, cy - side // 2])


def warp(img: np.ndarray, lm: np.ndarray, rng: np.random.Generator, k: float = 1.0, mirror: bool | None = None,
         colour: bool = True) -> np.ndarray:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = np.zeros_like(xx), np.zeros_like(yy)
    c = np.array([w / 2, h / 2])
    sx, sy = np.exp(k * rng.uniform(-0.3, 0.3)), np.exp(k * rng.uniform(-0.25, 0.25))
    g = np.exp(-(((xx - c[0]) / 75) ** 2 + ((yy - c[1]) / 90) ** 2))
    dx += (xx - c[0]) * (1 - 1 / sx) * g
    dy += (yy - c[1]) * (1 - 1 / sy) * g
    es, ev = k * rng.uniform(-12, 12), k * rng.uniform(-7, 7)
    for (ex, ey), sgn in zip(lm[:2], (-1, 1)):
        ge = np.exp(-(((xx - ex) / 18) ** 2 + ((yy - ey) / 14) ** 2))
        sc = k * rng.uniform(-0.3, 0.3)
        dx += -sgn * es * ge + (xx - ex) * sc * ge
        dy += ev * ge + (yy - ey) * sc * ge
    nx, ny = lm[2]
    gn = np.exp(-(((xx - nx) / 16) ** 2 + ((yy - ny) / 22) ** 2))
    dy += k * rng.uniform(-10, 10) * gn
    dx += (xx - nx) * k * rng.uniform(-0.4, 0.4) * gn
    mx, my = (lm[3] + lm[4]) / 2
    gm = np.exp(-(((xx - mx) / 28) ** 2 + ((yy - my) / 12) ** 2))
    dy += k * rng.uniform(-10, 10) * gm
    dx += (xx - mx) * k * rng.uniform(-0.35, 0.35) * gm
    gc = np.exp(-(((xx - mx) / 50) ** 2 + ((yy - my - 38) / 25) ** 2))
    dy += k * rng.uniform(-20, 20) * gc
    dx += (xx - mx) * k * rng.uniform(-0.3, 0.3) * gc
    out = cv2.remap(img, xx + dx, yy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if mirror if mirror is not None else rng.random() < 0.5:
        out = out[:, ::-1].copy()
    if colour:
        hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
        hsv[..., 1] *= rng.uniform(0.6, 1.4)
        hsv[..., 2] *= rng.uniform(0.7, 1.15)
        out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
    return out


def _other_photo(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another photo of the same synthetic person: slight turn, scale, light."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-6, 6), rng.uniform(0.92, 1.08))
    out = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    return cv2.convertScaleAbs(out, alpha=rng.uniform(0.85, 1.15), beta=rng.uniform(-10, 10))


def _source(path: Path, detect, params) -> tuple[np.ndarray, np.ndarray]:
    portrait = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if portrait is None:
        raise ValueError(f"{path}: expected a readable portrait image, found none")
    dets = detect(portrait, params)
    if len(dets) != 1:
        raise ValueError(f"{path}: expected one face, found {len(dets)}")
    marks = dets.landmarks[0]
    factor = EYE_PX / float(np.linalg.norm(marks[1] - marks[0]))
    portrait = cv2.resize(portrait, None, fx=factor, fy=factor,
                          interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    return _crop(portrait, marks * factor)


def _largest_apart(encodings: np.ndarray, min_distance: float, seed: int, rounds: int = 4000) -> list[int]:
    """A large set of rows pairwise farther than ``min_distance`` (greedy over seeded random orders; the
    first order is the candidates' own): deterministic for a seed."""
    d = np.linalg.norm(encodings[:, None] - encodings[None], axis=2)
    rng = np.random.default_rng(seed)
    best: list[int] = []
    for r in range(rounds):
        order = np.arange(len(encodings)) if r == 0 else rng.permutation(len(encodings))
        kept: list[int] = []
        for i in order:
            if all(d[i, j] > min_distance for j in kept):
                kept.append(int(i))
        if len(kept) > len(best):
            best = kept
    return sorted(best)


def make_identities(portraits: list[Path], out: Path, count: int, seed: int = 1, encoder: str = "sface",
                    min_distance: float | None = None, max_self_distance: float | None = None,
                    photos_per_identity: int = 3, tries: int = 240, strength: float = 1.0) -> list[dict]:
    """``tries`` warps (portraits in turn, warp strength ``strength``) are encoded; the largest set found
    whose members are pairwise farther than ``min_distance`` and whose other photos stay within
    ``max_self_distance`` gives the first ``count`` identities."""
    enc, detect, params = _encoder(encoder)
    min_distance = DISTANCES[encoder][0] if min_distance is None else min_distance
    max_self_distance = DISTANCES[encoder][1] if max_self_distance is None else max_self_distance
    sources = [_source(Path(p), detect, params) for p in portraits]
    bases, codes, seeds = [], [], []
    for s in range(tries):
        crop, lm = sources[s % len(sources)]
        base = warp(crop, lm, np.random.default_rng([seed, s]), k=strength)
        e = enc(base)
        if e is not None:
            bases.append(base)
            codes.append(e)
            seeds.append(s)
    usable = list(range(len(bases)))
    while True:
        pick = [usable[i] for i in _largest_apart(np.asarray([codes[i] for i in usable]), min_distance, seed)]
        failed = []
        for i in pick[:count]:
            others = [_other_photo(bases[i], np.random.default_rng([seed, seeds[i], j]))
                      for j in range(1, photos_per_identity)]
            oe = [enc(o) for o in others]
            if any(x is None or np.linalg.norm(x - codes[i]) > max_self_distance for x in oe):
                failed.append(i)
        if not failed:
            break
        usable = [i for i in usable if i not in failed]
    if len(pick) < count:
        raise ValueError(f"only {len(pick)} identities pairwise farther than {min_distance} among {tries} warps "
                         f"(wanted {count}): more --tries, a larger --strength or another portrait")
    kept = [(seeds[i], codes[i], [bases[i]] + [_other_photo(bases[i], np.random.default_rng([seed, seeds[i], j]))
                                              for j in range(1, photos_per_identity)]) for i in pick[:count]]
    report = []
    for i, (s, e, imgs) in enumerate(kept):
        d = out / f"synth_{i + 1:02d}"
        d.mkdir(parents=True, exist_ok=True)
        for j, img in enumerate(imgs):
            cv2.imwrite(str(d / f"{j + 1}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 88])
        others = [np.linalg.norm(e - k[1]) for k in kept if k[0] != s]
        report.append({"identity": d.name, "portrait": Path(portraits[s % len(portraits)]).name,
                       "warp_seed": [seed, s], "nearest_other": round(float(min(others)), 3)})
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.synth.morph")
    ap.add_argument("portraits", type=Path, nargs="+", help="one or more portraits (one face each)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--encoder", choices=sorted(DISTANCES), default="sface",
                    help="the face encoder that must tell the identities apart (the pipeline's default)")
    ap.add_argument("--tries", type=int, default=240, help="warps encoded (the portraits in turn)")
    ap.add_argument("--strength", type=float, default=1.0, help="warp strength (1: the original sample's)")
    ap.add_argument("--min-distance", type=float, default=None,
                    help="between identities (default per encoder: %s)" % {k: v[0] for k, v in DISTANCES.items()})
    a = ap.parse_args(argv)
    for r in make_identities(a.portraits, a.out, a.count, a.seed, a.encoder, a.min_distance, tries=a.tries,
                             strength=a.strength):
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
