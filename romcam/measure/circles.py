"""Neck circles through the measurement chain: landmarks -> tilt, side-bend and nod relative to the
trunk and to the person's neutral -> turns (:mod:`romcam.measure.turns`) -> per-side results.

Per frame (docs/design.md, "Neck circles"):

* the **tilt** of the head's vertical axis relative to the trunk (towards the person's right,
  towards the front; :func:`romcam.measure.head.head_tilt_deg`) against the shoulder line read at
  rest, the same trunk reference as the side-bend, minus the person's neutral tilt: its
  direction goes round once per circle and is what the turns are counted on;
* the **side-bend** (the lateral flexion of docs/design.md, relative to the neutral) and the **nod**
  (head flexion relative to the neutral, + = chin down): each turn's right/left and
  forward/backward extremes are read from them, zero-phase filtered (the same filter as the rep
  peaks; it changes a 2-s circle's extreme by under 0.01 deg and takes the face mesh's jitter off).

A frame counts only where the side-bend counts (face found on the person, in view, not turned past
the face-mesh limit): elsewhere the tilt is NaN and the counter bridges short losses (the back of
the circle, head extended) and breaks a turn at long ones.

The session has a neutral hold; a recording (``romcam analyze --joint neck-circles``) has not, so
its neutral is the most upright still second (tilt SD under 1.5 deg) of the clip; without one, the
centre of the movement (median tilt), with a warning. The trunk reference (the shoulder line
read at rest) is read over that neutral and held through the circles (see :func:`circle_series`). Pure: no file, camera or model here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from romcam.capture.landmarks import FrameLandmarks
from romcam.measure.filters import reject_glitches, zero_phase
from romcam.measure.joints import get_joint
from romcam.measure.series import head_channels, head_tilts, measure_channel
from romcam.measure.turns import SIDES, Turn, extreme_trend, first_turn_reaching

JOINT_NAME = "neck_circles"
ALIASES = ("neck_circles", "neck-circles", "circles", "neck-circle", "neck_circle")
TITLE = "Neck circles"
STILL_S = 1.0             # a still second is the neutral of a recording
STILL_MAX_SD_DEG = 1.5    # as the session's neutral hold
STILL_MIN_VALID = 0.8


def is_circles(name: str) -> bool:
    """Does a joint name given on the command line ask for neck circles?"""
    return name.strip().lower() in ALIASES


def side_bend_joint():
    """Circles use the side-bend's head frame, trunk reference and validity gate."""
    return get_joint("neck_lateral_flexion")


@dataclass(frozen=True)
class Neutral:
    lateral_deg: float = 0.0      # tilt towards the right at rest
    forward_deg: float = 0.0      # tilt towards the front at rest
    side_bend_deg: float = 0.0
    nod_deg: float = 0.0
    source: str = "given"


@dataclass
class CircleSeries:
    """Per frame, relative to the neutral; NaN where the frame does not count."""

    t: np.ndarray
    frame: np.ndarray
    lateral: np.ndarray           # tilt towards the person's right (deg)
    forward: np.ndarray           # tilt towards the front (deg)
    side_bend: np.ndarray         # lateral flexion, zero-phase filtered (+ = right)
    side_bend_raw: np.ndarray
    nod: np.ndarray               # head flexion, zero-phase filtered (+ = chin down)
    turn: np.ndarray              # head turn (deg), as measured
    valid: np.ndarray
    problems: list
    neutral: Neutral

    @property
    def direction(self) -> np.ndarray:
        """Tilt direction phi = atan2(right, front) in degrees (0 = forward, 90 = right)."""
        return np.degrees(np.arctan2(self.lateral, self.forward))


@dataclass
class CircleAnalysis:
    series: CircleSeries
    turns: list[Turn]
    progress_deg: float = 0.0         # a turn under way when the recording ended (not counted)
    warnings: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        t = self.series.t
        return float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 0.0


