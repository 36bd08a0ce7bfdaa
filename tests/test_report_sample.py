"""A small output folder written through the real store, shared by the report and notebook tests.

Two institutions, two classes: one with timed findings, a snapshot drawn with OpenCV and a short real
recording in its class folder; one whose institution name and texts try formula and HTML injection.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from pipeline.outputs.report.tables import read_table
from pipeline.outputs.schemas import TABLES
from pipeline.outputs.store import Store

TZ = "Asia/Shanghai"
INST_A, INST_B = "370900-0032", "370900-0047"
CLASS_A, CLASS_B = "TA2024-DG-017", "TA2024-GY-003"
EVIL_NAME = '=HYPERLINK("http://evil.example/x","点我")'
EVIL_HTML = '<img src="http://evil.example/p.png" onerror="alert(1)"><script>alert(2)</script>'
REC_1 = "recordings/R201-A_20241008082957.mp4"
REC_2 = "recordings/R201-A_20241008133000.mp4"


def at(day: int, hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(f"2024-10-{day:02d} {hhmm}", tz=TZ)


def draw_snapshot(path: Path, text: str) -> str:
    """A classroom-like frame (desks, heads, a timestamp) so the page shows a recognisable picture."""
    img = np.full((360, 640, 3), (200, 214, 222), np.uint8)
    cv2.rectangle(img, (0, 250), (640, 360), (90, 110, 130), -1)
    for i in range(6):
        x = 60 + i * 100
        cv2.rectangle(img, (x - 35, 230), (x + 35, 270), (60, 80, 100), -1)
        cv2.circle(img, (x, 195), 22, (120, 150, 190), -1)
    cv2.putText(img, text, (12, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (20, 20, 20), 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)
    return path.as_posix()


def write_video(path: Path, seconds: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (160, 120))
    for i in range(seconds * 5):
        writer.write(np.full((120, 160, 3), 40 + i * 10, np.uint8))
    writer.release()


def _class_a(archive: Path) -> dict[str, list[dict]]:
    folder = archive / CLASS_A
    write_video(folder / REC_1)
    write_video(folder / REC_2)
    base = {"class_id": CLASS_A}
    trainees = [("S001", "张三", "initial"), ("S002", "李四", "initial"), ("S003", "王五", "refresher")]
    sessions = [("S1", 8, "08:30", "11:30", "theory", "offline", "R201", 4.0),
                ("S2", 8, "13:30", "16:30", "practical", "offline", "R201", 4.0),
                ("S3", 9, "08:30", "10:00", "theory", "online", None, 2.0)]
    t = {
        "classes": [{**base, "institution_name": "泰安市某某安全技术培训有限公司", "job_type": "低压电工作业",
                     "training_kind": "initial", "province": "shandong", "start_date": dt.date(2024, 10, 8),
                     "end_date": dt.date(2024, 10, 9), "rule_pack": "shandong", "head_teacher": "T003",
                     "timezone": TZ, "required_theory_hours": 88.0, "required_practical_hours": 60.0,
                     "required_total_hours": 148.0, "trainees": 3, "sessions": 3, "recordings": 2,
                     "folder": str(folder), "problems": 1}],
        "trainees": [{**base, "trainee_id": i, "name": n, "id_number_masked": "3709**********1234",
                      "training_kind": k, "photos": 1} for i, n, k in trainees],
        "sessions": [{**base, "session_id": s, "date": dt.date(2024, 10, d), "start": at(d, a), "end": at(d, b),
                      "kind": k, "mode": m, "room": r, "teacher_id": "T003", "topic": "安全法规", "hours": h,
                      "scheduled_min": (at(d, b) - at(d, a)).total_seconds() / 60} for s, d, a, b, k, m, r, h in sessions],
        "recordings": [{**base, "path": p, "camera_id": "R201-A", "room": "R201", "role": "classroom", "start": s,
                        "end": e, "duration_min": (e - s).total_seconds() / 60, "codec": "h264", "width": 1280,
                        "height": 720, "fps": 25.0, "sha256": "ab" * 32, "size_bytes": 1000, "readable": True,
                        "start_source": "filename"}
                       for p, s, e in ((REC_1, at(8, "08:29:57"), at(8, "10:40")), (REC_2, at(8, "13:30"), at(8, "16:30")))],
        "coverage": [{**base, "session_id": "S1", "room": "R201", "scheduled_min": 180.0, "recorded_min": 130.0,
                      "gap_min": 50.0, "blank_min": 0.0, "recordings": 1},
                     {**base, "session_id": "S2", "room": "R201", "scheduled_min": 180.0, "recorded_min": 180.0,
                      "gap_min": 0.0, "blank_min": 12.0, "recordings": 1}],
        "checkins": [{**base, "trainee_id": tid, "person_ref": tid, "name": name, "ts": ts, "device_id": "1",
                      "method": "face", "is_face": True, "edited": False, "session_id": sid, "vendor": "zktime",
                      "source_file": "checkins/zk.csv", "source_row": row, "match_status": "id"}
                     for row, (tid, name, ts, sid) in enumerate([
                         ("S001", "张三", at(8, "08:20"), "S1"), ("S002", "李四", at(8, "08:25"), "S1"),
                         ("S003", "王五", at(8, "08:26"), "S1"), ("S001", "张三", at(8, "13:25"), "S2"),
                         ("S002", "李四", at(8, "13:26"), "S2")], start=4)],
        "headcount": [{**base, "session_id": sid, "camera_id": "R201-A", "path": path, "ts": ts,
                       "offset_s": (ts - start).total_seconds(), "faces": faces, "identified": faces - 1,
                       "unknown": 0, "teachers": 1, "people_smoothed": float(faces - 1)}
                      for sid, path, start, first, n in (("S1", REC_1, at(8, "08:29:57"), at(8, "08:35"), 24),
                                                         ("S2", REC_2, at(8, "13:30"), at(8, "13:35"), 35))
                      for k in range(n) for ts in [first + pd.Timedelta(minutes=5 * k)]
                      for faces in [2 + (k % 3 == 0)]],
        "trainee_hours": [{**base, "trainee_id": tid, "session_id": s, "date": dt.date(2024, 10, d), "kind": k,
                           "mode": m, "scheduled_min": 180.0 if m == "offline" else 90.0,
                           "recorded_min": {"S1": 130.0, "S2": 180.0}.get(s), "checked_in": checked,
                           "checkin_events": int(checked), "credited_hours": h,
                           "observed_min": obs, "observed_hours": None if obs is None else round(obs / 45, 2)}
                          for tid in ("S001", "S002", "S003")
                          for s, d, _, _, k, m, _, h in sessions
                          for checked in [not (tid == "S003" and s != "S1") and s != "S3"]
                          for obs in [None if s == "S3" else (0.0 if tid == "S003" else 120.0)]],
        "problems": [{**base, "file": "roster.csv", "row": 3, "column": "身份证号", "level": "warning",
                      "message": "身份证号位数不对", "expected": "18 digits", "found": "37090219920202"}],
    }
    return t


def _findings_a(out: Path) -> list[dict]:
    base = {"class_id": CLASS_A}
    snap1 = f"evidence/{CLASS_A}/hc-S1-091110.jpg"
    snap2 = f"evidence/{CLASS_A}/blank-S2-140000.jpg"
    draw_snapshot(out / snap1, "R201-A 2024-10-08 09:11:10")
    draw_snapshot(out / snap2, "R201-A 2024-10-08 14:00:00")
    return [
        {**base, "finding_id": "f0a1", "rule_id": "HEADCOUNT_MISMATCH", "severity": "high", "session_id": "S1",
         "camera_id": "R201-A", "path": REC_1, "start": at(8, "09:11:10"), "end": at(8, "09:11:10"),
         "measured": 2.0, "threshold": 3.0, "message": "签到3人，录像中最多2人", "evidence_path": snap1,
         "detail": '{"checked_in": 3, "on_video": 2}'},
        {**base, "finding_id": "f0a2", "rule_id": "RECORDING_GAP", "severity": "medium", "session_id": "S1",
         "start": at(8, "10:40"), "end": at(8, "11:30"), "measured": 50.0, "threshold": 5.0,
         "message": "R201 10:40–11:30 无录像"},
        {**base, "finding_id": "f0a3", "rule_id": "ATTENDANCE_PROXY", "severity": "high", "trainee_id": "S003",
         "session_id": "S1", "start": at(8, "08:26"), "message": "王五签到但录像中未出现",
         "detail": '{"best_distance": 0.71, "message_fields": {"name": "王五", "trainee_id": "S003", "session_id": "S1", '
                   '"events": 1, "recorded_min": 130.0, "measured": 0.0, "threshold": 1.0}}'},
        {**base, "finding_id": "f0a4", "rule_id": "HOURS_SHORTFALL", "severity": "high", "trainee_id": "S003",
         "measured": 0.0, "threshold": 148.0, "message": "实到0学时，要求148学时"},
        {**base, "finding_id": "f0a5", "rule_id": "RECORDING_BLANK", "severity": "low", "session_id": "S2",
         "camera_id": "R201-A", "path": REC_2, "start": at(8, "14:00"), "end": at(8, "14:12"), "measured": 12.0,
         "threshold": 5.0, "message": "黑屏12分钟", "evidence_path": snap2, "detail": '{"start_offset_s": 1800}'},
        {**base, "finding_id": "f0a6", "rule_id": "ATTENDANCE_SPARSE_CHECKIN", "severity": "medium",
         "trainee_id": "S002", "date": dt.date(2024, 10, 8), "measured": 2.0, "threshold": 2.0,
         "message": "李四 2024-10-08 签到2次"},
    ]


def _class_b(archive: Path) -> dict[str, list[dict]]:
    base = {"class_id": CLASS_B}
    return {
        "classes": [{**base, "institution_name": EVIL_NAME, "job_type": "高压电工作业", "training_kind": "refresher",
                     "province": "national", "start_date": dt.date(2024, 11, 2), "end_date": dt.date(2024, 11, 2),
                     "rule_pack": "national", "timezone": TZ, "required_total_hours": 8.0, "trainees": 1,
                     "sessions": 1, "recordings": 0, "folder": str(archive / CLASS_B), "problems": 0}],
        "trainees": [{**base, "trainee_id": "001", "name": EVIL_HTML, "training_kind": "refresher", "photos": 1}],
        "sessions": [{**base, "session_id": "1", "date": dt.date(2024, 11, 2), "start": at(2, "08:00") + pd.Timedelta(days=31),
                      "end": at(2, "16:00") + pd.Timedelta(days=31), "kind": "theory", "mode": "offline", "room": "A",
                      "hours": 8.0, "scheduled_min": 480.0}],
        "findings": [
            {**base, "finding_id": "f0b1", "rule_id": "HEAD_TEACHER_MISSING", "severity": "low", "message": EVIL_HTML},
            {**base, "finding_id": "f0b2", "rule_id": "RECORDING_MISSING", "severity": "high", "session_id": "1",
             "message": "+cmd|' /C calc'!A0"},
            {**base, "finding_id": "f0b3", "rule_id": "ARCHIVE_INCOMPLETE", "severity": "medium",
             "message": "@SUM(1+1)*cmd", "detail": '{"missing": ["checkins", "recordings"]}'},
        ],
    }


def write_sample_out(root: Path) -> Path:
    """Write archive/ (class folders with recordings) and out/ (the tables) under root; return out."""
    archive, out = root / "archive", root / "out"
    store = Store(out)
    try:
        a = _class_a(archive)
        a["findings"] = _findings_a(out)
        store.write_class(CLASS_A, INST_A, TZ, a)
        store.write_class(CLASS_B, INST_B, TZ, _class_b(archive))
        store.write_run("20241109T020000-abc", {
            "run_id": "20241109T020000-abc", "started": pd.Timestamp("2024-11-09 02:00", tz="UTC"),
            "finished": pd.Timestamp("2024-11-09 02:40", tz="UTC"), "pipeline_version": "0.1.0",
            "config_hash": "cafe", "mode": "audit", "archive": str(archive), "classes": 2, "audited": 2,
            "skipped": 0, "failed": 0, "findings": 9, "errors": 0, "duration_s": 2400.0, "status": "ok"})
    finally:
        store.close()
    return out


def test_sample_round_trips_through_the_store(tmp_path):
    out = write_sample_out(tmp_path)
    counts = {name: len(read_table(out, name)) for name in TABLES}
    assert counts["findings"] == 9 and counts["classes"] == 2 and counts["runs"] == 1
    assert counts["trainee_hours"] == 9 and counts["headcount"] == 59
    findings = read_table(out, "findings")
    assert set(findings["institution_id"]) == {INST_A, INST_B}
    assert str(findings["start"].dtype) == "datetime64[us, UTC]"
    assert (out / "evidence" / CLASS_A / "hc-S1-091110.jpg").is_file()
