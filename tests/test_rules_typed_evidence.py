"""What the rules read is typed: a sighting (`Sighting`) and how much of a session could be judged
(`Judged`) are frozen records, a could-not-judge warning is a `Problem`; the columns they read are
guaranteed at the stage boundary (a frame that lacks one stops `evaluate` with its name), not guarded
one by one in the rules."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.model import Problem
from pipeline.rules.engine import class_context, evaluate
from pipeline.rules.evidence import Judged, Sighting, best_sighting, judged_in_session
from rules_factories import NATIONAL, checkin, evidence, headcount, hours_of, recording, session, sighting, trainee

S = session()


def _ev(sightings=(), headcounts=()):
    return evidence(trainees=[trainee()], sessions=[S], recordings=[recording()], checkins=[checkin()],
                    sightings=list(sightings), headcounts=list(headcounts))


def test_best_sighting_is_a_typed_record():
    ctx = class_context(_ev([sighting(distance=0.5, box=(0, 0, 90, 90)), sighting(distance=0.3, box=(0, 0, 20, 20)),
                             sighting(distance=0.3, box=(0, 0, 40, 40), offset_s=99.0),
                             sighting("S2", distance=0.1)]), NATIONAL)
    best = best_sighting(ctx, "S1", "S01")
    assert isinstance(best, Sighting) and (best.distance, best.box, best.offset_s) == (0.3, (0, 0, 40, 40), 99.0)
    assert best.snapshot().path == best.path and best.detail()["box"] == (0, 0, 40, 40)
    assert best_sighting(ctx, "S3", "S01") is None
    no_file = dataclasses.replace(best, path=None)
    assert no_file.snapshot() is None  # nothing to cut a frame from


def test_judged_in_session_is_a_typed_record():
    rows = [headcount(ts=f"09:0{i}", faces=3, identified=2 if i % 2 else 3) for i in range(4)]
    seen = [sighting(judged=True), sighting(judged=False), sighting("S2", judged=True)]
    ctx = class_context(_ev(seen, rows), NATIONAL)
    everyone, one = judged_in_session(ctx, "S01"), judged_in_session(ctx, "S01", "S1")
    assert isinstance(one, Judged) and (one.samples, one.faces, one.judged_faces) == (4, 3, 2)
    assert one.unidentified_share == 0.5 and (one.person_samples, one.person_judged_samples) == (2, 1)
    assert set(one.detail()) - set(everyone.detail()) == {"person_samples", "person_judged_samples"}
    assert one.undecided  # a face in half the samples (0.75 quantile: 1) could be anyone
    assert not judged_in_session(class_context(_ev(seen), NATIONAL), "S01").undecided
    assert judged_in_session(class_context(_ev(), NATIONAL), "S01") == Judged()


def test_a_could_not_judge_warning_is_a_problem_of_the_class():
    ev = _ev([sighting(None, kind="unidentified", judged=False)] * 2, [headcount(faces=2, identified=0)])
    result = evaluate(dataclasses.replace(ev, hours=hours_of(ev)), NATIONAL, only=lambda r: r == "ATTENDANCE_PROXY")
    assert result.findings == []
    [warning] = result.problems
    assert isinstance(warning, Problem) and (warning.level, warning.column) == ("warning", "ATTENDANCE_PROXY")
    assert warning.file == str(ev.archive.info.folder) and warning.class_id == ev.archive.info.class_id


@pytest.mark.parametrize("frame, column", [("sightings", "judged"), ("sightings", "box"),
                                           ("headcount", "people_smoothed"), ("unknowns", "snapshot_path")])
def test_a_missing_column_stops_at_the_boundary(frame, column):
    """The rules no longer check for these columns one by one (a missing one read as 'none' before)."""
    ev = _ev([sighting()], [headcount()])
    ev = dataclasses.replace(ev, hours=hours_of(ev))
    ev = dataclasses.replace(ev, **{frame: getattr(ev, frame).drop(columns=[column])})
    with pytest.raises(ValueError, match=rf"{frame}: missing columns \['{column}'\]"):
        evaluate(ev, NATIONAL)


@pytest.mark.parametrize("record, table", [("HoursRow", "trainee_hours"), ("RecordingRow", "recordings"),
                                           ("BlankRow", "blanks"), ("EnrollmentPairRow", "enrollment_pairs")])
def test_a_typed_row_has_its_schema_columns_in_order(record, table):
    from pipeline.attendance import rows
    from pipeline.outputs.schemas import schema

    assert tuple(f.name for f in dataclasses.fields(getattr(rows, record))) == tuple(schema(table).names)


def test_rows_read_back_typed():
    from pipeline.attendance.hours import HOURS_COLUMNS, hours_rows
    from pipeline.attendance.rows import BlankRow, RecordingRow, typed_rows
    from rules_factories import blank

    assert HOURS_COLUMNS == tuple(schema_names("trainee_hours"))
    ev = evidence(trainees=[trainee()], sessions=[S], recordings=[recording()], checkins=[checkin()],
                  blanks=[blank(kind="covered")])
    frame = hours_of(ev)
    [row] = hours_rows(frame)
    assert (row.trainee_id, row.session_id, row.mode, row.checked_in, row.checkin_events) == ("S1", "S01", "offline",
                                                                                               True, 1)
    assert row.scheduled_min == 180.0 and row.date == S.date
    assert hours_rows(frame.iloc[0:0]) == []
    [rec] = typed_rows(ev.recordings, RecordingRow)
    assert rec.path == "recordings/R1-A_20241008082000.mp4" and rec.camera_id == "R1-A" and rec.start.hour == 8
    [stretch] = typed_rows(ev.blanks, BlankRow)
    assert (stretch.kind, stretch.start_offset_s, stretch.session_id) == ("covered", 2400.0, "S01")


def schema_names(table):
    from pipeline.outputs.schemas import schema

    return schema(table).names
