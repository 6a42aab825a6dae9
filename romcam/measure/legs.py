"""The legs in a side view: MediaPipe's left/right swaps, which way the toes point, the shin's
inclination from the true vertical, heel rise, which leg does the movement, and whether the
movement is a dorsiflexion exercise at all.

Pure functions over a pose array ``lm`` of shape (T, 33, C), C >= 2 (:func:`pose_array`):
``lm[t, i] = (x_px, y_px[, z, visibility])`` in image pixels (y down), NaN for frames without a
person. Nothing here reads files or draws.

Conventions
-----------
* ``roll_deg``: the camera's roll = the angle by which the scene appears rotated
  COUNTER-CLOCKWISE on screen (the ``angle`` of ``cv2.getRotationMatrix2D`` that turns a level
  camera's frame into this one; the same sign as a camera profile's ``roll_deg``). A true
  vertical then leans left by ``roll_deg``; an image direction is corrected into the level frame
  by turning it clockwise by ``roll_deg`` (:func:`level_vectors`).
* Shin inclination: ankle -> knee from the true up direction, + = knee ahead of the ankle in the
  direction the toes point (what an inclinometer on the shin reads in the knee-to-wall test).
* Sides are the person's sides as MediaPipe labels them in an unmirrored image; after
  :func:`repair_leg_swaps`, the labelling MediaPipe used on most of the clip.

Measured on the real side-view clips (full pose model, VIDEO mode): MediaPipe's heel and toe
points read 8-42 deg "toe up" on a flat foot, so the foot points only give the toes' direction
and the heel's lift here. Which leg is loaded comes from the feet, not from MediaPipe's depth (z)
or visibility; which leg is nearer comes first from the share of frames each leg is usable on,
its depth order only breaking ties.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from romcam.capture.landmarks import FrameLandmarks
from romcam.measure.filters import running_median

LEG = {
    "left": {"hip": 23, "knee": 25, "ankle": 27, "heel": 29, "toe": 31},
    "right": {"hip": 24, "knee": 26, "ankle": 28, "heel": 30, "toe": 32},
}
SIDES = ("left", "right")
NOSE, LEFT_EAR, RIGHT_EAR = 0, 7, 8
_PARTS = ("hip", "knee", "ankle", "heel", "toe")
LEFT_IDX = np.array([LEG["left"][k] for k in _PARTS])
RIGHT_IDX = np.array([LEG["right"][k] for k in _PARTS])

# Heel rise / foot length (5-frame median) above which the heel counts as lifted. On the real
# clips: flat front feet of lunges and squats <= 0.28 at the 99th percentile, the lifted rear foot
# of a lunge >= 0.55. A foot is ~25 cm, so only lifts over ~10 cm are seen (docs/limits.md).
HEEL_LIFT_THRESHOLD = 0.4


def pose_array(landmarks: list[FrameLandmarks]) -> np.ndarray:
    """(T, 33, 4) x_px, y_px, z, visibility per frame; NaN rows where no person was found."""
    out = np.full((len(landmarks), 33, 4), np.nan)
    for i, lm in enumerate(landmarks):
        if lm.pose is not None:
            out[i] = lm.pose[:33, :4]
    return out


# ----------------------------------------------------------------------------- geometry

def level_vectors(v, roll_deg: float = 0.0) -> np.ndarray:
    """Image vectors (..., 2) = (dx, dy), y down, turned into the level (roll-corrected) frame:
    the camera's roll made the scene appear turned counter-clockwise by ``roll_deg``, so turn
    clockwise on screen by ``roll_deg``. Points work too (about the image origin)."""
    v = np.asarray(v, dtype=float)
    th = np.radians(roll_deg)
    c, s = np.cos(th), np.sin(th)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


def frame_leg_length(lm) -> np.ndarray:
    """Per frame, hip->knee + knee->ankle averaged over both legs (NaN without them)."""
    lm = np.asarray(lm, dtype=float)
    per_leg = [np.linalg.norm(lm[..., g["knee"], :2] - lm[..., g["hip"], :2], axis=-1)
               + np.linalg.norm(lm[..., g["ankle"], :2] - lm[..., g["knee"], :2], axis=-1)
               for g in LEG.values()]
    return 0.5 * (per_leg[0] + per_leg[1])


def leg_length_px(lm) -> float:
    """The body's scale: median leg length over all frames."""
    d = frame_leg_length(lm)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else float("nan")


