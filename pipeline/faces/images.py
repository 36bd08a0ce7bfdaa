"""Reading photos for the face stage: a file that is not a readable image is a typed error, not None."""
from __future__ import annotations

from pathlib import Path

import cv2
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
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(str(path), f"{data.size} bytes that no image decoder accepts (corrupt or not an image)")
    return image
