"""An SQLite database file: the checks that refuse files romcam must not touch, how to read one
without creating files beside it, and SQLite's errors as one clear sentence.

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

from romcam.errors import RomcamError

APPLICATION_ID = 0x524F4D43          # "ROMC": PRAGMA application_id marks the file as romcam's
SQLITE_MAGIC = b"SQLite format 3\x00"


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
    """What to do with a damaged database (docs/reference/database.md, "SQLite files: safety")."""
    return (f"make a clean copy with `sqlite3 {db} \".recover\" | sqlite3 recovered.sqlite3` or "
            f"restore your backup, then use --db with the copy; see docs/reference/database.md, \"SQLite files: safety\"")


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
