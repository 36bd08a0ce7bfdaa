"""`trainaudit nightly`: the scheduled, incremental audit of a growing archive.

A run takes the output folder's lock, stamps every input file (SHA-256, reused while a file's stat is
unchanged; every file is read again with --rehash or every `run.rehash_every_days`), and compares each
class with the manifest of the last completed run. Only new, changed or damaged classes are audited; their
recordings whose stamps are unchanged are neither hashed nor probed again (the manifest's hash is passed
on, the probe comes from the cache). The cross-class rules (TEACHER_CONFLICT, CLASS_MERGED,
RECORDING_REUSED, IDENTITY_SHARED) run over the audited classes and the stored views of the others
(pipeline/crossclass.py), never by re-auditing them; only the views of the classes a change can pair with
(and of their partners) are read (pipeline/crossindex.py), the others' cross-class rows stand. An
unchanged class whose cross-class findings changed gets its findings (and problems) rewritten, nothing
else. The outputs equal those of a full run (tests/test_nightly_incremental.py, tests/test_crossindex.py).
The manifest is published last, the run's row in `runs` after it: a run that dies earlier leaves files
that do not match the manifest, and their classes are redone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pipeline
from pipeline.config import CONFIG_DIR, load_pipeline_config, stable_hash
from pipeline.crossclass import CrossInputs, Masker, StoredClass, ViewStore
from pipeline.ingest.confine import display_path
from pipeline.model import worst_severity
from pipeline.ops.digest import sha256_bytes, tree_digest
from pipeline.ops.disk import Eviction, evict_cache, prune_logs, prune_staging, remove_partial_writes
from pipeline.ops.lock import LockHeld, RunLock
from pipeline.ops.manifest import (ClassEntry, ClassInputs, Manifest, fingerprint_outputs, hash_class_inputs,
                                   published_files)
from pipeline.ops.runlog import JsonLog

from pipeline.audit import Progress
PAUSE_ENV = "TRAINAUDIT_TEST_PAUSE_AT"  # test hook: stop at a named point (see _pause)


class EmptyArchive(Exception):
    """No class folder under the archive root: refuse rather than treat every class as removed."""


@dataclass(frozen=True)
class NightlyOptions:
    config_path: Path | None = None
    rules_dir: Path | None = None
    lang: str | None = None
    analyse_video: bool | None = None
    workers: int | None = None
    scheduler: str | None = None
    force: bool = False  # redo every class (the analysis cache still spares unchanged videos)
    rehash: bool = False  # read every input file again instead of trusting unchanged stats
    wait: bool = False
    wait_timeout_s: float | None = None
    log_file: Path | None = None
    staging_max_age_h: float = 24.0  # staging folders with no checkable owner: pruned after this long
    keep_logs_days: float = 30.0


@dataclass
class Plan:
    changed: dict[str, str]  # class folder (relative to the root) -> why it is redone
    unchanged: list[str]
    vanished: list[str]

    @property
    def needs_audit(self) -> bool:
        return bool(self.changed or self.vanished)


@dataclass
class NightlyResult:
    run_id: str
    out: Path
    log_path: Path
    started: dt.datetime
    finished: dt.datetime | None = None
    plan: Plan | None = None
    manifest: Manifest | None = None
    audited: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # folder -> reason, failed in this run
    timings_s: dict[str, float] = field(default_factory=dict)
    hashed_bytes: int = 0
    cross_updated: list[str] = field(default_factory=list)  # unchanged classes whose cross-class rows changed
    reuse: dict = field(default_factory=dict)  # reused-footage comparison counts (crossclass.py)
    full_hash: bool = False  # every input file was read again (--rehash or rehash_every_days)
    previous: Manifest | None = None  # the manifest this run started from
    eviction: Eviction | None = None
    took_over_from: dict | None = None
    settings_hash: str | None = None
    error: str | None = None

    def failing(self) -> dict[str, str]:
        """Every class whose current state is failed: this run's failures and unchanged broken classes."""
        entries = self.manifest.classes if self.manifest else {}
        return {rel: e.reason or "failed" for rel, e in entries.items() if e.status == "failed"}

    def findings_by_severity(self) -> Counter:
        total: Counter = Counter()
        for entry in (self.manifest.classes.values() if self.manifest else ()):
            total.update(entry.findings_by_severity)
        return total

    def worst_severity(self) -> str | None:
        return worst_severity(s for s, n in self.findings_by_severity().items() if n)

    @property
    def status(self) -> str:
        if self.error:
            return "failed"
        return "completed_with_failures" if self.failing() else "completed"


