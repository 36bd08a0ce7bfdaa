"""`trainaudit faces ...`: a thin click group over the library functions of pipeline/faces/commands.py.

JSON to stdout, messages to stderr. Exit codes: 0 everything read and matched; 1 finished with problems
(an unreadable image, a skipped gallery photo: in the JSON and on stderr) or nobody could be enrolled;
2 usage error.
"""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from pipeline.cli.common import EXIT_FAILURE

if TYPE_CHECKING:
    from pipeline.faces.params import FaceParams

# The face library (pandas, OpenCV, the models) is imported inside the commands: this module is imported by
# every `trainaudit` start, and again by each decoding child (multiprocessing imports the main script).


def _params(ctx: click.Context, config_path: str | None) -> FaceParams:
    """The face settings of the pipeline configuration (configs/pipeline.yaml, or --config)."""
    from pathlib import Path

    from pipeline.config import load_pipeline_config
    from pipeline.faces.images import set_max_pixels

    config = load_pipeline_config(Path(config_path) if config_path else None)
    set_max_pixels(config.ingest.limits.max_image_pixels)  # every image this command decodes
    return config.faces


_config_option = click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                              help="Pipeline configuration (default: configs/pipeline.yaml).")


@click.group()
def faces() -> None:
    """Count and recognise faces in photos (check-in snapshots, rectification photos).

    \b
    Examples:
      trainaudit faces count classroom.jpg
      trainaudit faces match --gallery roster_photos/ checkin_snapshot.jpg
    """


@faces.command("count")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--upscale", type=click.FloatRange(0.25, 4.0), default=None,
              help="Enlarge each image this many times before detecting (finds more faces under 10 px, "
                   "slower: x1.5 costs about 2.5x). Default: faces.upscale of the configuration (1).")
@_config_option
@click.pass_context
def count_cmd(ctx: click.Context, images: tuple[str, ...], upscale: float | None, config_path: str | None) -> None:
    """Print a JSON list of {"image", "faces", "boxes": [[x, y, w, h], ...]} per IMAGE.

    Every face down to the counting floor (faces.min_face_px, 8 px) is counted. An image that cannot be
    read gets {"image", "error"} instead; the others are still counted, and the command then exits 1.

    \b
    Examples:
      trainaudit faces count classroom.jpg
      trainaudit faces count --upscale 1.5 crowded_hall.jpg
      trainaudit faces count snapshots/*.jpg > counts.json
    """
    params = _params(ctx, config_path)
    from pipeline.faces.commands import count_faces

    rows = count_faces(images, params if upscale is None else params.replace(upscale=upscale))
    click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    if any("error" in row for row in rows):
        sys.exit(EXIT_FAILURE)


@faces.command("match")
@click.option("--gallery", "gallery_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="folder DIR/<identity>/<photos> of enrolled people")
@click.argument("probes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_config_option
@click.pass_context
def match_cmd(ctx: click.Context, gallery_dir: str, probes: tuple[str, ...], config_path: str | None) -> None:
    """Print a JSON list of {"probe", "identity" (name or "unknown"), "distance"} per PROBE.

    GALLERY holds one folder per person with one or more photos: DIR/<identity>/<photos>. The probe's
    largest face is matched; "unknown" is a normal answer (nobody enrolled is close enough). An enrollment
    photo with several faces uses the face nearest the centre when it is clearly the subject (by size and
    position).

    A gallery photo that cannot be used (unreadable, no face, several faces and none clearly the subject)
    never stops the command: it is named on stderr and in every entry's "gallery_problems"
    ({"photo", "identity", "problem"}), and the probes are matched against the rest of the gallery.

    \b
    Exit codes:
      0  every gallery photo and probe was read and matched
      1  finished, but a gallery photo was skipped or a probe could not be read (the JSON is complete);
         or nobody could be enrolled (message on stderr, no JSON)
      2  usage error (missing gallery folder, bad option)

    \b
    Examples:
      trainaudit faces match --gallery roster_photos/ checkin_snapshot.jpg
      trainaudit faces match --gallery roster_photos/ a.jpg b.jpg > matches.json
    """
    from pipeline.faces.commands import gallery_problems, load_gallery, match_faces
    from pipeline.faces.errors import FaceError

    params = _params(ctx, config_path)
    try:
        gallery = load_gallery(gallery_dir, params)
    except FaceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    skipped = gallery_problems(gallery)
    for problem in skipped:
        click.echo(f"warning: gallery photo skipped: {problem['photo']} ({problem['identity']}): "
                   f"{problem['problem']}", err=True)
    rows = match_faces(gallery_dir, probes, params, gallery=gallery)
    click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    if skipped or any("error" in row for row in rows):
        sys.exit(EXIT_FAILURE)
