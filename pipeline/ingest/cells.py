"""What every table reader shares: a cell as clean text, and the error for a file that is no table at all.

Kept apart from the readers (tables.py for CSV/XLS, xlsx.py for .xlsx), which both use them.
"""

from __future__ import annotations

import unicodedata

from pipeline.model import Problem


class TableError(ValueError):
    """A file that cannot be read as a table at all; `problem` says where and why."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(problem.describe())


def clean_cell(value: object) -> str:
    if value.__class__ is str:  # the common case (every CSV cell): no normalisation, only trimming
        text = value.strip()
        if "\u3000" in text:
            text = text.replace("\u3000", " ").strip()
        if text[:1] == "'":
            text = text[1:].strip()
        return text
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip() if not isinstance(value, str) else value.strip()
    text = text.replace("\u3000", " ").strip()
    if text.startswith("'"):
        text = text[1:].strip()
    return text
