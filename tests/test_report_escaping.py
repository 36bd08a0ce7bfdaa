"""Invariant: whatever text the inputs carry, it stays text: never markup in a page, never a formula in
the workbook."""

from __future__ import annotations

import dataclasses

import lxml.html
import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.outputs.report.class_page import class_page
from pipeline.outputs.report.data import ReportTables
from pipeline.outputs.report.i18n import Words
from pipeline.outputs.report.workbook import build_workbook

# Control characters are not text (XML forbids most of them; Excel drops them): leave them out here.
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
HOSTILE = st.sampled_from(["=1+1", "+SUM(A1)", "-2+3", "@cmd", "<script>alert(1)</script>", "\"'><u>x</u><iframe src=x>",
                           "&amp;", "]]>", "<!--"])


def _tables(tmp_path, name: str, message: str, trainee: str) -> ReportTables:
    empty = ReportTables.load(tmp_path / "empty")
    row = {"class_id": "C1", "institution_id": "I1"}
    return dataclasses.replace(
        empty,
        classes=pd.DataFrame([{**row, "institution_name": name, "timezone": "Asia/Shanghai"}]).reindex(
            columns=empty.classes.columns),
        trainees=pd.DataFrame([{**row, "trainee_id": trainee, "name": name}]).reindex(columns=empty.trainees.columns),
        findings=pd.DataFrame([{**row, "finding_id": "f1", "rule_id": "ARCHIVE_INCOMPLETE", "severity": "low",
                                "trainee_id": trainee, "message": message, "detail": message}]).reindex(
            columns=empty.findings.columns),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(HOSTILE, TEXT), message=st.one_of(HOSTILE, TEXT), trainee=st.one_of(HOSTILE, TEXT))
def test_input_text_stays_text(tmp_path, name, message, trainee):
    t = _tables(tmp_path, name, message, trainee)
    doc = lxml.html.fromstring(class_page("C1", t, tmp_path, Words("zh"), "now"))
    assert len(doc.xpath("//script")) == 1 and not doc.xpath("//body//u | //body//iframe | //body//img")
    text = doc.text_content()
    assert name.strip() in text and message.strip() in text and trainee.strip() in text
    path = tmp_path / "summary.xlsx"
    build_workbook(t, path, Words("zh"))
    wb = openpyxl.load_workbook(path)
    values = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert name in values and message in values
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)
