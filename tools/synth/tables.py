"""Writes a ClassWorld's tables as an institution would export them (ARCHIVE.md formats)."""
from __future__ import annotations

import csv
import re
import datetime as dt
import io
import shutil
import zipfile
from pathlib import Path

import yaml

from tools.synth.world import CheckinRow, ClassWorld

_FIXED = dt.datetime(2024, 1, 1)


def _csv_text(header: list[str], rows: list[list], title_rows: list[list] | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for r in title_rows or []:
        w.writerow(r + [""] * (len(header) - len(r)))
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def _photo(world: ClassWorld, folder: Path, key: str, src: Path | None, sub: str = "") -> str:
    if src is None:
        return ""
    rel = Path("photos") / sub / f"{key}{src.suffix.lower()}"
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, folder / rel)
    return rel.as_posix()


def write_tables(world: ClassWorld, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"class_id": world.class_id, "institution_id": world.institution_id,
            "institution_name": world.institution_name, "job_type": world.job_type,
            "training_kind": world.training_kind,
            "start_date": min(s.date for s in world.sessions), "end_date": max(s.date for s in world.sessions),
            "head_teacher": world.head_teacher, "province": world.province, "timezone": "Asia/Shanghai"}
    if world.head_teacher is None:
        del meta["head_teacher"]
    if world.required_hours:
        meta["required_hours"] = world.required_hours
    if world.exam_registration:
        meta["exam_registration"] = world.exam_registration.strftime("%Y-%m-%dT%H:%M")
    _write(folder / "class.yaml", yaml.safe_dump(meta, allow_unicode=True, sort_keys=False))
    _roster(world, folder)
    _schedule(world, folder)
    if world.teachers_csv:
        rows = [[p.key, p.name, _photo(world, folder, p.key, p.enroll_photo, "teachers"), "低压电工作业",
                 8 + i * 3] for i, p in enumerate(q for q in world.people if q.role == "teacher")]
        _write(folder / "teachers.csv", _csv_text(["teacher_id", "name", "photo", "certificate",
                                                   "experience_years"], rows))
    _checkins(world, folder)
    if world.online:
        _online(world, folder)
    if world.cameras:
        _write(folder / "recordings" / "cameras.csv",
               _csv_text(["camera_id", "room", "role"], [[c, r, role] for c, (r, role) in world.cameras.items()]))
    if world.documents:
        _write(folder / "documents" / "教学日志.txt", f"{world.class_id} 教学日志\n", "gb18030")
        _write(folder / "documents" / "培训效果评估.txt", f"{world.class_id} 培训效果评估报告\n")


def _roster(world: ClassWorld, folder: Path) -> None:
    kind_zh = {"initial": "初训", "refresher": "复训"}
    rows = [[p.key, p.name, p.id_number or "", kind_zh[p.training_kind] if world.roster_chinese_headers
             else p.training_kind, _photo(world, folder, p.key, p.enroll_photo)] for p in world.trainees()]
    if world.roster_chinese_headers:  # GB18030, as Excel on a Chinese Windows saves it
        _write(folder / "roster.csv", _csv_text(["学员编号", "姓名", "身份证号", "培训类型", "照片"], rows), "gb18030")
    else:
        _write(folder / "roster.csv", _csv_text(["trainee_id", "name", "id_number", "training_kind", "photo"],
                                                rows))


def _schedule(world: ClassWorld, folder: Path) -> None:
    zh = world.roster_chinese_headers
    kind = {"theory": "理论", "practical": "实操"} if zh else {"theory": "theory", "practical": "practical"}
    mode = {"offline": "线下", "online": "线上"} if zh else {"offline": "offline", "online": "online"}
    rows = []
    for s in world.sessions:
        date = f"{s.date.year}/{s.date.month}/{s.date.day}" if zh else s.date.isoformat()
        rows.append([s.session_id, date, s.start.strftime("%H:%M"), s.end.strftime("%H:%M"), kind[s.kind],
                     mode[s.mode], s.room or "", s.teacher_id or "", s.topic, f"{s.hours:g}"])
    header = (["课次", "日期", "开始时间", "结束时间", "类型", "方式", "教室", "授课教师", "课程内容", "学时"] if zh else
              ["session_id", "date", "start", "end", "kind", "mode", "room", "teacher_id", "topic", "hours"])
    _write(folder / "schedule.csv", "\ufeff" + _csv_text(header, rows))


def _by_vendor(world: ClassWorld) -> dict[str, list[CheckinRow]]:
    out: dict[str, list[CheckinRow]] = {}
    for c in world.checkins:
        out.setdefault(c.vendor, []).append(c)
    return out


