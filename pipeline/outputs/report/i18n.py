"""Words on the report, in Chinese (default, for inspectors) and English.

Only the report's own labels live here; finding messages come from the findings table in the run's
language, and every value from the inputs is shown as written.
"""

from __future__ import annotations

LANGS = ("zh", "en")

_LABELS: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "report": ("培训班审核报告", "Training class audit report"),
    "index_title": ("审核运行总览", "Audit run overview"),
    "at_a_glance": ("班级概况", "Class at a glance"),
    "institution": ("培训机构", "Institution"),
    "class_id": ("班级编号", "Class"),
    "job_type": ("工种", "Job type"),
    "training_kind": ("培训类型", "Training kind"),
    "dates": ("培训日期", "Dates"),
    "rule_pack": ("规则包", "Rule pack"),
    "head_teacher": ("班主任", "Head teacher"),
    "trainees": ("学员", "Trainees"),
    "sessions": ("课次", "Sessions"),
    "recordings": ("录像文件", "Recordings"),
    "hours_required": ("要求学时（理论/实操/合计）", "Hours required (theory/practical/total)"),
    "hours_scheduled": ("课表学时", "Hours scheduled"),
    "hours_observed": ("实到学时（中位数/最少）", "Hours observed (median/minimum)"),
    "below_requirement": ("学时不足的学员", "Trainees below requirement"),
    "findings": ("问题", "Findings"),
    "findings_by_severity": ("按严重程度", "By severity"),
    "no_findings": ("未发现问题。", "No findings."),
    "severity": ("严重程度", "Severity"),
    "high": ("严重", "high"),
    "medium": ("较重", "medium"),
    "low": ("一般", "low"),
    "rule": ("规则", "Rule"),
    "trainee": ("学员", "Trainee"),
    "session": ("课次", "Session"),
    "date": ("日期", "Date"),
    "camera": ("摄像头", "Camera"),
    "file": ("文件", "File"),
    "time": ("时间", "Time"),
    "measured": ("实测", "Measured"),
    "threshold": ("阈值", "Threshold"),
    "detail": ("证据明细", "Evidence detail"),
    "snapshot": ("截图", "Snapshot"),
    "open_video_at": ("打开录像，定位到 {t}", "open video at {t}"),
    "finding_id": ("问题编号", "Finding id"),
    "timeline": ("时间轴（按教室、日期）", "Timeline (per room and day)"),
    "timeline_legend": (
        "课表 · 录像覆盖 · 缺口 · 空白画面 · 视频人数曲线与签到人数",
        "schedule · recording coverage · gaps · blank footage · headcount on video vs. check-ins",
    ),
    "lane_schedule": ("课表", "Schedule"),
    "lane_recording": ("录像", "Recording"),
    "lane_gap": ("缺口", "Gaps"),
    "lane_blank": ("空白", "Blank"),
    "lane_headcount": ("人数", "Headcount"),
    "headcount_video": ("视频人数", "people on video"),
    "headcount_checkins": ("签到人数", "checked in"),
    "room": ("教室", "Room"),
    "no_room": ("（未指定教室）", "(no room)"),
    "no_timeline": ("没有线下课次或录像。", "No offline sessions or recordings."),
    "trainee_table": ("学员学时", "Trainee hours"),
    "trainee_id": ("学员编号", "Trainee id"),
    "name": ("姓名", "Name"),
    "credited_theory": ("认定理论学时", "Credited theory"),
    "credited_practical": ("认定实操学时", "Credited practical"),
    "observed_theory": ("实到理论学时", "Observed theory"),
    "observed_practical": ("实到实操学时", "Observed practical"),
    "checkins": ("签到次数", "Check-ins"),
    "sessions_checked_in": ("签到课次", "Sessions checked in"),
    "flags": ("问题", "Flags"),
    "sort_hint": ("点击表头排序", "click a column header to sort"),
    "session_table": ("课次与录像覆盖", "Sessions and recording coverage"),
    "kind": ("类型", "Kind"),
    "mode": ("方式", "Mode"),
    "teacher": ("教师", "Teacher"),
    "hours": ("学时", "Hours"),
    "scheduled_min": ("计划分钟", "Scheduled min"),
    "recorded_min": ("录像分钟", "Recorded min"),
    "gap_min": ("缺口分钟", "Gap min"),
    "blank_min": ("空白分钟", "Blank min"),
    "peak_headcount": ("视频最多人数", "Peak on video"),
    "input_problems": ("输入文件问题", "Input problems"),
    "row": ("行", "Row"),
    "column": ("列", "Column"),
    "message": ("说明", "Message"),
    "classes": ("班级", "Classes"),
    "institutions": ("培训机构", "Institutions"),
    "by_rule": ("按规则统计", "Findings per rule"),
    "total": ("合计", "Total"),
    "runs": ("运行记录", "Runs"),
    "run_id": ("运行编号", "Run"),
    "started": ("开始", "Started"),
    "status": ("状态", "Status"),
    "errors": ("错误", "Errors"),
    "workbook": ("汇总工作簿（Excel）", "Summary workbook (Excel)"),
    "back_to_index": ("返回总览", "Back to overview"),
    "generated": ("生成时间", "Generated"),
    "video_link_note": (
        "录像链接是从本报告文件夹到原始录像的相对路径：请保持输出文件夹与档案的相对位置不变。",
        "Video links are relative paths from this report folder to the original recordings: keep the "
        "output folder and the archive in the same relative place.",
    ),
    "theory": ("理论", "theory"),
    "practical": ("实操", "practical"),
    "offline": ("线下", "offline"),
    "online": ("线上", "online"),
    "initial": ("初训", "initial"),
    "refresher": ("复训", "refresher"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "institution_id": ("机构编号", "Institution id"),
    "institution_name": ("机构名称", "Institution name"),
    "rule_title": ("问题类型", "Rule title"),
    "start": ("开始时间", "Start"),
    "end": ("结束时间", "End"),
    "evidence_path": ("截图文件", "Snapshot file"),
    "sheet_findings": ("问题清单", "findings"),
    "sheet_hours": ("学员学时", "trainee hours"),
    "sheet_institutions": ("机构明细", "institutions"),
}

