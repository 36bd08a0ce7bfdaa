"""`trainaudit report OUT`: rebuild the report from the published tables (pipeline/outputs/report/)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the pages, messages and workbook. zh writes index.html, <class>.html and "
                   "summary.xlsx; en writes index.en.html, <class>.en.html and summary.en.xlsx beside them.")
def report(out: Path, lang: str) -> None:
    """Rebuild the report of output folder OUT from its Parquet tables alone.

    Writes OUT/report/<class_id>.html per class (suspect trainees first), OUT/report/<class_id>__<trainee>.html
    per trainee, OUT/report/index.html and OUT/report/summary.xlsx (the provincial 对照检查工作汇总表).
    Photos, frames and face crops go to OUT/report/media/. Pages open offline from disk.

    \b
    Example:
      trainaudit report out/ --lang en
    """
    from pipeline.outputs.report.build import build_report  # pandas: only when the command runs (see cli/faces.py)

    result = build_report(out, lang=lang)
    click.echo(str(result.index))
    click.echo(f"{len(result.class_pages)} class pages, {result.findings} findings, workbook {result.workbook}",
               err=True)
