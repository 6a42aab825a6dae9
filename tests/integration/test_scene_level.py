"""The camera's roll from the scene's straight lines (romcam.calibration.scene_level): the sign
convention on drawn lines, and rotated copies of the real side-view clips (docs/design.md, "The ankle")."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import media
from romcam.calibration import scene_level as sl
from romcam.measure.legs import pose_array
from videotools import read_frames, roll_camera


def _grid_image(w=1280, h=720):
    img = np.full((h, w, 3), 200, np.uint8)
    for x in range(100, w, 160):
        cv2.line(img, (x, 40), (x, h - 40), (40, 40, 40), 3)
    for y in range(80, h, 150):
        cv2.line(img, (40, y), (w - 40, y), (60, 60, 60), 3)
    return img


def test_segment_roll_sign_matches_cv2_rotation():
    lines = np.array([[0.0, 0.0, 0.0, -100.0], [0.0, 0.0, 100.0, 0.0]])    # a vertical, a horizontal
    for roll in (-8.0, 3.0):
        m = cv2.getRotationMatrix2D((0, 0), roll, 1.0)[:, :2]
        seg = np.hstack([lines[:, :2] @ m.T, lines[:, 2:] @ m.T])
        r, _, kind = sl.segment_rolls(seg)
        np.testing.assert_allclose(r, [roll, roll], atol=1e-9)
        assert list(kind) == ["v", "h"]


@pytest.mark.parametrize("roll", [-8.0, -3.0, 0.0, 3.0, 8.0])
def test_drawn_grid(roll):
    img, mask, _ = roll_camera(_grid_image(), roll)
    e = sl.estimate_roll([img], valid_masks=[mask])
    assert e.confident and abs(e.roll_deg - roll) < 0.5, e


def test_no_lines_is_no_estimate():
    e = sl.estimate_roll([np.full((360, 640, 3), 128, np.uint8)])
    assert not e.confident and not np.isfinite(e.roll_deg)


def _frames(clip, idx, landmarks_of):
    lm = pose_array(landmarks_of(media(clip)))
    frames, _ = read_frames(media(clip))
    return [(frames[i], lm[i]) for i in idx]


def _estimate(frames, roll):
    rolled = [roll_camera(f, roll, p) for f, p in frames]
    return sl.estimate_roll([r[0] for r in rolled], [r[2] for r in rolled], valid_masks=[r[1] for r in rolled])


@pytest.mark.parametrize("clip,idx", [("lunges_side.mp4", [0, 65, 135]),
                                      ("walking_side_multi_person.mp4", [20, 100, 180])])
def test_rotated_real_clips_within_2_deg(clip, idx, landmarks_of):
    """Rotated copies of the shared side-view clips: the estimate follows the known roll."""
    frames = _frames(clip, idx, landmarks_of)
    base = _estimate(frames, 0.0)
    assert base.confident, base
    errors = []
    for roll in (-8.0, -3.0, 3.0, 8.0):
        e = _estimate(frames, roll)
        errors.append((e.roll_deg - base.roll_deg) - roll)
        assert e.confident, (roll, e)
    print(f"{clip}: scene roll at rest {base.roll_deg:+.2f} deg (confidence {base.confidence:.2f}); "
          f"rotated +-3/+-8 deg: errors {np.round(errors, 2)} deg")
    assert np.max(np.abs(errors)) <= 2.0
    assert abs(base.roll_deg) <= 4.0          # the clips were filmed roughly level


def test_plain_wall_handheld_is_not_confident(landmarks_of):
    """squat_jumps_side.mp4: a plain wall, a handheld portrait camera: no confident roll."""
    frames = _frames("squat_jumps_side.mp4", [10, 100, 200], landmarks_of)
    for roll in (0.0, 8.0):
        e = _estimate(frames, roll)
        print(f"squat_jumps_side rotated {roll:+.0f}: {e.roll_deg:+.2f} deg, confidence {e.confidence:.2f}")
        assert not e.confident


def test_estimate_video_roll_reads_the_clip(landmarks_of):
    lm = landmarks_of(media("lunges_side.mp4"))
    e = sl.estimate_video_roll(media("lunges_side.mp4"), [x.pose for x in lm])
    print(f"lunges_side.mp4 scene roll from 5 frames: {e.roll_deg:+.2f} deg, confidence {e.confidence:.2f}")
    assert e.confident and 1.0 <= e.roll_deg <= 4.0