def _pause(point: str) -> None:
    """Test hook: when TRAINAUDIT_TEST_PAUSE_AT names this point, announce it and wait (to be killed, or
    for TRAINAUDIT_TEST_PAUSE_S seconds). Makes crash and concurrency tests deterministic."""
    if os.environ.get(PAUSE_ENV) != point:
        return
    marker = os.environ.get("TRAINAUDIT_TEST_PAUSE_FILE")
    if marker:
        Path(marker).write_text(f"{os.getpid()} {point}\n", encoding="utf-8")
    print(f"PAUSED {point}", file=sys.stderr, flush=True)
    time.sleep(float(os.environ.get("TRAINAUDIT_TEST_PAUSE_S", "3600")))


def settings_hash(config, rules_dir: Path | None, analyse_video: bool, lang: str, root: Path | None = None,
                  mask: Masker | None = None) -> str:
    """Everything besides the inputs that changes the outputs: a change redoes every class. The archive
    root as given (the stored views hold paths under it) and the ID-mask key (the stored views' ID
    numbers are masked with it) are part of it."""
    run = dataclasses.replace(config.run, rehash_every_days=0.0)  # how often to hash changes no output
    return stable_hash({"config": dataclasses.replace(config, run=run),
                        "rules": tree_digest(rules_dir or CONFIG_DIR / "rules"),
                        "checkin_formats": tree_digest(CONFIG_DIR / "checkin_formats"),
                        "analyse_video": analyse_video, "lang": lang, "pipeline_version": pipeline.__version__,
                        "root": None if root is None else str(root),
                        "mask": None if mask is None else sha256_bytes(mask.key)})


def relative_folder(folder: Path, root: Path) -> str:
    return Path(os.path.relpath(Path(folder).resolve(), Path(root).resolve())).as_posix()


def plan_run(inputs: dict[str, ClassInputs], previous: Manifest, settings: str,
             published: dict[str, dict[str, Path]], force: bool) -> Plan:
    changed, unchanged = {}, []
    for rel, stamped in sorted(inputs.items()):
        entry = previous.classes.get(rel)
        if force:
            changed[rel] = "forced"
        elif entry is None:
            changed[rel] = "new class"
        elif previous.settings_hash != settings:
            changed[rel] = "configuration, rule packs or pipeline version changed"
        elif entry.inputs_sha256 != stamped.digest:
            names = sorted(set(entry.inputs) ^ set(stamped.files) | {
                name for name in set(entry.inputs) & set(stamped.files)
                if entry.inputs[name].sha256 != stamped.files[name].sha256})
            changed[rel] = ("inputs changed: " + ", ".join(map(display_path, names[:5]))  # GBK names shown
                            + (" ..." if len(names) > 5 else ""))
        elif not _outputs_match(entry, published):
            changed[rel] = "published files do not match the manifest (an earlier run was interrupted)"
        else:
            unchanged.append(rel)
    vanished = sorted(set(previous.classes) - set(inputs))
    if changed or vanished:  # a folder refused as a duplicate class_id may be the owner now
        for rel in [r for r in unchanged if "class_id already used" in (previous.classes[r].reason or "")]:
            unchanged.remove(rel)
            changed[rel] = "read again: its class_id was taken by another folder, which changed"
    return Plan(changed, unchanged, vanished)


def _outputs_match(entry: ClassEntry, published: dict[str, dict[str, Path]]) -> bool:
    files = published.get(entry.output_key, {}) if entry.output_key else {}
    if set(files) != set(entry.outputs):
        return False
    return fingerprint_outputs(files) == entry.outputs


def _output_key(outcome) -> str | None:
    """Where audit_archive publishes a class's rows (None: nothing is published for it)."""
    from pipeline.outputs.store import class_key, unreadable_key

    if outcome.class_id is None:
        return unreadable_key(outcome.folder)
    return class_key(outcome.class_id) if outcome.status in ("audited", "failed") else None


