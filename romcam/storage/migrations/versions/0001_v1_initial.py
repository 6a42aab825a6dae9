"""v1: the initial schema (subjects, sessions, trials, reps, frames, results), as romcam 0.1
wrote it with ``PRAGMA user_version = 1``. Frozen: never edit a released revision."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DOUBLE = sa.DOUBLE_PRECISION


def _session_ref():
    return sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.Text, nullable=False))
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subject_id", sa.Integer, sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("joint", sa.Text, nullable=False),
        sa.Column("side", sa.Text, sa.CheckConstraint("side IN ('left', 'right', 'both')"), nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("ended_at", sa.Text),
        sa.Column("status", sa.Text, sa.CheckConstraint("status IN ('in_progress', 'complete', 'incomplete')"),
                  nullable=False, server_default=sa.text("'in_progress'")),
        sa.Column("end_reason", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("camera", sa.Text),
        sa.Column("pose_model", sa.Text),
        sa.Column("target_reps", sa.Integer),
        sa.Column("trials_per_phase", sa.Integer),
        sa.Column("neutral_deg", DOUBLE),
        sa.Column("synthetic", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("app_version", sa.Text),
        sa.Column("stats_json", sa.Text))
    op.create_index("sessions_by_subject", "sessions", ["subject_id", "started_at"])
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer, primary_key=True),
        _session_ref(),
        sa.Column("phase", sa.Text, sa.CheckConstraint("phase IN ('before', 'after')"), nullable=False),
        sa.Column("side", sa.Text, sa.CheckConstraint("side IN ('left', 'right')"), nullable=False),
        sa.Column("trial_no", sa.Integer, nullable=False),
        sa.Column("start_s", DOUBLE), sa.Column("peak_s", DOUBLE), sa.Column("end_s", DOUBLE),
        sa.Column("peak_deg", DOUBLE, nullable=False),
        sa.Column("discarded", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.Text, nullable=False))
    op.create_index("trials_by_session", "trials", ["session_id"])
    op.create_table(
        "reps",
        sa.Column("id", sa.Integer, primary_key=True),
        _session_ref(),
        sa.Column("side", sa.Text, sa.CheckConstraint("side IN ('left', 'right')"), nullable=False),
        sa.Column("rep_no", sa.Integer, nullable=False),
        sa.Column("start_s", DOUBLE), sa.Column("peak_s", DOUBLE), sa.Column("end_s", DOUBLE),
        sa.Column("peak_deg", DOUBLE, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False))
    op.create_index("reps_by_session", "reps", ["session_id"])
    op.create_table(
        "frames",
        sa.Column("id", sa.Integer, primary_key=True),
        _session_ref(),
        sa.Column("phase", sa.Text, nullable=False),
        sa.Column("side", sa.Text),
        sa.Column("t_s", DOUBLE, nullable=False),
        sa.Column("angle_deg", DOUBLE),
        sa.Column("valid", sa.Integer, nullable=False))
    op.create_index("frames_by_session", "frames", ["session_id", "id"])
    op.create_table(
        "results",
        _session_ref(),
        sa.Column("side", sa.Text, nullable=False),
        sa.Column("before_deg", DOUBLE), sa.Column("after_deg", DOUBLE), sa.Column("delta_deg", DOUBLE),
        sa.Column("sem_deg", DOUBLE), sa.Column("mdc95_deg", DOUBLE),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("trials_before", sa.Integer, nullable=False),
        sa.Column("trials_after", sa.Integer, nullable=False),
        sa.Column("reps_done", sa.Integer, nullable=False),
        sa.Column("first_rep_at_after_level", sa.Integer),
        sa.PrimaryKeyConstraint("session_id", "side"))
