"""Joint angles from landmarks, with frame validity: for a whole series (offline) or frame by
frame (live). Pure: no file, camera or model here."""

from __future__ import annotations

from collections import deque

import numpy as np

from romcam import angles
from romcam.joints import Joint
from romcam.filters import running_median
from romcam.landmarks import POSE, FrameLandmarks

MIN_VISIBILITY = 0.5


def channel_names(joint: Joint, sides) -> list[str]:
    """The measured series: one per limb for limb joints, the single signed angle otherwise."""
    return list(sides) if joint.kind == "limb" else ["signed"]


def frame_validity(joint: Joint, lm: FrameLandmarks, side: str | None,
                   min_visibility: float = MIN_VISIBILITY) -> bool:
    """A frame counts for this joint (and limb) only when everything it needs was seen well."""
    if lm.pose is None:
        return False
    if joint.needs_face and lm.face_matrix is None:
        return False
    for name in joint.needed_landmarks(side):
        if lm.pose[POSE[name], 3] < min_visibility:
            return False
    if joint.max_yaw_deg is not None and lm.face_matrix is not None:
        if abs(float(angles.head_yaw_deg(lm.face_matrix))) > joint.max_yaw_deg:
            return False
    return True


def measure_channel(joint: Joint, landmarks: list[FrameLandmarks], side: str | None,
                    min_visibility: float = MIN_VISIBILITY) -> tuple[np.ndarray, np.ndarray]:
    """Raw angle per frame (NaN where invalid) and the validity mask.

    For a joint measured against a reference (neck side-bend: head roll against the shoulder
    line) the reference is a running median over ``joint.reference_window_s``: the pose model's
    shoulders follow a tilting head by 2-2.5 deg (full model; 6 deg lite) even when the shoulders
    do not move at all (measured on the known-warp clip), while a real trunk lean lasts longer.
    """
    valid = np.array([frame_validity(joint, lm, side, min_visibility) for lm in landmarks], dtype=bool)
    segment = np.array([joint.segment_angle(lm, side) if ok else np.nan for lm, ok in zip(landmarks, valid)])
    if joint.reference is not None:
        t = np.array([lm.t_s for lm in landmarks], dtype=float)
        ref = np.array([joint.reference_angle(lm) if ok else np.nan for lm, ok in zip(landmarks, valid)])
        segment = angles.wrap_deg(segment - running_median(t, ref, joint.reference_window_s))
    valid &= np.isfinite(segment)
    return segment, valid


class StreamingMeasurer:
    """Live counterpart of :func:`measure_channel`: one frame in, the raw angle per channel out
    (NaN where invalid). The reference (neck: the shoulder line) is a *causal* running median
    over the joint's reference window, since the future is not known live."""

    def __init__(self, joint: Joint, sides, min_visibility: float = MIN_VISIBILITY):
        self.joint = joint
        self.channels = channel_names(joint, sides)
        self.min_visibility = min_visibility
        self._ref: deque[tuple[float, float]] = deque()

    def _reference(self, t: float, value: float) -> float:
        if np.isfinite(value):
            self._ref.append((t, value))
        while self._ref and self._ref[0][0] < t - self.joint.reference_window_s:
            self._ref.popleft()
        return float(np.median([v for _, v in self._ref])) if self._ref else float("nan")

    def update(self, lm: FrameLandmarks) -> dict[str, float]:
        out = {}
        for name in self.channels:
            side = name if self.joint.kind == "limb" else None
            if not frame_validity(self.joint, lm, side, self.min_visibility):
                out[name] = float("nan")
                continue
            out[name] = self.joint.segment_angle(lm, side)
        if self.joint.reference is not None:
            ok = any(np.isfinite(v) for v in out.values())
            ref = self._reference(lm.t_s, self.joint.reference_angle(lm) if ok else float("nan"))
            out = {k: float(angles.wrap_deg(v - ref)) for k, v in out.items()}
        return out