def _publish_state(result, root: Path, out: Path, inputs: dict[str, ClassInputs], previous: Manifest,
                   settings: str, run_id: str, cross_updates: dict[str, tuple]) -> Manifest:
    """Remove rows no class produces any more, then describe what is published now: this run's classes from
    their outcomes, the others from the last manifest (with their cross-class part updated)."""
    from pipeline.crossclass import archive_rule_ids, cross_digest, severities
    from pipeline.outputs.store import class_key

    outcomes = {relative_folder(o.folder, root): o for o in result.outcomes}
    rule_ids = archive_rule_ids()
    keys = {rel: _output_key(o) for rel, o in outcomes.items()}
    kept = {rel: e for rel, e in previous.classes.items() if rel in inputs and rel not in outcomes}
    live = {k for k in keys.values() if k} | {e.output_key for e in kept.values() if e.output_key}
    published = published_files(out)
    candidates = {e.output_key for e in previous.classes.values() if e.output_key}
    candidates |= {class_key(o.class_id) for o in outcomes.values() if o.class_id is not None}
    views = ViewStore(out)
    touched = candidates - live
    for stale in touched:
        for path in published.get(stale, {}).values():
            path.unlink(missing_ok=True)
    for rel, outcome in outcomes.items():  # a class that failed now keeps no view of an earlier success
        if outcome.status != "audited" and outcome.class_id is not None:
            views.remove(class_key(outcome.class_id))
            touched.add(class_key(outcome.class_id))
    for key in touched & set(published):  # what the two loops removed (not listing OUT again)
        published[key] = {rel: path for rel, path in published[key].items() if path.exists()}
        if not published[key]:
            del published[key]
    manifest = Manifest(settings, pipeline.__version__, run_id)
    for rel, stamped in inputs.items():
        outcome = outcomes.get(rel)
        if outcome is None:
            entry = kept.get(rel)
            if entry is None:  # found by find_class_folders but not by the audit: redone next time
                continue
            update = cross_updates.get(entry.class_id) if entry.class_id else None
            if update is not None:
                findings, errors = update
                own = {k: v - entry.cross_by_severity.get(k, 0) for k, v in entry.findings_by_severity.items()}
                total = {k: own.get(k, 0) + severities(findings).get(k, 0) for k in {*own, *severities(findings)}}
                entry = dataclasses.replace(
                    entry, cross_digest=cross_digest(findings, errors), cross_errors=len(errors),
                    cross_by_severity=severities(findings), findings_by_severity={k: v for k, v in total.items() if v},
                    outputs=fingerprint_outputs(published.get(entry.output_key, {})))
            manifest.classes[rel] = dataclasses.replace(entry, inputs=stamped.files, inputs_sha256=stamped.digest)
            continue
        key = keys[rel]
        cross = [f for f in outcome.findings if f.rule_id in rule_ids]
        audited = outcome.status == "audited"
        manifest.classes[rel] = ClassEntry(
            outcome.class_id, outcome.institution_id, outcome.status, outcome.reason, stamped.digest,
            stamped.files, key, fingerprint_outputs(published.get(key, {})) if key else {},
            dict(Counter(f.severity for f in outcome.findings)),
            cross_digest(cross, result.cross_errors) if audited else None,
            len(result.cross_errors) if audited else 0, severities(cross) if audited else {})
    return manifest


def _rehash_due(previous: Manifest, every_days: float, now: dt.datetime) -> bool:
    """Whether the full hash of every input file is due (rehash_every_days after the last one)."""
    if not every_days or not previous.full_hash_at:
        return False
    try:
        last = dt.datetime.fromisoformat(previous.full_hash_at)
    except ValueError:
        return True
    return (now - last).total_seconds() >= every_days * 86400


def _stamp_inputs(folders: list[Path], root: Path, previous: Manifest, rehash: bool,
                  progress: Progress) -> dict[str, ClassInputs]:
    inputs = {}
    for i, folder in enumerate(folders):
        rel = relative_folder(folder, root)
        entry = previous.classes.get(rel)
        inputs[rel] = hash_class_inputs(folder, root, entry.inputs if entry else None, rehash=rehash)
        progress("hash", i + 1, len(folders))
    return inputs


