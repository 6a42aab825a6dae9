"""Using a profile: undistort and level landmark coordinates (not whole frames: far cheaper),
and warn when the camera is tilted."""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from romcam.calibration.profiles import CameraProfile
from romcam.capture.landmarks import FrameLandmarks
from romcam.errors import RomcamError
from romcam.measure import angles

TILT_LIMIT_DEG = 3.0
# cv2.undistortPoints stops after 5 iterations by default: measured 0.12 px left over in the
# corner of a 1280x720 image with k1 = -0.28. Iterate to convergence instead.
UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-6)
UNDISTORT_RESIDUAL_PX = 0.5             # re-distorting must land this close, else NaN (lens model folds)


def scaled_camera_matrix(profile: CameraProfile, width: int, height: int) -> np.ndarray:
    """The profile's camera matrix for a ``width`` x ``height`` image.

    Same size: unchanged. Same aspect ratio (within 1 %): scaled, with pixel centres mapped
    exactly ((u + 0.5) * s - 0.5). Another aspect ratio means another crop of the sensor, which
    no scaling can recover: refused.
    """
    if (width, height) == (profile.width, profile.height):
        return np.asarray(profile.camera_matrix, dtype=float).copy()
    if width <= 0 or height <= 0:
        raise RomcamError(f"image size {width}x{height} is not an image size")
    aspect, profile_aspect = width / height, profile.width / profile.height
    if abs(aspect / profile_aspect - 1.0) > 0.01:
        raise RomcamError(
            f"camera profile {profile.name!r} was made at {profile.width}x{profile.height} but this video is "
            f"{width}x{height}, a different shape (another crop of the sensor); calibrate the camera at "
            f"{width}x{height}: romcam calibrate camera --name {profile.name}-{width}x{height}")
    sx, sy = width / profile.width, height / profile.height
    k = np.asarray(profile.camera_matrix, dtype=float).copy()
    k[0, 0] *= sx
    k[0, 1] *= sx
    k[1, 1] *= sy
    k[0, 2] = (k[0, 2] + 0.5) * sx - 0.5
    k[1, 2] = (k[1, 2] + 0.5) * sy - 0.5
    return k


def undistort_points(points_px, profile: CameraProfile, width: int, height: int) -> np.ndarray:
    """Where (N, 2) pixel points would be without lens distortion, still in pixels (P = K).

    Rows with NaN stay NaN; so do points the lens model cannot invert (far outside the
    calibrated field, where re-distorting the answer misses the input by over 0.5 px).
    """
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    out = np.full_like(pts, np.nan)
    k = scaled_camera_matrix(profile, width, height)
    dist = np.asarray(profile.dist_coeffs, dtype=np.float64)
    finite = np.all(np.isfinite(pts), axis=1)
    if not finite.any():
        return out
    src = pts[finite].reshape(-1, 1, 2)
    ideal = cv2.undistortPoints(src, k, dist, None, k, criteria=UNDISTORT_CRITERIA).reshape(-1, 2)
    out[finite] = ideal
    back = distort_points(ideal, k, dist)
    miss = np.linalg.norm(back - pts[finite], axis=1) > UNDISTORT_RESIDUAL_PX
    rows = np.flatnonzero(finite)[miss]
    out[rows] = np.nan
    return out


def distort_points(ideal_px, camera_matrix, dist_coeffs) -> np.ndarray:
    """The inverse of :func:`undistort_points`: where ideal pinhole pixels land through the lens."""
    pts = np.asarray(ideal_px, dtype=np.float64).reshape(-1, 2)
    k = np.asarray(camera_matrix, dtype=np.float64)
    normalised = np.column_stack([(pts[:, 0] - k[0, 2]) / k[0, 0], (pts[:, 1] - k[1, 2]) / k[1, 1],
                                  np.ones(len(pts))])
    normalised[:, 0] -= k[0, 1] * normalised[:, 1] / k[0, 0]
    projected, _ = cv2.projectPoints(normalised, np.zeros(3), np.zeros(3), k, np.asarray(dist_coeffs, dtype=np.float64))
    return projected.reshape(-1, 2)


def level_points(points_px, roll_deg: float, width: int, height: int) -> np.ndarray:
    """Turn points about the image centre by -roll_deg, so the world's verticals become vertical."""
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    if not roll_deg:
        return pts.copy()
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    return (pts - centre) @ angles.visual_rotation(-roll_deg).T + centre


def level_face_matrix(matrix: np.ndarray | None, roll_deg: float) -> np.ndarray | None:
    """MediaPipe's facial transformation matrix (x right, y up, z to the viewer) turned by -roll."""
    if matrix is None or not roll_deg:
        return matrix
    a = math.radians(-roll_deg)
    rz = np.eye(4)
    rz[:2, :2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
    return rz @ np.asarray(matrix, dtype=float)


def correct_points(points_px, profile: CameraProfile, width: int, height: int) -> np.ndarray:
    """Undistort, then level when the profile carries a measured roll."""
    ideal = undistort_points(points_px, profile, width, height)
    if profile.roll_deg:
        ideal = level_points(ideal, profile.roll_deg, width, height)
    return ideal


def undistort_series(landmarks: list[FrameLandmarks], profile: CameraProfile, width: int,
                     height: int) -> list[FrameLandmarks]:
    """New landmark records with pose[:, :2] and face[:, :2] undistorted (and levelled if the
    profile has a roll), all frames in one call. The face matrix is turned by the roll too, so
    head roll stays consistent with the shoulders; depth and visibility are left as they were."""
    scaled_camera_matrix(profile, width, height)     # refuse a wrong shape before any work
    chunks = []
    for lm in landmarks:
        for arr in (lm.pose, lm.face):
            if arr is not None:
                chunks.append(arr[:, :2])
    if not chunks:
        return list(landmarks)
    corrected = correct_points(np.vstack(chunks), profile, width, height)
    out, at = [], 0
    for lm in landmarks:
        changes = {}
        for attr in ("pose", "face"):
            arr = getattr(lm, attr)
            if arr is not None:
                new = arr.copy()
                new[:, :2] = corrected[at:at + len(arr)]
                at += len(arr)
                changes[attr] = new
        if profile.roll_deg and lm.face_matrix is not None:
            changes["face_matrix"] = level_face_matrix(lm.face_matrix, profile.roll_deg)
        out.append(dataclasses.replace(lm, **changes))
    return out


def tilt_warning(profile_or_roll_deg: CameraProfile | float | None, limit_deg: float = TILT_LIMIT_DEG) -> str | None:
    """A short warning for the live view when the camera's roll exceeds ``limit_deg``, else None."""
    from_profile = isinstance(profile_or_roll_deg, CameraProfile)
    roll = profile_or_roll_deg.roll_deg if from_profile else profile_or_roll_deg
    if roll is None or not math.isfinite(roll) or abs(roll) <= limit_deg:
        return None
    lean = "counter-clockwise" if roll > 0 else "clockwise"
    consequence = ("corrected with the roll measured for this profile, as long as the camera has not moved"
                   if from_profile else "angles against the vertical are off by that much unless corrected")
    return f"camera tilted {abs(roll):z.1f} deg (verticals lean {lean}; limit {limit_deg:g}): level it; {consequence}"