def still_window(t, lateral, forward) -> slice | None:
    """The most upright ``STILL_S`` window (smallest median tilt) among those whose tilt
    components both have an SD under ``STILL_MAX_SD_DEG`` (at least 80 % of their frames valid);
    None if there is none. The most upright, not the first: a side-bend held at the end of range
    is still too (side_bend_rotation_front.mp4 holds one at 2.9-3.9 s)."""
    t = np.asarray(t, dtype=float)
    ok = np.isfinite(lateral) & np.isfinite(forward)
    ends = np.searchsorted(t, t + STILL_S, side="right")
    best, best_tilt = None, np.inf
    for i, j in enumerate(ends):
        if not ok[i] or t[j - 1] - t[i] < 0.9 * STILL_S:
            continue
        good = ok[i:j]
        if good.mean() < STILL_MIN_VALID or good.sum() < 5:
            continue
        lat, fwd = lateral[i:j][good], forward[i:j][good]
        if np.std(lat) <= STILL_MAX_SD_DEG and np.std(fwd) <= STILL_MAX_SD_DEG:
            tilt = float(np.hypot(np.median(lat), np.median(fwd)))
            if tilt < best_tilt - 0.5:        # a clearly more upright hold; else keep the earlier
                best, best_tilt = slice(i, j), tilt
    return best


def _fixed(landmarks, valid, reference_deg: float):
    """Side-bend, tilt and nod per frame against one fixed trunk reference (NaN where not valid)."""
    joint = side_bend_joint()
    ref = np.full(len(landmarks), reference_deg)
    side_bend = np.array([joint.angle_against(lm, None, reference_deg) if ok else np.nan
                          for lm, ok in zip(landmarks, valid)])
    turn, nod = head_channels(landmarks, ref)
    lateral, forward = head_tilts(landmarks, ref)
    masked = [np.where(valid, x, np.nan) for x in (side_bend, lateral, forward, nod)]
    return (*masked, turn)


def circle_series(landmarks: list[FrameLandmarks], neutral: Neutral | None = None,
                  trunk_roll_deg: float | None = None) -> tuple[CircleSeries, list[str]]:
    """The per-frame series of a recording (see the module notes). ``neutral`` None = found in
    the recording; ``trunk_roll_deg`` None = the shoulder line read at rest over the neutral.
    Returns the series and warnings.

    The trunk reference is held fixed through the circles: the pose model's shoulders follow a
    circling head (on the rendered circles the shoulder line read at rest moves by 0.5 deg
    towards the head's side, which moves every turn's right and left extremes by -0.4/+0.4 deg),
    and a seated person's trunk does not move during neck circles."""
    joint = side_bend_joint()
    t = np.array([lm.t_s for lm in landmarks], dtype=float)
    frame = np.array([lm.index for lm in landmarks], dtype=int)
    ch = measure_channel(joint, landmarks, None)
    valid = ch.valid & np.isfinite(reject_glitches(t, ch.angle))
    lat0, fwd0 = (np.where(valid, x, np.nan) for x in head_tilts(landmarks, ch.reference))
    warnings = []
    window = still_window(t, lat0, fwd0) if neutral is None or trunk_roll_deg is None else None
    if trunk_roll_deg is None:
        refs = ch.reference[window] if window is not None else ch.reference
        trunk_roll_deg = float(np.nanmedian(refs)) if np.isfinite(refs).any() else 0.0
    raw, lateral, forward, nod, turn = _fixed(landmarks, valid, trunk_roll_deg)
    raw = reject_glitches(t, raw)
    valid &= np.isfinite(raw)
    if neutral is None and window is not None:
        w = slice(window.start, window.stop)
        neutral = Neutral(float(np.nanmedian(lateral[w])), float(np.nanmedian(forward[w])),
                          float(np.nanmedian(raw[w])), float(np.nanmedian(nod[w])),
                          f"still hold at {t[w.start]:z.1f}-{t[w.stop - 1]:z.1f} s")
    if neutral is None:
        med = [float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0 for x in (lateral, forward, raw, nod)]
        neutral = Neutral(*med, "centre of the movement")
        warnings.append("no still second in the recording: the neutral is the centre of the movement "
                        "(start a recording with a second of looking ahead)")
    side_bend_raw = raw - neutral.side_bend_deg
    lateral, forward, nod = (np.where(valid, x, np.nan) for x in (lateral, forward, nod))
    return CircleSeries(
        t, frame, lateral - neutral.lateral_deg, forward - neutral.forward_deg,
        zero_phase(t, side_bend_raw), side_bend_raw, zero_phase(t, nod - neutral.nod_deg), turn, valid,
        ch.problems, neutral), warnings


