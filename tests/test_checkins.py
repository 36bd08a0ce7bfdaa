"""Check-in exports: the four formats of ARCHIVE.md, a vendor added by configuration, roster matching."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from pipeline.config import CONFIG_DIR
from pipeline.ingest.confine import ClassFiles
from pipeline.ingest.checkins import RosterIndex, load_formats, read_checkins
from pipeline.ingest.classfiles import Collector
from pipeline.model import Trainee

TZ = ZoneInfo("Asia/Shanghai")
ROSTER = [Trainee("C1", tid, name, None, "initial", (), i + 2)
          for i, (tid, name) in enumerate([("S001", "张三"), ("0042", "李四"), ("S003", "王五"), ("S004", "王五")])]

ZK = ("考勤记录表\n部门,姓名,登记号码,日期时间,机器号,编号,比对方式,卡号\n"
      "一部,张三,'S001,2024-10-12 08:29:57,1,1,15,\n"
      "一部,李四,42,2024/10/12 8:30,1,2,1,\n")
HIK = ("Person ID,Name,Department,Time,Attendance Status,Attendance Check Point,Custom Name,Data Source,"
       "Handling Type,Temperature,Abnormal\n"
       "S001,张三,Dept,2024-10-12T08:29:57,Check-in,Door1,,Device,Normal,36.5,\n"
       "0042,李四,Dept,2024-10-12T16:31:00,Check-out,Door1,,Manual,Add,,\n")
GENERIC = ("trainee_id,name,timestamp,device_id,method,score\n"
           "S001,张三,2024-10-12 08:29:57,T1,face,0.93\n"
           "S001,张三,2024-10-12 08:29:57,T1,face,0.93\n"
           "X999,陌生人,2024-10-12 08:31:00,T1,face,0.91\n"
           ",王五,2024-10-12 08:32:00,T1,password,\n")
DINGTALK_HEADER = ["姓名", "考勤组", "部门", "工号", "职位", "UserId", "考勤日期", "考勤时间", "打卡时间", "打卡结果",
                   "打卡地址", "打卡备注", "异常打卡原因", "打卡图片", "打卡设备", "管理员修改备注", "额外列"]


def _dingtalk(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["钉钉打卡记录"])
    sheet.append(["统计日期: 2024-10-12"])
    sheet.append(DINGTALK_HEADER)
    sheet.append(["张三", "培训", "一部", "S001", "", "u1", "2024-10-12", "08:30", "2024-10-12 08:29:57", "正常",
                  "", "", "", "", "M2", "", ""])
    sheet.append(["李四", "培训", "一部", "0042", "", "u2", "2024-10-12", "08:30", "2024-10-12 08:40:00", "正常",
                  "", "", "", "", "M2", "管理员改为正常", ""])
    sheet.append(["王五", "培训", "一部", "S003", "", "u3", "2024-10-12", "08:30", "2024-10-12 08:41:00", "正常",
                  "", "", "人脸不匹配", "", "M2", "", ""])
    book.save(path)


def _read(folder: Path, formats=None):
    col = Collector(folder.parent)
    events = read_checkins(ClassFiles.scan(folder).files, "C1", TZ, ROSTER, col, formats)
    return events, col.problems


@pytest.mark.parametrize("name, writer, expected", [
    ("zk.csv", lambda p: p.write_bytes(ZK.encode("gb18030")),
     [("S001", "face", True, "zkteco_zktime5"), ("0042", "fingerprint", False, "zkteco_zktime5")]),
    ("hik.csv", lambda p: p.write_text(HIK, encoding="utf-8-sig"),
     [("S001", "face", True, "hikvision_ivms4200"), ("0042", "face", False, "hikvision_ivms4200")]),
    ("generic.csv", lambda p: p.write_text(GENERIC),
     [("S001", "face", True, "generic"), (None, "face", True, "generic"), (None, "password", False, "generic")]),
    ("dingtalk.xlsx", _dingtalk,
     [("S001", "face", True, "dingtalk_punch"), ("0042", "face", False, "dingtalk_punch"),
      ("S003", "face", False, "dingtalk_punch")]),
])
def test_vendor_formats(tmp_path: Path, name, writer, expected) -> None:
    folder = tmp_path / "checkins"
    folder.mkdir()
    writer(folder / name)
    events, _ = _read(folder)
    assert [(e.trainee_id, e.method, e.is_face, e.vendor) for e in events] == expected
    assert all(e.source_file.endswith(name) and e.source_row >= 2 for e in events)


def test_hikvision_directions_and_hand_edits(tmp_path: Path) -> None:
    folder = tmp_path / "checkins"
    folder.mkdir()
    (folder / "hik.csv").write_text(HIK)
    events, _ = _read(folder)
    assert [e.direction for e in events] == ["in", "out"]
    assert [e.edited for e in events] == [False, True]


def test_duplicates_count_once_and_unknown_or_ambiguous_people_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "checkins"
    folder.mkdir()
    (folder / "generic.csv").write_text(GENERIC)
    (folder / "generic-reupload.csv").write_text(GENERIC)
    events, problems = _read(folder)
    assert len(events) == 3  # two files, each with an internal duplicate: one copy of each event
    statuses = sorted(e.match_status for e in events)
    assert statuses == ["ambiguous", "id", "unknown"]
    assert any("not on the roster" in p.message and p.found == "X999" for p in problems)
    assert any("several trainees" in p.message and p.found == "王五" for p in problems)


def test_leading_zeros_dropped_by_the_exporter_still_match() -> None:
    index = RosterIndex.build(ROSTER)
    assert index.match("42", "") == ("0042", "id")
    assert index.match("", "张三") == ("S001", "name")


def test_unrecognised_export_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "checkins"
    folder.mkdir()
    (folder / "other.csv").write_text("工号,打卡\n1,2\n")
    events, problems = _read(folder)
    assert events == []
    assert "not recognised" in problems[0].message and "other.csv" in problems[0].file


def test_a_new_vendor_is_added_by_a_mapping_file_not_code(tmp_path: Path) -> None:
    formats_dir = tmp_path / "formats"
    shutil.copytree(CONFIG_DIR / "checkin_formats", formats_dir)
    (formats_dir / "acme.yaml").write_text(
        "name: acme\nheader: [人员编号, 人员姓名, 识别时间, 识别方式]\n"
        "fields: {person_id: 人员编号, name: 人员姓名, timestamp: 识别时间, method: 识别方式}\n"
        "method_values: {刷脸: face}\nmethod_other: card\n", encoding="utf-8")
    folder = tmp_path / "checkins"
    folder.mkdir()
    (folder / "acme.csv").write_text("人员编号,人员姓名,识别时间,识别方式\nS001,张三,2024-10-12 08:00:00,刷脸\n"
                                     "S003,王五,2024-10-12 08:01:00,IC卡\n")
    events, _ = _read(folder, load_formats(formats_dir))
    assert [(e.trainee_id, e.method, e.vendor) for e in events] == [("S001", "face", "acme"), ("S003", "card", "acme")]
    assert events[0].ts == dt.datetime(2024, 10, 12, 8, 0, tzinfo=TZ)


def test_a_broken_mapping_file_is_rejected_with_its_name(tmp_path: Path) -> None:
    from pipeline.settings import SettingsError

    (tmp_path / "bad.yaml").write_text("name: bad\nheader: [a]\nfields: {timestamp: a, person_id: b}\nnope: 1\n")
    with pytest.raises(SettingsError) as info:
        load_formats(tmp_path)
    assert "bad.yaml" in str(info.value) and "nope" in str(info.value)