RULE_TITLES: dict[str, tuple[str, str]] = {
    "ATTENDANCE_PROXY": ("签到但未在录像中出现（疑似代签）", "Checked in but not on video (proxy)"),
    "ATTENDANCE_ABSENT": ("在场时间不足", "Present for too little of the session"),
    "ATTENDANCE_SPARSE_CHECKIN": ("每天签到次数不足", "Too few check-ins per day"),
    "ATTENDANCE_NON_FACE": ("非人脸签到", "Check-in without face verification"),
    "HEADCOUNT_MISMATCH": ("签到人数与录像人数不符", "Check-ins differ from people on video"),
    "UNKNOWN_PERSON": ("名单外人员", "Person not on the roster"),
    "IDENTITY_SHARED": ("身份冒用/共用", "Identity shared"),
    "RECORDING_MISSING": ("课次无录像", "Session without recording"),
    "RECORDING_GAP": ("录像缺口", "Recording gap"),
    "RECORDING_BLANK": ("黑屏、静止或遮挡画面", "Black, frozen or covered footage"),
    "RECORDING_CORRUPT": ("录像文件损坏", "Corrupt recording"),
    "RECORDING_REUSED": ("录像重复使用", "Recording reused"),
    "RECORDING_RETENTION": ("录像留存不足", "Recordings not retained"),
    "HOURS_SHORTFALL": ("实到学时不足", "Observed hours below requirement"),
    "HOURS_OVERCLAIMED": ("认定学时超过实到学时", "Hours credited beyond presence"),
    "HOURS_DAILY_LIMIT": ("每日学时超限", "Daily hours limit exceeded"),
    "EXAM_INELIGIBLE": ("学时不足即报名考试", "Registered for exam with too few hours"),
    "ONLINE_SHARE": ("线上学时占比超限", "Online share too high"),
    "ONLINE_COURSE_SHORT": ("线上课程时长不足或未标学时", "Online course too short"),
    "ONLINE_NO_FACE_CHECK": ("线上学习无人脸核验", "Online study without face check"),
    "PRACTICAL_ONLINE": ("实操学时线上认定", "Practical hours credited online"),
    "SESSION_TOO_SHORT": ("课次时长不足以认定学时", "Session too short for its hours"),
    "TEACHER_CONFLICT": ("教师同时段多处授课", "Teacher scheduled twice at once"),
    "TEACHER_MISMATCH": ("授课教师与计划不符", "Teacher on video is not the scheduled one"),
    "CLASS_MIXED": ("初训、复训混合编班", "Initial and refresher trainees mixed"),
    "CLASS_MERGED": ("多个班级混班培训", "Classes merged"),
    "HEAD_TEACHER_MISSING": ("未配备班主任", "No head teacher"),
    "ARCHIVE_INCOMPLETE": ("培训档案不完整", "Archive incomplete"),
}

SEVERITIES = ("high", "medium", "low")
# The pipeline's own enum values that the report translates; every other value is shown as written.
_ENUMS = frozenset({"theory", "practical", "offline", "online", "initial", "refresher", *SEVERITIES})


class Words:
    """Label lookup for one language; unknown keys fall back to the key itself, never a crash."""

    def __init__(self, lang: str):
        if lang not in LANGS:
            raise ValueError(f"report language must be one of {', '.join(LANGS)}; found {lang!r}")
        self.lang = lang
        self._i = LANGS.index(lang)

    def __call__(self, key: str, **values: str) -> str:
        text = _LABELS[key][self._i] if key in _LABELS else key
        return text.format(**values) if values else text

    def rule(self, rule_id: str) -> str:
        return RULE_TITLES[rule_id][self._i] if rule_id in RULE_TITLES else rule_id

    def value(self, text: object) -> str:
        """Translate the pipeline's own enum values (theory, offline, high...); anything else as is."""
        key = str(text)
        return self(key) if key in _ENUMS else key
