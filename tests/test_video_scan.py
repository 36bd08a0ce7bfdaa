"""One decode pass feeds every consumer; frame size follows the most demanding consumer; the
isolated scan survives a timeout; decode errors end the pass with a reason, not an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.video.blank import BlankConsumer
from pipeline.video.params import VideoParams
from pipeline.video.reuse import FingerprintConsumer
from pipeline.video.sample import SampleReport, sample_frames
from pipeline.video.scan import frame_width_for, scan_recording, scan_recording_isolated
from test_video_media import class_video


class Recorder:
    """A consumer that keeps what it was fed (stands in for the face stage)."""

    def __init__(self, max_width_px: int | None = None) -> None:
        self.max_width_px = max_width_px
        self.seen: list[tuple[float, tuple[int, ...]]] = []

    def feed(self, frame) -> None:
        self.seen.append((frame.offset_s, frame.image_bgr.shape))

    def result(self):
        return self.seen


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return class_video(tmp_path_factory.mktemp("scan") / "class.mp4", 30)


@pytest.mark.parametrize(
    "widths, expected", [([None], None), ([160, 320], 320), ([160, None], None), ([], None)],
)
def test_frame_width_follows_the_most_demanding_consumer(widths, expected):
    assert frame_width_for([Recorder(w) for w in widths]) == expected


def test_one_pass_feeds_every_consumer_the_same_offsets(video):
    full, small = Recorder(None), Recorder(160)
    scan = scan_recording(video, 2.0, [full, small, BlankConsumer(), FingerprintConsumer(video)])
    # requests at 0, 2, ... 30 s; the last one lands on the last keyframe (29 s, the file ends at 30)
    assert scan.error is None and scan.samples == 16
    expected = [2.0 * k for k in range(15)] + [29.0]
    assert [o for o, _ in full.seen] == [o for o, _ in small.seen] == pytest.approx(expected)
    assert {shape for _, shape in full.seen} == {(240, 320, 3)}  # full resolution for everyone
    assert scan.results[3].vectors.shape == (16, 32 * 18)


class Sparse(Recorder):
    """A full-resolution consumer that wants a frame only every 6 s (the face pass in the audit)."""

    interval_s = 6.0


def test_a_sparse_consumer_is_thinned_and_full_frames_are_made_only_for_it(video):
    sparse, small = Sparse(None), Recorder(160)
    scan_recording(video, 2.0, [sparse, small])
    assert [o for o, _ in sparse.seen] == pytest.approx([0.0, 6.0, 12.0, 18.0, 24.0])
    assert len(small.seen) == 16
    full_at = {o for o, shape in small.seen if shape == (240, 320, 3)}
    assert full_at == {o for o, _ in sparse.seen}  # small frames whenever the sparse consumer is not due
    assert {shape for o, shape in small.seen if o not in full_at} == {(120, 160, 3)}


def test_small_frames_when_no_consumer_needs_more(video):
    small = Recorder(160)
    scan_recording(video, 5.0, [small])
    assert {shape for _, shape in small.seen} == {(120, 160, 3)}


def test_start_and_end_window(video):
    rec = Recorder(160)
    scan = scan_recording(video, 1.0, [rec], start_s=10.0, end_s=15.0)
    assert [o for o, _ in rec.seen] == pytest.approx([10.0, 11.0, 12.0, 13.0, 14.0, 15.0])
    assert scan.last_offset_s == pytest.approx(15.0)


def test_isolated_scan_matches_in_process_scan(video):
    params = VideoParams(sample_interval_s=2.0)
    here = scan_recording(video, 2.0, [BlankConsumer(params)])
    there = scan_recording_isolated(video, 2.0, [BlankConsumer(params)], timeout_s=120)
    assert there.error is None and there.samples == here.samples and there.results == here.results


def test_isolated_scan_timeout_is_a_result(video):
    scan = scan_recording_isolated(video, 1.0, [BlankConsumer()], timeout_s=0.01)
    assert scan.error and "did not finish within" in scan.error and scan.results == ([],)


def test_truncated_file_ends_the_pass_with_what_was_decoded(video, tmp_path):
    cut = tmp_path / "cut.mp4"
    fast = class_video(tmp_path / "fast.mp4", 30, args=["-movflags", "+faststart"])
    cut.write_bytes(fast.read_bytes()[: fast.stat().st_size // 2])
    report = SampleReport()
    offsets = [f.offset_s for f in sample_frames(cut, 1.0, report=report)]
    assert 5 <= len(offsets) < 30  # the first half, then it stops without raising
    assert offsets == sorted(offsets)


@pytest.mark.parametrize("content", [b"", b"hello, not a video\n" * 20])
def test_unopenable_files_give_a_reason(tmp_path, content):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    report = SampleReport()
    assert list(sample_frames(bad, 1.0, report=report)) == []
    assert report.error and "bad.mp4" in report.error
