"""Ankle dorsiflexion over a recording or live: the shin's inclination from the true vertical on
the leg that does the movement, kept on the same physical leg through MediaPipe's swaps, with
heel-rise flags and a check that the movement is a dorsiflexion exercise (docs/design.md, "The ankle").

Pure: landmark records and numbers in, numbers out. The geometry is :mod:`romcam.measure.legs`;
where the vertical comes from (a camera profile, the scene, or nothing) is decided by the caller
and handed in as a :class:`Vertical`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from romcam.capture.landmarks import FrameLandmarks
from romcam.measure import kneewall, legs
from romcam.measure.filters import running_median
from romcam.measure.joints import SIDES, Joint
from romcam.measure.reps import Rep
from romcam.measure.series import LEG_UNSEEN, MIN_VISIBILITY, NO_PERSON

SHIN_JOINTS = ("ankle_dorsiflexion",)
TILT_WARN_DEG = 3.0
HEEL_WINDOW_S = 0.2          # a rep's heel is judged over its peak +- this
SMOOTH_FRAMES = 5            # heel rise: 5-frame running median
SPIKE_WINDOW_S = 0.14       # 5 frames at 30 fps, 3 at 15 fps: 1-2 frame spikes, not a peak
SPIKE_DEG = 12.0             # a shin sample this far from that median is a glitch
MIN_RUN = 3                  # shorter runs of valid shin samples between glitches are left out


def is_shin_joint(joint: Joint) -> bool:
    """Joints measured as the shin's inclination (the ankle; tibial_inclination is its alias)."""
    return joint.name in SHIN_JOINTS


@dataclass(frozen=True)
class Vertical:
    """Where the true vertical comes from. ``roll_deg`` is the roll still to correct in the
    landmarks (0 when a camera profile has already levelled them); ``camera_roll_deg`` is the
    camera's roll as known (None when unknown); ``source`` is "camera profile", "scene" or
    "assumed level"."""

    source: str = "assumed level"
    roll_deg: float = 0.0
    camera_roll_deg: float | None = None
    confidence: float | None = None
    detail: str = ""

    @classmethod
    def from_profile(cls, roll_deg: float) -> Vertical:
        return cls("camera profile", 0.0, float(roll_deg), None, "the camera profile's measured roll")

    @classmethod
    def from_scene(cls, roll_deg: float, confidence: float, confident: bool, detail: str = "") -> Vertical:
        if confident and math.isfinite(roll_deg):
            return cls("scene", float(roll_deg), float(roll_deg), float(confidence),
                       detail or "estimated from the room's straight lines")
        return cls("assumed level", 0.0, None, float(confidence) if math.isfinite(confidence) else None,
                   "no camera profile with a measured roll, and the scene's straight lines gave no "
                   f"confident roll (confidence {confidence:.2f})")

    def describe(self) -> str:
        if self.source == "assumed level":
            return "true vertical: assumed a level camera (a tilted camera adds its tilt to the angle)"
        conf = f", confidence {self.confidence:.2f}" if self.confidence is not None else ""
        return f"true vertical: camera roll {self.camera_roll_deg:+z.1f} deg from the {self.source}{conf}"

    def warnings(self) -> list[str]:
        out = []
        if self.source == "assumed level":
            why = self.detail or "no camera profile with a measured roll, no scene estimate"
            out.append(f"the ankle angle assumed a level camera ({why}); a camera profile with a measured "
                       "roll (romcam calibrate level) removes this doubt")
        if self.camera_roll_deg is not None and abs(self.camera_roll_deg) > TILT_WARN_DEG:
            out.append(f"the camera is tilted {abs(self.camera_roll_deg):z.1f} deg (limit {TILT_WARN_DEG:g}); "
                       f"corrected from the {self.source}, but level the camera if you can")
        return out

    def as_dict(self) -> dict:
        r = self.camera_roll_deg
        return {"source": self.source, "camera_roll_deg": None if r is None else round(r, 2),
                "confidence": None if self.confidence is None else round(self.confidence, 2),
                "note": self.describe()}


