"""Model files shipped inside another installed package (read, never imported) and checked by SHA-256 before
use: one home for the SFace encoder's and the CenterFace detector's weights."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path


class ModelFileError(ValueError):
    """A model file is missing or is not the file its module was measured with."""


def packaged_file(package: str, relpath: str, what: str, hint: str) -> Path:
    """Where the installed ``package`` (found, not imported) keeps ``relpath``; ModelFileError if it is not
    installed. ``what`` names the weights and the package version, ``hint`` says how to install it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"{what}, found it not installed ({hint})")
    return Path(next(iter(spec.submodule_search_locations))) / relpath


def checked_bytes(path: Path, sha256: str, name: str, measured: str) -> bytes:
    """The file's bytes, if their SHA-256 is ``sha256``; ModelFileError otherwise. ``name``: the model's name
    in messages; ``measured``: what the module did with that file (calibrated, measured)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: expected the {name} model file, found it unreadable ({exc.strerror or exc})")
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelFileError(f"{path}: expected SHA-256 {sha256}, found {digest} ({len(data)} bytes): "
                             f"not the {name} file this {measured}")
    return data
