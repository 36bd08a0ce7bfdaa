"""The one orchestrating place: read classes, analyse recordings on an executor, apply the rules, publish.

Stages are pure functions over records and DataFrames; this module does the reading, the fan-out of
per-recording tasks (a local process pool, or a Dask cluster through the same `concurrent.futures`
seam), and the writing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence


from pipeline.analysis import GallerySpec, RecordingAnalysis, RecordingTask, safe_analyse
from pipeline import crossclass
from pipeline.config import RulePack, RulePacks, load_pipeline_config, stable_hash
from pipeline.crossclass import CrossInputs, Masker
from pipeline.attendance.evidence import enrollment_problems
from pipeline.outputs.publish import Audited, publish_snapshots, publish_tables
from pipeline.outputs.snapshots import settle, write_snapshots
from pipeline.ingest.archive import iter_classes
from pipeline.model import ClassArchive, Finding, Problem, worst_severity
from pipeline.ops.worker import ONE_THREAD
from pipeline.outputs.store import Store, class_key, run_row

Progress = Callable[[str, int, int], None]  # (stage, done, total)
log = logging.getLogger(__name__)


@dataclass
class ClassOutcome:
    folder: Path
    class_id: str | None
    institution_id: str | None
    status: str  # audited / failed / skipped
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    reason: str | None = None


@dataclass
class AuditResult:
    run_id: str
    out: Path
    outcomes: list[ClassOutcome]
    started: dt.datetime
    finished: dt.datetime
    # Classes not audited in this run but whose stored views took part in the cross-class rules (nightly):
    # class_id -> their cross-class findings now; the errors of cross-class rules; reuse comparison counts
    cross: dict[str, list[Finding]] = field(default_factory=dict)
    cross_errors: list[Problem] = field(default_factory=list)
    reuse_stats: dict = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings]

    @property
    def failed(self) -> list[ClassOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def worst_severity(self) -> str | None:
        return worst_severity(f.severity for f in self.findings)


def _noop(stage: str, done: int, total: int) -> None:
    return None


def make_executor(workers: int, scheduler: str | None = None) -> tuple[Executor, Callable[[], None]]:
    """Threads of this process by default; a Dask cluster's executor when a scheduler address is given.

    Returns the executor and how to release it. Tasks receive paths and settings only, so the same
    task function runs in both; Dask reschedules the task of a worker that dies.

    Locally each thread supervises its own decoding child (pipeline/analysis.py), which decodes and runs the
    face pass on one compute thread, under a time limit, so that a stuck or crashing decoder costs one
    file. What a thread does itself (probe, hash, cache reads, waiting) needs no process of its own: a
    process per worker between this one and its child only held ~53 MB of imports each
    (benchmarks/results/memory_per_worker.md). Releasing the executor ends the children.
    """
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), client.close
    import os
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.analysis import set_child_env, stop_children

    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1, thread_name_prefix="trainaudit-worker",
                              initializer=set_child_env, initargs=(ONE_THREAD,))

    def release() -> None:
        pool.shutdown(wait=True)
        stop_children()

    return pool, release


def tasks_of(loaded) -> list:
    """(archive, recording) for every recording of the loaded classes."""
    return [(archive, rec) for archive, _ in loaded for rec in archive.recordings]


def gallery_spec(archive: ClassArchive, max_image_pixels: int | None = None) -> GallerySpec | None:
    people = [(t.trainee_id, "trainee", tuple(str(p) for p in t.photos)) for t in archive.trainees if t.photos]
    people += [(t.teacher_id, "teacher", tuple(str(p) for p in t.photos)) for t in archive.teachers if t.photos]
    if not people:
        return None
    return GallerySpec(tuple(people), max_image_pixels) if max_image_pixels else GallerySpec(tuple(people))


def run_recordings(tasks: Sequence[RecordingTask], executor: Executor | None, progress: Progress) -> list[RecordingAnalysis]:
    """Every task's result, in task order. One failing video never aborts the rest. A task that answers
    with a plan of chunks (a long file, `RecordingTask.may_split`) has its chunks run as tasks of their
    own, on any worker, and joined (pipeline/chunks.py)."""
    from pipeline.chunks import chunk_tasks, finish_chunks

    if not tasks:
        return []
    results: list[RecordingAnalysis | None] = [None] * len(tasks)
    progress("video", 0, len(tasks))
    if executor is None:
        for i, task in enumerate(tasks):
            plan = safe_analyse(task)
            results[i] = (finish_chunks(task, plan, [safe_analyse(t) for t in chunk_tasks(task, plan)])
                          if plan.chunks else plan)
            progress("video", i + 1, len(tasks))
        return results  # type: ignore[return-value]
    from concurrent.futures import FIRST_COMPLETED, wait

    futures = {executor.submit(safe_analyse, task): (i, -1) for i, task in enumerate(tasks)}
    split: dict[int, tuple[RecordingAnalysis, list]] = {}  # file -> (its plan, its chunks' results so far)
    done = 0
    while futures:
        finished, _ = wait(futures, return_when=FIRST_COMPLETED)
        for future in finished:
            i, k = futures.pop(future)
            try:
                value = future.result()
            except Exception as exc:  # a worker that died: the file is reported, the audit goes on
                value = _worker_failed(tasks[i], exc)
            if k < 0 and value.chunks:  # a long file: its chunks go to every worker
                chunks = chunk_tasks(tasks[i], value)
                split[i] = (value, [None] * len(chunks))
                futures.update({executor.submit(safe_analyse, t): (i, n) for n, t in enumerate(chunks)})
                continue
            if k >= 0:
                plan, parts = split[i]
                parts[k] = value
                if any(p is None for p in parts):
                    continue
                value = finish_chunks(tasks[i], plan, parts)
            results[i] = value
            done += 1
            progress("video", done, len(tasks))
    return results  # type: ignore[return-value]


def _worker_failed(task: RecordingTask, exc: Exception) -> RecordingAnalysis:
    from pipeline.video.probe import failed_probe

    reason = f"worker failed: {type(exc).__name__}: {exc}"
    return RecordingAnalysis(class_id=task.class_id, path=task.path, probe=failed_probe(Path(task.path), reason), error=reason,
                             recording_id=task.recording_id)


def audit_archive(root: Path, out: Path, *, config_path: Path | None = None, rules_dir: Path | None = None,
                  lang: str | None = None, analyse_video: bool | None = None, workers: int | None = None,
                  scheduler: str | None = None, executor: Executor | None = None,
                  progress: Progress = _noop, only: set[Path] | None = None, mode: str = "audit",
                  run_id: str | None = None, record_run: bool = True, known_ids: dict[Path, str] | None = None,
                  known_sha256: Callable[[Path, str], str | None] | None = None,
                  cross: CrossInputs | None = None) -> AuditResult:
    """`run_id` and `record_run=False` let a caller that records the run itself (nightly) own its row.

    Incremental runs (nightly): `only` (resolved folders) are audited; the other folders are not read, their
    class ids (`known_ids`, resolved folder -> class_id) still claim their ids; `known_sha256(folder,
    rel_path)` gives a recording's hash when it is known (then neither hashed nor probed again);
    `cross` brings the other classes' stored views into the cross-class rules."""
    started = dt.datetime.now(dt.timezone.utc)
    run_id = run_id or new_run_id(started)
    config = load_pipeline_config(config_path)
    lang = lang or config.run.lang
    analyse = config.run.analyse_video if analyse_video is None else analyse_video
    from pipeline.faces.images import set_max_pixels

    set_max_pixels(config.ingest.limits.max_image_pixels)  # this process's decodes (report thumbnails)
    out = Path(out)
    cache_dir = Path(config.run.cache_dir)
    cache_dir = cache_dir if cache_dir.is_absolute() else out / cache_dir

    progress("read", 0, 0)
    packs = RulePacks(rules_dir)
    loaded, outcomes = _load_classes(Path(root), config, packs, only, known_ids)
    known = known_sha256 or (lambda folder, rel: None)
    import os

    workers = workers or config.run.workers or os.cpu_count() or 1
    # one file may still use several workers, in chunks, when it is long (VideoParams.chunk_s)
    several = workers > 1 and (len(tasks_of(loaded)) > 1 or analyse and config.video.chunk_s > 0)
    pool, release = executor, None
    if executor is None and (scheduler or several):
        pool, release = make_executor(workers, scheduler)
    malloc = (config.run.malloc_mmap_threshold_bytes, config.run.malloc_trim_threshold_bytes)
    tasks = [RecordingTask(archive.info.class_id, str(rec.path), config.video, config.faces,
                           gallery_spec(archive, config.ingest.limits.max_image_pixels),
                           str(cache_dir), analyse, malloc, may_split=pool is not None,
                           sha256=known(archive.info.folder, rec.path.relative_to(archive.info.folder).as_posix()),
                           recording_id=rec.recording_id)
             for archive, rec in tasks_of(loaded)]
    try:
        analyses = run_recordings(tasks, pool, progress)  # 1. per recording, on the executor
        audited = _evaluate(loaded, analyses, config, out, lang, progress)  # 2-3. attendance, rules per class
        publish_snapshots(audited.items, pool)  # the frames the findings ask for, on the executor
        cross_result = _cross(audited, analyses, config, packs, out, lang,
                              cross or CrossInputs(Masker.for_output(None)), pool)
    finally:
        if release is not None:
            release()
    outcomes.extend(audited.outcomes)
    store = Store(out)
    try:
        publish_tables(store, audited.items, outcomes, progress)  # 4. tables (the CLI builds the report)
        finished = dt.datetime.now(dt.timezone.utc)
        result = AuditResult(run_id, out, outcomes, started, finished, *cross_result)
        if record_run:
            store.write_run(run_id, _run_row(result, config, Path(root), mode))
    finally:
        store.close()
    return result