def analyze_circles(landmarks: list[FrameLandmarks], neutral: Neutral | None = None,
                    trunk_roll_deg: float | None = None, **params) -> CircleAnalysis:
    """Count the turns of a recording; ``params`` go to :class:`romcam.measure.turns.TurnCounter`."""
    from romcam.measure.turns import TurnCounter

    s, warnings = circle_series(landmarks, neutral, trunk_roll_deg)
    counter = TurnCounter(**params)
    for row in zip(s.t, s.lateral, s.forward, s.side_bend, s.nod):
        counter.update(*row)
    a = CircleAnalysis(s, counter.turns, counter.progress_deg, warnings)
    valid_share = float(s.valid.mean()) if len(s.valid) else 0.0
    if valid_share < 0.5:
        a.warnings.append(f"only {valid_share:.0%} of frames were usable")
    if abs(a.progress_deg) >= 90.0:
        a.warnings.append(f"a turn was under way when the recording ended ({abs(a.progress_deg):.0f} deg "
                          "of it); not counted")
    return a


# --------------------------------------------------------------------------- results per side


@dataclass(frozen=True)
class TurnSideResult:
    """What a set of circles says about one side: "right side-bend reached 24.8 deg at turn 34"."""

    side: str                         # right, left, forward or backward
    turns_with_extreme: int           # turns that reached this side at all
    first_deg: float | None           # the first such turn's extreme
    last_deg: float | None
    max_deg: float | None
    trend_deg_per_turn: float | None  # least-squares slope over the turn numbers
    level_deg: float | None = None    # the after-level (session) it is compared with
    first_turn_at_level: int | None = None
    reached_deg: float | None = None  # the extreme of that turn

    def sentence(self, what: str = "side-bend") -> str:
        if self.level_deg is None:
            return ""
        if self.first_turn_at_level is None:
            return (f"{self.side} {what} did not reach the after-level ({self.level_deg:z.1f} deg) "
                    f"in any turn")
        return (f"{self.side} {what} reached {self.reached_deg:z.1f} deg at turn {self.first_turn_at_level} "
                f"(after-level {self.level_deg:z.1f} deg)")


def side_result(turns, side: str, level_deg: float | None = None) -> TurnSideResult:
    values = [t.extreme(side) for t in turns if t.extreme(side) is not None]
    trend = extreme_trend(turns, side)
    first = None if level_deg is None else first_turn_reaching(turns, side, level_deg)
    reached = None if first is None else next(t.extreme(side) for t in turns if t.index == first)
    return TurnSideResult(side, len(values), values[0] if values else None, values[-1] if values else None,
                          max(values) if values else None, None if trend is None else trend[0],
                          level_deg, first, reached)


def turn_dict(turn: Turn) -> dict:
    def r(v):
        return None if v is None else round(float(v), 2)
    return {"turn_no": turn.index, "direction": turn.direction, "start_s": round(turn.start_s, 3),
            "end_s": round(turn.end_s, 3), "right_deg": r(turn.right_extreme_deg),
            "left_deg": r(turn.left_extreme_deg), "forward_deg": r(turn.forward_extreme_deg),
            "backward_deg": r(turn.backward_extreme_deg)}


