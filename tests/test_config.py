"""Configuration: strict (unknown keys named by path), documented and bounded; rule packs inherit and date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from pathlib import Path

import pytest

from pipeline.config import CONFIG_DIR, RulePack, RulePacks, PipelineConfig, load_pipeline_config
from pipeline.settings import SettingsError


def _leaves(cls, prefix=""):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _leaves(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hints[f.name], f.metadata


@pytest.mark.parametrize("cls", [RulePack, PipelineConfig], ids=["rule pack", "pipeline"])
def test_every_setting_is_documented_and_numbers_are_bounded(cls) -> None:
    leaves = list(_leaves(cls))
    assert len(leaves) > 15
    for key, hint, meta in leaves:
        assert meta.get("doc"), f"{key} has no documentation"
        numeric = hint in (int, float) or typing.get_args(hint) and set(typing.get_args(hint)) <= {int, float, type(None)}
        if numeric:
            assert meta.get("min") is not None and meta.get("max") is not None, f"{key} has no bounds"


@pytest.mark.parametrize("overrides, fragment", [
    ({"faces.nope": 1}, "faces.nope: unknown setting"),
    ({"video.sample_interval_s": 0.0}, "video.sample_interval_s: expected a value in"),
    ({"run.lang": "fr"}, "run.lang: expected one of"),
])
def test_bad_settings_are_named_by_key_path(overrides, fragment) -> None:
    with pytest.raises(SettingsError) as info:
        load_pipeline_config(overrides=overrides)
    assert fragment in str(info.value)


def test_shandong_extends_national_with_the_notice_numbers() -> None:
    packs = RulePacks()
    national, shandong = packs.get("national", dt.date(2024, 10, 8)), packs.get("shandong", dt.date(2024, 10, 8))
    assert (national.max_online_share_theory, shandong.max_online_share_theory) == (0.70, 0.40)
    assert (national.online_min_per_hour, shandong.online_min_per_hour) == (30, 45)
    assert (national.max_daily_hours, shandong.max_daily_hours) == (None, 8)
    assert (national.retention_share_before_full, shandong.retention_share_before_full) == (None, 0.20)
    assert shandong.syllabus["低压电工作业"].theory == 88 and shandong.full_recording_from == dt.date(2024, 7, 1)


def test_a_class_is_judged_by_the_pack_version_of_its_time(tmp_path: Path) -> None:
    for name in ("national.yaml", "shandong.yaml"):
        (tmp_path / name).write_text((CONFIG_DIR / "rules" / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "national-2026.yaml").write_text(
        "name: national\nextends: null\neffective_from: 2026-06-01\nmin_checkins_per_day: 4\n", encoding="utf-8")
    packs = RulePacks(tmp_path)
    assert packs.get("national", dt.date(2025, 1, 1)).min_checkins_per_day == 2
    assert packs.get("national", dt.date(2026, 7, 1)).min_checkins_per_day == 4
    assert packs.get("shandong", dt.date(2026, 7, 1)).min_checkins_per_day == 4  # inherits the version in force


def test_unknown_rule_pack_keys_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("name: x\nmax_online_share: 0.5\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="max_online_share: unknown setting"):
        RulePacks(tmp_path).get("x")
