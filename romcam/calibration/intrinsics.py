"""The intrinsic fit: camera matrix and lens distortion from board views (OpenCV's ChArUco calibration)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from romcam.calibration.board import BoardSpec, BoardView
from romcam.calibration.collection import RECOMMENDED_VIEWS, ViewCollector, coverage_map
from romcam.errors import RomcamError

MIN_VIEWS = 6                           # fewer good views than this: refuse to calibrate
MAX_RMS_PX = 2.0                        # a calibration worse than this is refused, not saved


@dataclass
class CalibrationResult:
    """Camera intrinsics from board views, with how well they fit."""

    image_size: tuple[int, int]
    camera_matrix: np.ndarray
    dist_coeffs: np.ndarray
    rms_px: float
    per_view_rms_px: dict[str, float]
    std_px: dict[str, float]            # 1-sigma of fx, fy, cx, cy from the fit
    views: list[BoardView]
    dropped: list[tuple[str, float]]    # views dropped as outliers, with their RMS
    coverage: float                     # share of the coverage grid holding a corner

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.image_size[0] / (2 * self.camera_matrix[0, 0])))


def calibrate_views(views: Sequence[BoardView], spec: BoardSpec, *, min_views: int = MIN_VIEWS,
                    fix_k3: bool = True, max_rms_px: float = MAX_RMS_PX,
                    rejected: Sequence[BoardView] = ()) -> CalibrationResult:
    """Intrinsics and distortion from usable board views (OpenCV's calibrateCamera).

    ``k3`` is fixed at 0 by default: with a handful of hand-held views it mostly fits noise in
    the image corners. One view whose error is over 3x the median (and over 1 px) is dropped and
    the fit repeated, so a single bad frame cannot spoil a profile.
    """
    good = [v for v in views if v.ok]
    if len(good) < min_views:
        raise RomcamError(_too_few_views_message(len(good), min_views, list(rejected) + [v for v in views if not v.ok]))
    sizes = {v.image_size for v in good}
    if len(sizes) > 1:
        raise RomcamError(f"the views have different sizes ({', '.join(f'{w}x{h}' for w, h in sorted(sizes))}); "
                          "calibrate one resolution at a time")
    result = _fit(good, spec, fix_k3)
    worst_name = max(result.per_view_rms_px, key=result.per_view_rms_px.get)
    median = float(np.median(list(result.per_view_rms_px.values())))
    worst = result.per_view_rms_px[worst_name]
    if worst > max(1.0, 3 * median) and len(good) - 1 >= min_views:
        result = _fit([v for v in good if v.name != worst_name], spec, fix_k3)
        result.dropped = [(worst_name, worst)]
    if not math.isfinite(result.rms_px) or result.rms_px > max_rms_px:
        raise RomcamError(
            f"calibration failed: reprojection error {result.rms_px:.2f} px (a good one is under 1 px); "
            "check that the board file matches the printed board, that the board is flat, and that "
            "the views are sharp; nothing was saved")
    return result


def _too_few_views_message(n_good: int, min_views: int, bad: Sequence[BoardView]) -> str:
    reasons: dict[str, int] = {}
    for view in bad:
        key = view.problem.split(":")[0] if view.problem else "unusable"
        reasons[key] = reasons.get(key, 0) + 1
    why = "; ".join(f"{n} {k}" for k, n in reasons.items())
    return (f"only {n_good} usable view(s) of the board, need at least {min_views} "
            f"({RECOMMENDED_VIEWS} recommended)" + (f" — rejected: {why}" if why else "")
            + "; take more sharp views with the whole board (or most of it) in view; nothing was saved")


def _fit(views: Sequence[BoardView], spec: BoardSpec, fix_k3: bool) -> CalibrationResult:
    size = views[0].image_size
    corners_3d = np.column_stack([spec.corner_points_mm(), np.zeros(spec.corner_count)]).astype(np.float32)
    obj = [corners_3d[v.ids] for v in views]
    img = [v.corners.astype(np.float32).reshape(-1, 1, 2) for v in views]
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    rms, k, d, _, _, std_in, _, per_view = cv2.calibrateCameraExtended(obj, img, size, None, None, flags=flags)
    std = np.asarray(std_in).ravel()
    dist = np.zeros(5)
    dist[:min(5, d.size)] = d.ravel()[:5]
    return CalibrationResult(
        image_size=size, camera_matrix=np.asarray(k, dtype=np.float64), dist_coeffs=dist, rms_px=float(rms),
        per_view_rms_px={v.name: float(e) for v, e in zip(views, np.asarray(per_view).ravel())},
        std_px={"fx": float(std[0]), "fy": float(std[1]), "cx": float(std[2]), "cy": float(std[3])},
        views=list(views), dropped=[], coverage=float(coverage_map(views, size).mean()),
    )


def calibrate_images(images: Iterable[tuple[str, np.ndarray]], spec: BoardSpec, **kwargs) -> CalibrationResult:
    """Calibrate from (name, image) pairs: every usable view is kept (no novelty test)."""
    collector = ViewCollector(spec, live=False)
    for name, image in images:
        collector.offer(image, name)
    return calibrate_views(collector.views, spec, rejected=collector.rejected, **kwargs)