def foot_length_px(lm, side: str) -> float:
    """Median heel->toe distance (per-frame foot points are noisy; their median is not)."""
    lm = np.asarray(lm, dtype=float)
    g = LEG[side]
    d = np.linalg.norm(lm[:, g["toe"], :2] - lm[:, g["heel"], :2], axis=-1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else float("nan")


def _robust_range(x, lo: float = 5.0, hi: float = 95.0) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.percentile(x, hi) - np.percentile(x, lo)) if len(x) > 2 else 0.0


# ----------------------------------------------------------------------------- swaps

def swap_legs(lm, frames=None) -> np.ndarray:
    """A copy of ``lm`` with the legs' labels (hip, knee, ankle, heel, toe) exchanged on ``frames``
    (a bool mask or index array; all frames if None). Renders a MediaPipe swap, or undoes one."""
    out = np.array(lm, dtype=float, copy=True)
    sel = np.arange(len(out)) if frames is None else np.asarray(frames)
    if sel.dtype == bool:
        sel = np.flatnonzero(sel)
    left = out[sel][:, LEFT_IDX].copy()
    out[np.ix_(sel, LEFT_IDX)] = out[sel][:, RIGHT_IDX]
    out[np.ix_(sel, RIGHT_IDX)] = left
    return out


# knee, ankle, heel, toe (the hips overlap in a side view and carry no information)
_TRACK_POINTS = ("knee", "ankle", "heel", "toe")
_TRACK_WEIGHTS = np.array([0.5, 1.0, 1.0, 1.0])
_TRACK_IDX = {s: np.array([LEG[s][k] for k in _TRACK_POINTS]) for s in SIDES}


def _cost(p, q) -> float:
    return float(np.sum(_TRACK_WEIGHTS * np.linalg.norm(p - q, axis=-1)) / _TRACK_WEIGHTS.sum())


def _costs(a, b, ref) -> tuple[float, float]:
    """The costs of keeping and of exchanging the labels of legs ``a``, ``b`` against ``ref``."""
    return _cost(a, ref[0]) + _cost(b, ref[1]), _cost(a, ref[1]) + _cost(b, ref[0])


@dataclass(frozen=True)
class TrackStep:
    swapped: bool        # MediaPipe's labels are exchanged on this frame (relative to the track)
    ambiguous: bool      # too close to call (legs overlapping or merged): parity kept, angle unsafe
    segment: int         # track segment (restarts after a gap, a jump, another person)
    margin: float        # cost(other assignment) - cost(chosen), leg lengths (NaN on a restart)


