"""Speed of the whole face pass on a classroom-like 1080p 25 fps H.264 recording.

Builds the recording in a temporary folder (never in the repo): 40 seats on a grid, faces taken from
../shared/data pasted at 25-60 px, people leaving and coming back every few minutes; each scene is a
still held by ffmpeg (libx264, GOP 2 s). Then, in the same run: the cheapest decode of the same samples
(seek to keyframe, decode one frame: pipeline.video.sample.sample_frames alone) and the whole face pass
(sampling + detection + encoding + matching against a 40-person gallery), first in one process whose
libraries may use every core, then as the audit runs it: one worker process per core, one compute thread
each, every worker on a recording. Both encoders (faces.encoder: sface, the default, and dlib, the
baseline) in the same run on the same recording. Reports wall and CPU seconds, real-time factors, each
encoder's CPU per face and peak memory; writes benchmarks/results/faces_speed.md.

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

from pipeline.config import RunParams
from pipeline.faces.adapter import detect_faces, encode_faces
from pipeline.faces.gallery import Gallery
from pipeline.faces.images import read_image
from pipeline.faces.params import FaceParams
from pipeline.faces.video import VideoFacePass
from pipeline.ops.worker import tune_allocator
from pipeline.video.sample import sample_frames

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "faces_speed.md"
SEATS = 40
SCENE_S = 60
# The allocator thresholds an audit's decoding children set (RunParams defaults, pipeline/ops/worker.py).
_RUN = RunParams()
PIPELINE_MALLOC = (_RUN.malloc_mmap_threshold_bytes, _RUN.malloc_trim_threshold_bytes)


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


def _worker_pass(video: str, gallery_photos: dict[str, list[str]], encoder: str) -> tuple[float, float, int]:
    """One pool worker's face pass over the whole recording: (wall s, CPU s, samples). Gallery built first,
    outside the timing, as the pipeline builds it once per class."""
    params = FaceParams(encoder=encoder)
    gallery = Gallery.from_photos(gallery_photos, params, strict=False)

    def run():
        face_pass = VideoFacePass(gallery, params)
        for frame in sample_frames(Path(video), params.sample_interval_s):
            face_pass.feed(frame)
        return len(face_pass.result().headcount)

    samples, wall, cpu = timed(run)
    return wall, cpu, samples


def machine_throughput(video: Path, gallery_photos: dict[str, list[Path]], workers: int,
                       encoder: str, malloc: tuple[int, int]) -> tuple[float, list]:
    """The pipeline's layout: `workers` processes, one compute thread each (audit.one_thread_per_worker),
    with the allocator thresholds ``malloc`` (the run settings' defaults are what the audit's decoding
    children set; (0, 0) is glibc's defaults), each analysing a recording (here the same one): wall seconds
    for all of them, and each one's figures."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.ops.worker import one_thread_per_worker

    photos = {k: [str(p) for p in v] for k, v in gallery_photos.items()}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=one_thread_per_worker) as pool:
        list(pool.map(_warm, [encoder] * workers, [malloc] * workers))  # start the workers and load the models outside the timing
        t0 = time.perf_counter()
        per_task = list(pool.map(_worker_pass, [str(video)] * workers, [photos] * workers, [encoder] * workers))
        return time.perf_counter() - t0, per_task


def _warm(encoder: str, malloc: tuple[int, int]) -> None:
    from pipeline.faces.adapter import _models

    tune_allocator(*malloc)
    models = _models()
    if encoder == "sface":
        models.sface()
    else:
        models.resnet()


