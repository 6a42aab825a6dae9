"""The events a session protocol emits (romcam.session.protocol): phase changes, the neutral,
trials, set reps and turns (each judged against the edge of the range), the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from romcam.measure.edge import RepEdge, SetEdge
from romcam.measure.outcome import SideOutcome
from romcam.measure.reps import Rep
from romcam.measure.turns import Turn

class Phase(str, Enum):
    SETUP = "setup"
    NEUTRAL = "neutral"
    BEFORE = "before"
    SET = "set"
    AFTER = "after"
    DONE = "done"


ORDER = [Phase.SETUP, Phase.NEUTRAL, Phase.BEFORE, Phase.SET, Phase.AFTER, Phase.DONE]


@dataclass(frozen=True)
class PhaseStarted:
    phase: Phase
    t: float


@dataclass(frozen=True)
class NeutralMeasured:
    neutral_deg: dict[str, float]     # per channel
    t: float


@dataclass(frozen=True)
class TrialDone:
    phase: Phase
    side: str
    trial_no: int
    rep: Rep


@dataclass(frozen=True)
class TrialDiscarded:
    phase: Phase
    side: str
    trial_no: int


@dataclass(frozen=True)
class RepDone:
    side: str
    rep_no: int
    rep: Rep
    edge: RepEdge | None = None       # the rep against the edge of the range (romcam.measure.edge)


@dataclass(frozen=True)
class TurnIgnored:
    """An excursion that came with more head turn than the joint allows (``max_turn_ratio``):
    a head turn, not a side-bend; neither a trial nor a rep."""
    phase: Phase
    side: str
    rep: Rep
    turn_deg: float


@dataclass(frozen=True)
class TurnDone:
    """A neck circle completed during a set of circles (extremes relative to the neutral)."""
    turn: Turn
    counts: dict
    edges: dict = field(default_factory=dict)   # measured side -> RepEdge of its side-bend extreme


@dataclass(frozen=True)
class Finished:
    complete: bool
    reason: str
    outcomes: tuple[SideOutcome, ...]
    turns: tuple[Turn, ...] = ()
    set_edges: tuple[SetEdge, ...] = ()   # per side: the set's reps (or turns) against the edge
