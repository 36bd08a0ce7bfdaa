"""Recordings as NVRs write them: Dahua .dav exports (read with ffmpeg's dhav demuxer), Hikvision and
Dahua export names with - or _ separators, and recordings cut into segments that overlap by a few
seconds (no gap, no time counted twice). Small generated files (tools/synth/footage.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import IngestParams
from pipeline.ingest.classfiles import Collector
from pipeline.ingest.confine import ClassFiles
from pipeline.ingest.recordings import list_recordings
from tools.synth import footage as F
from pipeline.video.blank import BlankConsumer
from pipeline.video.coverage import recording_spans, session_coverage
from pipeline.video.params import VideoParams
from pipeline.video.probe import probe_recording
from pipeline.video.reuse import FingerprintConsumer, compare_pair
from pipeline.video.scan import scan_recording

TZ = ZoneInfo("Asia/Shanghai")
SMALL = F.Footage(width_px=320, height_px=176, fps=5.0, gop_s=2.0)
PARAMS = VideoParams(reuse_min_run_s=60.0)


@pytest.fixture(scope="module")
def dav(tmp_path_factory):
    d = tmp_path_factory.mktemp("dav")
    src = F.render(d / "src.mp4", 120, session_seed=5, p=SMALL)
    return src, F.to_dav(src, d / "NVR_ch1_main_20241015082933_20241015083133.dav", dt.datetime(2024, 10, 15, 8, 29, 33))


def _scan(path):
    p = PARAMS
    scan = scan_recording(path, p.fingerprint_interval_s, [BlankConsumer(p), FingerprintConsumer(path, p)],
                          max_keyframe_lag_s=1.5 * p.sample_interval_s)
    return scan


def test_dav_export_is_probed_and_sampled_from_its_first_frame(dav):
    src, path = dav
    assert path.read_bytes()[:4] == b"DHAV"
    probe = probe_recording(path, 30)
    assert probe.readable and probe.codec == "h264" and not probe.truncated, probe
    assert (probe.width, probe.height) == (320, 176)
    assert probe.footage_s == pytest.approx(120, abs=1.5) and probe.timestamp_jumps == ()
    scan = _scan(path)
    offsets = [round(o, 2) for o in scan.results[1].offsets_s]
    assert scan.error is None and offsets[0] == 0.0 and offsets == sorted(set(offsets))
    assert offsets[-1] == pytest.approx(118, abs=3.0) and len(offsets) >= 30  # a keyframe every 2 s, 3 s asked
    assert scan.results[0] == []  # nothing blank in it


def test_dav_export_is_the_same_footage_as_its_source(dav):
    """Remuxing into DHAV keeps the footage: a file and its .dav export are the same recording (the rule then
    judges them by wall-clock time)."""
    src, path = dav
    profile, matches = compare_pair(_scan(src).results[1], _scan(path).results[1], PARAMS)
    assert len(matches) == 1 and matches[0].offset_a_s - matches[0].offset_b_s == pytest.approx(0.0, abs=1.0), profile


@pytest.mark.parametrize("name, camera, start, end", [
    ("ch01_20241015082933.mp4", "ch01", "2024-10-15 08:29:33", None),
    ("ch01-20241015082933-20241015090000.mp4", "ch01", "2024-10-15 08:29:33", "2024-10-15 09:00:00"),
    ("NVR_ch1_main_20241015082933_20241015090000.dav", "NVR_ch1_main", "2024-10-15 08:29:33", "2024-10-15 09:00:00"),
    ("NVR_ch1_main_2024-10-15_08-29-33_2024-10-15_09-00-00.dav", "NVR_ch1_main", "2024-10-15 08:29:33",
     "2024-10-15 09:00:00"),
    ("cam-2_20241015-082933_20241015-090000.mp4", "cam-2", "2024-10-15 08:29:33", "2024-10-15 09:00:00"),
])
def test_nvr_export_names(tmp_path, name, camera, start, end):
    folder = tmp_path / "C1" / "recordings"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"\0")
    col = Collector(tmp_path / "C1", "C1")
    [rec] = list_recordings(ClassFiles.scan(tmp_path / "C1"), "C1", TZ, IngestParams(), col, read_container_tags=False)
    assert (rec.camera_id, rec.start_source) == (camera, "filename")
    assert rec.start == dt.datetime.fromisoformat(start).replace(tzinfo=TZ)
    assert rec.end == (dt.datetime.fromisoformat(end).replace(tzinfo=TZ) if end else None)
    assert col.problems == []


def test_segments_overlapping_by_seconds_cover_once_without_a_gap(tmp_path):
    """An NVR cut a recording into 40 s segments that overlap by 3 s: the session they cover has no gap,
    and its recorded minutes are the union (114 s), not the sum (120 s)."""
    t0 = dt.datetime(2024, 10, 15, 8, 30, tzinfo=TZ)
    spans = []
    for k in range(3):
        start = t0 + dt.timedelta(seconds=37 * k)
        path = F.render(tmp_path / f"ch01_{start:%Y%m%d%H%M%S}.mp4", 40, session_seed=6, start_s=37 * k, p=SMALL)
        probe = probe_recording(path, 30)
        assert probe.readable and probe.footage_s == pytest.approx(40, abs=0.5)
        spans += recording_spans(start, probe)
    cov = session_coverage(t0, t0 + dt.timedelta(seconds=114), spans)
    assert cov.gaps == () and cov.gap_min == pytest.approx(0.0, abs=0.01)
    assert cov.recorded_min == pytest.approx(114 / 60, abs=0.01)
    longer = session_coverage(t0, t0 + dt.timedelta(seconds=120), spans)
    assert longer.recorded_min == pytest.approx(114 / 60, abs=0.01) and len(longer.gaps) == 1
