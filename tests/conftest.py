"""Shared fixtures: where the third-party test media lives, and a writer of small class folders."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party test media not found at {SHARED_DATA}")
    return SHARED_DATA


def write_jpeg(path: Path, seed: int = 0) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (40, 32, 3), dtype=np.uint8))
    return path


def make_clip(path: Path, seconds: int, pattern: str = "testsrc", size: str = "160x120", rate: int = 5) -> Path:
    """A small H.264 clip from one of ffmpeg's test sources (testsrc, testsrc2, smptebars, ...)."""
    import subprocess

    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=size={size}:rate={rate}",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", str(path)], check=True)
    return path


class ClassWriter:
    """Writes a small but complete class folder; tests then break one part of it."""

    def __init__(self, root: Path, class_id: str = "TA2024-DG-017", institution_id: str = "370900-0032"):
        self.folder = root / class_id
        self.class_id = class_id
        self.institution_id = institution_id
        self.folder.mkdir(parents=True, exist_ok=True)

    def text(self, rel: str, content: str, encoding: str = "utf-8") -> Path:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(textwrap.dedent(content).lstrip("\n").encode(encoding))
        return path

    def default(self) -> "ClassWriter":
        self.text("class.yaml", f"""
            class_id: {self.class_id}
            institution_id: "{self.institution_id}"
            institution_name: 泰安市某某安全技术培训有限公司
            job_type: 低压电工作业
            training_kind: initial
            start_date: 2024-10-08
            end_date: 2024-10-09
            head_teacher: T003
            province: shandong
            """)
        for i in (1, 2, 3):
            write_jpeg(self.folder / "photos" / f"S00{i}.jpg", seed=i)
        write_jpeg(self.folder / "photos" / "T003.jpg", seed=9)
        self.text("roster.csv", """
            学员编号,姓名,身份证号,培训类型,照片
            S001,张三,370902199001011234,初训,photos/S001.jpg
            S002,李四,370902199202022345,初训,photos/S002.jpg
            S003,王五,370902199303033456,复训,photos/S003.jpg
            """, encoding="gb18030")
        self.text("teachers.csv", """
            teacher_id,name,photo,certificate,experience_years
            T003,赵老师,photos/T003.jpg,低压电工作业,8
            """)
        self.text("schedule.csv", """
            session_id,date,start,end,kind,mode,room,teacher_id,topic,hours
            S1,2024-10-08,08:30,11:30,theory,offline,R201,T003,安全法规,4
            S2,2024/10/8,13:30,16:30,practical,offline,R201,T003,实操,4
            S3,2024-10-09,08:30,10:00,theory,online,,,网课,2
            """)
        self.text("checkins/zk.csv", """
            考勤报表
            导出时间: 2024-10-09
            部门,姓名,登记号码,日期时间,机器号,编号,比对方式,卡号
            培训部,张三,'S001,2024-10-08 08:20:11,1,1,15,
            培训部,李四,'S002,2024/10/8 8:25,1,2,15,
            培训部,李四,'S002,2024/10/8 8:25,1,2,15,
            培训部,王五,S003,2024-10-08 08:26:00,1,3,4,12345
            培训部,张三,S001,2024-10-08 16:31:00,1,4,人脸,
            """, encoding="gb18030")
        self.text("online/records.csv", """
            学员编号,课程编号,课程名称,开始时间,结束时间,有效时长(分钟),学时,人脸核验次数,人脸核验通过次数
            S001,S3,网课,2024-10-09 08:30:00,2024-10-09 10:00:00,90,2,3,3
            """)
        self.text("documents/教学日志.txt", "lesson log\n")
        return self


@pytest.fixture(scope="session")
def sample_audit(tmp_path_factory, worker_id) -> Path:
    """One audit of sample_data/archive per test run (real detector and encoder), shared by the xdist
    workers (a lock; the first one audits). Returns the output folder."""
    import fcntl
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    root = tmp_path_factory.getbasetemp()
    root = root if worker_id == "master" else root.parent
    out = root / "sample-audit" / "out"
    with open(root / "sample-audit.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "report" / "TA2024-DG-017.html").is_file():
            run = subprocess.run([sys.executable, "-m", "pipeline", "audit", str(repo / "sample_data" / "archive"),
                                  "--out", str(out)], cwd=repo, capture_output=True, text=True, timeout=1800)
            assert run.returncode in (0, 3), run.stderr[-3000:]
    return out
