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
from dataclasses import asdict, dataclass, replace
from collections.abc import Sequence

import numpy as np

from romcam.measure.edge import summary_text

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
    # the set against the edge of the range (romcam.measure.edge); None without set reps or turns
    set_grade: str | None = None         # Maitland grade of the set, I-IV
    set_judged: int | None = None        # reps (or turns) judged against the edge
    set_reached: int | None = None       # of those, how many reached it
    set_flagged: int | None = None       # of those, how many went far beyond it
    edge_start_deg: float | None = None  # the edge at the start of the set (the before range)
    edge_end_deg: float | None = None    # the edge at its end
    edge_tolerance_deg: float | None = None   # "reached" within this of the edge

    def as_dict(self) -> dict:
        return asdict(self)

    def set_quality(self, kind: str = "reps") -> str | None:
        """'34 of 40 turns reached the edge of your range (20.1 deg); set grade III; your edge grew
        20.1 -> 24.6 deg' (None when the set was not judged)."""
        if not self.set_judged:
            return None
        return summary_text(self.set_reached or 0, self.set_judged, kind, self.edge_start_deg, self.edge_end_deg,
                            self.set_grade, self.set_flagged or 0)

    def with_set_edge(self, judged) -> SideOutcome:
        """This outcome with the set's judgement against the edge (a romcam.measure.edge.SetEdge)."""
        return replace(self, set_grade=judged.grade, set_judged=len(judged.reps), set_reached=judged.reached,
                       set_flagged=judged.flagged, edge_start_deg=judged.edge_start_deg,
                       edge_end_deg=judged.edge_end_deg, edge_tolerance_deg=judged.tolerance_deg)


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
        return f"changed by {delta:+z.1f} deg (uncertainty unknown: fewer than 2 trials)"
    if abs(delta) <= mdc:
        return f"within measurement noise ({delta:+z.1f} deg, MDC {mdc:z.1f} deg)"
    word = "improved" if delta > 0 else "decreased"
    return f"{word} by {abs(delta):z.1f} deg (MDC {mdc:z.1f} deg)"


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
