"""Frames -> landmarks for a whole recording, as fast as two CPU cores allow.

A recording is cut into ``workers`` consecutive chunks that are analysed at the same time,
each by its own decoder and its own MediaPipe landmarkers (MediaPipe and OpenCV release
the GIL, so threads run truly in parallel). Each chunk after the first starts
``warmup_s`` early and throws those frames away, so its trackers and MediaPipe's internal
landmark smoothing have settled by the time its own frames begin.

MediaPipe's tracking does not converge to the very same pixels, so after a boundary the
angles differ from a single pass by about the model's own noise (``romcam bench`` reports the
largest difference; for feet, whose angles move 1.4 deg for a one-pixel shift of the image,
single frames can differ by a degree or two while rep peaks stay within about 1 deg). Measured
alternative, kept out: one pass with the face model beside the pose model gives identical
landmarks but only 1.46x (the full pose model alone takes 17 ms a frame and cannot be split).

Head joints run the pose model on every ``HEAD_POSE_EVERY``-th frame only; in between, a
recording's pose is interpolated from the poses before and after (``interpolate_held_poses``).
Each frame's record keeps no face mesh (``FrameLandmarks.without_mesh``), so a long recording
costs 1-2 KB a frame (docs/validation/speed.md).

Live sources cannot be cut in chunks; they go through :class:`LandmarkDetector` frame by
frame, the pose model on a thread of its own that no frame waits for (``pose_behind``; see
``romcam.session.runner``).
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from romcam.capture.landmarks import FrameLandmarks, LandmarkDetector
from romcam.capture.models import FACE_SPEC, pose_spec, resolve_model
from romcam.capture.sources import FrameSource, SourceInfo, open_source
from romcam.errors import RomcamError

MIN_CHUNK_FRAMES = 90
# Head joints need the pose model only for the shoulders, which are read at rest: it runs on
# every 3rd frame. Measured with `romcam bench` on the 1080p neck clip: 2.55x the plain loop
# (1.4x with the pose on every frame); with the poses in between interpolated and the trunk
# reference averaged over 6 s (romcam.measure.series.reference_series), the largest angle
# difference is 0.38 deg wherever the chunks split (0.94 deg with a reference read at rest, 1.10
# with the poses held); docs/validation/speed.md.
HEAD_POSE_EVERY = 3
PREFETCH_FRAMES = 4   # frames decoded ahead of inference, per chunk


@dataclass(frozen=True)
class ModelChoice:
    pose: Path
    face: Path | None
    pose_variant: str

    @classmethod
    def resolve(cls, variant: str, needs_face: bool, model_dir=None, progress: bool = True) -> ModelChoice:
        pose = resolve_model(pose_spec(variant), model_dir, progress=progress)
        face = resolve_model(FACE_SPEC, model_dir, progress=progress) if needs_face else None
        return cls(pose, face, variant)

    def detector(self, parallel: bool = False, pose_every: int | None = None,
                 pose_behind: bool = False) -> LandmarkDetector:
        """``pose_every``: run the pose model on every n-th frame only (default: HEAD_POSE_EVERY
        when the face model runs, since head joints need the pose only for the shoulders).
        ``pose_behind``: live, the pose runs on its own thread and is never waited for."""
        if pose_every is None:
            pose_every = HEAD_POSE_EVERY if self.face is not None else 1
        return LandmarkDetector(self.pose, self.face, parallel=parallel, pose_every=pose_every,
                                pose_behind=pose_behind)


def prefetched(frames, depth: int = PREFETCH_FRAMES):
    """The frames of an iterable, decoded on a thread of their own up to ``depth`` ahead, so that
    decoding overlaps with inference (OpenCV releases the GIL while it decodes). An exception
    in the decoder is raised here."""
    done = object()
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:     # handed to the consumer
            q.put(exc)

    worker = threading.Thread(target=produce, name="romcam-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5.0)


def interpolate_held_poses(records: list[FrameLandmarks]) -> list[FrameLandmarks]:
    """Where the pose model skipped frames (``pose_fresh`` False: the last pose held), the pose
    interpolated linearly in time between the fresh poses before and after (a recording knows
    the next one; live, the held pose stays). Measured on the 1080p neck clip against the pose on
    every frame: largest angle difference 1.10 deg with the pose held, 0.94 interpolated."""
    out = list(records)
    fresh = [k for k, lm in enumerate(records) if lm.pose_fresh]
    for a, b in zip(fresh[:-1], fresh[1:]):
        before, after = records[a], records[b]
        if b - a < 2 or before.pose is None or after.pose is None:
            continue
        span = after.t_s - before.t_s
        for k in range(a + 1, b):
            w = (records[k].t_s - before.t_s) / span if span > 0 else 0.0
            out[k] = dataclasses.replace(records[k], pose=(1.0 - w) * before.pose + w * after.pose)
    return out


def _run_chunk(spec, models: ModelChoice, mirrored: bool, start: int, keep_from_s: float, stop_s: float,
               bar: tqdm | None, lock: threading.Lock, on_frame: Callable[[], None] | None = None) -> list[FrameLandmarks]:
    """The landmarks of the frames timed in [keep_from_s, stop_s), read from frame ``start``."""
    out: list[FrameLandmarks] = []
    with open_source(spec, mirrored=mirrored, start=start) as source, models.detector() as det, \
            closing(prefetched(source)) as frames:
        for frame in frames:
            if frame.t_s >= stop_s:
                break
            lm = det.detect(frame.index, frame.t_s, frame.image)
            out.append(lm.without_mesh())    # ~1-2 KB a frame kept (not 12: no face mesh)
            if bar is not None and frame.t_s >= keep_from_s:
                with lock:
                    bar.update(1)
                    if on_frame is not None:
                        on_frame()
    return [lm for lm in interpolate_held_poses(out) if lm.t_s >= keep_from_s]


def _boundary_s(frame: int | None, fps: float, default: float) -> float:
    """The time between frame ``frame - 1`` and frame ``frame`` at the nominal rate."""
    return default if not frame else (frame - 0.5) / (fps or 30.0)


def chunk_plan(frame_count: int | None, fps: float, workers: int, warmup_s: float = 1.0):
    """(start, stop, keep_from) per chunk; one chunk when the length is unknown or short. The
    frames are numbers at the nominal rate: a chunk is read from the frame a seek to ``start``
    finds and keeps the frames timed from ``keep_from`` to ``stop`` at that rate, so that every
    frame of a variable-rate file (where a frame's number is not its time times the rate) falls
    in one chunk, once."""
    if not frame_count or workers <= 1 or frame_count < workers * MIN_CHUNK_FRAMES:
        return [(0, None, 0)]
    warmup = int(round(warmup_s * (fps or 30.0)))
    bounds = [round(k * frame_count / workers) for k in range(workers)] + [None]
    return [(max(0, b - warmup), e, b) for b, e in zip(bounds[:-1], bounds[1:])]


def extract_landmarks(spec, models: ModelChoice, *, mirrored: bool = False, workers: int = 2,
                      progress: bool = True, on_progress: Callable[[int, int | None], None] | None = None,
                      ) -> tuple[list[FrameLandmarks], SourceInfo]:
    """Landmarks for every frame of a video file or image folder (in frame order).
    ``on_progress(done, total)``: called after each frame (from a worker thread; ``total`` is the
    header's frame count, None when unknown), whether or not the progress bar shows."""
    with open_source(spec, mirrored=mirrored) as probe:
        info = probe.info
    if info.live:
        raise RomcamError("extract_landmarks reads recordings; live cameras go through `romcam session`")
    plan = chunk_plan(info.frame_count, info.fps, workers)
    lock = threading.Lock()
    done = 0

    def on_frame() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, info.frame_count)
    with tqdm(total=info.frame_count, unit="frame", desc="landmarks", disable=not progress,
              leave=False) as bar:
        with ThreadPoolExecutor(max_workers=len(plan), thread_name_prefix="romcam-chunk") as pool:
            futures = [pool.submit(_run_chunk, spec, models, mirrored, start,
                                   _boundary_s(keep, info.fps, -math.inf), _boundary_s(stop, info.fps, math.inf),
                                   bar, lock, on_frame)
                       for start, stop, keep in plan]
            chunks = [f.result() for f in futures]
    out = [lm for chunk in chunks for lm in chunk]
    if any(lm.index != k for k, lm in enumerate(out)):      # a variable frame rate: chunk indices guessed
        out = [dataclasses.replace(lm, index=k) for k, lm in enumerate(out)]
    return out, info


def landmarks_from_source(source: FrameSource, detector: LandmarkDetector):
    """Frame-by-frame landmarks from any source (the simple, single-threaded path)."""
    for frame in source:
        yield frame, detector.detect(frame.index, frame.t_s, frame.image)
