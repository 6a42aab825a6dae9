"""The camera's roll from the scene: the room's straight lines (door frames, wall corners,
skirting boards, the floor edge), with a confidence. Used for the ankle's true vertical when
no camera profile carries a measured roll.

Sign: ``roll_deg`` is the angle by which the scene appears rotated COUNTER-CLOCKWISE on screen
(a level camera's frame passed through ``cv2.warpAffine(img, cv2.getRotationMatrix2D(c,
roll_deg, 1), ...)`` shows roll ``roll_deg``): the convention of a camera profile's ``roll_deg``
and of :func:`romcam.measure.legs.level_vectors`. A true vertical then leans left by it.

Method (measured on rotated copies of the shared side-view clips, tests/integration/test_scene_level.py):
line segments from OpenCV's LSD, the person's box masked out; the near-vertical lines are fitted
robustly (Huber) as lean vs. column, because a pitched camera makes true verticals converge
(keystone) while the roll is their lean at the image centre's column; near-horizontal lines
recede to several vanishing points, so they serve only as a fallback and a cross-check.
lunges_side.mp4 and walking_side_multi_person.mp4 rotated by +-3 and +-8 deg: recovered within
0.4 deg. squat_jumps_side.mp4 (a plain wall, handheld portrait camera) is not confident, and
romcam then says it assumed a level camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_DEV_DEG = 20.0          # lines further than this from vertical/horizontal are not room lines
CONFIDENT = 0.25            # confidence needed (with >= 3 supporting lines) to use the estimate


@dataclass(frozen=True)
class RollEstimate:
    roll_deg: float          # NaN when no usable line was found
    confidence: float        # 0..1
    n_lines: int             # lines supporting the estimate
    confident: bool
    method: str = "scene lines"
    roll_vertical: float = float("nan")     # from the near-vertical lines alone
    roll_horizontal: float = float("nan")   # from the near-horizontal lines alone


NO_ESTIMATE = RollEstimate(float("nan"), 0.0, 0, False)


def detect_segments(image: np.ndarray) -> np.ndarray:
    """Straight segments (N, 4) = x1, y1, x2, y2 in pixels, from OpenCV's line segment detector
    (Canny + probabilistic Hough where this OpenCV build lacks it)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    try:
        lines = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD).detect(gray)[0]
    except (AttributeError, cv2.error):
        edges = cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 0), 50, 150)
        lines = cv2.HoughLinesP(edges, 1, np.pi / 720, threshold=60,
                                minLineLength=int(0.04 * np.hypot(*gray.shape)), maxLineGap=5)
    return np.zeros((0, 4)) if lines is None else np.asarray(lines, dtype=float).reshape(-1, 4)


def person_box(pose, shape, margin: float = 0.15, min_visibility: float = 0.3):
    """(x0, y0, x1, y1) around one person's pose landmarks (33, >=2; column 3 = visibility),
    grown by ``margin`` of its size; None without landmarks."""
    if pose is None:
        return None
    p = np.asarray(pose, dtype=float)
    ok = np.all(np.isfinite(p[:, :2]), axis=1)
    if p.shape[1] >= 4:
        ok &= p[:, 3] >= min_visibility
    if ok.sum() < 2:
        return None
    (x0, y0), (x1, y1) = p[ok, :2].min(axis=0), p[ok, :2].max(axis=0)
    mx, my = margin * (x1 - x0) + 10, margin * (y1 - y0) + 10
    h, w = shape[:2]
    return max(0.0, x0 - mx), max(0.0, y0 - my), min(w, x1 + mx), min(h, y1 + my)


def segment_rolls(seg, max_dev: float = MAX_DEV_DEG):
    """Per segment: the roll it implies (deg), its length, and its kind ('v' near-vertical, 'h'
    near-horizontal, '' neither). A true vertical seen under roll r points up along
    (-sin r, -cos r); a true horizontal to the right along (cos r, -sin r)."""
    seg = np.asarray(seg, dtype=float).reshape(-1, 4)
    dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
    length = np.hypot(dx, dy)
    up = np.where(dy > 0, -1.0, 1.0)                 # orient upwards
    roll_v = -np.degrees(np.arctan2(up * dx, -up * dy))
    right = np.where(dx < 0, -1.0, 1.0)              # orient rightwards
    roll_h = np.degrees(np.arctan2(-right * dy, right * dx))
    roll = np.full(len(seg), np.nan)
    kind = np.full(len(seg), "", dtype="<U1")
    v, h = np.abs(roll_v) <= max_dev, np.abs(roll_h) <= max_dev
    roll[v], kind[v] = roll_v[v], "v"
    roll[h], kind[h] = roll_h[h], "h"
    return roll, length, kind


