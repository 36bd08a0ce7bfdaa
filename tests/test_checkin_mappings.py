"""Vendor mappings list the values that mean "by hand"; anything else is a terminal record (issue 16).

`Data Source: Original Records` is what Hikvision iVMS-4200 writes for a face terminal's own event. Reading
it as an edit turned a whole class of face check-ins into ATTENDANCE_NON_FACE accusations.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.ingest.checkins import load_formats, read_checkins
from pipeline.ingest.classfiles import Collector
from pipeline.ingest.confine import ClassFiles
from pipeline.model import Trainee

TZ = ZoneInfo("Asia/Shanghai")
ROSTER = [Trainee("C1", tid, name, None, "initial", (), i + 2)
          for i, (tid, name) in enumerate([("S001", "张三"), ("S002", "李四"), ("S003", "王五")])]
HIK_HEADER = ("Person ID,Name,Department,Time,Attendance Status,Attendance Check Point,Custom Name,Data Source,"
              "Handling Type,Temperature,Abnormal\n")


def _read(tmp_path: Path, name: str, text: str):
    folder = tmp_path / "checkins"
    folder.mkdir()
    (folder / name).write_bytes(text.encode("utf-8"))
    col = Collector(tmp_path)
    events = read_checkins(ClassFiles.scan(folder).files, "C1", TZ, ROSTER, col, load_formats())
    return events, col.problems


@pytest.mark.parametrize("source, handling, edited", [
    ("Original Records", "Normal", False),    # the terminal's own event: the false accusation of issue 16
    ("Device", "-", False),
    ("原始记录", "正常", False),
    ("Manually Added", "Normal", True),
    ("Original Records", "Edited", True),
    ("补签", "", True),
    ("手动添加", "", True),
    ("修改", "", True),
])
def test_hikvision_data_source_values(tmp_path: Path, source: str, handling: str, edited: bool) -> None:
    events, problems = _read(tmp_path, "hik.csv", HIK_HEADER +
                             f"S001,张三,D,2024-10-12 08:29:57,Check-in,Door1,,{source},{handling},36.5,\n")
    assert len(events) == 1
    assert events[0].edited is edited
    assert events[0].is_face is (not edited)
    assert not [p for p in problems if "mapping" in p.message]


def test_an_unknown_value_counts_as_a_terminal_record_and_is_reported_once_per_file(tmp_path: Path) -> None:
    rows = "".join(f"S00{i},x,D,2024-10-12 08:2{i}:00,Check-in,Door1,,Imported,Normal,,\n" for i in (1, 2, 3))
    events, problems = _read(tmp_path, "hik.csv", HIK_HEADER + rows)
    assert [e.is_face for e in events] == [True, True, True]
    reported = [p for p in problems if "mapping" in p.message]
    assert len(reported) == 1
    assert (reported[0].row, reported[0].column, reported[0].found, reported[0].level) == (
        2, "Data Source", "Imported", "warning")
    assert "3 row(s)" in reported[0].expected


@pytest.mark.parametrize("name, text, vendor, expected", [
    ("hik_zh.csv", "人员编号,姓名,部门,时间,考勤状态,考勤点,自定义名称,数据来源,处理类型,体温,是否异常\n"
                   "S001,张三,一部,2024-10-12 08:29:57,签到,门1,,原始记录,正常,,\n"
                   "S002,李四,一部,2024-10-12 08:31:00,签到,门1,,补签,正常,,\n",
     "hikvision_ivms4200_zh", [("S001", "face", True, "in"), ("S002", "face", False, "in")]),
    ("zk_net.csv", "人员编号,姓名,部门,打卡时间,打卡状态,验证方式,设备名称\n"
                   "S001,张三,一部,2024-10-12 08:29:57,签到,人脸,T1\n"
                   "S002,李四,一部,2024-10-12 08:30:00,签到,指纹,T1\n",
     "zkteco_zktime_net", [("S001", "face", True, "in"), ("S002", "fingerprint", False, "in")]),
    ("dahua.csv", "人员编号,姓名,部门,刷卡时间,设备名称,开门方式,进出状态\n"
                  "S001,张三,一部,2024-10-12 08:29:57,门禁1,人脸,进\n"
                  "S003,王五,一部,2024-10-12 17:00:00,门禁1,刷卡,出\n",
     "dahua_attendance", [("S001", "face", True, "in"), ("S003", "card", False, "out")]),
])
def test_chinese_and_dahua_exports_are_recognised(tmp_path: Path, name, text, vendor, expected) -> None:
    events, problems = _read(tmp_path, name, text)
    assert {e.vendor for e in events} == {vendor}
    assert [(e.trainee_id, e.method, e.is_face, e.direction) for e in events] == expected
    assert not [p for p in problems if p.level == "error"]
