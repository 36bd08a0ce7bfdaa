"""Speed of the whole face pass on a classroom-like 1080p 25 fps H.264 recording.

Builds the recording in a temporary folder (never in the repo): 40 seats on a grid, faces taken from
../shared/data pasted at 25-60 px, people leaving and coming back every few minutes; each scene is a
still held by ffmpeg (libx264, GOP 2 s). Then, in the same run: the cheapest decode of the same samples
(seek to keyframe, decode one frame: pipeline.video.sample.sample_frames alone) and the whole face pass
(sampling + detection + encoding + matching against a 40-person gallery), first in one process whose
libraries may use every core, then as the audit runs it: one worker process per core, one compute thread
each, every worker on a recording. Reports wall and CPU seconds, real-time factors and peak memory; writes
benchmarks/results/faces_speed.md.

    .venv/bin/python benchmarks/bench_faces_speed.py [--minutes 60]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
import platform
import resource
import subprocess
import tempfile
import time

import cv2
import numpy as np

from pipeline.faces.adapter import detect_faces
from pipeline.faces.gallery import Gallery
from pipeline.faces.images import read_image
from pipeline.faces.params import FaceParams
from pipeline.faces.video import VideoFacePass
from pipeline.video.sample import sample_frames

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "faces_speed.md"
SEATS = 40
SCENE_S = 60


def face_crops() -> list[np.ndarray]:
    crops = []
    for rel in ("ultra_light_face/imgs/10.jpg", "ultra_light_face/imgs/11.jpg", "ultra_light_face/imgs/15.jpg"):
        img = read_image(DATA / rel)
        for x, y, w, h in detect_faces(img, FaceParams()).boxes_xywh:
            pad = w // 3
            crops.append(img[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad].copy())
    assert len(crops) >= SEATS, len(crops)
    return crops[:SEATS]


def classroom_frame(crops: list[np.ndarray], sizes, seats, present) -> np.ndarray:
    """One 1080p scene: the present seats' faces pasted at their sizes (face side in px) on a plain room."""
    frame = np.full((1080, 1920, 3), (180, 175, 170), np.uint8)
    cv2.rectangle(frame, (0, 900), (1920, 1080), (90, 80, 70), -1)  # desks
    for k in np.flatnonzero(present):
        s = int(sizes[k] * 1.6)
        x, y = seats[k]
        frame[y:y + s, x:x + s] = cv2.resize(crops[k], (s, s))
    return frame


