"""v4: a session's metadata in columns of its own: the frames' size, the camera profile, whether it
is a recorded visit (its phases, where its neutral and start time came from) and the process that
recorded it (pid, host, the pid's start). Earlier versions kept these in ``stats_json`` under
"meta"; they are moved into the columns (a value of the wrong type, and any other key, stays
where it was). Frozen: never edit a released revision."""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# key in stats_json["meta"] -> (column, the type its value must have)
MOVED = {
    "resolution": ("resolution", str),
    "camera_profile": ("camera_profile", str),
    "recording": ("recorded", bool),
    "phases": ("phases", str),
    "neutral_source": ("neutral_source", str),
    "dated_from": ("dated_from", str),
    "pid": ("owner_pid", int),
    "host": ("owner_host", str),
    "pid_start": ("owner_pid_start", str),
}


def upgrade() -> None:
    for column, kind in MOVED.values():
        if kind is bool:
            op.add_column("sessions", sa.Column(column, sa.Integer, nullable=False, server_default=sa.text("0")))
        else:
            op.add_column("sessions", sa.Column(column, sa.Integer if kind is int else sa.Text))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, stats_json FROM sessions WHERE stats_json LIKE '%\"meta\"%'"))
    for sid, text in rows.fetchall():
        moved, stats = _moved(text)
        if not moved:
            continue
        sets = ", ".join(f"{column} = :{column}" for column in moved)
        bind.execute(sa.text(f"UPDATE sessions SET {sets}, stats_json = :stats WHERE id = :sid"),
                     {**moved, "stats": json.dumps(stats) if stats else None, "sid": sid})


def _moved(text: str) -> tuple[dict, dict]:
    """The column values taken out of a stats_json, and what stays of it."""
    try:
        stats = json.loads(text)
    except ValueError:
        return {}, {}
    meta = stats.get("meta") if isinstance(stats, dict) else None
    if not isinstance(meta, dict):
        return {}, stats
    moved = {}
    for key, (column, kind) in MOVED.items():
        value = meta.get(key)
        if value is None:
            meta.pop(key, None)
        elif kind is bool and isinstance(value, bool):
            moved[column] = int(meta.pop(key))
        elif kind is int and isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
            moved[column] = meta.pop(key)
        elif kind is str and isinstance(value, str):
            moved[column] = meta.pop(key)
    if not meta:
        del stats["meta"]
    return moved, stats
