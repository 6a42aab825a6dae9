"""Rep counting on a filtered angle, per side: trials (from rest and back) and set oscillations.

Two counters work on the *excursion* ``e = sign * (angle - neutral)`` of one side.

:class:`OscillationCounter` counts the reps of a set (docs/concepts/set-quality.md): an oscillation
is a rise of at least ``amplitude_deg`` from its own low followed by a fall of as much from its peak
(hysteresis on amplitude, not on a return to rest), so rocking near the end of the range counts
one by one while jitter (smaller than the amplitude) and slow drift (the rise must happen within
``low_window_s``) do not.

:class:`RepCounter` counts the trials of a before/after measurement: one excursion from
near-neutral to a peak and back (docs/design.md, "Reps"):

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
    low_deg: float | None = None   # oscillations: the angle at the rep's own low (start_s: where the rise leaves it)

    @property
    def amplitude_deg(self) -> float | None:
        """Peak minus the rep's own low (None for a trial, which starts at rest)."""
        return None if self.low_deg is None else self.peak_deg - self.low_deg

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


#: an oscillation counts when it rises this share of the person's range from its own low (and falls
#: as much from its peak); a grade I or IV oscillation is smaller than half the range
#: (romcam.measure.edge.LARGE_SHARE), so 0.15 counts them while leaving margin above the jitter
SWING_SHARE = 0.15


@dataclass(frozen=True)
class SwingThresholds:
    """When a set oscillation counts (see :class:`OscillationCounter`)."""

    amplitude_deg: float          # rise from its own low, and fall from its peak, at least this
    min_peak_deg: float           # its peak at least this far from neutral on this side
    low_window_s: float = 4.0     # the rise must happen within this time (slow drift does not)
    min_duration_s: float = 0.3   # low to the fall that closes it (a one-frame glitch does not)
    max_gap_s: float = 0.3        # a longer gap of unusable frames between low and close voids it
    max_rise_s: float = 10.0      # low to within half an amplitude of the peak (a creep is not a rep)

    def __post_init__(self):
        if not (self.amplitude_deg > 0 and self.min_peak_deg >= 0 and self.low_window_s > 0):
            raise ValueError(f"need amplitude > 0, min_peak >= 0, low_window > 0, got {self}")

    @classmethod
    def for_range(cls, floors: RepThresholds, range_deg: float | None) -> SwingThresholds:
        """Thresholds for a person whose range (the excursion from neutral to the edge) is
        ``range_deg``: an oscillation of :data:`SWING_SHARE` of it, never below the joint's
        hysteresis band (``enter - exit``: its floor above landmark jitter)."""
        band = floors.enter_deg - floors.exit_deg
        amplitude = max(band, SWING_SHARE * max(float(range_deg or 0.0), 0.0))
        return cls(amplitude, amplitude, min_duration_s=floors.min_duration_s, max_gap_s=floors.max_gap_s)