def _weighted_median(x, w) -> float:
    o = np.argsort(x)
    c = np.cumsum(w[o])
    return float(x[o][np.searchsorted(c, 0.5 * c[-1])])


def _weighted_mode(x, w, bandwidth: float = 0.5) -> float:
    grid = np.arange(-MAX_DEV_DEG, MAX_DEV_DEG + 1e-9, 0.05)
    density = (w[None, :] * np.exp(-0.5 * ((grid[:, None] - x[None, :]) / bandwidth) ** 2)).sum(axis=1)
    return float(grid[int(np.argmax(density))])


def _vertical_fit(roll_v, seg, length, shape, ridge: float = 0.01, iterations: int = 10):
    """Huber IRLS, length-weighted: roll_v_i = a + b * (x_i - cx) / diag, x_i = where line i
    crosses the middle row. The keystone of a pitched camera is the slope b; the roll is the
    intercept a. Returns (a, residual scale deg, inlier mask)."""
    h, w = shape[:2]
    cx, cy, diag = w / 2.0, h / 2.0, float(np.hypot(h, w))
    mid = 0.5 * (seg[:, :2] + seg[:, 2:])
    dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
    dy = np.where(np.abs(dy) < 1e-9, 1e-9, dy)
    xc = (mid[:, 0] + (cy - mid[:, 1]) * dx / dy - cx) / diag
    X = np.stack([np.ones_like(xc), xc], axis=1)
    a, b, scale = _weighted_median(roll_v, length), 0.0, 1.0
    for _ in range(iterations):
        res = roll_v - (a + b * xc)
        scale = max(1.4826 * float(np.median(np.abs(res))), 0.3)
        wt = length * np.minimum(1.0, 1.5 * scale / np.maximum(np.abs(res), 1e-9))
        a, b = np.linalg.solve(X.T @ (wt[:, None] * X) + np.diag([0.0, ridge * wt.sum()]), X.T @ (wt * roll_v))
    res = roll_v - (a + b * xc)
    return float(a), float(scale), np.abs(res) <= max(2.5 * scale, 1.0)


def _kept_segments(seg, shape, exclude_boxes, valid_mask, min_len_frac, border_px):
    h, w = shape[:2]
    roll, length, kind = segment_rolls(seg)
    keep = np.isfinite(roll) & (length >= min_len_frac * float(np.hypot(h, w)))
    ends = [seg[:, 0:2], seg[:, 2:4]]
    points = ends + [0.5 * (ends[0] + ends[1])]
    for box in exclude_boxes:
        if box is not None:
            x0, y0, x1, y1 = box
            for p in points:
                keep &= ~((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1))
    for p in ends:     # the image border is not a room line
        keep &= (p[:, 0] > border_px) & (p[:, 0] < w - 1 - border_px) & (p[:, 1] > border_px) & (p[:, 1] < h - 1 - border_px)
    if valid_mask is not None:
        for p in points:
            keep &= valid_mask[np.clip(np.round(p[:, 1]).astype(int), 0, h - 1),
                               np.clip(np.round(p[:, 0]).astype(int), 0, w - 1)] > 0
    return roll[keep], length[keep], kind[keep], seg[keep]


