"""Camera level (roll): from a board hung square to a spirit level, or from any known-vertical line."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from romcam.calibration.board import BoardSpec, board_homography, detect_board
from romcam.calibration.profiles import CameraProfile
from romcam.calibration.undistort import scaled_camera_matrix, undistort_points
from romcam.errors import RomcamError
from romcam.measure import angles


@dataclass
class RollMeasurement:
    roll_deg: float
    corners: int
    principal_point: tuple[float, float]
    undistorted: bool


def roll_from_homography(homography: np.ndarray, principal_point) -> float:
    """Camera roll from a plane whose -y axis is truly up (a board hung square to a level).

    The plane's vertical, H @ (0, -1, 0), is the image of its vanishing point; seen from the
    principal point c its direction is that of the vertical in the camera (fx ~ fy), whatever
    the camera's pitch or the board's turn. ``homography`` must give w > 0 in front (as
    :func:`board_homography` does). Folded to (-45, 45]: the board may hang in any of its four
    orientations, only its edges need to be level.
    """
    h = np.asarray(homography, dtype=float)
    v = h @ np.array([0.0, -1.0, 0.0])
    cx, cy = principal_point
    up = np.array([v[0] - cx * v[2], v[1] - cy * v[2]])
    return float(angles.wrap_deg(angles.direction_deg(0.0, up) - 90.0, 90.0))


def roll_from_board(image: np.ndarray, spec: BoardSpec, profile: CameraProfile | None = None,
                    name: str = "image") -> RollMeasurement:
    """Camera roll from one image of the board hung on a wall, its edges level/plumb."""
    view = detect_board(image, spec, name, blur_limit_px=float("inf"))
    if not view.ok:
        raise RomcamError(f"{name}: {view.problem}; show the whole board to the camera")
    w, h = view.image_size
    points, undistorted = view.corners, False
    principal = ((w - 1) / 2.0, (h - 1) / 2.0)
    if profile is not None:
        k = scaled_camera_matrix(profile, w, h)
        points = undistort_points(view.corners, profile, w, h)
        principal, undistorted = (float(k[0, 2]), float(k[1, 2])), True
    hom = board_homography(view, spec, points)
    return RollMeasurement(roll_from_homography(hom, principal), len(view.ids), principal, undistorted)


def roll_from_vertical_line(p1, p2) -> float:
    """Camera roll from two image points on a line known to be vertical (door frame, plumb line)."""
    d = np.asarray(p2, dtype=float) - np.asarray(p1, dtype=float)
    if not np.hypot(*d):
        raise RomcamError("the two points of the vertical line are the same point")
    return float(angles.wrap_deg(angles.direction_deg(0.0, d) - 90.0, 180.0))
