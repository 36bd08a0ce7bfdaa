"""Large but legitimate exports: how fast the ingest stage reads them, against plain pandas.read_csv.

    .venv/bin/python benchmarks/bench_ingest.py [--checkins 200000] [--roster 100000] [--xlsx-rows 1048575]

A year of a large institution's terminal exports is about 200,000 check-in events; a big roster 100,000
rows; an .xlsx sheet holds at most 1,048,575 data rows. The files are generated in a temporary folder
(nothing is kept). Each read runs in its own child process, so its peak RSS is its own (wait4); wall
and CPU seconds are both given (the machine may be shared). The baseline is `pandas.read_csv(path,
dtype=str)` of the same rows as CSV, measured in the same run. Writes benchmarks/results/ingest.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PEOPLE = 500  # trainees the check-ins belong to


def write_checkins(path: Path, rows: int) -> None:
    start = dt.datetime(2024, 1, 2, 7, 0)
    with open(path, "w", encoding="utf-8") as out:
        out.write("trainee_id,name,timestamp,device_id,method,score\n")
        for i in range(rows):
            stamp = start + dt.timedelta(minutes=7 * i)
            out.write(f"S{i % PEOPLE:05d},学员{i % PEOPLE},{stamp:%Y-%m-%d %H:%M:%S},T{i % 7},face,0.9{i % 10}\n")


def write_roster(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("trainee_id,name,id_number,training_kind\n")
        for i in range(rows):
            out.write(f"S{i:07d},学员{i},37090219900101{i % 10000:04d},initial\n")


def write_roster_xlsx(path: Path, rows: int) -> None:
    """A real .xlsx (inline strings, as many exporters write) of `rows` data rows, written as XML directly:
    openpyxl's writer would take minutes for a full sheet."""
    head = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main"><sheetData>')

    def row(r: int, cells: tuple[str, ...]) -> str:
        return f'<row r="{r}">' + "".join(f'<c t="inlineStr"><is><t>{c}</t></is></c>' for c in cells) + "</row>"

    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
        'name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in parts.items():
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            sheet.write(row(1, ("trainee_id", "name", "id_number", "training_kind")).encode())
            block = []
            for i in range(rows):
                block.append(row(i + 2, (f"S{i:07d}", f"学员{i}", f"37090219900101{i % 10000:04d}", "initial")))
                if len(block) == 10000:
                    sheet.write("".join(block).encode())
                    block = []
            sheet.write(("".join(block) + "</sheetData></worksheet>").encode())


def measure(kind: str, path: Path) -> dict:
    """Runs in the child: one read, timed."""
    import pandas as pd  # imports are not the read: every kind starts its clock after them

    if kind == "pandas_csv":
        started, cpu = time.perf_counter(), time.process_time()
        rows = len(pd.read_csv(path, dtype=str, keep_default_na=False))
    elif kind == "checkins":
        from zoneinfo import ZoneInfo

        from pipeline.ingest.checkins import load_formats, read_checkins
        from pipeline.ingest.classfiles import Collector
        from pipeline.model import Trainee

        roster = [Trainee("C", f"S{i:05d}", f"学员{i}", None, "initial", (), i + 2) for i in range(PEOPLE)]
        col = Collector(path.parent)
        started, cpu = time.perf_counter(), time.process_time()  # the imports are not the read
        rows = len(read_checkins([path], "C", ZoneInfo("Asia/Shanghai"), roster, col, load_formats()))
        assert not [p for p in col.problems if p.level == "error"], col.problems[:3]
    elif kind == "roster":
        from pipeline.ingest.classfiles import Collector, load_roster
        from pipeline.model import ClassInfo

        info = ClassInfo("C", "I", None, None, "initial", None, None, None, "national", "Asia/Shanghai", None, None,
                         None, None, path.parent)
        col = Collector(path.parent)
        started, cpu = time.perf_counter(), time.process_time()
        rows = len(load_roster(path, info, col))
        assert not [p for p in col.problems if p.level == "error"], col.problems[:3]
    else:
        raise ValueError(kind)
    return {"rows": rows, "wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu}


def run_child(kind: str, path: Path) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--measure", kind, str(path)], stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{kind} on {path.name} failed")
    result = json.loads(out)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=200_000)
    parser.add_argument("--roster", type=int, default=100_000)
    parser.add_argument("--xlsx-rows", type=int, default=1_048_575)
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = [("check-in export (generic CSV)", "checkins", work / "checkins.csv", args.checkins, write_checkins),
                 ("roster (CSV)", "roster", work / "roster.csv", args.roster, write_roster)]
        if args.xlsx_rows:
            files.append(("roster (.xlsx, one full sheet)", "roster", work / "roster.xlsx", args.xlsx_rows,
                          write_roster_xlsx))
        for label, kind, path, count, writer in files:
            writer(path, count)
            baseline_csv = path
            if path.suffix == ".xlsx":  # the baseline reads the same rows as CSV
                baseline_csv = work / "roster_same_rows.csv"
                write_roster(baseline_csv, count)
            ours, base = run_child(kind, path), run_child("pandas_csv", baseline_csv)
            assert ours["rows"] == count and base["rows"] == count, (ours, base, count)
            rows.append((label, count, path.stat().st_size, ours, base))
            print(f"{label}: {count:,} rows, {path.stat().st_size / 1e6:.1f} MB: ours {ours['wall_s']:.2f} s wall "
                  f"{ours['cpu_s']:.2f} s CPU {ours['peak_rss_mb']:.0f} MB; pandas.read_csv {base['wall_s']:.2f} s "
                  f"wall {base['cpu_s']:.2f} s CPU {base['peak_rss_mb']:.0f} MB; ratio (CPU) "
                  f"{ours['cpu_s'] / base['cpu_s']:.1f}x", flush=True)
    lines = ["# Ingest of large exports (benchmarks/bench_ingest.py)", "",
             f"Machine: {os.cpu_count()} cores, shared with parallel work. Each read in its own process (peak RSS "
             "is that process's, interpreter and imports included). Baseline: `pandas.read_csv(path, dtype=str)` "
             "of the same rows as CSV, measured in the same run.", "",
             "| file | rows | MB | ours wall s | ours CPU s | ours peak MB | read_csv wall s | read_csv CPU s | "
             "read_csv peak MB | ratio (CPU) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, count, size, ours, base in rows:
        lines.append(f"| {label} | {count:,} | {size / 1e6:.1f} | {ours['wall_s']:.2f} | {ours['cpu_s']:.2f} | "
                     f"{ours['peak_rss_mb']:.0f} | {base['wall_s']:.2f} | {base['cpu_s']:.2f} | "
                     f"{base['peak_rss_mb']:.0f} | {ours['cpu_s'] / base['cpu_s']:.1f}x |")
    out = ROOT / "benchmarks" / "results" / "ingest.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
