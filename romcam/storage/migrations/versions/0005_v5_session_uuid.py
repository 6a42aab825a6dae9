"""v5: a session's identity of its own: ``sessions.uuid``, a random UUID (version 4) made when the
session starts, unique in the database (a unique index), carried by recovery files and ``db copy``
so that two sessions are never taken for one (two recorded visits of one video share their start
time). Every existing session gets a UUID of its own here. Frozen: never edit a released revision."""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("uuid", sa.Text))
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM sessions ORDER BY id")).fetchall()]
    if ids:
        bind.execute(sa.text("UPDATE sessions SET uuid = :uuid WHERE id = :sid"),
                     [{"uuid": str(uuid.uuid4()), "sid": sid} for sid in ids])
    op.create_index("sessions_by_uuid", "sessions", ["uuid"], unique=True)
