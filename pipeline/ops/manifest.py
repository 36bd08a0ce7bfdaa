"""What each class looked like when its rows were last published, to decide what a nightly run must redo.

Per class folder (keyed by its path relative to the archive root) the manifest keeps the SHA-256 of every
input file, the digest over them, the stat stamp of every file published for the class (its Parquet
files and its cross-class view, pipeline/crossclass.py), and a digest of its cross-class findings. A
file's hash is reused while its (size, mtime, ctime, inode) stamp is unchanged, so an unchanged archive is
checked without reading its videos; ctime cannot be set from user space, so a rewrite that restores
size and mtime is still seen. Published files are always replaced (new inode), so their stamps are
checked without reading them either. The manifest is written atomically and LAST in a run: if a run dies
earlier, the published files of the classes it touched no longer match the manifest and the next run
redoes them.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path

from pipeline.ops.atomic import write_atomic
from pipeline.outputs.schemas import PARTITION_KEY, TABLES, UNPARTITIONED
from pipeline.ops.digest import folder_digest, sha256_file, sha256_text

MANIFEST_FILE = ".trainaudit-manifest.json"
FORMAT = 2


@dataclass(frozen=True)
class FileStamp:
    sha256: str
    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int

    def same_file(self, st: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns, self.ino) == (
            st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass(frozen=True)
class ClassInputs:
    files: dict[str, FileStamp]
    refused: tuple[tuple[str, str], ...]  # (path in the class folder, where the link points): never read
    hashed_bytes: int  # bytes actually read this time (0 when every stamp was reused)

    @property
    def digest(self) -> str:
        return folder_digest({rel: stamp.sha256 for rel, stamp in self.files.items()})


@dataclass
class ClassEntry:
    class_id: str | None
    institution_id: str | None
    status: str  # audited / failed
    reason: str | None
    inputs_sha256: str
    inputs: dict[str, FileStamp]
    output_key: str | None  # the class key its Parquet files are published under (None: nothing published)
    outputs: dict[str, str]  # published file (relative to OUT) -> stat stamp (stamp_outputs)
    findings_by_severity: dict[str, int] = field(default_factory=dict)
    cross_digest: str | None = None  # of its cross-class findings and the cross-class rules' errors
    cross_errors: int = 0  # problems rows at the end of its table that are cross-class rule errors
    cross_by_severity: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        """As dataclasses.asdict, without its deep copy."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["inputs"] = {k: {"sha256": v.sha256, "size": v.size, "mtime_ns": v.mtime_ns, "ctime_ns": v.ctime_ns,
                              "ino": v.ino} for k, v in self.inputs.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> "ClassEntry":
        data = dict(data)
        data["inputs"] = {k: FileStamp(**v) for k, v in data["inputs"].items()}
        return cls(**data)


