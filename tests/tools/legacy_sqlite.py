"""SQLite files as romcam wrote them before its migrations moved to Alembic: schema v1 and v2
in plain SQL, the version in ``PRAGMA user_version`` and no ``alembic_version`` table. Frozen
copies of the SQL romcam 0.1 ran, so the tests open real old files, not ones made by the new
migrations."""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x524F4D43

V1_SCHEMA = (
    """CREATE TABLE subjects (
        id          INTEGER PRIMARY KEY,
        code        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL
    )""",
    """CREATE TABLE sessions (
        id                INTEGER PRIMARY KEY,
        subject_id        INTEGER NOT NULL REFERENCES subjects(id),
        joint             TEXT NOT NULL,
        side              TEXT NOT NULL CHECK (side IN ('left', 'right', 'both')),
        started_at        TEXT NOT NULL,
        ended_at          TEXT,
        status            TEXT NOT NULL DEFAULT 'in_progress'
                          CHECK (status IN ('in_progress', 'complete', 'incomplete')),
        end_reason        TEXT,
        source            TEXT,
        camera            TEXT,
        pose_model        TEXT,
        target_reps       INTEGER,
        trials_per_phase  INTEGER,
        neutral_deg       DOUBLE PRECISION,
        synthetic         INTEGER NOT NULL DEFAULT 0,
        app_version       TEXT,
        stats_json        TEXT
    )""",
    "CREATE INDEX sessions_by_subject ON sessions (subject_id, started_at)",
    """CREATE TABLE trials (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        phase       TEXT NOT NULL CHECK (phase IN ('before', 'after')),
        side        TEXT NOT NULL CHECK (side IN ('left', 'right')),
        trial_no    INTEGER NOT NULL,
        start_s     DOUBLE PRECISION,
        peak_s      DOUBLE PRECISION,
        end_s       DOUBLE PRECISION,
        peak_deg    DOUBLE PRECISION NOT NULL,
        discarded   INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL
    )""",
    "CREATE INDEX trials_by_session ON trials (session_id)",
    """CREATE TABLE reps (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        side        TEXT NOT NULL CHECK (side IN ('left', 'right')),
        rep_no      INTEGER NOT NULL,
        start_s     DOUBLE PRECISION,
        peak_s      DOUBLE PRECISION,
        end_s       DOUBLE PRECISION,
        peak_deg    DOUBLE PRECISION NOT NULL,
        created_at  TEXT NOT NULL
    )""",
    "CREATE INDEX reps_by_session ON reps (session_id)",
    """CREATE TABLE frames (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        phase       TEXT NOT NULL,
        side        TEXT,
        t_s         DOUBLE PRECISION NOT NULL,
        angle_deg   DOUBLE PRECISION,
        valid       INTEGER NOT NULL
    )""",
    "CREATE INDEX frames_by_session ON frames (session_id, id)",
    """CREATE TABLE results (
        session_id                INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        side                      TEXT NOT NULL,
        before_deg                DOUBLE PRECISION,
        after_deg                 DOUBLE PRECISION,
        delta_deg                 DOUBLE PRECISION,
        sem_deg                   DOUBLE PRECISION,
        mdc95_deg                 DOUBLE PRECISION,
        verdict                   TEXT NOT NULL,
        trials_before             INTEGER NOT NULL,
        trials_after              INTEGER NOT NULL,
        reps_done                 INTEGER NOT NULL,
        first_rep_at_after_level  INTEGER,
        PRIMARY KEY (session_id, side)
    )""",
)


V2_SCHEMA = (
    # neck: the head's other channels per frame, and why a frame was not usable
    "ALTER TABLE frames ADD COLUMN head_turn_deg DOUBLE PRECISION",
    "ALTER TABLE frames ADD COLUMN head_flexion_deg DOUBLE PRECISION",
    "ALTER TABLE frames ADD COLUMN invalid_reason TEXT",
    # neck circles: a set of turns instead of reps
    "ALTER TABLE sessions ADD COLUMN set_kind TEXT NOT NULL DEFAULT 'reps'",
    "ALTER TABLE sessions ADD COLUMN target_turns INTEGER",
    """CREATE TABLE turns (
        id                    INTEGER PRIMARY KEY,
        session_id            INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        turn_no               INTEGER NOT NULL,
        direction             TEXT NOT NULL CHECK (direction IN ('cw', 'ccw')),
        start_s               DOUBLE PRECISION,
        end_s                 DOUBLE PRECISION,
        right_deg             DOUBLE PRECISION,
        left_deg              DOUBLE PRECISION,
        forward_deg           DOUBLE PRECISION,
        backward_deg          DOUBLE PRECISION,
        created_at            TEXT NOT NULL
    )""",
    "CREATE INDEX turns_by_session ON turns (session_id)",
    # ankle: a lifted heel voids a knee-to-wall trial; where the true vertical came from
    "ALTER TABLE trials ADD COLUMN heel_lifted INTEGER",
    "ALTER TABLE reps ADD COLUMN heel_lifted INTEGER",
    "ALTER TABLE sessions ADD COLUMN camera_roll_deg DOUBLE PRECISION",
    "ALTER TABLE sessions ADD COLUMN vertical_source TEXT",
)


def build_legacy_file(path, version: int = 1) -> None:
    """A v1 (or v2) database written the way romcam 0.1 wrote it, with one subject, one session
    and one trial."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for statement in V1_SCHEMA + (V2_SCHEMA if version >= 2 else ()):
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO subjects (code, created_at) VALUES ('OLD1', '2025-01-02T09:00:00+00:00')")
    conn.execute("INSERT INTO sessions (subject_id, joint, side, started_at, status) "
                 "VALUES (1, 'ankle_dorsiflexion', 'right', '2025-01-02T09:00:00+00:00', 'complete')")
    conn.execute("INSERT INTO trials (session_id, phase, side, trial_no, peak_deg, created_at) "
                 "VALUES (1, 'before', 'right', 1, 33.5, '2025-01-02T09:01:00+00:00')")
    conn.execute("COMMIT")
    conn.close()
