"""Long recordings in time chunks, analysed on several workers and joined into the whole file's analysis.

Work is split one recording per worker; a 3-hour camera file alone would keep one core busy (issue 19).
`plan_chunks` cuts a long file into spans of about `VideoParams.chunk_s`; each span is one task. Each
chunk's pass starts one face-sampling interval before its span (the lead-in) and ends at the span's end,
sample included, so that every sample of the span sees what the whole-file pass would show it:

- blank detection labels a sample against the one before it (a frozen picture), and relabels the one
  before when it froze: a chunk sees the sample before its span and the first sample after it;
- the face pass carries identities from the previous sample's boxes: the lead-in sample gives it tracks;
- span edges are multiples of every consumer's interval, so the samples fall on the whole file's grid.

`join_chunks` keeps each chunk's samples inside its own span and joins them: blank stretches are found
over the joined labels, fingerprints are concatenated, face results are concatenated with their unknown
faces renumbered, and faces that are pictures are taken out over the whole file (a poster is still for
the whole recording, not for one chunk). What can differ from one whole-file pass: a face tracked across
a seam is encoded afresh at the lead-in (identity and distance from that encoding), and an unknown face
seen on both sides of a seam is listed once per chunk (its encodings then cluster together).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from pipeline.recording_task import (RecordingAnalysis, RecordingChunk, RecordingTask, cache_path, scan_intervals,
                                     store_cached)
from pipeline.video.blank import stretches_from_labels
from pipeline.video.probe import ProbeResult
from pipeline.video.reuse import Fingerprint

Span = tuple[float, "float | None"]


def grid_s(intervals: Sequence[float]) -> float:
    """The shortest period on which every interval's samples repeat (their least common multiple, in ms)."""
    ms = [Fraction(round(i * 1000)) for i in intervals if i > 0]
    if not ms:
        return 1.0
    lcm = int(ms[0])
    for m in ms[1:]:
        lcm = lcm * int(m) // math.gcd(lcm, int(m))
    return lcm / 1000.0


def plan_chunks(probe: ProbeResult, chunk_s: float, intervals: Sequence[float]) -> tuple[Span, ...]:
    """(start_s, end_s) spans covering the file (the last one open-ended), or () when it is not longer
    than 1.5 chunks (or chunk_s is 0). Edges are multiples of `grid_s(intervals)`."""
    length_s = probe.footage_s or probe.duration_s or 0.0
    if chunk_s <= 0 or length_s <= 1.5 * chunk_s:
        return ()
    grid = grid_s(intervals)
    step = max(grid, round(chunk_s / grid) * grid)
    count = max(1, round(length_s / step))
    edges = [i * step for i in range(count)]
    return tuple((a, b) for a, b in zip(edges, [*edges[1:], None]))


def lead_in_s(intervals: Sequence[float]) -> float:
    """How far before its span a chunk's pass starts: the longest interval, rounded up to the grid."""
    grid = grid_s(intervals)
    return math.ceil(max(intervals) / grid) * grid


def chunk_task(task: RecordingTask, probe: ProbeResult, span: Span, intervals: Sequence[float]) -> RecordingTask:
    """The task of one chunk: its pass starts `lead_in_s` before the span (see the module's docstring)."""
    import dataclasses

    start = max(0.0, span[0] - lead_in_s(intervals))
    return dataclasses.replace(task, span=(start, span[1]), probe=probe, may_split=False)


def _inside(offset_s: float, span: Span) -> bool:
    return offset_s >= span[0] - 1e-6 and (span[1] is None or offset_s < span[1] - 1e-6)