def build_video(path: Path, minutes: int, crops: list[np.ndarray], rng) -> None:
    work = path.parent
    sizes = rng.integers(25, 61, SEATS)  # face side in px, as a classroom camera sees them
    seats = [(140 + (k % 10) * 170, 260 + (k // 10) * 190) for k in range(SEATS)]
    lines = []
    for scene in range(max(1, minutes * 60 // SCENE_S)):
        present = rng.random(SEATS) > 0.15  # about 15% away in any minute
        frame = classroom_frame(crops, sizes, seats, present)
        img = work / f"scene{scene:04d}.png"
        cv2.imwrite(str(img), frame)
        lines += [f"file '{img.name}'", f"duration {SCENE_S}"]
    lines.append(lines[-2])
    (work / "scenes.txt").write_text("\n".join(lines) + "\n")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(work / "scenes.txt"),
                    "-r", "25", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
                    str(path)], check=True, cwd=work)


def timed(fn):
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    out = fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return out, time.perf_counter() - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def _worker_pass(video: str, gallery_photos: dict[str, list[str]]) -> tuple[float, float, int]:
    """One pool worker's face pass over the whole recording: (wall s, CPU s, samples). Gallery built first,
    outside the timing, as the pipeline builds it once per class."""
    params = FaceParams()
    gallery = Gallery.from_photos(gallery_photos, params, strict=False)

    def run():
        face_pass = VideoFacePass(gallery, params)
        for frame in sample_frames(Path(video), params.sample_interval_s):
            face_pass.feed(frame)
        return len(face_pass.result().headcount)

    samples, wall, cpu = timed(run)
    return wall, cpu, samples


def machine_throughput(video: Path, gallery_photos: dict[str, list[Path]], workers: int) -> tuple[float, list]:
    """The pipeline's layout: `workers` processes, one compute thread each (audit.one_thread_per_worker),
    each analysing a recording (here the same one): wall seconds for all of them, and each one's figures."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.audit import one_thread_per_worker

    photos = {k: [str(p) for p in v] for k, v in gallery_photos.items()}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=one_thread_per_worker) as pool:
        list(pool.map(_warm, range(workers)))  # start the workers and load the models outside the timing
        t0 = time.perf_counter()
        per_task = list(pool.map(_worker_pass, [str(video)] * workers, [photos] * workers))
        return time.perf_counter() - t0, per_task


def _warm(_: int) -> None:
    import numpy as np

    from pipeline.faces.adapter import detect_faces, encode_faces

    img = np.zeros((64, 64, 3), np.uint8)
    encode_faces(img, detect_faces(img, FaceParams()), FaceParams())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    params = FaceParams()
    rng = np.random.default_rng(7)
    crops = face_crops()
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "R201-A_20241008082957.mp4"
        _, build_s, _ = timed(lambda: build_video(video, args.minutes, crops, rng))
        gallery_photos = {}
        for k, crop in enumerate(crops):
            p = Path(tmp) / f"S{k:03d}.png"
            cv2.imwrite(str(p), cv2.resize(crop, (crop.shape[1] * 3, crop.shape[0] * 3)))
            gallery_photos[f"S{k:03d}"] = [p]
        gallery = Gallery.from_photos(gallery_photos, params, strict=False)
        duration_s = args.minutes * 60
        n, dec_wall, dec_cpu = timed(lambda: sum(1 for _ in sample_frames(video, params.sample_interval_s)))
        face_pass = VideoFacePass(gallery, params)

        def run():
            for frame in sample_frames(video, params.sample_interval_s):
                face_pass.feed(frame)
            return face_pass.result()

        result, wall, cpu = timed(run)
        frame = next(iter(sample_frames(video, params.sample_interval_s)))
        _, det_wall, _ = timed(lambda: [detect_faces(frame.image_bgr, params) for _ in range(5)])
        dets = detect_faces(frame.image_bgr, params)
        from pipeline.faces.adapter import encode_faces
        _, enc_wall, _ = timed(lambda: encode_faces(frame.image_bgr, dets, params))
        workers = os.cpu_count() or 1
        machine_wall, per_task = machine_throughput(video, gallery_photos, workers)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    faces = [r.faces for r in result.headcount]
    ident = [r.identified for r in result.headcount]
    lines = [
        "# Face pass speed on a classroom-like 1080p 25 fps H.264 recording\n",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. Recording: {args.minutes} min, "
        f"{SEATS} seats, faces 25-60 px, ~15% away each minute; built in {build_s:.0f} s. Defaults: sample every "
        f"{params.sample_interval_s:g} s, track IoU {params.track_iou}, re-encode every {params.reencode_every_s:g} s, "
        f"encoder runtime {params.encoder_runtime}.\n",
        f"## One recording in one process (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}: "
        "YuNet's OpenMP may use every core)\n",
        "| measure | value |", "|---|---|",
        f"| samples | {n} |",
        f"| cheapest decode of the samples (seek + decode one frame), wall / CPU s | {dec_wall:.1f} / {dec_cpu:.1f} |",
        f"| whole face pass, wall / CPU s | {wall:.1f} / {cpu:.1f} |",
        f"| real-time factor (video s / wall s) | {duration_s / wall:.0f}x |",
        f"| one hour of video would take (s) | {wall * 3600 / duration_s:.1f} |",
        f"| decode share of the face pass | {dec_wall / wall:.0%} |",
        f"| detection, one 1080p frame (s) / share of the pass | {det_wall / 5:.3f} / {det_wall / 5 * n / wall:.0%} |",
        f"| encoding, one face (s) / share of the pass | {enc_wall / max(len(dets), 1):.4f} / "
        f"{enc_wall / max(len(dets), 1) * result.encoded_faces / wall:.0%} |",
        f"| faces encoded / sightings | {result.encoded_faces} / {len(result.sightings)} |",
        f"| faces per sample: median (seated ~{int(SEATS * 0.85)}) | {np.median(faces):.0f} |",
        f"| identified per sample: median | {np.median(ident):.0f} |",
        f"| peak memory (max RSS, MB) | {peak_mb:.0f} |",
        "",
        f"## The machine: {workers} worker processes, one compute thread each (the audit's default layout)\n",
        f"Each worker runs the whole face pass over its own copy of the hour ({workers} video-hours in all), as "
        "an audit of several recordings does.\n",
        "| measure | value |", "|---|---|",
        f"| wall s for {workers} x {args.minutes} min | {machine_wall:.1f} |",
        f"| video-hours per wall-hour (real-time factor of the machine) | "
        f"{workers * duration_s / machine_wall:.0f}x |",
        f"| one hour of video on this machine takes (s) | {machine_wall * 3600 / (workers * duration_s):.1f} |",
        f"| per worker: wall / CPU s | " + ", ".join(f"{w:.1f} / {c:.1f}" for w, c, _ in per_task) + " |",
        f"| per core: real-time factor (video s / CPU s) | {duration_s * workers / sum(c for _, c, _ in per_task):.0f}x |",
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
