"""Pictures the report makes from the archive: enrollment-photo thumbnails, frames cut from recordings, and
face crops from those frames, plus the SVG overlay that names every face found on a frame.

They are written under `OUT/report/media/<class key>/`. Face crops and photos of trainees are personal
data: they stay in the output folder next to the pages that show them and never enter a Parquet table.
Everything is made on demand and kept (a rebuilt report reuses the files); a picture that cannot be made
(file gone, unreadable video, no roster) is simply left out, never a failed report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import pandas as pd

from pipeline.ops.atomic import write_atomic
from pipeline.outputs.report.data import present
from pipeline.outputs.report.page import esc
from pipeline.outputs.store import class_key

THUMB_PX = 240  # photo thumbnails: tall enough for a 120 px card at 2x density
CROP_MARGIN = 0.35  # share of the box added on each side of a face crop (hair, chin, a little context)


def _read_image(path: Path) -> np.ndarray | None:
    """The image, or None; a photo from the archive whose header claims more pixels than the limit is never
    decoded (faces.images.read_image)."""
    from pipeline.faces.images import ImageReadError, read_image

    try:
        return read_image(path)
    except ImageReadError:
        return None


def _write_image(path: Path, image: np.ndarray) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        return False
    write_atomic(path, data.tobytes())
    return True


@dataclass(frozen=True)
class Picture:
    """An image on disk, its link from OUT/report/ and its size in pixels."""

    href: str
    width: int
    height: int
    path: Path


@dataclass(frozen=True)
class Mark:
    """A box to draw on a frame, with its label; `kind` picks the colour (trainee, teacher, unknown)."""

    box: tuple[int, int, int, int]
    label: str
    kind: str


def _enrollment_photos(folder: Path) -> dict[str, Path]:
    """trainee_id -> first enrollment photo, read from the class's roster with the ingest code itself."""
    from pipeline.ingest.archive import _table_file
    from pipeline.ingest.classfiles import Collector, load_class_yaml, load_roster

    col = Collector(folder)
    info = load_class_yaml(folder / "class.yaml", col)
    roster = _table_file(folder, "roster")
    if info is None or roster is None:
        return {}
    out = {}
    for t in load_roster(roster, info, col):
        for p in t.photos:
            path = p if p.is_absolute() else folder / p
            if path.is_file():
                out[t.trainee_id] = path
                break
    return out


@dataclass
class Media:
    """The pictures of one class, made on demand under OUT/report/media/<class key>/."""

    out_dir: Path
    class_id: str
    folder: Path | None  # the class folder of the archive (classes.folder), None when unknown
    _photos: dict[str, Path] | None = field(default=None, repr=False)

    @property
    def root(self) -> Path:
        return self.out_dir / "report" / "media" / class_key(self.class_id)

    def href(self, path: Path) -> str:
        return quote(Path(os.path.relpath(path.resolve(), (self.out_dir / "report").resolve())).as_posix())

    def _picture(self, path: Path, image: np.ndarray | None = None) -> Picture | None:
        if image is None:
            image = _read_image(path)
        if image is None:
            return None
        return Picture(self.href(path), int(image.shape[1]), int(image.shape[0]), path)

    def existing(self, rel_to_out: object) -> Picture | None:
        """A picture the audit wrote (findings.evidence_path, relative to OUT), when the file exists."""
        if not present(rel_to_out):
            return None
        path = Path(str(rel_to_out))
        path = path if path.is_absolute() else self.out_dir / path
        return self._picture(path) if path.is_file() else None

    def photo(self, trainee_id: object) -> Picture | None:
        """A thumbnail of the trainee's enrollment photo."""
        if not present(trainee_id) or self.folder is None:
            return None
        if self._photos is None:
            try:
                self._photos = _enrollment_photos(self.folder)
            except Exception:  # a roster the audit already reported as broken: no photos, still a page
                self._photos = {}
        source = self._photos.get(str(trainee_id))
        if source is None:
            return None
        target = self.root / "photos" / f"{class_key(str(trainee_id))}.jpg"
        if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
            return self._picture(target)
        image = _read_image(source)
        if image is None:
            return None
        scale = min(1.0, THUMB_PX / image.shape[0])
        if scale < 1.0:
            image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), THUMB_PX), interpolation=cv2.INTER_AREA)
        return self._picture(target, image) if _write_image(target, image) else None

    def _recording(self, rec_path: str) -> Path | None:
        p = Path(rec_path)
        if not p.is_absolute():
            if self.folder is None:
                return None
            p = self.folder / p
        return p if p.is_file() else None

    def frame(self, rec_path: object, offset_s: object) -> Picture | None:
        """The frame of a recording at an offset (seconds), as decoded by the video stage."""
        if not present(rec_path) or not isinstance(present(offset_s), (int, float)):
            return None
        source = self._recording(str(rec_path))
        if source is None:
            return None
        offset = max(0.0, float(offset_s))
        length = _duration_s(source)
        if length is not None and offset > length:  # the decoder would hand back the last frame instead
            return None
        target = self.root / "frames" / f"{class_key(Path(str(rec_path)).stem)}_{offset:09.1f}.jpg"
        if not target.is_file():
            from pipeline.video.blank import write_snapshot

            try:
                if write_snapshot(source, offset, target) is not None:
                    return None
            except Exception:  # evidence is a help to the reader, never a reason to lose the page
                return None
        return self._picture(target)

    def crop(self, rec_path: object, offset_s: object, box: object, name: str) -> Picture | None:
        """A face cut from a frame (the box widened by CROP_MARGIN), named `name`."""
        box = _box(box)
        frame = self.frame(rec_path, offset_s)
        if frame is None or box is None:
            return None
        target = self.root / "faces" / f"{class_key(name)}.jpg"
        image = _read_image(frame.path)
        if image is None:
            return None
        x, y, w, h = box
        m = CROP_MARGIN
        x0, y0 = max(0, int(x - m * w)), max(0, int(y - m * h))
        x1, y1 = min(image.shape[1], int(x + w + m * w)), min(image.shape[0], int(y + h + m * h))
        if x1 <= x0 or y1 <= y0:
            return None
        piece = image[y0:y1, x0:x1]
        return self._picture(target, piece) if _write_image(target, piece) else None


