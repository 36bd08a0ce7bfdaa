"""The installed package is `pipeline` alone: the development tools (tools/, the synthetic-class generator)
are not in it, and nothing in it imports them (an installed trainaudit would fail on the import)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]


def installed_packages() -> list[str]:
    """The packages a wheel built from pyproject.toml holds (setuptools' discovery, as configured there)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    find = config["tool"]["setuptools"]["packages"]["find"]
    return find_packages(where=str(REPO), include=find["include"], exclude=find.get("exclude", ()))


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
    return names


def test_the_wheel_holds_pipeline_and_not_the_development_tools():
    packages = installed_packages()
    assert "pipeline" in packages and "pipeline.faces" in packages and "pipeline.cli" in packages
    assert all(p == "pipeline" or p.startswith("pipeline.") for p in packages), packages
    assert (REPO / "tools" / "synth" / "generate.py").is_file()  # the generator is there, only not installed
    assert not [p for p in packages if "synth" in p or p.startswith("tools")]


def test_the_package_never_imports_the_development_tools():
    offending = {str(path.relative_to(REPO)): sorted(n for n in imports_of(path) if n.split(".")[0] == "tools")
                 for path in (REPO / "pipeline").rglob("*.py")}
    assert {path: names for path, names in offending.items() if names} == {}
    assert imports_of(REPO / "tools" / "synth" / "scoring.py") >= {"pipeline.ingest.values"}  # the walk sees imports
