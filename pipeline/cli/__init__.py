"""`trainaudit`: a thin command line over the library. Data goes to stdout, messages to stderr.

Exit codes: 0 success; 1 failure (input errors, failed classes); 2 usage error; 3 finished, with findings
at or above `--fail-on` severity (for scheduled jobs); 4 another run holds the output folder's lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import pipeline
from pipeline.cli.common import EXIT_FAILURE, EXIT_FINDINGS, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, Progress, build_report
from pipeline.model import SEVERITIES, at_least


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(pipeline.__version__, prog_name="trainaudit")
def main() -> None:
    """Audit safety-training class archives: do the records match what happened in the room?

    \b
    Examples:
      trainaudit validate sample_data/
      trainaudit audit sample_data/ --out out/
      trainaudit faces count photo.jpg
      trainaudit report out/
    """


@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON lines on stdout.")
@click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of rule packs that `province` is checked against (default: configs/rules/).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Pipeline configuration, for its input limits (default: configs/pipeline.yaml).")
def validate(path: Path, as_json: bool, rules_dir: Path | None, config_path: Path | None) -> None:
    """Check a class folder or an archive root without decoding any video.

    Lists every problem at once, each with its file, row and column, what was expected and what was
    found. Exits 1 when there are errors (warnings alone exit 0).

    \b
    Examples:
      trainaudit validate sample_data/
      trainaudit validate /archive/2024 --json > problems.jsonl
    """
    from pipeline.config import RulePacks, load_pipeline_config
    from pipeline.ingest.archive import find_class_folders, iter_classes
    from pipeline.ingest.confine import display_name
    from pipeline.settings import SettingsError

    folders = find_class_folders(path)
    if not folders:
        click.echo(f"No class folder (a folder holding class.yaml) found under {display_name(str(path))}.", err=True)
        sys.exit(EXIT_FAILURE)
    try:
        config, packs = load_pipeline_config(config_path), RulePacks(rules_dir)
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_USAGE)
    errors = warnings = 0
    for folder, archive, problems in iter_classes(path, config.ingest, pack_names=packs.names,
                                                  read_container_tags=False):
        name = archive.info.class_id if archive else display_name(folder.name)
        errs = [p for p in problems if p.level == "error"]
        errors += len(errs)
        warnings += len(problems) - len(errs)
        if as_json:
            for p in problems:
                click.echo(json.dumps({"class": name, "level": p.level, "file": p.file, "row": p.row,
                                       "column": p.column, "message": p.message, "expected": p.expected,
                                       "found": p.found}, ensure_ascii=False))
            continue
        status = "ok" if not problems else f"{len(errs)} error(s), {len(problems) - len(errs)} warning(s)"
        click.echo(f"{name}: {status}", err=True)
        for p in problems:
            click.echo(f"  {p.level}: {p.describe()}", err=True)
        if archive and archive.missing_parts:
            click.echo(f"  note: missing parts (reported as ARCHIVE_INCOMPLETE by audit): "
                       f"{', '.join(archive.missing_parts)}", err=True)
    click.echo(f"{len(folders)} class(es), {errors} error(s), {warnings} warning(s).", err=True)
    sys.exit(EXIT_FAILURE if errors else EXIT_OK)


def _audit_options(func):
    options = [
        click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
                     help="Output folder (Parquet tables, evidence, report)."),
        click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Pipeline configuration (default: configs/pipeline.yaml)."),
        click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="Folder of rule packs (default: configs/rules/)."),
        click.option("--lang", type=click.Choice(["zh", "en"]), help="Language of messages and report (default zh)."),
        click.option("--workers", type=click.IntRange(0, 256), help="Worker processes (0: one per core)."),
        click.option("--scheduler", metavar="tcp://HOST:8786", help="Run video tasks on this Dask cluster."),
        click.option("--no-video", is_flag=True, help="List and probe recordings, but do not decode them."),
        click.option("--fail-on", type=click.Choice(SEVERITIES),
                     help=f"Exit {EXIT_FINDINGS} when a finding has this severity or higher."),
        click.option("--no-report", is_flag=True, help="Do not build the HTML report and workbook."),
        click.option("--quiet", "-q", is_flag=True, help="No progress display."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_audit_options
def audit(path: Path, out: Path, config_path, rules_dir, lang, workers, scheduler, no_video, fail_on, no_report,
          quiet) -> None:
    """Audit one class folder or a whole archive root into OUT.

    Writes hive-partitioned Parquet tables (classes, trainees, sessions, checkins, recordings, coverage,
    headcount, sightings, presence, trainee_hours, findings, problems, runs), snapshots under
    OUT/evidence/, and the report under OUT/report/. Re-running replaces a class's rows.

    \b
    Examples:
      trainaudit audit sample_data/ --out out/
      trainaudit audit /archive/2024 --out /data/audit --fail-on high
      duckdb -c "select rule_id, count(*) from read_parquet('out/findings/**/*.parquet',
                 hive_partitioning=true) group by 1"
    """
    from pipeline.audit import audit_archive
    from pipeline.ingest.archive import find_class_folders
    from pipeline.settings import SettingsError

    if not find_class_folders(path):
        click.echo(f"No class folder (a folder holding class.yaml) found under {path}.", err=True)
        sys.exit(EXIT_FAILURE)
    from pipeline.ops.lock import LockHeld, RunLock

    lock = RunLock(out)
    try:
        lock.acquire("audit")  # an audit and a nightly run never write the same OUT at once
    except LockHeld as exc:
        click.echo(f"{exc}. Try again when it has finished.", err=True)
        sys.exit(EXIT_LOCKED)
    try:
        from pipeline.ops.disk import prune_staging, remove_partial_writes, write_failure

        prune_staging(out, 24 * 3600)  # a run stopped by a full disk or a kill left its staging folder
        remove_partial_writes(out)
        result = audit_archive(path, out, config_path=config_path, rules_dir=rules_dir, lang=lang,
                               analyse_video=False if no_video else None, workers=workers, scheduler=scheduler,
                               progress=Progress(False if quiet else None))
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_USAGE)
    except OSError as exc:  # a full disk, a read-only or vanished output folder
        click.echo(f"Audit stopped: {write_failure(exc, out)}", err=True)
        sys.exit(EXIT_FAILURE)
    finally:
        lock.release()
    if not no_report:
        build_report(out, lang or "zh")
    _summarise(result)
    sys.exit(exit_code(result, fail_on))


def _summarise(result) -> None:
    from collections import Counter

    audited = [o for o in result.outcomes if o.status == "audited"]
    click.echo(f"Audited {len(audited)} class(es) into {result.out} (run {result.run_id}).", err=True)
    for outcome in result.failed:
        click.echo(f"  FAILED {outcome.folder}: {outcome.reason}", err=True)
    by_rule = Counter((f.severity, f.rule_id) for f in result.findings)
    if by_rule:
        click.echo(f"{len(result.findings)} finding(s):", err=True)
        for (severity, rule_id), count in sorted(by_rule.items(), key=lambda kv: (-SEVERITIES.index(kv[0][0]), kv[0][1])):
            click.echo(f"  {severity:<6} {rule_id:<26} {count}", err=True)
    else:
        click.echo("No findings.", err=True)
    report = result.out / "report" / "index.html"
    if report.exists():
        click.echo(f"Report: {report}", err=True)


def exit_code(result, fail_on: str | None) -> int:
    if result.failed:
        return EXIT_FAILURE
    if fail_on:
        if at_least(result.worst_severity(), fail_on):
            return EXIT_FINDINGS
    return EXIT_OK


@main.command("config")
@click.option("--rules", "show_rules", is_flag=True, help="Describe the rule-pack settings instead.")
def config_cmd(show_rules: bool) -> None:
    """List every setting with its default, bounds and meaning.

    \b
    Examples:
      trainaudit config
      trainaudit config --rules
    """
    from pipeline.config import PipelineConfig, RulePack
    from pipeline.settings import describe

    for line in describe(RulePack if show_rules else PipelineConfig):
        click.echo(line)


def _register_stage_commands() -> None:
    """The command group and commands kept in their own modules of pipeline/cli/."""
    from pipeline.cli.faces import faces
    from pipeline.cli.nightly import nightly
    from pipeline.cli.report import report

    for command in (faces, report, nightly):
        main.add_command(command)


_register_stage_commands()

if __name__ == "__main__":
    main()
