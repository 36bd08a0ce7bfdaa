"""What the commands share: exit codes, the progress display, building the report after a run.

Exit codes live here and only here: the library raises typed errors (LockHeld, SettingsError,
EmptyArchive, OSError) and returns results; the commands turn them into codes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_FINDINGS, EXIT_LOCKED = 0, 1, 2, 3, 4


class Progress:
    """One progress line per stage on a terminal; nothing when stderr is not a terminal (logs stay clean)."""

    LABELS = {"read": "reading classes", "hash": "checking inputs", "video": "analysing recordings",
              "rules": "applying rules", "write": "writing tables"}

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        label = self.LABELS.get(stage, stage)
        if total:
            width = 30
            filled = int(width * done / total)
            line = f"\r{label:<22} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        else:
            line = f"\r{label}..."
        click.echo(line, err=True, nl=False)
        if total and done >= total:
            click.echo("", err=True)
        self.stage = stage


def build_report(out: Path, lang: str, **kwargs) -> None:
    """The report from the published tables; a failure is a warning (the tables are complete)."""
    from pipeline.outputs.report import build_report as build

    try:
        build(out, lang=lang, **kwargs)
    except Exception as exc:  # the tables are published; a report problem must not hide them
        click.echo(f"warning: the report could not be built ({type(exc).__name__}: {exc}); "
                   f"the tables are complete. Retry with: trainaudit report {out}", err=True)
