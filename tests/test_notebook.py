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


def _images(nb: nbformat.NotebookNode) -> list[bytes]:
    import base64

    return [base64.b64decode(o["data"]["image/png"]) for c in nb.cells for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]


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
    nb = _run(out, monkeypatch)
    text = _text(nb)
    findings = read_table(out, "findings")
    images = _images(nb)
    # findings per institution, shortfall distribution, presence heatmap: three real PNG drawings
    assert len(images) == 3 and all(i.startswith(b"\x89PNG") and len(i) > 5000 for i in images)
    if with_report:
        assert f"summary.xlsx agrees: 2 institutions, {len(findings)} problems" in text
    else:
        assert "no report yet" in text
    assert "HOURS_SHORTFALL" in text and "370900-0032" in text


def test_shortfall_bins_fit_the_data(tmp_path, monkeypatch):
    """The sample's three trainees fall 142.7 to 148 学时 short (fixed 0/8/24/48/96 h bins put all three in
    one ">96" bar): the edges span exactly that range and count each trainee once."""
    import re

    out = write_sample_out(tmp_path)
    nb = _run(out, monkeypatch)
    cell = next(c for c in nb.cells if c.source.startswith("# Bins that fit the data"))
    table = next(o["data"]["text/plain"] for o in cell["outputs"] if "text/plain" in o.get("data", {}))
    bins = [(float(a), float(b), int(n)) for a, b, n in re.findall(r"(\d+\.\d)–(\d+\.\d)\s+(\d+)", table)]
    assert len(bins) >= 2, table
    assert 142.0 <= bins[0][0] and bins[-1][1] <= 148.1 and sum(n for *_, n in bins) == 3, table
    assert re.search(r"none\s+0\s", table), table


def test_notebook_runs_on_an_empty_output_folder(tmp_path, monkeypatch):
    text = _text(_run(tmp_path, monkeypatch))
    assert "no report yet" in text
