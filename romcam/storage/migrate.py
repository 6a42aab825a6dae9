"""The schema version of a session database and bringing it up to date (Alembic, run from here).

Every schema version is one Alembic revision in ``romcam/storage/migrations/versions``
(``0001`` = v1, ``0002`` = v2, ...), the same for SQLite and PostgreSQL; the revision a database
is at is in its ``alembic_version`` table. SQLite files written before Alembic (``PRAGMA
user_version`` 1 or 2, no ``alembic_version``) are recognised, stamped with their revision and
upgraded in place. On SQLite ``PRAGMA user_version`` is kept equal to the version, so that an
older romcam still refuses a newer file.

All steps run in the caller's one write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
an advisory lock besides), so a failed migration leaves the database as it was and two
processes never migrate at once. A database at a revision this romcam does not know (a newer
romcam's), or one holding another program's tables, is refused with one sentence.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Float, inspect

from romcam import __version__
from romcam.errors import RomcamError
from romcam.storage.engine import Conn
from romcam.storage.sqlite_file import APPLICATION_ID, pragma_int

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
PG_LOCK_KEY = APPLICATION_ID        # pg_advisory_xact_lock key: one migration at a time


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """For Alembic's autogenerate: SQLite reads DOUBLE PRECISION back as REAL (the same storage
    class), which is no change; every other type is compared as Alembic does."""
    if isinstance(inspected_type, Float) and isinstance(metadata_type, Float):
        return False
    return None


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@lru_cache(maxsize=4)
def _revisions(folder: str) -> tuple[str, ...]:
    script = ScriptDirectory(folder)
    return tuple(reversed([s.revision for s in script.walk_revisions()]))


def revisions() -> tuple[str, ...]:
    """The known revisions, oldest first (``revisions()[k]`` is schema version k + 1)."""
    return _revisions(str(MIGRATIONS_DIR))


def latest_version() -> int:
    """The schema version this romcam writes."""
    return len(revisions())


def _too_new(where: str, version: str) -> RomcamError:
    return RomcamError(f"{where} was written by a newer romcam (database schema v{version}; romcam "
                       f"{__version__} knows up to v{latest_version()}); upgrade romcam, or "
                       f"choose another database with --db")


def _foreign(where: str, sqlite: bool) -> RomcamError:
    what = "an SQLite database" if sqlite else "a database"
    return RomcamError(f"{where} is {what} of another program, not a romcam database; give the "
                       f"right one with --db or ROMCAM_DB")


def current_version(conn: Conn, where: str) -> int:
    """The database's schema version (0: empty); refuses other programs' databases and newer
    romcams'."""
    sqlite = not conn.postgres
    tables = set(inspect(conn.sa).get_table_names())
    legacy = 0
    if sqlite:
        legacy = pragma_int(conn.sa.connection.dbapi_connection, "user_version")
        if pragma_int(conn.sa.connection.dbapi_connection, "application_id") not in (0, APPLICATION_ID):
            raise _foreign(where, sqlite)
        if legacy > latest_version():
            raise _too_new(where, str(legacy))
    if "alembic_version" in tables:
        revision = MigrationContext.configure(conn.sa).get_current_revision()
        if revision is not None and revision not in revisions():
            raise _too_new(where, revision.lstrip("0") or revision)
        if revision is not None:
            return revisions().index(revision) + 1
        tables.discard("alembic_version")
    if legacy:
        return legacy
    if tables:
        raise _foreign(where, sqlite)
    return 0


def migrate(conn: Conn, where: str) -> int:
    """Bring the schema up to :func:`latest_version` inside the caller's write transaction;
    returns the version the database was at."""
    if conn.postgres:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (PG_LOCK_KEY,))
    version = current_version(conn, where)         # read again under the lock
    context = MigrationContext.configure(conn.sa)
    stamped = context.get_current_revision() is not None
    if version == latest_version() and stamped:
        return version
    if version and not stamped:                    # an SQLite file from before Alembic
        context.stamp(ScriptDirectory(str(MIGRATIONS_DIR)), revisions()[version - 1])
    cfg = _config()
    cfg.attributes["connection"] = conn.sa
    command.upgrade(cfg, "head")
    if not conn.postgres:
        conn.execute(f"PRAGMA user_version = {latest_version()}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return version


def upgrade_to(conn: Conn, revision: str) -> None:
    """Migrate an empty or older database up to ``revision`` only (tests: building the schema an
    older romcam wrote)."""
    cfg = _config()
    cfg.attributes["connection"] = conn.sa
    command.upgrade(cfg, revision)
    if not conn.postgres:
        conn.execute(f"PRAGMA user_version = {revisions().index(revision) + 1}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
