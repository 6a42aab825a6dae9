"""The camera check before a session, in plain words: what :func:`setup_problems` asks of the
view (the person in view, the needed landmarks seen, the face for the neck, the view right for
the joint), plus what a person placing a laptop can fix: enough light, near enough, shoulders
(or the camera) level. Pure: one frame's landmarks and image in, instructions out; none means
ready. The app shows them on the picture before anything is measured.

Thresholds: a frame whose mean brightness (0-255) is under :data:`MIN_LIGHT` is too dark for the
face model to hold on to; a face narrower than :data:`MIN_FACE_SHARE` of the frame's width is
too far for the ear line to be read to a degree; shoulders tilted more than
:data:`MAX_SHOULDER_TILT_DEG` at rest are a tilted camera or a person leaning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from romcam.capture.landmarks import POSE, FrameLandmarks
from romcam.measure.joints import Joint
from romcam.measure.series import MIN_VISIBILITY
from romcam.session.setup_check import setup_problems

MIN_LIGHT = 45.0
MIN_FACE_SHARE = 0.08
MAX_SHOULDER_TILT_DEG = 8.0


@dataclass(frozen=True)
class CameraCheck:
    problems: tuple[str, ...]
    light: float                      # mean brightness, 0-255
    face_share: float | None          # the face's width / the frame's width (None: no face)
    shoulder_tilt_deg: float | None   # the shoulder line from horizontal (None: not both seen)

    @property
    def ready(self) -> bool:
        return not self.problems


def face_share(lm: FrameLandmarks) -> float | None:
    if lm.face is None or not lm.width:
        return None
    xs = lm.face[:, 0]
    return float((np.nanmax(xs) - np.nanmin(xs)) / lm.width)


def shoulder_tilt_deg(lm: FrameLandmarks) -> float | None:
    p = lm.pose
    if p is None or min(p[POSE["left_shoulder"], 3], p[POSE["right_shoulder"], 3]) < MIN_VISIBILITY:
        return None
    left, right = p[POSE["left_shoulder"], :2], p[POSE["right_shoulder"], :2]
    dx, dy = left - right
    return abs(math.degrees(math.atan2(dy, dx))) if dx != 0 else 90.0


def camera_check(joint: Joint, lm: FrameLandmarks, sides, image: np.ndarray) -> CameraCheck:
    """What is wrong with this view for measuring ``joint`` on ``sides``, most basic first."""
    light = float(image.mean()) if image.size else 0.0
    problems = []
    if light < MIN_LIGHT:
        problems.append("It is too dark: turn on a light in front of you (not behind you)")
    problems += setup_problems(joint, lm, sides)
    share = face_share(lm)
    if joint.needs_face and share is not None and share < MIN_FACE_SHARE:
        problems.append("Come closer: the camera should see your head and shoulders")
    tilt = shoulder_tilt_deg(lm)
    if joint.view == "front" and tilt is not None and tilt > MAX_SHOULDER_TILT_DEG:
        problems.append("Sit or stand up straight with your shoulders level (or level the camera)")
    return CameraCheck(tuple(dict.fromkeys(problems)), round(light, 1), share, tilt)