@dataclass
class LegSeries:
    """The legs of a recording, measured: per side the shin inclination (raw, NaN where not
    usable) and the heel rise, plus the repairs and the leg choice."""

    t: np.ndarray
    shin: dict[str, np.ndarray]
    valid: dict[str, np.ndarray]
    heel_rise: dict[str, np.ndarray]
    repair: legs.SwapRepair
    choice: legs.LegChoice
    check: legs.MovementCheck
    vertical: Vertical
    knee_x: dict[str, np.ndarray] = field(default_factory=dict)   # px along the toes' direction, level frame
    toe_x: dict[str, np.ndarray] = field(default_factory=dict)    # (kneewall.forward_x), NaN unseen


def _usable(lm: np.ndarray, side: str, min_visibility: float) -> np.ndarray:
    return legs.usable_frames(lm, side, min_visibility)


def glitch_options(joint: Joint) -> dict:
    """How :func:`romcam.measure.filters.reject_glitches` cleans this joint's angle (offline and
    when a session re-reads a peak). The shin: MediaPipe draws single frames with one leg's knee
    on the other's ankle while the rear leg passes (1-2 frame spikes of 15-25 deg, seen on the
    lunges), which the general 0.35-s window lets through during fast movement: samples over
    12 deg from their 5-frame median go. And it draws the standing foot half-way to the rear
    one for several frames in a row: a valid sample or two left between such frames (no
    neighbour to check them against) read 39.5 deg in a 25-deg lunge; runs under 3 samples go."""
    return {"spike_deg": SPIKE_DEG, "spike_window_s": SPIKE_WINDOW_S, "min_run": MIN_RUN} if is_shin_joint(joint) else {}


def measure_legs(landmarks: list[FrameLandmarks], vertical: Vertical | None = None,
                 min_visibility: float = MIN_VISIBILITY) -> LegSeries:
    """Offline: repair the swaps, find the toes' direction, measure both shins against the true
    vertical, their heel rise, choose the standing leg and check the movement."""
    vertical = vertical or Vertical()
    roll = vertical.roll_deg
    t = np.array([lm.t_s for lm in landmarks], dtype=float)
    repair = legs.repair_leg_swaps(legs.pose_array(landmarks))
    lm = repair.lm
    forward = legs.toe_direction(lm, t, roll_deg=roll)
    shin, valid, rise, knee, toe = {}, {}, {}, {}, {}
    for side in SIDES:
        ok = _usable(lm, side, min_visibility) & ~repair.ambiguous & np.isfinite(forward)
        shin[side] = np.where(ok, legs.shin_inclination(lm, side, forward, roll_deg=roll), np.nan)
        knee[side], toe[side] = (np.where(ok, kneewall.forward_x(lm, side, part, forward, roll_deg=roll,
                                                                 min_visibility=min_visibility), np.nan)
                                 for part in ("knee", "toe"))
        valid[side] = ok & np.isfinite(shin[side])
        r = np.where(repair.ambiguous, np.nan, legs.heel_rise(lm, side, roll_deg=roll))
        rise[side] = running_median(np.arange(len(t), dtype=float), r, SMOOTH_FRAMES - 1)
    choice = legs.choose_leg(lm, t, roll_deg=roll, forward=forward, usable=valid)
    check = legs.movement_check(lm, t, choice.side, forward, roll_deg=roll)
    return LegSeries(t, shin, valid, rise, repair, choice, check, vertical, knee, toe)