def summary(a: CircleAnalysis) -> dict:
    """summary.json of ``romcam analyze --joint neck-circles``."""
    s = a.series
    counts = {d: sum(t.direction == d for t in a.turns) for d in ("cw", "ccw")}
    invalid: dict[str, int] = {}
    for problem, ok in zip(s.problems, s.valid):
        if not ok:
            key = problem or "glitch (jumped away from its neighbours)"
            invalid[key] = invalid.get(key, 0) + 1

    def r(v):
        return None if v is None else round(float(v), 3)
    return {
        "joint": JOINT_NAME,
        "fps": round(a.fps, 3),
        "frames": int(len(s.t)),
        "valid_frames": int(s.valid.sum()),
        "turn_count": len(a.turns),
        "turn_counts": counts,
        "turns": [turn_dict(t) for t in a.turns],
        "sides": {side: {"turns": res.turns_with_extreme, "first_deg": r(res.first_deg),
                         "last_deg": r(res.last_deg), "max_deg": r(res.max_deg),
                         "trend_deg_per_turn": r(res.trend_deg_per_turn)}
                  for side in SIDES for res in [side_result(a.turns, side)]},
        "neutral": {"tilt_right_deg": round(s.neutral.lateral_deg, 2),
                    "tilt_forward_deg": round(s.neutral.forward_deg, 2),
                    "side_bend_deg": round(s.neutral.side_bend_deg, 2), "nod_deg": round(s.neutral.nod_deg, 2),
                    "source": s.neutral.source},
        "unfinished_turn_deg": round(abs(a.progress_deg), 1),
        "invalid_frames": dict(sorted(invalid.items(), key=lambda kv: -kv[1])),
        "warnings": a.warnings,
    }


def frames_table(a: CircleAnalysis) -> pd.DataFrame:
    """frames.csv of ``romcam analyze --joint neck-circles``: one row per frame, angles relative
    to the neutral, empty where the frame did not count."""
    s = a.series
    return pd.DataFrame({
        "t_s": s.t, "frame": s.frame,
        "tilt_right_deg": s.lateral, "tilt_forward_deg": s.forward, "tilt_direction_deg": s.direction,
        "tilt_deg": np.hypot(s.lateral, s.forward),
        "neck_lateral_flexion_deg": s.side_bend, "neck_lateral_flexion_raw_deg": s.side_bend_raw,
        "head_flexion_deg": s.nod, "head_turn_deg": s.turn, "valid": s.valid,
        "invalid_reason": ["" if ok else (p or "glitch (jumped away from its neighbours)")
                           for p, ok in zip(s.problems, s.valid)],
    })


def describe(source_name: str, a: CircleAnalysis) -> str:
    """A short human summary of a circles analysis."""
    from pathlib import Path

    s, counts = a.series, {d: sum(t.direction == d for t in a.turns) for d in ("cw", "ccw")}
    n = len(s.t)
    lines = [f"{Path(source_name).name}: {TITLE}",
             f"{n} frames at {a.fps:z.1f} fps, {int(s.valid.sum())} usable ({s.valid.sum() / max(n, 1):.0%})",
             f"  {len(a.turns)} turns (clockwise {counts['cw']}, counter-clockwise {counts['ccw']}); "
             f"neutral: {s.neutral.source}"]
    for side in ("right", "left"):
        res = side_result(a.turns, side)
        if res.max_deg is None:
            continue
        trend = "" if res.trend_deg_per_turn is None else f", trend {res.trend_deg_per_turn:+.2f} deg/turn"
        lines.append(f"  {side:>5} side-bend per turn: first {res.first_deg:z.1f}, last {res.last_deg:z.1f}, "
                     f"largest {res.max_deg:z.1f} deg{trend}")
    lines += [f"  note: {w}" for w in a.warnings]
    return "\n".join(lines)