class LegSwapTracker:
    """Causal (frame by frame) tracking of the two physical legs through MediaPipe's label swaps.

    Each frame's legs are compared with both legs as last seen on a *confident* frame: the cost of
    an assignment is the weighted mean distance of knee (0.5), ankle, heel and toe (1 each) in leg
    lengths, and the cheaper of "keep" and "swap" wins (the 2x2 assignment). A frame is
    *ambiguous* when the two costs differ by less than ``min_margin`` leg lengths (legs crossing,
    feet together) or when MediaPipe put both legs in one place (their separation under
    ``merge_ratio`` of the reference's): it keeps the previous parity and does not update the
    reference, so one glitch cannot flip the tracks. Changing the parity needs a clear margin,
    ``flip_margin``: MediaPipe's swaps are jumps between legs that are apart (margins of 0.2-1.4
    leg lengths), while a rear leg stepping past the standing one gives margins of 0.05-0.12 that
    point either way (lunges_side.mp4 analysed in two chunks lost the leg there with 0.03; with
    0.2 it did not). A smaller margin still flips the parity when ``flip_frames`` clear frames
    in a row all point against it: after a partial swap the reference can hold a leg drawn
    half-way to the other, and MediaPipe's corrected labels then came with margins of only
    0.04-0.07 while the rear foot stepped in beside the standing one; the frames stayed unsure
    for 0.37 s and a live session lost that lunge's return (with 4 frames: 0.23 s, and the trial
    counted). A frame whose margin against the last confident frame is under ``flip_margin`` is
    also compared with the last frame that was decided clearly (its *anchor*, at most ``max_gap``
    frames back), and when that comparison is clear it decides: MediaPipe swaps labels over two or
    three frames, drawing both legs part-way towards each other, and each of those frames looks
    like a small continuous step from the one before, so a chain of small-margin decisions can
    hand the track to the other leg; the legs as last seen clearly apart are not fooled (legs that
    are really crossing are close together, so the anchor cannot tell them apart and leaves the
    decision to the last frame). After more than ``max_gap`` frames without
    legs, when even the cheaper assignment costs over ``restart_cost`` leg lengths (another
    person, a cut), or at the first clear frame after more than ``max_gap`` unsure ones (the
    reference is stale: the lunges replayed three times lost the leg after 34 unsure frames
    without this), the tracks restart and a new segment begins with MediaPipe's labels.

    Measured on lunges_side.mp4: 8 stretches (48 frames) repaired; frame-to-frame jumps of the
    standing shin over 10 deg went 29 -> 13 (-> 5 with the ambiguous frames left out); rendered
    swaps were restored exactly (tests/integration/test_legs.py).
    """

    def __init__(self, scale_px: float | None = None, *, min_margin: float = 0.03, flip_margin: float = 0.2,
                 merge_ratio: float = 0.35, restart_cost: float = 1.0, max_gap: int = 10, flip_frames: int = 4):
        self.scale_px = scale_px
        self.min_margin, self.flip_margin, self.merge_ratio = min_margin, flip_margin, merge_ratio
        self.restart_cost, self.max_gap, self.flip_frames = restart_cost, max_gap, flip_frames
        self._lengths: deque[float] = deque(maxlen=300)   # live scale: recent leg lengths
        self._ref = None                  # (left, right) of the last confident frame, repaired
        self._anchor = None               # (frame, (left, right)) of the last frame decided clearly
        self._last_i: int | None = None
        self._unsure = 0                  # ambiguous frames in a row (the reference grows stale)
        self._against = 0                 # clear frames in a row that point against the parity
        self._parity = False
        self.segment = -1

    def _scale(self, pose) -> float:
        if self.scale_px is not None:
            return self.scale_px
        length = float(frame_leg_length(pose))
        if np.isfinite(length) and length > 0:
            self._lengths.append(length)
        return float(np.median(self._lengths)) if self._lengths else float("nan")

    def update(self, i: int, pose) -> TrackStep | None:
        """Frame ``i`` (a frame counter) with its pose (33, >=2); None when its legs are not seen."""
        pose = np.asarray(pose, dtype=float)
        scale = self._scale(pose)
        a, b = pose[_TRACK_IDX["left"], :2], pose[_TRACK_IDX["right"], :2]
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.isfinite(scale) and scale > 0):
            return None
        a, b = a / scale, b / scale
        gap = self._last_i is not None and i - self._last_i > self.max_gap
        self._last_i = i
        if self._ref is not None and not gap:
            ref = self._ref
            keep, swap = _costs(a, b, ref)
            anchor = self._anchor if self._anchor is not None and i - self._anchor[0] <= self.max_gap else None
            if abs(keep - swap) < self.flip_margin and anchor is not None:
                k2, s2 = _costs(a, b, anchor[1])
                if abs(k2 - s2) >= self.flip_margin:
                    ref, keep, swap = anchor[1], k2, s2
            margin = abs(keep - swap)
            clear = margin >= self.min_margin and _cost(a, b) >= self.merge_ratio * _cost(*ref)
            # a new person or a cut; or a clear frame after a long unsure stretch (stale reference)
            restart = min(keep, swap) > self.restart_cost or (clear and self._unsure > self.max_gap)
            if not restart:
                against = clear and (swap < keep) != self._parity
                self._against = self._against + 1 if against else 0
                if not clear or (against and margin < self.flip_margin and self._against < self.flip_frames):
                    self._unsure += 1
                    return TrackStep(self._parity, True, self.segment, margin)
                self._unsure = self._against = 0
                self._parity = swap < keep
                self._ref = (b, a) if self._parity else (a, b)
                if margin >= self.flip_margin:
                    self._anchor = (i, self._ref)
                return TrackStep(self._parity, False, self.segment, margin)
        self.segment += 1
        self._unsure = self._against = 0
        self._parity = False
        self._ref = (a, b)
        self._anchor = None
        return TrackStep(False, False, self.segment, float("nan"))


