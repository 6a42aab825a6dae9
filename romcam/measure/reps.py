"""Rep counting: hysteresis on a filtered angle, per side, with minimum amplitude and duration.

A rep is one excursion from near-neutral to a peak and back (docs/design.md, "Reps"). The counter
works on the *excursion* ``e = sign * (angle - neutral)`` of one side:

* it enters a rep when ``e`` rises above ``enter_deg`` and leaves it when ``e`` falls back
  below ``exit_deg`` and stays there for ``min_rest_s`` (hysteresis: jitter around one
  threshold, or a one-frame dip, cannot count twice);
* the rep counts only if its peak excursion reaches ``min_amplitude_deg``, it lasted at least
  ``min_duration_s``, and it was seen whole: it started from near-neutral and no gap of
  invalid frames longer than ``max_gap_s`` interrupted it (a person walking into frame, or a
  head turned beyond the yaw limit, is not a rep);
* an excursion still open when the stream ends is reported as incomplete and not counted.

Everything here is pure: feed samples, get :class:`Rep` records.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class RepThresholds:
    enter_deg: float
    exit_deg: float
    min_amplitude_deg: float
    min_duration_s: float = 0.3
    max_gap_s: float = 0.3
    min_rest_s: float = 0.15   # a rep ends only once the angle stays below exit this long

    def __post_init__(self):
        if not 0 <= self.exit_deg < self.enter_deg <= self.min_amplitude_deg:
            raise ValueError(f"need 0 <= exit < enter <= min_amplitude, got {self}")

    def scaled_to(self, typical_excursion_deg: float) -> RepThresholds:
        """Thresholds for a movement whose typical excursion is known (from a whole clip, or from
        the before-trials of a session): enter at 45% and leave at 20% of it, never below the
        joint's own floors, so small wobbles in a big movement do not count as reps."""
        a = max(float(typical_excursion_deg), 0.0)
        enter = max(self.enter_deg, 0.45 * a)
        exit_ = min(max(self.exit_deg, 0.2 * a), 0.5 * enter)
        return RepThresholds(enter, exit_, max(self.min_amplitude_deg, enter),
                             self.min_duration_s, self.max_gap_s, self.min_rest_s)


@dataclass(frozen=True)
class Rep:
    side: str
    start_s: float
    peak_s: float
    end_s: float | None   # None while incomplete
    peak_deg: float       # the angle at the peak, as a positive magnitude for this side
    complete: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


class RepCounter:
    """Counts reps of one side. ``sign`` is +1 when this side's movement makes the angle grow
    (limbs; the right side of a signed joint such as neck side-bend) and -1 when it makes the
    angle fall (the left side of a signed joint)."""

    def __init__(self, side: str, thresholds: RepThresholds, neutral_deg: float = 0.0, sign: int = 1):
        self.side, self.th, self.neutral, self.sign = side, thresholds, neutral_deg, sign
        self.reps: list[Rep] = []
        self._last_valid_t: float | None = None
        self._missed = False  # invalid samples since the last valid one
        self._near_t: float | None = None  # last time seen near neutral (None: not seen since a gap)
        self._in_rep = False
        self._whole = False
        self._below_t: float | None = None  # when the angle fell back below exit in this rep
        self._start = self._peak_t = 0.0
        self._peak_e = -math.inf
        self._last_e = -math.inf  # excursion of the last valid sample

    @property
    def count(self) -> int:
        return len(self.reps)

    @property
    def in_rep(self) -> bool:
        return self._in_rep

    def current_peak_deg(self) -> float | None:
        """Peak angle of the excursion in progress (None when near neutral)."""
        return self._angle(self._peak_e) if self._in_rep else None

    def _lose_sight_if_gap(self, t: float) -> Rep | None:
        """Invalid frames lasting longer than max_gap_s: what happened meanwhile is unknown.

        A rep already seen coming back from its peak by more than the hysteresis band
        (enter - exit: the counter's own measure of a real change, not jitter) when the view is
        lost has been seen from near-neutral, through its peak and on its way back: it is closed
        at the last valid sample and counts, so a real side-bend followed by a head turn past the
        face-mesh limit is not swallowed (side_bend_rotation_front.mp4: the view is lost 19-28 deg
        below the peak, the band is ~12 deg). One lost nearer its peak has not been seen whole
        and never counts."""
        if self._last_valid_t is None or t - self._last_valid_t <= self.th.max_gap_s:
            return None
        rep = None
        if self._in_rep and self._whole and self._peak_e - self._last_e > self.th.enter_deg - self.th.exit_deg:
            rep = self._close(self._below_t if self._below_t is not None else self._last_valid_t)
        self._near_t = None
        self._whole = False
        return rep

    def _angle(self, e: float) -> float:
        return e + self.sign * self.neutral

    def update(self, t: float, angle: float) -> Rep | None:
        """Feed one sample (NaN = invalid frame). Returns the rep that just completed, if it counts."""
        if angle is None or not math.isfinite(angle):
            self._missed = True
            return self._lose_sight_if_gap(t)
        closed = None
        if self._missed:
            closed = self._lose_sight_if_gap(t)
            self._missed = False
        self._last_valid_t = t
        e = self.sign * (angle - self.neutral)
        self._last_e = e
        return closed or self._step(t, e)

    def _step(self, t: float, e: float) -> Rep | None:
        if not self._in_rep:
            if e <= self.th.exit_deg:
                self._near_t = t
            elif e >= self.th.enter_deg:
                self._in_rep = True
                self._whole = self._near_t is not None
                self._start = self._near_t if self._near_t is not None else t
                self._peak_t, self._peak_e = t, e
            return None

        if e > self.th.exit_deg:
            self._below_t = None
            if e > self._peak_e:
                self._peak_t, self._peak_e = t, e
            return None
        if self._below_t is None:
            self._below_t = t
        if t - self._below_t < self.th.min_rest_s:
            return None
        return self._close(self._below_t)

    def _close(self, end_t: float) -> Rep | None:
        self._in_rep = False
        self._below_t = None
        self._near_t = self._last_valid_t
        counts = (self._whole and self._peak_e >= self.th.min_amplitude_deg
                  and end_t - self._start >= self.th.min_duration_s)
        if not counts:
            return None
        rep = Rep(self.side, self._start, self._peak_t, end_t, self._angle(self._peak_e))
        self.reps.append(rep)
        return rep

    def finish(self) -> Rep | None:
        """End of the stream: a rep that has already come back below exit is closed (and returned
        if it counts); one still out is left open for :meth:`unfinished`."""
        if self._in_rep and self._below_t is not None:
            return self._close(self._below_t)
        return None

    def unfinished(self) -> Rep | None:
        """The excursion still open (for the end of a stream): reported, never counted."""
        if not self._in_rep or self._peak_e < self.th.min_amplitude_deg:
            return None
        return Rep(self.side, self._start, self._peak_t, None, self._angle(self._peak_e), complete=False)


def count_reps(t, angle, side: str, thresholds: RepThresholds, neutral_deg: float = 0.0,
               sign: int = 1) -> tuple[list[Rep], Rep | None]:
    """Count the reps of one side over a whole series; returns (reps, incomplete excursion or None)."""
    counter = RepCounter(side, thresholds, neutral_deg, sign)
    for ti, ai in zip(np.asarray(t, dtype=float), np.asarray(angle, dtype=float)):
        counter.update(float(ti), float(ai))
    counter.finish()
    return counter.reps, counter.unfinished()
