"""The table of joints romcam measures: one entry per joint.

Each joint says which camera view it needs, which landmarks must be visible, how its angle
is computed from one frame's landmarks (a pure function), its typical range and its
rep-counting floors. Adding a joint = one entry here plus its tests.

Two kinds of joint:

* ``limb`` joints have one angle per limb (left knee, right knee); the side is the limb;
* ``signed`` joints have one angle whose sign is the side (neck side-bend: positive towards
  the person's right); each side is reported as a positive magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

from romcam.capture.landmarks import FrameLandmarks
from romcam.errors import RomcamError
from romcam.measure import angles, head
from romcam.measure.reps import RepThresholds

SIDES = ("left", "right")

Formula = Callable[[FrameLandmarks, str], float]


@dataclass(frozen=True)
class Joint:
    name: str
    title: str
    view: str                      # "front" or "side": where the camera should be
    kind: str                      # "limb" or "signed"
    landmarks: tuple[str, ...]     # pose landmarks that must be visible ("{side}_knee" for limbs)
    formula: Formula
    reps: RepThresholds            # floors; analysis scales them to the movement seen
    normal_deg: tuple[float, float]
    needs_face: bool = False
    # frames whose face is turned further from the camera (head.face_obliqueness_deg) are
    # invalid: the face mesh's own reliability limit (docs/validation/neck-3d.md, "The gate")
    max_face_turn_deg: float | None = None
    # a rep whose head turn (start to peak) exceeds this many times its excursion is a head
    # turn, not this movement: reported, not counted
    max_turn_ratio: float | None = None
    reference: Callable[[FrameLandmarks], float] | None = None  # angle is measured against this
    reference_window_s: float = 3.0    # the reference is read at rest over this window,
    reference_average_s: float = 6.0   # then averaged over this one (series.reference_series)
    # the angle of a frame given the (smoothed) reference; default: segment - reference
    relative: Callable[[FrameLandmarks, float], float] | None = None
    aliases: tuple[str, ...] = field(default=())
    description: str = ""

    def needed_landmarks(self, side: str | None) -> list[str]:
        return [name.format(side=side) for name in self.landmarks]

    def _seen(self, lm: FrameLandmarks) -> bool:
        return lm.pose is not None and not (self.needs_face and lm.face_matrix is None)

    def segment_angle(self, lm: FrameLandmarks, side: str | None = None) -> float:
        """The moving segment's angle for one frame, before the reference is taken off."""
        return float(self.formula(lm, side)) if self._seen(lm) else float("nan")

    def reference_angle(self, lm: FrameLandmarks) -> float:
        """The reference segment's angle for one frame (0 for joints without a reference)."""
        if self.reference is None:
            return 0.0
        return float(self.reference(lm)) if self._seen(lm) else float("nan")

    def angle_against(self, lm: FrameLandmarks, side: str | None, reference_deg: float) -> float:
        """The joint angle of one frame measured against a given reference angle."""
        if not self._seen(lm) or not np.isfinite(reference_deg):
            return float("nan")
        if self.relative is not None:
            return float(self.relative(lm, reference_deg))
        return float(angles.wrap_deg(self.segment_angle(lm, side) - reference_deg))

    def angle(self, lm: FrameLandmarks, side: str | None = None) -> float:
        """The joint angle in degrees for one frame alone (NaN if the landmarks are missing).
        Over a series, :func:`romcam.measure.series.measure_channel` smooths the reference first."""
        return self.angle_against(lm, side, self.reference_angle(lm))


def _p(lm: FrameLandmarks, side: str, name: str) -> np.ndarray:
    return lm.point(f"{side}_{name}")


def _trunk_roll(lm: FrameLandmarks) -> float:
    return float(angles.direction_deg(lm.point("right_shoulder"), lm.point("left_shoulder")))


def _head_roll(lm: FrameLandmarks, side: str | None) -> float:
    return float(head.image_roll_deg(lm.face_matrix))


def _lateral_flexion(lm: FrameLandmarks, trunk_roll_deg: float) -> float:
    return float(head.lateral_flexion_deg(lm.face_matrix, trunk_roll_deg))


def _neck_rotation(lm: FrameLandmarks, side: str | None) -> float:
    return float(head.camera_yaw_deg(lm.face_matrix))


def _shin_inclination(lm, side):
    """One frame alone: shank (ankle -> knee) from the image vertical, + = knee ahead of the ankle
    in the direction this frame's foot points (heel -> toe); NaN when the foot points more than
    60 deg from the horizontal. Over a recording or live, romcam.measure.ankle measures the ankle
    instead (toes' direction over time, true vertical, the same physical leg)."""
    shank = _p(lm, side, "knee") - _p(lm, side, "ankle")
    foot = _p(lm, side, "foot_index") - _p(lm, side, "heel")
    if not abs(foot[0]) > 0.5 * np.hypot(foot[0], foot[1]):
        return float("nan")
    return float(np.degrees(np.arctan2(np.sign(foot[0]) * shank[0], -shank[1])))


def _knee_flexion(lm, side):
    return angles.flexion_deg(_p(lm, side, "hip"), _p(lm, side, "knee"), _p(lm, side, "ankle"))


def _hip_flexion(lm, side):
    return angles.flexion_deg(_p(lm, side, "shoulder"), _p(lm, side, "hip"), _p(lm, side, "knee"))