def measure(video: Path, gallery_photos: dict[str, list[Path]], encoder: str, duration_s: float) -> dict:
    params = FaceParams(encoder=encoder)
    gallery = Gallery.from_photos(gallery_photos, params, strict=False)
    face_pass = VideoFacePass(gallery, params)

    def run():
        for frame in sample_frames(video, params.sample_interval_s):
            face_pass.feed(frame)
        return face_pass.result()

    result, wall, cpu = timed(run)
    frames = [f for _, f in zip(range(5), sample_frames(video, params.sample_interval_s))]
    dets = [detect_faces(f.image_bgr, params) for f in frames]
    encode_faces(frames[0].image_bgr, dets[0], params)  # model loaded outside the timing
    _, enc_wall, enc_cpu = timed(lambda: [encode_faces(f.image_bgr, d, params) for f, d in zip(frames, dets)])
    n_faces = sum(len(d) for d in dets)
    workers = os.cpu_count() or 1
    machine_wall, per_task = machine_throughput(video, gallery_photos, workers, encoder, PIPELINE_MALLOC)
    glibc = machine_throughput(video, gallery_photos, workers, encoder, (0, 0)) if encoder == "sface" else None
    return {"glibc": glibc, "params": params, "result": result, "wall": wall, "cpu": cpu, "enc_wall": enc_wall / n_faces,
            "enc_cpu": enc_cpu / n_faces, "enc_faces": n_faces, "machine_wall": machine_wall, "per_task": per_task,
            "workers": workers, "duration_s": duration_s}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    tune_allocator(*PIPELINE_MALLOC)  # as the audit's decoding children do where the face pass runs
    params = FaceParams()
    rng = np.random.default_rng(7)
    crops = face_crops()
    duration_s = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "R201-A_20241008082957.mp4"
        _, build_s, _ = timed(lambda: build_video(video, args.minutes, crops, rng))
        gallery_photos = {}
        for k, crop in enumerate(crops):
            p = Path(tmp) / f"S{k:03d}.png"
            cv2.imwrite(str(p), cv2.resize(crop, (crop.shape[1] * 3, crop.shape[0] * 3)))
            gallery_photos[f"S{k:03d}"] = [p]
        n, dec_wall, dec_cpu = timed(lambda: sum(1 for _ in sample_frames(video, params.sample_interval_s)))
        frame = next(iter(sample_frames(video, params.sample_interval_s)))
        _, det_wall, det_cpu = timed(lambda: [detect_faces(frame.image_bgr, params) for _ in range(5)])
        runs = {enc: measure(video, gallery_photos, enc, duration_s) for enc in ("sface", "dlib")}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    encs = list(runs)
    load = os.getloadavg()

    def row(label: str, fn) -> str:
        return f"| {label} | " + " | ".join(fn(runs[e]) for e in encs) + " |"

    lines = [
        "# Face pass speed on a classroom-like 1080p 25 fps H.264 recording\n",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared (load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}: wall times include waiting for other users' work, CPU "
        f"seconds do not). Recording: {args.minutes} min, {SEATS} seats, faces 25-60 px, ~15% away each minute; "
        f"built in {build_s:.0f} s. Defaults: sample every {params.sample_interval_s:g} s, track IoU "
        f"{params.track_iou}, re-encode every {params.reencode_every_s:g} s. Both encoders in this run, on the "
        "same recording: sface (the default) and dlib (ResNet, numpy runtime, the baseline).\n",
        f"Shared by both: {n} samples; cheapest decode of the samples (seek + decode one frame) wall / CPU "
        f"{dec_wall:.1f} / {dec_cpu:.1f} s; YuNet detection of one 1080p frame wall / CPU {det_wall / 5:.3f} / "
        f"{det_cpu / 5:.3f} s.\n",
        f"## One recording in one process (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}: "
        "YuNet's OpenMP may use every core)\n",
        "| measure | " + " | ".join(encs) + " |", "|---|" + "---|" * len(encs),
        row("whole face pass, wall / CPU s", lambda r: f"{r['wall']:.1f} / {r['cpu']:.1f}"),
        row("real-time factor, wall (video s / wall s)", lambda r: f"{duration_s / r['wall']:.0f}x"),
        row("real-time factor, CPU (video s / CPU s)", lambda r: f"{duration_s / r['cpu']:.0f}x"),
        row("encoding one face (5 samples' faces), wall / CPU ms",
            lambda r: f"{r['enc_wall'] * 1000:.1f} / {r['enc_cpu'] * 1000:.1f} ({r['enc_faces']} faces)"),
        row("faces encoded / sightings", lambda r: f"{r['result'].encoded_faces} / {len(r['result'].sightings)}"),
        row("encoding share of the pass's CPU (faces encoded x CPU per face)",
            lambda r: f"{r['result'].encoded_faces * r['enc_cpu'] / r['cpu']:.0%}"),
        row(f"faces per sample: median (seated ~{int(SEATS * 0.85)})",
            lambda r: f"{np.median([h.faces for h in r['result'].headcount]):.0f}"),
        row("identified per sample: median", lambda r: f"{np.median([h.identified for h in r['result'].headcount]):.0f}"),
        "",
        f"Peak memory of the benchmark process (max RSS): {peak_mb:.0f} MB.\n",
        f"## The machine: {runs[encs[0]]['workers']} worker processes, one compute thread each (the audit's "
        "default layout)\n",
        "Each worker runs the whole face pass over its own copy of the hour, as an audit of several recordings does, "
        "with the allocator thresholds the audit's decoding children set (run.malloc_*_threshold_bytes).\n",
        "| measure | " + " | ".join(encs) + " |", "|---|" + "---|" * len(encs),
        row("wall s for all workers x the recording", lambda r: f"{r['machine_wall']:.1f}"),
        row("video-hours per wall-hour (real-time factor of the machine)",
            lambda r: f"{r['workers'] * duration_s / r['machine_wall']:.0f}x"),
        row("per worker: wall / CPU s", lambda r: ", ".join(f"{w:.1f} / {c:.1f}" for w, c, _ in r["per_task"])),
        row("per core: real-time factor (video s / CPU s)",
            lambda r: f"{duration_s * r['workers'] / sum(c for _, c, _ in r['per_task']):.0f}x"),
        row("one hour of video on this machine, from CPU s (2 cores busy)",
            lambda r: f"{3600 * sum(c for _, c, _ in r['per_task']) / (r['workers'] * duration_s) / r['workers']:.1f} s"),
    ]
    base = runs["sface"]
    if base["glibc"] is not None:
        g_wall, g_tasks = base["glibc"]
        g_cpu, t_cpu = sum(c for _, c, _ in g_tasks), sum(c for _, c, _ in base["per_task"])
        lines += [
            "",
            "Baseline in the same run: the same sface machine layout with glibc's allocator defaults (the "
            f"thresholds (0, 0)) instead of the audit's {PIPELINE_MALLOC[0] >> 20} MiB mmap / "
            f"{PIPELINE_MALLOC[1] >> 20} MiB trim thresholds: wall {g_wall:.1f} s "
            f"({base['workers'] * duration_s / g_wall:.0f}x), CPU {g_cpu:.1f} s "
            f"({duration_s * base['workers'] / g_cpu:.0f}x per core); the audit's thresholds use "
            f"{t_cpu / g_cpu:.2f}x its CPU.",
        ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
