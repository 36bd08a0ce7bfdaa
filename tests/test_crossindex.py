"""The nightly run's selective cross-class evaluation (pipeline/crossindex.py): after one class changes, the
classes it does not select keep exactly the findings a full evaluation gives them, and evaluating only the
selected views gives the affected classes exactly their full findings. Checked on random small cities where
classes overlap by teacher, room, byte-identical recording, footage match, check-in snapshot and shared
enrollment photo (with and without the same id number), then end to end through `trainaudit nightly`
against a full audit, with a change that creates and then removes an overlap with an unchanged class."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.crossclass import CrossView, evaluate_cross, reuse_frame
from pipeline.crossindex import Selection, load_index, select, stamp, view_keys, write_index
from pipeline.model import ClassArchive, Recording
from pipeline.video.reuse import ReuseMatch
from rules_factories import NATIONAL, at, checkin, info, recording, session, trainee

CLASSES = [f"C{i}" for i in range(10)]


def random_view(rng: random.Random, cid: str) -> CrossView:
    """A class of a small city: 3 institutions, 3 rooms, 3 teachers, two days, so some pairs overlap."""
    sessions = []
    for n in range(rng.randint(1, 3)):
        start = rng.choice(["08:30", "09:30", "13:30"])
        end = {"08:30": "11:30", "09:30": "12:00", "13:30": "16:30"}[start]
        sessions.append(session(f"S{n}", start, end, day=rng.choice([8, 9]), room=rng.choice(["R1", "R2", "R3", None]),
                                teacher_id=rng.choice(["T1", "T2", "T3", None]), class_id=cid))
    people = rng.sample([("张三", "ID1"), ("李四", "ID2"), ("王五", None), ("赵六", "ID4"), ("钱七", "ID5")], 2)
    trainees, digests = [], {}
    for k, (name, number) in enumerate(people):
        photo = f"photos/{cid}-{k}.jpg"
        digests[photo] = rng.choice(["d1", "d2", None, None, None, None])
        trainees.append(trainee(f"S{k}", class_id=cid, name=name, id_number=number, photos=(photo,)))
    checkins = tuple(checkin(f"S{k}", class_id=cid, photo=rng.choice(["snap1", None, None, None, None]), row=k + 2)
                     for k in range(2) if rng.random() < 0.6)
    rows, recordings = [], []
    if rng.random() < 0.7:
        path = f"/archive/{cid}/recordings/R1_20241008083000.mp4"
        rows.append(recording(path=path, class_id=cid, sha=rng.choice(["h1", None, None, None])))
        recordings.append(Recording(cid, Path(path), "recordings/R1_20241008083000.mp4", "R1-A", "R1", "classroom",
                                    at("08:20"), at("11:40"), "filename", 1000))
    cls = info(cid, institution_id=rng.choice(["I1", "I2", "I3"]))
    archive = ClassArchive(cls, tuple(trainees), (), tuple(sessions), checkins, (), tuple(recordings), (), (), "sha")
    return CrossView(archive, tuple(rows), None, digests, (), (), np.zeros((0, 0), np.float32))


def random_matches(rng: random.Random, views: dict[str, CrossView], fresh: CrossView | None = None
                   ) -> list[ReuseMatch]:
    """Footage matches between random recordings (with one of `fresh`'s: a night compares only those)."""
    paths = [r.path for v in views.values() for r in v.archive.recordings]
    ours = [r.path for r in fresh.archive.recordings] if fresh is not None else paths
    matches = []
    for _ in range(rng.randint(0, 2)):
        if ours and len(paths) >= 2:
            a = rng.choice(ours)
            b = rng.choice([p for p in paths if p != a])
            matches.append(ReuseMatch(*sorted([a, b]), 0.0, 0.0, 60.0, 0.95, 12, "motion_signature", 0.2))
    return matches


def full(views: dict[str, CrossView], matches: list[ReuseMatch]) -> dict[str, list]:
    views = dict(sorted(views.items()))
    ids = {str(r.path): (cid, r.recording_id) for cid, v in views.items() for r in v.archive.recordings}
    findings, errors, _ = evaluate_cross(views, {cid: NATIONAL for cid in views}, reuse_frame(matches, ids), "en",
                                         lambda cid: None)
    assert not errors
    return findings


def scenario(seed: int) -> tuple:
    """A random city, one class changed or removed: (views before, the class, its new view or None, last
    night's matches, tonight's)."""
    rng = random.Random(seed)
    views = {cid: random_view(rng, cid) for cid in CLASSES}
    x = rng.choice(CLASSES)
    new_x = None if rng.random() < 0.2 else random_view(rng, x)  # None: removed (or failed) instead
    now = {**{c: v for c, v in views.items() if c != x}, **({} if new_x is None else {x: new_x})}
    kept = random_matches(rng, views)  # tonight loses x's old matches and may find new ones with x
    matches = [m for m in kept if x not in str(m.path_a) and x not in str(m.path_b)] + (
        [] if new_x is None else random_matches(rng, now, new_x))
    return views, x, new_x, kept, matches


def keys(view: CrossView):
    return view_keys(view, "stamp-of-the-view")


@pytest.mark.parametrize("seed", range(60))
def test_selected_views_give_every_affected_class_its_full_findings_and_leave_the_others_unchanged(seed):
    views, x, new_x, kept, matches = scenario(seed)
    others = {c: v for c, v in views.items() if c != x}
    now = {**others, **({} if new_x is None else {x: new_x})}
    before, after = full(views, kept), full(now, matches)
    selection = select({} if new_x is None else {x: keys(new_x)}, {c: keys(v) for c, v in others.items()},
                       [keys(views[x])], matches, kept)
    assert selection.affected <= selection.needed <= set(others)
    for cid in set(others) - selection.affected:
        assert after[cid] == before[cid], cid
    part = full({c: others[c] for c in selection.needed} | ({} if new_x is None else {x: new_x}), matches)
    for cid in selection.affected | (set() if new_x is None else {x}):
        assert part[cid] == after[cid], cid


def test_the_random_cities_change_findings_and_still_leave_views_unread():
    """The property above is not vacuous: changes move other classes' findings, and views go unread."""
    moved = unread = 0
    for seed in range(60):
        views, x, new_x, kept, matches = scenario(seed)
        others = {c: v for c, v in views.items() if c != x}
        before = full(views, kept)
        after = full({**others, **({} if new_x is None else {x: new_x})}, matches)
        moved += any(before[c] != after[c] for c in others)
        selection = select({} if new_x is None else {x: keys(new_x)}, {c: keys(v) for c, v in others.items()},
                           [keys(views[x])], matches, kept)
        unread += len(selection.needed) < len(others)
    assert moved >= 20 and unread >= 20, (moved, unread)


def simple_view(cid: str, people: list[tuple[str, str | None, str]], room: str = "R1", teacher: str = "T1",
                inst: str = "I1") -> CrossView:
    """One session; people: (name, id number, photo digest)."""
    trainees = tuple(trainee(f"S{k}", class_id=cid, name=name, id_number=number, photos=(f"photos/{cid}{k}.jpg",))
                     for k, (name, number, _) in enumerate(people))
    digests = {f"photos/{cid}{k}.jpg": digest for k, (_, _, digest) in enumerate(people)}
    archive = ClassArchive(info(cid, institution_id=inst), trainees, (),
                           (session("S1", room=room, teacher_id=teacher, class_id=cid),), (), (), (), (), (), "sha")
    return CrossView(archive, (), None, digests, (), (), np.zeros((0, 0), np.float32))


def test_the_selection_reads_only_what_pairs_with_the_change():
    """The same people enrolled in three classes (same photos, same id numbers) pair nothing; someone else
    with one of their photos pairs with each; a shared room pairs only within one institution."""
    people = [("张三", "ID1", "p1"), ("李四", "ID2", "p2")]
    a, b, c = (simple_view(cid, people, room=f"R{cid}", teacher=f"T{cid}") for cid in "ABC")
    stored = {"B": keys(b), "C": keys(c)}
    assert select({"A": keys(a)}, stored, [keys(a)], [], []) == Selection(frozenset(), frozenset())
    impostor = simple_view("A", [("冒名", "ID99", "p1")], room="RA", teacher="TA")
    assert select({"A": keys(impostor)}, stored, [keys(a)], [], []) == Selection(frozenset("BC"), frozenset("BC"))
    unnumbered = simple_view("A", [("张三", None, "p1")], room="RA", teacher="TA")  # same name, no number: same
    assert select({"A": keys(unnumbered)}, stored, [keys(a)], [], []).affected == frozenset()
    # A moves into B's room: B is affected; B shares its teacher with D (other room), so D's view is needed
    d = simple_view("D", people, room="RD", teacher="TB")
    stored["D"] = keys(d)
    moved = simple_view("A", people, room="RB", teacher="TA")
    assert select({"A": keys(moved)}, stored, [keys(a)], [], []) == Selection(frozenset("B"), frozenset("BD"))
    elsewhere = simple_view("A", people, room="RB", teacher="TA", inst="I2")  # another institution's room RB
    assert select({"A": keys(elsewhere)}, stored, [keys(a)], [], []).affected == frozenset()
    # ... and moving out again affects B through A's old keys
    assert select({"A": keys(a)}, stored, [keys(moved)], [], []).affected == frozenset("B")


def test_the_index_round_trips_and_refuses_a_damaged_file(tmp_path):
    rng = random.Random(5)
    entries = {f"k{c}": keys(random_view(rng, c)) for c in CLASSES}
    write_index(tmp_path, entries)
    loaded = load_index(tmp_path)
    assert loaded.keys() == entries.keys()
    for k, e in entries.items():
        got = loaded[k]
        assert (got.class_id, got.keys, got.photos, got.recording_paths) == (e.class_id, e.keys, e.photos,
                                                                              e.recording_paths)
    path = tmp_path / "index.bin"
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    assert load_index(tmp_path) is None


# ---- end to end: trainaudit nightly against a full audit -------------------------------------------------

def city_class(root: Path, i: int, inst: str, room: str, teacher: str, day: int) -> None:
    from conftest import ClassWriter

    writer = ClassWriter(root, f"TA2024-SL-{i:03d}", inst).default()
    writer.text("teachers.csv", f"""
        teacher_id,name,photo,certificate,experience_years
        {teacher},赵老师,photos/T003.jpg,低压电工作业,8
        """)
    writer.text("schedule.csv", "session_id,date,start,end,kind,mode,room,teacher_id,topic,hours\n"
                f"S1,2024-10-{day:02d},08:30,11:30,theory,offline,{room},{teacher},安全法规,4\n"
                f"S2,2024-10-{day:02d},13:30,16:30,practical,offline,{room},{teacher},实操,4\n")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_nightly_reads_only_the_views_a_change_touches_and_publishes_what_a_full_audit_does(tmp_path):
    from test_nightly_incremental import assert_equal_to_full, nightly, stamps

    root, out = tmp_path / "archive", tmp_path / "out"
    layout = [("370900-0001", "R1", "T1", 8), ("370900-0001", "R2", "T2", 8), ("370900-0002", "R1", "T1", 8),
              ("370900-0003", "R1", "T1", 9), ("370900-0003", "R2", "T2", 10), ("370900-0004", "R1", "T1", 8)]
    for i, (inst, room, teacher, day) in enumerate(layout):
        city_class(root, i, inst, room, teacher, day)
    assert nightly(root, out).audited  # the first night: no index yet, every class audited
    untouched = stamps(out, "TA2024-SL-005")

    # class 1 moves into room R1 with teacher T1: now merged with class 0 and in conflict with it
    city_class(root, 1, "370900-0001", "R1", "T1", 8)
    result = nightly(root, out)
    assert result.audited == ["TA2024-SL-001"] and result.cross_updated == ["TA2024-SL-000"]
    assert result.reuse["views_read"] < result.reuse["views_stored"] == 5
    got = assert_equal_to_full(out, root, tmp_path)
    rules = set(got["findings"][got["findings"]["class_id"] == "TA2024-SL-000"]["rule_id"])
    assert {"CLASS_MERGED", "TEACHER_CONFLICT"} <= rules

    # and back: the overlap ends, class 0's cross-class findings go with it
    index = out / ".trainaudit-cross" / "index.bin"
    stale = index.read_bytes()
    city_class(root, 1, "370900-0001", "R2", "T2", 8)
    result = nightly(root, out)
    assert result.reuse["views_read"] < result.reuse["views_stored"]
    assert result.cross_updated == ["TA2024-SL-000"]
    got = assert_equal_to_full(out, root, tmp_path)
    assert not set(got["findings"][got["findings"]["class_id"] == "TA2024-SL-000"]["rule_id"]) & {
        "CLASS_MERGED", "TEACHER_CONFLICT"}
    assert stamps(out, "TA2024-SL-005") == untouched  # paired with neither: never rewritten

    # class 4 enrols someone else (another id number) with the photo every class's 张三 has: IDENTITY_SHARED
    roster = root / "TA2024-SL-004" / "roster.csv"
    roster.write_bytes(roster.read_bytes().replace(b"370902199001011234", b"370902198801011111"))
    index.write_bytes(stale)  # as if the last run had died before writing its index: class 1's entry is old
    result = nightly(root, out)
    assert result.reuse["views_read"] == result.reuse["views_stored"]  # so every view is read
    assert sorted(result.cross_updated) == ["TA2024-SL-000", "TA2024-SL-001", "TA2024-SL-002", "TA2024-SL-003",
                                            "TA2024-SL-005"]
    got = assert_equal_to_full(out, root, tmp_path)
    assert "IDENTITY_SHARED" in set(got["findings"][got["findings"]["class_id"] == "TA2024-SL-003"]["rule_id"])
    untouched = stamps(out, "TA2024-SL-005")

    # class 3 is removed: class 4 loses the pair
    shutil.rmtree(root / "TA2024-SL-003")
    result = nightly(root, out)
    assert result.cross_updated == ["TA2024-SL-004"]
    assert_equal_to_full(out, root, tmp_path)
    assert stamps(out, "TA2024-SL-005") == untouched  # its pair with class 4 stays

    # without its index a night reads every view, and still publishes the same
    index.unlink()
    city_class(root, 2, "370900-0002", "R2", "T1", 9)
    result = nightly(root, out)
    assert result.reuse["views_read"] == result.reuse["views_stored"]
    assert_equal_to_full(out, root, tmp_path)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_a_view_replaced_behind_the_runs_back_is_never_decoded_its_class_is_audited_again(tmp_path):
    """A view file whose checksum holds but whose content is no view, with its index entry made to name it:
    the manifest's stamp of the view file no longer matches, so the class is audited again (its view
    rewritten) instead of the view being decoded when a change needs it."""
    import dataclasses

    from pipeline import cache_codec
    from pipeline.crossclass import VIEWS_DIR
    from test_nightly_incremental import assert_equal_to_full, nightly

    root, out = tmp_path / "archive", tmp_path / "out"
    for i, (inst, room, teacher) in enumerate([("370900-0001", "R1", "T1"), ("370900-0001", "R2", "T2"),
                                               ("370900-0002", "R1", "T1")]):
        city_class(root, i, inst, room, teacher, 8)
    nightly(root, out)
    folder = out / VIEWS_DIR
    forged = cache_codec.dumps({"not": "a view"})
    (folder / "TA2024-SL-000.view").write_bytes(forged)
    index = load_index(folder)
    index["TA2024-SL-000"] = dataclasses.replace(index["TA2024-SL-000"],
                                                 view_stamp=stamp(folder / "TA2024-SL-000.view"))
    write_index(folder, index)

    city_class(root, 1, "370900-0001", "R1", "T1", 8)  # now pairs with class 0
    result = nightly(root, out)
    assert sorted(result.audited) == ["TA2024-SL-000", "TA2024-SL-001"]
    assert "do not match the manifest" in result.plan.changed["TA2024-SL-000"]
    assert_equal_to_full(out, root, tmp_path)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_a_cross_class_rule_that_fails_makes_the_night_read_every_view(tmp_path, monkeypatch):
    """A rule error is published on every class (a full run's behaviour), so a night where a cross-class rule
    fails, and the night after, read every view; the tables still equal a full audit's."""
    import dataclasses

    from pipeline.rules import registry
    from test_nightly_incremental import assert_equal_to_full, nightly

    root, out = tmp_path / "archive", tmp_path / "out"
    for i, (inst, room, teacher) in enumerate([("370900-0001", "R1", "T1"), ("370900-0002", "R2", "T2"),
                                               ("370900-0003", "R1", "T1")]):
        city_class(root, i, inst, room, teacher, 8)
    nightly(root, out)

    def broken(actx):
        raise RuntimeError("a rule that fails")

    spec = registry._REGISTRY["CLASS_MERGED"]
    monkeypatch.setitem(registry._REGISTRY, "CLASS_MERGED", dataclasses.replace(spec, func=broken))
    city_class(root, 1, "370900-0002", "R3", "T2", 8)
    result = nightly(root, out)
    assert result.reuse["views_read"] == result.reuse["views_stored"] == 2
    assert sorted(result.cross_updated) == ["TA2024-SL-000", "TA2024-SL-002"]  # the error is theirs too
    assert_equal_to_full(out, root, tmp_path)

    monkeypatch.setitem(registry._REGISTRY, "CLASS_MERGED", spec)
    city_class(root, 1, "370900-0002", "R4", "T2", 8)
    result = nightly(root, out)
    assert result.reuse["views_read"] == result.reuse["views_stored"]  # last night's errors: a full evaluation
    assert sorted(result.cross_updated) == ["TA2024-SL-000", "TA2024-SL-002"]
    assert_equal_to_full(out, root, tmp_path)

    city_class(root, 1, "370900-0002", "R5", "T2", 8)
    result = nightly(root, out)
    assert result.reuse["views_read"] == 0 and result.cross_updated == []
    assert_equal_to_full(out, root, tmp_path)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_a_class_that_breaks_ends_its_pairs_and_one_that_recovers_brings_them_back(tmp_path):
    """A class whose class.yaml becomes unreadable fails and takes no part: the class it was merged with
    loses those findings (its keys come from the index, the class itself has no view any more)."""
    from test_nightly_incremental import assert_equal_to_full, nightly

    root, out = tmp_path / "archive", tmp_path / "out"
    for i, (inst, room, teacher) in enumerate([("370900-0001", "R1", "T1"), ("370900-0001", "R1", "T1"),
                                               ("370900-0002", "R1", "T1")]):
        city_class(root, i, inst, room, teacher, 8)
    nightly(root, out)
    yaml = root / "TA2024-SL-001" / "class.yaml"
    good = yaml.read_bytes()
    yaml.write_bytes(b"class_id: [unterminated\n")
    result = nightly(root, out)
    assert "TA2024-SL-001" in result.failed and result.cross_updated == ["TA2024-SL-000"]
    assert result.reuse["views_read"] == 1  # class 0 alone: class 2 is another institution
    got = assert_equal_to_full(out, root, tmp_path)
    assert "CLASS_MERGED" not in set(got["findings"][got["findings"]["class_id"] == "TA2024-SL-000"]["rule_id"])

    yaml.write_bytes(good)
    result = nightly(root, out)
    assert result.audited == ["TA2024-SL-001"] and result.cross_updated == ["TA2024-SL-000"]
    got = assert_equal_to_full(out, root, tmp_path)
    assert "CLASS_MERGED" in set(got["findings"][got["findings"]["class_id"] == "TA2024-SL-000"]["rule_id"])
