"""Pure geometry: directions, joint angles, head roll and yaw from a rotation matrix."""

from __future__ import annotations

import numpy as np
import pytest

from romcam.measure import angles


def test_direction_uses_y_up():
    assert angles.direction_deg([0, 0], [1, 0]) == pytest.approx(0)
    assert angles.direction_deg([0, 0], [0, -1]) == pytest.approx(90)   # image "up"
    assert angles.direction_deg([0, 0], [-1, 0]) == pytest.approx(180)


def test_wrap():
    assert np.allclose(angles.wrap_deg([-190, -180, 0, 180, 190, 540]), [170, 180, 0, 180, -170, 180])


@pytest.mark.parametrize("bend", [0, 15, 45, 90, 130])
def test_flexion_of_a_chain(bend):
    a, b = np.array([0.0, 0.0]), np.array([0.0, 100.0])
    rad = np.radians(bend)
    c = b + 100 * np.array([np.sin(rad), np.cos(rad)])
    assert angles.flexion_deg(a, b, c) == pytest.approx(bend, abs=1e-9)


@pytest.mark.parametrize("lean", [-10, 0, 20, 38])
def test_ankle_dorsiflexion_is_shank_inclination_with_flat_foot(lean):
    ankle, heel, toe = np.array([500.0, 800.0]), np.array([470.0, 810.0]), np.array([640.0, 810.0])
    rad = np.radians(lean)
    knee = ankle + 400 * np.array([np.sin(rad), -np.cos(rad)])  # knee forward over the toes
    assert angles.ankle_dorsiflexion_deg(knee, ankle, heel, toe) == pytest.approx(lean, abs=1e-9)


def test_vectorised_over_frames():
    a = np.zeros((5, 2))
    b = np.tile([0.0, 1.0], (5, 1))
    c = b + np.column_stack([np.linspace(0, 1, 5), np.ones(5)])
    assert angles.flexion_deg(a, b, c).shape == (5,)