def run_nightly(root: Path, out: Path, options: NightlyOptions = NightlyOptions(),
                progress: Progress | None = None) -> NightlyResult:
    """One nightly run. Raises LockHeld when another run holds OUT's lock (and --wait was not given or
    timed out), EmptyArchive when the root holds no class, SettingsError for a bad configuration."""
    from pipeline.audit import new_run_id

    root, out = Path(root), Path(out)
    started = dt.datetime.now(dt.timezone.utc)
    run_id = new_run_id(started)
    out.mkdir(parents=True, exist_ok=True)
    log_path = options.log_file or out / "logs" / f"nightly-{run_id}.jsonl"
    log = JsonLog(log_path, run_id)
    result = NightlyResult(run_id, out, log_path, started)
    log.event("run_requested", archive=str(root), out=str(out), host=socket.gethostname(),
              pipeline_version=pipeline.__version__)
    lock = RunLock(out)
    try:
        acquired = lock.acquire(run_id, wait=options.wait, timeout_s=options.wait_timeout_s)
    except LockHeld as exc:
        log.event("lock_held", level="warning", lock=str(exc.path), holder=exc.holder)
        log.close()
        raise
    try:
        result.timings_s["lock_wait_s"] = acquired.waited_s
        if acquired.took_over:
            result.took_over_from = acquired.previous
            log.event("lock_taken_over", level="warning", previous=acquired.previous,
                      message="the previous run ended without releasing the lock (crash or kill); its "
                              "unpublished work is redone")
        _pause("locked")
        _run_locked(root, out, options, progress or (lambda *a: None), log, result)
    except BaseException as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        try:
            log.event("run_failed", level="error", error=result.error)
            if isinstance(exc, Exception):
                _record_run(result, root, log)
        except OSError:  # a full disk takes the log and the runs table too: the caller reports `exc`
            pass
        raise
    finally:
        lock.release()
        log.close()
    return result


def _run_locked(root: Path, out: Path, options: NightlyOptions, progress: Progress, log: JsonLog,
                result: NightlyResult) -> None:
    from pipeline.ingest.archive import find_class_folders

    clock = time.perf_counter()
    for folder in prune_staging(out, options.staging_max_age_h * 3600):
        log.event("staging_pruned", folder=str(folder))
    for path in prune_logs(out / "logs", options.keep_logs_days):
        log.event("log_pruned", path=str(path))
    for path in remove_partial_writes(out):  # a run stopped by a full disk or a kill left them
        log.event("partial_write_removed", path=str(path))
    config = load_pipeline_config(options.config_path)
    analyse = config.run.analyse_video if options.analyse_video is None else options.analyse_video
    mask = Masker.for_output(ViewStore(out).folder)
    result.settings_hash = settings = settings_hash(config, options.rules_dir, analyse,
                                                    options.lang or config.run.lang, root, mask)
    folders = find_class_folders(root)
    if not folders:
        raise EmptyArchive(f"no class folder (a folder holding class.yaml) under {root}; is the archive "
                           f"mounted? Nothing was changed in {out}.")
    previous = result.previous = Manifest.load(out)
    if previous.problem:
        log.event("manifest_unusable", level="warning", problem=previous.problem)
    result.full_hash = options.rehash or _rehash_due(previous, config.run.rehash_every_days, result.started)
    inputs = _stamp_inputs(folders, root, previous, result.full_hash, progress)
    result.hashed_bytes = sum(i.hashed_bytes for i in inputs.values())
    for rel, stamped in inputs.items():
        for name, target in stamped.refused:
            log.event("symlink_refused", level="warning", folder=rel, file=name, target=target)
    result.timings_s["stamp_s"] = time.perf_counter() - clock
    plan = result.plan = plan_run(inputs, previous, settings, published_files(out), options.force)
    result.timings_s["plan_s"] = time.perf_counter() - clock - result.timings_s["stamp_s"]
    log.event("planned", classes=len(inputs), changed=plan.changed, unchanged=len(plan.unchanged),
              vanished=plan.vanished, hashed_bytes=result.hashed_bytes)
    _pause("planned")
    restamped = any(inputs[rel].files != previous.classes[rel].inputs for rel in plan.unchanged)
    if plan.needs_audit:
        result.manifest = _audit(root, out, options, progress, log, result, inputs, previous, settings, mask)
    else:  # new stamps of files whose bytes did not change (touched, copied back) are kept
        result.manifest = dataclasses.replace(previous, classes={
            rel: dataclasses.replace(e, inputs=inputs[rel].files) for rel, e in previous.classes.items()})
    if result.full_hash or not previous.full_hash_at:
        result.manifest.full_hash_at = result.started.isoformat()
    else:
        result.manifest.full_hash_at = previous.full_hash_at
    _pause("tables-published")
    if plan.needs_audit or restamped or result.manifest.full_hash_at != previous.full_hash_at:
        result.manifest.save(out)
        log.event("manifest_written", classes=len(result.manifest.classes))
    _pause("manifest-written")
    clock = time.perf_counter()
    cache_dir = Path(config.run.cache_dir)
    cache_dir = cache_dir if cache_dir.is_absolute() else out / cache_dir
    in_use = {s.sha256 for i in inputs.values() for s in i.files.values()}
    result.eviction = evict_cache(cache_dir, int(config.run.cache_max_gb * 1e9), in_use)
    result.timings_s["evict_s"] = time.perf_counter() - clock
    log.event("cache", level="warning" if result.eviction.evicted_in_use else "info",
              **vars(result.eviction))
    _record_run(result, root, log)


