"""`trainaudit faces ...`: a thin click group over pipeline.faces.commands (the lead adds it to cli.py).

JSON to stdout, messages to stderr; exit 1 when the gallery cannot be built (the error names the file).
"""
from __future__ import annotations

import json
import sys

import click

from pipeline.faces.commands import count_faces, match_faces
from pipeline.faces.errors import FaceError
from pipeline.faces.params import FaceParams


def _params(ctx: click.Context) -> FaceParams:
    # The lead's root command may put a loaded PipelineConfig in ctx.obj; plain defaults otherwise.
    cfg = ctx.find_root().obj
    return getattr(cfg, "faces", None) or FaceParams()


@click.group()
def faces() -> None:
    """Count and recognise faces in photos (check-in snapshots, rectification photos)."""


@faces.command("count")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_context
def count_cmd(ctx: click.Context, images: tuple[str, ...]) -> None:
    """Print a JSON list of {"image", "faces", "boxes": [[x, y, w, h], ...]} (or "error") per IMAGE."""
    click.echo(json.dumps(count_faces(images, _params(ctx)), ensure_ascii=False, indent=1))


@faces.command("match")
@click.option("--gallery", "gallery_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="folder DIR/<identity>/<photos> of enrolled people")
@click.argument("probes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_context
def match_cmd(ctx: click.Context, gallery_dir: str, probes: tuple[str, ...]) -> None:
    """Print a JSON list of {"probe", "identity" (name or "unknown"), "distance"} per PROBE."""
    try:
        rows = match_faces(gallery_dir, probes, _params(ctx))
    except FaceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