def _load_classes(root: Path, config, packs: RulePacks, only: set[Path] | None, known_ids: dict[Path, str] | None
                  ) -> tuple[list[tuple[ClassArchive, RulePack]], list[ClassOutcome]]:
    loaded, failed = [], []
    for folder, archive, problems in iter_classes(root, config.ingest, pack_names=packs.names, only=only,
                                                  known_ids=known_ids):
        if archive is None:
            failed.append(ClassOutcome(folder, None, None, "failed", problems=problems,
                                       reason="; ".join(p.describe() for p in problems[:3])))
            continue
        try:
            pack = pack_of(archive, packs)
        except Exception as exc:
            problem = Problem(f"{folder.name}/class.yaml", f"no usable rule pack: {exc}", column="province",
                              class_id=archive.info.class_id)
            failed.append(ClassOutcome(folder, archive.info.class_id, archive.info.institution_id, "failed",
                                       problems=[*problems, problem], reason=str(exc)))
            continue
        loaded.append((archive, pack))
    return loaded, failed


def pack_of(archive: ClassArchive, packs: RulePacks) -> RulePack:
    start = archive.info.start_date or (min(s.date for s in archive.sessions) if archive.sessions else None)
    return packs.get(archive.info.province, start)


@dataclass
class _Audited:
    """Per audited class: its evidence, pack, outcome (findings, problems) and what the rules returned."""

    items: list[Audited]
    outcomes: list[ClassOutcome]