def join_chunks(plan: RecordingAnalysis, spans: Sequence[Span], chunks: Sequence[RecordingChunk],
                task: RecordingTask) -> RecordingAnalysis:
    """The whole file's analysis from its chunks (in span order); `plan` is the planning task's answer."""
    blank_samples, offsets, vectors = [], [], []
    face_parts, samples, errors, timings = [], 0, [], dict(plan.timings_s)
    for span, chunk in zip(spans, chunks):
        blank, fingerprint, face = (*chunk.parts, None)[:3]
        blank_samples += [s for s in blank if _inside(s.offset_s, span)]
        keep = np.array([_inside(t, span) for t in fingerprint.offsets_s], bool)
        offsets.append(fingerprint.offsets_s[keep])
        vectors.append(fingerprint.vectors[keep])
        samples += int(keep.sum())  # every decoded sample feeds the fingerprint
        if face is not None:
            face_parts.append((span, face))
        if chunk.scan_error:
            errors.append(f"{span[0]:.0f} s onwards: {chunk.scan_error}")
        timings["scan_s"] = timings.get("scan_s", 0.0) + chunk.timings_s.get("scan_s", 0.0)
    p = task.video
    dim = p.fingerprint_width_px * p.fingerprint_height_px
    fingerprint = Fingerprint(plan.probe.path, np.concatenate(offsets) if offsets else np.zeros(0),
                              np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float16),
                              plan.probe.sha256)
    blanks = tuple(stretches_from_labels(blank_samples, p.min_blank_s))
    faces = _join_faces(face_parts, task.faces) if task.gallery is not None else None
    first = chunks[0] if chunks else None
    return RecordingAnalysis(
        class_id=plan.class_id, path=plan.path, probe=plan.probe, samples=samples,
        scan_error="; ".join(errors) or None, blanks=blanks, fingerprint=fingerprint, faces=faces,
        enrollment_problems=first.enrollment_problems if first else (),
        enrollment_pairs=first.enrollment_pairs if first else (), timings_s=timings, recording_id=plan.recording_id)


def _join_faces(parts: Sequence[tuple[Span, tuple[Any, list]]], params) -> Any:
    import dataclasses

    from pipeline.faces import pictured
    from pipeline.faces.video import VideoFaceResult

    headcount, sightings, encodings, snapshots, seen, encoded = [], [], [], [], [], 0
    for span, (raw, chunk_seen) in parts:
        kept = [s for s in raw.sightings if _inside(s.offset_s, span)]
        # unknown faces renumbered: those this chunk's kept sightings show, after the earlier chunks' ones
        used = sorted({s.unknown_index for s in kept if s.unknown_index is not None})
        new_index = {old: len(encodings) + k for k, old in enumerate(used)}
        encodings += [raw.unknown_encodings[k] for k in used]
        snapshots += [raw.unknown_snapshots[k] for k in used]
        sightings += [s if s.unknown_index is None else dataclasses.replace(s, unknown_index=new_index[s.unknown_index])
                      for s in kept]
        headcount += [r for r in raw.headcount if _inside(r.offset_s, span)]
        seen += [f for f in chunk_seen if _inside(f[0], span)]
        encoded += raw.encoded_faces
    dim = parts[0][1][0].unknown_encodings.shape[1] if parts else 128
    joined = VideoFaceResult(tuple(headcount), tuple(sightings),
                             np.asarray(encodings, np.float32).reshape(-1, dim), tuple(snapshots), encoded)
    return pictured.exclude_pictures(joined, seen, params)


def chunk_tasks(task: RecordingTask, plan: RecordingAnalysis) -> list[RecordingTask]:
    """One task per chunk of `plan` (a planning task's answer: `plan.chunks`)."""
    intervals = scan_intervals(task)[1:]
    return [chunk_task(task, plan.probe, span, intervals) for span in plan.chunks]


def finish_chunks(task: RecordingTask, plan: RecordingAnalysis,
                  results: Sequence[RecordingChunk | RecordingAnalysis]) -> RecordingAnalysis:
    """The file's analysis from its chunks' results (in chunk order), cached like a whole-file pass. A chunk
    whose task failed (a RecordingAnalysis with its error) fails the file, with that chunk's reason."""
    for span, result in zip(plan.chunks, results):
        if not isinstance(result, RecordingChunk):
            reason = f"chunk from {span[0]:.0f} s: {result.error or result.probe.error}"
            return RecordingAnalysis(class_id=task.class_id, path=task.path, probe=result.probe, error=reason,
                                     recording_id=task.recording_id)
    analysis = join_chunks(plan, plan.chunks, results, task)  # type: ignore[arg-type]
    store_cached(cache_path(task, plan.probe.sha256), analysis)
    return analysis
