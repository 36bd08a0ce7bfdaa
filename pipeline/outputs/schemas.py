"""One Arrow schema per persisted table (OUTPUTS.md), checked where tables are written and read.

Timestamps carry the class's time zone (`ts_type(tz)`); durations are minutes as float64; 学时 float64.
`institution_id` is the hive partition key: it is not stored inside the files, the folder names carry it.
"""

from __future__ import annotations

import pyarrow as pa

from pipeline.model import DEFAULT_TZ

PARTITION_KEY = "institution_id"


def ts_type(tz: str = DEFAULT_TZ) -> pa.DataType:
    return pa.timestamp("us", tz=tz)


def _fields(tz: str) -> dict[str, list[tuple[str, pa.DataType]]]:
    ts = ts_type(tz)
    s, f, i, b, d = pa.string(), pa.float64(), pa.int64(), pa.bool_(), pa.date32()
    return {
        "classes": [
            ("class_id", s), ("institution_name", s), ("job_type", s), ("training_kind", s),
            ("province", s), ("start_date", d), ("end_date", d), ("rule_pack", s),
            ("rule_pack_effective_from", d), ("head_teacher", s), ("timezone", s),
            ("required_theory_hours", f), ("required_practical_hours", f), ("required_total_hours", f),
            ("exam_registration", ts), ("trainees", i), ("sessions", i), ("recordings", i),
            ("folder", s), ("input_sha256", s), ("problems", i),
        ],
        "trainees": [
            ("class_id", s), ("trainee_id", s), ("name", s), ("id_number_masked", s),
            ("training_kind", s), ("photos", i),
        ],
        "sessions": [
            ("class_id", s), ("session_id", s), ("date", d), ("start", ts), ("end", ts), ("kind", s),
            ("mode", s), ("room", s), ("teacher_id", s), ("topic", s), ("hours", f), ("scheduled_min", f),
        ],
        "checkins": [
            ("class_id", s), ("trainee_id", s), ("person_ref", s), ("name", s), ("ts", ts),
            ("device_id", s), ("method", s), ("method_raw", s), ("is_face", b), ("edited", b),
            ("direction", s), ("session_id", s), ("vendor", s), ("source_file", s), ("source_row", i),
            ("match_status", s),
        ],
        "recordings": [
            ("class_id", s), ("path", s), ("camera_id", s), ("room", s), ("role", s), ("start", ts),
            ("end", ts), ("duration_min", f), ("codec", s), ("width", i), ("height", i), ("fps", f),
            ("sha256", s), ("size_bytes", i), ("readable", b), ("error", s), ("start_source", s),
        ],
        "coverage": [
            ("class_id", s), ("session_id", s), ("room", s), ("scheduled_min", f), ("recorded_min", f),
            ("gap_min", f), ("blank_min", f), ("recordings", i),
            ("gaps", s),  # JSON list of [start, end] ISO times of the uncovered parts
        ],
        "headcount": [
            ("class_id", s), ("session_id", s), ("camera_id", s), ("path", s), ("offset_s", f), ("ts", ts),
            ("faces", i), ("identified", i), ("unknown", i), ("teachers", i), ("people_smoothed", f),
            # faces taken out of `faces` as pictures, not people (pipeline/faces/pictured.py), and why:
            # JSON list of {"box": [x, y, w, h], "reason", "detail"}
            ("not_people", i), ("not_people_why", s),
        ],
        "sightings": [
            ("class_id", s), ("session_id", s), ("camera_id", s), ("path", s), ("offset_s", f), ("ts", ts),
            ("person_id", s), ("person_kind", s), ("distance", f), ("box", pa.list_(pa.int32())),
            # person_kind: trainee, teacher, unknown (an unknown person's cluster) or unidentified (a face the
            # quality gate could not judge often enough: counted, neither named nor a stranger). judged: this
            # sample's face passed the gate; track_judged: judged samples its track's identity rests on
            ("judged", b), ("track_judged", i),
        ],
        "presence": [
            ("class_id", s), ("person_id", s), ("person_kind", s), ("session_id", s), ("camera_id", s),
            ("start", ts), ("end", ts), ("minutes", f),
        ],
        "trainee_hours": [
            ("class_id", s), ("trainee_id", s), ("session_id", s), ("date", d), ("kind", s), ("mode", s),
            ("scheduled_min", f), ("recorded_min", f), ("observed_min", f), ("checked_in", b),
            ("checkin_method", s), ("checkin_events", i), ("credited_hours", f), ("observed_hours", f),
        ],
        "findings": [
            ("finding_id", s), ("class_id", s), ("rule_id", s), ("severity", s), ("trainee_id", s),
            ("session_id", s), ("date", d), ("camera_id", s), ("path", s), ("start", ts), ("end", ts),
            ("measured", f), ("threshold", f), ("message", s), ("evidence_path", s), ("detail", s),
        ],
        "problems": [
            ("class_id", s), ("file", s), ("row", i), ("column", s), ("level", s), ("message", s),
            ("expected", s), ("found", s),
        ],
        "runs": [
            ("run_id", s), ("started", pa.timestamp("us", tz="UTC")), ("finished", pa.timestamp("us", tz="UTC")),
            ("pipeline_version", s), ("config_hash", s), ("mode", s), ("archive", s), ("classes", i),
            ("audited", i), ("skipped", i), ("failed", i), ("findings", i), ("errors", i),
            ("duration_s", f), ("status", s), ("detail", s),
        ],
    }


def _evidence_fields(tz: str) -> dict[str, list[tuple[str, pa.DataType]]]:
    """Frames that cross from the attendance stage to the rules but are not published as tables."""
    ts = ts_type(tz)
    s, f = pa.string(), pa.float64()
    return {
        "blanks": [  # one row per black/frozen/covered stretch of a recording (video/blank.py)
            ("class_id", s), ("path", s), ("camera_id", s), ("session_id", s), ("kind", s), ("start", ts),
            ("end", ts), ("start_offset_s", f), ("end_offset_s", f), ("snapshot_offset_s", f),
            ("snapshot_path", s), ("before_offset_s", f),
        ],
        "unknowns": [  # one row per unknown-face cluster of the class
            ("class_id", s), ("person_id", s), ("minutes", f), ("snapshot_path", s), ("sessions", pa.list_(s)),
        ],
        "enrollment_pairs": [  # trainees whose enrollment photos show one face (the face stage's gallery)
            ("person_a", s), ("person_b", s), ("distance", f),
        ],
    }


TABLES = tuple(_fields(DEFAULT_TZ))
EVIDENCE_FRAMES = tuple(_evidence_fields(DEFAULT_TZ))
# Tables not split by institution (one file per run).
UNPARTITIONED = ("runs",)


def schema(table: str, tz: str = DEFAULT_TZ) -> pa.Schema:
    """A published table's schema, or an evidence frame's (EVIDENCE_FRAMES: blanks, unknowns, enrollment_pairs)."""
    fields = {**_fields(tz), **_evidence_fields(tz)}
    try:
        return pa.schema(fields[table])
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(TABLES + EVIDENCE_FRAMES)}") from None
