"""Pure 2-D geometry on image points: directions, segment and joint angles (the head in 3-D is
:mod:`romcam.measure.head`).

Conventions (see docs/concepts/angles.md):

* points are image pixels, x to the right, y **down** (as OpenCV and MediaPipe give them);
* a *direction* is measured with y turned **up**, counter-clockwise positive, in degrees,
  so that angles read as on paper;
* functions take arrays whose last axis holds (x, y) and broadcast over leading axes,
  so the same code serves one frame or a whole clip.
"""

from __future__ import annotations

import math

import numpy as np


def wrap_deg(angle, period: float = 360.0):
    """Wrap to (-period/2, period/2]: (-180, 180] by default."""
    a = np.mod(np.asarray(angle, dtype=float) + period / 2, period) - period / 2
    return np.where(a == -period / 2, period / 2, a)


def direction_deg(p_from, p_to):
    """Direction of the segment p_from -> p_to, with y up, in (-180, 180]."""
    d = np.asarray(p_to, dtype=float) - np.asarray(p_from, dtype=float)
    return wrap_deg(np.degrees(np.arctan2(-d[..., 1], d[..., 0])))


def visual_rotation(angle_deg: float) -> np.ndarray:
    """2x2 matrix turning y-down vectors counter-clockwise *as seen* by ``angle_deg``."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, s], [-s, c]])


def angle_between_deg(u, v):
    """Unsigned angle between vectors u and v, in [0, 180]."""
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    dot = (u * v).sum(axis=-1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def vertex_angle_deg(a, b, c):
    """Angle ABC at vertex b, in [0, 180] (180 = the three points in a straight line)."""
    b = np.asarray(b, dtype=float)
    return angle_between_deg(np.asarray(a, dtype=float) - b, np.asarray(c, dtype=float) - b)


def flexion_deg(a, b, c):
    """Flexion at b of the chain a-b-c: 0 when straight, growing as the joint bends."""
    return 180.0 - vertex_angle_deg(a, b, c)


def ankle_dorsiflexion_deg(knee, ankle, heel, toe):
    """90 - angle(shank, foot): 0 with the shank perpendicular to the foot, positive as the knee
    travels over the toes (docs/design.md, "The ankle"). Shank = ankle -> knee, foot = heel -> toe."""
    shank = np.asarray(knee, dtype=float) - np.asarray(ankle, dtype=float)
    foot = np.asarray(toe, dtype=float) - np.asarray(heel, dtype=float)
    return 90.0 - angle_between_deg(shank, foot)