@dataclass
class SwapRepair:
    lm: np.ndarray              # landmarks with the legs' labels repaired (same shape as the input)
    swapped: np.ndarray         # (T,) bool: this frame's leg labels were exchanged
    ambiguous: np.ndarray       # (T,) bool: the assignment was too close to call
    n_repairs: int              # repaired stretches (runs of swapped frames)

    @property
    def n_frames_repaired(self) -> int:
        return int(self.swapped.sum())


def repair_leg_swaps(lm, **tracker_options) -> SwapRepair:
    """Offline: run :class:`LegSwapTracker` over the whole clip (scale = the clip's median leg
    length), then choose each track segment's parity so that the labels agree with MediaPipe's
    on most of its confident frames (a swap is the minority labelling). Live sessions use the
    tracker alone (causal); the majority step needs the whole clip."""
    lm = np.asarray(lm, dtype=float)
    n = len(lm)
    tracker = LegSwapTracker(leg_length_px(lm), **tracker_options)
    swapped, ambiguous = np.zeros(n, bool), np.zeros(n, bool)
    segment = np.full(n, -1)
    if np.isfinite(tracker.scale_px or np.nan):
        for i in range(n):
            step = tracker.update(i, lm[i])
            if step is not None:
                swapped[i], ambiguous[i], segment[i] = step.swapped, step.ambiguous, step.segment
    for s in np.unique(segment[segment >= 0]):
        sure = (segment == s) & ~ambiguous
        if sure.any() and swapped[sure].mean() > 0.5:
            swapped[segment == s] ^= True
    runs = int(np.sum(np.diff(np.concatenate(([0], swapped.astype(int), [0]))) == 1))
    return SwapRepair(swap_legs(lm, swapped), swapped, ambiguous, runs)


def uses_legs(joint) -> bool:
    """Whether ``joint`` is a limb drawn through a knee (its landmark names ``"{side}_knee"``...), so
    that MediaPipe's leg swaps change its angle: knee and hip flexion, the shin."""
    return joint.kind == "limb" and any(name.endswith("_knee") for name in joint.landmarks)


def with_legs_repaired(landmarks: list[FrameLandmarks]) -> list[FrameLandmarks]:
    """Offline: the landmarks with MediaPipe's leg swaps undone (:func:`repair_leg_swaps`, the legs'
    pose rows exchanged where the track says so; a frame too close to call keeps the track's
    labelling). In a lunge MediaPipe labels the rear leg as the front one while it passes and
    steps back, and the front knee's flexion jumps to the rear knee's."""
    repair = repair_leg_swaps(pose_array(landmarks))
    return [replace(lm, pose=swap_legs(lm.pose[None])[0]) if swapped and lm.pose is not None else lm
            for lm, swapped in zip(landmarks, repair.swapped)]


class LiveLegRepair:
    """Live counterpart of :func:`with_legs_repaired`: each frame's landmarks with the legs' labels
    kept on the same physical legs by the causal :class:`LegSwapTracker` (no offline majority
    step), as the ankle's live measurer keeps them."""

    def __init__(self):
        self.tracker = LegSwapTracker()
        self._i = 0

    def __call__(self, lm: FrameLandmarks) -> FrameLandmarks:
        self._i += 1
        if lm.pose is None:
            return lm
        step = self.tracker.update(self._i, lm.pose[:33, :2])
        return replace(lm, pose=swap_legs(lm.pose[None])[0]) if step is not None and step.swapped else lm


# ----------------------------------------------------------------------------- direction

