"""Each set rep against the edge of the person's range, and its Maitland grade. Pure.

The **edge** is the person's current end of range. It starts at the before range (the median of
the before trials) and moves as their reach grows: before each rep it is the best peak of the last
:data:`EDGE_WINDOW` counted reps, never below the start. A rep peaking more than :data:`JUMP_DEG`
beyond the edge is flagged (worth a look: a real gain that large in one rep is rare, a misread
frame is not) and does not move the edge.

For each rep (all angles as excursions from the neutral, so a share of the range):

* ``peak_share`` = peak / edge;
* ``amplitude_share`` = (peak - the rep's own low) / edge;
* ``reached``: peak >= edge - tolerance, the tolerance being the measurement noise of a peak:
  this session's MDC95 (romcam.measure.outcome: the smallest difference between two measured peaks
  that is not noise) clamped to [:data:`MIN_TOLERANCE_DEG`, :data:`MAX_TOLERANCE_SHARE` x edge],
  or :data:`DEFAULT_TOLERANCE_DEG` when the session has no MDC;
* the grade (Maitland; docs/concepts/set-quality.md): small amplitude (< :data:`LARGE_SHARE`
  of the range) short of the edge = I, large short of it = II, large up to it = III, small at it = IV.

The grade of a set is its most common rep grade (ties: the higher grade).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

#: amplitude of at least half the range is "large" (grades II, III); below it "small" (I, IV)
LARGE_SHARE = 0.5
#: the edge before a rep: the best peak of this many previous reps (never below the start)
EDGE_WINDOW = 5
#: a rep peaking this far beyond the edge is flagged and does not move the edge
JUMP_DEG = 5.0
#: "reached the edge" tolerance bounds: a peak's own accuracy (validation: peaks within 0.5 deg on
#: synthetic streams, 0.2-0.7 deg on a live session) and a share of the range
MIN_TOLERANCE_DEG = 1.0
MAX_TOLERANCE_SHARE = 0.10
#: without a session MDC (offline analysis, fewer than two trials): the MDC95 of the live-session
#: validation (1.6 deg, docs/validation/accuracy.md) rounded up
DEFAULT_TOLERANCE_DEG = 2.0

GRADES = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class RepEdge:
    """One set rep (or turn) against the edge; angles as reported, shares of the range."""

    number: int                # 1-based, in the set
    peak_deg: float
    low_deg: float | None      # the rep's own low (None: a turn, or a trial-like rep from rest)
    edge_deg: float            # the edge it was judged against
    peak_share: float          # (peak - neutral) / (edge - neutral)
    amplitude_share: float     # (peak - low) / (edge - neutral)
    reached: bool
    beyond: bool               # peaked more than JUMP_DEG beyond the edge: flagged
    grade: str

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """'edge reached (20.1 deg)', 'short of the edge (18.0 of 20.1 deg)' or '6.2 deg past your
        edge: worth a look'."""
        if self.beyond:
            return f"{self.peak_deg - self.edge_deg:z.1f} deg past your edge: worth a look"
        if self.reached:
            return f"edge reached ({self.edge_deg:z.1f} deg)"
        return f"short of the edge ({self.peak_deg:z.1f} of {self.edge_deg:z.1f} deg)"


@dataclass(frozen=True)
class SetEdge:
    """A set against the moving edge: its reps, the edge at the start and end, the set grade."""

    side: str
    kind: str                  # "reps" or "turns"
    reps: tuple[RepEdge, ...]
    edge_start_deg: float
    edge_end_deg: float
    tolerance_deg: float
    grade: str | None          # None without reps

    @property
    def reached(self) -> int:
        return sum(r.reached for r in self.reps)

    @property
    def flagged(self) -> int:
        return sum(r.beyond for r in self.reps)

    def summary(self) -> str:
        """'34 of 40 turns reached the edge of your range (20.1 deg); set grade III; your edge
        grew 20.1 -> 24.6 deg'."""
        return summary_text(self.reached, len(self.reps), self.kind, self.edge_start_deg, self.edge_end_deg,
                            self.grade, self.flagged)