def _stored_views(out: Path, root: Path, plan: Plan, previous: Manifest, log: JsonLog
                  ) -> tuple[dict[str, StoredClass], ViewStore, tuple | None]:
    """The stored views of the unchanged, audited classes, and the index entries (crossindex.py) of the
    classes audited again or removed, as the last run left them (None: the index cannot say which views a
    change touches). With the index, a view is read only if the cross-class step needs it: each entry names
    the stamp the manifest keeps of its view file (plan_run checked the file against it). Without, every view
    is read and decoded now, and a class whose view cannot be read is redone."""
    from pipeline import crossindex
    from pipeline.crossclass import VIEW_SUFFIX, VIEWS_DIR

    store = ViewStore(out)
    index = crossindex.load_index(store.folder)
    if index is not None and any(e.cross_errors for e in previous.classes.values()):
        index = None  # a rule failed last time: its errors are on every class, redo them all as a full run

    def audited(rel: str) -> ClassEntry | None:
        entry = previous.classes.get(rel)
        return entry if entry is not None and entry.status == "audited" and entry.class_id else None

    def indexed(entry: ClassEntry) -> bool:  # its entry describes the view the manifest published
        keys = index.get(entry.output_key) if index is not None else None
        return keys is not None and keys.class_id == entry.class_id and \
            keys.view_stamp == entry.outputs.get(f"{VIEWS_DIR}/{entry.output_key}{VIEW_SUFFIX}")

    unchanged = [(rel, audited(rel)) for rel in plan.unchanged if audited(rel)]
    gone = [audited(rel) for rel in [*plan.changed, *plan.vanished] if audited(rel)]  # their pairs may end
    if index is not None and all(indexed(e) for _, e in unchanged) and all(indexed(e) for e in gone):
        stored = {e.class_id: StoredClass(None, e.output_key, store, index[e.output_key]) for _, e in unchanged}
        return stored, store, tuple(index[e.output_key] for e in gone)
    stored = {}
    for rel, entry in unchanged:
        try:
            stored[entry.class_id] = StoredClass(store.load(entry.output_key), entry.output_key, store)
        except Exception as exc:  # damaged or from another version: the class is audited again
            plan.unchanged.remove(rel)
            plan.changed[rel] = f"its stored cross-class view is unusable ({type(exc).__name__}: {exc})"
            log.event("view_unusable", level="warning", folder=rel, error=str(exc))
    return stored, store, None


