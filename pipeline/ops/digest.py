"""One home for hashing files and folders (SHA-256, hex).

A folder's digest is `folder_digest`: SHA-256 over its files in name order, each as its path within the
folder ('/'-separated, the name's bytes as the file system holds them: a GBK name from a zip made on Chinese
Windows is hashed as its bytes, not refused), a NUL, the file's own digest and a newline. The callers choose
which files count and what a file's digest is:

- the nightly manifest (`ops/manifest.hash_class_inputs`): every entry of a class folder by its full
  SHA-256 (links, unreadable files and FIFOs by a digest of what they are), reused while its stat stamp is;
- `classes.input_sha256` (`ingest/archive.input_digest`): the class's own regular files, a file over 16 MiB
  (a video: the video stage hashes its content itself) by its size and mtime;
- the configuration folders in nightly's settings hash (`tree_digest`): every file's SHA-256.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

CHUNK_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """The digest standing in for a file that is not read (a link's target, an error, a size and mtime)."""
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def folder_digest(files: Mapping[str, str]) -> str:
    """The digest of a folder from {path within it ('/'-separated) -> the file's digest}."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(os.fsencode(rel) + b"\0" + files[rel].encode("ascii") + b"\n")
    return digest.hexdigest()


def tree_digest(folder: Path) -> str:
    """`folder_digest` of every file under `folder` by its content (a missing folder: no files)."""
    folder = Path(folder)
    if not folder.is_dir():
        return folder_digest({})
    return folder_digest({path.relative_to(folder).as_posix(): sha256_file(path)
                          for path in folder.rglob("*") if path.is_file()})
