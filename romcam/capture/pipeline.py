"""Frames -> landmarks for a whole recording, as fast as two CPU cores allow.

A recording is cut into ``workers`` consecutive chunks that are analysed at the same time,
each by its own decoder and its own MediaPipe landmarkers (MediaPipe and OpenCV release
the GIL, so threads run truly in parallel). Each chunk after the first starts
``warmup_s`` early and throws those frames away, so its trackers and MediaPipe's internal
landmark smoothing have settled by the time its own frames begin.

MediaPipe's tracking does not converge to the very same pixels, so after a boundary the
angles differ from a single pass by about the model's own noise (``romcam bench`` reports the
largest difference: 0.6 deg on the 1080p neck clip; for feet, whose angles move 1.4 deg for a
one-pixel shift of the image, single frames can differ by several degrees while rep peaks
stay within about 1 deg). Measured alternative, kept out: one pass with the face model
beside the pose model gives identical landmarks but only 1.46x (the full pose model alone
takes 17 ms a frame and cannot be split), against 1.55x for two chunks.

Live sources cannot be cut in chunks; they go through :class:`LandmarkDetector` frame by
frame, with the face model beside the pose model (see ``romcam.session.runner``).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from romcam.capture.landmarks import FrameLandmarks, LandmarkDetector
from romcam.capture.models import FACE_SPEC, pose_spec, resolve_model
from romcam.capture.sources import FrameSource, SourceInfo, open_source
from romcam.errors import RomcamError

MIN_CHUNK_FRAMES = 90


@dataclass(frozen=True)
class ModelChoice:
    pose: Path
    face: Path | None
    pose_variant: str

    @classmethod
    def resolve(cls, variant: str, needs_face: bool, model_dir=None, progress: bool = True) -> "ModelChoice":
        pose = resolve_model(pose_spec(variant), model_dir, progress=progress)
        face = resolve_model(FACE_SPEC, model_dir, progress=progress) if needs_face else None
        return cls(pose, face, variant)

    def detector(self, parallel: bool = False) -> LandmarkDetector:
        return LandmarkDetector(self.pose, self.face, parallel=parallel)


def _run_chunk(spec, models: ModelChoice, mirrored: bool, start: int, stop: int | None,
               keep_from: int, bar: tqdm | None, lock: threading.Lock) -> list[FrameLandmarks]:
    out: list[FrameLandmarks] = []
    with open_source(spec, mirrored=mirrored, start=start, stop=stop) as source, models.detector() as det:
        for frame in source:
            lm = det.detect(frame.index, frame.t_s, frame.image)
            if frame.index >= keep_from:
                out.append(lm)
                if bar is not None:
                    with lock:
                        bar.update(1)
    return out


def chunk_plan(frame_count: int | None, fps: float, workers: int, warmup_s: float = 1.0):
    """(start, stop, keep_from) per chunk; one chunk when the length is unknown or short."""
    if not frame_count or workers <= 1 or frame_count < workers * MIN_CHUNK_FRAMES:
        return [(0, None, 0)]
    warmup = int(round(warmup_s * (fps or 30.0)))
    bounds = [round(k * frame_count / workers) for k in range(workers)] + [None]
    return [(max(0, b - warmup), e, b) for b, e in zip(bounds[:-1], bounds[1:])]


def extract_landmarks(spec, models: ModelChoice, *, mirrored: bool = False, workers: int = 2,
                      progress: bool = True) -> tuple[list[FrameLandmarks], SourceInfo]:
    """Landmarks for every frame of a video file or image folder (in frame order)."""
    with open_source(spec, mirrored=mirrored) as probe:
        info = probe.info
    if info.live:
        raise RomcamError("extract_landmarks reads recordings; live cameras go through `romcam session`")
    plan = chunk_plan(info.frame_count, info.fps, workers)
    lock = threading.Lock()
    with tqdm(total=info.frame_count, unit="frame", desc="landmarks", disable=not progress,
              leave=False) as bar:
        with ThreadPoolExecutor(max_workers=len(plan), thread_name_prefix="romcam-chunk") as pool:
            futures = [pool.submit(_run_chunk, spec, models, mirrored, start, stop, keep, bar, lock)
                       for start, stop, keep in plan]
            chunks = [f.result() for f in futures]
    return [lm for chunk in chunks for lm in chunk], info


def landmarks_from_source(source: FrameSource, detector: LandmarkDetector):
    """Frame-by-frame landmarks from any source (the simple, single-threaded path)."""
    for frame in source:
        yield frame, detector.detect(frame.index, frame.t_s, frame.image)
