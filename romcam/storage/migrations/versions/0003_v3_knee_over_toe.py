"""v3: the ankle's knee over toe in cm at each trial's and rep's peak (the knee-to-wall distance;
empty without a scale target). Frozen: never edit a released revision."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("trials", sa.Column("knee_over_toe_cm", sa.DOUBLE_PRECISION))
    op.add_column("reps", sa.Column("knee_over_toe_cm", sa.DOUBLE_PRECISION))
