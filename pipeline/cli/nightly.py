"""`trainaudit nightly`: the command over pipeline/nightly.py (the scheduled, incremental audit)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.common import (EXIT_FAILURE, EXIT_FINDINGS, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, Progress,
                                 build_report)
from pipeline.model import SEVERITIES, at_least

if TYPE_CHECKING:
    from pipeline.nightly import NightlyResult


@click.command()
@click.argument("archive_root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (tables, manifest, lock, logs, cache).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Pipeline configuration (default: configs/pipeline.yaml).")
@click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of rule packs (default: configs/rules/).")
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Language of messages and report (default zh).")
@click.option("--workers", type=click.IntRange(0, 256), help="Worker processes (0: one per core).")
@click.option("--scheduler", metavar="tcp://HOST:8786", help="Run video tasks on this Dask cluster.")
@click.option("--no-video", is_flag=True, help="List and probe recordings, but do not decode them.")
@click.option("--fail-on", type=click.Choice(SEVERITIES),
              help=f"Exit {EXIT_FINDINGS} when a published finding has this severity or higher.")
@click.option("--wait", is_flag=True, help=f"Wait for a running nightly job instead of exiting with code {EXIT_LOCKED}.")
@click.option("--wait-timeout", type=click.FloatRange(0),
              help=f"With --wait: give up (exit {EXIT_LOCKED}) after this many seconds.")
@click.option("--force", is_flag=True, help="Redo every class (cached video analyses are still used).")
@click.option("--rehash", is_flag=True, help="Read every input file again instead of trusting unchanged file stats "
                                             "(done anyway every run.rehash_every_days).")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON-lines log (default: OUT/logs/nightly-<run_id>.jsonl).")
@click.option("--keep-logs-days", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Delete nightly logs in OUT/logs older than this.")
@click.option("--no-report", is_flag=True, help="Do not rebuild the HTML report and workbook.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def nightly(archive_root: Path, out: Path, config_path, rules_dir, lang, workers, scheduler, no_video, fail_on,
            wait, wait_timeout, force, rehash, log_file, keep_logs_days, no_report, quiet) -> None:
    """Audit only what changed in ARCHIVE_ROOT since the last run; safe to run twice at once or after a crash.

    Unchanged classes are skipped; a changed class is re-audited and its rows replaced; the cross-class
    rules are re-evaluated from the other classes' stored views (OUT/.trainaudit-cross), and the report
    pages of what changed are rebuilt with the index and workbook. One run at a time per OUT (lock file
    OUT/.trainaudit.lock); a lock left by a killed run is taken over. Each run is a row in OUT/runs and a
    JSON-lines log in OUT/logs.

    \b
    Exit codes: 0 completed; 1 completed with failed classes (or the run failed); 2 usage error;
    3 findings at or above --fail-on; 4 another run holds the lock.

    \b
    Examples:
      trainaudit nightly /archive --out /data/audit --fail-on high
      flock -n /data/audit/.cron.lock trainaudit nightly /archive --out /data/audit --quiet
    """
    from pipeline.nightly import EmptyArchive, NightlyOptions, run_nightly
    from pipeline.ops.lock import LockHeld
    from pipeline.settings import SettingsError

    options = NightlyOptions(config_path=config_path, rules_dir=rules_dir, lang=lang,
                             analyse_video=False if no_video else None, workers=workers, scheduler=scheduler,
                             force=force, rehash=rehash, wait=wait, wait_timeout_s=wait_timeout,
                             log_file=log_file, keep_logs_days=keep_logs_days)
    try:
        result = run_nightly(archive_root, out, options, Progress(False if quiet else None))
    except LockHeld as exc:
        click.echo(f"{exc}. Exiting without changes (exit {EXIT_LOCKED}); use --wait to queue.", err=True)
        sys.exit(EXIT_LOCKED)
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_USAGE)
    except EmptyArchive as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_FAILURE)
    except OSError as exc:  # a full disk, a read-only or vanished output folder
        from pipeline.ops.disk import write_failure

        if exc.filename is None or Path(os.path.abspath(exc.filename)).is_relative_to(out.absolute()):
            click.echo(f"nightly run stopped: {write_failure(exc, out)}", err=True)
        else:
            click.echo(f"nightly run failed: {exc}. Published tables are unchanged or whole.", err=True)
        sys.exit(EXIT_FAILURE)
    except Exception as exc:  # recorded in runs and the log already; the published tables are intact
        click.echo(f"nightly run failed: {type(exc).__name__}: {exc}. Published tables are unchanged or "
                   f"whole; the next run redoes what was not finished.", err=True)
        sys.exit(EXIT_FAILURE)
    if result.plan and result.plan.needs_audit and not no_report:
        _report(result, out, lang or "zh")
    _summarise(result)
    sys.exit(exit_code(result, fail_on))


def _report(result: NightlyResult, out: Path, lang: str) -> None:
    """The pages of what changed (classes audited, classes whose cross-class rows changed, classes gone),
    the index and the workbook; everything when there is no report in this language yet."""
    from pipeline.outputs.report.data import index_name

    entries = result.manifest.classes if result.manifest else {}
    previous = {rel: e.class_id for rel, e in (result.previous.classes.items() if result.previous else ())}
    only = {entries[rel].class_id for rel in result.plan.changed if rel in entries and entries[rel].class_id}
    only |= {previous[rel] for rel in result.plan.changed if previous.get(rel)} | set(result.cross_updated)
    live = {e.class_id for e in entries.values() if e.class_id}
    removed = {previous[rel] for rel in result.plan.vanished if previous.get(rel)} - live
    full = not (out / "report" / index_name(lang)).is_file()
    build_report(out, lang, only=None if full else only, removed=removed)


def _summarise(result: NightlyResult) -> None:
    plan = result.plan
    click.echo(f"Run {result.run_id}: {len(result.audited)} class(es) audited, "
               f"{len(plan.unchanged) if plan else 0} unchanged and skipped"
               + (f", {len(plan.vanished)} removed" if plan and plan.vanished else "")
               + f" ({(result.finished - result.started).total_seconds():.1f} s). Log: {result.log_path}", err=True)
    if result.took_over_from:
        click.echo(f"  note: took over the lock of a run that did not finish: {result.took_over_from}", err=True)
    for rel, why in (plan.changed.items() if plan else ()):
        click.echo(f"  redone {rel}: {why}", err=True)
    for rel, reason in result.failing().items():
        click.echo(f"  FAILED {rel}: {reason}", err=True)
    counts = result.findings_by_severity()
    if counts:
        click.echo("Findings published: " + ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES)
                                                       if counts.get(s)), err=True)


def exit_code(result: NightlyResult, fail_on: str | None) -> int:
    """The state of the published outputs: failed classes (this run's or still broken) first, then findings."""
    if result.failing():
        return EXIT_FAILURE
    if fail_on and at_least(result.worst_severity(), fail_on):
        return EXIT_FINDINGS
    return EXIT_OK
