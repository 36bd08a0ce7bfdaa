"""Distinct synthetic identities from one public-domain portrait (for sample_data/).

Each identity is a smooth geometric warp of the portrait (face width and height, eye spacing and size,
nose, mouth, chin), optionally mirrored, with a colour shift. Candidates are kept only if the face
encoder puts them farther than `min_distance` from every identity kept so far, so the auditor sees
different people. "Other photos" of one identity repeat its warp with a small extra jitter, scale,
rotation and light change, and must stay within `max_self_distance` of its enrollment image.

    python -m pipeline.synth.morph PORTRAIT OUT --count 12 --seed 1
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def _encoder():
    from pipeline.faces.adapter import detect_faces, encode_faces
    from pipeline.faces.params import FaceParams

    params = FaceParams()

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


def make_identities(portrait_path: Path, out: Path, count: int, seed: int = 1, min_distance: float = 0.55,
                    max_self_distance: float = 0.35, photos_per_identity: int = 3, tries: int = 200) -> list[dict]:
    enc, detect, params = _encoder()
    portrait = cv2.imread(str(portrait_path), cv2.IMREAD_COLOR)
    dets = detect(portrait, params)
    if len(dets) != 1:
        raise ValueError(f"{portrait_path}: expected one face, found {len(dets)}")
    crop, lm = _crop(portrait, dets.landmarks[0])
    kept: list[tuple[int, np.ndarray, list[np.ndarray]]] = []
    for s in range(tries):
        if len(kept) == count:
            break
        rng = np.random.default_rng([seed, s])
        base = warp(crop, lm, rng)
        e = enc(base)
        if e is None or any(np.linalg.norm(e - k[1]) <= min_distance for k in kept):
            continue
        others = [_other_photo(base, np.random.default_rng([seed, s, j])) for j in range(1, photos_per_identity)]
        oe = [enc(o) for o in others]
        if any(x is None or np.linalg.norm(x - e) > max_self_distance for x in oe):
            continue
        kept.append((s, e, [base] + others))
    if len(kept) < count:
        raise ValueError(f"only {len(kept)} distinct identities after {tries} tries (wanted {count})")
    report = []
    for i, (s, e, imgs) in enumerate(kept):
        d = out / f"synth_{i + 1:02d}"
        d.mkdir(parents=True, exist_ok=True)
        for j, img in enumerate(imgs):
            cv2.imwrite(str(d / f"{j + 1}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 88])
        others = [np.linalg.norm(e - k[1]) for k in kept if k[0] != s]
        report.append({"identity": d.name, "warp_seed": [seed, s], "nearest_other": round(float(min(others)), 3)})
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.synth.morph")
    ap.add_argument("portrait", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    for r in make_identities(a.portrait, a.out, a.count, a.seed):
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
