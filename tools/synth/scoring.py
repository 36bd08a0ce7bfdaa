"""Score an audit's findings and observed minutes against a generated class's truth.

Matching: a truth item (rule_id, keys) matches a finding of the same rule whose columns equal each key
(a list of values: any of them). Each truth item absorbs up to `capacity` findings; a finding that no
truth item absorbs is a false positive unless an `ignored` entry covers it (a decision the oracle found
too close to its threshold, or a rule not judged in that class). Recall counts truth items matched.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.ingest.values import is_null

KEY_COLUMNS = ("trainee_id", "session_id", "date", "path")


@dataclass(frozen=True)
class RuleScore:
    rule_id: str
    expected: int
    found: int  # findings of the rule, ignored ones excluded
    true_pos: int  # truth items matched
    false_pos: int
    ignored: int  # findings covered by an `ignored` entry

    @property
    def recall(self) -> float | None:
        return self.true_pos / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        matched = self.found - self.false_pos
        return matched / self.found if self.found else None


def _norm(v) -> str | None:
    if is_null(v):
        return None
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _matches(keys: dict, row: dict) -> bool:
    for k, want in keys.items():
        got = _norm(row.get(k))
        if k == "date" and got is not None:
            got = got[:10]
        if k == "path" and got is not None:
            got = got.replace("\\", "/")
            ok = any(got.endswith(w) for w in (want if isinstance(want, list) else [want]))
        else:
            ok = got in want if isinstance(want, list) else got == str(want)
        if not ok:
            return False
    return True


def score_findings(truth: dict, findings: pd.DataFrame) -> list[RuleScore]:
    """Per rule_id scores for one class. `findings`: that class's rows of the findings table."""
    rows = findings.to_dict("records") if len(findings) else []
    rules = sorted({t["rule_id"] for t in truth["findings"]} | {r["rule_id"] for r in rows})
    out = []
    for rule in rules:
        items = [dict(t, used=0) for t in truth["findings"] if t["rule_id"] == rule]
        ign = [i for i in truth.get("ignored", []) if i["rule_id"] == rule]
        found = tp_rows = ignored = 0
        for r in (r for r in rows if r["rule_id"] == rule):
            item = next((t for t in items if t["used"] < t.get("capacity", 1) and _matches(t["keys"], r)), None)
            if item is not None:
                item["used"] += 1
                tp_rows += 1
                found += 1
            elif any(_matches(i["keys"], r) for i in ign):
                ignored += 1
            else:
                found += 1
        out.append(RuleScore(rule, len(items), found, sum(1 for t in items if t["used"]), found - tp_rows,
                             ignored))
    return out


def totals(scores: list[RuleScore]) -> RuleScore:
    return RuleScore("ALL", sum(s.expected for s in scores), sum(s.found for s in scores),
                     sum(s.true_pos for s in scores), sum(s.false_pos for s in scores),
                     sum(s.ignored for s in scores))


def observed_errors(truth: dict, trainee_hours: pd.DataFrame) -> pd.DataFrame:
    """Per scored trainee-session with a recording: true and audited observed minutes and the error.
    A trainee-session the audit did not report counts as 0 observed minutes."""
    want = pd.DataFrame([o for o in truth["observed"] if o["scored"] and o["observed_min"] is not None])
    if want.empty:
        return want
    got = trainee_hours[["trainee_id", "session_id", "observed_min"]].rename(columns={"observed_min": "audited_min"})
    got = got.astype({"trainee_id": str, "session_id": str})
    m = want.merge(got, on=["trainee_id", "session_id"], how="left")
    m["audited_min"] = m["audited_min"].astype(float).fillna(0.0)
    m["abs_error_min"] = (m["audited_min"] - m["observed_min"]).abs()
    return m