def heel_lifted_at(t, rise, peak_s: float, window_s: float = HEEL_WINDOW_S) -> bool | None:
    """Was the heel up at a rep's peak? The median heel rise over peak +- ``window_s`` against
    :data:`legs.HEEL_LIFT_THRESHOLD` (at the end of range is where a lifted heel voids a
    knee-to-wall trial; single frames where the other leg steps past are not). None if unseen."""
    t = np.asarray(t, dtype=float)
    rise = np.asarray(rise, dtype=float)
    near = (np.abs(t - peak_s) <= window_s) & np.isfinite(rise)
    if not near.any():
        return None
    return bool(np.median(rise[near]) > legs.HEEL_LIFT_THRESHOLD)


def rep_floor_deg(joint: Joint) -> float:
    """A dorsiflexion rep must bring the knee at least this far ahead of the ankle (the joint's
    minimum amplitude, from a vertical shin): no negative or near-zero "dorsiflexion rep"."""
    return joint.reps.min_amplitude_deg


@dataclass
class AnkleReport:
    """What the ankle adds to an analysis: reps kept, flags, notes and summary fields."""

    reps: dict[str, list[Rep]]
    heel_lifted: dict[tuple[str, float], bool | None] = field(default_factory=dict)
    knee_over_toe_cm: dict[tuple[str, float], float | None] = field(default_factory=dict)
    knee_over_toe_cm_series: dict[str, np.ndarray] = field(default_factory=dict)   # per frame, known scale only
    warnings: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


# The measured leg is "usable on far fewer frames" than the other when the other's share is at
# least this many points higher (first 4 s of squat_jumps_side.mp4: the far leg 33 %, the near 83 %;
# the lunges' rear and front legs 88 % and 94 % are alike).
FEWER_FRAMES_MARGIN = 0.25


def usable_share(series: LegSeries, side: str) -> float:
    """The share of frames on which this leg's shin can be measured."""
    return float(series.valid[side].mean()) if len(series.valid[side]) else 0.0


def other_leg_warning(series: LegSeries, measured) -> str | None:
    """When one leg alone is measured and it is usable on far fewer frames than the other
    (:data:`FEWER_FRAMES_MARGIN`), one line saying so with the fix; None otherwise."""
    measured = list(measured)
    if len(measured) != 1:
        return None
    side = measured[0]
    other = "right" if side == "left" else "left"
    mine, theirs = usable_share(series, side), usable_share(series, other)
    if theirs - mine < FEWER_FRAMES_MARGIN:
        return None
    return (f"the {side} leg is usable on only {100 * mine:.0f} % of frames: the {other} leg is nearer the "
            f"camera and reads {100 * theirs:.0f} % of frames; run with --side {other}")


def review_reps(joint: Joint, series: LegSeries, reps: dict[str, list[Rep]],
                scale: kneewall.Scale | None = None) -> AnkleReport:
    """Drops reps peaking below :func:`rep_floor_deg`, flags each kept rep's heel, gives its knee
    over toe in cm when ``scale`` is known, and writes the warnings (movement check, the other
    leg seen far better, vertical, swaps) and the summary fields of the ankle."""
    floor = rep_floor_deg(joint)
    kept, dropped = {}, 0
    flags: dict[tuple[str, float], bool | None] = {}
    cm: dict[tuple[str, float], float | None] = {}
    for side, side_reps in reps.items():
        kept[side] = [r for r in side_reps if r.peak_deg >= floor]
        dropped += len(side_reps) - len(kept[side])
        for r in kept[side]:
            flags[(side, r.start_s)] = heel_lifted_at(series.t, series.heel_rise[side], r.peak_s)
            if side in series.knee_x:
                cm[(side, r.start_s)] = kneewall.peak_cm(series.t, series.knee_x[side], series.toe_x[side],
                                                         r.start_s, r.peak_s, scale)
    warnings = []
    if not series.check.is_dorsiflexion_exercise:
        warnings.append("this does not look like a dorsiflexion exercise: " + "; ".join(series.check.reasons))
    if dropped:
        warnings.append(f"{dropped} excursion(s) peaking below {floor:g} deg of dorsiflexion were not counted as reps")
    lifted = sum(1 for v in flags.values() if v)
    if lifted:
        warnings.append(f"{lifted} rep(s) with the heel lifted at the peak (a lifted heel voids a knee-to-wall trial)")
    fewer = other_leg_warning(series, reps)
    if fewer:
        warnings.append(fewer)
    warnings += series.vertical.warnings()
    c = series.check
    summary = {
        "vertical": series.vertical.as_dict(),
        "leg_swaps_repaired": series.repair.n_repairs,
        "leg_swap_frames_repaired": series.repair.n_frames_repaired,
        "legs_ambiguous_frames": int(series.repair.ambiguous.sum()),
        "legs_usable_share": {s: round(usable_share(series, s), 3) for s in SIDES},
        "movement_check": {"dorsiflexion_exercise": c.is_dorsiflexion_exercise, "reasons": c.reasons,
                           "hip_travel_leg_lengths": round(c.hip_travel_legs, 2),
                           "heel_down_share": round(c.planted_fraction, 3)},
        "heel_lift_threshold_foot_lengths": legs.HEEL_LIFT_THRESHOLD,
        "knee_over_toe": (scale or kneewall.Scale.missing("none", "no scale target was looked for")).as_dict(),
    }
    series_cm = ({side: (series.knee_x[side] - series.toe_x[side]) * scale.mm_per_px / 10.0 for side in reps}
                 if scale is not None and scale.known else {})
    return AnkleReport(kept, flags, cm, series_cm, warnings, summary)


