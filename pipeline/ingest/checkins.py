"""Face check-in terminal exports: recognise the vendor format, normalise events, match people to the roster.

Vendor formats are data (`configs/checkin_formats/*.yaml`), not code. IDs are text: a leading apostrophe
is dropped, and an id whose leading zeros the exporter dropped still matches when that is unambiguous.
Re-uploaded duplicates (same device, person, time and method) count once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from zoneinfo import ZoneInfo

import yaml

from pipeline.config import CONFIG_DIR
from pipeline.ingest.classfiles import Collector
from pipeline.ingest.tables import HEADER_SEARCH_ROWS, RawTable, normalise_header
from pipeline.ingest.values import parse_float, parse_timestamps
from pipeline.model import CheckinEvent, Trainee
from pipeline.settings import SettingsError, build, load_yaml_text, setting

METHODS = ("face", "card", "password", "fingerprint", "manual", "other")


@dataclass(frozen=True)
class CheckinFormat:
    name: str = setting("", "format id, written to checkins.vendor")
    description: str = setting("", "what exports this format")
    header: list[str] = setting([], "column names that must all be in the header row")
    fields: dict[str, str] = setting({}, "canonical field -> column: person_id, name, timestamp, device_id, "
                                         "method, direction, score, photo")
    method_default: str = setting("other", "verify method without a method column", choices=METHODS)
    method_values: dict[str, str] = setting({}, "export value -> verify method")
    method_other: str = setting("other", "verify method of values not in method_values", choices=METHODS)
    edited_values: dict[str, list[str]] = setting(
        {}, "column -> values that mean 'added or changed by hand' (matched case-insensitively, as a part of the "
            "cell: 'manual' matches 'Manually Added')")
    device_values: dict[str, list[str]] = setting(
        {}, "column -> values known to mean 'recorded by the terminal'; a value in neither list also counts as a "
            "terminal record (evidence is not turned into an accusation) and is reported once per file")
    edited_if_nonempty: list[str] = setting([], "columns whose non-empty value marks a hand edit")
    weak_if_nonempty: list[str] = setting([], "columns whose non-empty value makes the row weak evidence")
    weak_if_contains: dict[str, list[str]] = setting({}, "column -> substrings that make the row weak evidence")
    direction_values: dict[str, str] = setting({}, "export value -> in/out")


FIELDS = ("person_id", "name", "timestamp", "device_id", "method", "direction", "score", "photo")


def load_formats(folder: Path | None = None) -> list[CheckinFormat]:
    folder = folder or CONFIG_DIR / "checkin_formats"
    formats, problems = [], []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = load_yaml_text(path.read_text(encoding="utf-8"))
            fmt = build(CheckinFormat, data, f"{path.name}")
        except (yaml.YAMLError, SettingsError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        unknown = set(fmt.fields) - set(FIELDS)
        if unknown or "timestamp" not in fmt.fields or not ("person_id" in fmt.fields or "name" in fmt.fields):
            problems.append(f"{path}: fields must map timestamp and person_id or name; unknown: {sorted(unknown)}")
            continue
        bad = {v for v in fmt.method_values.values() if v not in METHODS}
        if bad:
            problems.append(f"{path}: method_values map to unknown methods {sorted(bad)} (known: {METHODS})")
            continue
        formats.append(fmt)
    if problems:
        raise SettingsError(problems)
    # Formats with longer headers first, so a superset header wins over the generic one.
    return sorted(formats, key=lambda f: -len(f.header))


def detect_format(raw: RawTable, formats: Sequence[CheckinFormat]) -> tuple[CheckinFormat, int] | None:
    for index, row in enumerate(raw.rows[:HEADER_SEARCH_ROWS]):
        cells = {normalise_header(c) for c in row}
        for fmt in formats:
            if all(normalise_header(h) in cells for h in fmt.header):
                return fmt, index
    return None


@dataclass(frozen=True)
class RosterIndex:
    by_id: dict[str, str]
    by_stripped_id: dict[str, list[str]]
    by_name: dict[str, list[str]]

    @classmethod
    def build(cls, trainees: Sequence[Trainee]) -> RosterIndex:
        by_id = {t.trainee_id: t.trainee_id for t in trainees}
        stripped: dict[str, list[str]] = {}
        names: dict[str, list[str]] = {}
        for t in trainees:
            stripped.setdefault(t.trainee_id.lstrip("0"), []).append(t.trainee_id)
            names.setdefault(t.name.replace(" ", ""), []).append(t.trainee_id)
        return cls(by_id, stripped, names)

    def match(self, person_id: str, name: str) -> tuple[str | None, str]:
        if person_id:
            if person_id in self.by_id:
                return person_id, "id"
            candidates = self.by_stripped_id.get(person_id.lstrip("0"), [])
            if len(candidates) == 1:
                return candidates[0], "id"
        if name:
            candidates = self.by_name.get(name.replace(" ", ""), [])
            if len(candidates) == 1:
                return candidates[0], "name"
            if len(candidates) > 1:
                return None, "ambiguous"
        return None, "unknown"


def read_checkin_file(path: Path, class_id: str, tz: ZoneInfo, roster: RosterIndex,
                      formats: Sequence[CheckinFormat], col: Collector) -> list[CheckinEvent]:
    raw = col.raw(path)
    if raw is None:
        return []
    found = detect_format(raw, formats)
    if found is None:
        first = " | ".join(", ".join(r) for r in raw.rows[:3])[:300]
        col.add(path, "check-in export format not recognised", row=raw.line_numbers[0] if raw.line_numbers else None,
                expected="a header of one of: " + "; ".join(f.name for f in formats) +
                " (add a mapping in configs/checkin_formats/)", found=first)
        return []
    fmt, header_index = found
    header = [normalise_header(c) for c in raw.rows[header_index]]
    position = {name: i for i, name in reversed(list(enumerate(header)))}

    columns: dict[str | None, int | None] = {}  # mapping column -> its index, normalised once per file

    def cell(row: Sequence[str], column: str | None) -> str:
        if column not in columns:
            columns[column] = position.get(normalise_header(column)) if column else None
        i = columns[column]
        return row[i] if i is not None and i < len(row) else ""  # cells come stripped (tables.clean_cell)

    events = []
    rel = col.rel(path)
    edited_values = {c: [v.lower() for v in values] for c, values in fmt.edited_values.items()}
    device_values = {c: {v.lower() for v in values} for c, values in fmt.device_values.items()}
    for column in device_values.keys() - edited_values.keys():
        edited_values[column] = []
    unknown: dict[tuple[str, str], list[int]] = {}  # (column, value) -> [first row, rows]
    stamp_column, id_column, name_column = (fmt.fields.get(f) for f in ("timestamp", "person_id", "name"))
    kept = []  # (row, line, stamp text, person id, name): rows that hold an event
    for row, line in zip(raw.rows[header_index + 1:], raw.line_numbers[header_index + 1:]):
        stamp_text, name = cell(row, stamp_column), cell(row, name_column)
        person_id = cell(row, id_column).lstrip("'")
        if stamp_text or person_id or name:
            kept.append((row, line, stamp_text, person_id, name))
    stamps = parse_timestamps([k[2] for k in kept], tz)  # the column at once (values.py)
    method_column, direction_column, score_column, device_column, photo_column = (
        fmt.fields.get(f) for f in ("method", "direction", "score", "device_id", "photo"))
    scores: dict[str, float | None] = {}  # a file repeats its few score and person values: each parsed once
    matches: dict[tuple[str, str], tuple[str | None, str]] = {}
    for (row, line, stamp_text, person_id, name), ts in zip(kept, stamps):
        if isinstance(ts, ValueError):
            col.add(path, "check-in time cannot be read", row=line, column=stamp_column, expected=str(ts),
                    found=stamp_text)
            continue
        method_raw = cell(row, method_column) or None
        if method_raw is None:
            method = fmt.method_default
        else:
            method = fmt.method_values.get(method_raw) or fmt.method_values.get(method_raw.lower(), fmt.method_other)
        edited = any(cell(row, c) for c in fmt.edited_if_nonempty)
        for column, by_hand in edited_values.items():
            value = cell(row, column)
            if not value:
                continue
            key = value.lower()
            if any(v in key for v in by_hand):
                edited = True
            elif key not in device_values.get(column, ()):
                unknown.setdefault((column, value), [line, 0])[1] += 1
        weak = any(cell(row, c) for c in fmt.weak_if_nonempty) or any(
            any(s in cell(row, c) for s in subs) for c, subs in fmt.weak_if_contains.items())
        if edited and method == "face":
            method_raw = method_raw or "edited"
        direction = fmt.direction_values.get(cell(row, direction_column)) if fmt.direction_values else None
        score_text = cell(row, score_column)
        if score_text not in scores:
            try:
                scores[score_text] = parse_float(score_text, minimum=None) if score_text else None
            except ValueError:
                scores[score_text] = None
        score = scores[score_text]
        if (person_id, name) not in matches:
            matches[person_id, name] = roster.match(person_id, name)
        trainee_id, status = matches[person_id, name]
        if status in ("unknown", "ambiguous"):
            col.add(path, f"check-in person {'matches several trainees' if status == 'ambiguous' else 'not on the roster'}",
                    row=line, column=fmt.fields.get("person_id") or fmt.fields.get("name"),
                    expected="a trainee id or a unique name from roster.csv", found=person_id or name, level="warning")
        events.append(CheckinEvent(
            class_id=class_id, trainee_id=trainee_id, person_ref=person_id or name, name=name or None, ts=ts,
            device_id=cell(row, device_column) or None, method=method, method_raw=method_raw,
            is_face=method == "face" and not edited and not weak, edited=edited, direction=direction,
            vendor=fmt.name, source_file=rel, source_row=line, match_status=status, score=score,
            photo=cell(row, photo_column) or None))
    for (column, value), (line, count) in unknown.items():
        col.add(path, f"value not in the {fmt.name} mapping: counted as recorded by the terminal", row=line,
                column=column, level="warning", found=value,
                expected="a value listed in configs/checkin_formats/" + f"{fmt.name}.yaml (edited_values or "
                         f"device_values); {count} row(s) of this file carry it")
    return events


def deduplicate(events: Sequence[CheckinEvent]) -> list[CheckinEvent]:
    """Terminals re-upload: the same device, person, time and method count once (the first copy is kept)."""
    seen, kept = set(), []
    for event in sorted(events, key=lambda e: (e.ts, e.source_file, e.source_row)):
        key = (event.device_id, event.trainee_id or event.person_ref, event.ts, event.method)
        if key in seen:
            continue
        seen.add(key)
        kept.append(event)
    return kept


def read_checkins(paths: Sequence[Path], class_id: str, tz: ZoneInfo, trainees: Sequence[Trainee],
                  col: Collector, formats: Sequence[CheckinFormat] | None = None) -> list[CheckinEvent]:
    """Events of every export among `paths` (the class's own regular files under checkins/, see confine.py)."""
    formats = formats if formats is not None else load_formats()
    roster = RosterIndex.build(trainees)
    events: list[CheckinEvent] = []
    for path in paths:
        if path.suffix.lower() not in (".csv", ".xlsx", ".xls", ".txt", ".htm", ".html"):
            continue
        events.extend(read_checkin_file(path, class_id, tz, roster, formats, col))
    return deduplicate(events)
