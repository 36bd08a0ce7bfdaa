"""Truth-vs-findings matching (tools.synth.scoring): table-driven, tiny inline data."""
import datetime as dt

import pandas as pd
import pytest

from tools.synth.scoring import observed_errors, score_findings, totals

TRUTH = {
    "findings": [
        {"rule_id": "ATTENDANCE_PROXY", "keys": {"trainee_id": "00008", "session_id": "S01"}, "capacity": 1},
        {"rule_id": "IDENTITY_SHARED", "keys": {"trainee_id": ["00001", "00013"]}, "capacity": 2},
        {"rule_id": "ATTENDANCE_NON_FACE", "keys": {"trainee_id": "00003", "date": "2024-10-08"}, "capacity": 1},
        {"rule_id": "RECORDING_BLANK", "keys": {"path": "recordings/A_1.mp4"}, "capacity": 1},
    ],
    "ignored": [{"rule_id": "HOURS_OVERCLAIMED", "keys": {"trainee_id": "00005"}, "reason": "near threshold"},
                {"rule_id": "UNKNOWN_PERSON", "keys": {}, "reason": "not judged"}],
    "observed": [
        {"trainee_id": "00001", "session_id": "S01", "observed_min": 40.0, "scored": True},
        {"trainee_id": "00002", "session_id": "S01", "observed_min": 30.0, "scored": True},
        {"trainee_id": "00013", "session_id": "S01", "observed_min": 0.0, "scored": False},
        {"trainee_id": "00002", "session_id": "S04", "observed_min": None, "scored": True},
    ],
}


def f(rule, **kw):
    return {"rule_id": rule, "trainee_id": None, "session_id": None, "date": None, "path": None, **kw}


@pytest.mark.parametrize("rows, rule, expected", [
    ([], "ATTENDANCE_PROXY", (1, 0, 0, 0, 0)),  # nothing found: recall 0
    ([f("ATTENDANCE_PROXY", trainee_id="00008", session_id="S01")], "ATTENDANCE_PROXY", (1, 1, 1, 0, 0)),
    ([f("ATTENDANCE_PROXY", trainee_id="00008", session_id="S02")], "ATTENDANCE_PROXY", (1, 1, 0, 1, 0)),
    ([f("ATTENDANCE_PROXY", trainee_id="00008", session_id="S01")] * 2, "ATTENDANCE_PROXY", (1, 2, 1, 1, 0)),
    ([f("IDENTITY_SHARED", trainee_id="00013"), f("IDENTITY_SHARED", trainee_id="00001")], "IDENTITY_SHARED",
     (1, 2, 1, 0, 0)),  # either id, both absorbed by capacity 2
    ([f("ATTENDANCE_NON_FACE", trainee_id="00003", date=dt.date(2024, 10, 8))], "ATTENDANCE_NON_FACE",
     (1, 1, 1, 0, 0)),  # dates compare as ISO text
    ([f("RECORDING_BLANK", path="recordings\\A_1.mp4")], "RECORDING_BLANK", (1, 1, 1, 0, 0)),
    ([f("HOURS_OVERCLAIMED", trainee_id="00005")], "HOURS_OVERCLAIMED", (0, 0, 0, 0, 1)),  # ignored
    ([f("HOURS_OVERCLAIMED", trainee_id="00006")], "HOURS_OVERCLAIMED", (0, 1, 0, 1, 0)),
    ([f("UNKNOWN_PERSON", session_id="S03")], "UNKNOWN_PERSON", (0, 0, 0, 0, 1)),  # rule-wide ignore
])
def test_score_findings(rows, rule, expected):
    scores = {s.rule_id: s for s in score_findings(TRUTH, pd.DataFrame(rows))}
    s = scores[rule]
    assert (s.expected, s.found, s.true_pos, s.false_pos, s.ignored) == expected


def test_totals_and_ratios():
    rows = [f("ATTENDANCE_PROXY", trainee_id="00008", session_id="S01"), f("HOURS_OVERCLAIMED", trainee_id="9")]
    t = totals(score_findings(TRUTH, pd.DataFrame(rows)))
    assert (t.expected, t.true_pos, t.found, t.false_pos) == (4, 1, 2, 1)
    assert t.recall == pytest.approx(0.25) and t.precision == pytest.approx(0.5)


def test_observed_errors_counts_missing_rows_as_zero_and_skips_unscored():
    th = pd.DataFrame({"trainee_id": ["00001", "00013"], "session_id": ["S01", "S01"], "observed_min": [38.0, 5.0]})
    m = observed_errors(TRUTH, th).set_index("trainee_id")
    assert list(m.index) == ["00001", "00002"]  # unscored and no-recording rows left out
    assert m.loc["00001", "abs_error_min"] == pytest.approx(2.0)
    assert m.loc["00002", "abs_error_min"] == pytest.approx(30.0)
