"""The session database file and its schema: the SQL, the ordered migrations, and the checks
that refuse files romcam must not touch.

Schema versions live in ``PRAGMA user_version``; :data:`MIGRATIONS` is the ordered list of
migration functions (``MIGRATIONS[0]`` takes an empty file to v1). Each upgrade runs in one
transaction, so a failed migration leaves the file as it was. The SQL is kept plain (TEXT ISO-8601
timestamps, INTEGER/DOUBLE PRECISION/TEXT columns, CHECK and FOREIGN KEY constraints) so that a
PostgreSQL backend can reuse it later.

Files romcam must not touch are refused with a one-sentence :class:`RomcamError` before anything
is written: a file that is not SQLite, an SQLite file of another program, a database from a newer
romcam, a read-only file, or one locked by another program.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Callable

from romcam import __version__
from romcam.errors import RomcamError

APPLICATION_ID = 0x524F4D43          # "ROMC": PRAGMA application_id marks the file as romcam's
SQLITE_MAGIC = b"SQLite format 3\x00"


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


def _migrate_v1(conn: sqlite3.Connection) -> None:
    """v1: the initial schema."""
    for statement in V1_SCHEMA:
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


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


def _migrate_v2(conn: sqlite3.Connection) -> None:
    """v2: per-frame head turn/flexion and invalid reasons (neck in 3-D), neck-circle turns,
    heel-lift flags and the source of the vertical (ankle)."""
    for statement in V2_SCHEMA:
        conn.execute(statement)


# Ordered: MIGRATIONS[k] takes a database from version k to version k + 1. Append, never edit.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_v1, _migrate_v2]


def latest_version() -> int:
    """The schema version this romcam writes."""
    return len(MIGRATIONS)


# --------------------------------------------------------------------------- checks before opening


def may_write(path: Path) -> bool:
    """Writable for us *and* not marked read-only: a file without any write permission bit is
    refused even for root (who could write it anyway), since read-only is the owner's intent."""
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def check_sqlite_file(db: Path) -> None:
    """Refuse a folder or a file that is not SQLite, by reading its header (nothing is written)."""
    if db.is_dir():
        raise RomcamError(f"{db} is a folder, not a database file; give the path of a file with "
                          f"--db or ROMCAM_DB")
    if not db.exists():
        return
    try:
        with open(db, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise RomcamError(f"cannot read the database {db} ({exc.strerror}); check its "
                          f"permissions or choose another file with --db") from None
    if head and (len(head) < 100 or not head.startswith(SQLITE_MAGIC)):
        raise RomcamError(f"{db} is not an SQLite database, so romcam leaves it alone; give the "
                          f"right file with --db or ROMCAM_DB, or move this one away to start a "
                          f"new database")


def check_writable(db: Path) -> None:
    """Refuse a read-only database file, or a folder where SQLite cannot create its journal."""
    if db.exists() and not may_write(db):
        raise RomcamError(f"the database {db} is read-only; make it writable (chmod u+w) or "
                          f"choose another file with --db or ROMCAM_DB")
    folder = db.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not may_write(folder):
        raise RomcamError(f"the folder {folder} is read-only, and SQLite needs to write its "
                          f"journal beside the database; make it writable or choose another "
                          f"file with --db or ROMCAM_DB")


def recover_hint(db: Path) -> str:
    """What to do with a damaged database (the README's "Backups")."""
    return (f"make a clean copy with `sqlite3 {db} \".recover\" | sqlite3 recovered.sqlite3` or "
            f"restore your backup, then use --db with the copy; see the README, \"Backups\"")


def check_integrity(conn: sqlite3.Connection, db: Path) -> None:
    """Refuse a database whose pages are damaged (``PRAGMA quick_check``): romcam never writes
    into one, and does not read numbers from one."""
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        rows = [str(exc)]
    if rows != ["ok"]:
        raise RomcamError(f"the database {db} is damaged ({rows[0]}), so romcam neither writes "
                          f"to it nor reads from it ({recover_hint(db)})")


def wal_files(db: Path) -> tuple[Path, Path]:
    return Path(f"{db}-wal"), Path(f"{db}-shm")


def read_target(db: Path) -> tuple[str, tempfile.TemporaryDirectory | None]:
    """How to open ``db`` for reading without creating any file beside it: an SQLite URI, and
    the temporary folder of a private copy to delete afterwards (or None).

    * a database not in WAL mode (a rollback journal): an ordinary read-only connection;
    * no ``-wal`` file: no writer is active and every record is in the main file: open it
      ``immutable`` (SQLite then creates no ``-wal``/``-shm`` file);
    * a ``-wal`` and a ``-shm`` file in a writable folder: an ordinary read-only connection
      beside a live (or killed) writer, which uses those files and creates none;
    * otherwise (a read-only folder or medium holding a ``-wal`` file): copy the database and its
      ``-wal`` into a private temporary folder and read the copy, so the newest records are read.
    """
    wal, shm = wal_files(db)
    uri = db.resolve().as_uri()
    with open(db, "rb") as fh:
        header = fh.read(20)
    if len(header) < 20 or header[18] != 2:     # not in WAL mode: readers create no file
        return uri + "?mode=ro", None
    if not wal.exists():
        return uri + "?mode=ro&immutable=1", None
    if shm.exists() and may_write(db.parent) and may_write(shm):
        return uri + "?mode=ro", None
    return copy_for_reading(db)


def copy_for_reading(db: Path) -> tuple[str, tempfile.TemporaryDirectory]:
    """A private copy of ``db`` (and its ``-wal``) to read from; the copy may be upgraded."""
    folder = tempfile.TemporaryDirectory(prefix="romcam-read-")
    copy = Path(folder.name) / db.name
    try:
        shutil.copyfile(db, copy)
        wal = wal_files(db)[0]
        if wal.exists():
            shutil.copyfile(wal, wal_files(copy)[0])
    except OSError as exc:
        folder.cleanup()
        raise RomcamError(f"cannot read the database {db} ({exc.strerror}) (check that it is "
                          f"readable, or copy it to a local disk)") from None
    return str(copy), folder


def db_error(exc: sqlite3.Error, db: Path) -> RomcamError:
    """One clear sentence for an SQLite error: what is wrong, what to do."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return RomcamError(f"the database {db} is locked by another program (another romcam "
                           f"session?); wait for it to finish or close it, then try again")
    if "readonly" in low or "read-only" in low:
        return RomcamError(f"the database {db} is read-only; make it writable or choose another "
                           f"file with --db or ROMCAM_DB")
    if "not a database" in low or "malformed" in low or "encrypted" in low:
        return RomcamError(f"{db} is not a usable SQLite database ({text}); romcam will not write "
                           f"to it ({recover_hint(db)}, or give the right file with --db)")
    if "disk is full" in low or "database or disk is full" in low:
        return RomcamError(f"the disk holding {db} is full; free some space and try again")
    if "unable to open" in low:
        return RomcamError(f"cannot open the database {db} ({text}); check that it exists and "
                           f"that its folder is readable and writable, or choose another file "
                           f"with --db")
    return RomcamError(f"database error in {db} ({text}); check the file or choose another "
                       f"one with --db")


def pragma_int(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def check_version(conn: sqlite3.Connection, db: Path) -> int:
    """The file's schema version; refuses other programs' databases and newer romcams'."""
    version = pragma_int(conn, "user_version")
    app_id = pragma_int(conn, "application_id")
    if app_id not in (0, APPLICATION_ID) or (
            version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]):
        raise RomcamError(f"{db} is an SQLite database of another program, not a romcam "
                          f"database; give the right file with --db or ROMCAM_DB")
    if version > latest_version():
        raise RomcamError(f"{db} was written by a newer romcam (database schema v{version}; "
                          f"romcam {__version__} knows up to v{latest_version()}); upgrade "
                          f"romcam, or choose another file with --db")
    return version


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to :func:`latest_version`, all steps in one write transaction.

    Always takes the write lock, so opening for writing fails early (and clearly) when another
    program holds it, and two processes never migrate at once."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = pragma_int(conn, "user_version")          # re-read under the lock
        for number in range(version + 1, latest_version() + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
