"""Neck-circle turn counting: full revolutions of the head's tilt direction, per direction.

During a neck circle the head's vertical axis tips around a cone relative to the trunk
(docs/design.md, "Neck circles" and "Reps"). Per frame the caller gives the tilt of that axis
towards the person's right (``lateral_deg``, - = left) and towards the front (``forward_deg``,
chin down; - = back). The tilt **direction** is ``phi = atan2(lateral, forward)`` in degrees
(0 = forward, +90 = right, 180 = back, -90 = left) and the tilt **magnitude** is
``hypot(lateral, forward)``.

Direction convention: ``cw`` = phi increasing = forward -> right -> back -> left, i.e. clockwise
on a clock lying face-up in front of the person with 12 pointing ahead, seen from above (as the
person looking down would see the top of the head travel). ``ccw`` = phi decreasing. Seen by a
camera in front of the person the same motion looks mirrored; this module never sees images.

Rules (:class:`TurnCounter`):

* **Turn.** One turn = a net 360 deg of unwrapped phi in one direction, counted from the turn's
  start, while the tilt stays at or above ``floor_deg``. Turns tile the motion: when one
  completes, the next starts at that sample, 360 deg further on (no angle is lost or counted
  twice), so 40 steady circles give 40 turns; a last turn counts only if completed.
* **Floor.** A tilt below ``floor_deg`` (head near upright: the direction means nothing) breaks
  the turn in progress; the partial accumulation is discarded and the next sample above the
  floor starts afresh. The segment between two consecutive samples is checked too: if it passes
  closer than the floor to upright (a side-bend swinging through neutral between two frames,
  where phi jumps by ~180 deg with a sign set by noise) that also breaks the turn.
* **Direction and reversals.** A fresh start has no direction until phi has moved more than
  ``reversal_deg`` away from its lowest (-> cw) or highest (-> ccw) point; the turn starts at that
  point. During a turn, phi going back against the turn's direction by more than
  ``reversal_deg`` from the furthest point reached is a reversal: the partial turn is dropped
  and a turn in the other direction starts at that turning point. Going back by less (jitter, a
  wobble) changes nothing: only the net angle counts.
* **Pauses.** Holding the head tilted and still adds nothing and breaks nothing. Holding it
  upright is below the floor, so it breaks the turn in progress.
* **Gaps.** A frame is invalid when lateral or forward is not finite (face lost). Invalid frames
  lasting at most ``max_gap_s`` (between the valid samples on either side) are bridged: the
  change of phi across the gap is taken in the turn's current direction, if that is at most
  180 deg (otherwise which way the head went is unknown, and the turn is broken). A longer gap
  (or a jump in t longer than ``max_gap_s`` between valid samples) breaks the turn. Short face losses happen at the back of the circle, head extended.
* **Extremes.** Each completed turn records, over its own samples (from its start sample to its
  end sample, both included; a boundary sample belongs to both adjacent turns), the right and
  left side-bend extremes (max of ``side_bend_deg`` and of ``-side_bend_deg``) and the forward
  and backward extremes (max of ``nod_deg`` and of ``-nod_deg``), each a positive magnitude or
  None if that side was never reached. They are exact sample values, no filtering. NaN
  side-bend or nod values are skipped (they do not invalidate the frame for counting).

Defaults: ``floor_deg=8`` sits above the jitter of a measured head axis at rest (1-3 deg) and
of a head turn, which leaves the axis upright, and well below the tilt of any real circle
(15-40 deg, even with only 20 deg of side-bend). ``reversal_deg=40`` is several times the
direction jitter at a small tilt (1 deg of noise at 10 deg of tilt is ~6 deg of phi) but far
less than a deliberate change of direction. ``max_gap_s=1.0`` bridges the face loss at the back
of a typical 3-6 s circle (a quarter of it or less) but not a person walking off.

Everything here is pure (numpy only): feed samples, get :class:`Turn` records.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

DIRECTIONS = ("cw", "ccw")
SIDES = ("right", "left", "forward", "backward")


@dataclass(frozen=True)
class Turn:
    index: int              # 1-based, across both directions
    direction: str          # 'cw' (phi increasing: forward -> right -> back -> left) or 'ccw'
    start_s: float
    end_s: float
    right_extreme_deg: float | None     # max side-bend to the right, positive; None if never right
    left_extreme_deg: float | None
    forward_extreme_deg: float | None   # max nod forward (flexion), positive
    backward_extreme_deg: float | None  # max extension, positive

    def extreme(self, side: str) -> float | None:
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {side!r}")
        return getattr(self, f"{side}_extreme_deg")

    def as_dict(self) -> dict:
        return asdict(self)


def _positive_max(values) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    m = max(finite, default=-math.inf)
    return float(m) if m > 0 else None


def _passes_near_upright(p0, p1, floor: float) -> bool:
    """Does the straight segment between two tilt vectors pass closer than ``floor`` to zero?"""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        return False
    s = -(p0[0] * dx + p0[1] * dy) / length2
    return 0.0 < s < 1.0 and math.hypot(p0[0] + s * dx, p0[1] + s * dy) < floor


class TurnCounter:
    """Streaming turn counter; see the module docstring for the rules."""

    def __init__(self, floor_deg: float = 8.0, reversal_deg: float = 40.0, max_gap_s: float = 1.0):
        if not (floor_deg > 0 and 0 < reversal_deg < 180 and max_gap_s >= 0):
            raise ValueError("need floor_deg > 0, 0 < reversal_deg < 180, max_gap_s >= 0")
        self.floor_deg, self.reversal_deg, self.max_gap_s = floor_deg, reversal_deg, max_gap_s
        self.turns: list[Turn] = []
        self._last_t: float | None = None   # time of the last valid sample
        self._missed = False                # invalid samples since then
        self._break()

    def _break(self) -> None:
        """Forget the turn in progress; the next usable sample starts afresh."""
        self._prev: tuple[float, float, float] | None = None  # (lateral, forward, phi) last sample
        self._buf: list[tuple[float, float, float, float]] = []  # (t, u, side_bend, nod) of the partial turn
        self._dir = 0          # +1 cw, -1 ccw, 0 not known yet
        self._u = self._start = self._lo = self._hi = self._ext = 0.0

    @property
    def count(self) -> int:
        return len(self.turns)

    @property
    def counts(self) -> dict[str, int]:
        return {d: sum(turn.direction == d for turn in self.turns) for d in DIRECTIONS}

    @property
    def progress_deg(self) -> float:
        """Signed angle of the turn in progress (+ = cw); 0 when there is none."""
        return 0.0 if self._prev is None else self._u - self._start

    def update(self, t: float, lateral_deg: float, forward_deg: float,
               side_bend_deg: float = math.nan, nod_deg: float = math.nan) -> Turn | None:
        """Feed one sample (NaN lateral/forward = invalid frame). Returns the turn that just completed."""
        t, lat, fwd = float(t), float(lateral_deg), float(forward_deg)
        long_gap = self._last_t is not None and t - self._last_t > self.max_gap_s
        if not (math.isfinite(lat) and math.isfinite(fwd)):
            self._missed = True
            if long_gap:
                self._break()
            return None
        bridged, self._missed, self._last_t = self._missed, False, t
        below_floor = math.hypot(lat, fwd) < self.floor_deg
        if long_gap or below_floor:
            self._break()
        if below_floor:
            return None
        phi = math.degrees(math.atan2(lat, fwd))
        if self._prev is not None:
            d = (phi - self._prev[2] + 180.0) % 360.0 - 180.0   # shortest way, in [-180, 180)
            if bridged and self._dir:
                d = self._dir * ((self._dir * (phi - self._prev[2])) % 360.0)
                if abs(d) > 180.0:
                    self._break()
            elif not bridged and _passes_near_upright(self._prev, (lat, fwd), self.floor_deg):
                self._break()
        if self._prev is None:   # a fresh start at this sample
            self._u = self._start = self._lo = self._hi = self._ext = phi
        else:
            self._u += d
        self._prev = (lat, fwd, phi)
        self._buf.append((t, self._u, float(side_bend_deg), float(nod_deg)))
        return self._advance(t)

    def _restart_at_extreme(self, sign: int, new_dir: int) -> None:
        """Start a turn in ``new_dir`` at the last sample where sign*u was largest."""
        us = np.array([b[1] for b in self._buf]) * sign
        i = len(us) - 1 - int(np.argmax(us[::-1]))
        self._buf = self._buf[i:]
        self._dir, self._start = new_dir, self._buf[0][1]
        self._ext = new_dir * max(new_dir * b[1] for b in self._buf)

    def _advance(self, t: float) -> Turn | None:
        u, r = self._u, self.reversal_deg
        if self._dir == 0:
            self._lo, self._hi = min(self._lo, u), max(self._hi, u)
            if u - self._lo > r:
                self._restart_at_extreme(-1, +1)
            elif self._hi - u > r:
                self._restart_at_extreme(+1, -1)
            return None
        if self._dir * (u - self._ext) > 0:
            self._ext = u
        if self._dir * (self._ext - u) > r:
            self._restart_at_extreme(self._dir, -self._dir)
            return None
        if self._dir * (u - self._start) < 360.0:
            return None
        sb = [b[2] for b in self._buf]
        nod = [b[3] for b in self._buf]
        turn = Turn(len(self.turns) + 1, "cw" if self._dir > 0 else "ccw", self._buf[0][0], t,
                    _positive_max(sb), _positive_max([-v for v in sb]),
                    _positive_max(nod), _positive_max([-v for v in nod]))
        self.turns.append(turn)
        self._start += self._dir * 360.0
        self._buf = self._buf[-1:]
        self._ext = u
        return turn


def with_extremes(turn: Turn, t, side_bend, nod) -> Turn:
    """``turn`` with its extremes re-read from the samples of its own window [start_s, end_s]
    of other (e.g. zero-phase-filtered) series of side-bend and nod at times ``t``."""
    t = np.asarray(t, dtype=float)
    inside = (t >= turn.start_s) & (t <= turn.end_s)
    sb = np.asarray(side_bend, dtype=float)[inside]
    nod = np.asarray(nod, dtype=float)[inside]
    return replace(turn, right_extreme_deg=_positive_max(sb), left_extreme_deg=_positive_max(-sb),
                   forward_extreme_deg=_positive_max(nod), backward_extreme_deg=_positive_max(-nod))


def count_turns(t, lateral, forward, side_bend=None, nod=None, **params) -> list[Turn]:
    """Count the turns of a whole series (arrays of equal length); params as for TurnCounter."""
    t, lateral, forward = (np.asarray(a, dtype=float) for a in (t, lateral, forward))
    side_bend = np.full(t.shape, np.nan) if side_bend is None else np.asarray(side_bend, dtype=float)
    nod = np.full(t.shape, np.nan) if nod is None else np.asarray(nod, dtype=float)
    counter = TurnCounter(**params)
    for row in zip(t, lateral, forward, side_bend, nod):
        counter.update(*row)
    return counter.turns


def first_turn_reaching(turns, side: str, level_deg: float) -> int | None:
    """Index of the first turn whose extreme on ``side`` ('right', 'left', 'forward', 'backward')
    reached ``level_deg`` ("right side-bend reached 24.8 deg at turn 34"); None if none did."""
    for turn in turns:
        value = turn.extreme(side)
        if value is not None and value >= level_deg:
            return turn.index
    return None


def extreme_trend(turns, side: str) -> tuple[float, float] | None:
    """Least-squares line through (turn index, extreme on ``side``) over the turns that have a
    value: (slope in deg per turn, intercept in deg). None with fewer than two such turns."""
    pts = [(turn.index, turn.extreme(side)) for turn in turns if turn.extreme(side) is not None]
    if len({i for i, _ in pts}) < 2:
        return None
    slope, intercept = np.polyfit(*np.array(pts, dtype=float).T, 1)
    return float(slope), float(intercept)


def circle_stream(segments, fps: float = 30.0, phi0_deg: float = 0.0, gaps=(),
                  noise_deg: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic neck circles, for tests and demos.

    ``segments``: a sequence of ``(degrees, seconds, lateral_amp, forward_amp)``, played one after
    the other from ``phi0_deg``; degrees > 0 = cw, < 0 = ccw, 0 = a hold. An amplitude is a number
    or a ``(start, end)`` pair ramped linearly over the segment (an amplitude of 0 is upright).
    Tilt: lateral = lateral_amp * sin(phi), forward = forward_amp * cos(phi) (an ellipse when the
    amplitudes differ). side_bend and nod are the same lateral and forward values, so a turn's
    extremes are its sampled tilt components. ``gaps``: (start_s, duration_s) windows set to NaN.
    ``noise_deg``: gaussian noise added to the tilt components. Samples at t = i / fps up to the
    end, inclusive. Returns t, lateral, forward, side_bend, nod and phi (the true phase, unwrapped).
    """
    segs = [(float(deg), float(sec), np.broadcast_to(lat, 2).astype(float),
             np.broadcast_to(fwd, 2).astype(float)) for deg, sec, lat, fwd in segments]
    if any(sec <= 0 for _, sec, _, _ in segs):
        raise ValueError("every segment needs a positive duration")
    ends = np.cumsum([sec for _, sec, _, _ in segs])
    starts = ends - [sec for _, sec, _, _ in segs]
    phi_starts = phi0_deg + np.concatenate([[0.0], np.cumsum([deg for deg, _, _, _ in segs])])
    t = np.arange(int(math.floor(ends[-1] * fps + 1e-9)) + 1) / fps
    k = np.minimum(np.searchsorted(ends, t, side="right"), len(segs) - 1)
    s = np.clip((t - starts[k]) / np.array([sec for _, sec, _, _ in segs])[k], 0.0, 1.0)
    deg = np.array([d for d, _, _, _ in segs])[k]
    lat_amp = np.array([a for _, _, a, _ in segs])[k]
    fwd_amp = np.array([a for _, _, _, a in segs])[k]
    phi = phi_starts[k] + deg * s
    lateral = (lat_amp[:, 0] + (lat_amp[:, 1] - lat_amp[:, 0]) * s) * np.sin(np.radians(phi))
    forward = (fwd_amp[:, 0] + (fwd_amp[:, 1] - fwd_amp[:, 0]) * s) * np.cos(np.radians(phi))
    if noise_deg:
        rng = np.random.default_rng(seed)
        lateral = lateral + rng.normal(0.0, noise_deg, t.shape)
        forward = forward + rng.normal(0.0, noise_deg, t.shape)
    for g0, dur in gaps:
        lost = (t >= g0) & (t < g0 + dur)
        lateral, forward = np.where(lost, np.nan, lateral), np.where(lost, np.nan, forward)
    return {"t": t, "lateral": lateral, "forward": forward, "side_bend": lateral.copy(),
            "nod": forward.copy(), "phi": phi}
