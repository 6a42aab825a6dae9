"""A hand by the face makes a neck frame unusable (romcam.measure.series.hand_at_face), and the
face's box survives when a recording lets the face mesh go."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from romcam.capture.landmarks import POSE, bounding_box
from romcam.capture.synthetic import neck_landmarks
from romcam.measure.joints import get_joint
from romcam.measure.series import HAND_AT_FACE, HAND_MARGIN_FACE_WIDTHS, HAND_POINTS, frame_problem, hand_at_face

NECK = get_joint("neck-side-bend")


def frame_with_hand(offset_face_widths: float | None):
    """A seated person facing the camera with a 120-px-wide face box; both hands down at the hips,
    or the right index finger ``offset_face_widths`` face widths left of the face's box."""
    lm = neck_landmarks([0.0], [0.0])[0]
    pose = lm.pose.copy()
    for k in HAND_POINTS:
        pose[k, :2] = pose[POSE["right_hip"], :2]
    head = pose[POSE["nose"], :2]
    box = (head[0] - 60.0, head[1] - 80.0, head[0] + 60.0, head[1] + 80.0)
    if offset_face_widths is not None:
        pose[POSE["right_index"], :2] = (box[0] - offset_face_widths * 120.0, head[1])
    return dataclasses.replace(lm, pose=pose, face_box=box)


@pytest.mark.parametrize("offset", [-0.3, 0.0, 0.5, 0.95 * HAND_MARGIN_FACE_WIDTHS])
def test_a_hand_on_or_by_the_face_makes_the_neck_frame_unusable(offset):
    lm = frame_with_hand(offset)
    assert hand_at_face(lm)
    assert frame_problem(NECK, lm, None) == HAND_AT_FACE


@pytest.mark.parametrize("offset", [None, 1.05 * HAND_MARGIN_FACE_WIDTHS, 3.0])
def test_hands_away_from_the_face_leave_the_frame_usable(offset):
    lm = frame_with_hand(offset)
    assert not hand_at_face(lm)
    assert frame_problem(NECK, lm, None) is None


def test_the_hand_rule_is_for_the_face_joints_only():
    lm = frame_with_hand(0.0)
    assert frame_problem(get_joint("ankle"), lm, "right") != HAND_AT_FACE


def test_without_a_face_box_there_is_nothing_to_judge():
    lm = dataclasses.replace(frame_with_hand(0.0), face_box=None)
    assert lm.face is None and not hand_at_face(lm)


def test_a_record_without_its_mesh_keeps_the_face_box():
    mesh = np.column_stack([np.linspace(100, 220, 478), np.linspace(50, 210, 478), np.zeros(478)])
    lm = dataclasses.replace(neck_landmarks([0.0], [0.0])[0], face=mesh, face_box=None)
    kept = lm.without_mesh()
    assert kept.face is None and kept.face_box == bounding_box(mesh) == (100.0, 50.0, 220.0, 210.0)
    assert kept.face_bounds() == lm.face_bounds()
