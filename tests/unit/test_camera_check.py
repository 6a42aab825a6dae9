"""The app's camera check (pure): the setup check's instructions, plus light, distance and level."""

from __future__ import annotations

import dataclasses

import numpy as np

from romcam.capture.landmarks import POSE, FrameLandmarks
from romcam.capture.synthetic import neck_landmarks
from romcam.measure.joints import get_joint
from romcam.session.camera_check import MIN_LIGHT, camera_check
from romcam.session.setup_check import setup_problems, with_option

NECK = get_joint("neck_lateral_flexion")
ANKLE = get_joint("ankle_dorsiflexion")
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


def _far_right_leg() -> FrameLandmarks:
    """A person standing side on (facing right), the right leg behind the left: deeper and dimmer."""
    pose = np.zeros((33, 5))
    pose[:, :2], pose[:, 3:] = (300.0, 120.0), 0.99
    at = {"shoulder": (300, 150), "hip": (300, 300), "knee": (320, 400), "ankle": (310, 500),
          "heel": (295, 515), "foot_index": (350, 520)}
    for side in ("left", "right"):
        for part, xy in at.items():
            pose[POSE[f"{side}_{part}"], :2] = xy
    for part in ("knee", "ankle", "heel", "foot_index"):
        pose[POSE[f"right_{part}"], 2], pose[POSE[f"right_{part}"], 3] = 200.0, 0.6
    return FrameLandmarks(0, 0.0, 640, 640, pose=pose)


def test_the_far_leg_is_said_in_plain_words_and_the_command_line_adds_its_option():
    """setup_problems gives plain words; the command line (its printing and its window) adds
    "(--side left)"; the app's camera check and its live page (the engine's state) never show it."""
    import json

    from romcam.app.state import live_state
    from romcam.session.display import overlay_state
    from romcam.session.engine import SessionEngine
    from romcam.session.overlay import draw_overlay
    from romcam.session.protocol import ProtocolConfig

    words = "Your right leg is away from the camera: turn around, or measure the left leg"
    lm = _far_right_leg()
    problems = setup_problems(ANKLE, lm, ("right",))
    assert problems[0] == words and with_option(problems[0]) == words + " (--side left)"
    assert with_option("Step into the camera's view") == "Step into the camera's view"
    check = camera_check(ANKLE, lm, ("right",), _image(120, lm))
    assert check.problems[0] == words and not [p for p in check.problems if "--" in p]

    engine = SessionEngine(ProtocolConfig(ANKLE, ("right",)))
    for k in range(5):
        engine.step(dataclasses.replace(lm, index=k, t_s=k / 30.0))
    state = live_state(engine, lm, 4)
    assert state["phase"] == "setup" and state["prompt"] == words
    assert "--side" not in json.dumps(state)
    _, drawn = draw_overlay(_image(120, lm), lm, overlay_state(engine), mirror=False)
    assert words + " (--side left)" in [d.text for d in drawn]


def test_the_camera_level_is_named_with_its_direction_beyond_the_limit():
    from romcam.session.camera_check import MAX_CAMERA_ROLL_DEG, CameraLevel

    lm = _lm()
    assert CameraLevel().problem is None and CameraLevel(MAX_CAMERA_ROLL_DEG - 0.1, "scene").problem is None
    # the picture turned counter-clockwise: the camera turned clockwise seen from behind, its top to the left seen from the front
    assert CameraLevel(8.2, "scene").problem == "Level the camera: seen from the front, its top leans 8° to the left"
    assert CameraLevel(-5.6, "scene").problem == "Level the camera: seen from the front, its top leans 6° to the right"
    tilted = camera_check(NECK, lm, SIDES, _image(120, lm), CameraLevel(8.2, "scene"))
    assert not tilted.ready and tilted.problems == (CameraLevel(8.2, "scene").problem,)
    level = camera_check(NECK, lm, SIDES, _image(120, lm), CameraLevel(1.0, "camera profile"))
    assert level.ready and level.level.roll_deg == 1.0
