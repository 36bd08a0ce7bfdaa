"""The Parquet store: schemas enforced, hive partitions readable by DuckDB, re-runs replace, never duplicate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.outputs.schemas import schema
from pipeline.outputs.store import SchemaError, Store, class_key, read_table, to_arrow

TZ = ZoneInfo("Asia/Shanghai")


def _finding(i: int, class_id: str = "C1") -> dict:
    return {"finding_id": f"f{i}", "class_id": class_id, "rule_id": "RECORDING_GAP", "severity": "medium",
            "session_id": "S1", "date": dt.date(2024, 10, 8), "start": dt.datetime(2024, 10, 8, 8, 30, tzinfo=TZ),
            "measured": 12.5, "threshold": 5.0, "message": "录像缺失"}


def test_rerun_replaces_rows_and_duckdb_reads_partitions(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_class("C1", "370900-0032", "Asia/Shanghai", {"findings": [_finding(1), _finding(2)]})
    store.write_class("C2", "370900-0099", "Asia/Shanghai", {"findings": [_finding(3, "C2")]})
    store.write_class("C1", "370900-0032", "Asia/Shanghai", {"findings": [_finding(1)]})
    store.close()
    rows = duckdb.sql(
        f"select class_id, finding_id, institution_id, start from read_parquet('{tmp_path}/findings/**/*.parquet', "
        "hive_partitioning=true) order by finding_id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("C1", "f1", "370900-0032"), ("C2", "f3", "370900-0099")]
    assert rows[0][3] == dt.datetime(2024, 10, 8, 0, 30, tzinfo=dt.timezone.utc)
    assert not (tmp_path / ".staging").exists()


def test_a_class_with_no_rows_left_loses_its_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_class("C1", "I1", "Asia/Shanghai", {"findings": [_finding(1)]})
    store.write_class("C1", "I1", "Asia/Shanghai", {"findings": []})
    assert read_table(tmp_path, "findings").empty


def test_a_class_moving_institution_is_not_duplicated(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_class("C1", "I1", "Asia/Shanghai", {"findings": [_finding(1)]})
    store.write_class("C1", "I2", "Asia/Shanghai", {"findings": [_finding(1)]})
    frame = read_table(tmp_path, "findings")
    assert list(frame["institution_id"]) == ["I2"]


def test_columns_outside_the_schema_are_rejected() -> None:
    with pytest.raises(SchemaError, match="face_encoding"):
        to_arrow("sightings", [{"class_id": "C1", "face_encoding": [0.1] * 128}], "Asia/Shanghai")


def test_no_table_can_carry_encodings_or_raw_id_numbers() -> None:
    for table in ("trainees", "sightings", "presence", "checkins", "findings"):
        names = schema(table).names
        assert not any("encoding" in n or n == "id_number" for n in names), table


@pytest.mark.parametrize("class_id", ["TA2024-DG-017", "a/b", "培训班 1", "x=y"])
def test_class_keys_are_safe_file_names(class_id: str) -> None:
    key = class_key(class_id)
    assert "/" not in key and "=" not in key and " " not in key


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.floats(0, 1e4, allow_nan=False),
                          st.booleans(), st.integers(0, 10_000)), max_size=20))
def test_parquet_round_trip_keeps_rows_and_types(tmp_path_factory, rows) -> None:
    out = tmp_path_factory.mktemp("rt")
    frame = pd.DataFrame([{"class_id": "C1", "trainee_id": t, "session_id": "S1", "observed_min": m,
                           "checked_in": c, "checkin_events": n} for t, m, c, n in rows])
    Store(out).write_class("C1", "I1", "Asia/Shanghai", {"trainee_hours": frame})
    back = read_table(out, "trainee_hours")
    assert len(back) == len(rows)
    if rows:
        assert list(back["trainee_id"]) == [r[0] for r in rows]
        assert list(back["observed_min"]) == [r[1] for r in rows]
        assert list(back["checked_in"]) == [r[2] for r in rows]
        assert back["checkin_events"].tolist() == [r[3] for r in rows]
