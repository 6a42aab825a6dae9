"""v2: per-frame head turn/flexion and invalid reasons (neck in 3-D), neck-circle turns,
heel-lift flags and the source of the vertical (ankle), as romcam wrote it with
``PRAGMA user_version = 2``. Frozen: never edit a released revision."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DOUBLE = sa.DOUBLE_PRECISION


def upgrade() -> None:
    op.add_column("frames", sa.Column("head_turn_deg", DOUBLE))
    op.add_column("frames", sa.Column("head_flexion_deg", DOUBLE))
    op.add_column("frames", sa.Column("invalid_reason", sa.Text))
    op.add_column("sessions", sa.Column("set_kind", sa.Text, nullable=False, server_default=sa.text("'reps'")))
    op.add_column("sessions", sa.Column("target_turns", sa.Integer))
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("turn_no", sa.Integer, nullable=False),
        sa.Column("direction", sa.Text, sa.CheckConstraint("direction IN ('cw', 'ccw')"), nullable=False),
        sa.Column("start_s", DOUBLE), sa.Column("end_s", DOUBLE),
        sa.Column("right_deg", DOUBLE), sa.Column("left_deg", DOUBLE),
        sa.Column("forward_deg", DOUBLE), sa.Column("backward_deg", DOUBLE),
        sa.Column("created_at", sa.Text, nullable=False))
    op.create_index("turns_by_session", "turns", ["session_id"])
    op.add_column("trials", sa.Column("heel_lifted", sa.Integer))
    op.add_column("reps", sa.Column("heel_lifted", sa.Integer))
    op.add_column("sessions", sa.Column("camera_roll_deg", DOUBLE))
    op.add_column("sessions", sa.Column("vertical_source", sa.Text))
