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


def read_image(path: str | Path) -> np.ndarray:
    """HxWx3 uint8 BGR; grey and alpha images are converted. Raises ImageReadError."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile + imdecode: non-ASCII paths work too
    except OSError as exc:
        raise ImageReadError(str(path), f"a file that cannot be opened ({exc.strerror or exc})") from exc
    if data.size == 0:
        raise ImageReadError(str(path), "an empty file")
    too_large = oversized(data.tobytes()[:1 << 20])  # the header, checked before anything is decoded
    if too_large:
        raise ImageReadError(str(path), f"{too_large}, over the limit ({limit_text()})")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV's own limits (its pixel limit included)
        raise ImageReadError(str(path), f"an image OpenCV refuses ({str(exc).strip().splitlines()[-1][:200]})") from None
    if image is None:
        raise ImageReadError(str(path), f"{data.size} bytes that no image decoder accepts (corrupt or not an image)")
    return image
