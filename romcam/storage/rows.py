"""The rows read back from the session database: sessions with their per-side outcomes, trials, reps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from romcam.measure.outcome import SideOutcome
from romcam.timestamps import parse_timestamp

INTERRUPTED_LABEL = "incomplete (interrupted)"
RUNNING_LABEL = "in progress"


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
    knee_over_toe_cm: dict = field(default_factory=dict)   # ankle: (side, phase) -> median over the trials
    running: bool = False              # in_progress and its process is still alive
    set_kind: str = "reps"             # reps | circles (neck circles: turns instead of reps)
    target_turns: int | None = None
    elsewhere: str | None = None       # in_progress, recorded on this other computer (shared database)
    turns_done: int | None = None      # a set of circles: turns counted (both directions); None for reps
    recorded: bool = False             # a recorded visit (session --phases), not a live session
    uuid: str | None = None            # the session's identity, the same in every database it is copied to

    @property
    def status_label(self) -> str:
        """'complete', 'incomplete (<reason>)', 'in progress' while the process recording it
        runs, 'in progress on HOST, or interrupted' for one recorded on another computer (whose
        processes this one cannot see), or 'incomplete (interrupted)' for a session that never
        finished (its process stopped or was killed)."""
        if self.status == "in_progress" and self.running:
            return RUNNING_LABEL
        if self.status == "in_progress" and self.elsewhere:
            return f"{RUNNING_LABEL} on {self.elsewhere}, or interrupted"
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

    def set_done(self, side_reps: int) -> str:
        """What the set did, as history shows it: '24 turns' for circles, else '<side_reps> reps'."""
        count, unit = (self.turns_done, "turn") if self.set_kind == "circles" else (side_reps, "rep")
        return f"{count} {unit}" + ("" if count == 1 else "s")


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
    knee_over_toe_cm: float | None = None   # the ankle's knee-to-wall distance at the peak (None: no scale)


@dataclass(frozen=True)
class EdgeMark:
    """A stored set rep's (or turn's) judgement against the edge (romcam.measure.edge.RepEdge)."""
    low_deg: float | None
    edge_deg: float
    reached: bool
    beyond: bool
    grade: str

    @staticmethod
    def of_row(r) -> EdgeMark | None:
        """From a reps or turns row (None for rows stored before schema v6, or never judged)."""
        if r["edge_deg"] is None:
            return None
        return EdgeMark(r["low_deg"], r["edge_deg"], bool(r["reached_edge"]), bool(r["beyond_edge"]), r["grade"])


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
    knee_over_toe_cm: float | None = None
    edge: EdgeMark | None = None       # against the edge of the range (v6)


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
    edge_side: str | None = None       # the side whose extreme was judged against its edge (v6)
    edge: EdgeMark | None = None

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
    resolution: str | None = None          # the frames' size, e.g. 1280x720
    camera_profile: str | None = None      # the calibration profile used, if any
    phases: str | None = None              # a recorded visit: its phases, in words
    neutral_source: str | None = None      # a recorded visit: where its neutral came from
    dated_from: str | None = None          # a recorded visit: where its start time came from

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def outcomes(self) -> tuple[SideOutcome, ...]:
        return self.row.outcomes
