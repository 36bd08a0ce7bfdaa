"""Photo size from the file header, before anything is decoded.

A 60 KB PNG may claim 20000 x 20000 px and decode to 1.2 GB (OpenCV then fails, or the process is killed).
The header says how large the image is; a photo over `InputLimits.max_image_pixels` is a problem naming
that photo and is never decoded. Pillow reads only the header here (`Image.open` is lazy), with its own
decompression-bomb limit set to ours explicitly.
"""

from __future__ import annotations

import io
from PIL import Image

from pipeline.config import InputLimits

DEFAULT_MAX_PIXELS = InputLimits().max_image_pixels


def oversized(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> str | None:
    """A "found" text (`20000 x 20000 px (400 MP)`) when the header claims more than `max_pixels`; None when
    it does not, or when Pillow cannot read the header (the decoder then reports what is wrong)."""
    try:
        # Only the header is read here, so Pillow's own bomb check (which would hide the size) is off for
        # this call; it is set to our limit for every later decode.
        Image.MAX_IMAGE_PIXELS = None
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:  # not an image Pillow knows: not our call to judge here
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = max_pixels
    if width * height > max_pixels:
        return f"{width} x {height} px ({width * height / 1e6:.0f} MP)"
    return None


def limit_text(max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    return f"an image of at most {max_pixels / 1e6:g} MP (width x height)"


def photo_digests(archive) -> dict[str, str | None]:
    """sha256 of every trainee's enrollment photo (keys as in Trainee.photos), None for one that cannot be
    read: what IDENTITY_SHARED compares, read here so that the rules never open a file."""
    import hashlib
    from pathlib import Path

    digests: dict[str, str | None] = {}
    folder = archive.info.folder
    for trainee in archive.trainees:
        for photo in trainee.photos:
            path = Path(photo) if Path(photo).is_absolute() else folder / photo
            try:
                digests[str(photo)] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                digests[str(photo)] = None
    return digests