def toe_x_component(lm, roll_deg: float = 0.0) -> np.ndarray:
    """Per frame, the mean over both feet of the heel->toe unit vector's x component in the
    level frame (+1: toes towards image right; a foot pointing at the camera gives ~0)."""
    lm = np.asarray(lm, dtype=float)
    comps = []
    for g in LEG.values():
        f = level_vectors(lm[:, g["toe"], :2] - lm[:, g["heel"], :2], roll_deg)
        n = np.linalg.norm(f, axis=-1)
        comps.append(np.where(n > 0, f[:, 0] / np.where(n > 0, n, 1.0), np.nan))
    stacked = np.stack(comps)
    count = np.isfinite(stacked).sum(axis=0)
    return np.where(count > 0, np.nansum(stacked, axis=0) / np.maximum(count, 1), np.nan)


def facing_x_component(lm, roll_deg: float = 0.0) -> np.ndarray:
    """Per frame, the nose's x offset from the ears' midpoint in the level frame (the facing)."""
    lm = np.asarray(lm, dtype=float)
    ears = 0.5 * (lm[:, LEFT_EAR, :2] + lm[:, RIGHT_EAR, :2])
    return level_vectors(lm[:, NOSE, :2] - ears, roll_deg)[:, 0]


def direction_sign(toe_x: float, facing_x: float) -> float:
    """+1/-1 from a (smoothed) toe component, else from the facing; NaN when neither says."""
    if np.isfinite(toe_x) and abs(toe_x) > 0.2:
        return float(np.sign(toe_x))
    if np.isfinite(facing_x) and abs(facing_x) > 1e-6:
        return float(np.sign(facing_x))
    return float("nan")


def toe_direction(lm, t, *, roll_deg: float = 0.0, window_s: float = 1.0) -> np.ndarray:
    """Per frame +1 when the toes point towards +x (image right, level frame), -1 towards -x, NaN
    when unknown: the running median over ``window_s`` of :func:`toe_x_component` (per-frame
    foot points are noisy), falling back to the facing (nose vs ears) where the feet say nothing."""
    toe = running_median(t, toe_x_component(lm, roll_deg), window_s)
    face = running_median(t, facing_x_component(lm, roll_deg), window_s)
    return np.array([direction_sign(a, b) for a, b in zip(toe, face)])


# ----------------------------------------------------------------------------- angles

def shin_inclination(lm, side: str, forward, *, roll_deg: float = 0.0) -> np.ndarray:
    """Shin (ankle -> knee) inclination from the true vertical in degrees, per frame: + = knee
    ahead of the ankle in the direction ``forward`` (+1/-1 per frame, or a scalar; see
    :func:`toe_direction`). ``roll_deg``: the camera's roll (0 assumes a level camera)."""
    lm = np.asarray(lm, dtype=float)
    g = LEG[side]
    v = level_vectors(lm[..., g["knee"], :2] - lm[..., g["ankle"], :2], roll_deg)
    fwd = np.broadcast_to(np.asarray(forward, dtype=float), v.shape[:-1])
    return np.degrees(np.arctan2(fwd * v[..., 0], -v[..., 1]))


def level_height(lm, index: int, roll_deg: float = 0.0) -> np.ndarray:
    """Level-frame y (down) of one landmark per frame."""
    return level_vectors(np.asarray(lm, dtype=float)[:, index, :2], roll_deg)[:, 1]


def heel_rise(lm, side: str, *, roll_deg: float = 0.0, rest: float | None = None,
              rest_quantile: float = 0.8, foot_len: float | None = None, point: str = "heel") -> np.ndarray:
    """Heel height above its resting level in foot lengths, per frame (+ = up, level frame).

    The resting level is ``rest`` (a level-frame y in px) or the ``rest_quantile`` of the heel's
    level-frame heights over the frames given: the heel spends most of a dorsiflexion exercise
    on the floor, and the quantile sits at the floor without following its lowest glitches.
    ``point="ankle"`` gives the ankle's rise the same way."""
    y = level_height(lm, LEG[side][point], roll_deg)
    if rest is None:
        finite = y[np.isfinite(y)]
        rest = float(np.quantile(finite, rest_quantile)) if len(finite) else float("nan")
    length = foot_length_px(lm, side) if foot_len is None else foot_len
    return (rest - y) / length


