"""Every read stays inside the class folder.

An archive comes from the institution being inspected, so its folder is untrusted: a link may point at
`/etc/passwd`, a FIFO would block a reader forever, a device never ends. `ClassFiles` walks a class folder
once, following no link, and keeps only regular files; a link is accepted only when its resolved target is
a regular file inside the same class folder. Everything refused becomes a located problem that names the
entry (never the target's content). `read_confined` opens a file again with O_NOFOLLOW and checks, on the
open descriptor, that it is still a regular file inside the folder and under the size limit.

File names are shown as people wrote them: a zip made on Chinese Windows leaves GBK bytes in names, which
Python keeps as lone surrogates that no UTF-8 writer accepts. `display_name` decodes them (UTF-8, then
GB18030) or escapes the bytes, so every message and table can hold them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path


class InputRefused(ValueError):
    """A file that must not be read: outside the class folder, not a regular file, or over a limit."""

    def __init__(self, reason: str, expected: str, found: str):
        self.reason, self.expected, self.found = reason, expected, found
        super().__init__(f"{reason} (expected {expected}; found {found})")


def display_name(text: str | bytes) -> str:
    """A name as text any writer accepts: UTF-8 first, then GB18030, else the bytes escaped (\\xNN)."""
    raw = os.fsencode(text) if isinstance(text, str) else text
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="backslashreplace")


def display_path(path: Path | str) -> str:
    """`display_name` applied to each part of a path (one part may be GBK, the next UTF-8)."""
    return "/".join(display_name(part) for part in os.fsencode(str(path)).split(b"/"))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


@dataclass
class ClassFiles:
    """The regular files of one class folder (relative paths), found without following any link."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str, str]] = field(default_factory=list)  # (entry, message, found)

    @classmethod
    def scan(cls, folder: Path) -> ClassFiles:
        folder = Path(folder)
        found = cls(folder)
        root = folder.resolve()
        stack = [folder]
        inodes: dict[tuple[int, int], list[Path]] = {}  # hard links: (device, inode) -> names in the folder
        links: dict[tuple[int, int], int] = {}
        while stack:
            current = stack.pop()
            try:
                entries = sorted(os.scandir(current), key=lambda e: e.name)
            except OSError as exc:
                found.refused.append((current, "folder cannot be read", exc.strerror or str(exc)))
                continue
            for entry in entries:
                path = Path(entry.path)
                try:
                    info = entry.stat(follow_symlinks=False)
                    mode = info.st_mode
                except OSError as exc:
                    found.refused.append((path, "file cannot be read", exc.strerror or str(exc)))
                    continue
                if stat.S_ISDIR(mode):
                    stack.append(path)
                elif stat.S_ISREG(mode):
                    found.files.append(path)
                    if info.st_nlink > 1:
                        inodes.setdefault((info.st_dev, info.st_ino), []).append(path)
                        links[info.st_dev, info.st_ino] = info.st_nlink
                elif stat.S_ISLNK(mode):
                    found._link(path, root)
                else:
                    found.refused.append((path, "not a regular file (ignored, never read)", _kind(mode)))
        for key, names in inodes.items():  # a hard link is the same file under another name, maybe outside
            if links[key] > len(names):
                for path in names:
                    found.files.remove(path)
                    found.refused.append((path, "hard link to a file that also has names outside the class folder "
                                          "(ignored, never read; copy it into the folder to use it)",
                                          f"a file with {links[key]} names, {len(names)} of them in the class folder"))
        found.files.sort()
        return found

    def _link(self, path: Path, root: Path) -> None:
        try:
            target = path.resolve(strict=True)
            inside = target.is_relative_to(root)
            mode = os.stat(target).st_mode if inside else 0
        except (OSError, RuntimeError):  # a dangling link or a loop
            self.refused.append((path, "link that leads nowhere (ignored, never read)", "a broken link"))
            return
        if not inside:  # the target's name helps the inspector; its content is never read
            self.refused.append((path, "link pointing outside the class folder (ignored, never read)",
                                 f"a link to {display_path(target)}"))
        elif stat.S_ISREG(mode):
            self.files.append(path)
        elif not stat.S_ISDIR(mode):  # a link to a folder inside the class is simply not followed
            self.refused.append((path, "link to something that is not a regular file (ignored, never read)",
                                 _kind(mode)))

    def under(self, *parts: str) -> list[Path]:
        """Files under a subfolder (at any depth), hidden ones (`.name`) left out."""
        base = self.folder.joinpath(*parts)
        return [p for p in self.files if p.is_relative_to(base) and
                not any(part.startswith(".") for part in p.relative_to(base).parts)]

    def get(self, *parts: str) -> Path | None:
        path = self.folder.joinpath(*parts)
        return path if path in self.files else None


def read_confined(path: Path, folder: Path | None, max_bytes: int, *, head: int | None = None) -> bytes:
    """The bytes of a regular file inside `folder` (when given), at most `max_bytes` of them (with `head`,
    only the first `head` bytes of a file within the limit).

    Raises InputRefused for a link leaving the folder, anything but a regular file, or a larger file,
    and OSError when the file cannot be read.
    """
    path = Path(path)
    real = path.resolve(strict=True) if path.is_symlink() else path
    if folder is not None and not real.resolve().is_relative_to(Path(folder).resolve()):
        raise InputRefused("link pointing outside the class folder (never read)", "a file inside the class folder",
                           "a link to a file outside the class folder")
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputRefused("not a regular file (never read)", "a regular file", _kind(info.st_mode))
        if info.st_size > max_bytes:
            raise InputRefused("file too large (not read)", f"at most {max_bytes:,} bytes",
                               f"{info.st_size:,} bytes")
        chunks, left = [], max_bytes + 1 if head is None else head
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if head is None and len(data) > max_bytes:  # the file grew while being read
        raise InputRefused("file too large (not read)", f"at most {max_bytes:,} bytes", f"more than {max_bytes:,} bytes")
    return data
