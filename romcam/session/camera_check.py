"""The camera check before a session, in plain words: what :func:`setup_problems` asks of the
view (the person in view, the needed landmarks seen, the face for the neck, the view right for
the joint), plus what a person placing a laptop can fix: enough light, near enough, shoulders
level, the camera level. Pure: one frame's landmarks and image in (and the camera's level, read
apart: :class:`SceneLevel`), instructions out; none means ready. The app shows them on the
picture before anything is measured; ``romcam session`` says the camera level at setup.

Thresholds: a frame whose mean brightness (0-255) is under :data:`MIN_LIGHT` is too dark for the
face model to hold on to; a face narrower than :data:`MIN_FACE_SHARE` of the frame's width is
too far for the ear line to be read to a degree; shoulders tilted more than
:data:`MAX_SHOULDER_TILT_DEG` at rest are a tilted camera or a person leaning.

The camera level: its roll from a camera profile's measured roll, else from the room's straight
lines (:mod:`romcam.calibration.scene_level`, the person masked out), when that estimate is
confident; a roll beyond :data:`MAX_CAMERA_ROLL_DEG` (the limit of romcam's other tilt warnings)
is named with its direction. A plain wall gives no confident estimate: the level is then not
judged (and not a problem), the shoulders' check still holds.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from romcam.calibration.scene_level import estimate_roll
from romcam.calibration.undistort import TILT_LIMIT_DEG
from romcam.capture.landmarks import POSE, FrameLandmarks
from romcam.measure.joints import Joint
from romcam.measure.series import MIN_VISIBILITY
from romcam.session.setup_check import setup_problems

MIN_LIGHT = 45.0
MIN_FACE_SHARE = 0.08
MAX_SHOULDER_TILT_DEG = 8.0
MAX_CAMERA_ROLL_DEG = TILT_LIMIT_DEG


@dataclass(frozen=True)
class CameraLevel:
    """The camera's roll as known: ``roll_deg`` with scene_level's sign (the picture turned
    counter-clockwise by it; None: not known) and where it comes from ("camera profile", "scene")."""

    roll_deg: float | None = None
    source: str = ""

    @classmethod
    def from_profile(cls, profile) -> CameraLevel | None:
        """A camera profile's measured roll (None without a profile or a measured roll)."""
        roll = getattr(profile, "roll_deg", None)
        return None if roll is None else cls(float(roll), "camera profile")

    @property
    def problem(self) -> str | None:
        """'Level the camera: ...' when the roll is known and beyond :data:`MAX_CAMERA_ROLL_DEG`.
        A camera rolled clockwise as seen from behind it turns the picture counter-clockwise
        (a positive roll); seen from in front, its top leans to the left."""
        r = self.roll_deg
        if r is None or not math.isfinite(r) or abs(r) <= MAX_CAMERA_ROLL_DEG:
            return None
        return f"Level the camera: seen from the front, its top leans {abs(r):.0f}° to the {'left' if r > 0 else 'right'}"


class SceneLevel:
    """The camera's roll read from the scene while the check runs: one frame every ``every_s``
    (about 30-60 ms of work on a 640-px frame), the last ``keep`` frames' estimates combined: the
    median roll of the confident ones, known when at least ``needed`` of them are confident."""

    def __init__(self, every_s: float = 0.5, keep: int = 3, needed: int = 2):
        self.every_s, self.needed = every_s, needed
        self.recent: deque = deque(maxlen=keep)
        self.last_t = -math.inf

    def add(self, t_s: float, image: np.ndarray, pose) -> None:
        """Read this frame when it is time to (the person's pose masked out)."""
        if t_s - self.last_t >= self.every_s:
            self.last_t = t_s
            self.recent.append(estimate_roll([image], [pose]))

    @property
    def level(self) -> CameraLevel:
        rolls = [e.roll_deg for e in self.recent if e.confident]
        if len(rolls) < self.needed:
            return CameraLevel()
        return CameraLevel(float(np.median(rolls)), "scene")


@dataclass(frozen=True)
class CameraCheck:
    problems: tuple[str, ...]
    light: float                      # mean brightness, 0-255
    face_share: float | None          # the face's width / the frame's width (None: no face)
    shoulder_tilt_deg: float | None   # the shoulder line from horizontal (None: not both seen)
    level: CameraLevel = CameraLevel()   # the camera's roll, as known

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


def camera_check(joint: Joint, lm: FrameLandmarks, sides, image: np.ndarray,
                 level: CameraLevel | None = None) -> CameraCheck:
    """What is wrong with this view for measuring ``joint`` on ``sides``, most basic first;
    ``level``: the camera's roll as known (:class:`SceneLevel`, a camera profile)."""
    level = level or CameraLevel()
    light = float(image.mean()) if image.size else 0.0
    problems = []
    if light < MIN_LIGHT:
        problems.append("It is too dark: turn on a light in front of you (not behind you)")
    problems += setup_problems(joint, lm, sides)
    share = face_share(lm)
    if joint.needs_face and share is not None and share < MIN_FACE_SHARE:
        problems.append("Come closer: the camera should see your head and shoulders")
    if level.problem:
        problems.append(level.problem)
    tilt = shoulder_tilt_deg(lm)
    if joint.view == "front" and tilt is not None and tilt > MAX_SHOULDER_TILT_DEG:
        unknown = level.roll_deg is None         # else the camera's level is said apart
        problems.append("Sit or stand up straight with your shoulders level" + (" (or level the camera)" if unknown else ""))
    return CameraCheck(tuple(dict.fromkeys(problems)), round(light, 1), share, tilt, level)
