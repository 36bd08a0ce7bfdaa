"""Black, frozen and covered-lens stretches found in one scan, with offsets within a few seconds;
a static room with only sensor noise is not frozen, nor is a quiet class on a noise-free encode, while
a picture an NVR repeats under its running clock is; snapshots are written."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from pipeline.video.blank import BLACK, COVERED, FROZEN, BlankConsumer, picture_change, write_snapshot
from pipeline.video.params import VideoParams
from pipeline.video.scan import scan_recording
from pipeline.video.sample import sample_frames
from test_video_media import class_video, noisy, real_clips

PARAMS = VideoParams(sample_interval_s=1.0)


def _blank_segments():
    frozen: list[np.ndarray] = []

    def segment(t: float, img: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(int(t * 10))
        if 15 <= t < 30:  # signal lost: black with a little noise
            return noisy(np.full_like(img, 8), rng, 3)
        if 40 <= t < 55:  # NVR repeats the last picture
            if not frozen:
                frozen.append(img)
            return frozen[0]
        if 65 <= t < 80:  # lens taped over: flat, the camera's gain raises noise
            return noisy(np.full_like(img, 70), rng, 6)
        return img

    return segment


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    d = tmp_path_factory.mktemp("blank")
    blank = class_video(d / "blank.mp4", 90, segments=_blank_segments())
    quiet = class_video(d / "empty_room.mp4", 40, people_seed=None, noise=2.0)
    out = {}
    for name, path in (("blank", blank), ("quiet", quiet)):
        out[name] = (path, scan_recording(path, PARAMS.sample_interval_s, [BlankConsumer(PARAMS)]))
    return out


@pytest.mark.parametrize(
    "kind, start_s, end_s",
    [(BLACK, 15, 29), (FROZEN, 40, 54), (COVERED, 65, 79)],
)
def test_each_blank_stretch_is_found_with_its_offsets(scans, kind, start_s, end_s):
    _, scan = scans["blank"]
    assert scan.error is None and scan.samples >= 88
    found = [s for s in scan.results[0] if s.kind == kind]
    assert len(found) == 1, scan.results[0]
    stretch = found[0]
    assert stretch.start_offset_s == pytest.approx(start_s, abs=3.5)
    assert stretch.end_offset_s == pytest.approx(end_s, abs=1.5)
    assert stretch.start_offset_s <= stretch.snapshot_offset_s <= stretch.end_offset_s


def test_nothing_else_is_called_blank(scans):
    _, scan = scans["blank"]
    assert sorted(s.kind for s in scan.results[0]) == sorted([BLACK, FROZEN, COVERED])


def test_static_room_with_sensor_noise_is_not_frozen(scans):
    _, scan = scans["quiet"]
    assert scan.samples >= 39 and scan.results[0] == []


@pytest.mark.parametrize("min_blank_s, expected", [(0.0, 2), (15.0, 2), (15.5, 0)])
def test_min_blank_length_at_and_past_the_threshold(scans, min_blank_s, expected):
    """Black and covered stretches are each 15 s: 14 s from first to last sample, plus half a sample
    interval at each edge."""
    path, _ = scans["blank"]
    params = VideoParams(sample_interval_s=1.0, min_blank_s=min_blank_s)
    scan = scan_recording(path, 1.0, [BlankConsumer(params)], end_s=85)
    assert len([s for s in scan.results[0] if s.kind in (BLACK, COVERED)]) == expected, scan.results[0]


def test_snapshot_is_the_frame_at_the_offset_with_the_box(scans, tmp_path):
    path, scan = scans["blank"]
    black = next(s for s in scan.results[0] if s.kind == BLACK)
    out = tmp_path / "ev" / "black.jpg"
    assert write_snapshot(path, black.snapshot_offset_s, out) is None
    image = cv2.imread(str(out))
    assert image.shape == (240, 320, 3) and image[:200].mean() < 20  # black, apart from the time stamp
    boxed = tmp_path / "boxed.jpg"
    assert write_snapshot(path, 5.0, boxed, box=(100, 50, 60, 80)) is None
    red = cv2.imread(str(boxed))[50:131, 100]  # left edge of the box
    assert (red[:, 2] > 180).mean() > 0.8 and (red[:, 1] < 90).mean() > 0.8


def test_snapshot_of_a_bad_file_says_why(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    error = write_snapshot(bad, 3.0, tmp_path / "x.jpg")
    assert error and "bad.mp4" in error and not (tmp_path / "x.jpg").exists()


@pytest.fixture(scope="module")
def two_minute_blanks(tmp_path_factory):
    """A classroom (tools/synth/footage.py) with a hand over 80% of the lens for 2 minutes, then the
    NVR repeating one picture for 2 minutes, then a fully covered lens for 1.5 minutes; sampled every
    10 s as the audit does."""
    from tools.synth import footage as F

    small = F.Footage(width_px=320, height_px=180, fps=2.0, gop_s=2.0)
    path = F.render(tmp_path_factory.mktemp("blank2") / "cam.mp4", 560, session_seed=3, p=small,
                    blanks=[(65.0, 185.0, "hand"), (420.0, 510.0, "covered")], frozen=[(245.0, 365.0)])
    params = VideoParams()
    return scan_recording(path, params.sample_interval_s, [BlankConsumer(params)]).results[0]


@pytest.mark.parametrize("kind, start_s, end_s", [(COVERED, 65, 185), (FROZEN, 245, 365), (COVERED, 420, 510)])
def test_two_minute_covered_and_frozen_footage_with_offsets(two_minute_blanks, kind, start_s, end_s):
    found = [s for s in two_minute_blanks if s.kind == kind and abs(s.start_offset_s - start_s) <= 30]
    assert len(found) == 1, two_minute_blanks
    s = found[0]
    # edges within half a sample interval (5 s) of the truth, plus one sample for a freeze to show
    assert s.start_offset_s == pytest.approx(start_s, abs=10.0) and s.end_offset_s == pytest.approx(end_s, abs=5.0)
    assert s.duration_s == pytest.approx(end_s - start_s, abs=10.0)
    assert s.before_offset_s is not None and s.before_offset_s < start_s


def test_two_minute_blanks_nothing_else(two_minute_blanks):
    assert len(two_minute_blanks) == 3, two_minute_blanks


@pytest.fixture(scope="module")
def quiet_class(tmp_path_factory):
    """A quiet class (tools/synth/footage.py: seated, swaying a quarter as much, nobody standing, no teacher
    walking, no sensor noise left), the NVR's clock burnt in at the top; from 100 s to 230 s the NVR repeats
    one picture while its clock runs on. Sampled every 10 s as the audit does."""
    from tools.synth import footage as F

    quiet = F.Footage(width_px=320, height_px=180, fps=2.0, gop_s=2.0, noise=0.0, activity=0.25, teacher=False,
                      osd_clock=True)
    path = F.render(tmp_path_factory.mktemp("quiet") / "cam.mp4", 330, session_seed=9, p=quiet, frozen=[(100.0, 230.0)])
    params = VideoParams()
    frames = [f.image_bgr for f in sample_frames(path, params.sample_interval_s)]
    return scan_recording(path, params.sample_interval_s, [BlankConsumer(params)]).results[0], frames


def test_quiet_class_is_live_and_its_freeze_is_found(quiet_class):
    stretches, _ = quiet_class
    assert [s.kind for s in stretches] == [FROZEN], stretches
    assert stretches[0].start_offset_s == pytest.approx(100, abs=10) and stretches[0].end_offset_s == pytest.approx(230, abs=5)


def test_quiet_class_is_told_from_a_freeze_by_what_moves(quiet_class):
    """Why the rule needs more than the mean difference: in the live part of the quiet class most samples differ
    from the one before by no more than a frozen picture does on average, but some block always changed; in the
    frozen part only the clock changed, and it lies outside the compared band."""
    from pipeline.video.sample import downscale_gray

    _, frames = quiet_class
    params = VideoParams()
    gray = [downscale_gray(f, 320, 180) for f in frames]
    live = [picture_change(a, b) for k, (a, b) in enumerate(zip(gray, gray[1:])) if not 9 <= k <= 23]
    frozen = [picture_change(a, b) for k, (a, b) in enumerate(zip(gray, gray[1:])) if 11 <= k <= 21]
    assert sum(m <= params.freeze_mean_diff_max for m, _ in live) >= len(live) // 2
    assert min(b for _, b in live) > 1.5 * params.freeze_block_diff_max
    assert max(b for _, b in frozen) <= params.freeze_block_diff_max
    whole = [float(np.abs(a - b).reshape(18, 10, 40, 8).mean(axis=(1, 3)).max()) for a, b in zip(gray[12:22], gray[13:23])]
    assert min(whole) > params.freeze_block_diff_max  # the ticking clock, had the band been compared


@pytest.mark.skipif(not real_clips(), reason="../shared/data not present")
def test_real_footage_is_never_partly_covered():
    """The partly-covered test (featureless blocks) on every frame of the real clips (a dark theatre stage,
    a crowd, a cartoon with black fades): below covered_min_share wherever the frame is not black."""
    from pipeline.video.blank import featureless_share
    from pipeline.video.sample import downscale_gray

    params, shares = VideoParams(), []
    for clip in real_clips():
        for frame in sample_frames(clip, 0.5):
            tiny = downscale_gray(frame.image_bgr, 64, 36)
            if tiny.mean() > params.black_luma_max:
                shares.append(featureless_share(tiny, params.uniform_luma_std_max))
    assert len(shares) >= 20
    assert max(shares) < params.covered_min_share  # measured 0.48 (short_hamilton_clip.mp4)