def _elbow_flexion(lm, side):
    return angles.flexion_deg(_p(lm, side, "shoulder"), _p(lm, side, "elbow"), _p(lm, side, "wrist"))


def _arm_elevation(lm, side):
    """Angle between the trunk line (shoulder -> hip) and the upper arm (shoulder -> elbow)."""
    return angles.vertex_angle_deg(_p(lm, side, "hip"), _p(lm, side, "shoulder"), _p(lm, side, "elbow"))


JOINTS: dict[str, Joint] = {j.name: j for j in (
    Joint(
        "neck_lateral_flexion", "Neck side-bend (lateral flexion)", "front", "signed",
        ("left_shoulder", "right_shoulder"), _head_roll,
        RepThresholds(enter_deg=6.0, exit_deg=3.0, min_amplitude_deg=8.0), (0.0, 45.0),
        needs_face=True, max_face_turn_deg=45.0, max_turn_ratio=2.0, reference=_trunk_roll,
        relative=_lateral_flexion,
        aliases=("neck-side-bend", "neck-lateral-flexion", "side-bend", "neck_side_bend"),
        description="elevation of the ear-to-ear axis (face mesh, 3-D) above the trunk's transverse "
                    "plane (shoulder line); + = towards the right shoulder",
    ),
    Joint(
        "neck_rotation", "Neck rotation (head turn)", "front", "signed",
        ("left_shoulder", "right_shoulder"), _neck_rotation,
        RepThresholds(enter_deg=12.0, exit_deg=6.0, min_amplitude_deg=15.0), (0.0, 80.0),
        needs_face=True, aliases=("neck-rotation", "head-turn", "neck_turn"),
        description="head yaw from the face mesh; + = turned towards the person's right",
    ),
    Joint(
        "ankle_dorsiflexion", "Ankle dorsiflexion", "side", "limb",
        ("{side}_knee", "{side}_ankle", "{side}_heel", "{side}_foot_index"), _shin_inclination,
        RepThresholds(enter_deg=6.0, exit_deg=3.0, min_amplitude_deg=8.0), (0.0, 45.0),
        aliases=("ankle", "ankle-dorsiflexion", "dorsiflexion", "knee-to-wall",
                 "tibial_inclination", "tibial-inclination", "tibia", "shin-angle"),
        description="shin (ankle -> knee) from the true vertical, + = knee ahead of the ankle "
                    "(knee-to-wall inclinometer); 0 = vertical shin",
    ),
    Joint(
        "knee_flexion", "Knee flexion", "side", "limb",
        ("{side}_hip", "{side}_knee", "{side}_ankle"), _knee_flexion,
        RepThresholds(enter_deg=15.0, exit_deg=8.0, min_amplitude_deg=20.0), (0.0, 140.0),
        aliases=("knee", "knee-flexion"),
        description="180 - angle(hip, knee, ankle); 0 = straight leg",
    ),
    Joint(
        "hip_flexion", "Hip flexion", "side", "limb",
        ("{side}_shoulder", "{side}_hip", "{side}_knee"), _hip_flexion,
        RepThresholds(enter_deg=15.0, exit_deg=8.0, min_amplitude_deg=20.0), (0.0, 120.0),
        aliases=("hip", "hip-flexion"),
        description="180 - angle(shoulder, hip, knee); 0 = trunk and thigh in line",
    ),
    Joint(
        "elbow_flexion", "Elbow flexion", "side", "limb",
        ("{side}_shoulder", "{side}_elbow", "{side}_wrist"), _elbow_flexion,
        RepThresholds(enter_deg=15.0, exit_deg=8.0, min_amplitude_deg=20.0), (0.0, 150.0),
        aliases=("elbow", "elbow-flexion"),
        description="180 - angle(shoulder, elbow, wrist); 0 = straight arm",
    ),
    Joint(
        "shoulder_flexion", "Shoulder flexion", "side", "limb",
        ("{side}_hip", "{side}_shoulder", "{side}_elbow"), _arm_elevation,
        RepThresholds(enter_deg=15.0, exit_deg=8.0, min_amplitude_deg=20.0), (0.0, 180.0),
        aliases=("shoulder-flexion",),
        description="angle(hip, shoulder, elbow) seen from the side; 0 = arm along the trunk",
    ),
    Joint(
        "shoulder_abduction", "Shoulder abduction", "front", "limb",
        ("{side}_hip", "{side}_shoulder", "{side}_elbow"), _arm_elevation,
        RepThresholds(enter_deg=15.0, exit_deg=8.0, min_amplitude_deg=20.0), (0.0, 180.0),
        aliases=("shoulder-abduction",),
        description="angle(hip, shoulder, elbow) seen from the front; 0 = arm along the trunk",
    ),
)}

_ALIASES = {a: j.name for j in JOINTS.values() for a in (j.name, *j.aliases)}


def get_joint(name: str) -> Joint:
    """Look a joint up by name or alias (case, '-' and '_' do not matter)."""
    key = name.strip().lower()
    for candidate in (key, key.replace("-", "_"), key.replace("_", "-")):
        if candidate in _ALIASES:
            return JOINTS[_ALIASES[candidate]]
    raise RomcamError(
        f"unknown joint {name!r}; known joints: {', '.join(JOINTS)} "
        f"(aliases such as neck-side-bend, ankle, knee work too)"
    )
