"""The scale at the leg: millimetres per pixel along the true horizontal, read from a target of
known size held upright beside the foot (the ChArUco board, or one ArUco marker), for the
ankle's knee over toe in cm (:mod:`romcam.measure.kneewall`).

The target's corners are found (OpenCV aruco), corrected like the landmarks when a camera profile
is given (undistorted, levelled by its measured roll), and a homography from the target's
millimetres to those pixels gives, at the target's centre, how many millimetres one pixel of the
level horizontal spans. A target that is not found, too small, blurred or turned away from the
camera gives no scale, with the reason (never a guess).

Measured on rendered targets (tests/integration/test_kneewall.py): the board is found from 0.6 px/mm (18-px
squares) up; lying on the floor, seen from knee height 2.5 m away (foreshortened to 0.2), it is
not found at all, so the target stands upright, facing the camera.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from romcam.calibration.angle_sheet import detect_markers
from romcam.calibration.board import BLUR_LIMIT_PX, BOARD_DICTIONARY, BoardSpec, detect_board, edge_blur_px, to_gray
from romcam.calibration.board import load_board
from romcam.calibration.undistort import correct_points
from romcam.errors import RomcamError
from romcam.measure.kneewall import Scale
from romcam.measure.legs import level_vectors

MARKER_DICTIONARY = BOARD_DICTIONARY    # the board's: 4x4 bits survive webcam blur best
MIN_MARKER_SIDE_PX = 30.0               # a corner off by 0.3 px moves a 30-px side's scale by ~1 %
MAX_TURN = 0.12                         # 1 - short/long axis of the target: ~28 deg turned away
LOOK_S = 3.0                            # the target is read over the first seconds (the still stand)
LOOK_FRAMES = 10
HELP = ("board (the ChArUco board of calibration/board.json), board:FILE.json, marker:ID:SIZE_MM "
        f"(one {MARKER_DICTIONARY} marker, its black square SIZE_MM wide) or none")


@dataclass(frozen=True)
class ScaleTarget:
    """What to look for: ``kind`` "board", "marker" or "none"."""

    kind: str
    board: BoardSpec | None = None
    marker_id: int | None = None
    size_mm: float | None = None

    @property
    def name(self) -> str:
        if self.kind == "marker":
            return f"marker {self.marker_id} ({self.size_mm:g} mm)"
        return "calibration board" if self.kind == "board" else "none"


def parse_scale_target(text: str | None) -> ScaleTarget:
    """``--scale-target`` text -> :class:`ScaleTarget` (one clear error for anything else)."""
    text = (text or "board").strip()
    if text.lower() == "none":
        return ScaleTarget("none")
    if text.lower() == "board":
        return ScaleTarget("board", BoardSpec())
    if text.lower().startswith("board:"):
        return ScaleTarget("board", load_board(Path(text[6:])))
    m = re.fullmatch(r"marker:(\d+):(\d+(?:\.\d+)?)(?:mm)?", text, re.IGNORECASE)
    if m:
        marker_id, size = int(m.group(1)), float(m.group(2))
        limit = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, MARKER_DICTIONARY)).bytesList.shape[0]
        if marker_id >= limit:
            raise RomcamError(f"--scale-target: {MARKER_DICTIONARY} has markers 0-{limit - 1}, not {marker_id} "
                              "(print one of those)")
        if not 20.0 <= size <= 1000.0:
            raise RomcamError(f"--scale-target: a marker {size:g} mm wide is not a printable marker "
                              "(give the black square's width in mm, e.g. marker:7:150)")
        return ScaleTarget("marker", marker_id=marker_id, size_mm=size)
    raise RomcamError(f"--scale-target {text!r} is not understood (use {HELP})")


@dataclass
class TargetView:
    """One image's reading: mm per px, or the problem."""

    mm_per_px: float | None
    problem: str | None = None
    size_px: float | None = None


def _points(image: np.ndarray, target: ScaleTarget):
    """(target mm (N, 2), image px (N, 2), problem): the target's corners in ``image``."""
    if target.kind == "board":
        view = detect_board(image, target.board)
        if not view.ok:
            return None, None, f"calibration board: {view.problem}"
        return target.board.corner_points_mm()[view.ids], view.corners, None
    found = detect_markers(image, MARKER_DICTIONARY)
    if target.marker_id not in found:
        others = f" (markers {', '.join(map(str, sorted(found)))} seen)" if found else ""
        return None, None, f"marker {target.marker_id} not found{others}"
    corners = found[target.marker_id]
    side = float(np.mean(np.linalg.norm(corners - np.roll(corners, 1, axis=0), axis=1)))
    if side < MIN_MARKER_SIDE_PX:
        return None, None, (f"marker {target.marker_id} is only {side:.0f} px across (need "
                            f"{MIN_MARKER_SIDE_PX:.0f}): too small or too far; print it larger or bring "
                            "the camera closer")
    blur = edge_blur_px(to_gray(image), corners)
    if blur is not None and blur > BLUR_LIMIT_PX:
        return None, None, (f"marker {target.marker_id} is blurred (edges smeared over {blur:z.1f} px, "
                            f"limit {BLUR_LIMIT_PX:z.1f}): focus, add light, hold it still")
    s = target.size_mm
    return np.array([[0.0, 0.0], [s, 0.0], [s, s], [0.0, s]]), corners, None


