"""The analyst notebook runs top to bottom on an output folder, and its summary agrees with the findings."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from pipeline.outputs.report import build_report, read_table
from test_report_sample import write_sample_out

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "analyst.ipynb"


def _run(out: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("TRAINAUDIT_OUT", str(out))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return nb


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("with_report", [True, False])
def test_notebook_runs_on_an_output_folder(tmp_path, monkeypatch, with_report):
    out = write_sample_out(tmp_path)
    if with_report:
        build_report(out)
    text = _text(_run(out, monkeypatch))
    findings = read_table(out, "findings")
    if with_report:
        assert f"summary.xlsx agrees: 2 institutions, {len(findings)} problems" in text
    else:
        assert "no report yet" in text
    assert "HOURS_SHORTFALL" in text and "370900-0032" in text


def test_notebook_runs_on_an_empty_output_folder(tmp_path, monkeypatch):
    text = _text(_run(tmp_path, monkeypatch))
    assert "no report yet" in text
