"""Rule packs and pipeline configuration.

Rule packs (`configs/rules/<name>.yaml`) hold the numbers of RULES.md; a pack may `extends:` another and
override some numbers. Several files may define the same pack name with different `effective_from`
dates: a class is judged by the newest version in force on its start date.

The pipeline configuration (`configs/pipeline.yaml`) holds detection and tolerance parameters. Both are
strict: an unknown key is an error naming its key path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.faces.params import FaceParams
from pipeline.settings import SettingsError, build, load_yaml_text, setting
from pipeline.video.params import VideoParams

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass(frozen=True)
class SyllabusHours:
    theory: float | None = setting(None, "theory 学时 of the initial-training syllabus", min=0, max=1000)
    practical: float | None = setting(None, "practical 学时 of the initial-training syllabus", min=0, max=1000)
    total: float | None = setting(None, "total 学时 where the split is not published", min=0, max=2000)


@dataclass(frozen=True)
class RulePack:
    name: str = setting("national", "pack name; a class selects it with `province:`")
    extends: str | None = setting(None, "pack whose numbers this one starts from")
    effective_from: dt.date = setting(dt.date(2000, 1, 1), "first class start date judged by this version")
    source: str = setting("", "where the numbers come from")
    offline_min_per_hour: float = setting(45.0, "minutes per offline 学时 (AQ 8011-2023: 45)", min=10, max=120)
    online_min_per_hour: float = setting(30.0, "minutes per online 学时", min=10, max=120)
    max_online_share_theory: float = setting(
        0.70, "largest share of the syllabus theory 学时 that may be studied online", min=0, max=1)
    practical_online_allowed: bool = setting(False, "whether practical 学时 may be credited from online study")
    max_daily_hours: float | None = setting(
        None, "largest 学时 per trainee per day (None: no limit)", min=1, max=24)
    daily_limit_applies_to: str = setting(
        "practical", "which 学时 the daily limit counts", choices=("practical", "total"))
    full_recording_from: dt.date = setting(
        dt.date(2024, 7, 1), "offline sessions on or after this date must be recorded from start to end")
    retention_share_before_full: float | None = setting(
        None, "share of offline time that must be kept before full_recording_from (Shandong: 0.20)", min=0, max=1)
    min_checkins_per_day: int = setting(
        2, "check-in events per trainee per offline day (in and out; an assumption, not a national text)",
        min=1, max=20)
    refresher_required_hours: float = setting(8.0, "学时 a refresher class requires in total", min=0, max=200)
    syllabus: dict[str, SyllabusHours] = setting({}, "initial-training syllabus hours per job type (工种)")
    checkin_window_before_min: float = setting(
        30.0, "a check-in belongs to a session from this many minutes before its start", min=0, max=240)
    checkin_window_after_min: float = setting(
        30.0, "... until this many minutes after its end", min=0, max=240)
    min_presence_ratio: float = setting(
        0.8, "share of the recorded part of a session a credited trainee must be seen for", min=0, max=1)
    presence_min_recorded_min: float = setting(
        5.0, "ATTENDANCE_ABSENT is judged only on sessions with at least this many recorded minutes (never "
             "seen is still ATTENDANCE_PROXY)", min=0, max=240)
    proxy_max_seen_min: float = setting(
        1.0, "a checked-in trainee seen for at most this many minutes counts as never seen (proxy)",
        min=0, max=60)
    headcount_tolerance_people: int = setting(
        2, "headcount mismatch only when the difference exceeds this many people ...", min=0, max=100)
    headcount_tolerance_ratio: float = setting(
        0.10, "... and this share of the check-ins (whichever is larger)", min=0, max=1)
    headcount_min_usable_min: float = setting(
        5.0, "a session's headcount is judged only on at least this many minutes of usable (not black or "
             "covered) video", min=0, max=240)
    gap_tolerance_min: float = setting(
        5.0, "uncovered scheduled time shorter than this is not a gap (NVR segment switches)", min=0, max=240)
    # Issue 15: a covered lens or a frozen picture during a session is never normal; the tolerance only
    # absorbs sampling (a stretch's edges are known to half a sample interval, 5 s at the default 10 s).
    blank_tolerance_min: float = setting(
        2.0, "black/frozen/covered footage shorter than this is not reported", min=0, max=240)
    reuse_same_moment_s: float = setting(
        120.0, "within a class, footage matched at wall-clock times this close in both files is one recording "
        "kept twice (a backup copy, a second export), not reuse; the matcher places footage to about 10 s",
        min=0, max=86400)
    unknown_person_min_minutes: float = setting(
        10.0, "an unknown face seen at least this long in a session is reported", min=0, max=600)
    # Added by the rules stage (pipeline/rules/):
    checkin_merge_min: float = setting(
        2.0, "check-ins of one trainee closer than this count once for the daily frequency (a double scan at "
        "the terminal is not an 'in' and an 'out')", min=0, max=240)
    face_checkin_required: bool = setting(
        True, "check-ins must be face events; card, password, fingerprint, manual or edited rows are findings")
    overclaim_tolerance_hours: float = setting(
        0.4, "HOURS_OVERCLAIMED only when credited 学时 exceed those seen by more than this", min=0, max=100)
    teacher_mismatch_min_minutes: float = setting(
        10.0, "a recognised teacher other than the scheduled one must be seen at least this long in a session",
        min=0, max=600)
    teacher_mismatch_min_share: float = setting(
        0.5, "... or at least this share of the session's usable recorded minutes, whichever is less (short "
        "sessions)", min=0, max=1)
    retention_days: int | None = setting(
        None, "recordings must be kept this many days (None: not checked)", min=1, max=3650)
    severity: dict[str, str] = setting({}, "severity per rule_id (high, medium, low)")

    def required_hours(self, job_type: str | None) -> SyllabusHours | None:
        return self.syllabus.get(job_type or "")


@dataclass(frozen=True)
class InputLimits:
    """Bounds on what one archive file may cost. An archive comes from the institution being inspected: a file
    over a limit is a located problem, never a crash or a machine brought down. Defaults are far above what
    real exports need (the largest real roster seen: 40 kB; a year of a large institution's terminal export:
    about 200,000 rows, 15 MB) and far below what hurts a 4 GB worker."""

    max_table_bytes: int = setting(
        256 * 1024 * 1024, "largest CSV/XLS/XLSX file read (bytes); a full 1,048,575-row sheet is about 60 MB",
        min=1024, max=1 << 40)
    max_table_rows: int = setting(
        1_100_000, "most rows read from one table (one more than an Excel sheet holds)", min=10, max=100_000_000)
    max_field_chars: int = setting(
        32_767, "longest cell (characters); Excel's own limit per cell", min=100, max=10_000_000)
    max_xlsx_uncompressed_bytes: int = setting(
        768 * 1024 * 1024, "largest total uncompressed size of an .xlsx (a zip): a shared string that "
        "inflates 5000-fold is refused before it is inflated", min=1024 * 1024, max=1 << 40)
    max_xlsx_shared_strings_bytes: int = setting(
        128 * 1024 * 1024, "largest uncompressed shared-strings part of an .xlsx (held in memory whole)",
        min=1024 * 1024, max=1 << 40)
    max_xlsx_cells: int = setting(
        30_000_000, "most cells of the first sheet of an .xlsx (1,048,575 rows x 28 columns)", min=100,
        max=1_000_000_000)
    max_yaml_bytes: int = setting(256 * 1024, "largest class.yaml or sidecar .json (bytes)", min=1024,
                                  max=64 * 1024 * 1024)
    max_yaml_depth: int = setting(20, "deepest nesting of class.yaml (it needs 2)", min=2, max=1000)
    max_image_pixels: int = setting(
        50_000_000, "largest enrollment photo (width x height, read from the header before decoding); a "
        "50 MP RGB image decodes to 150 MB", min=10_000, max=1_000_000_000)
    max_image_bytes: int = setting(50 * 1024 * 1024, "largest enrollment photo file (bytes)", min=1024,
                                   max=1 << 40)


@dataclass(frozen=True)
class IngestParams:
    filename_patterns: list[str] = setting(
        [r"^(?P<camera_id>.+?)_(?P<start>\d{14})(?:_(?P<end>\d{14}))?$",
         # Hikvision / Dahua exports: ch01-20241015082933-20241015090000, NVR_ch1_main_2024-10-15_08-29-33_...
         r"^(?P<camera_id>.+?)[-_](?P<start>\d{4}[-_]?\d{2}[-_]?\d{2}[-_T]?\d{2}[-_]?\d{2}[-_]?\d{2})"
         r"(?:[-_](?P<end>\d{4}[-_]?\d{2}[-_]?\d{2}[-_T]?\d{2}[-_]?\d{2}[-_]?\d{2}))?$"],
        "regular expressions for NVR file names (stem): named groups camera_id, start, optional end "
        "(YYYYMMDDhhmmss, separators - or _ between the parts allowed); tried in order")
    video_extensions: list[str] = setting(
        [".mp4", ".mkv", ".avi", ".mov", ".ts", ".dav", ".flv", ".m4v", ".mpg", ".h264", ".264"],
        "file extensions listed as recordings")
    limits: InputLimits = dataclasses.field(default_factory=InputLimits,
                                            metadata={"doc": "bounds on what one archive file may cost"})


def _load_yaml(path: Path) -> Any:
    try:
        return load_yaml_text(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SettingsError([f"{path}: not valid YAML ({exc})"]) from exc


class RulePacks:
    """Every version of every pack under a folder, resolved with inheritance."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or CONFIG_DIR / "rules"
        raw: dict[str, list[dict]] = {}
        problems: list[str] = []
        files = sorted(self.folder.glob("*.yaml"))
        if not files:
            raise SettingsError([f"{self.folder}: no rule packs (*.yaml) found"])
        for path in files:
            data = _load_yaml(path)
            if not isinstance(data, dict) or "name" not in data:
                problems.append(f"{path}: expected a mapping with a `name` key")
                continue
            data = dict(data)
            data["_file"] = str(path)
            raw.setdefault(str(data["name"]), []).append(data)
        if problems:
            raise SettingsError(problems)
        self._raw = raw
        self._cache: dict[tuple[str, dt.date], RulePack] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self._raw)

    def _version(self, name: str, on: dt.date) -> dict:
        versions = self._raw.get(name)
        if not versions:
            raise SettingsError([f"rule pack '{name}': not found in {self.folder} (known: {', '.join(self.names)})"])
        dated = sorted(versions, key=lambda d: str(d.get("effective_from", "2000-01-01")))
        chosen = [d for d in dated if str(d.get("effective_from", "2000-01-01")) <= on.isoformat()]
        return chosen[-1] if chosen else dated[0]

    def _merged(self, name: str, on: dt.date, seen: tuple[str, ...] = ()) -> dict:
        if name in seen:
            raise SettingsError([f"rule pack '{name}': `extends` forms a cycle ({' -> '.join(seen + (name,))})"])
        own = {k: v for k, v in self._version(name, on).items() if k != "_file"}
        parent = own.get("extends")
        merged = self._merged(parent, on, seen + (name,)) if parent else {}
        for key, value in own.items():
            if key in ("syllabus", "severity") and isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
        return merged

    def get(self, name: str, on: dt.date | None = None) -> RulePack:
        on = on or dt.date.today()
        key = (name, on)
        if key not in self._cache:
            merged = self._merged(name, on)
            where = f"rule pack '{name}' ({self._version(name, on)['_file']})"
            self._cache[key] = build(RulePack, merged, where)
        return self._cache[key]


