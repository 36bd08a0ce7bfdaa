"""List a class's recordings without decoding them: camera, room and start time of every video file.

Start time, in order of trust (ARCHIVE.md): a `<file name>.json` sidecar, the NVR file name (patterns in
the configuration), the container's `creation_time` tag (weak: re-muxing rewrites it). Which one was used
is kept in `start_source`, so evidence can say how much to trust it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Sequence
from zoneinfo import ZoneInfo

from pipeline.config import IngestParams
from pipeline.ingest.classfiles import Collector
from pipeline.ingest.confine import ClassFiles, display_path, read_confined
from pipeline.ingest.values import parse_timestamp
from pipeline.model import Recording

CAMERA_ALIASES = {"camera_id": ["摄像头编号", "通道"], "room": ["教室", "场地"], "role": ["用途", "类型"]}


def recording_id(path: Path, class_folder: Path) -> str:
    """A recording's identity: its path within the class folder, '/'-separated, names shown as people read
    them (GBK bytes decoded, confine.display_path) and in Unicode NFC (a name typed on macOS arrives
    decomposed). The same archive copied anywhere gives the same ids."""
    rel = display_path(PurePosixPath(*Path(path).relative_to(class_folder).parts))
    return unicodedata.normalize("NFC", rel)


def _stamp(text: str, tz: ZoneInfo) -> dt.datetime:
    """YYYYMMDDhhmmss, with or without separators between the parts (2024-10-15_08-29-33)."""
    return dt.datetime.strptime(re.sub(r"[^0-9]", "", text), "%Y%m%d%H%M%S").replace(tzinfo=tz)


def read_cameras(path: Path, col: Collector) -> dict[str, tuple[str | None, str | None]]:
    table = col.table(path, CAMERA_ALIASES, ["camera_id"])
    if table is None:
        return {}
    cameras = {}
    for row, line in zip(table.rows, table.line_numbers):
        camera_id = table.get(row, "camera_id")
        if not camera_id:
            col.add(path, "camera id is empty", row=line, column=table.column_label("camera_id"), expected="a camera id")
            continue
        role = table.get(row, "role") or None
        if role and role not in ("classroom", "practical", "door"):
            col.add(path, "unknown camera role", row=line, column=table.column_label("role"),
                    expected="classroom, practical or door", found=role, level="warning")
        cameras[camera_id] = (table.get(row, "room") or None, role)
    return cameras


def container_creation_time(path: Path, tz: ZoneInfo, timeout_s: float = 10.0) -> dt.datetime | None:
    """The container's creation_time tag (ffprobe reads only the header; a broken file gives None)."""
    import subprocess

    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format_tags=creation_time", "-of", "json", str(path)],
            capture_output=True, timeout=timeout_s, check=False).stdout
        value = json.loads(out or b"{}").get("format", {}).get("tags", {}).get("creation_time")
    except (subprocess.TimeoutExpired, OSError, json.JSONDecodeError):
        return None
    if not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.astimezone(tz) if stamp.tzinfo else stamp.replace(tzinfo=tz)


def list_recordings(files: ClassFiles, class_id: str, tz: ZoneInfo, params: IngestParams, col: Collector,
                    *, read_container_tags: bool = True) -> list[Recording]:
    """The video files under `recordings/` among the class's own regular files (links out of the class
    folder, FIFOs and devices were refused by the scan, see confine.py)."""
    cameras_csv = files.get("recordings", "cameras.csv")
    cameras = read_cameras(cameras_csv, col) if cameras_csv else {}
    patterns = [re.compile(p) for p in params.filename_patterns]
    extensions = {e.lower() for e in params.video_extensions}
    recordings = []
    for path in files.under("recordings"):
        if path.suffix.lower() in extensions:
            recordings.append(_one(path, files, class_id, tz, cameras, patterns, col, read_container_tags))
    return recordings


def _one(path: Path, files: ClassFiles, class_id: str, tz: ZoneInfo, cameras: dict, patterns: Sequence[re.Pattern],
         col: Collector, read_container_tags: bool) -> Recording:
    camera_id = room = None
    start = end = None
    source = "none"
    sidecar = path.with_name(path.name + ".json")
    if sidecar in files.files:
        try:
            meta = json.loads(read_confined(sidecar, files.folder, col.limits.max_yaml_bytes).decode("utf-8-sig"))
            if not isinstance(meta, dict):
                raise ValueError("not an object")
            camera_id = str(meta["camera_id"]) if meta.get("camera_id") else None
            room = str(meta["room"]) if meta.get("room") else None
            if meta.get("start"):
                start = parse_timestamp(str(meta["start"]), tz)
                source = "sidecar"
            if meta.get("end"):
                end = parse_timestamp(str(meta["end"]), tz)
        except RecursionError:
            col.add(sidecar, "recording sidecar cannot be read", expected="a flat JSON object",
                    found="JSON nested too deeply")
        except (ValueError, UnicodeDecodeError, OSError) as exc:  # InputRefused is a ValueError
            col.add(sidecar, "recording sidecar cannot be read", expected='{"camera_id": ..., "start": "YYYY-MM-DDThh:mm:ss"}',
                    found=str(exc)[:200])
    if start is None or camera_id is None:
        for pattern in patterns:
            match = pattern.match(path.stem)
            if not match:
                continue
            groups = match.groupdict()
            try:
                name_start = _stamp(groups["start"], tz)
                name_end = _stamp(groups["end"], tz) if groups.get("end") else None
            except (ValueError, KeyError):
                continue
            camera_id = camera_id or groups.get("camera_id")
            if start is None:
                start, end, source = name_start, name_end, "filename"
            break
    if start is None and read_container_tags:
        tagged = container_creation_time(path, tz)
        if tagged is not None:
            start, source = tagged, "container"
    if start is None:
        col.add(path, "recording start time unknown", level="warning",
                expected="a sidecar .json, a file name like R201-A_20241008082957.mp4, or a creation_time tag",
                found=path.name)
    role = None
    if camera_id and camera_id in cameras:
        room = cameras[camera_id][0] or room
        role = cameras[camera_id][1]
    room = room or camera_id
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return Recording(class_id, path, recording_id(path, files.folder), camera_id, room, role, start, end, source, size)
