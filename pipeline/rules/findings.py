"""Building findings: a stable id, the message in the run's language, severity from the pack.

`finding_id` hashes the class, the rule and the finding's identifying keys only (trainee_id, session_id,
date, path, camera_id, and where a rule needs them `other` — the other party of a pair — and `part` — which
of several things of one rule, e.g. theory vs practical). Measured values, messages and evidence paths
are left out, so an id survives re-runs and unrelated input changes; analysts track a problem from
"found" to "closed" by it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import string
from typing import Any

from pipeline.config import RulePack
from pipeline.model import ClassInfo, Finding
from pipeline.rules.messages import MESSAGES

DEFAULT_SEVERITY = "medium"
ID_KEYS = ("trainee_id", "session_id", "date", "path", "camera_id", "other", "part")


def finding_id(class_id: str, rule_id: str, **keys: Any) -> str:
    unknown = set(keys) - set(ID_KEYS)
    if unknown:
        raise ValueError(f"finding_id: not identifying keys: {sorted(unknown)} (known: {ID_KEYS})")
    parts = [class_id, rule_id] + [_key_text(keys.get(k)) for k in ID_KEYS]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


def _key_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value == value else "?"
    if value is None:
        return "?"
    return value


def message(rule_id: str, lang: str, fields: dict[str, Any]) -> str:
    """The rule's message in `lang` ("zh" default, "en"); a missing field shows as "?", never raises."""
    catalogue = MESSAGES.get(rule_id, {})
    template = catalogue.get(lang) or catalogue.get("zh") or rule_id
    return string.Formatter().vformat(template, (), _Blank({k: _fmt(v) for k, v in fields.items()}))


def _json_default(o: Any) -> Any:
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    return str(o)


def to_json(detail: dict[str, Any] | None) -> str | None:
    if not detail:
        return None
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=_json_default)


def make_finding(info: ClassInfo, pack: RulePack, lang: str, rule_id: str, *, trainee_id: str | None = None,
                 session_id: str | None = None, date: dt.date | None = None, camera_id: str | None = None,
                 path: str | None = None, other: str | None = None, part: str | None = None,
                 start: dt.datetime | None = None, end: dt.datetime | None = None, measured: float | None = None,
                 threshold: float | None = None, evidence_path: str | None = None,
                 detail: dict[str, Any] | None = None, fields: dict[str, Any] | None = None,
                 fid: str | None = None) -> Finding:
    fid = fid or finding_id(info.class_id, rule_id, trainee_id=trainee_id, session_id=session_id, date=date,
                            path=path, camera_id=camera_id, other=other, part=part)
    values = {"trainee_id": trainee_id, "session_id": session_id, "date": date, "path": path,
              "camera_id": camera_id, "other": other, "part": part, "measured": measured,
              "threshold": threshold, **(fields or {})}
    return Finding(
        class_id=info.class_id, institution_id=info.institution_id, rule_id=rule_id,
        severity=pack.severity.get(rule_id, DEFAULT_SEVERITY), message=message(rule_id, lang, values),
        trainee_id=trainee_id, session_id=session_id, date=date, camera_id=camera_id, path=path,
        start=_py(start), end=_py(end), measured=None if measured is None else float(measured),
        threshold=None if threshold is None else float(threshold), evidence_path=evidence_path,
        detail=to_json(_with_message_fields(detail, values)), finding_id=fid,
    )


def _with_message_fields(detail: dict[str, Any] | None, values: dict[str, Any]) -> dict[str, Any]:
    """The detail plus the values the message was made from, so the report can give the message in
    another language (`trainaudit report --lang en`) without re-running the rules."""
    fields = {k: v for k, v in values.items() if v is not None}
    return {**(detail or {}), "message_fields": fields} if fields else (detail or {})


def _py(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
