"""A long recording's memory grows only by what each frame's results need (issue #12).

The landmarks of N and of 4N frames of a real clip go through romcam's real pipeline (real
decoding, real MediaPipe with the face model) under ``tracemalloc``; the memory the results
keep per extra frame must stay small. Before issue #12 every frame kept its 478-point face mesh
(478 x 3 float64 = 11.2 KB), which grows a 10-minute 1080p recording by ~200 MB.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from conftest import media
from videotools import read_frames, write_video

N = 30
MAX_BYTES_PER_FRAME = 4096      # pose (33 x 5 float64, 1.3 KB), face matrix, the record itself


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    frames, fps = read_frames(media("side_bend_rotation_front.mp4"), stop=4 * N, scale=0.5)
    tmp = tmp_path_factory.mktemp("memory")
    return {n: write_video(tmp / f"first_{n}.mp4", frames[:n], fps) for n in (N, 4 * N)}


def _retained_bytes(path, models) -> tuple[int, int]:
    from romcam.capture.pipeline import extract_landmarks

    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    landmarks, _ = extract_landmarks(path, models, workers=1, progress=False)
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - before
    assert sum(lm.face_matrix is not None for lm in landmarks) > 0.9 * len(landmarks), "the face was not found"
    return retained, len(landmarks)


def test_results_of_a_recording_keep_little_per_frame(clips, model_dir):
    from romcam.capture.pipeline import ModelChoice

    models = ModelChoice.resolve("full", True, model_dir, progress=False)
    _retained_bytes(clips[N], models)          # one-off allocations (imports, caches) happen here
    tracemalloc.start()
    try:
        small, n_small = _retained_bytes(clips[N], models)
        large, n_large = _retained_bytes(clips[4 * N], models)
    finally:
        tracemalloc.stop()
    per_frame = (large - small) / (n_large - n_small)
    print(f"\nretained: {small} B for {n_small} frames, {large} B for {n_large} frames: "
          f"{per_frame:.0f} B per extra frame (limit {MAX_BYTES_PER_FRAME})")
    assert n_large == 4 * N and n_small == N
    assert per_frame < MAX_BYTES_PER_FRAME
