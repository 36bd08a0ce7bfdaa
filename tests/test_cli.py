"""The command line: help with examples that stay in sync with the README, validate, audit, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import duckdb
import pytest
from click.testing import CliRunner

from conftest import REPO, ClassWriter
from pipeline.cli import main


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        found[f"{prefix}{name}"] = command
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix}{name} "))
    return found


def test_every_command_has_help_with_an_example() -> None:
    commands = _commands(main)
    assert {"validate", "audit", "faces count", "faces match", "report", "nightly", "config"} <= set(commands)
    runner = CliRunner()
    for name, command in commands.items():
        if isinstance(command, click.Group):
            continue
        result = runner.invoke(main, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output and "trainaudit" in result.output, f"{name}: no example in --help"


def test_readme_commands_exist_in_the_cli() -> None:
    """The docs drift test: every `trainaudit <command>` the README shows is a real command."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"^trainaudit ([a-z]+(?: (?:count|match))?)", readme, flags=re.M))
    assert shown, "the README shows no trainaudit command"
    assert shown <= set(_commands(main)), shown - set(_commands(main))


def test_validate_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    writer = ClassWriter(tmp_path).default()
    writer.text("schedule.csv", "session_id,date,start,end\nS1,2024/13/45,08:30,11:30\nS2,2024-10-08,11:00,09:00\n")
    writer.text("roster.csv", "trainee_id,name\nS001,张三\nS001,李四\n")
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--json"])
    assert result.exit_code == 1
    problems = [json.loads(line) for line in result.stdout.splitlines()]
    located = {(Path(p["file"]).name, p["row"], p["column"]) for p in problems if p["level"] == "error"}
    assert {("schedule.csv", 2, "date"), ("schedule.csv", 3, "end"), ("roster.csv", 3, "trainee_id")} <= located


def test_validate_clean_class_exits_0(tmp_path: Path) -> None:
    ClassWriter(tmp_path).default()
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["audit", str(tmp_path)]).exit_code == 2  # --out missing
    assert CliRunner().invoke(main, ["nope"]).exit_code == 2


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and "audit" in result.stdout


def test_audit_without_video_writes_every_base_table(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    ClassWriter(archive / "city" / "a", "C-A").default()
    ClassWriter(archive / "city" / "b", "C-B", institution_id="370900-0099").default()
    broken = ClassWriter(archive / "city" / "c", "C-BROKEN").default()
    broken.text("class.yaml", "::: not yaml [\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", str(archive), "--out", str(out), "--no-video", "--no-report", "-q"])
    assert result.exit_code == 1, result.output  # one class failed: reported, the others audited
    assert "C-BROKEN" in result.output or "city/c" in result.output
    for table in ("classes", "trainees", "sessions", "checkins", "findings", "runs"):
        assert list((out / table).rglob("*.parquet")), table
    classes = duckdb.sql(f"select class_id, institution_id from read_parquet('{out}/classes/**/*.parquet', "
                         "hive_partitioning=true) order by 1").fetchall()
    assert classes == [("C-A", "370900-0032"), ("C-B", "370900-0099")]
    masked = duckdb.sql(f"select distinct id_number_masked from read_parquet('{out}/trainees/**/*.parquet')").fetchall()
    assert ("3709**********1234",) in masked
    rules = {r[0] for r in duckdb.sql(f"select rule_id from read_parquet('{out}/findings/**/*.parquet')").fetchall()}
    assert "ARCHIVE_INCOMPLETE" in rules
    run = duckdb.sql(f"select audited, failed, status from read_parquet('{out}/runs/*.parquet')").fetchall()
    assert run == [(2, 1, "completed_with_failures")]


@pytest.mark.parametrize("fail_on, expected", [(None, 0), ("high", 3), ("low", 3)])
def test_fail_on_exit_code(tmp_path: Path, fail_on, expected) -> None:
    ClassWriter(tmp_path / "archive").default()
    args = ["audit", str(tmp_path / "archive"), "--out", str(tmp_path / "out"), "--no-video", "--no-report", "-q"]
    result = CliRunner().invoke(main, args + (["--fail-on", fail_on] if fail_on else []))
    assert result.exit_code == expected, result.output