@dataclass
class Manifest:
    settings_hash: str | None = None
    pipeline_version: str | None = None
    run_id: str | None = None
    classes: dict[str, ClassEntry] = field(default_factory=dict)
    problem: str | None = None  # why a manifest on disk could not be used (everything is redone)
    full_hash_at: str | None = None  # ISO time of the last run that read every input file (--rehash, schedule)

    @classmethod
    def load(cls, out: Path) -> "Manifest":
        path = Path(out) / MANIFEST_FILE
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                return cls(problem=f"{path}: format {data.get('format')!r}, expected {FORMAT}")
            return cls(data["settings_hash"], data["pipeline_version"], data["run_id"],
                       {k: ClassEntry.from_json(v) for k, v in data["classes"].items()},
                       full_hash_at=data.get("full_hash_at"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return cls(problem=f"{path} is unreadable ({type(exc).__name__}: {exc}); every class is redone")

    def save(self, out: Path) -> Path:
        path = Path(out) / MANIFEST_FILE
        data = {"format": FORMAT, "settings_hash": self.settings_hash, "pipeline_version": self.pipeline_version,
                "run_id": self.run_id, "full_hash_at": self.full_hash_at,
                "classes": {k: v.to_json() for k, v in sorted(self.classes.items())}}
        # ASCII with \u escapes: a GBK file name (a lone surrogate in Python) has no UTF-8 form, and json
        # reads the escape back to the same name. One line: json's C encoder runs only without indent
        # (200 classes: 12 ms instead of 58).
        write_atomic(path, json.dumps(data).encode("ascii"))
        return path


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def hash_class_inputs(folder: Path, archive_root: Path, previous: dict[str, FileStamp] | None = None,
                      *, rehash: bool = False) -> ClassInputs:
    """Stamp every file of a class folder. Links leaving the archive are refused: recorded by their
    target, never read (the archive is the unit of trust). Unreadable files are recorded as such."""
    folder, root = Path(folder), Path(archive_root).resolve()
    previous = previous or {}
    files: dict[str, FileStamp] = {}
    refused: list[tuple[str, str]] = []
    read_bytes = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                target = os.readlink(path)
                if not _inside(path, root):
                    refused.append((rel, str(path.resolve())))
                files[rel] = FileStamp(sha256_text(f"symlink:{target}"), 0, 0, 0, 0)
                if not path.is_file() or not _inside(path, root):
                    continue
            try:
                st = path.stat()
            except OSError as exc:
                files[rel] = FileStamp(sha256_text(f"unreadable:{exc.errno}"), 0, 0, 0, 0)
                continue
            if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block a read forever
                files[rel] = FileStamp(sha256_text(f"not-a-file:{stat.S_IFMT(st.st_mode)}"), 0, 0, 0, 0)
                continue
            old = previous.get(rel)
            if old is not None and not rehash and old.same_file(st):
                files[rel] = old
                continue
            try:
                digest = sha256_file(path)
                read_bytes += st.st_size
            except OSError as exc:
                digest = sha256_text(f"unreadable:{exc.errno}")
            files[rel] = FileStamp(digest, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return ClassInputs(files, tuple(refused), read_bytes)


def published_files(out: Path) -> dict[str, dict[str, Path]]:
    """Per class key, every per-class file published under OUT (relative path -> path): its Parquet files
    and its stored cross-class view and fingerprints."""
    from pipeline.crossclass import FINGERPRINT_SUFFIX, VIEW_SUFFIX, VIEWS_DIR

    out = Path(out)
    found: dict[str, dict[str, Path]] = {}
    views = out / VIEWS_DIR
    if views.is_dir():
        for path in views.iterdir():
            for suffix in (VIEW_SUFFIX, FINGERPRINT_SUFFIX):
                if path.name.endswith(suffix) and not path.name.startswith("."):
                    found.setdefault(path.name[:-len(suffix)], {})[path.relative_to(out).as_posix()] = path
    # os.scandir and string paths: pathlib's glob and relative_to over every class's 11 tables cost ~0.2 s
    # a call at 200 classes (nightly calls this twice when a class changed). Same files as the glob
    # f"{PARTITION_KEY}=*/*.parquet": hidden names (temporary files) left out.
    for table in TABLES:
        if table in UNPARTITIONED:
            continue
        for part in _entries(out / table):
            if not (part.name.startswith(f"{PARTITION_KEY}=") and part.is_dir()):
                continue
            for file in _entries(Path(part.path)):
                if file.name.endswith(".parquet") and not file.name.startswith(".") and file.is_file():
                    found.setdefault(file.name[:-len(".parquet")], {})[f"{table}/{part.name}/{file.name}"] = \
                        Path(file.path)
    return found


def _entries(folder: Path) -> list[os.DirEntry]:
    """The entries of ``folder`` (none when it is missing or unreadable), in name order."""
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def fingerprint_outputs(files: dict[str, Path]) -> dict[str, str]:
    """A stat stamp per published file: every publication replaces the file (os.replace, a new inode), so
    a changed stamp means the file was rewritten or tampered with, without reading it."""
    out = {}
    for rel, path in sorted(files.items()):
        try:
            st = path.stat()
            out[rel] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
        except OSError:
            out[rel] = "missing"
    return out
