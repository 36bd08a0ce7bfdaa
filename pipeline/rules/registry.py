"""The rule catalogue: every rule_id of RULES.md maps to one small registered function.

    @rule("RECORDING_GAP")                      # scope="class": (ctx: RuleContext) -> list[Finding]
    @rule("TEACHER_CONFLICT", scope="archive")  # (actx: ArchiveContext) -> list[Finding]

A rule lives in `pipeline/rules/<group>.py` under a function named after its id (lower case), so
`grep -rn RECORDING_GAP pipeline/rules` finds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Scope = Literal["class", "archive"]

# Rule modules, imported once so that their decorators run (in catalogue order).
RULE_MODULES = (
    "pipeline.rules.attendance", "pipeline.rules.headcount", "pipeline.rules.identity",
    "pipeline.rules.recording", "pipeline.rules.hours", "pipeline.rules.online",
    "pipeline.rules.schedule", "pipeline.rules.class_checks",
)


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    scope: Scope
    func: Callable
    module: str


_REGISTRY: dict[str, RuleSpec] = {}


def rule(rule_id: str, scope: Scope = "class") -> Callable[[Callable], Callable]:
    def register(func: Callable) -> Callable:
        if rule_id in _REGISTRY and _REGISTRY[rule_id].func.__qualname__ != func.__qualname__:
            raise ValueError(f"rule {rule_id} registered twice ({_REGISTRY[rule_id].module}, {func.__module__})")
        _REGISTRY[rule_id] = RuleSpec(rule_id, scope, func, func.__module__)
        return func
    return register


def all_rules(scope: Scope | None = None) -> list[RuleSpec]:
    for name in RULE_MODULES:
        importlib.import_module(name)
    return [spec for spec in _REGISTRY.values() if scope is None or spec.scope == scope]
