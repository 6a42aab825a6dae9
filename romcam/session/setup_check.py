"""Is the person in view, are the needed landmarks visible, is the camera view right for the joint?

Pure: one frame's landmarks in, a list of problems (each an instruction to the person) out;
an empty list means ready.

The view is judged from the shoulder width relative to the trunk length (shoulder centre to
hip centre) when the hips are visible: measured 0.56-0.72 on the front-view clips of
../shared/media and 0.09-0.47 on the side-view ones, so 0.5 separates them. A seated person
at a laptop shows no hips; then the face's turn from the camera decides (front view = face
turned less than 20 deg).

The ankle in a side view also needs the named leg on the camera's side: a leg behind the other
(:func:`romcam.measure.legs.away_from_camera`) is MediaPipe's guess and is seldom measurable.

Every problem is plain words for the person (what the app shows). One that a command-line option
also answers (the far leg: ``--side left``) is an :class:`Instruction`, which carries that option
beside its words; the command line shows it where it prints them (:func:`with_option`).
"""

from __future__ import annotations

import numpy as np

from romcam.capture.landmarks import POSE, FrameLandmarks
from romcam.measure import head, legs
from romcam.measure.ankle import is_shin_joint
from romcam.measure.joints import Joint
from romcam.measure.series import MIN_VISIBILITY

FRONT_MIN_RATIO = 0.5
FRONT_MAX_YAW_DEG = 20.0


class Instruction(str):
    """An instruction to the person in plain words (the string itself); ``option`` is the
    command-line option that does what it says (e.g. ``--side left``), or None."""

    option: str | None

    def __new__(cls, words: str, option: str | None = None) -> Instruction:
        self = super().__new__(cls, words)
        self.option = option
        return self


def with_option(text: str) -> str:
    """The command line's wording of an instruction: its words, then its option in brackets
    when it has one ("... measure the left leg (--side left)"); plain text as it is."""
    option = getattr(text, "option", None)
    return f"{text} ({option})" if option else str(text)


def shoulder_trunk_ratio(lm: FrameLandmarks, min_visibility: float = MIN_VISIBILITY) -> float | None:
    p = lm.pose
    names = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    if p is None or any(p[POSE[n], 3] < min_visibility for n in names):
        return None
    ls, rs, lh, rh = (p[POSE[n], :2] for n in names)
    trunk = np.linalg.norm((ls + rs) / 2 - (lh + rh) / 2)
    return float(np.linalg.norm(ls - rs) / trunk) if trunk > 0 else None


def _readable(names: list[str]) -> str:
    parts = sorted({n.split("_", 1)[1].replace("_index", "").replace("foot", "toes") if "_" in n else n
                    for n in names})
    return ", ".join(parts)


def setup_problems(joint: Joint, lm: FrameLandmarks, sides, min_visibility: float = MIN_VISIBILITY) -> list[str]:
    """What keeps this frame from being measured, as instructions in plain words, most basic
    first (one with a command-line option is an :class:`Instruction`); empty when ready."""
    if lm.pose is None:
        return ["Step into the camera's view"]
    problems = []
    ratio = shoulder_trunk_ratio(lm, min_visibility)
    away = [s for s in sides if is_shin_joint(joint) and (ratio is None or ratio <= FRONT_MIN_RATIO)
            and legs.away_from_camera(lm.pose, s)]
    for side in away:
        other = "right" if side == "left" else "left"
        problems.append(Instruction(f"Your {side} leg is away from the camera: turn around, or measure the "
                                    f"{other} leg", option=f"--side {other}"))
    sides = [s for s in sides if s not in away]
    needed = [n for side in sides for n in joint.needed_landmarks(side if joint.kind == "limb" else None)]
    hidden = [n for n in dict.fromkeys(needed) if lm.pose[POSE[n], 3] < min_visibility]
    if hidden:
        problems.append(f"Make sure the camera sees your {_readable(hidden)}")
    if joint.needs_face and lm.face_matrix is None:
        problems.append("Face the camera so that your face is visible")
    if joint.view == "front":
        if lm.face_matrix is not None and abs(float(head.camera_yaw_deg(lm.face_matrix))) > FRONT_MAX_YAW_DEG:
            problems.append("Look straight at the camera")
        elif ratio is not None and ratio < FRONT_MIN_RATIO:
            problems.append("Turn to face the camera")
    elif ratio is not None and ratio > FRONT_MIN_RATIO:
        problems.append("Turn sideways: the camera should see you from the side")
    return problems
