"""Write the reliability corpus: hostile, malformed and real-world class folders (issue 16).

Nothing of it is stored in the repository: every file is generated here in about a second, and the whole
corpus takes about 1 MB on disk (the bombs are small files that claim or inflate to gigabytes). Each case
is one class folder under the corpus root; files the archive must never read live in a sibling folder
`outside/`, next to the root, holding a canary token.

    python tests/reliability_corpus.py /tmp/corpus     # writes /tmp/corpus/archive and /tmp/corpus/outside
"""

from __future__ import annotations

import io
import os
import socket
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

CANARY = "CANARY-7f3c-root:x:0:0"  # in every file outside the archive: it must never show up anywhere

CLASS_YAML = """class_id: {class_id}
institution_id: INST-R
job_type: 电工
training_kind: initial
start_date: 2024-10-08
end_date: 2024-10-08
province: {province}
"""
ROSTER = "trainee_id,name,id_number,photo\nS001,张三,,{photo}\nS002,李四,,\nS003,王五,,\n"
SCHEDULE = "session_id,date,start,end,kind,mode\n1,2024-10-08,08:30,11:30,theory,offline\n"
CHECKINS = ("trainee_id,name,timestamp,device_id,method,score\n" +
            "".join(f"S00{i},x,2024-10-08 08:2{i}:00,T1,face,0.9\nS00{i},x,2024-10-08 11:3{i}:00,T1,face,0.9\n"
                    for i in (1, 2, 3)))
HIKVISION = ("Person ID,Name,Department,Time,Attendance Status,Attendance Check Point,Custom Name,Data Source,"
             "Handling Type,Temperature,Abnormal\n" +
             "".join(f"S00{i},x,D,2024-10-08 08:2{i}:00,Check-in,Door1,,Original Records,Normal,36.5,\n"
                     f"S00{i},x,D,2024-10-08 11:3{i}:00,Check-out,Door1,,Original Records,Normal,36.5,\n"
                     for i in (1, 2, 3)))


# The case folders build() writes, in order (pytest parametrises over these names without building first).
CASE_NAMES = [
    "link-checkin-passwd", "link-roster", "link-dir", "photo-dotdot", "fifo", "link-fifo", "link-device", "socket",
    "link-class-yaml", "link-recording", "png-bomb", "png-65535", "xlsx-bomb", "xlsx-sparse", "xlsx-lying-size",
    "hardlink-out", "yaml-laughs", "yaml-deep", "yaml-large", "yaml-feb-30", "yaml-month-13", "csv-late-nul",
    "csv-long-field", "sidecar-9999", "sidecar-deep", "video-liar", "video-jpeg", "id-fullwidth", "id-markup",
    "id-dots", "dup", "province-path", "province-unknown", os.fsdecode("培训班-gbk".encode("gb18030")), "hikvision-original"]


@dataclass
class Case:
    name: str
    why: str
    # (part of the problem's file, part of its message): a located problem both validate and audit report
    expect: list[tuple[str, str]] = field(default_factory=list)
    audited: bool = True  # False: audit fails the class (exit 1), with the problem in its problems table
    validate_exit: int = 1
    finding: tuple[str, str] | None = None  # (rule_id, part of the message) audit must write
    no_finding: str | None = None  # a rule_id audit must not write for this class
    class_id: str | None = None


def _base(folder: Path, class_id: str | None = None, province: str = "national", photo: str = "",
          skip: tuple[str, ...] = ()) -> None:
    (folder / "checkins").mkdir(parents=True, exist_ok=True)
    files = {"class.yaml": CLASS_YAML.format(class_id=class_id or folder.name, province=province),
             "roster.csv": ROSTER.format(photo=photo), "schedule.csv": SCHEDULE, "checkins/terminal.csv": CHECKINS}
    for name, text in files.items():
        if name not in skip:
            (folder / name).write_text(text, encoding="utf-8")


def png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming width x height, with an empty image stream (a 60-byte file)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def xlsx_parts(sheet_data: str, shared_strings: bool = False) -> dict[str, str]:
    """The parts of a one-sheet workbook whose sheetData is `sheet_data` (with a sharedStrings part to add)."""
    shared_type = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sharedStrings+xml"/>' if shared_strings else "")
    shared_rel = ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                  'sharedStrings" Target="sharedStrings.xml"/>' if shared_strings else "")
    return {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+'
        'xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/>' + shared_type + '</Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
        'name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>' + shared_rel + '</Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData>' + sheet_data + '</sheetData></worksheet>',
    }


