"""Tunable numbers of the video-evidence stage, kept apart from its structure.

Every field carries a description and bounds in its metadata so the strict config
(`pipeline/config.py`, owned by the lead) can document and check it. Defaults come from
measurements; the measurement is named next to each default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pipeline.settings import out_of_bounds, setting


def _p(default: Any, lo: float, hi: float, desc: str) -> Any:
    return setting(default, desc, min=lo, max=hi)


@dataclass(frozen=True)
class VideoParams:
    # Issue 3 measurement: 1 sample / 10 s on 1 h 1080p H.264 costs 13 ms a sample (PyAV seek to
    # keyframe + decode), i.e. 4.7 s per video-hour; coverage and blank offsets are then good to 10 s,
    # far below the pack's gap/blank tolerances (minutes).
    sample_interval_s: float = _p(10.0, 0.2, 600.0, "seconds between sampled frames in the scan pass")
    # ffprobe of a healthy 1 h file (format + packet list) takes about 1 s; 60 s only fires on hostile
    # or stalled files (network shares), never on normal ones.
    probe_timeout_s: float = _p(60.0, 1.0, 3600.0, "hard wall-clock limit for each ffprobe call")
    # The scan (decode + blank + fingerprints + faces) runs in a child process killed after
    # scan_timeout_min_s + scan_timeout_ratio x the file's duration: the face pass measured ~41x real
    # time per core (benchmarks/results/faces_speed.md), so a healthy file uses under 1/10 of this even
    # on a loaded machine; only a decoder stuck on a hostile file reaches it.
    scan_timeout_min_s: float = _p(120.0, 5.0, 86400.0, "fixed part of the per-file scan time limit (seconds)")
    scan_timeout_ratio: float = _p(1.0, 0.01, 100.0, "per-file scan time limit, in seconds per second of video")
    # Issue 19: work is split one recording per worker, so one 3-hour file kept one core busy while the
    # others idled. A recording longer than 1.5x this is analysed in chunks of about this length on as many
    # workers (pipeline/chunks.py; seams agree with the whole-file pass within one sample,
    # tests/test_chunks.py). 30 min: a chunk's extra cost (one face sample before its start) is 1/60.
    chunk_s: float = _p(1800.0, 0.0, 86400.0, "recordings longer than 1.5x this are analysed in chunks of this "
                                               "length on several workers (0: never split)")
    # A header can claim any duration: a 3 kB MP4 claiming 49 days once bought the decoder hours. Real
    # footage needs bytes. Leanest measured here (H.264, ffmpeg defaults): 600 s of black 1080p at 1 fps,
    # 89 B/s; 20 s of static colour bars at 5 fps, 240 B/s. 10 B/s is far below both (a covered lens is
    # never called forged) and far above a lying header (the 49-day claim: 0.001 B/s). The decode budget
    # is capped by the same figure (issue 16).
    min_bytes_per_s: float = _p(10.0, 0.001, 1e7, "fewest bytes per second of claimed video a real recording holds")
    # A truncated faststart MP4 still claims its full duration; the last readable packet ends early.
    # Muxers round durations by up to one frame / one GOP of audio: 2 s never fires on a clean file.
    truncation_tolerance_s: float = _p(2.0, 0.1, 600.0, "container duration minus last readable packet time above which a file is truncated")
    # A jump is a gap (or a step back) between consecutive video packet timestamps. Clean 25 fps
    # files step 0.04 s; NVR files with dropped frames step < 1 s. 2 s separates them.
    timestamp_jump_s: float = _p(2.0, 0.1, 3600.0, "gap between consecutive video packet timestamps that counts as a jump")
    # Mean luma (0-255) of the frame reduced to 64x36. Real clips in ../shared/data: 17-106 (17: a
    # dark theatre stage in short_hamilton_clip.mp4); black fades in Megamind.avi: 0; synthetic lost
    # signal (luma 8 + noise, tests/test_video_blank.py): 5.5. 12 keeps dark scenes out.
    black_luma_max: float = _p(12.0, 1.0, 128.0, "mean luma (0-255) at or below which a frame is black")
    # Std of luma of the frame reduced to 64x36 (area average removes sensor noise). Real clips in
    # ../shared/data: 19.6-56; synthetic covered lens (flat 70 + gain noise sigma 6): 0.95.
    uniform_luma_std_max: float = _p(6.0, 0.5, 64.0, "std of luma (0-255, 64x36 frame) at or below which a frame is near-uniform (lens covered)")
    # Share of the 8x6-pixel blocks of the 64x36 reduction with a std at or below uniform_luma_std_max
    # above which the lens counts as partly covered (a hand or paper over most of it). Measured: real
    # clips in ../shared/data at most 0.48 (dark theatre stage, short_hamilton_clip.mp4) apart from
    # black fades (black first); a generated classroom 0.10; a hand over 80% of the lens 0.77.
    covered_min_share: float = _p(0.7, 0.3, 1.0, "share of featureless blocks above which the lens counts as partly covered")
    # Mean absolute luma difference between consecutive samples on a 320 px wide frame. Measured on
    # the synthetic test videos (x264 ultrafast, crf 23): a frozen picture 0.0-1.6 (x264 refines a
    # repeated picture over its first 3-4 GOPs, then repeats it exactly); a static empty room with
    # sensor noise sigma 2: 2.0, sigma 4: 4.1; people moving: 5.7-7. 1.0 catches a freeze within
    # ~3 samples of its start and leaves a 2x margin to the quietest live camera measured.
    freeze_mean_diff_max: float = _p(1.0, 0.0, 32.0, "mean abs luma difference (320 px frame) at or below which two samples are the same picture")
    # ... and no region moved: largest mean abs luma difference over the 8x8-pixel blocks of the 320 px frame
    # (top and bottom tenth left out: burnt-in clock). Measured 10 s apart: a frozen picture 0.0-1.9 (x264
    # refining the repeated picture at crf 28-35, 320-1280 px; then 0.0); live classes whose mean difference is
    # below 1.0 (no noise left after encoding): the sample class 8.0 at the least (sample_data, every session),
    # a quiet generated class (tools/synth/footage.py activity 0.25, no teacher, no noise) 5.8 over 5 seeds
    # (benchmarks/results/video_bench.md, where frozen samples reach 0.48). 3.0 sits between, with a 1.6x margin
    # to the freeze and 1.9x to the quietest live class.
    freeze_block_diff_max: float = _p(3.0, 0.0, 255.0, "largest 8x8-block mean abs luma difference (320 px frame) at or below which two samples are the same picture")
    # Stretches shorter than this are not reported: a camera switching input or an auto-iris
    # adjustment blacks out for a few seconds. The pack's RECORDING_BLANK tolerance (minutes) applies on top.
    min_blank_s: float = _p(5.0, 0.0, 3600.0, "shortest blank stretch reported (seconds, sample to sample)")
    # Fingerprint image: luma reduced (area average) to this size. 32x18 keeps room layout and people
    # while removing noise and codec detail; 576 values, stored as float16 (1.2 kB a sample).
    fingerprint_width_px: int = _p(32, 8, 128, "fingerprint image width (pixels)")
    fingerprint_height_px: int = _p(18, 4, 72, "fingerprint image height (pixels)")
    # Fingerprints are sampled this often by the shared decode pass (blank detection and faces are
    # thinned to their own intervals). Two encodes of one source, cut anywhere, then have samples
    # within half this (plus keyframe placement) of the same moments. Each sample costs one keyframe
    # decode reduced to 160 px; see benchmarks/results/video_bench.md for the speed at 3 s.
    fingerprint_interval_s: float = _p(3.0, 0.2, 600.0, "seconds between fingerprint samples (reused-footage detection)")
    # Fine-detail signature = fingerprint minus its local temporal mean over +/- this window. The
    # room, the seating and slow drift (lighting, people settling) cancel; what changed within
    # seconds remains. Two real sessions of one class in the same seats look alike in slow drift
    # (issue 15 measured false matches at 0.78-0.86 with a 60 s window), not in fine detail.
    motion_window_s: float = _p(10.0, 2.0, 1800.0, "half-width of the temporal window whose mean is removed to get the fine-detail signature")
    # RMS of a fine-detail signature (per-frame normalised units) below which a sample carries no
    # information (nothing changed within the window).
    reuse_min_motion_rms: float = _p(0.1, 0.0, 2.0, "motion energy below which a sample cannot prove reuse")
    # Cosine similarity of paired fine-detail signatures at or above which two samples show the same
    # moment (see benchmarks/results/video_bench.md for the distributions).
    reuse_min_similarity: float = _p(0.6, 0.0, 1.0, "fine-detail similarity at or above which two samples show the same moment")
    # The pair's best offset must beat its best offset elsewhere (more than 2 windows away) by this
    # much, in mean similarity over a window of reuse_min_run_s (benchmarks/results/video_bench.md).
    reuse_min_margin: float = _p(0.3, 0.0, 2.0, "how far the best time offset of a pair must stand above its best other offset")
    # Cosine similarity of the recordings' median images: the cheap filter that keeps only pairs
    # of recordings showing the same view (the same camera) for the expensive comparison. Same
    # room, any day, rescaled or re-lit: 0.99-1.0 (tests/test_video_reuse.py); 0.7 leaves room for
    # a camera nudged between days, and a pair wrongly kept only costs time, not a false finding.
    reuse_candidate_min_similarity: float = _p(0.7, -1.0, 1.0, "median-image similarity needed before two recordings are compared in detail")
    # Reused footage stands in for a session: minutes of it. One person doing the same thing in the same
    # seat twice (looking down) matched for 60 s at 0.78-0.81 in generated classes (benchmarks/accuracy.py,
    # seed 11), so a run must last 3 minutes with 6 matching samples.
    reuse_min_run_s: float = _p(180.0, 1.0, 36000.0, "shortest matching run reported as reused footage (seconds)")
    # Samples without motion neither prove nor break a run, but only so far: two different 45-min generated
    # sessions matched at 4 informative samples strung over 640 s of motionless ones (similarity 0.69,
    # benchmarks/accuracy.py). Reused footage with people in it matches every sample or two.
    reuse_max_match_gap_s: float = _p(120.0, 1.0, 36000.0, "longest time between two matching samples of one run (seconds)")
    # Samples paired 1-2 s apart disagree where something moved fast in between (the teacher walking):
    # reused footage matched 60-90% of its informative pairs in benchmarks/bench_video.py, so a stretch
    # needs half of them to match.
    reuse_min_match_fraction: float = _p(0.5, 0.0, 1.0, "share of a run's informative sample pairs that must match")
    # At least this many informative, matching samples in a run (a run of near-static samples is
    # not proof).
    reuse_min_matching_samples: int = _p(6, 2, 10000, "fewest matching informative samples in a reported run")

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            if (why := out_of_bounds(getattr(self, f.name), f.metadata)) is not None:
                problems.append(f"{f.name}: {why}")
        if problems:
            raise ValueError("invalid VideoParams: " + "; ".join(problems))
