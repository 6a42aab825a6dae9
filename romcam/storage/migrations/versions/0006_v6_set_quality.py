"""v6: each set rep and turn against the edge of the person's range (its own low, the edge it was
judged against, whether it reached the edge or went far beyond it, its Maitland grade; a turn also
the side judged), and per session and side the set's grade, how many reps or turns were judged and
reached the edge, and the edge at the start and end of the set (romcam.measure.edge). Rows stored
before v6 keep these empty. Self-contained: it only adds nullable columns.
Frozen: never edit a released revision."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _edge_columns() -> list[sa.Column]:
    return [sa.Column("low_deg", sa.DOUBLE_PRECISION), sa.Column("edge_deg", sa.DOUBLE_PRECISION),
            sa.Column("reached_edge", sa.Integer), sa.Column("beyond_edge", sa.Integer),
            sa.Column("grade", sa.Text)]


def upgrade() -> None:
    for column in _edge_columns():
        op.add_column("reps", column)
    op.add_column("turns", sa.Column("edge_side", sa.Text))
    for column in _edge_columns():
        op.add_column("turns", column)
    for column in (sa.Column("set_grade", sa.Text), sa.Column("set_judged", sa.Integer),
                   sa.Column("set_reached", sa.Integer), sa.Column("set_flagged", sa.Integer),
                   sa.Column("edge_start_deg", sa.DOUBLE_PRECISION), sa.Column("edge_end_deg", sa.DOUBLE_PRECISION),
                   sa.Column("edge_tolerance_deg", sa.DOUBLE_PRECISION)):
        op.add_column("results", column)
