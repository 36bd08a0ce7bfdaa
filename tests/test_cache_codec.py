"""The analysis cache format holds data only: a full analysis round-trips; pickles, unknown record
types, damaged bytes and object arrays are refused; a bad entry on disk is rebuilt, not trusted."""
from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from pipeline import cache_codec
from pipeline.recording_task import RecordingAnalysis, analysis_types, load_cached, store_cached
from pipeline.faces.video import HeadcountRow, Sighting, VideoFaceResult
from pipeline.video.blank import BlankStretch
from pipeline.video.probe import failed_probe
from pipeline.video.reuse import Fingerprint


def _analysis() -> RecordingAnalysis:
    rng = np.random.default_rng(0)
    probe = dataclasses.replace(failed_probe(Path("/a/R1-A_20241008082000.mp4"), "x"), readable=True, error=None,
                                sha256="ab" * 32, duration_s=60.5, timestamp_jumps=((1.5, 3.0),))
    faces = VideoFaceResult(
        headcount=(HeadcountRow(0.0, 3, 2, 1), HeadcountRow(30.0, 2, 2, 0)),
        sightings=(Sighting(0.0, "trainee:001", 0.31, (1, 2, 30, 30)), Sighting(0.0, None, float("inf"), (5, 6, 20, 20), 0)),
        unknown_encodings=rng.normal(size=(1, 128)).astype(np.float32),
        unknown_snapshots=(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8),), encoded_faces=3)
    fp = Fingerprint(Path("/a/R1-A_20241008082000.mp4"), np.arange(6) * 10.0,
                     rng.normal(size=(6, 576)).astype(np.float16), "ab" * 32)
    return RecordingAnalysis(class_id="C1", path="/a/R1-A_20241008082000.mp4", probe=probe, samples=6,
                             blanks=(BlankStretch("covered", 10.0, 40.0, 20.0, 4, 8.0, Path("/a/x.mp4")),),
                             fingerprint=fp, faces=faces, enrollment_problems=(("/p.jpg", "no face", "trainee:002"),),
                             enrollment_pairs=(("trainee:001", "trainee:003", 0.2),), timings_s={"probe_s": 0.1})


def test_round_trip_keeps_every_field_and_array():
    a = _analysis()
    b = cache_codec.loads(cache_codec.dumps(a), analysis_types())
    assert b.probe == a.probe and b.blanks == a.blanks and b.enrollment_pairs == a.enrollment_pairs
    assert b.faces.headcount == a.faces.headcount and b.faces.sightings == a.faces.sightings
    assert b.faces.unknown_encodings.dtype == np.float32
    assert np.array_equal(b.faces.unknown_encodings, a.faces.unknown_encodings)
    assert np.array_equal(b.faces.unknown_snapshots[0], a.faces.unknown_snapshots[0])
    assert np.array_equal(b.fingerprint.vectors, a.fingerprint.vectors) and b.fingerprint.vectors.dtype == np.float16
    assert b.timings_s == a.timings_s and isinstance(b.blanks[0].path, Path)


def test_pickles_unknown_types_and_damage_are_refused():
    with pytest.raises(cache_codec.CacheFormatError):
        cache_codec.loads(pickle.dumps(_analysis()), analysis_types())
    data = cache_codec.dumps(_analysis())
    with pytest.raises(cache_codec.CacheFormatError, match="checksum"):
        cache_codec.loads(data[:-10] + b"0123456789", analysis_types())
    body = json.dumps({"__type__": "Popen", "args": ["sh"]}).encode() + b"\n"
    head = json.dumps({"format": cache_codec.FORMAT,
                       "sha256": __import__("hashlib").sha256(body).hexdigest()}).encode() + b"\n"
    with pytest.raises(cache_codec.CacheFormatError, match="unknown record type"):
        cache_codec.loads(head + body, analysis_types())
    with pytest.raises(ValueError):  # object arrays would need pickle
        cache_codec.dumps(np.array([object()], dtype=object))


def test_a_bad_entry_on_disk_is_removed_and_rebuilt(tmp_path):
    path = tmp_path / "ab" / "entry.analysis"
    store_cached(path, _analysis())
    assert load_cached(path).faces.encoded_faces == 3
    path.write_bytes(pickle.dumps(_analysis()))  # what an old version, or someone else, left there
    assert load_cached(path) is None and not path.exists()


def test_times_and_dates_come_back_in_their_zone_and_type():
    """The stored cross-class views (pipeline/crossclass.py) hold sessions and recordings rows: times must
    come back as the same instant, in the same zone and of the same type (a Timestamp stays one)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import pandas as pd

    zone = ZoneInfo("Asia/Shanghai")
    values = {"py": dt.datetime(2024, 10, 8, 8, 30, tzinfo=zone), "naive": dt.datetime(2024, 10, 8, 8, 30),
              "ts": pd.Timestamp("2024-10-08 13:30:00.123456", tz="Asia/Shanghai"), "nat": pd.NaT,
              "day": dt.date(2024, 10, 8), "ns": pd.Timestamp("2024-10-08 13:30:00.000000001", tz="UTC")}
    back = cache_codec.loads(cache_codec.dumps(values))
    for key, value in values.items():
        if value is pd.NaT:
            assert back[key] is pd.NaT
            continue
        assert back[key] == value and type(back[key]) is type(value), key
        assert str(getattr(back[key], "tzinfo", None)) == str(getattr(value, "tzinfo", None)), key