_DURATIONS: dict[tuple[str, float], float | None] = {}


def _duration_s(path: Path) -> float | None:
    """Length of a recording in seconds (container header; None when it does not say)."""
    key = (str(path), path.stat().st_mtime)
    if key not in _DURATIONS:
        try:
            import av

            with av.open(str(path)) as container:
                _DURATIONS[key] = container.duration / 1e6 if container.duration else None
        except Exception:  # unreadable: write_snapshot will say so
            _DURATIONS[key] = None
    return _DURATIONS[key]


def _box(value: object) -> tuple[int, int, int, int] | None:
    if value is None or isinstance(value, float):
        return None
    try:
        x, y, w, h = (int(v) for v in list(value))
    except (TypeError, ValueError):
        return None
    return (x, y, w, h) if w > 0 and h > 0 else None


def marks_at(sightings: pd.DataFrame, rec_path: object, offset_s: object, label_of) -> list[Mark]:
    """Every face the face stage found on one sampled frame (same file, offset within half a second)."""
    if sightings.empty or not present(rec_path) or not isinstance(present(offset_s), (int, float)):
        return []
    path = str(rec_path)
    same = sightings[(sightings["path"].astype(str) == path) | sightings["path"].astype(str).map(
        lambda p: path.endswith("/" + p) or p.endswith("/" + path))]
    same = same[(same["offset_s"].astype(float) - float(offset_s)).abs() <= 0.5]
    out = []
    for _, s in same.iterrows():
        box = _box(s.get("box"))
        if box is not None:
            kind = str(present(s.get("person_kind")) or "unknown")
            out.append(Mark(box, label_of(kind, present(s.get("person_id"))), kind))
    return out


_MARK_COLORS = {"trainee": "#2e7d32", "teacher": "#1f5fbf", "unknown": "#c62828", "unidentified": "#9e9e9e",
                "highlight": "#ff9800"}


def marked_frame(picture: Picture, marks: list[Mark], alt: str, extra: Mark | None = None) -> str:
    """The frame as an inline SVG, each mark a box with its label above it (text in the page's fonts, so
    Chinese names render without a font inside the picture)."""
    w, h = picture.width, picture.height
    stroke = max(2, w // 400)
    size = max(12, w // 40)
    parts = [f'<svg class="frame" viewBox="0 0 {w} {h}" role="img" aria-label="{esc(alt)}" '
             f'xmlns="http://www.w3.org/2000/svg"><image href="{esc(picture.href)}" width="{w}" height="{h}"/>']
    if extra is not None:  # the highlighted face replaces its own plain mark
        marks = [m for m in marks if _overlap(m.box, extra.box) < 0.5]
    for m in [*marks, *([extra] if extra else [])]:
        x, y, bw, bh = m.box
        color = _MARK_COLORS.get(m.kind, "#c62828")
        ty = y - 4 if y - size > 2 else y + bh + size
        parts.append(f'<g class="mark mark-{esc(m.kind)}"><rect x="{x}" y="{y}" width="{bw}" height="{bh}" fill="none" '
                     f'stroke="{color}" stroke-width="{stroke}"/>'
                     f'<text x="{x}" y="{ty}" font-size="{size}" fill="#fff" stroke="{color}" stroke-width="{size / 4:.1f}" '
                     f'paint-order="stroke" font-weight="700">{esc(m.label)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two x, y, w, h boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0