def summary_text(reached: int, judged: int, kind: str, start_deg: float | None, end_deg: float | None,
                 grade: str | None, flagged: int = 0) -> str:
    """The set's line from its numbers (as stored): see :meth:`SetEdge.summary`."""
    if not judged or start_deg is None or end_deg is None:
        return f"no {kind} judged against the edge"
    unit = kind if judged != 1 else kind.rstrip("s")
    text = f"{reached} of {judged} {unit} reached the edge of your range ({start_deg:z.1f} deg); set grade {grade}"
    if end_deg > start_deg + 0.05:
        text += f"; your edge grew {start_deg:z.1f} -> {end_deg:z.1f} deg"
    else:
        text += f"; your edge held at {start_deg:z.1f} deg"
    if flagged:
        text += f"; {flagged} far beyond the edge (worth a look)"
    return text


def tolerance_deg(mdc95_deg: float | None, range_deg: float) -> float:
    """How close to the edge a peak must come to have reached it (see the module docstring)."""
    if mdc95_deg is None:
        return DEFAULT_TOLERANCE_DEG
    cap = max(MIN_TOLERANCE_DEG, MAX_TOLERANCE_SHARE * range_deg)
    return min(max(float(mdc95_deg), MIN_TOLERANCE_DEG), cap)


def grade(amplitude_share: float, reached: bool) -> str:
    """Maitland's grade from the amplitude (share of the range) and whether the edge was reached."""
    large = amplitude_share >= LARGE_SHARE
    if reached:
        return "III" if large else "IV"
    return "II" if large else "I"


def set_grade(grades: Sequence[str]) -> str | None:
    """The most common grade; ties go to the higher grade."""
    if not grades:
        return None
    counts = Counter(grades)
    return max(counts, key=lambda g: (counts[g], GRADES.index(g)))


class EdgeTracker:
    """Judges the reps of one set one by one (live or offline) against the moving edge."""

    def __init__(self, start_edge_deg: float, neutral_deg: float = 0.0, mdc95_deg: float | None = None,
                 side: str = "", kind: str = "reps"):
        self.side, self.kind, self.neutral = side, kind, float(neutral_deg)
        self.start = float(start_edge_deg)
        self.tolerance = tolerance_deg(mdc95_deg, self.start - self.neutral)
        self.reps: list[RepEdge] = []
        self._kept: list[float] = []     # peaks that move the edge (not flagged)

    @property
    def edge_deg(self) -> float:
        """The edge the next rep is judged against."""
        recent = self._kept[-EDGE_WINDOW:]
        return max([self.start, *recent])

    def add(self, peak_deg: float, low_deg: float | None = None) -> RepEdge:
        """Judge one rep (its peak and its own low; no low: the rep started from neutral)."""
        edge = self.edge_deg
        span = max(edge - self.neutral, 1e-9)
        low = self.neutral if low_deg is None else low_deg
        reached = peak_deg >= edge - self.tolerance
        beyond = peak_deg > edge + JUMP_DEG
        amplitude = (peak_deg - low) / span
        rep = RepEdge(len(self.reps) + 1, float(peak_deg), low_deg, edge, (peak_deg - self.neutral) / span,
                      amplitude, reached, beyond, grade(amplitude, reached))
        self.reps.append(rep)
        if not beyond:
            self._kept.append(float(peak_deg))
        return rep

    def short_streak(self) -> int:
        """How many reps in a row, up to the last one, fell short of the edge."""
        n = 0
        for rep in reversed(self.reps):
            if rep.reached:
                break
            n += 1
        return n

    def result(self) -> SetEdge:
        return SetEdge(self.side, self.kind, tuple(self.reps), self.start, self.edge_deg, self.tolerance,
                       set_grade([r.grade for r in self.reps]))


def judge_set(peaks: Sequence[float], lows: Sequence[float | None] | None, start_edge_deg: float,
              neutral_deg: float = 0.0, mdc95_deg: float | None = None, side: str = "",
              kind: str = "reps") -> SetEdge:
    """A whole set at once: each rep's peak (and own low) against the moving edge."""
    tracker = EdgeTracker(start_edge_deg, neutral_deg, mdc95_deg, side, kind)
    for peak, low in zip(peaks, lows if lows is not None else [None] * len(peaks)):
        tracker.add(peak, low)
    return tracker.result()
