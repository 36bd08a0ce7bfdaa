"""Finding messages, Chinese (the inspectors' language, default) and English (`--lang en`).

Templates use the fields a rule passes (and the finding's keys: trainee_id, session_id, date, path,
measured, threshold ...); a missing field shows as "?". Numbers are printed with at most two decimals.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "ATTENDANCE_PROXY": {
        "zh": "学员 {name}（{trainee_id}）在课次 {session_id} 有 {events} 条签到记录，但在该课次已录制的 {recorded_min} 分钟视频中"
              "仅出现 {measured} 分钟（阈值 {threshold} 分钟），疑似代签",
        "en": "Trainee {name} ({trainee_id}) checked in {events} time(s) for session {session_id} but is seen for only "
              "{measured} min of its {recorded_min} recorded minutes (threshold {threshold} min): possible proxy check-in",
    },
    "ATTENDANCE_ABSENT": {
        "zh": "学员 {name}（{trainee_id}）在课次 {session_id} 的已录制 {recorded_min} 分钟中仅出现 {measured} 分钟，"
              "低于要求的 {threshold} 分钟（{ratio} 比例），却计入学时",
        "en": "Trainee {name} ({trainee_id}) is seen for {measured} of {recorded_min} recorded minutes of session "
              "{session_id}, below the required {threshold} min (ratio {ratio}), yet is credited",
    },
    "ATTENDANCE_SPARSE_CHECKIN": {
        "zh": "学员 {name}（{trainee_id}）{date} 仅签到 {events} 次，少于每天要求的 {need} 次",
        "en": "Trainee {name} ({trainee_id}) has {events} check-in(s) on {date}, fewer than the {need} required per day",
    },
    "ATTENDANCE_NON_FACE": {
        "zh": "学员 {name}（{trainee_id}）{date} 有 {events} 条非人脸签到（{methods}），应为人脸识别签到",
        "en": "Trainee {name} ({trainee_id}) has {events} check-in(s) on {date} not by face ({methods}) where face is required",
    },
    "HEADCOUNT_MISMATCH": {
        "zh": "课次 {session_id} 签到 {checkins} 人，视频中人数（峰值 {peak}，常态 {typical}）相差 {measured} 人，超过容差 {threshold} 人",
        "en": "Session {session_id}: {checkins} trainees checked in but video shows {typical} typically ({peak} at peak), "
              "a difference of {measured}, above the tolerance of {threshold}",
    },
    "UNKNOWN_PERSON": {
        "zh": "课次 {session_id} 中不在花名册或教师名单上的人员 {person} 出现 {measured} 分钟（阈值 {threshold} 分钟），"
              "同一课次缺勤学员 {missing} 人，疑似替考/替训",
        "en": "In session {session_id} a person on neither roster nor teacher list ({person}) is present for {measured} min "
              "(threshold {threshold} min) while {missing} rostered trainee(s) are missing: possible substitute",
    },
    "IDENTITY_SHARED": {
        "zh": "学员 {name}（{trainee_id}）与 {other}（{other_name}）使用同一人脸/照片（依据：{basis}），疑似一人多用",
        "en": "Trainee {name} ({trainee_id}) and {other} ({other_name}) share one face/photo (basis: {basis})",
    },
    "RECORDING_MISSING": {
        "zh": "线下课次 {session_id}（教室 {room}，{scheduled_min} 分钟）没有任何录像",
        "en": "Offline session {session_id} (room {room}, {scheduled_min} min) has no recording at all",
    },
    "RECORDING_GAP": {
        "zh": "课次 {session_id}（教室 {room}）有 {gap_min} 分钟未被录像覆盖（{gaps} 段，每段超过 {threshold} 分钟）",
        "en": "Session {session_id} (room {room}) has {gap_min} min not covered by recording ({gaps} stretch(es) longer "
              "than {threshold} min)",
    },
    "RECORDING_BLANK": {
        "zh": "录像 {path} 在课次 {session_id} 内有 {minutes} 分钟黑屏/静止/遮挡画面（{kind}），超过 {threshold} 分钟",
        "en": "Recording {path} shows {minutes} min of {kind} footage inside session {session_id} (over {threshold} min)",
    },
    "RECORDING_CORRUPT": {
        "zh": "录像 {path} 无法解码、不完整或时间戳跳变：{error}",
        "en": "Recording {path} cannot be decoded, is truncated or its timestamps jump: {error}",
    },
    "RECORDING_REUSED": {
        "zh": "录像 {path} 与 {other} 为同一段画面（相似度 {similarity}），疑似重复使用",
        "en": "Recording {path} shows the same footage as {other} (similarity {similarity})",
    },
    "RECORDING_RETENTION": {
        "zh": "录像留存不符合要求：{part}（实测 {measured}，要求 {threshold}）",
        "en": "Recordings not kept as required: {part} (measured {measured}, required {threshold})",
    },
    "HOURS_SHORTFALL": {
        "zh": "学员 {name}（{trainee_id}）{part_zh}学时有据可查的仅 {measured}，低于要求的 {threshold} 学时",
        "en": "Trainee {name} ({trainee_id}) has {measured} {part} 学时 supported by evidence, below the required {threshold}",
    },
    "HOURS_OVERCLAIMED": {
        "zh": "学员 {name}（{trainee_id}）申报 {credited} 学时，有据可查的仅 {observed} 学时，多计 {measured} 学时（容差 {threshold}）",
        "en": "Trainee {name} ({trainee_id}) is credited {credited} 学时 but only {observed} are seen: {measured} "
              "overclaimed (tolerance {threshold})",
    },
    "HOURS_DAILY_LIMIT": {
        "zh": "学员 {name}（{trainee_id}）{date} 计入{part_zh}学时 {measured}，超过每天 {threshold} 学时上限",
        "en": "Trainee {name} ({trainee_id}) is credited {measured} {part} 学时 on {date}, above the daily limit of {threshold}",
    },
    "EXAM_INELIGIBLE": {
        "zh": "学员 {name}（{trainee_id}）于 {registration} 报名考试时学时未达要求：{parts_zh}",
        "en": "Trainee {name} ({trainee_id}) was registered for the exam at {registration} short of the required "
              "学时: {parts_en}",
    },
    "ONLINE_SHARE": {
        "zh": "学员 {name}（{trainee_id}）线上理论学时 {online} 占理论学时 {base} 的 {share}%，超过 {limit}%",
        "en": "Trainee {name} ({trainee_id}) studied {online} theory 学时 online, {share}% of {base}, above {limit}%",
    },
    "ONLINE_COURSE_SHORT": {
        "zh": "学员 {trainee_id} 的线上课程 {title}（{course}）有效时长 {minutes} 分钟，计 {hours} 学时（每学时 {per_hour} 分钟），"
              "时长不足或未标明学时",
        "en": "Trainee {trainee_id}'s online course {title} ({course}) lasted {minutes} min and is credited {hours} 学时 "
              "({per_hour} min per 学时): too short, or no 学时 stated",
    },
    "ONLINE_NO_FACE_CHECK": {
        "zh": "学员 {trainee_id} 的线上课程 {title}（{course}）人脸核验 {checks} 次、通过 {passed} 次，却计入学时",
        "en": "Trainee {trainee_id}'s online course {title} ({course}) is credited with {passed} of {checks} face checks passed",
    },
    "PRACTICAL_ONLINE": {
        "zh": "实操课次 {session_id}（{topic}）以线上方式计入 {hours} 学时，实操不得线上进行",
        "en": "Practical session {session_id} ({topic}) credits {hours} 学时 from online study, which is not allowed",
    },
    "SESSION_TOO_SHORT": {
        "zh": "课次 {session_id} 时长 {minutes} 分钟，却计 {hours} 学时（每学时 {per_hour} 分钟，至少需 {threshold} 分钟）",
        "en": "Session {session_id} lasts {minutes} min but credits {hours} 学时 ({per_hour} min per 学时 needs {threshold} min)",
    },
    "TEACHER_CONFLICT": {
        "zh": "教师 {teacher} 在课次 {session_id}（教室 {room}）与 {other}（教室 {other_room}）时间重叠 {measured} 分钟",
        "en": "Teacher {teacher} is scheduled in session {session_id} (room {room}) and {other} (room {other_room}), "
              "overlapping {measured} min",
    },
    "TEACHER_MISMATCH": {
        "zh": "课次 {session_id} 计划授课教师为 {scheduled}，视频中授课的是 {seen}（{minutes} 分钟）",
        "en": "Session {session_id} is planned for teacher {scheduled} but {seen} is teaching on video ({minutes} min)",
    },
    "CLASS_MIXED": {
        "zh": "{kind}班中混有其他类型学员：初训 {initial} 人，复训 {refresher} 人",
        "en": "Class of kind {kind} mixes trainee kinds: {initial} initial, {refresher} refresher",
    },
    "CLASS_MERGED": {
        "zh": "课次 {session_id} 与 {other} {basis}，疑似合班",
        "en": "Session {session_id} and {other} {basis}: merged classes",
    },
    "HEAD_TEACHER_MISSING": {
        "zh": "班级未配备班主任（class.yaml head_teacher：{head}，{reason}）",
        "en": "The class has no head teacher (class.yaml head_teacher: {head}, {reason})",
    },
    "ARCHIVE_INCOMPLETE": {
        "zh": "班级档案缺少：{part}",
        "en": "The class archive is missing: {part}",
    },
}
