"""The inspector report: one offline HTML page per class, a run index and the summary workbook, rebuilt
from the Parquet tables of an output folder (`build_report`)."""

from pipeline.outputs.report.build import ReportResult, build_report
from pipeline.outputs.report.tables import read_table

__all__ = ["ReportResult", "build_report", "read_table"]
