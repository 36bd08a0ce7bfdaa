"""Folder hashing has one home (pipeline/ops/digest.py): the nightly manifest's class digest, the published
`classes.input_sha256` and the configuration folders in nightly's settings hash all go through
`folder_digest`. A manifest stored before keeps matching; a settings hash stored before makes the next
night redo every class once, equal to a clean run; a GBK file name no longer stops a nightly run."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

import pipeline.nightly
from conftest import ClassWriter
from pipeline.ingest.archive import input_digest
from pipeline.ops.digest import folder_digest, sha256_file, tree_digest
from pipeline.ops.manifest import MANIFEST_FILE, Manifest, hash_class_inputs
from test_nightly import A, assert_same_tables, clean_run, make_archive, nightly

GBK_NAME = os.fsdecode("签到说明".encode("gbk") + b".txt")  # as a zip made on Chinese Windows leaves it


def _files(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_the_manifest_digest_is_the_one_stored_before(tmp_path):
    """ClassInputs.digest as format-2 manifests hold it (SHA-256 over "name NUL sha256 newline" in name order,
    written out here): an upgrade does not make every class look changed."""
    folder = _files(tmp_path / "archive" / "c", {"class.yaml": b"class_id: c\n", "照片/S001.jpg": b"\xff\xd8 jpeg",
                                                  "recordings/a.mp4": b"\0" * 1000})
    stamped = hash_class_inputs(folder, tmp_path / "archive")
    stored_before = hashlib.sha256()
    for rel in sorted(stamped.files):
        stored_before.update(f"{rel}\0{sha256_file(folder / rel)}\n".encode("utf-8"))
    assert sorted(stamped.files) == ["class.yaml", "recordings/a.mp4", "照片/S001.jpg"]
    assert stamped.digest == stored_before.hexdigest()


@pytest.mark.parametrize("change", ["byte", "rename", "new empty file", "move bytes between files"])
def test_a_folder_digest_sees_every_change(tmp_path, change):
    base = {"rules/a.yaml": b"x: 1\n", "rules/b.yaml": b"y: 2\n"}
    changed = dict(base)
    if change == "byte":
        changed["rules/a.yaml"] = b"x: 2\n"
    elif change == "rename":
        changed["rules/c.yaml"] = changed.pop("rules/b.yaml")
    elif change == "new empty file":
        changed["rules/empty"] = b""
    else:  # b's name and bytes inside a: one stream of names and bytes (nightly's before) was the same
        changed = {"rules/a.yaml": b"x: 1\nrules/b.yaml\0y: 2\n"}
    first, second = _files(tmp_path / "one", base), _files(tmp_path / "two", changed)
    assert tree_digest(first) == tree_digest(_files(tmp_path / "copy", base))  # the location is not hashed
    assert tree_digest(first) != tree_digest(second)
    assert tree_digest(tmp_path / "missing") == folder_digest({})


def test_input_sha256_reads_small_files_and_stamps_large_ones(tmp_path):
    writer = ClassWriter(tmp_path / "one").default()
    big = writer.folder / "recordings" / "long.mp4"
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as fh:  # sparse: over the 16 MiB read limit without writing it
        fh.truncate(17 * 1024 * 1024)
    first = input_digest(writer.folder)
    copy = tmp_path / "elsewhere" / "deeper" / writer.folder.name
    shutil.copytree(writer.folder, copy, copy_function=shutil.copy2)
    assert input_digest(copy) == first  # names within the class folder, not the machine's path

    os.utime(big, ns=(big.stat().st_atime_ns, big.stat().st_mtime_ns + 1_000_000_000))
    assert input_digest(writer.folder) != first  # a large file by its size and mtime
    again = input_digest(writer.folder)
    roster = writer.folder / "roster.csv"
    roster.write_bytes(roster.read_bytes().replace(b"S003", b"S004"))
    assert input_digest(writer.folder) != again  # a small file by its bytes


def test_a_gbk_file_name_does_not_stop_a_nightly_run(tmp_path):
    """Before: UnicodeEncodeError from the manifest's digest and again from its save; the run failed."""
    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    (root / A / "documents").mkdir(exist_ok=True)
    (root / A / "documents" / GBK_NAME).write_bytes(b"notes")
    first = nightly(root, out)
    assert sorted(first.audited) == sorted(p.name for p in root.iterdir())
    stored = Manifest.load(out)
    assert stored.problem is None and f"documents/{GBK_NAME}" in stored.classes[A].inputs
    second = nightly(root, out)
    assert second.audited == [] and A in second.plan.unchanged

    (root / A / "documents" / GBK_NAME).write_bytes(b"other notes")
    third = nightly(root, out)
    assert third.audited == [A] and third.plan.changed[A].startswith("inputs changed: documents/")
    assert_same_tables(out, clean_run(root, tmp_path))


def test_a_settings_hash_stored_before_redoes_every_class_once(tmp_path, monkeypatch):
    """The configuration folders' digest changed form (names and file digests, not one stream of names
    and bytes): the first night after the upgrade redoes every class, as any settings change does, and
    publishes what a clean run publishes; the night after skips them."""

    def digest_before(folder: Path) -> str:  # nightly's own folder digest up to this change
        h = hashlib.sha256()
        if folder.is_dir():
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                h.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0" + path.read_bytes())
        return h.hexdigest()

    root, out = make_archive(tmp_path / "archive"), tmp_path / "out"
    with monkeypatch.context() as patch:
        patch.setattr(pipeline.nightly, "tree_digest", digest_before)
        assert len(nightly(root, out).audited) == 2
    before = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))["settings_hash"]

    upgraded = nightly(root, out)
    assert sorted(upgraded.audited) == sorted(p.name for p in root.iterdir())
    assert set(upgraded.plan.changed.values()) == {"configuration, rule packs or pipeline version changed"}
    assert Manifest.load(out).settings_hash != before
    assert_same_tables(out, clean_run(root, tmp_path))
    assert nightly(root, out).audited == []