def xlsx_shared_string_bomb(path: Path, inflated_bytes: int = 300 * 1024 * 1024) -> None:
    """A roster workbook whose one shared string inflates to `inflated_bytes` (the file: about 300 kB)."""
    parts = xlsx_parts('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', shared_strings=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, text in parts.items():
            book.writestr(name, text)
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as handle:
            handle.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                         b'main" count="1" uniqueCount="1"><si><t>')
            block = b"A" * (1 << 20)
            for _ in range(inflated_bytes // len(block)):
                handle.write(block)
            handle.write(b"</t></si></sst>")


def xlsx_book(path: Path, sheet_data: str, declared_sheet_size: int | None = None) -> Path:
    """A workbook of `sheet_data`; with `declared_sheet_size`, its zip headers lie about the sheet's size (the
    local and the central header both say that many bytes: a reader that trusts them inflates without bound)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in xlsx_parts(sheet_data).items():
            book.writestr(name, text)
    if declared_sheet_size is not None:
        data, name = bytearray(path.read_bytes()), b"xl/worksheets/sheet1.xml"
        for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
            at = data.find(signature)
            while at >= 0:
                if data[at + name_at:at + name_at + len(name)] == name:
                    data[at + size_at:at + size_at + 4] = struct.pack("<I", declared_sheet_size)
                at = data.find(signature, at + 4)
        path.write_bytes(bytes(data))
    return path


def small_clip(path: Path, seconds: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t",
                    str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return path


def lying_clip(path: Path) -> None:
    """A real 2 s MP4 whose movie, track and media headers all claim 49 days."""
    data = bytearray(small_clip(path).read_bytes())
    for box, offset in ((b"mvhd", 16), (b"mdhd", 16), (b"tkhd", 20)):
        at = data.find(box)
        if at >= 0 and data[at + 4] == 0:  # version 0: 32-bit fields
            data[at + 4 + offset:at + 8 + offset] = struct.pack(">I", 0xFFFFFFF0)
    path.write_bytes(bytes(data))


def jpeg_bytes() -> bytes:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))
    return data.tobytes()


def build(base: Path) -> tuple[Path, list[Case]]:
    """Write the corpus under `base` (archive/ and outside/); returns the archive root and the cases."""
    root, outside = base / "archive", base / "outside"
    root.mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.csv").write_text(f"trainee_id,name\n{CANARY},{CANARY}\n", encoding="utf-8")
    (outside / "secret.jpg").write_bytes(png_header(64, 64))
    (outside / "class.yaml").write_text(CLASS_YAML.format(class_id=CANARY, province="national"), encoding="utf-8")
    (outside / "dir").mkdir()
    (outside / "dir" / "secret.csv").write_text(f"{CANARY}\n", encoding="utf-8")
    os.mkfifo(outside / "fifo")  # opening it for reading would block forever: a read is a hang
    small_clip(outside / "video.mp4")
    cases: list[Case] = []

    def case(name: str, why: str, *, prefix: bool = True, **kwargs) -> Path:
        """One case folder; its expected problems' files are given relative to it."""
        if prefix:
            kwargs["expect"] = [(f"{name}/{file}", message) for file, message in kwargs.get("expect", [])]
        cases.append(Case(name, why, **kwargs))
        folder = root / name
        folder.mkdir()
        return folder

    # 1. Confinement: nothing outside the class folder is read; FIFOs, devices and sockets never are.
    f = case("link-checkin-passwd", "a check-in export that is a link to a file outside the archive",
             expect=[("checkins/passwd.csv", "outside the class folder")])
    _base(f)
    (f / "checkins" / "passwd.csv").symlink_to(outside / "secret.csv")
    f = case("link-roster", "the roster is a link to a file outside the archive",
             expect=[("roster.csv", "outside the class folder")])
    _base(f, skip=("roster.csv",))
    (f / "roster.csv").symlink_to(outside / "secret.csv")
    f = case("link-dir", "a subfolder of check-ins that is a link to a folder outside",
             expect=[("checkins/more", "outside the class folder")])
    _base(f)
    (f / "checkins" / "more").symlink_to(outside / "dir", target_is_directory=True)
    f = case("photo-dotdot", "a roster photo path climbing out with ..",
             expect=[("roster.csv", "outside the class folder")])
    _base(f, photo="../../outside/secret.jpg")
    f = case("fifo", "a named pipe where a check-in export should be", expect=[("checkins/pipe.csv", "not a regular file")])
    _base(f)
    os.mkfifo(f / "checkins" / "pipe.csv")
    f = case("link-fifo", "a link to a named pipe outside the archive", expect=[("checkins/fifo.csv", "outside")])
    _base(f)
    (f / "checkins" / "fifo.csv").symlink_to(outside / "fifo")
    f = case("link-device", "a link to /dev/zero", expect=[("checkins/zero.csv", "outside")])
    _base(f)
    (f / "checkins" / "zero.csv").symlink_to("/dev/zero")
    f = case("socket", "a Unix socket in the check-ins", expect=[("checkins/sock.csv", "not a regular file")])
    _base(f)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(f / "checkins" / "sock.csv"))
    finally:
        sock.close()
    f = case("link-class-yaml", "class.yaml itself is a link out", expect=[("class.yaml", "outside the class folder")],
             audited=False)
    _base(f, skip=("class.yaml",))
    (f / "class.yaml").symlink_to(outside / "class.yaml")
    f = case("link-recording", "a recording that is a link to a video outside",
             expect=[("recordings/R1_20241008083000.mp4", "outside the class folder")])
    _base(f)
    (f / "recordings").mkdir()
    (f / "recordings" / "R1_20241008083000.mp4").symlink_to(outside / "video.mp4")

    # 2. Bombs: each is a problem naming its file, within the limits of configs (InputLimits).
    f = case("png-bomb", "a 60-byte PNG claiming 20000 x 20000 px as an enrollment photo, next to a valid recording",
             expect=[("photos/S001.png", "photo too large")], no_finding="RECORDING_CORRUPT")
    _base(f, photo="photos/S001.png")
    small_clip(f / "recordings" / "R1_20241008083000.mp4")
    (f / "photos").mkdir()
    (f / "photos" / "S001.png").write_bytes(png_header(20000, 20000))
    f = case("png-65535", "a PNG header claiming 65535 x 65535 px", expect=[("photos/S001.png", "photo too large")])
    _base(f, photo="photos/S001.png")
    (f / "photos").mkdir()
    (f / "photos" / "S001.png").write_bytes(png_header(65535, 65535))
    f = case("xlsx-bomb", "a roster workbook whose one shared string inflates to 300 MB",
             expect=[("roster.xlsx", "shared strings are too large")])
    _base(f, skip=("roster.csv",))
    xlsx_shared_string_bomb(f / "roster.xlsx")
    f = case("xlsx-sparse", "a 1 kB roster workbook with cells at A1 and XFD1048576 (17 billion cells to allocate)",
             expect=[("roster.xlsx", "too many cells")])
    _base(f, skip=("roster.csv",))
    cell = '<c r="{}" t="inlineStr"><is><t>{}</t></is></c>'
    xlsx_book(f / "roster.xlsx", f'<row r="1">{cell.format("A1", "trainee_id")}{cell.format("B1", "name")}</row>'
                                 f'<row r="1048576">{cell.format("XFD1048576", "x")}</row>')
    f = case("xlsx-lying-size", "a roster workbook whose zip headers say its sheet is 1 kB; it inflates to 60 MB",
             expect=[("roster.xlsx", "not a readable .xlsx workbook")])
    _base(f, skip=("roster.csv",))
    xlsx_book(f / "roster.xlsx", '<row r="1"><c r="A1" t="inlineStr"><is><t>' + "A" * 60_000_000 + "</t></is></c></row>",
              declared_sheet_size=1024)
    f = case("hardlink-out", "a check-in export hard-linked to a file outside the archive",
             expect=[("checkins/hard.csv", "hard link")])
    _base(f)
    os.link(outside / "secret.csv", f / "checkins" / "hard.csv")
    f = case("yaml-laughs", "class.yaml with nested anchors (billion laughs)", expect=[("class.yaml", "aliases")],
             audited=False)
    laughs = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))
    (f / "class.yaml").write_text("class_id: LAUGHS\ninstitution_id: I\nl0: &l0 lol\n" + laughs, encoding="utf-8")
    f = case("yaml-deep", "class.yaml with 5000 nested flow sequences", expect=[("class.yaml", "nested too deeply")],
             audited=False)
    (f / "class.yaml").write_text("class_id: DEEP\ninstitution_id: I\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    f = case("yaml-large", "a class.yaml of 1 MB", expect=[("class.yaml", "too large")], audited=False)
    (f / "class.yaml").write_text("class_id: BIG\ninstitution_id: I\n" + "# padding\n" * 100_000)
    f = case("yaml-feb-30", "an unquoted impossible date", expect=[("class.yaml", "value cannot be read")])
    _base(f)
    (f / "class.yaml").write_text(CLASS_YAML.format(class_id=f.name, province="national")
                                  .replace("start_date: 2024-10-08", "start_date: 2024-02-30"))
    f = case("yaml-month-13", "an unquoted date in month 13", expect=[("class.yaml", "value cannot be read")])
    _base(f)
    (f / "class.yaml").write_text(CLASS_YAML.format(class_id=f.name, province="national")
                                  .replace("end_date: 2024-10-08", "end_date: 2024-13-01"))
    f = case("csv-late-nul", "a NUL byte after the first 4 KB of the roster", expect=[("roster.csv", "NUL")])
    _base(f, skip=("roster.csv",))
    (f / "roster.csv").write_bytes(ROSTER.format(photo="").encode() + b"# pad\n" * 1000 + b"S009,x\x00y,,\n")
    f = case("csv-long-field", "a 300 kB cell in a check-in export", expect=[("checkins/terminal.csv", "too long")])
    _base(f)
    (f / "checkins" / "terminal.csv").write_text(CHECKINS + "S001,\"" + "x" * 300_000 + "\",2024-10-08 09:00,T1,face,\n")
    f = case("sidecar-9999", "a recording sidecar starting at 9999-12-31T23:59",
             expect=[("recordings/R1_20241008083000.mp4.json", "sidecar cannot be read")])
    _base(f)
    small_clip(f / "recordings" / "R1_20241008083000.mp4")
    (f / "recordings" / "R1_20241008083000.mp4.json").write_text('{"camera_id": "R1", "start": "9999-12-31T23:59"}')
    f = case("sidecar-deep", "a sidecar of 100000 nested JSON arrays",
             expect=[("recordings/R1_20241008083000.mp4.json", "sidecar cannot be read")])
    _base(f)
    small_clip(f / "recordings" / "R1_20241008083000.mp4")
    (f / "recordings" / "R1_20241008083000.mp4.json").write_text("[" * 100_000 + "]" * 100_000)
    f = case("video-liar", "an MP4 whose headers all claim 49 days", validate_exit=0,
             finding=("RECORDING_CORRUPT", "claims"))
    _base(f)
    lying_clip(f / "recordings" / "R1_20241008083000.mp4")
    f = case("video-jpeg", "a JPEG renamed .mp4", validate_exit=0, finding=("RECORDING_CORRUPT", "image"))
    _base(f)
    (f / "recordings").mkdir()
    (f / "recordings" / "R1_20241008083000.mp4").write_bytes(jpeg_bytes())

    # 3. Names and ids that must not lose rows or collide.
    for name, class_id in (("id-fullwidth", "（2024）泰安-017"), ("id-markup", "<b>x</b>/../_y"), ("id-dots", "..")):
        _base(case(name, f"class_id {class_id!r}: its tables must be found by every reader", validate_exit=0,
                   class_id=class_id), class_id=class_id)
    f = case("dup", "two class folders with one class_id: the second is a problem, never an overwrite",
             expect=[("dup-b/class.yaml", "already used")], prefix=False, audited=False, class_id="DUP-001")
    _base(f / "dup-a", class_id="DUP-001")
    _base(f / "dup-b", class_id="DUP-001")
    (f / "dup-b" / "roster.csv").write_text(ROSTER.format(photo="").replace("S003,王五", "S004,赵六"))
    _base(case("province-path", "a path-like province", expect=[("class.yaml", "unknown rule pack")], audited=False),
          province="../../etc/passwd")
    _base(case("province-unknown", "a province without a rule pack", expect=[("class.yaml", "unknown rule pack")],
               audited=False), province="beijing")

    # 4. Real Chinese archives.
    gbk = os.fsdecode("培训班-gbk".encode("gb18030"))  # the folder name itself, as unzip leaves it
    f = case(gbk, "file and folder names in GBK bytes (unzip of a zip made on Chinese Windows)", validate_exit=0,
             class_id="gbk-names")
    _base(f, class_id="gbk-names", skip=("checkins/terminal.csv",))
    (f / "checkins" / os.fsdecode("签到记录.csv".encode("gb18030"))).write_text(CHECKINS)
    (f / "checkins" / os.fsdecode(b"bad\xff\xfe.csv")).write_text(CHECKINS.replace("08:2", "08:1"))
    f = case("hikvision-original", "Hikvision rows with Data Source 'Original Records' are face events",
             validate_exit=0, no_finding="ATTENDANCE_NON_FACE")
    _base(f, skip=("checkins/terminal.csv",))
    (f / "checkins" / "hik.csv").write_text(HIKVISION)
    return root, cases


if __name__ == "__main__":
    where = Path(sys.argv[1] if len(sys.argv) > 1 else "reliability-corpus")
    archive, written = build(where)
    for c in written:
        print(f"{os.fsencode(c.name).decode('utf-8', 'backslashreplace'):<24} {c.why}")
    print(f"{len(written)} cases under {archive}", file=sys.stderr)