def _evaluate(loaded, analyses: Sequence[RecordingAnalysis], config, out: Path, lang: str,
              progress: Progress) -> _Audited:
    """The attendance stage and the class-scope rules, per class (both pure: the photo digests are read
    here, in the orchestrator)."""
    from pipeline import attendance
    from pipeline.ingest.photos import photo_digests
    from pipeline.rules.engine import evaluate

    by_class: dict[str, list[RecordingAnalysis]] = {}
    for analysis in analyses:
        by_class.setdefault(analysis.class_id, []).append(analysis)
    items, outcomes = [], []
    for i, (archive, pack) in enumerate(loaded):
        progress("rules", i, len(loaded))
        info = archive.info
        own = by_class.get(info.class_id, [])
        outcome = ClassOutcome(info.folder, info.class_id, info.institution_id, "audited",
                               problems=[*archive.problems, *enrollment_problems(archive, own)])
        outcomes.append(outcome)
        try:
            evidence = attendance.build(archive, own, pack, config.faces, out / "evidence" / class_key(info.class_id),
                                        photo_digests(archive))
            judged = evaluate(evidence, pack, lang=lang)
        except Exception as exc:  # one class's failure is recorded; the others are still audited
            outcome.status, outcome.reason = "failed", f"{type(exc).__name__}: {exc}"
            outcome.problems.append(Problem(info.class_id, f"audit failed: {outcome.reason}", class_id=info.class_id))
            continue
        outcome.problems.extend(judged.problems)
        outcome.findings.extend(judged.findings)
        items.append(Audited(evidence, pack, outcome, judged.snapshots))
    progress("rules", len(loaded), len(loaded))
    return _Audited(items, outcomes)