def heel_lifted(rise, threshold: float = HEEL_LIFT_THRESHOLD) -> np.ndarray:
    return np.asarray(rise, dtype=float) > threshold


# ----------------------------------------------------------------------------- the leg

@dataclass
class LegChoice:
    side: str
    reason: str
    scores: dict            # per side: planted, excursion_deg, ankle_travel_leg, usable, in_front, visibility


# A foot whose heel and ankle are down on under this share of the frames its leg is seen is
# lifted (a lunge's rear foot, a one-leg stance), when the other's is down on at least
# LOADED_MARGIN more. Measured (full model): lunges_side.mp4 rear foot 0.28 vs the standing 0.96;
# the first 4 s of squat_jumps_side.mp4 (both feet down) 0.97 and 0.95, mirrored 0.72 (the far
# leg, drawn by guess) and 0.81.
LIFTED_SHARE = 0.6
LOADED_MARGIN = 0.25


def usable_frames(lm, side: str, min_visibility: float = 0.5) -> np.ndarray:
    """(T,) bool: this leg's knee and ankle are found with at least ``min_visibility``."""
    lm = np.asarray(lm, dtype=float)
    g = LEG[side]
    pts = lm[:, [g["knee"], g["ankle"]]]
    seen = np.all(np.isfinite(pts[..., 0]), axis=1)
    if lm.shape[-1] > 3:
        seen &= np.all(pts[..., 3] >= min_visibility, axis=1)
    return seen


def leg_scores(lm, forward, *, roll_deg: float = 0.0, planted_rise: float = HEEL_LIFT_THRESHOLD,
               usable: dict | None = None) -> dict:
    """Per leg: ``planted`` = share of the frames where the leg is usable (``usable[side]``, else
    :func:`usable_frames`) whose heel and ankle both stay within ``planted_rise`` foot lengths of
    their resting level; ``excursion_deg`` = robust range of the shin inclination on planted
    frames; ``ankle_travel_leg`` = robust range of the ankle's height in leg lengths; ``usable``
    = share of all frames where the leg is usable; ``in_front`` = share of the frames with both
    legs' depth where this leg's knee and ankle are nearer the camera by MediaPipe's z (NaN
    without z); ``visibility`` = mean visibility of its knee and ankle (NaN without it)."""
    lm = np.asarray(lm, dtype=float)
    scale = leg_length_px(lm)
    n = max(len(lm), 1)
    depth = {}
    out = {}
    for s in SIDES:
        g = LEG[s]
        seen_leg = usable_frames(lm, s) if usable is None else np.asarray(usable[s], dtype=bool)
        rise = heel_rise(lm, s, roll_deg=roll_deg)
        ankle_rise = heel_rise(lm, s, roll_deg=roll_deg, point="ankle")
        seen = seen_leg & np.isfinite(rise) & np.isfinite(ankle_rise)
        planted = seen & (rise < planted_rise) & (ankle_rise < planted_rise)
        shin = shin_inclination(lm, s, forward, roll_deg=roll_deg)
        pts = lm[:, [g["knee"], g["ankle"]]]
        depth[s] = pts[..., 2].mean(axis=1) if lm.shape[-1] > 2 else np.full(len(lm), np.nan)
        vis = pts[..., 3][np.isfinite(pts[..., 3])] if lm.shape[-1] > 3 else np.array([])
        out[s] = {"planted": float(planted.sum() / max(seen.sum(), 1)),
                  "excursion_deg": _robust_range(shin[planted]) if planted.sum() > 5 else 0.0,
                  "ankle_travel_leg": _robust_range(level_height(lm, g["ankle"], roll_deg)) / scale,
                  "usable": float(seen_leg.sum() / n),
                  "visibility": float(vis.mean()) if len(vis) else float("nan")}
    both = np.isfinite(depth["left"]) & np.isfinite(depth["right"])
    for s, o in (("left", "right"), ("right", "left")):
        out[s]["in_front"] = float(np.mean(depth[s][both] < depth[o][both])) if both.any() else float("nan")
    return out


