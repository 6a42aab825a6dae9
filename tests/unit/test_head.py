"""The head and trunk frames in 3-D (romcam.measure.head): signs, and what each channel ignores.

Rotations are built in MediaPipe's metric camera space (x to the image right, y up, z towards
the viewer) for an unmirrored front view, so the person's right is the image left.
"""

from __future__ import annotations

import numpy as np
import pytest

from romcam.measure import head


def rx(d):
    a = np.radians(d)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def ry(d):
    a = np.radians(d)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def rz(d):
    a = np.radians(d)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def matrix(side_bend=0.0, turn=0.0, nod=0.0, scale=1.0):
    """Side-bend towards the person's right (+), a turn towards the person's right (+) about the
    bent head's own vertical, a nod chin-down (+); MediaPipe's matrix may carry a scale."""
    m = np.eye(4)
    m[:3, :3] = scale * (rz(side_bend) @ ry(-turn) @ rx(nod))
    return m


@pytest.mark.parametrize("bend", [-40, -20, -5, 0, 12, 30, 45])
def test_pure_side_bend_reads_its_angle_in_every_channel(bend):
    m = matrix(bend, scale=62.0)
    assert head.lateral_flexion_deg(m) == pytest.approx(bend)
    assert head.image_roll_deg(m) == pytest.approx(bend)
    assert head.head_turn_deg(m) == pytest.approx(0, abs=1e-9)
    assert head.head_flexion_deg(m) == pytest.approx(0, abs=1e-9)
    right, forward = head.head_tilt_deg(m)
    assert right == pytest.approx(bend) and forward == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("turn", [-60, -30, 15, 35, 60])
@pytest.mark.parametrize("nod", [-20, 0, 15])
def test_turn_and_nod_leave_lateral_flexion_alone(turn, nod):
    """A pure turn or a pure nod (about the head's own axes) does not change the ear axis'
    elevation; the old image-plane roll does change once the head is both turned and nodded."""
    m = matrix(0, turn, nod)
    assert head.lateral_flexion_deg(m) == pytest.approx(0, abs=1e-9)
    assert head.head_turn_deg(m) == pytest.approx(turn)
    assert head.head_flexion_deg(m) == pytest.approx(nod, abs=1e-9)


def test_coupled_side_bend_is_the_ear_axis_elevation():
    """Side-bend 30 with a turn of 30 about the bent head's vertical: the ear axis rises
    asin(sin 30 cos 30); the image-plane roll reads more (it grows as the face turns)."""
    m = matrix(30, 30)
    expected = np.degrees(np.arcsin(np.sin(np.radians(30)) * np.cos(np.radians(30))))
    assert head.lateral_flexion_deg(m) == pytest.approx(expected)
    assert head.image_roll_deg(m) > head.lateral_flexion_deg(m) + 3


def test_signs_follow_the_person():
    assert head.head_turn_deg(matrix(0, 20)) > 0            # turned towards the person's right
    assert head.head_flexion_deg(matrix(0, 0, 20)) > 0      # chin down
    _, forward = head.head_tilt_deg(matrix(0, 0, 20))
    assert forward == pytest.approx(20)                     # the crown tips forward
    assert head.camera_yaw_deg(matrix(0, 20)) == pytest.approx(20)


@pytest.mark.parametrize("roll", [-10, 4, 10])
def test_trunk_roll_is_taken_off(roll):
    """A rolled camera rolls the head and the shoulder line alike: nothing changes."""
    m = np.eye(4)
    m[:3, :3] = rz(roll) @ matrix(25, 20, 10)[:3, :3]
    assert head.lateral_flexion_deg(m, roll) == pytest.approx(head.lateral_flexion_deg(matrix(25, 20, 10)))
    assert head.head_turn_deg(m, roll) == pytest.approx(head.head_turn_deg(matrix(25, 20, 10)))
    assert head.head_flexion_deg(m, roll) == pytest.approx(head.head_flexion_deg(matrix(25, 20, 10)))
    assert np.allclose(head.head_tilt_deg(m, roll), head.head_tilt_deg(matrix(25, 20, 10)))


def test_broadcasts_over_a_clip():
    ms = np.stack([matrix(b) for b in (0, 10, 20)])
    assert np.allclose(head.lateral_flexion_deg(ms, np.zeros(3)), [0, 10, 20])


def test_face_obliqueness_adds_turn_nod_and_position():
    assert head.face_obliqueness_deg(matrix(0, 30)) == pytest.approx(30)
    assert head.face_obliqueness_deg(matrix(0, 0, 20)) == pytest.approx(20)
    assert head.face_obliqueness_deg(matrix(40)) == pytest.approx(0, abs=1e-6)      # a side-bend faces the camera
    off_centre = matrix()
    off_centre[:3, 3] = [0.0, 0.0, -60.0]
    assert head.face_obliqueness_deg(off_centre) == pytest.approx(0, abs=1e-6)
    off_centre[:3, 3] = [60.0 * np.tan(np.radians(10)), 0.0, -60.0]                 # 10 deg off the axis
    assert head.face_obliqueness_deg(off_centre) == pytest.approx(10)