def _audit(root: Path, out: Path, options: NightlyOptions, progress: Progress, log: JsonLog,
           result: NightlyResult, inputs: dict[str, ClassInputs], previous: Manifest, settings: str,
           mask: Masker) -> Manifest:
    from pipeline.audit import audit_archive
    from pipeline.crossclass import cross_digest, republish_cross
    from pipeline.outputs.store import Store

    def hook(stage: str, done: int, total: int) -> None:
        progress(stage, done, total)
        if total and done in (0, total) or stage in ("write", "rules"):
            log.event("progress", stage=stage, done=done, total=total)
        if stage == "write":
            _pause(f"write:{done}")

    clock = time.perf_counter()
    plan = result.plan
    stored, store, gone = _stored_views(out, root, plan, previous, log)
    kept = store.matches()
    folders = {rel: (Path(root) / rel).resolve() for rel in inputs}
    known_ids = {folders[rel]: previous.classes[rel].class_id for rel in plan.unchanged
                 if previous.classes[rel].class_id and previous.classes[rel].status == "audited"}
    by_folder = {folders[rel]: stamped for rel, stamped in inputs.items()}

    def known_sha256(folder: Path, rel_path: str) -> str | None:
        stamp = by_folder.get(Path(folder).resolve(), None)
        stamp = stamp.files.get(rel_path) if stamp else None
        return stamp.sha256 if stamp is not None and stamp.ino else None  # ino 0: a link or unreadable

    audited = audit_archive(root, out, config_path=options.config_path, rules_dir=options.rules_dir,
                            lang=options.lang, analyse_video=options.analyse_video, workers=options.workers,
                            scheduler=options.scheduler, progress=hook, mode="nightly", run_id=result.run_id,
                            record_run=False, only={folders[rel] for rel in plan.changed}, known_ids=known_ids,
                            known_sha256=known_sha256, cross=CrossInputs(mask, store, stored, kept, gone is not None,
                                                             gone or ()))
    result.timings_s["audit_s"] = time.perf_counter() - clock
    result.reuse = audited.reuse_stats
    changed = set(plan.changed)
    for outcome in audited.outcomes:
        rel = relative_folder(outcome.folder, root)
        if outcome.status == "failed":
            result.failed[rel] = outcome.reason or "failed"
            log.event("class_failed", level="error", folder=rel, class_id=outcome.class_id, reason=outcome.reason)
        elif rel in changed:
            result.audited.append(rel)
            log.event("class_audited", folder=rel, class_id=outcome.class_id, why=plan.changed[rel],
                      findings=len(outcome.findings))
    clock = time.perf_counter()
    updates = {}
    entries = {e.class_id: e for rel, e in previous.classes.items() if rel in plan.unchanged and e.class_id}
    writer = Store(out)
    try:
        for cid, findings in sorted(audited.cross.items()):
            entry = entries.get(cid)
            if entry is None or entry.cross_digest == cross_digest(findings, audited.cross_errors):
                continue
            republish_cross(writer, out, cid, entry.institution_id, stored[cid].view.archive.info.timezone,
                            entry.output_key, findings, audited.cross_errors, entry.cross_errors)
            updates[cid] = (findings, audited.cross_errors)
            result.cross_updated.append(cid)
    finally:
        writer.close()
    log.event("cross_class", classes_updated=result.cross_updated, reuse=audited.reuse_stats)
    result.timings_s["cross_publish_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    manifest = _publish_state(audited, root, out, inputs, previous, settings, result.run_id, updates)
    result.timings_s["fingerprint_s"] = time.perf_counter() - clock
    return manifest


def _record_run(result: NightlyResult, root: Path, log: JsonLog) -> None:
    """The run's row in `runs`: what was audited, skipped, failed, and how long each part took."""
    from pipeline.outputs.store import Store, run_row

    result.finished = dt.datetime.now(dt.timezone.utc)
    plan = result.plan
    classes = len(plan.changed) + len(plan.unchanged) if plan else 0
    detail = {"audited": result.audited, "skipped": plan.unchanged if plan else [],
              "why": plan.changed if plan else {}, "vanished": plan.vanished if plan else [],
              "failed": result.failed, "still_failing": {k: v for k, v in result.failing().items()
                                                         if k not in result.failed},
              "rules_rerun_for_all_classes": bool(plan and plan.needs_audit),
              "cross_class_rows_updated": result.cross_updated, "reuse": result.reuse,
              "full_hash": result.full_hash,
              "timings_s": result.timings_s, "hashed_bytes": result.hashed_bytes,
              "findings_by_severity": dict(result.findings_by_severity()),
              "took_over_lock_from": result.took_over_from, "error": result.error, "log": str(result.log_path),
              "cache": vars(result.eviction) if result.eviction else None}
    row = run_row(run_id=result.run_id, started=result.started, finished=result.finished,
                  config_hash=result.settings_hash, mode="nightly", archive=root, classes=classes,
                  audited=len(result.audited), skipped=len(plan.unchanged) if plan else 0, failed=len(result.failed),
                  findings=sum(result.findings_by_severity().values()), errors=len(result.failing()),
                  status=result.status, detail=detail)
    store = Store(result.out)
    try:
        store.write_run(result.run_id, row)
    finally:
        store.close()
    log.event("run_finished", status=result.status, classes=classes, audited=len(result.audited),
              skipped=row["skipped"], failed=len(result.failed), still_failing=len(detail["still_failing"]),
              findings=row["findings"], duration_s=row["duration_s"], timings_s=result.timings_s)