def mm_per_px_along(obj_mm, img_px, roll_deg: float = 0.0) -> tuple[float, float]:
    """(mm per pixel along the true horizontal at the target's centre, how far the target is
    turned from facing the camera as 1 - short/long axis). The homography's Jacobian J (px per mm)
    at the centre; the true horizontal in the image is the level x axis turned by the roll."""
    obj = np.asarray(obj_mm, dtype=np.float64)
    img = np.asarray(img_px, dtype=np.float64)
    h, _ = cv2.findHomography(obj, img, 0)
    if h is None:
        return math.nan, math.nan
    c = np.append(obj.mean(axis=0), 1.0)
    p = h @ c
    jac = (h[:2, :2] * p[2] - np.outer(p[:2], h[2, :2])) / p[2] ** 2
    sv = np.linalg.svd(jac, compute_uv=False)
    across = level_vectors(np.array([1.0, 0.0]), -roll_deg)     # image direction of the true horizontal
    return float(np.linalg.norm(np.linalg.solve(jac, across))), float(1.0 - sv[1] / sv[0])


def read_target(image: np.ndarray, target: ScaleTarget, *, roll_deg: float = 0.0, profile=None) -> TargetView:
    """The scale in one image. With a camera profile the corners are corrected as the landmarks
    are (:func:`romcam.calibration.undistort.correct_points`), so give ``roll_deg`` 0 then if the
    profile carries the roll."""
    obj, img, problem = _points(image, target)
    if problem:
        return TargetView(None, problem)
    if profile is not None:
        img = correct_points(img, profile, image.shape[1], image.shape[0])
        keep = np.all(np.isfinite(img), axis=1)
        obj, img = obj[keep], img[keep]
        if len(img) < 4:
            return TargetView(None, f"the {target.name} lies outside the camera profile's calibrated field")
    mm, turned = mm_per_px_along(obj, img, roll_deg)
    if not math.isfinite(mm):
        return TargetView(None, f"the {target.name}'s corners do not fit a flat target")
    if turned > MAX_TURN:
        return TargetView(None, f"the {target.name} is turned away from the camera (its sides differ by "
                                f"{100 * turned:.0f} %, limit {100 * MAX_TURN:.0f}): hold it upright, facing the camera")
    return TargetView(mm, None, float(np.ptp(img[:, 0])))


def scale_from_images(images, target: ScaleTarget, *, roll_deg: float = 0.0, profile=None,
                      where: str = "") -> Scale:
    """The median scale over the images the target was read on, else the reason (the problem of
    the image where the target came closest to being usable)."""
    if target.kind == "none":
        return Scale.missing("none", "no scale target (--scale-target none)")
    views = [read_target(im, target, roll_deg=roll_deg, profile=profile) for im in images]
    good = np.array([v.mm_per_px for v in views if v.mm_per_px is not None])
    if len(good) == 0:
        problems = [v.problem for v in views if v.problem]
        seen = [p for p in problems if "not found" not in p]
        why = (seen or problems or ["no frames to look at"])[0]
        return Scale.missing(target.name, f"{why}{where}; stand the target upright beside the foot, facing the "
                                          "camera, while the person stands still at the start")
    median = float(np.median(good))
    return Scale(median, target.name, "", len(good), float(100 * np.ptp(good) / median))


def scale_from_video(video, target: ScaleTarget, *, mirrored: bool = False, roll_deg: float = 0.0,
                     profile=None, look_s: float = LOOK_S, n_frames: int = LOOK_FRAMES) -> Scale:
    """:func:`scale_from_images` on ``n_frames`` frames spread over the first ``look_s`` seconds
    (the person standing still before the measurement, the target beside the foot)."""
    from romcam.capture.sources import open_source

    if target.kind == "none":
        return scale_from_images([], target)
    images = []
    with open_source(video, mirrored=mirrored) as source:
        fps = source.info.fps or 30.0
        last = max(int(look_s * fps), 1)
        wanted = set(np.linspace(0, last - 1, min(n_frames, last)).round().astype(int).tolist())
        for frame in source:
            if frame.index in wanted:
                images.append(frame.image)
            if frame.index >= last:
                break
    return scale_from_images(images, target, roll_deg=roll_deg, profile=profile,
                             where=f"; looked at {len(images)} frames of the first {look_s:g} s")