def nearer_leg(scores: dict) -> tuple[str, str]:
    """The leg nearer the camera, the one MediaPipe sees, from :func:`leg_scores`, and why: the
    leg usable on more frames (by 5 points or more), else the one in front by depth on most
    frames, else the one with the higher visibility."""
    left, right = scores["left"], scores["right"]

    def why(side):
        sc, other = scores[side], scores["right" if side == "left" else "left"]
        text = f"the {side} leg is nearer the camera (usable on {100 * sc['usable']:.0f} % of frames vs {100 * other['usable']:.0f} %"
        if np.isfinite(sc["in_front"]):
            text += f", in front by MediaPipe's depth on {100 * sc['in_front']:.0f} %"
        return text + ")"

    if abs(left["usable"] - right["usable"]) >= 0.05:
        side = "left" if left["usable"] > right["usable"] else "right"
    elif np.isfinite(left["in_front"]) and left["in_front"] != 0.5:
        side = "left" if left["in_front"] > 0.5 else "right"
    else:
        side = "left" if np.nan_to_num(left["visibility"]) >= np.nan_to_num(right["visibility"]) else "right"
    return side, why(side)


def choose_leg(lm, t, *, roll_deg: float = 0.0, forward=None, usable: dict | None = None) -> LegChoice:
    """``--side auto`` for the ankle. When one foot is lifted (down on under
    :data:`LIFTED_SHARE` of the frames its leg is seen) and the other is down on at least
    :data:`LOADED_MARGIN` more, the standing, loaded leg: a lunge's front leg, the leg of a
    one-leg stance. Otherwise (both feet stay down: a squat, a square lunge test, a rock forward
    over both ankles) the leg nearer the camera (:func:`nearer_leg`): the far leg is MediaPipe's
    guess behind the body, noisy and often unusable. Measured: lunges_side.mp4 the right (front,
    standing) leg, planted 96 % vs the rear leg's 28 %; the first 4 s of squat_jumps_side.mp4 the
    left leg (usable on 83 % of frames vs 33 %), and the right one in its mirror image.
    ``usable``: per side, the frames where that leg can be measured (default
    :func:`usable_frames`). Give ``lm`` with the swaps already repaired."""
    lm = np.asarray(lm, dtype=float)
    if forward is None:
        forward = toe_direction(lm, t, roll_deg=roll_deg)
    sc = leg_scores(lm, forward, roll_deg=roll_deg, usable=usable)
    left, right = sc["left"]["planted"], sc["right"]["planted"]
    if min(left, right) < LIFTED_SHARE and abs(left - right) >= LOADED_MARGIN:
        side = "left" if left > right else "right"
        other = "right" if side == "left" else "left"
        reason = (f"the {side} foot stays on the floor ({100 * sc[side]['planted']:.0f} % of the frames it is seen vs "
                  f"{100 * sc[other]['planted']:.0f} %): the standing leg")
    else:
        side, why = nearer_leg(sc)
        down = "both feet stay down" if min(left, right) >= LIFTED_SHARE else "no single standing leg"
        reason = f"{down}; {why}"
    return LegChoice(side, reason, sc)


# One frame: a leg is away from the camera when its knee and ankle lie this many leg lengths
# behind the other leg's by MediaPipe's depth and are this much less visible. Measured per frame
# (MediaPipe's labels, full model): the far leg of squat_jumps_side.mp4 and its mirror image
# 0.46-1.68 leg lengths behind and 0.36-0.59 less visible; on lunges_side.mp4 the front (right)
# leg never reads away (the rear leg 0.38-2.32 behind, 0.14-0.50 less visible).
AWAY_DEPTH_LEGS = 0.3
AWAY_VISIBILITY_GAP = 0.1


