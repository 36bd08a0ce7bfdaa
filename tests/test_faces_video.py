"""The per-video face pass on a real clip, clustering, presence and headcount."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.faces.gallery import Gallery
from pipeline.faces.params import FaceParams
from pipeline.attendance.presence import cluster_unknowns, presence_intervals, robust_headcount
from pipeline.faces.video import HeadcountRow, Sighting, VideoFaceResult, run_face_pass
from pipeline.video.sample import sample_frames

PARAMS = FaceParams(sample_interval_s=0.5)


@pytest.fixture(scope="module")
def hamilton(shared_data):
    ex = shared_data / "face_recognition/examples"
    gallery = Gallery.from_photos({"lin-manuel-miranda": [ex / "lin-manuel-miranda.png"]}, PARAMS)
    clip = ex / "short_hamilton_clip.mp4"
    return clip, gallery, run_face_pass(sample_frames(clip, PARAMS.sample_interval_s), gallery, PARAMS)


def test_miranda_found_in_most_sampled_frames(hamilton):
    _, _, result = hamilton
    assert len(result.headcount) >= 15, "expected about 20 samples of the 10 s clip"
    seen = {s.offset_s for s in result.sightings if s.person_id == "lin-manuel-miranda"}
    # 3-7.5 s is his close-up (one face on screen); 1-2.5 s and 7.5-10 s show other people.
    close_up = [r.offset_s for r in result.headcount if 3.0 <= r.offset_s < 7.5]
    assert len(close_up) >= 7
    assert sum(t in seen for t in close_up) >= 0.75 * len(close_up), (sorted(seen), close_up)
    assert len(seen) >= 0.4 * len(result.headcount)
    for row in result.headcount:  # the rest are unidentified (quality gate, or too few judged samples)
        assert row.identified + row.unknown <= row.faces and row.identified <= 1
    # tracking reuses identities: fewer encodings than sightings
    assert result.encoded_faces < len(result.sightings)


def test_presence_of_miranda_is_one_interval(hamilton):
    _, _, result = hamilton
    spans = presence_intervals(result.sightings, gap_tolerance_s=3.0)
    longest = max(end - start for start, end in spans["lin-manuel-miranda"])
    assert longest >= 3.5, spans  # the close-up, joined across samples where he is missed


def _sighting(t, who):
    return Sighting(t, who, 0.4, (0, 0, 10, 10))


@pytest.mark.parametrize("times, gap, expected", [
    ([], 60, []),
    ([0, 30, 60], 30, [(0, 60)]),  # at the tolerance: joined
    ([0, 30, 61], 30, [(0, 30), (61, 61)]),  # just past it: split
    ([60, 0, 30, 30], 30, [(0, 60)]),  # order and duplicates do not matter
])
def test_presence_intervals(times, gap, expected):
    spans = presence_intervals([_sighting(t, "S1") for t in times] + [_sighting(5, None)], gap)
    assert spans.get("S1", []) == expected and None not in spans


def test_robust_headcount_ignores_a_look_down_frame():
    counts = [30, 30, 12, 30, 29, 30]  # one frame where most people look down
    rows = [HeadcountRow(i * 30.0, c, c - 2, 2) for i, c in enumerate(counts)]
    (window,) = robust_headcount(rows, window_s=300, quantile=0.75)
    assert window.faces == 30 and window.samples == 6 and window.peak_offset_s == 0.0
    assert robust_headcount([], 300, 0.75) == []


def test_cluster_unknowns_across_videos():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=128), rng.normal(size=128)
    a, b = a / np.linalg.norm(a) * 0.6, b / np.linalg.norm(b) * 0.6  # two people far apart

    def result(*encs):
        enc = np.asarray(encs, np.float32).reshape(-1, 128)
        return VideoFaceResult((), (), enc, tuple(np.zeros((96, 96, 3), np.uint8) for _ in encs))

    noise = lambda: rng.normal(scale=0.01, size=128)  # noqa: E731
    clusters = cluster_unknowns([result(a + noise(), b + noise()), result(), result(a + noise())], threshold=0.5)
    assert len(clusters) == 2
    assert clusters[0].members == ((0, 0), (2, 0)) and clusters[1].members == ((0, 1),)
    assert clusters[0].representative in clusters[0].members
    assert cluster_unknowns([result()], 0.5) == []


def _two_faces(shared_data):
    from pipeline.faces.images import read_image

    johns = shared_data / "dlib/examples/johns"
    people = sorted(d for d in johns.iterdir() if d.is_dir())
    known, stranger = sorted(people[0].glob("*.jpg")), sorted(people[1].glob("*.jpg"))
    gallery = Gallery.from_photos({people[0].name: known[:1]}, PARAMS)
    a, b = read_image(known[1]), read_image(stranger[0])
    h = max(a.shape[0], b.shape[0])
    pad = lambda im: np.pad(im, ((0, h - im.shape[0]), (0, 0), (0, 0)))  # noqa: E731
    return gallery, people[0].name, np.ascontiguousarray(np.hstack([pad(a), pad(b)]))


@pytest.mark.parametrize("samples, unknown", [(4, 1), (2, 0)])
def test_stranger_is_unknown_only_on_enough_judged_samples(shared_data, samples, unknown):
    """A stranger sitting still: one unknown entry (one snapshot) for the whole track once it has
    unknown_min_judged judged samples; with fewer it is unidentified (counted, neither named nor a
    stranger). Tracks stop being encoded once their evidence is settled."""
    from pipeline.faces.video import VideoFacePass
    from pipeline.video.sample import SampledFrame

    gallery, name, frame = _two_faces(shared_data)
    params = PARAMS.replace(reencode_every_s=3600, sample_interval_s=30)
    face_pass = VideoFacePass(gallery, params)
    for k in range(samples):
        face_pass.feed(SampledFrame(k * 30.0, frame))
    result = face_pass.result()
    assert [(r.faces, r.identified, r.unknown) for r in result.headcount] == [(2, 1, unknown)] * samples
    assert len(result.unknown_encodings) == unknown and len(result.unknown_snapshots) == unknown
    other = [s for s in result.sightings if s.person_id is None]
    assert len(other) == samples and {s.unknown_index for s in other} == ({0} if unknown else {None})
    assert all(s.judged and s.track_judged == min(samples, 3) for s in result.sightings)
    assert {s.person_id for s in result.sightings} == {name, None}
    settle = max(params.unknown_min_judged, params.split_after + 1)
    assert result.encoded_faces == 2 * min(samples, settle)


def test_presence_joins_across_a_covered_lens():
    # seen until 270 s and again from 840 s; the lens was covered 360-750 s: 180 s of seeable gap
    sightings = [Sighting(t, "A", 0.3, (0, 0, 10, 10)) for t in (210, 240, 270, 840, 870)]
    assert presence_intervals(sightings, 300, unseeable=[(360, 750)]) == {"A": [(210, 870)]}
    assert presence_intervals(sightings, 300) == {"A": [(210, 270), (840, 870)]}
    # a cover elsewhere does not shorten this gap
    assert presence_intervals(sightings, 300, unseeable=[(900, 1200)]) == {"A": [(210, 270), (840, 870)]}