class OscillationCounter:
    """Counts the oscillations of one side (same ``sign`` convention as :class:`RepCounter`).

    The low of the next oscillation is the lowest point since the last peak; it starts when the
    excursion has risen ``amplitude_deg`` above the lowest point of the last ``low_window_s`` and
    closes when it has fallen ``amplitude_deg`` below its peak. It counts when its peak lies at
    least ``min_peak_deg`` on this side of neutral, it lasted ``min_duration_s`` from low to close,
    it came within half an amplitude of its peak within ``max_rise_s`` of its low (a slow creep
    that jitter lifted over the amplitude is not a rep),
    no gap of unusable frames longer than ``max_gap_s`` interrupted it (a low frame rate is no gap), and its low was seen (not the first sample of a
    run of usable frames away from rest: a clip that starts mid-movement). Each :class:`Rep` carries its own low."""

    MEMORY_S = 30.0   # the reported low: the lowest point since the last peak, at most this far back
    START_BAND = 0.1  # a rep starts at its last sample within this share of its rise above its low

    def __init__(self, side: str, thresholds: SwingThresholds, neutral_deg: float = 0.0, sign: int = 1):
        self.side, self.th, self.neutral, self.sign = side, thresholds, neutral_deg, sign
        self.reps: list[Rep] = []
        self._recent: list[tuple[float, float]] = []   # (t, e) since the last peak, within MEMORY_S
        self._last_valid_t: float | None = None
        self._seen_from: float | None = None           # first sample of the current run of valid frames
        self._missed = False                            # invalid samples since the last valid one
        self._rising = False
        self._low = (0.0, 0.0)
        self._peak = (0.0, -math.inf)

    @property
    def count(self) -> int:
        return len(self.reps)

    @property
    def in_rep(self) -> bool:
        return self._rising

    def current_peak_deg(self) -> float | None:
        """Peak angle of the oscillation in progress (None between oscillations)."""
        return self._angle(self._peak[1]) if self._rising else None

    def _angle(self, e: float) -> float:
        return e + self.sign * self.neutral

    def _restart(self, t: float) -> None:
        self._recent.clear()
        self._rising = False
        self._seen_from = t

    def update(self, t: float, angle: float) -> Rep | None:
        """Feed one sample (NaN = invalid frame). Returns the oscillation that just closed, if it counts."""
        if angle is None or not math.isfinite(angle):
            self._missed = True
            return None
        if self._missed and self._last_valid_t is not None and t - self._last_valid_t > self.th.max_gap_s:
            self._restart(t)      # what happened while unseen is unknown: no low, no peak carried over
        self._missed = False
        if self._seen_from is None:
            self._seen_from = t
        self._last_valid_t = t
        e = self.sign * (angle - self.neutral)
        self._recent.append((t, e))
        while self._recent[0][0] < t - self.MEMORY_S:
            self._recent.pop(0)
        if not self._rising:
            window = [s for s in self._recent if s[0] >= t - self.th.low_window_s]
            if e - min(v for _, v in window) >= self.th.amplitude_deg:
                self._rising = True
                self._low = min(self._recent, key=lambda s: s[1])
                self._peak = (t, e)
            return None
        if e > self._peak[1]:
            self._peak = (t, e)
            return None
        if self._peak[1] - e < self.th.amplitude_deg:
            return None
        return self._close(t)

    def _close(self, t: float) -> Rep | None:
        (low_t, low_e), (peak_t, peak_e) = self._low, self._peak
        self._rising = False
        near_peak_t = next((ts for ts, v in self._recent if ts >= low_t and v >= peak_e - self.th.amplitude_deg / 2),
                           peak_t)
        # the rep begins where the rise leaves its low: the last sample before the peak within
        # START_BAND of the rise above the low (a low met early in a long rest would put it there)
        band = self.START_BAND * (peak_e - low_e)
        start_t = max((ts for ts, v in self._recent if low_t <= ts <= peak_t and v <= low_e + band), default=low_t)
        self._recent = [s for s in self._recent if s[0] >= peak_t]
        if near_peak_t - low_t > self.th.max_rise_s:
            return None
        # a low at the first sample seen may have been lower, unless it was at rest already
        seen_low = low_t > self._seen_from or low_e <= self.th.amplitude_deg
        if peak_e < self.th.min_peak_deg or t - low_t < self.th.min_duration_s or not seen_low:
            return None
        rep = Rep(self.side, start_t, peak_t, t, self._angle(peak_e), low_deg=self._angle(low_e))
        self.reps.append(rep)
        return rep

    def finish(self) -> Rep | None:
        """End of the stream: nothing more closes (an oscillation still rising is :meth:`unfinished`)."""
        return None

    def unfinished(self) -> Rep | None:
        """The oscillation still open at the end of a stream: reported, never counted."""
        if not self._rising or self._peak[1] < self.th.min_peak_deg:
            return None
        return Rep(self.side, self._low[0], self._peak[0], None, self._angle(self._peak[1]), complete=False,
                   low_deg=self._angle(self._low[1]))


def count_oscillations(t, angle, side: str, thresholds: SwingThresholds, neutral_deg: float = 0.0,
                       sign: int = 1) -> tuple[list[Rep], Rep | None]:
    """Count the oscillations of one side over a whole series; returns (reps, open one or None)."""
    counter = OscillationCounter(side, thresholds, neutral_deg, sign)
    for ti, ai in zip(np.asarray(t, dtype=float), np.asarray(angle, dtype=float)):
        counter.update(float(ti), float(ai))
    return counter.reps, counter.unfinished()


def count_reps(t, angle, side: str, thresholds: RepThresholds, neutral_deg: float = 0.0,
               sign: int = 1) -> tuple[list[Rep], Rep | None]:
    """Count the reps of one side over a whole series; returns (reps, incomplete excursion or None)."""
    counter = RepCounter(side, thresholds, neutral_deg, sign)
    for ti, ai in zip(np.asarray(t, dtype=float), np.asarray(angle, dtype=float)):
        counter.update(float(ti), float(ai))
    counter.finish()
    return counter.reps, counter.unfinished()