def stable_hash(obj: Any) -> str:
    """A short hash of settings, for cache keys and the `runs` table."""

    def default(o: Any) -> Any:
        if dataclasses.is_dataclass(o):
            return dataclasses.asdict(o)
        if isinstance(o, (dt.date, Path)):
            return str(o)
        raise TypeError(type(o))

    text = json.dumps(obj, default=default, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RunParams:
    workers: int = setting(0, "worker processes for video analysis (0: one per CPU core)", min=0, max=256)
    cache_dir: str = setting(".trainaudit-cache", "face/video cache folder (relative paths: under the output "
                                                  "folder); holds face encodings, biometric data", )
    cache_max_gb: float = setting(20.0, "largest size of the cache before the oldest entries are evicted",
                                  min=0.1, max=10000)
    analyse_video: bool = setting(True, "decode recordings (False: listing and probing only)")
    # glibc allocator thresholds in the processes that run the face pass (pipeline/ops/worker.py). Issue 19:
    # with glibc's defaults the detector faults ~67,000 pages a 1080p frame; cpu_per_hour.md measures the
    # audit's CPU per video-hour with these and with both at 0 (glibc's defaults), in one run. Trim
    # threshold, one decoding child scanning a 10-min 1080p file (memory_per_worker.md): 2 GiB and 256 MiB
    # both 306k faults, 128 MiB 456k, 64 MiB 1.7M (as many as glibc's defaults): a frame's working set.
    # Set in the decoding children, except where YuNet runs in OpenCV (faces.yunet_runtime: opencv, the
    # default): its net keeps its buffers, so the thresholds save no CPU there and only hold memory
    # (analysis._tune_allocator, benchmarks/results/memory_per_worker.md).
    malloc_mmap_threshold_bytes: int = setting(33554432, "allocations above this are mapped and unmapped one by "
                                                         "one (0: glibc's default; 32 MiB is glibc's largest; not "
                                                         "applied with faces.yunet_runtime opencv)",
                                               min=0, max=33554432)
    malloc_trim_threshold_bytes: int = setting(268435456, "free memory a computing process keeps instead of "
                                                           "returning it to the system (0: glibc's default; not "
                                                           "applied with faces.yunet_runtime opencv)",
                                               min=0, max=2147483647)
    # Between full hashes nightly trusts a file whose size, mtime, ctime and inode are unchanged; a month
    # bounds how long silent corruption (bit rot, a tool restoring every stat field) can go unseen.
    rehash_every_days: float = setting(30.0, "nightly: read every input file again after this many days "
                                             "(0: only with --rehash)", min=0, max=3650)
    lang: str = setting("zh", "language of finding messages and reports", choices=("zh", "en"))


def _section(cls: type, doc: str) -> Any:
    return dataclasses.field(default_factory=cls, metadata={"doc": doc})


@dataclass(frozen=True)
class PipelineConfig:
    """`configs/pipeline.yaml`. Stage parameter classes live with their stages; this only composes them."""

    version: int = setting(1, "configuration format version", min=1, max=1)
    run: RunParams = _section(RunParams, "run settings")
    ingest: IngestParams = _section(IngestParams, "archive reading")
    video: VideoParams = _section(VideoParams, "video evidence")
    faces: FaceParams = _section(FaceParams, "face stage")


def load_pipeline_config(path: Path | None = None, overrides: dict | None = None) -> PipelineConfig:
    """The pipeline configuration from YAML (default `configs/pipeline.yaml`), strictly checked."""
    path = path or CONFIG_DIR / "pipeline.yaml"
    data = _load_yaml(path) if path.is_file() else {}
    if data is not None and not isinstance(data, dict):
        raise SettingsError([f"{path}: expected a mapping of settings"])
    data = dict(data or {})
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})
        data[section] = {**(data[section] or {}), key: value}
    return build(PipelineConfig, data, str(path.name))