def side_note(series: LegSeries, side: str) -> str:
    note = f"{side} shin from the true vertical"
    if side == series.choice.side:
        note += f": {series.choice.reason}"
    if series.repair.n_repairs:
        note += f"; {series.repair.n_repairs} left/right leg swap(s) of MediaPipe repaired"
    return note


class StreamingShinMeasurer:
    """Live counterpart of :func:`measure_legs`, frame by frame and causal: the swap tracker
    without the offline majority step, the toes' direction from the past second, the heel's
    resting level from the past 10 s. Same interface as
    :class:`romcam.measure.series.StreamingMeasurer` (``channels``, ``update``, ``problems``;
    ``turn_deg`` and ``flexion_deg`` are the head's channels, not measured here)."""

    HISTORY_S = 10.0

    def __init__(self, sides, roll_deg: float = 0.0, min_visibility: float = MIN_VISIBILITY):
        self.channels = list(sides)
        self.roll_deg = float(roll_deg)
        self.min_visibility = min_visibility
        self.tracker = legs.LegSwapTracker()
        self.swaps_repaired = 0
        self._swapped = False
        self._i = 0
        self._toe: deque[tuple[float, float, float]] = deque()        # (t, toe x, facing x)
        self._heel: dict[str, deque] = {s: deque() for s in SIDES}   # (t, level heel y, foot length)
        self.heel_history: dict[str, deque] = {s: deque() for s in SIDES}  # (t, heel rise)
        self.leg_history: dict[str, deque] = {s: deque() for s in self.channels}  # (t, knee x, toe x)
        self.scale: kneewall.Scale | None = None      # mm per px at the leg, once read (setup)
        self.problems: dict[str, str | None] = {}
        self.turn_deg = self.flexion_deg = math.nan

    def set_roll(self, roll_deg: float) -> None:
        """The camera's roll, once known (after the setup phase), from now on."""
        self.roll_deg = float(roll_deg)

    def _forward(self, t: float, pose: np.ndarray) -> float:
        one = pose[None]
        self._toe.append((t, float(legs.toe_x_component(one, self.roll_deg)[0]),
                          float(legs.facing_x_component(one, self.roll_deg)[0])))
        while self._toe and self._toe[0][0] < t - 1.0:
            self._toe.popleft()
        toe = np.array([x[1] for x in self._toe])
        face = np.array([x[2] for x in self._toe])
        toe, face = toe[np.isfinite(toe)], face[np.isfinite(face)]
        return legs.direction_sign(float(np.median(toe)) if len(toe) else math.nan,
                                   float(np.median(face)) if len(face) else math.nan)

    def _heel_rise(self, t: float, side: str, pose: np.ndarray) -> float:
        g = legs.LEG[side]
        y = float(legs.level_height(pose[None], g["heel"], self.roll_deg)[0])
        foot = float(np.linalg.norm(pose[g["toe"], :2] - pose[g["heel"], :2]))
        buf = self._heel[side]
        if math.isfinite(y) and math.isfinite(foot):
            buf.append((t, y, foot))
        while buf and buf[0][0] < t - self.HISTORY_S:
            buf.popleft()
        if not buf or not math.isfinite(y):
            return math.nan
        ys = np.array([b[1] for b in buf])
        rest, length = float(np.quantile(ys, 0.8)), float(np.median([b[2] for b in buf]))
        return (rest - y) / length if length > 0 else math.nan

    def update(self, lm: FrameLandmarks) -> dict[str, float]:
        out = self._measure(lm)
        self.problems = {c: None if math.isfinite(v) else
                         (NO_PERSON if lm.pose is None else LEG_UNSEEN) for c, v in out.items()}
        return out

    def _measure(self, lm: FrameLandmarks) -> dict[str, float]:
        out = {c: math.nan for c in self.channels}
        self._i += 1
        if lm.pose is None:
            return out
        pose = np.asarray(lm.pose[:33, :4], dtype=float)
        step = self.tracker.update(self._i, pose)
        if step is None:
            return out
        if step.swapped:
            pose = legs.swap_legs(pose[None])[0]
        if step.swapped and not self._swapped:
            self.swaps_repaired += 1
        self._swapped = step.swapped
        forward = self._forward(lm.t_s, pose)
        for side in SIDES:
            rise = self._heel_rise(lm.t_s, side, pose) if not step.ambiguous else math.nan
            self.heel_history[side].append((lm.t_s, rise))
            while self.heel_history[side][0][0] < lm.t_s - 60.0:
                self.heel_history[side].popleft()
        for side in self.channels:
            if step.ambiguous or not math.isfinite(forward) or not _usable(pose[None], side, self.min_visibility)[0]:
                continue
            out[side] = float(legs.shin_inclination(pose[None], side, forward, roll_deg=self.roll_deg)[0])
            self._remember_leg(lm.t_s, side, pose, forward)
        return out

    def _remember_leg(self, t: float, side: str, pose: np.ndarray, forward: float) -> None:
        if self.scale is not None and not self.scale.known:
            return                    # the target was looked for and not seen: no cm this session
        knee, toe = (float(kneewall.forward_x(pose[None], side, part, forward, roll_deg=self.roll_deg,
                                              min_visibility=self.min_visibility)[0]) for part in ("knee", "toe"))
        hist = self.leg_history[side]
        hist.append((t, knee, toe))
        while hist[0][0] < t - 60.0:
            hist.popleft()

    def knee_over_toe_cm(self, side: str, start_s: float, peak_s: float) -> float | None:
        """The knee over toe at this rep's peak in cm (:func:`kneewall.peak_cm` over the live
        history); None without a scale or unseen."""
        hist = self.leg_history.get(side)
        if not hist or self.scale is None or not self.scale.known:
            return None
        t, knee, toe = (np.array(col) for col in zip(*hist))
        return kneewall.peak_cm(t, knee, toe, start_s, peak_s, self.scale)

    def heel_lifted(self, side: str, peak_s: float) -> bool | None:
        """Was the heel up at this peak (as :func:`heel_lifted_at`, over the live history)?"""
        hist = self.heel_history[side]
        if not hist:
            return None
        t = np.array([h[0] for h in hist])
        rise = np.array([h[1] for h in hist])
        smooth = running_median(np.arange(len(t), dtype=float), rise, SMOOTH_FRAMES - 1)
        return heel_lifted_at(t, smooth, peak_s)
