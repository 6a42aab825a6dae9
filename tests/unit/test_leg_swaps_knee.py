"""Knee flexion in a side view on legs whose labels MediaPipe exchanges while the rear leg passes:
the measured knee stays the same leg (romcam.measure.legs.with_legs_repaired)."""

from __future__ import annotations

import numpy as np

from romcam.capture.landmarks import POSE, FrameLandmarks
from romcam.measure.analysis import analyze_landmarks
from romcam.measure.joints import get_joint
from romcam.session.engine import StreamingLegMeasurer

FPS = 30.0
HIP = np.array([600.0, 300.0])


def _leg(thigh_deg: float, flexion_deg: float) -> dict[str, np.ndarray]:
    """Hip, knee, ankle, heel, toe of a leg (thigh and shin 200 px) whose thigh points ``thigh_deg``
    forward of straight down (image x grows forward) and whose knee is bent ``flexion_deg``."""
    def down(deg):
        return np.array([np.sin(np.radians(deg)), np.cos(np.radians(deg))])
    knee = HIP + 200 * down(thigh_deg)
    ankle = knee + 200 * down(thigh_deg - flexion_deg)
    return {"hip": HIP, "knee": knee, "ankle": ankle, "heel": ankle + (-20, 15), "foot_index": ankle + (60, 20)}


def _lunge(n: int = 90, swapped=range(0)) -> list[FrameLandmarks]:
    """One lunge: the front (right) knee bends 10 -> 90 -> 10 deg; the rear (left) leg swings back
    and forth with its knee bent early, to 110 deg (the foot lifted as it passes); on the
    ``swapped`` frames the legs' labels are exchanged."""
    frames = []
    for i in range(n):
        s = np.sin(np.pi * i / (n - 1)) ** 2
        front = _leg(10 + 40 * s, 10 + 80 * s)
        rear = _leg(-5 - 25 * s, 10 + 100 * min(1.0, 3.0 * s))
        if i in swapped:
            front, rear = rear, front
        pose = np.zeros((33, 5))
        pose[:, 3:] = 1.0
        for part in front:
            pose[POSE[f"right_{part}"], :2] = front[part]
            pose[POSE[f"left_{part}"], :2] = rear[part]
        pose[POSE["right_shoulder"], :2] = pose[POSE["left_shoulder"], :2] = HIP + (0, -300)
        frames.append(FrameLandmarks(i, i / FPS, 1280, 720, pose))
    return frames


def test_knee_is_the_same_leg_when_mediapipe_exchanges_the_labels():
    """Labels exchanged on 8 frames as the rear leg steps back and 8 as it comes forward, as
    MediaPipe draws it passing: still one rep of the front knee, peaking at 90 deg (unrepaired: the
    rear knee's 110 deg on the way down, then the front knee's dip below it and its bottom count
    as reps of their own)."""
    knee = get_joint("knee_flexion")
    clean = analyze_landmarks(knee, _lunge(), "right").sides["right"]
    swapped = analyze_landmarks(knee, _lunge(swapped=list(range(14, 22)) + list(range(68, 76))), "right").sides["right"]
    assert len(clean.reps) == 1 and abs(clean.reps[0].peak_deg - 90.0) <= 1.0
    assert len(swapped.reps) == 1 and abs(swapped.reps[0].peak_deg - 90.0) <= 1.5
    assert swapped.max_deg <= 91.0


def test_live_knee_is_the_same_leg_when_mediapipe_exchanges_the_labels():
    """The live measurer (causal swap tracker) on the same frames: the front knee on every frame,
    never the rear knee's 100-110 deg (without the tracker: 110.0)."""
    measurer = StreamingLegMeasurer(get_joint("knee_flexion"), ["right"])
    live = [measurer.update(lm)["right"] for lm in _lunge(swapped=list(range(14, 22)) + list(range(68, 76)))]
    assert max(live) <= 90.5
