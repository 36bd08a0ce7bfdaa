"""The pieces under a nightly run: lock, input stamps and manifest, cache eviction, pruning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.ops.disk import evict_cache, prune_logs, prune_staging
from pipeline.ops.lock import LockHeld, RunLock
from pipeline.ops.manifest import ClassEntry, FileStamp, Manifest, hash_class_inputs, sha256_file


# -- lock -------------------------------------------------------------------------------------------------

def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    first = RunLock(tmp_path)
    taken = first.acquire("run-1")
    assert not taken.took_over
    with pytest.raises(LockHeld) as refused:
        RunLock(tmp_path).acquire("run-2")  # another open file: flock conflicts even in one process
    assert refused.value.holder["run_id"] == "run-1" and refused.value.holder["pid"] == os.getpid()
    started = time.monotonic()
    with pytest.raises(LockHeld):
        RunLock(tmp_path).acquire("run-3", wait=True, timeout_s=0.3, poll_s=0.05)
    assert time.monotonic() - started >= 0.3
    first.release()
    again = RunLock(tmp_path).acquire("run-4")
    assert not again.took_over  # released cleanly: nothing to take over


def test_lock_of_a_killed_process_is_free_and_reported_as_taken_over(tmp_path):
    code = ("import sys, time; from pipeline.ops.lock import RunLock; lock = RunLock(sys.argv[1]); "
            "lock.acquire('dead-run'); "
            "print('locked', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(LockHeld):
        RunLock(tmp_path).acquire("live-check")
    holder.kill()
    holder.wait()
    taken = RunLock(tmp_path).acquire("run-after-crash")
    assert taken.took_over and taken.previous["run_id"] == "dead-run" and taken.previous["pid"] == holder.pid


# -- input stamps and manifest ----------------------------------------------------------------------------

def _class(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "archive"
    folder = root / "C1"
    (folder / "recordings").mkdir(parents=True)
    (folder / "class.yaml").write_text("class_id: C1\n")
    (folder / "recordings" / "a.mp4").write_bytes(b"x" * 1000)
    return root, folder


def test_stamps_are_reused_until_a_file_changes_even_behind_a_restored_mtime(tmp_path):
    root, folder = _class(tmp_path)
    first = hash_class_inputs(folder, root)
    assert first.hashed_bytes == 1000 + len("class_id: C1\n")
    assert first.files["recordings/a.mp4"].sha256 == sha256_file(folder / "recordings" / "a.mp4")
    second = hash_class_inputs(folder, root, first.files)
    assert second.hashed_bytes == 0 and second.digest == first.digest

    video = folder / "recordings" / "a.mp4"
    st = video.stat()
    video.write_bytes(b"y" * 1000)  # same size
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: only ctime betrays the write
    third = hash_class_inputs(folder, root, second.files)
    assert third.hashed_bytes == 1000 and third.digest != first.digest
    assert hash_class_inputs(folder, root, third.files, rehash=True).hashed_bytes > 1000


def test_links_out_of_the_archive_and_fifos_are_never_read(tmp_path):
    root, folder = _class(tmp_path)
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"s" * 5000)
    (folder / "recordings" / "b.mp4").symlink_to(outside)
    (folder / "recordings" / "c.mp4").symlink_to(folder / "recordings" / "a.mp4")  # inside: read
    os.mkfifo(folder / "recordings" / "d.mp4")
    stamped = hash_class_inputs(folder, root)
    assert stamped.refused == (("recordings/b.mp4", str(outside)),)
    assert stamped.hashed_bytes == 2 * 1000 + len("class_id: C1\n")
    assert set(stamped.files) == {"class.yaml", "recordings/a.mp4", "recordings/b.mp4", "recordings/c.mp4",
                                  "recordings/d.mp4"}
    (folder / "recordings" / "b.mp4").unlink()
    (folder / "recordings" / "b.mp4").symlink_to(tmp_path / "other.mp4")
    assert hash_class_inputs(folder, root, stamped.files).digest != stamped.digest  # retargeting is a change


def test_manifest_round_trip_and_an_unreadable_manifest_means_redo_everything(tmp_path):
    stamp = FileStamp("ab" * 32, 10, 1, 2, 3)
    manifest = Manifest("settings", "0.1.0", "run-1", {"C1": ClassEntry(
        "C1", "I1", "audited", None, "cd" * 32, {"class.yaml": stamp}, "C1",
        {"findings/institution_id=I1/C1.parquet": "ef" * 32}, {"high": 2})})
    manifest.save(tmp_path)
    loaded = Manifest.load(tmp_path)
    assert loaded.classes == manifest.classes and loaded.settings_hash == "settings" and loaded.problem is None
    (tmp_path / ".trainaudit-manifest.json").write_text('{"format": 1, "classes": {"C1": ')  # torn write
    broken = Manifest.load(tmp_path)
    assert broken.classes == {} and "unreadable" in broken.problem
    assert Manifest.load(tmp_path / "nowhere").classes == {}


# -- bounded disk -----------------------------------------------------------------------------------------

def _entry(cache: Path, name: str, size: int, age_s: float) -> Path:
    path = cache / "recordings" / name[:2] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"c" * size)
    moment = time.time() - age_s
    os.utime(path, (moment, moment))
    return path


def test_eviction_removes_least_recently_used_first_and_spares_videos_still_in_the_archive(tmp_path):
    cache = tmp_path / "cache"
    in_use_sha = "aa" * 32
    oldest_in_use = _entry(cache, f"{in_use_sha}-k.analysis", 400, age_s=9000)
    old = _entry(cache, f"{'bb' * 32}-k.analysis", 400, age_s=5000)
    newer = _entry(cache, f"{'cc' * 32}-k.analysis", 400, age_s=1000)
    newest = _entry(cache, f"{'dd' * 32}-k.analysis", 400, age_s=10)
    dead_tmp = _entry(cache, ".stale.tmp", 50, age_s=7200)

    report = evict_cache(cache, max_bytes=1000, in_use_sha256=[in_use_sha])
    assert not old.exists() and not newer.exists() and not dead_tmp.exists()
    assert oldest_in_use.exists() and newest.exists()
    assert report.evicted == 2 and report.bytes_after == 800 and report.touched == 1
    assert report.evicted_in_use == 0
    tight = evict_cache(cache, max_bytes=300, in_use_sha256=[in_use_sha])
    assert tight.bytes_after == 0 and tight.evicted_in_use == 1 and not (cache / "recordings").exists()


def test_staging_of_dead_runs_is_pruned_and_live_ones_kept(tmp_path):
    staging = tmp_path / ".staging"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    host = __import__("socket").gethostname()
    folders = {}
    for name, owner, age_s in [("dead", {"pid": int(dead.stdout), "host": host}, 0),
                               ("live", {"pid": live.pid, "host": host}, 10 * 86400),
                               ("own-pid", {"pid": os.getpid(), "host": host}, 0),  # a container's pid 1
                               ("old-no-owner", None, 2 * 86400), ("fresh-no-owner", None, 0)]:
        folder = staging / name
        folder.mkdir(parents=True)
        if owner:
            (folder / "owner.json").write_text(json.dumps(owner))
        (folder / "part.parquet").write_bytes(b"p")
        moment = time.time() - age_s
        for path in (folder / "part.parquet", folder):
            os.utime(path, (moment, moment))
        folders[name] = folder
    try:
        removed = {p.name for p in prune_staging(tmp_path, max_age_s=86400)}
    finally:
        live.kill()
        live.wait()
    assert removed == {"dead", "own-pid", "old-no-owner"}
    assert folders["live"].exists() and folders["fresh-no-owner"].exists()


def test_old_logs_are_pruned(tmp_path):
    old, new = tmp_path / "nightly-a.jsonl", tmp_path / "nightly-b.jsonl"
    for path in (old, new):
        path.write_text("{}\n")
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    assert prune_logs(tmp_path, keep_days=30) == [old]
    assert new.exists()


def test_exit_codes_in_help_and_operations_doc_agree():
    from click.testing import CliRunner

    from pipeline.cli import main

    help_text = CliRunner().invoke(main, ["nightly", "--help"]).output
    doc = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    documented = dict(line.split("|")[1:3] for line in doc.splitlines() if line.startswith("| ") and
                      line.split("|")[1].strip().isdigit())
    assert sorted(int(code) for code in documented) == [0, 1, 2, 3, 4]
    flat = " ".join(help_text.split())
    for code, words in [(0, "completed"), (1, "fail"), (2, "usage"), (3, "--fail-on"), (4, "lock")]:
        said = flat.split(f"; {code} " if code else "Exit codes: 0 ", 1)[1].split(";")[0]
        assert words in said and words in documented[f" {code} "], (code, said)
    assert "--wait" in help_text and "--force" in help_text
