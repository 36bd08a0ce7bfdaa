"""Reading photos for the face stage: a file that is not a readable image is a typed error, not None."""
from __future__ import annotations

import os
from pathlib import Path

from pipeline.ingest.photos import DEFAULT_MAX_PIXELS, limit_text, oversized

# OpenCV's own decode limit (read once, at its first decode), set to ours explicitly.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(DEFAULT_MAX_PIXELS))

import cv2  # noqa: E402
import numpy as np

from pipeline.faces.errors import FaceError


class ImageReadError(FaceError):
    def __init__(self, path: str, found: str):
        self.path, self.found = str(path), found
        super().__init__(f"{path}: expected a readable image (JPEG, PNG, BMP, WebP...), found {found}")

    def __reduce__(self):
        return (type(self), (self.path, self.found))


_max_pixels = DEFAULT_MAX_PIXELS


def set_max_pixels(max_pixels: int) -> None:
    """The configured limit (`ingest.limits.max_image_pixels`) for every later `read_image` of this process,
    and for OpenCV's own limit where it has not decoded yet (it reads its variable once) and in worker
    processes started after this call. An audit passes the limit to its workers explicitly (GallerySpec)."""
    global _max_pixels
    _max_pixels = int(max_pixels)
    os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(max(int(max_pixels), DEFAULT_MAX_PIXELS))


def read_image(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """HxWx3 uint8 BGR; grey and alpha images are converted. Raises ImageReadError. An image whose header
    claims more than `max_pixels` (default: the configured limit, see set_max_pixels) is never decoded."""
    limit = max_pixels or _max_pixels
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile + imdecode: non-ASCII paths work too
    except OSError as exc:
        raise ImageReadError(str(path), f"a file that cannot be opened ({exc.strerror or exc})") from exc
    if data.size == 0:
        raise ImageReadError(str(path), "an empty file")
    too_large = oversized(data[:1 << 20].tobytes(), limit)  # the header, checked before anything is decoded
    if too_large:
        raise ImageReadError(str(path), f"{too_large}, over the limit ({limit_text(limit)})")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV's own limits (its pixel limit included)
        raise ImageReadError(str(path), f"an image OpenCV refuses ({str(exc).strip().splitlines()[-1][:200]})") from None
    if image is None:
        raise ImageReadError(str(path), f"{data.size} bytes that no image decoder accepts (corrupt or not an image)")
    return image