def away_from_camera(pose, side: str) -> bool:
    """One frame's pose (33, >=4): is this leg behind the other, away from the camera, by
    :data:`AWAY_DEPTH_LEGS` of depth and :data:`AWAY_VISIBILITY_GAP` of visibility? False when
    either leg's knee or ankle is missing."""
    pose = np.asarray(pose, dtype=float)
    other = "right" if side == "left" else "left"
    pts = {s: pose[[LEG[s]["knee"], LEG[s]["ankle"]]] for s in SIDES}
    length = float(frame_leg_length(pose))
    if pose.shape[-1] < 4 or not (np.isfinite(length) and length > 0) or not all(np.isfinite(p).all() for p in pts.values()):
        return False
    behind = (pts[side][:, 2].mean() - pts[other][:, 2].mean()) / length
    dimmer = pts[other][:, 3].min() - pts[side][:, 3].min()
    return bool(behind > AWAY_DEPTH_LEGS and dimmer > AWAY_VISIBILITY_GAP)


# ----------------------------------------------------------------------------- the exercise

@dataclass
class MovementCheck:
    is_dorsiflexion_exercise: bool
    reasons: list[str]
    hip_travel_legs: float       # robust horizontal travel of the hips, leg lengths
    moving_fraction: float       # share of frames whose hips move faster than ``speed``
    planted_fraction: float      # share of frames the measured heel is down
    backward: bool               # the shin's main excursion is backwards (knee behind the ankle)


def movement_check(lm, t, side: str, forward, *, roll_deg: float = 0.0, max_travel_legs: float = 1.5,
                   speed: float = 0.5, max_moving: float = 0.4, min_planted: float = 0.5) -> MovementCheck:
    """Is this a weight-bearing dorsiflexion exercise (squat, lunge, knee-to-wall)? Not when the
    hips travel over ``max_travel_legs`` leg lengths across the frame, or move faster than
    ``speed`` leg lengths/s on over ``max_moving`` of the frames (walking), nor when the measured
    heel is down less than ``min_planted`` of the time, nor when the shin's excursion behind the
    vertical exceeds the one ahead of it. Measured: walking_side_multi_person.mp4 fails it (hips
    travel > 3 leg lengths); lunges_side.mp4 and squat_jumps_side.mp4 pass."""
    lm = np.asarray(lm, dtype=float)
    t = np.asarray(t, dtype=float)
    scale = leg_length_px(lm)
    hip_x = level_vectors(0.5 * (lm[:, 23, :2] + lm[:, 24, :2]), roll_deg)[:, 0]
    travel = _robust_range(hip_x) / scale if np.isfinite(scale) else 0.0
    smooth = running_median(t, hip_x, 0.5)
    velocity = np.full(len(t), np.nan)
    if len(t) > 2:
        velocity[1:-1] = (smooth[2:] - smooth[:-2]) / (t[2:] - t[:-2]) / scale
    # a jump of tens of leg lengths per second is the tracker switching people, not walking
    moving = np.isfinite(velocity) & (np.abs(velocity) > speed) & (np.abs(velocity) < 10)
    moving_fraction = float(moving.sum() / max(np.isfinite(velocity).sum(), 1))
    rise = heel_rise(lm, side, roll_deg=roll_deg)
    rise = rise[np.isfinite(rise)]
    planted = float(np.mean(rise < HEEL_LIFT_THRESHOLD)) if len(rise) else 0.0
    shin = shin_inclination(lm, side, forward, roll_deg=roll_deg)
    shin = shin[np.isfinite(shin)]
    backward = False
    if len(shin) > 5:
        lo, hi = np.percentile(shin, 2), np.percentile(shin, 98)
        backward = bool(lo < -10.0 and -lo > hi)
    reasons = []
    if travel > max_travel_legs:
        reasons.append(f"the hips travel {travel:z.1f} leg lengths across the frame (walking?)")
    if moving_fraction > max_moving:
        reasons.append(f"the hips move faster than {speed:g} leg lengths/s on {moving_fraction:.0%} of frames")
    if planted < min_planted:
        reasons.append(f"the heel is down only {planted:.0%} of the time")
    if backward:
        reasons.append("the shin swings further behind the ankle than ahead of it")
    return MovementCheck(not reasons, reasons, travel, moving_fraction, planted, backward)


def frame_jumps(x, threshold: float = 10.0) -> int:
    """How many frame-to-frame changes exceed ``threshold`` (a trace's cleanliness)."""
    d = np.abs(np.diff(np.asarray(x, dtype=float)))
    return int(np.sum(d[np.isfinite(d)] > threshold))
