"""Known truth: render a printed page through a known camera matrix and lens distortion, so every
calibration claim is tested against numbers that were put in."""

from __future__ import annotations

import math

import cv2
import numpy as np
from romcam.calibration.profiles import CameraProfile
from romcam.timestamps import now_iso


class SyntheticCamera:
    """A pinhole camera with OpenCV lens distortion that renders a flat page into an image.

    For every output pixel (sampled ``supersample`` times per axis) the undistorted viewing ray
    is computed once (iterated to convergence); a page pose then maps rays to page millimetres
    by the inverse plane homography, and the page texture is sampled there. The result is area-
    averaged down, so edges are anti-aliased like a real sensor's.
    """

    def __init__(self, camera_matrix, dist_coeffs, size: tuple[int, int], supersample: int = 2):
        self.k = np.asarray(camera_matrix, dtype=np.float64)
        self.dist = np.asarray(dist_coeffs, dtype=np.float64).ravel()
        self.size = (int(size[0]), int(size[1]))
        self.supersample = int(supersample)
        w, h = self.size
        s = self.supersample
        us = (np.arange(w * s) + 0.5) / s - 0.5
        vs = (np.arange(h * s) + 0.5) / s - 0.5
        grid = np.stack(np.meshgrid(us, vs), axis=-1).reshape(-1, 1, 2)
        rays = cv2.undistortPoints(grid, self.k, self.dist, criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-9))
        self._rays = rays.reshape(h * s, w * s, 2).astype(np.float64)

    def profile(self, name: str = "synthetic-truth") -> CameraProfile:
        """The true camera as a profile (what a perfect calibration would give)."""
        return CameraProfile(name, self.size[0], self.size[1], self.k.copy(), self.dist.copy(), 0.0, now_iso(),
                             notes="synthetic: the true camera of a rendering")

    def project(self, points_mm, rvec, tvec) -> np.ndarray:
        """(N, 2) image pixels of page points (N, 2) mm for a page pose (rvec, tvec in mm)."""
        pts = np.asarray(points_mm, dtype=np.float64).reshape(-1, 2)
        obj = np.column_stack([pts, np.zeros(len(pts))])
        img, _ = cv2.projectPoints(obj, np.asarray(rvec, float), np.asarray(tvec, float), self.k, self.dist)
        return img.reshape(-1, 2)

    def render(self, texture: np.ndarray, px_per_mm: float, rvec, tvec, background: int = 110,
               noise: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
        """Gray image of a page (``texture`` at ``px_per_mm``) posed at (rvec, tvec)."""
        rot, _ = cv2.Rodrigues(np.asarray(rvec, dtype=np.float64))
        plane = np.column_stack([rot[:, 0], rot[:, 1], np.asarray(tvec, dtype=np.float64).ravel()])
        inv = np.linalg.inv(plane)
        x, y = self._rays[..., 0], self._rays[..., 1]
        X = inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]
        Y = inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]
        W = inv[2, 0] * x + inv[2, 1] * y + inv[2, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            map_x = np.where(W > 0, X / W * px_per_mm - 0.5, -1e6).astype(np.float32)
            map_y = np.where(W > 0, Y / W * px_per_mm - 0.5, -1e6).astype(np.float32)
        big = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=int(background))
        image = cv2.resize(big, self.size, interpolation=cv2.INTER_AREA)
        if noise > 0:
            rng = rng or np.random.default_rng(0)
            image = np.clip(image + rng.normal(0.0, noise, image.shape), 0, 255).astype(np.uint8)
        return image

    def pose_for(self, page_point_mm, image_point_px, distance_mm: float, tilt_xyz_deg=(0.0, 0.0, 0.0)):
        """(rvec, tvec) putting ``page_point_mm`` at ``image_point_px``, ``distance_mm`` away,
        the page turned by the given angles (about the camera's x, y, z axes, degrees)."""
        rot = rotation_xyz(*tilt_xyz_deg)
        ray = cv2.undistortPoints(np.asarray(image_point_px, float).reshape(1, 1, 2), self.k, self.dist,
                                  criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-9)).ravel()
        anchor = np.array([page_point_mm[0], page_point_mm[1], 0.0])
        tvec = distance_mm * np.array([ray[0], ray[1], 1.0]) - rot @ anchor
        return cv2.Rodrigues(rot)[0].ravel(), tvec


def rotation_xyz(ax_deg: float, ay_deg: float, az_deg: float) -> np.ndarray:
    """Rz @ Ry @ Rx (camera axes: x right, y down, z forward), angles in degrees."""
    ax, ay, az = np.radians([ax_deg, ay_deg, az_deg])
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx
