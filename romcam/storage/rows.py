"""The rows read back from the session database: sessions with their per-side outcomes, trials, reps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from romcam.measure.outcome import SideOutcome
from romcam.timestamps import parse_timestamp

INTERRUPTED_LABEL = "incomplete (interrupted)"


@dataclass(frozen=True)
class SessionRow:
    """One session as history and export show it, with one outcome per side."""

    id: int
    subject: str
    joint: str
    side: str
    started_at: str
    ended_at: str | None
    status: str                        # in_progress | complete | incomplete
    end_reason: str | None
    synthetic: bool
    target_reps: int | None
    outcomes: tuple[SideOutcome, ...]
    results_stored: bool               # False: outcomes computed from the stored trials
    heel_lifted: dict = field(default_factory=dict)   # ankle: side -> trials and reps with the heel up
    set_kind: str = "reps"             # reps | circles (neck circles: turns instead of reps)
    target_turns: int | None = None

    @property
    def status_label(self) -> str:
        """'complete', 'incomplete (<reason>)', or 'incomplete (interrupted)' for a session that
        never finished (its process stopped or was killed)."""
        if self.status == "in_progress":
            return INTERRUPTED_LABEL
        if self.status == "incomplete" and self.end_reason:
            return f"incomplete ({self.end_reason})"
        return self.status

    @property
    def started(self) -> datetime:
        """Start time as an aware datetime."""
        return parse_timestamp(self.started_at)

    @property
    def reps_done(self) -> int:
        return sum(o.reps_done for o in self.outcomes)


@dataclass(frozen=True)
class TrialRecord:
    id: int
    phase: str
    side: str
    trial_no: int
    peak_deg: float
    start_s: float | None
    peak_s: float | None
    end_s: float | None
    discarded: bool
    created_at: str
    heel_lifted: bool | None = None   # the ankle's heel was up at the peak (None: not measured)


@dataclass(frozen=True)
class RepRecord:
    id: int
    side: str
    rep_no: int
    peak_deg: float
    start_s: float | None
    peak_s: float | None
    end_s: float | None
    created_at: str
    heel_lifted: bool | None = None


@dataclass(frozen=True)
class TurnRecord:
    """One neck circle of a set of circles; extremes are positive magnitudes relative to the
    neutral (None when the turn never reached that side)."""
    id: int
    turn_no: int
    direction: str                     # cw (forward -> right -> back -> left, seen from above) | ccw
    start_s: float | None
    end_s: float | None
    right_deg: float | None
    left_deg: float | None
    forward_deg: float | None
    backward_deg: float | None
    created_at: str

    def extreme(self, side: str) -> float | None:
        return getattr(self, f"{side}_deg")

    @property
    def index(self) -> int:            # as romcam.measure.turns.Turn
        return self.turn_no


@dataclass(frozen=True)
class SessionDetail:
    """Everything stored about one session (for the report)."""

    row: SessionRow
    source: str | None
    camera: str | None
    pose_model: str | None
    trials_per_phase: int | None
    neutral_deg: float | None
    app_version: str | None
    stats: dict = field(default_factory=dict)
    trials: tuple[TrialRecord, ...] = ()
    reps: tuple[RepRecord, ...] = ()
    vertical_source: str | None = None     # ankle: camera profile, scene or assumed level
    camera_roll_deg: float | None = None
    turns: tuple[TurnRecord, ...] = ()

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def outcomes(self) -> tuple[SideOutcome, ...]:
        return self.row.outcomes
