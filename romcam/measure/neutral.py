"""The neutral of a recording without a still hold: over a stretch the clinician names, or the
stillest stretch of looking ahead. Pure: angle series in, numbers out.

A live session measures the neutral as the median of a 1.5-s still hold (spread under 1.5 deg,
:mod:`romcam.session.protocol`). A recorded visit has no prompted hold, so either the clinician
names a stretch (``--neutral 2:05-2:08``: the median there) or the stillest window of the same
length is found: the window whose largest per-channel spread is smallest, among windows that are
mostly usable, where the head looks ahead (neck: head turn within ``FACING_DEG`` of its typical
value) and near the position held most (within ``NEAR_DEG`` of the most common value: a long
still hold at the end of the range is not a neutral).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from romcam.errors import RomcamError

HOLD_S = 1.5              # the live neutral hold's length
MAX_SD_DEG = 1.5          # the live neutral hold's largest spread
MIN_USABLE_SHARE = 0.8    # a candidate window's usable frames
FACING_DEG = 15.0         # neck: head turn within this of the typical turn = looking ahead
NEAR_DEG = 5.0            # a candidate window's median within this of the most common position
MIN_SAMPLES = 5


@dataclass(frozen=True)
class NeutralStretch:
    start_s: float
    end_s: float
    values: dict[str, float]        # per channel: the median angle over the stretch
    spread_deg: float               # the largest per-channel standard deviation in it
    source: str                     # "given" or "stillest"
    frames: np.ndarray              # bool mask of the frames it used

    @property
    def still(self) -> bool:
        return self.spread_deg <= MAX_SD_DEG


def neutral_over(t, channels: dict[str, np.ndarray], start_s: float, end_s: float,
                 what: str = "--neutral") -> NeutralStretch:
    """The median of each channel's usable (finite) samples with ``start_s <= t <= end_s``."""
    t = np.asarray(t, dtype=float)
    inside = (t >= start_s) & (t <= end_s)
    values, spread = {}, 0.0
    for name, series in channels.items():
        v = np.asarray(series, dtype=float)[inside]
        v = v[np.isfinite(v)]
        if v.size < MIN_SAMPLES:
            raise RomcamError(f"{what}: only {v.size} usable frames between {start_s:z.1f} and {end_s:z.1f} s "
                              f"(give a longer stretch where the person is in view and looks ahead)")
        values[name] = float(np.median(v))
        spread = max(spread, float(np.std(v)))
    return NeutralStretch(float(start_s), float(end_s), values, spread, "given", inside)


def stillest_stretch(t, channels: dict[str, np.ndarray], turn=None, *, search=(0.0, math.inf),
                     hold_s: float = HOLD_S, rest_values: dict[str, float] | None = None) -> NeutralStretch | None:
    """The stillest ``hold_s`` window within ``search`` (start, end in seconds), or None when no
    window qualifies. ``turn``: the head turn per frame (neck), to keep windows looking ahead;
    ``rest_values``: per channel the position held most, to keep windows near it (default: the
    most common value of the searched frames)."""
    from romcam.measure.analysis import most_common_value

    t = np.asarray(t, dtype=float)
    series = {k: np.asarray(v, dtype=float) for k, v in channels.items()}
    usable = np.all([np.isfinite(v) for v in series.values()], axis=0)
    searched = (t >= search[0]) & (t <= search[1])
    if turn is not None:
        turn = np.asarray(turn, dtype=float)
        known = searched & usable & np.isfinite(turn)
        typical_turn = float(np.median(turn[known])) if known.any() else 0.0
        usable = usable & np.isfinite(turn) & (np.abs(turn - typical_turn) <= FACING_DEG)
    pool = searched & usable
    if pool.sum() < MIN_SAMPLES:
        return None
    rest = rest_values or {k: most_common_value(v[pool]) for k, v in series.items()}
    best = None
    starts = np.flatnonzero(searched)
    ends = np.searchsorted(t, t[starts] + hold_s, side="right")
    for i, j in zip(starts, ends):
        if t[j - 1] - t[i] < 0.9 * hold_s or t[j - 1] > search[1]:
            continue
        ok = usable[i:j]
        if ok.mean() < MIN_USABLE_SHARE or ok.sum() < MIN_SAMPLES:
            continue
        window = {k: v[i:j][ok] for k, v in series.items()}
        if any(abs(float(np.median(w)) - rest[k]) > NEAR_DEG for k, w in window.items()):
            continue
        spread = max(float(np.std(w)) for w in window.values())
        if best is None or spread < best[0] - 1e-9:
            best = (spread, i, j)
    if best is None:
        return None
    spread, i, j = best
    mask = np.zeros(len(t), dtype=bool)
    mask[i:j] = usable[i:j]
    values = {k: float(np.median(v[mask])) for k, v in series.items()}
    return NeutralStretch(float(t[i]), float(t[j - 1]), values, spread, "stillest", mask)


def median_over(values, mask) -> float:
    """The median of ``values`` over ``mask``'s finite samples (NaN when there are none): the
    head's turn, tilt and nod over the neutral stretch."""
    v = np.asarray(values, dtype=float)[np.asarray(mask, dtype=bool)]
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan
