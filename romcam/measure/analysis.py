"""Offline analysis of a landmark series: angles -> validity -> zero-phase filter -> reps -> summary.

Pure: takes the per-frame :class:`FrameLandmarks` of a clip (from MediaPipe, or a synthetic
stream) and returns numbers. No file, camera or model is touched here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from romcam.capture.landmarks import POSE, FrameLandmarks
from romcam.errors import RomcamError
from romcam.measure import ankle, edge, legs
from romcam.measure.filters import DEFAULT_CUTOFF_HZ, reject_glitches, zero_phase
from romcam.measure.joints import SIDES, Joint
from romcam.measure.kneewall import Scale
from romcam.measure.neutral import NeutralStretch, median_over, neutral_over
from romcam.measure.reps import Rep, RepThresholds, SwingThresholds, count_oscillations
from romcam.measure.series import (LEG_UNSEEN, MIN_VISIBILITY, channel_names, head_channels, measure_channel,
                                   with_advice)

NEUTRAL_PERCENTILE = 10.0   # limbs: the low end of the range is the neutral (standing, arm down)
TYPICAL_PERCENTILE = 95.0   # the typical excursion, used to scale the rep thresholds
FACING_DEG = 15.0           # neck: frames turned less than this are "looking ahead"
NEUTRAL_BIN_DEG = 1.0       # neck: the neutral is the most common head position (1-deg bins,
NEUTRAL_SMOOTH_BINS = 5     # smoothed over 5 bins)


GLITCH = "glitch (jumped away from its neighbours)"


@dataclass
class Channel:
    """One measured angle series: a limb of a limb joint, or the single signed angle."""

    name: str                  # "left", "right" or "signed"
    raw: np.ndarray            # degrees, NaN where invalid
    filtered: np.ndarray       # zero-phase filtered, NaN where invalid
    valid: np.ndarray          # bool
    problems: list = field(default_factory=list)  # why each frame was left out (None where valid)


@dataclass
class SideResult:
    side: str
    channel: str
    sign: int
    neutral_deg: float
    thresholds: RepThresholds
    reps: list[Rep]
    incomplete: Rep | None
    max_deg: float | None      # the largest filtered angle reached on this side
    turn_reps: list = field(default_factory=list)  # (rep, head turn deg): head turns, not counted
    swings: SwingThresholds | None = None          # what counted as an oscillation (the reps)
    range_deg: float = 0.0                         # the typical excursion: the range reps are scaled to
    edge: edge.SetEdge | None = None               # each rep against the edge (starting at the range)


@dataclass
class Analysis:
    joint: Joint
    t: np.ndarray
    frame: np.ndarray
    channels: dict[str, Channel]
    sides: dict[str, SideResult]
    turn: np.ndarray | None = None      # head joints: head turn about the trunk's vertical
    flexion: np.ndarray | None = None   # head joints: head flexion (nod)
    side_note: str = ""
    warnings: list[str] = field(default_factory=list)
    ankle_report: ankle.AnkleReport | None = None     # the ankle's extras: heel flags, vertical, swaps
    neutral_given: NeutralStretch | None = None       # --neutral: the stretch and its angles (as measured)

    @property
    def fps(self) -> float:
        if len(self.t) < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.t)))

    @property
    def valid_frames(self) -> int:
        return int(np.any([c.valid for c in self.channels.values()], axis=0).sum()) if self.channels else 0

    def invalid_reasons(self) -> dict[str, int]:
        """How many frames were left out, and why (over all measured channels), most first."""
        counts: dict[str, int] = {}
        for ch in self.channels.values():
            for problem, ok in zip(ch.problems, ch.valid):
                if not ok:
                    key = problem or GLITCH
                    counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


@dataclass
class Measured:
    """The angle series of a landmark series, before any neutral or rep: per channel the raw angle
    (glitches rejected), its zero-phase filtered copy and validity; for head joints the head's
    turn and nod, and the trunk reference the angles were measured against."""
    t: np.ndarray
    frame: np.ndarray
    channels: dict[str, Channel]
    turn: np.ndarray | None = None
    flexion: np.ndarray | None = None
    reference: np.ndarray | None = None


def measure_landmarks(joint: Joint, landmarks: list[FrameLandmarks], sides, *,
                      cutoff_hz: float = DEFAULT_CUTOFF_HZ, min_visibility: float = MIN_VISIBILITY,
                      legs_seen: ankle.LegSeries | None = None) -> Measured:
    """Every frame's angle per channel of ``sides`` (one per limb, or the single signed angle),
    measured over the whole series: the trunk reference read at rest around each frame, a leg's
    knee on the same leg throughout (MediaPipe's swaps repaired), glitches rejected, zero-phase
    filtered. ``legs_seen``: the ankle's shin series, when measured."""
    t = np.array([lm.t_s for lm in landmarks], dtype=float)
    frame = np.array([lm.index for lm in landmarks], dtype=int)
    channels: dict[str, Channel] = {}
    reference = None
    if legs_seen is None and legs.uses_legs(joint):
        landmarks = legs.with_legs_repaired(landmarks)      # knee and hip: the same leg throughout
    for name in channel_names(joint, sides):
        if legs_seen is not None:
            raw, valid = legs_seen.shin[name].copy(), legs_seen.valid[name].copy()
            problems = [None if ok else LEG_UNSEEN for ok in valid]
        else:
            series = measure_channel(joint, landmarks, name if joint.kind == "limb" else None, min_visibility)
            raw, valid, problems = series.angle, series.valid, series.problems
            reference = series.reference
        raw = reject_glitches(t, raw, **ankle.glitch_options(joint))
        valid = valid & np.isfinite(raw)
        channels[name] = Channel(name, raw, zero_phase(t, raw, cutoff_hz), valid, problems)
    turn = flexion = None
    if joint.needs_face:
        turn, flexion = head_channels(landmarks, reference)
    return Measured(t, frame, channels, turn, flexion, reference)


def limb_nearer_camera(landmarks: list[FrameLandmarks], joint: Joint) -> str:
    """The limb the camera sees better: higher mean landmark visibility, then smaller depth (z)."""
    scores = {}
    for side in SIDES:
        idx = [POSE[n] for n in joint.needed_landmarks(side)]
        poses = np.array([lm.pose[idx] for lm in landmarks if lm.pose is not None])
        if len(poses) == 0:
            raise RomcamError("no person was found in the video")
        scores[side] = (round(float(poses[:, :, 3].mean()), 2), -float(poses[:, :, 2].mean()))
    return max(SIDES, key=lambda s: scores[s])


def _sides_for(joint: Joint, side: str, landmarks) -> tuple[list[str], str]:
    if side not in ("left", "right", "both", "auto"):
        raise RomcamError(f"unknown side {side!r}; use left, right, both or auto")
    if side == "auto":
        if joint.kind == "limb" and joint.view == "side":
            chosen = limb_nearer_camera(landmarks, joint)
            return [chosen], f"{chosen} {joint.title.split()[0].lower()}: the limb nearer the camera"
        return list(SIDES), ""
    return (list(SIDES) if side == "both" else [side]), ""


def analyze_landmarks(joint: Joint, landmarks: list[FrameLandmarks], side: str = "auto", *,
                      cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                      min_visibility: float = MIN_VISIBILITY,
                      vertical: ankle.Vertical | None = None,
                      neutral_range: tuple[float, float] | None = None,
                      scale: Scale | None = None) -> Analysis:
    """Measure ``joint`` over a landmark series and count its reps per side. ``vertical``: where
    the true vertical comes from, for the ankle (default: a level camera is assumed); ``scale``:
    mm per pixel at the leg, for the ankle's knee over toe in cm (none without it).
    ``neutral_range`` (start, end in seconds): the neutral is the median there (as a recorded
    visit's ``--neutral``); neck angles are then reported relative to it, limbs keep their
    anatomical zero and use it for rep detection only."""
    if not landmarks:
        raise RomcamError("the video has no frames to analyse")
    if not any(lm.pose is not None for lm in landmarks):
        raise RomcamError("no person was found in the video; is the whole body in view and lit?")
    legs_seen = ankle.measure_legs(landmarks, vertical, min_visibility) if ankle.is_shin_joint(joint) else None
    if legs_seen is not None:   # the ankle: the standing leg, or the nearer one when both feet stay down
        sides = [legs_seen.choice.side] if side == "auto" else _sides_for(joint, side, landmarks)[0]
        note = "; ".join(ankle.side_note(legs_seen, s) for s in sides)
    else:
        sides, note = _sides_for(joint, side, landmarks)
    m = measure_landmarks(joint, landmarks, sides, cutoff_hz=cutoff_hz, min_visibility=min_visibility,
                          legs_seen=legs_seen)
    t, frame, channels, turn, flexion = m.t, m.frame, m.channels, m.turn, m.flexion
    results: dict[str, SideResult] = {}
    given = None
    turn_zero = None
    if neutral_range is not None:
        given = neutral_over(t, {name: ch.raw for name, ch in channels.items()}, *neutral_range)
        if turn is not None:             # looking ahead is the head's turn over the neutral stretch
            turn_zero = median_over(turn, given.frames)
        if joint.kind == "signed":       # reported relative to the neutral, as in a session
            for name, ch in channels.items():
                ch.raw, ch.filtered = ch.raw - given.values[name], ch.filtered - given.values[name]

    for side in sides:
        channel = channels[side if joint.kind == "limb" else "signed"]
        sign = -1 if (joint.kind == "signed" and side == "left") else 1
        values = channel.filtered[channel.valid]
        if values.size == 0:
            neutral, typical = 0.0, 0.0
        elif given is not None:
            neutral = 0.0 if joint.kind == "signed" else given.values[channel.name]
            typical = float(np.percentile(sign * (values - neutral), TYPICAL_PERCENTILE))
        elif joint.kind == "signed":
            ahead = channel.valid & (np.abs(turn) <= FACING_DEG) if turn is not None else channel.valid
            neutral = most_common_value(channel.filtered[ahead] if ahead.any() else values)
            typical = float(np.percentile(sign * (values - neutral), TYPICAL_PERCENTILE))
        else:
            neutral = float(np.percentile(values, NEUTRAL_PERCENTILE))
            typical = float(np.percentile(values - neutral, TYPICAL_PERCENTILE))
        thresholds = joint.reps.scaled_to(typical)
        swings = SwingThresholds.for_range(joint.reps, typical)
        reps, incomplete = count_oscillations(t, channel.filtered, side, swings, neutral, sign)
        turned = []
        if joint.max_turn_ratio is not None and turn is not None:
            reps, turned = split_turn_reps(reps, t, turn, sign * neutral, joint.max_turn_ratio, turn_zero)
        max_deg = float(np.max(sign * values)) if values.size else None
        results[side] = SideResult(side, channel.name, sign, neutral, thresholds, reps, incomplete, max_deg,
                                   turned, swings, typical)

    analysis = Analysis(joint, t, frame, channels, results, turn, flexion, note, neutral_given=given)
    if legs_seen is not None:
        analysis.ankle_report = ankle.review_reps(joint, legs_seen, {s: r.reps for s, r in results.items()},
                                                  scale)
        for s, r in results.items():
            r.reps = analysis.ankle_report.reps[s]
    for r in results.values():
        neutral_mag = r.sign * r.neutral_deg        # the neutral in this side's magnitude
        r.edge = edge.judge_set([x.peak_deg for x in r.reps], [x.low_deg for x in r.reps],
                                neutral_mag + r.range_deg, neutral_mag, side=r.side)
    analysis.warnings = _warnings(analysis) + (analysis.ankle_report.warnings if analysis.ankle_report else [])
    return analysis


def most_common_value(values) -> float:
    """The most common value (the peak of a 1-deg histogram smoothed over 5 bins), refined as
    the median of the values within 3 deg of it. For the neck in a recording without a neutral
    hold this is the position held most while looking ahead. A plain median is pulled by long
    one-sided stretches: on side_bend_rotation_front.mp4, whose bends all go left, the median is
    -16.9 deg and the most common position +1.7 deg."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0
    edges = np.arange(np.floor(v.min()) - NEUTRAL_BIN_DEG, np.ceil(v.max()) + 2 * NEUTRAL_BIN_DEG,
                      NEUTRAL_BIN_DEG)
    counts, _ = np.histogram(v, bins=edges)
    k = int(np.argmax(np.convolve(counts, np.ones(NEUTRAL_SMOOTH_BINS), mode="same")))
    centre = (edges[k] + edges[k + 1]) / 2.0
    return float(np.median(v[np.abs(v - centre) <= 3.0]))


def head_turn_during(t, turn, start_s: float, peak_s: float, zero_deg: float) -> float:
    """The largest |head turn - ``zero_deg``| from ``start_s`` to ``peak_s`` (0 with no turn known)."""
    t = np.asarray(t, dtype=float)
    turn = np.asarray(turn, dtype=float)
    window = (t >= start_s) & (t <= peak_s) & np.isfinite(turn)
    return float(np.max(np.abs(turn[window] - zero_deg))) if window.any() else 0.0


def is_head_turn(turn_deg: float, excursion_deg: float, ratio: float) -> bool:
    """An excursion that came with more head turn than ``ratio`` times itself: a head turn."""
    return turn_deg > ratio * max(excursion_deg, 1e-9)


def split_turn_reps(reps: list[Rep], t, turn, neutral_deg: float, ratio: float,
                    zero_deg: float | None = None) -> tuple[list[Rep], list]:
    """Separate the reps that are really head turns: the largest |head turn| from the rep's start
    to its peak (relative to the turn while looking ahead) above ``ratio`` times the rep's
    excursion from ``neutral_deg`` (in this side's positive magnitude). ``zero_deg``: the turn
    while looking ahead (default: the median turn of the frames within ``FACING_DEG`` of 0).
    Returns (kept reps, [(turn rep, its head turn in deg)]).

    Measured (docs/validation/neck-3d.md, "The gate"): real side-bends carry 18-34 deg of coupled turn at 32-38
    deg of bend (ratio <= 1.1), the side-bends of side_bend_rotation_front.mp4 0.1-0.2, and the
    head turns of the two rotation clips 10-13 deg of apparent side-bend with 45-50 deg of turn
    (ratio 3.4-4.3). 2.0 lies between."""
    t = np.asarray(t, dtype=float)
    turn = np.asarray(turn, dtype=float)
    if zero_deg is None:
        ahead = turn[np.isfinite(turn) & (np.abs(turn) <= FACING_DEG)]
        zero_deg = float(np.median(ahead)) if ahead.size else 0.0
    kept, turned = [], []
    for rep in reps:
        most = head_turn_during(t, turn, rep.start_s, rep.peak_s, zero_deg)
        if is_head_turn(most, rep.peak_deg - neutral_deg, ratio):
            turned.append((rep, most))
        else:
            kept.append(rep)
    return kept, turned


def _warnings(a: Analysis) -> list[str]:
    out = []
    n = len(a.t)
    share = a.valid_frames / n if n else 0.0
    if share < 0.5:
        reasons = a.invalid_reasons()
        why = f"; mostly {with_advice(next(iter(reasons)))}" if reasons else ""
        out.append(f"only {share:.0%} of frames were usable{why}")
    for s in a.sides.values():
        for rep, turn in s.turn_reps:
            out.append(f"{s.side}: the excursion at {rep.peak_s:z.1f} s ({rep.peak_deg:z.1f} deg) came with "
                       f"{turn:.0f} deg of head turn, so it was a head turn, not counted")
        if s.incomplete is not None:
            out.append(f"{s.side}: an excursion (peak {s.incomplete.peak_deg:z.1f} deg) had not returned "
                       "when the video ended; not counted")
    return out


def frames_table(a: Analysis) -> pd.DataFrame:
    """One row per frame: t_s, frame, one column per measured angle in degrees, validity and why
    a frame was left out; for head joints also the head's turn and flexion (nod); for the ankle
    with a known scale the knee over toe in cm per measured leg."""
    cols: dict[str, np.ndarray] = {"t_s": a.t, "frame": a.frame}
    for name, ch in a.channels.items():
        prefix = f"{a.joint.name}" if name == "signed" else f"{name}_{a.joint.name}"
        cols[f"{prefix}_deg"] = ch.filtered
        cols[f"{prefix}_raw_deg"] = ch.raw
        cols["valid" if name == "signed" else f"{name}_valid"] = ch.valid
        cols["invalid_reason" if name == "signed" else f"{name}_invalid_reason"] = [
            "" if ok else (p or GLITCH) for p, ok in zip(ch.problems, ch.valid)]
    if a.ankle_report is not None:
        for side, cm in a.ankle_report.knee_over_toe_cm_series.items():
            cols[f"{side}_knee_over_toe_cm"] = cm
    if a.turn is not None:
        cols["head_turn_deg"] = a.turn
        cols["head_flexion_deg"] = a.flexion
    return pd.DataFrame(cols)


def summary(a: Analysis) -> dict:
    """The summary.json content (its keys: docs/reference/analyze-outputs.md): frames, usable
    frames, reps per side, neutral, thresholds and warnings."""
    reps = sorted((r for s in a.sides.values() for r in s.reps), key=lambda r: r.start_s)
    out = {
        "joint": a.joint.name,
        "fps": round(a.fps, 3),
        "frames": int(len(a.t)),
        "valid_frames": a.valid_frames,
        "sides": list(a.sides),
        "side_note": a.side_note,
        "rep_count": {s: len(r.reps) for s, r in a.sides.items()},
        "reps": [{"side": r.side, "start_s": round(r.start_s, 3), "peak_s": round(r.peak_s, 3),
                  "end_s": round(r.end_s, 3), "peak_deg": round(r.peak_deg, 2)} for r in reps],
        "max_deg": {s: (None if r.max_deg is None else round(r.max_deg, 2)) for s, r in a.sides.items()},
        "incomplete": [{"side": s.side, "start_s": round(s.incomplete.start_s, 3),
                        "peak_s": round(s.incomplete.peak_s, 3), "peak_deg": round(s.incomplete.peak_deg, 2)}
                       for s in a.sides.values() if s.incomplete is not None],
        "neutral_deg": {s: round(r.neutral_deg, 2) for s, r in a.sides.items()},
        "thresholds_deg": {s: {"enter": round(r.thresholds.enter_deg, 2), "exit": round(r.thresholds.exit_deg, 2),
                               "min_amplitude": round(r.thresholds.min_amplitude_deg, 2)}
                           for s, r in a.sides.items()},
        "invalid_frames": a.invalid_reasons(),
        "head_turn_excursions": [
            {"side": s.side, "peak_s": round(r.peak_s, 3), "peak_deg": round(r.peak_deg, 2),
             "head_turn_deg": round(turn, 1)} for s in a.sides.values() for r, turn in s.turn_reps],
        "set_quality": {s: {"summary": r.edge.summary(), "grade": r.edge.grade,
                            "edge_start_deg": round(r.edge.edge_start_deg, 2),
                            "edge_end_deg": round(r.edge.edge_end_deg, 2),
                            "tolerance_deg": round(r.edge.tolerance_deg, 2),
                            "reps": [{"peak_deg": round(q.peak_deg, 2),
                                      "low_deg": None if q.low_deg is None else round(q.low_deg, 2),
                                      "edge_deg": round(q.edge_deg, 2), "reached": q.reached,
                                      "beyond": q.beyond, "grade": q.grade} for q in r.edge.reps]}
                        for s, r in a.sides.items() if r.edge is not None},
        "warnings": a.warnings,
    }
    if a.neutral_given is not None:
        g = a.neutral_given
        out["neutral_given"] = {"start_s": round(g.start_s, 3), "end_s": round(g.end_s, 3),
                                "measured_deg": {k: round(v, 2) for k, v in g.values.items()},
                                "spread_deg": round(g.spread_deg, 2),
                                "angles_relative_to_it": a.joint.kind == "signed"}
    if a.ankle_report is not None:
        for rep, item in zip(reps, out["reps"]):
            item["heel_lifted"] = a.ankle_report.heel_lifted.get((rep.side, rep.start_s))
            cm = a.ankle_report.knee_over_toe_cm.get((rep.side, rep.start_s))
            item["knee_over_toe_cm"] = None if cm is None else round(cm, 1)
        out.update(a.ankle_report.summary)
    return out
