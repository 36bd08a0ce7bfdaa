"""Seeded scenario builders: the planted problems of each generated class.

`video_class` plants the face, check-in, online and recording problems in a class with classroom video;
`schedule_class` (no recordings) plants the schedule and cross-class problems against it;
`retention_class` is a pre-2024-07-01 Shandong class whose recordings were not kept. Every trainee not
named in a plant behaves normally, with small, realistic lateness and short looks down, so that each
planted problem is far from its threshold (the oracle drops any decision that is not).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import datetime as dt

import numpy as np

from tools.synth.world import (CheckinRow, ClassWorld, OnlineRow, Person, Planted, RecordingPlan,
                                  SessionPlan)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
D1, D2, D3 = dt.date(2024, 10, 8), dt.date(2024, 10, 9), dt.date(2024, 10, 10)


@dataclass(frozen=True)
class Identity:
    name: str
    photos: tuple  # Paths, sorted


def _name(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        n = SURNAMES[rng.integers(len(SURNAMES))] + "".join(GIVEN[rng.integers(len(GIVEN))]
                                                          for _ in range(rng.integers(1, 3)))
        if n not in used:
            used.add(n)
            return n


def _id_number(rng: np.random.Generator) -> str:
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 30)))
    return f"370902{birth:%Y%m%d}{rng.integers(0, 1000):03d}{rng.integers(0, 10)}"


def _t(hhmm: str) -> dt.time:
    return dt.time(int(hhmm[:2]), int(hhmm[3:]))


def _add_min(t: dt.time, minutes: float) -> dt.time:
    return (dt.datetime.combine(D1, t) + dt.timedelta(minutes=minutes)).time()


def _people(identities: list[Identity], rng, n_trainees: int, n_teachers: int, n_unknown: int,
            twin: bool, min_photos: int = 2, enroll_first: bool = False) -> tuple[list[Person], str | None]:
    """Trainees, teachers, unknowns; a twin is a second roster entry with another photo of one trainee.
    ``enroll_first``: the first photo (sorted) is the enrollment photo (identities_dev's ``_0001``), the
    others are the person's photos on video, a different real photo per session."""
    need = n_trainees + n_teachers + n_unknown
    multi = [i for i in identities if len(i.photos) >= min_photos]
    if len(multi) < need:
        raise ValueError(f"identities: expected at least {need} people with {min_photos} or more photos, "
                         f"found {len(multi)}")
    order = list(rng.permutation(len(multi)))
    chosen = [multi[i] for i in order[:need]]
    twin_src = next((k for k, i in enumerate(chosen[:n_trainees]) if len(i.photos) >= 3), None) if twin else None
    used: set[str] = set()
    people = []
    for k, ident in enumerate(chosen):
        photos = list(ident.photos)
        enroll = photos[int(rng.integers(len(photos)))]  # drawn in both modes: the stream stays the same
        if enroll_first:
            enroll = photos[0]
        video = tuple(p for p in photos if p != enroll)
        if k == twin_src:  # keep one photo for the twin's enrollment
            video, enroll_twin = video[1:], video[0]
        if k < n_trainees:
            people.append(Person(f"{k + 1:05d}", "trainee", _name(rng, used), ident.name, enroll, video,
                                 _id_number(rng)))
            if k == twin_src:
                people.append(Person(f"{n_trainees + 1:05d}", "trainee", _name(rng, used), ident.name,
                                     enroll_twin, (), _id_number(rng)))
        elif k < n_trainees + n_teachers:
            people.append(Person(f"T{k - n_trainees + 1:02d}", "teacher", _name(rng, used), ident.name,
                                 enroll, video))
        else:
            people.append(Person(f"U{k - n_trainees - n_teachers + 1}", "unknown", _name(rng, used),
                                 ident.name, None, tuple(photos)))
    twin_key = f"{n_trainees + 1:05d}" if twin_src is not None else None
    return people, twin_key


def _normal_presence(rng, length_s: float) -> list[tuple[float, float]]:
    """Arrives up to 3 min early or 2 min late, leaves at the end give or take 2 minutes."""
    return [(float(rng.uniform(-180, 120)), float(length_s + rng.uniform(-120, 120)))]


def _look_downs(rng, length_s: float) -> list[tuple[float, float]]:
    """Short looks down (20-75 s), a few per session: the face is hidden, the person is there."""
    n = int(rng.integers(1, 4))
    out = []
    for _ in range(n):
        a = float(rng.uniform(60, max(61.0, length_s - 120)))
        out.append((a, a + float(rng.uniform(20, 75))))
    return sorted(out)


def _hours(length_min: float) -> float:
    """学时 a session of this length may credit (45 min each), rounded down to a tenth."""
    return float(np.floor(length_min / 45 * 10) / 10)


def video_class(identities: list[Identity], seed: int, session_min: float = 45, n_trainees: int = 12,
                class_id: str = "TA2024-DG-017", empty_seats: int = 0, enroll_first: bool = False) -> ClassWorld:
    """The class with recordings. `empty_seats`: that many trainees check in for the last offline session
    (S07) but are not in the room: more people signed in than were there (HEADCOUNT_MISMATCH, and an
    ATTENDANCE_PROXY each). The oracle fires on 4 or more (tolerance 2, its band 1); 0 leaves the class
    as the benchmarks measure it."""
    rng = np.random.default_rng(seed)
    people, twin = _people(identities, rng, n_trainees, 3, 1, twin=True, enroll_first=enroll_first)
    L = session_min
    h = _hours(L)
    s02 = _add_min(_t("08:30"), L + 15)
    plan = [("S01", D1, _t("08:30"), "theory", "R201", "T01"), ("S02", D1, s02, "theory", "R201", "T02"),
            ("S03", D1, _t("14:00"), "practical", "P101", "T01"), ("S04", D2, _t("08:30"), "theory", "R201", "T01"),
            ("S05", D2, s02, "theory", "R201", "T01"), ("S06", D2, _t("14:00"), "practical", "P101", "T01"),
            ("S07", D3, _t("08:30"), "practical", "P101", "T01")]
    sessions = [SessionPlan(sid, d, t0, _add_min(t0, L), kind, "offline", room, tid, h, f"{kind} 第{i + 1}讲")
                for i, (sid, d, t0, kind, room, tid) in enumerate(plan)]
    sessions += [SessionPlan("S08", D3, _t("14:00"), _t("16:00"), "theory", "online", None, None, h, "线上: 电工基础"),
                 SessionPlan("S09", D3, _t("14:00"), _t("16:00"), "practical", "online", None, None, h,
                             "线上: 实操演示")]
    trainees = [p for p in people if p.role == "trainee"]
    twin_of = next(p.key for p in trainees if p.key != twin and twin and p.identity == next(
        q.identity for q in trainees if q.key == twin))
    normal = [p.key for p in trainees if p.key not in (twin, twin_of)]
    pick = list(rng.permutation(normal))
    if len(pick) < 4:
        raise ValueError(f"video_class: expected at least 6 trainees, found {n_trainees}")
    # P1, A1, O2 change hours; the others only add check-in/online findings and may share a person
    P1, A1, O2 = pick[:3]
    harmless = pick[3:]
    SP1, N1, N2, O1, O3 = (harmless[i % len(harmless)] for i in range(5))
    H = list(rng.permutation(harmless))[:5]
    seats = {k: i for i, k in enumerate(rng.permutation([p.key for p in trainees if p.key != twin]))}
    seats["U1"] = seats[P1]
    presence, look = {}, {}
    offline = [s for s in sessions if s.mode == "offline"]
    for s in offline:
        for k in seats:
            if k == "U1" and s.session_id != "S01" or k == P1 and s.session_id == "S01":
                continue
            if k == "U1":
                iv = [(-60.0, s.length_s + 60.0)]
            elif k == A1 and s.session_id == "S01":
                iv = [(0.8 * s.length_s, s.length_s + 60.0)]
            else:
                a = float(rng.uniform(-180, 1.5 * L))  # up to 2.5% of the session late or early
                b = float(s.length_s + rng.uniform(-1.5 * L, 120))
                iv = [(a, b)]
            presence[(k, s.session_id)] = iv
            look[(k, s.session_id)] = _look_downs(rng, s.length_s)
        teacher = "T03" if s.session_id == "S02" else s.teacher_id
        presence[(teacher, s.session_id)] = [(-120.0, s.length_s + 120.0)]
        look[(teacher, s.session_id)] = []

    if empty_seats:
        # Chosen by id, not drawn: the random stream (and so the rest of the class) stays as without them.
        ghosts = sorted(normal)[:empty_seats]
        if len(ghosts) < empty_seats:
            raise ValueError(f"video_class: {empty_seats} empty seats need as many trainees without a shared "
                             f"face; found {len(normal)}")
        for k in ghosts:
            presence.pop((k, "S07"), None)
            look.pop((k, "S07"), None)

    recs = []
    pre_s, post_s = 120.0, 120.0
    for s in offline:
        cam = "R201-A" if s.room == "R201" else "P101-A"
        teacher = "T03" if s.session_id == "S02" else s.teacher_id
        t0 = s.start_dt() - dt.timedelta(seconds=pre_s)
        dur = s.length_s + pre_s + post_s
        if s.session_id == "S04":
            continue
        if s.session_id == "S05":  # 8 minutes nobody recorded, from 40% of the session
            g0 = 0.4 * s.length_s
            recs.append(RecordingPlan(cam, "S05", t0, pre_s + g0, teacher_on_video=teacher))
            t1 = s.start_dt() + dt.timedelta(seconds=g0 + 480)
            rest_s = s.length_s - g0 - 480 + post_s
            if rest_s >= 60:  # a short session ends inside the gap: no second file (never an empty one)
                recs.append(RecordingPlan(cam, "S05", t1, rest_s, teacher_on_video=teacher))
        elif s.session_id == "S06":  # lens covered for 7 minutes in the middle
            b0 = pre_s + 0.5 * s.length_s - 210
            recs.append(RecordingPlan(cam, "S06", t0, dur, blanks=((b0, b0 + 420),), teacher_on_video=teacher))
        else:
            recs.append(RecordingPlan(cam, s.session_id, t0, dur, teacher_on_video=teacher))
    s03 = next(s for s in offline if s.session_id == "S03")
    recs.append(RecordingPlan("P101-B", "S03", s03.start_dt() + dt.timedelta(minutes=5), 600, corrupt=True))
    cameras = {"R201-A": ("R201", "classroom"), "P101-A": ("P101", "practical"), "P101-B": ("P101", "practical")}

    checkins = _video_checkins(rng, offline, [k for k in seats if k != "U1"], P1, A1, H, SP1, N1, N2)
    online = _video_online(rng, sessions, [p.key for p in trainees if p.key != twin], h, O1, O2, O3)
    rec_by_session = {r.session_id: r for r in recs}
    planted = [
        Planted("IDENTITY_SHARED", {"trainee_id": [twin_of, twin]}, "two roster entries, one face", 2),
        Planted("TEACHER_MISMATCH", {"session_id": "S02"}, "T02 scheduled, T03 on video"),
        Planted("RECORDING_BLANK", {"path": f"recordings/{rec_by_session['S06'].file_name}"}, "7 min covered lens"),
        Planted("RECORDING_CORRUPT", {"path": f"recordings/{recs[-1].file_name}"}, "truncated file"),
        Planted("PRACTICAL_ONLINE", {"session_id": "S09"}, "practical course studied online", len(trainees) + 1),
    ]
    world = ClassWorld(
        class_id=class_id, institution_id="370900-0032", institution_name="泰安市安泰安全技术培训有限公司",
        job_type="低压电工作业", training_kind="initial", province="shandong", head_teacher="T01",
        required_hours=None, exam_registration=dt.datetime.combine(D3 + dt.timedelta(days=1), _t("09:00")),
        people=people, sessions=sessions, presence=presence, look_down=look, recordings=recs, cameras=cameras,
        checkins=checkins, online=online, planted=planted, seats=seats, roster_chinese_headers=True,
        ambiguous_people={twin: "shares a face with " + twin_of, twin_of: "shares a face with " + twin})
    world.required_hours = _required_hours(world, h)
    return world


def _video_checkins(rng, offline, keys, P1, A1, H, SP1, N1, N2) -> list[CheckinRow]:
    """In and out per session. D1 morning ZKTeco, D1 afternoon generic, D2 Hikvision, D3 DingTalk."""
    rows = []
    for s in offline:
        vendor = {D1: "zkteco" if s.start < _t("12:00") else "generic", D2: "hikvision", D3: "dingtalk"}[s.date]
        device = {"zkteco": "1", "generic": "GEN-01", "hikvision": "Door-R201", "dingtalk": "M2-钉钉考勤机"}[vendor]
        for k in keys:
            if s.session_id == "S02" and k in H:
                continue
            t_in = s.start_dt() - dt.timedelta(seconds=float(rng.uniform(60, 600)))
            if k == A1 and s.session_id == "S01":
                t_in = s.start_dt() + dt.timedelta(seconds=0.8 * s.length_s + 30)
            t_out = s.end_dt() + dt.timedelta(seconds=float(rng.uniform(10, 300)))
            method = "fingerprint" if k == N1 and s.date == D1 and vendor == "zkteco" else "face"
            edited = k == N2 and s.date == D3
            rows.append(CheckinRow(k, t_in.replace(microsecond=0), vendor, device, method, edited))
            if not (k == SP1 and s.date == D3):
                rows.append(CheckinRow(k, t_out.replace(microsecond=0), vendor, device, method))
    zk = [i for i, r in enumerate(rows) if r.vendor == "zkteco"]
    for i in sorted(rng.choice(zk, size=min(6, len(zk)), replace=False), reverse=True):  # re-uploads
        r = rows[i]
        rows.insert(i + 1, CheckinRow(r.person_key, r.ts, r.vendor, r.device_id, r.method, r.edited, True))
    return rows


def _video_online(rng, sessions, keys, h, O1, O2, O3) -> list[OnlineRow]:
    s08 = next(s for s in sessions if s.session_id == "S08")
    rows = []
    for k in keys:
        t0 = s08.start_dt() + dt.timedelta(minutes=float(rng.uniform(0, 30)))
        eff = round(h * 45 * float(rng.uniform(1.1, 1.3)), 1)
        checks = 0 if k == O2 else 3
        rows.append(OnlineRow(k, "S08", "电工基础(线上)", None, "theory", t0, eff, h, checks, checks))
        rows.append(OnlineRow(k, "S09", "实操演示(线上)", None, "practical", t0 + dt.timedelta(hours=1), eff, h, 3, 3))
    t = dt.datetime.combine(D2, _t("19:30"))
    rows.append(OnlineRow(O1, "C-EX-01", "安全用电常识(补)", None, "theory", t, round(0.5 * h * 45, 1), h, 2, 2))
    for j in (1, 2):
        rows.append(OnlineRow(O3, f"C-EX-1{j}", f"电工识图(补{j})", None, "theory", t + dt.timedelta(days=j - 1),
                              round(2 * h * 45 * 1.2, 1), 2 * h, 4, 4))
    return rows


def _required_hours(world: ClassWorld, h: float) -> dict:
    """Half a session below what a normal trainee observes: missing one session is a shortfall."""
    from tools.synth.oracle import observed_hours

    obs = observed_hours(world)
    normal = [k for k in obs if k not in world.ambiguous_people]
    theory = float(np.median([obs[k]["theory"] for k in normal]))
    practical = float(np.median([obs[k]["practical"] for k in normal]))
    return {"theory": round(theory - 0.5 * h, 2), "practical": round(practical - 0.5 * h, 2)}


_NO_VIDEO_IGNORED = {r: "no recordings in this class: video-based attendance and hours are not judged here"
                     for r in ("ATTENDANCE_PROXY", "ATTENDANCE_ABSENT", "HEADCOUNT_MISMATCH", "UNKNOWN_PERSON",
                               "HOURS_SHORTFALL", "HOURS_OVERCLAIMED", "EXAM_INELIGIBLE", "RECORDING_GAP",
                               "TEACHER_MISMATCH")}


def _table_class(identities, rng, class_id, n, sessions, **kw) -> ClassWorld:
    people, _ = _people(identities, rng, n, 0, 0, twin=False, min_photos=1)
    # trainees are of the class's kind unless a scenario mixes them on purpose (an initial trainee in a
    # refresher class is CLASS_MIXED, which only schedule_class plants)
    people = [dataclasses.replace(p, training_kind=kw.get("training_kind", "initial")) for p in people]
    keys = [p.key for p in people]
    checkins = []
    for s in sessions:
        for k in keys:
            checkins.append(CheckinRow(k, (s.start_dt() - dt.timedelta(seconds=float(rng.uniform(60, 600))))
                                       .replace(microsecond=0), "generic", "GEN-02", "face"))
            checkins.append(CheckinRow(k, (s.end_dt() + dt.timedelta(seconds=float(rng.uniform(10, 300))))
                                       .replace(microsecond=0), "generic", "GEN-02", "face"))
    return ClassWorld(class_id=class_id, institution_id="370900-0032",
                      institution_name="泰安市安泰安全技术培训有限公司", people=people, sessions=sessions,
                      presence={}, look_down={}, recordings=[], cameras={}, checkins=checkins, online=[], planted=[],
                      exam_registration=None, **kw)


def schedule_class(identities: list[Identity], seed: int, session_min: float = 45,
                   class_id: str = "TA2024-GY-018") -> ClassWorld:
    """No recordings; teacher conflict and merged room with the video class; too-short session; 11
    practical 学时 in one day; a refresher trainee in an initial class; no head teacher."""
    rng = np.random.default_rng(seed + 1)
    s02 = _add_min(_t("08:30"), session_min + 15)
    mk = lambda sid, d, a, b, kind, room, tid, hrs: SessionPlan(sid, d, a, b, kind, "offline", room, tid, hrs,
                                                                 f"{kind}")  # noqa: E731
    sessions = [mk("X01", D1, _t("08:30"), _add_min(_t("08:30"), session_min), "theory", "R305", "T01",
                   _hours(session_min)),
                mk("X02", D1, s02, _add_min(s02, session_min), "theory", "R201", "T05", _hours(session_min)),
                mk("X03", D1, _t("14:00"), _t("15:00"), "theory", "R305", "T05", 2.0),
                mk("X04", D2, _t("08:00"), _t("12:30"), "practical", "P201", "T06", 6.0),
                mk("X05", D2, _t("13:30"), _t("17:15"), "practical", "P201", "T06", 5.0)]
    w = _table_class(identities, rng, class_id, 4, sessions, job_type="高压电工作业", training_kind="initial",
                     province="shandong", head_teacher=None, required_hours=None, documents=False,
                     ignore_rules=dict(_NO_VIDEO_IGNORED))
    mixed = w.people[-1]
    w.people[-1] = Person(mixed.key, mixed.role, mixed.name, mixed.identity, mixed.enroll_photo,
                          mixed.video_photos, mixed.id_number, "refresher")
    w.people += [Person(t, "teacher", _name(rng, {p.name for p in w.people}), "", None, ()) for t in
                 ("T01", "T05", "T06")]
    w.planted += [Planted("ARCHIVE_INCOMPLETE", {}, "documents/ missing", 2),
                  Planted("HEAD_TEACHER_MISSING", {}, "no head_teacher in class.yaml"),
                  Planted("CLASS_MIXED", {}, "one refresher trainee in an initial class")]
    return w


def retention_class(identities: list[Identity], seed: int, class_id: str = "TA2024-DG-005") -> ClassWorld:
    """May 2024, Shandong: before full recording was required 20% of the video had to be kept; none was."""
    rng = np.random.default_rng(seed + 2)
    d1, d2 = dt.date(2024, 5, 13), dt.date(2024, 5, 14)
    sessions = [SessionPlan(f"R0{i + 1}", d, _t("09:00"), _t("11:15"), "theory", "offline", "R201", "T01", 3.0,
                            "复训") for i, d in enumerate((d1, d2))]
    ignore = dict(_NO_VIDEO_IGNORED)
    ignore["RECORDING_MISSING"] = "before 2024-07-01 missing video is judged by RECORDING_RETENTION"
    w = _table_class(identities, rng, class_id, 3, sessions, job_type="低压电工作业", training_kind="refresher",
                     province="shandong", head_teacher="T01", required_hours=None, ignore_rules=ignore)
    w.people.append(Person("T01", "teacher", "李建国", "", None, ()))
    w.planted += [Planted("RECORDING_RETENTION", {}, "0% of offline video kept, 20% required"),
                  Planted("ARCHIVE_INCOMPLETE", {}, "recordings/ missing", 2)]
    return w


def link_cross_class(video: ClassWorld, schedule: ClassWorld) -> None:
    """One finding in each class involved (RULES.md): teacher T01 in two rooms, room R201 twice, and the
    schedule class's only recording is a copy of the video class's S03 file (reused footage)."""
    src = next(r for r in video.recordings if r.session_id == "S03" and not r.corrupt)
    x01 = schedule.session("X01")
    copy = RecordingPlan("R305-A", "X01", x01.start_dt() - dt.timedelta(minutes=2), src.duration_s,
                         copy_of=f"../../{video.class_id}/recordings/{src.file_name}")
    schedule.recordings.append(copy)
    schedule.cameras["R305-A"] = ("R305", "classroom")
    video.planted.append(Planted("RECORDING_REUSED", {"path": f"recordings/{src.file_name}"},
                                 f"copied into {schedule.class_id} as {copy.file_name}"))
    schedule.planted.append(Planted("RECORDING_REUSED", {"path": f"recordings/{copy.file_name}"},
                                    f"a copy of {video.class_id}'s {src.file_name}"))
    video.planted += [Planted("TEACHER_CONFLICT", {"session_id": "S01"}, f"T01 also in {schedule.class_id} X01"),
                      Planted("CLASS_MERGED", {"session_id": "S02"}, f"R201 also used by {schedule.class_id} X02")]
    schedule.planted += [Planted("TEACHER_CONFLICT", {"session_id": "X01"}, f"T01 also in {video.class_id} S01"),
                         Planted("CLASS_MERGED", {"session_id": "X02"}, f"R201 also used by {video.class_id} S02")]
