"""Angle filters: One-Euro for live use (causal), zero-phase Butterworth for offline analysis.

Invalid frames are NaN and are never filled in: each run of valid frames is filtered on
its own, so a gap cannot leak a made-up value into a peak (a one-sample gap, a rejected glitch,
is filtered across on a straight line and stays NaN: :func:`zero_phase`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import butter, medfilt, sosfiltfilt

DEFAULT_CUTOFF_HZ = 4.0  # rhythmic mobilization reps are well below 2 Hz; landmark jitter is above
BRIDGE_SAMPLES = 1       # zero_phase filters across a one-sample gap (a rejected glitch), see there


class OneEuro:
    """The One-Euro filter (Casiez, Roussel & Vogel, CHI 2012): a low-pass whose cutoff rises
    with speed, so it is smooth when still and lags little when moving. Causal: usable live.

    ``min_cutoff`` (Hz) sets the smoothing when still, ``beta`` (per deg/s) how fast the
    cutoff opens with speed. A gap longer than ``reset_after_s`` restarts the filter.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.02, d_cutoff: float = 1.0,
                 reset_after_s: float = 0.5):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset_after_s = reset_after_s
        self.reset()

    def reset(self) -> None:
        self._t = None
        self._x = None
        self._dx = 0.0

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, t: float, x: float) -> float:
        """Filter the sample ``x`` taken at time ``t`` (seconds). NaN passes through and resets."""
        if x is None or not math.isfinite(x):
            return math.nan
        if self._t is None or t - self._t > self.reset_after_s or t <= self._t:
            self._t, self._x, self._dx = t, x, 0.0
            return x
        dt = t - self._t
        dx = (x - self._x) / dt
        self._dx += self._alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * abs(self._dx)
        self._x += self._alpha(cutoff, dt) * (x - self._x)
        self._t = t
        return self._x


def one_euro_series(t, x, **params) -> np.ndarray:
    """Run a fresh :class:`OneEuro` over a whole series (NaN stays NaN)."""
    f = OneEuro(**params)
    return np.array([f(float(ti), float(xi)) for ti, xi in zip(t, x)])


def valid_runs(x) -> list[slice]:
    """Slices of the consecutive finite samples in ``x``."""
    finite = np.isfinite(np.asarray(x, dtype=float))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(np.int8), [0]))))
    return [slice(a, b) for a, b in zip(edges[::2], edges[1::2])]


def zero_phase(t, x, cutoff_hz: float = DEFAULT_CUTOFF_HZ, order: int = 2, bridge: int = BRIDGE_SAMPLES) -> np.ndarray:
    """Zero-phase low-pass for offline analysis and for re-reading live peaks: a 3-sample median
    against single-frame glitches, then a Butterworth filter run forwards and backwards (no lag,
    so peaks stay where they are). Larger glitches are removed before, by :func:`reject_glitches`.

    Each valid run is filtered separately; runs too short to filter keep their values. A gap of
    up to ``bridge`` samples (a single frame left out as a glitch) does not split a run: the
    filter runs across it on a straight line between its neighbours, and the gap stays NaN in
    the output (never a made-up value; a straight line cannot raise a peak). The bridge is there
    so that a few frames left between two rejected glitches are filtered with their neighbours
    instead of keeping their raw values: such an island of a MediaPipe mixed-up leg can read
    several degrees past the real peak. The cutoff is kept below 0.8 x Nyquist of the run's own
    frame rate.
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    finite = np.isfinite(x)
    x = bridge_gaps(t, x, bridge)
    out = np.full_like(x, np.nan)
    for run in valid_runs(x):
        seg = x[run]
        if len(seg) >= 3:
            seg = medfilt(seg, 3)
            seg[0], seg[-1] = x[run][0], x[run][-1]
        out[run] = seg
        if len(seg) < 4 * (order + 1):
            continue
        fs = 1.0 / float(np.median(np.diff(t[run])))
        sos = butter(order, min(cutoff_hz, 0.8 * fs / 2.0) / (fs / 2.0), output="sos")
        out[run] = sosfiltfilt(sos, seg, padlen=min(len(seg) - 1, 3 * (2 * len(sos) + 1)))
    return np.where(finite, out, np.nan)


def bridge_gaps(t, x, max_gap: int = 1) -> np.ndarray:
    """A copy of ``x`` with each NaN gap of at most ``max_gap`` samples between two finite samples
    filled on the straight line between them (for filtering only; callers mask it again)."""
    t = np.asarray(t, dtype=float)
    x = np.array(x, dtype=float, copy=True)
    idx = np.flatnonzero(np.isfinite(x))
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= max_gap + 1:
            x[a + 1:b] = np.interp(t[a + 1:b], (t[a], t[b]), (x[a], x[b]))
    return x


def _window_bounds(t: np.ndarray, before_s: float, after_s: float) -> tuple[np.ndarray, np.ndarray]:
    """For each sample, the index range [lo, hi) of the samples within [t - before_s, t + after_s]."""
    return (np.searchsorted(t, t - before_s, side="left"), np.searchsorted(t, t + after_s, side="right"))


def running_median(t, x, window_s: float, causal: bool = False) -> np.ndarray:
    """Median of the finite samples within a time window around (or, causal, before) each sample.
    NaN where the sample itself is NaN."""
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    lo, hi = _window_bounds(t, window_s if causal else window_s / 2.0, 0.0 if causal else window_s / 2.0)
    out = np.full_like(x, np.nan)
    for i in np.flatnonzero(np.isfinite(x)):
        win = x[lo[i]:hi[i]]
        out[i] = np.median(win[np.isfinite(win)])
    return out


def reject_glitches(t, x, window_s: float = 0.35, min_jump_deg: float = 8.0, k: float = 4.0, *,
                    spike_deg: float | None = None, spike_window_s: float = 0.14, min_run: int = 1) -> np.ndarray:
    """Offline: samples that stand out from the running median of their neighbours by more than
    ``max(min_jump_deg, k * local MAD)`` become NaN (a landmark glitch, e.g. a leg swap lasting a
    few frames). A smooth peak stays close to its running median, so it is never touched.

    Two more steps for joints whose landmarks glitch in clusters (the ankle: MediaPipe's mixed
    legs, :func:`romcam.measure.ankle.glitch_options`): ``spike_deg`` first drops samples that
    far from the running median over ``spike_window_s`` (1-2 frame spikes the wider window lets
    through during fast movement); ``min_run`` last drops runs of fewer valid samples (counted
    across one-sample gaps, as :func:`zero_phase` filters them): a sample whose neighbours are
    all left out cannot be checked against them."""
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    if spike_deg is not None:
        x = np.where(np.abs(x - running_median(t, x, spike_window_s)) > spike_deg, np.nan, x)
    lo, hi = _window_bounds(t, window_s / 2.0, window_s / 2.0)
    out = x.copy()
    for i in np.flatnonzero(np.isfinite(x)):
        win = x[lo[i]:hi[i]]
        win = win[np.isfinite(win)]
        if len(win) < 3:
            continue
        med = np.median(win)
        mad = 1.4826 * np.median(np.abs(win - med))
        if abs(x[i] - med) > max(min_jump_deg, k * mad):
            out[i] = np.nan
    if min_run > 1:
        for run in valid_runs(bridge_gaps(t, out, BRIDGE_SAMPLES)):
            if run.stop - run.start < min_run:
                out[run] = np.nan
    return out
