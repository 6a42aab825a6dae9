"""Before/after with uncertainty (docs/design.md, "Before/after and uncertainty"). Pure functions.

* a measurement is several maximal trials; its value is the **median** of the trial peaks;
* SEM (standard error of measurement) is the within-session trial spread: the pooled
  sample standard deviation of the before and after trials,
  ``sqrt((var_before + var_after) / 2)`` (ddof = 1; one side alone when only it has 2+ trials);
* delta = after - before; MDC95 = 1.96 x sqrt(2) x SEM;
* a delta whose size does not exceed the MDC is "within measurement noise".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from collections.abc import Sequence

import numpy as np

Z95 = 1.96


@dataclass(frozen=True)
class SideOutcome:
    side: str
    before_deg: float | None
    after_deg: float | None
    delta_deg: float | None
    sem_deg: float | None
    mdc95_deg: float | None
    verdict: str
    trials_before: int
    trials_after: int
    reps_done: int = 0
    first_rep_at_after_level: int | None = None  # set rep number at which the after-level was first reached

    def as_dict(self) -> dict:
        return asdict(self)


def measurement_value(peaks: Sequence[float]) -> float | None:
    """The value of one measurement: the median of its trial peaks."""
    return float(np.median(peaks)) if len(peaks) else None


def pooled_sem(before: Sequence[float], after: Sequence[float]) -> float | None:
    """Pooled within-session SD of the trial peaks (None when no set has two trials)."""
    variances = [float(np.var(p, ddof=1)) for p in (before, after) if len(p) >= 2]
    if not variances:
        return None
    return math.sqrt(sum(variances) / len(variances))


def mdc95(sem: float | None) -> float | None:
    return None if sem is None else Z95 * math.sqrt(2.0) * sem


def verdict(delta: float | None, mdc: float | None) -> str:
    if delta is None:
        return "incomplete: no before/after pair"
    if mdc is None:
        return f"changed by {delta:+.1f} deg (uncertainty unknown: fewer than 2 trials)"
    if abs(delta) <= mdc:
        return f"within measurement noise ({delta:+.1f} deg, MDC {mdc:.1f} deg)"
    word = "improved" if delta > 0 else "decreased"
    return f"{word} by {abs(delta):.1f} deg (MDC {mdc:.1f} deg)"


def first_rep_reaching(rep_peaks: Sequence[float], level: float | None) -> int | None:
    """1-based number of the first set rep whose peak reached ``level`` (None if none did)."""
    if level is None:
        return None
    for k, peak in enumerate(rep_peaks, start=1):
        if peak >= level:
            return k
    return None


def side_outcome(side: str, before: Sequence[float], after: Sequence[float],
                 rep_peaks: Sequence[float] = ()) -> SideOutcome:
    """Everything the summary, the database, the report and the CSV say about one side."""
    b, a = measurement_value(before), measurement_value(after)
    delta = None if a is None or b is None else a - b
    sem = pooled_sem(before, after)
    mdc = mdc95(sem)
    return SideOutcome(
        side=side, before_deg=b, after_deg=a, delta_deg=delta, sem_deg=sem, mdc95_deg=mdc,
        verdict=verdict(delta, mdc), trials_before=len(before), trials_after=len(after),
        reps_done=len(rep_peaks), first_rep_at_after_level=first_rep_reaching(rep_peaks, a),
    )