def _cross(audited: _Audited, analyses: Sequence[RecordingAnalysis], config, packs: RulePacks, out: Path, lang: str,
           cross: CrossInputs, executor: Executor | None) -> tuple[dict[str, list[Finding]], list[Problem], dict]:
    """The cross-class rules over this run's classes and the stored views of the others (crossclass.py):
    this run's classes get their findings and the rules' errors; returns the findings of the stored classes
    a change can touch (all of them unless `cross.selective`: crossindex.py), the errors and the reuse
    comparison counts."""
    from pipeline import crossindex

    fresh, fresh_fps, pack_by_id, fresh_keys = {}, [], {}, {}
    # Classes that failed evaluation take no part: the rules would drop their pairs anyway.
    by_class: dict[str, list[RecordingAnalysis]] = {}
    for analysis in analyses:
        by_class.setdefault(analysis.class_id, []).append(analysis)
    for item in audited.items:
        evidence, pack, cid = item.evidence, item.pack, item.outcome.class_id
        fps = [a.fingerprint for a in by_class.get(cid, []) if a.fingerprint is not None]
        view, stamp = crossclass.build_view(evidence, fps, cross.mask), None
        try:  # the rules read the view as stored, so a nightly run that loads it finds the same
            data = crossclass.encode(view)
            view = crossclass.decode(data)
            if cross.store is not None:
                cross.store.write(class_key(cid), data, fps)
                stamp = crossindex.stamp(cross.store.view_path(class_key(cid)))
        except Exception as exc:  # not stored: a nightly run finds no view and audits the class again
            log.warning("cross-class view of %s not stored: %s: %s", cid, type(exc).__name__, exc)
        fresh[cid], pack_by_id[cid] = view, pack
        fresh_keys[cid] = crossindex.view_keys(view, stamp)
        fresh_fps += fps
    stored = {cid: s for cid, s in cross.stored.items() if cid not in fresh}
    matches, stats = crossclass.find_reused_incremental(fresh_fps, list(stored.values()), cross.kept, config.video)
    if cross.store is not None:
        cross.store.write_matches(matches)
    selection = None
    if cross.selective and crossindex.selectable(crossclass.archive_rule_ids()):
        selection = crossindex.select(fresh_keys, {cid: s.keys for cid, s in stored.items()}, cross.gone, matches,
                                      cross.kept)
    findings, errors, shots = _evaluate_cross(fresh, stored, selection, pack_by_id, packs, matches, config, out, lang)
    if selection is not None and errors:  # a rule that failed: every class, as a full run sees it
        selection = None
        findings, errors, shots = _evaluate_cross(fresh, stored, None, pack_by_id, packs, matches, config, out, lang)
    if cross.store is not None:
        keys = {class_key(cid): k for cid, k in fresh_keys.items()}
        for cid, s in stored.items():
            keys[s.key] = s.keys if s.keys is not None else \
                crossindex.view_keys(s.view, crossindex.stamp(cross.store.view_path(s.key)))
        try:
            crossindex.write_index(cross.store.folder, keys)
        except OSError as exc:  # no index: the next nightly run reads every view
            log.warning("cross-class index not written: %s", exc)
    stats = {**stats, "views_read": sum(s.decoded for s in stored.values()), "views_stored": len(stored)}
    # A cross-class frame that could not be written loses its path (its error is logged, not published).
    failed = [request for request, _ in write_snapshots(shots, executor)]
    findings = {cid: settle(found, failed) for cid, found in findings.items()}
    for item in audited.items:  # a cross-class rule that failed concerns every class of the run
        item.outcome.findings.extend(findings[item.outcome.class_id])
        item.outcome.problems.extend(errors)
    return {cid: findings[cid] for cid in stored if cid in findings}, errors, stats


def _evaluate_cross(fresh: dict, stored: dict, selection, pack_by_id: dict, packs: RulePacks, matches, config,
                    out: Path, lang: str) -> tuple[dict[str, list[Finding]], list[Problem], list]:
    """evaluate_cross over this run's views and the stored ones `selection` needs (None: all); the findings
    of this run's classes and of the stored classes it affects (None: all), and only their snapshots."""
    chosen = {cid: s for cid, s in stored.items() if selection is None or cid in selection.needed}
    packs_now = dict(pack_by_id)
    for cid, item in chosen.items():
        packs_now[cid] = pack_of(item.view.archive, packs)
    views = dict(sorted({**{cid: s.view for cid, s in chosen.items()}, **fresh}.items()))
    ids = {str(r.path): (cid, r.recording_id) for cid, view in views.items() for r in view.archive.recordings}
    reuse = crossclass.reuse_frame(matches, ids, config.video.reuse_min_margin)
    findings, errors, shots = crossclass.evaluate_cross(views, packs_now, reuse, lang,
                                                        lambda cid: out / "evidence" / class_key(cid))
    if selection is not None:  # a needed class's own findings may lack pairs with classes not read
        keep = set(fresh) | selection.affected
        findings = {cid: found for cid, found in findings.items() if cid in keep}
        shots = [s for s in shots if s.class_id in keep]
    return findings, errors, shots


def new_run_id(started: dt.datetime) -> str:
    return started.strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def _run_row(result: AuditResult, config, root: Path, mode: str) -> dict:
    counts = Counter(o.status for o in result.outcomes)
    detail = {"failed": [{"folder": str(o.folder), "reason": o.reason} for o in result.failed],
              "findings_by_severity": dict(Counter(f.severity for f in result.findings))}
    return run_row(run_id=result.run_id, started=result.started, finished=result.finished,
                   config_hash=stable_hash(config), mode=mode, archive=root, classes=len(result.outcomes),
                   audited=counts.get("audited", 0), skipped=counts.get("skipped", 0), failed=counts.get("failed", 0),
                   findings=len(result.findings),
                   errors=sum(1 for o in result.outcomes for p in o.problems if p.level == "error"),
                   status="completed_with_failures" if counts.get("failed") else "completed", detail=detail)
