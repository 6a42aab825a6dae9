"""The head and the trunk in 3-D, and the neck angles measured between them (pure maths).

docs/design.md, "Neck side-bend in 3-D": real side-bends are coupled with a head turn and a small
nod, so the side-bend is measured in 3-D, as a CROM inclinometer reads it:

* **head frame**: the rotation part of MediaPipe's facial transformation matrix, columns
  normalised. In MediaPipe's metric camera space (x to the image right, y up, z towards the
  viewer) column 0 is the face's ear-to-ear axis (from the person's right to their left),
  column 1 the head's vertical axis and column 2 the face's forward normal;
* **trunk frame**: the shoulder line seen in the image (its direction ``trunk_roll_deg``, with
  y up, read while the head is upright: see :mod:`romcam.measure.series`) gives the trunk's
  right-to-left axis ``x_t``; the trunk's vertical ``y_t`` is perpendicular to it in the image
  plane and its forward axis ``z_t`` points at the camera (a front view);
* **lateral flexion** = the elevation of the ear-to-ear axis above the trunk's transverse plane,
  ``asin(ear . y_t)``; + = towards the person's right shoulder. A pure turn or a pure nod leaves
  it unchanged by construction.

The other channels, kept so that an odd trial can be explained: the **head turn** (rotation
about the trunk's vertical, + = towards the person's right), the **head flexion** (nod, + = chin
down) and the **tilt** of the head's vertical axis (towards the person's right and towards the
front), whose direction is what a neck circle goes round.

Every function broadcasts over leading axes (one frame or a whole clip).
"""

from __future__ import annotations

import numpy as np


def head_axes(matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ear, up, forward) unit axes of the head from facial transformation matrices (..., 4, 4)."""
    r = np.asarray(matrix, dtype=float)[..., :3, :3]
    r = r / np.linalg.norm(r, axis=-2, keepdims=True)
    return r[..., :, 0], r[..., :, 1], r[..., :, 2]


def trunk_axes(trunk_roll_deg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x_t, y_t, z_t): the trunk's right-to-left, vertical and forward axes in camera space,
    from the image direction of the shoulder line (right -> left shoulder, y up, degrees)."""
    a = np.radians(np.asarray(trunk_roll_deg, dtype=float))
    c, s, zero = np.cos(a), np.sin(a), np.zeros_like(a)
    x_t = np.stack([c, s, zero], axis=-1)
    y_t = np.stack([-s, c, zero], axis=-1)
    z_t = np.stack([zero, zero, np.ones_like(a)], axis=-1)
    return x_t, y_t, z_t


def _dot(u, v) -> np.ndarray:
    return np.sum(u * v, axis=-1)


def _asin_deg(x) -> np.ndarray:
    return np.degrees(np.arcsin(np.clip(x, -1.0, 1.0)))


def lateral_flexion_deg(matrix, trunk_roll_deg=0.0) -> np.ndarray:
    """Elevation of the ear-to-ear axis above the trunk's transverse plane; + = towards the
    person's right shoulder (docs/design.md, "Neck side-bend in 3-D")."""
    ear, _, _ = head_axes(matrix)
    _, y_t, _ = trunk_axes(trunk_roll_deg)
    return _asin_deg(_dot(ear, y_t))


def head_turn_deg(matrix, trunk_roll_deg=0.0) -> np.ndarray:
    """Rotation of the head about the trunk's vertical: 0 facing the camera, + = towards the
    person's right."""
    ear, _, _ = head_axes(matrix)
    x_t, _, z_t = trunk_axes(trunk_roll_deg)
    return np.degrees(np.arctan2(_dot(ear, z_t), _dot(ear, x_t)))


def head_flexion_deg(matrix, trunk_roll_deg=0.0) -> np.ndarray:
    """Nod: the face's forward axis below the trunk's transverse plane; + = chin down (flexion),
    - = extension. Includes the camera's own pitch: use it relative to the person's neutral."""
    _, _, forward = head_axes(matrix)
    _, y_t, _ = trunk_axes(trunk_roll_deg)
    return -_asin_deg(_dot(forward, y_t))


def head_tilt_deg(matrix, trunk_roll_deg=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Tilt of the head's vertical axis: (towards the person's right, towards the front), degrees.
    Its direction atan2(right, front) goes round once per neck circle."""
    _, up, _ = head_axes(matrix)
    x_t, _, z_t = trunk_axes(trunk_roll_deg)
    return _asin_deg(-_dot(up, x_t)), _asin_deg(_dot(up, z_t))


def image_roll_deg(matrix) -> np.ndarray:
    """Image-plane direction of the ear-to-ear axis (y up): the 2-D "head roll". It mixes a
    head turn into the side-bend (roughly as 1/cos(turn)); romcam uses it only to pick the
    moments the head is upright, when the shoulder line is read (:mod:`romcam.measure.series`)."""
    ear, _, _ = head_axes(matrix)
    return np.degrees(np.arctan2(ear[..., 1], ear[..., 0]))


def face_obliqueness_deg(matrix) -> np.ndarray:
    """How far the face is turned away from the camera: the angle between its forward axis and
    the line of sight from the face to the camera (the matrix's translation; straight along the
    camera's axis when the matrix carries none). Turning, nodding and sitting off the image
    centre all add to it; the face mesh's reliability depends on it, not on the trunk."""
    m = np.asarray(matrix, dtype=float)
    _, _, forward = head_axes(m)
    t = m[..., :3, 3]
    dist = np.linalg.norm(t, axis=-1, keepdims=True)
    sight = np.where(dist > 1e-9, -t / np.where(dist > 1e-9, dist, 1.0), np.array([0.0, 0.0, 1.0]))
    return np.degrees(np.arccos(np.clip(_dot(forward, sight), -1.0, 1.0)))


def camera_yaw_deg(matrix) -> np.ndarray:
    """How far the face is turned away from the camera (about the camera's vertical), + = towards
    the person's right. The face mesh's reliability depends on this, not on the trunk."""
    ear, _, _ = head_axes(matrix)
    return np.degrees(np.arctan2(ear[..., 2], ear[..., 0]))
