"""Parse the cell values of exported tables: dates, times, timestamps, numbers, enumerations.

Each parser returns the value or raises `ValueError` with a short "expected ..." text; the caller turns
that into a Problem naming the file, row and column.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Sequence, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd

T = TypeVar("T", dt.date, dt.datetime)
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?$")
_STAMP = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.\d+)?)?)?$")


def is_null(value: object) -> bool:
    """An empty cell as pandas and the readers leave it: None, NaN, NaT or pd.NA (anything else, text and
    containers included, is a value)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# Dates outside these years are typing errors or forgeries (9999-12-31 overflowed later arithmetic).
YEARS = (1990, 2099)


def _in_years(value: T) -> T:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"a date between {YEARS[0]} and {YEARS[1]}")
    return value


def parse_date(text: str) -> dt.date:
    match = _DATE.match(text.strip())
    if not match:
        # xlsx cells may carry a midnight time
        stamp = _STAMP.match(text.strip())
        if stamp and not stamp.group(4) or stamp and stamp.group(4) in ("0", "00") and stamp.group(5) == "00":
            match = stamp
    if not match:
        raise ValueError("a date like 2024-10-08 or 2024/10/8")
    year, month, day = (int(match.group(i)) for i in (1, 2, 3))
    try:
        value = dt.date(year, month, day)
    except ValueError:
        raise ValueError("a real calendar date like 2024-10-08") from None
    return _in_years(value)


def parse_time(text: str) -> dt.time:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError("a time like 08:30")
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hour == 24 and minute == 0 and second == 0:
        return dt.time(23, 59, 59)
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        raise ValueError("a time of day between 00:00 and 23:59") from None


def parse_timestamp(text: str, tz: ZoneInfo) -> dt.datetime:
    """Local times as vendors write them: `2024-10-12 08:29:57`, `2024/10/12 8:29`, `2024-10-12T08:29:57`."""
    value = text.strip()
    match = _STAMP.match(value)
    if not match or match.group(4) is None:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("a local date and time like 2024-10-12 08:29:57") from None
        _in_years(parsed)
        return parsed.astimezone(tz) if parsed.tzinfo else parsed.replace(tzinfo=tz)
    parts = [int(match.group(i) or 0) for i in range(1, 7)]
    try:
        value = dt.datetime(*parts, tzinfo=tz)
    except ValueError:
        raise ValueError("a real date and time like 2024-10-12 08:29:57") from None
    return _in_years(value)


def parse_timestamps(texts: Sequence[str], tz: ZoneInfo) -> list[dt.datetime | ValueError]:
    """`parse_timestamp` of a whole column: the layout terminals write (`2024-10-12 08:29:57`, zero-padded)
    is parsed by pandas in C; any other text goes through `parse_timestamp` one by one. Each item is the
    datetime or the ValueError `parse_timestamp` raises for it."""
    if not texts:
        return []
    series = pd.Series(texts, dtype=object).str.strip()
    # Exactly YYYY-MM-DD HH:MM:SS with a real time of day (pandas rolls second 60 over to the next minute)
    fast = series.str.fullmatch(r"\d{4}-\d{2}-\d{2} (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d").fillna(False).astype(bool)
    parsed = pd.to_datetime(series.where(fast), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    years = parsed.dt.year
    parsed = parsed.where(years.between(*YEARS))
    naive = parsed.dt.to_pydatetime()
    out: list[dt.datetime | ValueError] = []
    for text, value in zip(texts, naive):
        if value is not None and value == value:  # NaT is not equal to itself
            out.append(value.replace(tzinfo=tz))
            continue
        try:
            out.append(parse_timestamp(text, tz))
        except ValueError as exc:
            out.append(exc)
    return out


def parse_float(text: str, *, minimum: float | None = 0.0) -> float:
    try:
        value = float(text.strip().replace("，", ".").rstrip("hH分钟"))
    except ValueError:
        raise ValueError("a number") from None
    if value != value or (minimum is not None and value < minimum):
        raise ValueError(f"a number of at least {minimum:g}")
    return value


def parse_int(text: str) -> int:
    value = parse_float(text)
    if not value.is_integer():
        raise ValueError("a whole number")
    return int(value)


TRAINING_KINDS = {"initial": "initial", "初训": "initial", "初次培训": "initial", "新训": "initial",
                  "refresher": "refresher", "复训": "refresher", "复审": "refresher", "复审培训": "refresher"}
SESSION_KINDS = {"theory": "theory", "理论": "theory", "理论培训": "theory",
                 "practical": "practical", "实操": "practical", "实际操作": "practical", "实训": "practical"}
SESSION_MODES = {"offline": "offline", "线下": "offline", "面授": "offline",
                 "online": "online", "线上": "online", "网络": "online"}


def parse_choice(text: str, choices: dict[str, str]) -> str:
    value = choices.get(text.strip().lower()) or choices.get(text.strip())
    if value is None:
        raise ValueError("one of " + "/".join(sorted(set(choices))))
    return value


def mask_id_number(value: str | None) -> str | None:
    """`370902199001011234` -> `3709**********1234`: enough to tell people apart, not to identify them."""
    if not value:
        return None
    text = value.strip()
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]
