"""The schema of the session database, defined once for SQLite and PostgreSQL: SQLAlchemy Core
tables (subjects, sessions, trials, reps, turns, frames, results).

This is the schema the newest migration produces; the migrations themselves (Alembic revisions,
one per schema version) are in ``romcam/storage/migrations/versions`` and are run by
:mod:`romcam.storage.migrate`. A test checks that the two agree on both database systems.
Columns are kept plain (TEXT ISO-8601 timestamps, INTEGER flags, DOUBLE PRECISION angles, CHECK
and FOREIGN KEY constraints), so that both systems store the same values.
"""

from __future__ import annotations

from sqlalchemy import (DOUBLE_PRECISION, CheckConstraint, Column, ForeignKey, Index, Integer,
                        MetaData, PrimaryKeyConstraint, Table, Text, text)

metadata = MetaData()


def _real(name: str, **kw) -> Column:
    return Column(name, DOUBLE_PRECISION, **kw)


def _peak_columns() -> list[Column]:
    """When a trial or rep started, peaked and ended (s), and its peak angle."""
    return [_real("start_s"), _real("peak_s"), _real("end_s"), _real("peak_deg", nullable=False)]


def _session_ref() -> Column:
    return Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False)


def _edge_columns() -> list[Column]:
    """A set rep's (or turn's) judgement against the edge (romcam.measure.edge)."""
    return [_real("low_deg"), _real("edge_deg"), Column("reached_edge", Integer), Column("beyond_edge", Integer),
            Column("grade", Text)]


def _set_quality_columns() -> list[Column]:
    """A set's judgement against the edge, per side (romcam.measure.outcome.SideOutcome)."""
    return [Column("set_grade", Text), Column("set_judged", Integer), Column("set_reached", Integer),
            Column("set_flagged", Integer), _real("edge_start_deg"), _real("edge_end_deg"),
            _real("edge_tolerance_deg")]


subjects = Table(
    "subjects", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("subject_id", Integer, ForeignKey("subjects.id"), nullable=False),
    Column("joint", Text, nullable=False),
    Column("side", Text, CheckConstraint("side IN ('left', 'right', 'both')"), nullable=False),
    Column("started_at", Text, nullable=False),
    Column("ended_at", Text),
    Column("status", Text, CheckConstraint("status IN ('in_progress', 'complete', 'incomplete')"),
           nullable=False, server_default=text("'in_progress'")),
    Column("end_reason", Text),
    Column("source", Text),
    Column("camera", Text),
    Column("pose_model", Text),
    Column("target_reps", Integer),
    Column("trials_per_phase", Integer),
    _real("neutral_deg"),
    Column("synthetic", Integer, nullable=False, server_default=text("0")),
    Column("app_version", Text),
    Column("stats_json", Text),
    # v2
    Column("set_kind", Text, nullable=False, server_default=text("'reps'")),
    Column("target_turns", Integer),
    _real("camera_roll_deg"),
    Column("vertical_source", Text),
    # v4: the frames' size, the camera profile, the recorded visit and the recording process
    Column("resolution", Text),
    Column("camera_profile", Text),
    Column("recorded", Integer, nullable=False, server_default=text("0")),
    Column("phases", Text),
    Column("neutral_source", Text),
    Column("dated_from", Text),
    Column("owner_pid", Integer),
    Column("owner_host", Text),
    Column("owner_pid_start", Text),
    # v5: the session's identity (a UUID made when it starts), unique
    Column("uuid", Text),
    Index("sessions_by_subject", "subject_id", "started_at"),
    Index("sessions_by_uuid", "uuid", unique=True),
)

trials = Table(
    "trials", metadata,
    Column("id", Integer, primary_key=True),
    _session_ref(),
    Column("phase", Text, CheckConstraint("phase IN ('before', 'after')"), nullable=False),
    Column("side", Text, CheckConstraint("side IN ('left', 'right')"), nullable=False),
    Column("trial_no", Integer, nullable=False),
    *_peak_columns(),
    Column("discarded", Integer, nullable=False, server_default=text("0")),
    Column("created_at", Text, nullable=False),
    Column("heel_lifted", Integer),                                       # v2
    _real("knee_over_toe_cm"),                                            # v3
    Index("trials_by_session", "session_id"),
)

reps = Table(
    "reps", metadata,
    Column("id", Integer, primary_key=True),
    _session_ref(),
    Column("side", Text, CheckConstraint("side IN ('left', 'right')"), nullable=False),
    Column("rep_no", Integer, nullable=False),
    *_peak_columns(),
    Column("created_at", Text, nullable=False),
    Column("heel_lifted", Integer),                                       # v2
    _real("knee_over_toe_cm"),                                            # v3
    *_edge_columns(),                                                     # v6: the rep against the edge
    Index("reps_by_session", "session_id"),
)

frames = Table(
    "frames", metadata,
    Column("id", Integer, primary_key=True),
    _session_ref(),
    Column("phase", Text, nullable=False),
    Column("side", Text),
    _real("t_s", nullable=False),
    _real("angle_deg"),
    Column("valid", Integer, nullable=False),
    _real("head_turn_deg"), _real("head_flexion_deg"), Column("invalid_reason", Text),   # v2
    Index("frames_by_session", "session_id", "id"),
)

results = Table(
    "results", metadata,
    _session_ref(),
    Column("side", Text, nullable=False),
    _real("before_deg"), _real("after_deg"), _real("delta_deg"), _real("sem_deg"), _real("mdc95_deg"),
    Column("verdict", Text, nullable=False),
    Column("trials_before", Integer, nullable=False),
    Column("trials_after", Integer, nullable=False),
    Column("reps_done", Integer, nullable=False),
    Column("first_rep_at_after_level", Integer),
    *_set_quality_columns(),                                              # v6: the set against the edge
    PrimaryKeyConstraint("session_id", "side"),
)

turns = Table(                                                            # v2: neck circles
    "turns", metadata,
    Column("id", Integer, primary_key=True),
    _session_ref(),
    Column("turn_no", Integer, nullable=False),
    Column("direction", Text, CheckConstraint("direction IN ('cw', 'ccw')"), nullable=False),
    _real("start_s"), _real("end_s"),
    _real("right_deg"), _real("left_deg"), _real("forward_deg"), _real("backward_deg"),
    Column("created_at", Text, nullable=False),
    Column("edge_side", Text), *_edge_columns(),                          # v6: the turn against the edge
    Index("turns_by_session", "session_id"),
)

# Tables in the order their rows may be written (parents first).
TABLES = ("subjects", "sessions", "trials", "reps", "turns", "frames", "results")