def roll_from_segments(seg, shape, *, exclude_boxes=(), valid_mask=None, min_len_frac: float = 0.03,
                       inlier_deg: float = 1.5, border_px: int = 4, min_vertical: int = 4) -> RollEstimate:
    """The roll from straight segments longer than ``min_len_frac`` of the image diagonal,
    within 20 deg of vertical or horizontal, outside the person's box(es) and inside
    ``valid_mask``. Verticals: :func:`_vertical_fit` (all true verticals share one vanishing
    point). Horizontals (one vanishing point per wall): the length-weighted mode, refined by the
    weighted median within ``inlier_deg``; used alone only with fewer than ``min_vertical``
    verticals. confidence = min(1, supporting length / diagonal) x min(1, 1 deg / residual
    scale), halved for horizontals alone."""
    diag = float(np.hypot(*shape[:2]))
    roll, length, kind, seg = _kept_segments(np.asarray(seg, dtype=float).reshape(-1, 4), shape,
                                             exclude_boxes, valid_mask, min_len_frac, border_px)
    from_v = from_h = float("nan")
    est = NO_ESTIMATE
    v, h = kind == "v", kind == "h"
    if h.any():
        mode = _weighted_mode(roll[h], length[h])
        inl = np.abs(roll[h] - mode) <= inlier_deg
        from_h = _weighted_median(roll[h][inl], length[h][inl])
        support = float(length[h][inl].sum())
        conf = 0.5 * support / float(length[h].sum()) * min(1.0, support / diag)
        est = RollEstimate(from_h, conf, int(inl.sum()), False, "scene lines (horizontal)")
    if v.sum() >= min_vertical:
        from_v, scale, inl = _vertical_fit(roll[v], seg[v], length[v], shape)
        conf = min(1.0, float(length[v][inl].sum()) / diag) * min(1.0, 1.0 / scale)
        est = RollEstimate(from_v, conf, int(inl.sum()), False, "scene lines (vertical)")
    return RollEstimate(est.roll_deg, est.confidence, est.n_lines,
                        bool(np.isfinite(est.roll_deg) and est.confidence >= CONFIDENT and est.n_lines >= 3),
                        est.method, from_v, from_h)


def estimate_roll(frames, poses=None, *, valid_masks=None) -> RollEstimate:
    """The camera's roll from one or more frames of a still camera (BGR or gray arrays).
    ``poses``: per frame, a person's pose landmarks (33, >=2) or a list of them, masked out.
    Each frame is estimated alone; they are combined by a confidence-weighted median, and the
    confidence is halved when they disagree by more than 1 deg (a moving, handheld camera)."""
    frames = list(frames)
    poses = list(poses) if poses is not None else [None] * len(frames)
    masks = list(valid_masks) if valid_masks is not None else [None] * len(frames)
    per_frame = []
    for image, pose, mask in zip(frames, poses, masks):
        persons = [] if pose is None else (pose if isinstance(pose, (list, tuple)) else [pose])
        boxes = [person_box(p, image.shape) for p in persons]
        per_frame.append(roll_from_segments(detect_segments(image), image.shape, exclude_boxes=boxes,
                                            valid_mask=mask))
    found = [e for e in per_frame if np.isfinite(e.roll_deg)]
    if not found:
        return NO_ESTIMATE
    if len(found) == 1:
        return found[0]
    values = np.array([e.roll_deg for e in found])
    weights = np.array([max(e.confidence, 1e-6) for e in found])
    roll = _weighted_median(values, weights)
    spread = float(np.median(np.abs(values - roll)))
    conf = float(np.median(weights)) * (1.0 if spread <= 1.0 else 0.5)
    n = int(np.median([e.n_lines for e in found]))
    return RollEstimate(roll, conf, n, bool(conf >= CONFIDENT and n >= 3), f"scene lines, {len(found)} frames",
                        float(np.nanmedian([e.roll_vertical for e in found])) if any(
                            np.isfinite(e.roll_vertical) for e in found) else float("nan"),
                        float(np.nanmedian([e.roll_horizontal for e in found])) if any(
                            np.isfinite(e.roll_horizontal) for e in found) else float("nan"))


def sample_indices(poses, n: int = 5) -> list[int]:
    """Up to ``n`` frame indices spread evenly over a clip, among frames with a person found
    (their boxes mask the person out) or any frame when none was."""
    have = [i for i, p in enumerate(poses) if p is not None]
    pool = have or list(range(len(poses)))
    if not pool:
        return []
    picks = np.linspace(0, len(pool) - 1, min(n, len(pool))).round().astype(int)
    return sorted({pool[k] for k in picks})


def estimate_video_roll(video, poses, *, mirrored: bool = False, n_frames: int = 5) -> RollEstimate:
    """:func:`estimate_roll` on ``n_frames`` frames spread over a recording; ``poses`` are the
    per-frame pose arrays (or None) of the analysis, in the same unmirrored frame."""
    from romcam.capture.sources import open_source

    wanted = set(sample_indices(poses, n_frames))
    images, masks = [], []
    with open_source(video, mirrored=mirrored) as source:
        for frame in source:
            if frame.index in wanted:
                images.append(frame.image)
                masks.append(poses[frame.index])
            if frame.index >= max(wanted, default=-1):
                break
    return estimate_roll(images, masks)