def _checkins(world: ClassWorld, folder: Path) -> None:
    names = {p.key: p.name for p in world.people}
    for vendor, rows in _by_vendor(world).items():
        d0, d1 = min(r.ts for r in rows).date(), max(r.ts for r in rows).date()
        if vendor == "zkteco":
            zk_method = {"face": "15", "fingerprint": "1", "card": "4", "password": "3"}
            body = [["培训部", names[r.person_key], "'" + r.person_key, r.ts.strftime("%Y-%m-%d %H:%M:%S"),
                     r.device_id, i + 1, zk_method.get(r.method, "0"), ""] for i, r in enumerate(rows)]
            text = _csv_text(["部门", "姓名", "登记号码", "日期时间", "机器号", "编号", "比对方式", "卡号"], body,
                             [["考勤记录表"], [f"统计日期：{d0} ~ {d1}"]])
            _write(folder / "checkins" / f"ZKTime_考勤记录_{d0:%Y%m%d}.csv", text, "gb18030")
        elif vendor == "hikvision":
            body = []
            for r in rows:
                pid = r.person_key.lstrip("0") if int(r.person_key) % 2 else r.person_key  # exports drop zeros
                body.append([pid, names[r.person_key], "Training", r.ts.strftime("%Y-%m-%d %H:%M:%S"),
                             _in_or_out(world, r), "Door-R201",
                             "", "Manually Added" if r.method == "manual" else "Device",
                             "Normal", "36.5", "No"])
            text = _csv_text(["Person ID", "Name", "Department", "Time", "Attendance Status",
                              "Attendance Check Point", "Custom Name", "Data Source", "Handling Type",
                              "Temperature", "Abnormal"], body)
            _write(folder / "checkins" / f"iVMS-4200_Attendance_{d0:%Y%m%d}.csv", text)
        elif vendor == "dingtalk":
            _dingtalk(world, rows, names, folder / "checkins" / f"钉钉打卡记录_{d0:%Y%m%d}.xlsx")
        else:
            body = [[r.person_key, names[r.person_key], r.ts.strftime("%Y-%m-%dT%H:%M:%S"), r.device_id,
                     r.method, "0.93" if r.method == "face" else ""] for r in rows]
            _write(folder / "checkins" / f"checkins_{d0:%Y%m%d}.csv",
                   _csv_text(["trainee_id", "name", "timestamp", "device_id", "method", "score"], body))


def _in_or_out(world: ClassWorld, r: CheckinRow) -> str:
    from tools.synth.oracle import session_of

    s = session_of(world, r.ts)
    mid = s.start_dt() + (s.end_dt() - s.start_dt()) / 2 if s else r.ts
    return "Check In" if r.ts < mid else "Check Out"


def _dingtalk(world: ClassWorld, rows: list[CheckinRow], names: dict, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "打卡时间"
    ws.append(["打卡时间表"])
    ws.append([f"统计日期：{rows[0].ts.date()} 至 {rows[-1].ts.date()}"])
    ws.append(["姓名", "考勤组", "部门", "工号", "职位", "UserId", "考勤日期", "考勤时间", "打卡时间", "打卡结果",
               "打卡地址", "打卡备注", "异常打卡原因", "打卡图片", "打卡设备", "管理员修改备注"])
    for r in rows:
        ws.append([names[r.person_key], "培训班", "学员", r.person_key, "学员", f"u{r.person_key}",
                   r.ts.strftime("%Y-%m-%d"), "08:30" if r.ts.hour < 12 else "17:00",
                   r.ts.strftime("%Y-%m-%d %H:%M:%S"), "正常", "泰安市泰山区培训楼", "", "", "", r.device_id,
                   "管理员补卡" if r.edited else ""])
    wb.properties.created = wb.properties.modified = _FIXED
    buf = io.BytesIO()
    wb.save(buf)
    _write_zip_pinned(buf.getvalue(), path)


def _write_zip_pinned(data: bytes, path: Path) -> None:
    """Re-pack a zip with fixed member times so the same seed gives the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", data)
            dst.writestr(fixed, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def _online(world: ClassWorld, folder: Path) -> None:
    body = []
    for o in world.online:
        end = o.start + dt.timedelta(minutes=o.effective_min + 3)
        body.append([o.trainee_id, o.course_id, o.course_title, o.start.strftime("%Y-%m-%d %H:%M:%S"),
                     end.strftime("%Y-%m-%d %H:%M:%S"), f"{o.effective_min:g}",
                     "" if o.credited_hours is None else f"{o.credited_hours:g}", o.face_checks,
                     o.face_checks_passed])
    header = ["学员编号", "课程编号", "课程名称", "开始时间", "结束时间", "有效时长(分钟)", "学时", "人脸核验次数",
              "人脸核验通过次数"]
    _write(folder / "online" / "线上学习记录.csv", "\ufeff" + _csv_text(header, body))
