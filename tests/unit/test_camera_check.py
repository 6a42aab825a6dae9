"""The app's camera check (pure): the setup check's instructions, plus light, distance and level."""

from __future__ import annotations

import dataclasses

import numpy as np

from romcam.capture.landmarks import POSE
from romcam.capture.synthetic import neck_landmarks
from romcam.measure.joints import get_joint
from romcam.session.camera_check import MIN_LIGHT, camera_check

NECK = get_joint("neck_lateral_flexion")
SIDES = ("left", "right")


def _lm():
    return neck_landmarks(np.arange(3) / 30.0, np.zeros(3))[0]


def _image(level: float, lm) -> np.ndarray:
    return np.full((lm.height, lm.width, 3), level, np.uint8)


def test_a_good_view_is_ready():
    lm = _lm()
    check = camera_check(NECK, lm, SIDES, _image(120, lm))
    assert check.ready and check.problems == () and check.light == 120.0
    assert check.shoulder_tilt_deg is not None and check.shoulder_tilt_deg < 1.0


def test_too_dark_nobody_and_tilted_shoulders_are_said_in_words():
    lm = _lm()
    dark = camera_check(NECK, lm, SIDES, _image(MIN_LIGHT - 5, lm))
    assert not dark.ready and dark.problems[0].startswith("It is too dark")
    nobody = camera_check(NECK, dataclasses.replace(lm, pose=None, face=None, face_matrix=None), SIDES,
                          _image(120, lm))
    assert nobody.problems[0] == "Step into the camera's view"
    pose = lm.pose.copy()
    right = pose[POSE["right_shoulder"], :2]
    pose[POSE["left_shoulder"], 1] = right[1] + 0.3 * abs(pose[POSE["left_shoulder"], 0] - right[0])   # ~17 deg
    tilted = camera_check(NECK, dataclasses.replace(lm, pose=pose), SIDES, _image(120, lm))
    assert any("shoulders level" in p for p in tilted.problems) and tilted.shoulder_tilt_deg > 15
    no_face = camera_check(NECK, dataclasses.replace(lm, face=None, face_matrix=None), SIDES, _image(120, lm))
    assert "Face the camera so that your face is visible" in no_face.problems


def test_a_far_face_asks_to_come_closer():
    lm = _lm()
    face = np.zeros((478, 3))
    face[:, 0] = np.linspace(0, 0.05 * lm.width, 478)       # 5 % of the frame's width
    far = camera_check(NECK, dataclasses.replace(lm, face=face), SIDES, _image(120, lm))
    assert any(p.startswith("Come closer") for p in far.problems)
