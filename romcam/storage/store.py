"""The session database: subjects, sessions, trials, reps, per-frame angles and results.

An SQLite file in the per-user data folder by default; ``--db PATH`` or the ``ROMCAM_DB``
environment variable choose another file, or a PostgreSQL server given as a URL
(``postgresql://host/dbname``, :func:`resolve_db_path`). Both go through SQLAlchemy Core
(:mod:`romcam.storage.engine`), with one schema (:mod:`romcam.storage.schema`) and one Alembic
migration history (:mod:`romcam.storage.migrate`).

Durability: **one commit per write call**, so every trial and rep is stored when
:meth:`Store.add_trial` / :meth:`Store.add_rep` return (SQLite: WAL journal and
``synchronous=FULL``; PostgreSQL: its own commit). A process killed mid-set (even with SIGKILL)
loses nothing it had counted; its session stays ``in_progress`` and is shown as "incomplete
(interrupted)" with the before/after values computed from the trials that were stored.

The reading queries are in :mod:`romcam.storage.queries`, the row types in
:mod:`romcam.storage.rows`, the checks of an SQLite file in :mod:`romcam.storage.sqlite_file`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterable, Iterator

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from romcam.dirs import data_dir
from romcam.errors import RomcamError
from romcam.files import check_folder
from romcam.measure.outcome import SideOutcome
from romcam.storage.bulk import BulkMixin
from romcam.storage.engine import Conn, DbRow, PgSettings, clean_url, driver_error, is_url, pg_engine
from romcam.storage.engine import pg_error, sqlite_engine
from romcam.storage.meta import SessionMeta
from romcam.storage.migrate import current_version, latest_version, migrate
from romcam.storage.queries import ReadsMixin
from romcam.storage.sqlite_file import (check_integrity, check_sqlite_file, check_writable,
                                        copy_for_reading, db_error, may_write, read_target)
from romcam.storage.turns import TurnsMixin
from romcam.storage.values import (FINAL_STATUSES, SESSION_SIDES, SIDES, TRIAL_PHASES, check_choice,
                                   clean_subject_code, edge_values, json_default, opt_bool, opt_float,
                                   peak_value, result_values)
from romcam.timestamps import now_iso

__all__ = ["DB_ENV", "DB_FILENAME", "Store", "clean_subject_code", "resolve_db_path", "SIDES",
           "SESSION_SIDES", "TRIAL_PHASES", "FINAL_STATUSES"]

DB_FILENAME = "romcam.sqlite3"
DB_ENV = "ROMCAM_DB"
BUSY_TIMEOUT_S = 5.0                 # how long a write waits for another writer before giving up
SQLITE_PRAGMAS = ("synchronous = FULL", "foreign_keys = ON")   # every connection that writes

# per-frame fields, in the order add_frames takes them
FRAME_FIELDS = ("t_s", "phase", "angle_deg", "valid", "head_turn_deg", "head_flexion_deg", "invalid_reason")
# driver errors that are the caller's mistake, raised as they are
CALLER_ERRORS = ("IntegrityError", "ProgrammingError", "InterfaceError")


def resolve_db_path(path: str | os.PathLike | None = None) -> Path | str:
    """``path`` if given, else ``$ROMCAM_DB``, else ``<data dir>/romcam.sqlite3``: a Path of an
    SQLite file, or a PostgreSQL URL (a str, refused if it holds a password)."""
    chosen = os.fspath(path) if path is not None else os.environ.get(DB_ENV) or ""
    if is_url(chosen):
        return clean_url(chosen)
    if not chosen:
        return data_dir() / DB_FILENAME
    return Path(chosen).expanduser()


# --------------------------------------------------------------------------- the store


class Store(TurnsMixin, ReadsMixin, BulkMixin):
    """The session database. Use as a context manager: ``with Store.open() as store: ...``.

    Every write method is one transaction, committed before it returns. A Store may be shared
    between threads (calls are serialised by a lock). ``path`` is the SQLite file's Path, or the
    PostgreSQL URL (a str, without password).
    """

    def __init__(self, engine, path: Path | str, readonly: bool = False, copy=None,
                 raw: sqlite3.Connection | None = None, settings: PgSettings | None = None):
        self._copy = copy                 # the temporary folder of a private copy read instead
        self._engine = engine
        self._raw = raw                   # SQLite: the one driver connection
        self._settings = settings         # PostgreSQL: timeouts
        self._lock = threading.RLock()
        self._atomic: Conn | None = None  # the open transaction of atomic(), if any
        self.path = path
        self.readonly = readonly
        self.upgraded_from: int | None = None     # the schema version before opening, if it changed

    def _migrated(self, was: int) -> None:
        self.upgraded_from = None if was == latest_version() else was

    @property
    def postgres(self) -> bool:
        return self._raw is None

    # ----- opening and closing

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, readonly: bool = False,
             timeout: float = BUSY_TIMEOUT_S) -> Store:
        """Open (creating or upgrading if needed) the database at ``path`` / $ROMCAM_DB / default.

        ``readonly=True`` (history, export) never writes: an SQLite file must exist, and it may
        be read-only. ``timeout`` is how long to wait for another program's write lock.
        """
        db = resolve_db_path(path)
        if isinstance(db, str):
            return cls._open_postgres(db, timeout, readonly)
        if readonly:
            return cls._open_readonly(db, timeout)
        default = path is None and not os.environ.get(DB_ENV)
        return cls._open_writable(db, timeout, create_folder=default)

    @classmethod
    def _open_postgres(cls, url: str, timeout: float, readonly: bool) -> Store:
        settings = PgSettings(timeout)
        store = cls(pg_engine(url, settings), url, readonly=readonly, settings=settings)
        with store._closed_on_error(), store._transaction() as conn:
            store._migrated(migrate(conn, url))   # also for reading: an older one is brought up to date
        return store

    @classmethod
    def _open_writable(cls, db: Path, timeout: float, create_folder: bool = False) -> Store:
        check_sqlite_file(db)
        if not db.exists():   # a typo in --db must not create a tree of folders somewhere
            check_folder(db.parent, "--db or ROMCAM_DB", create=create_folder)
        check_writable(db)
        store = cls._sqlite(str(db), timeout, db)
        with store._closed_on_error():
            store._version()                   # refuses other programs' files before any write
            check_integrity(store._raw, db)
            for pragma in ("journal_mode = WAL", *SQLITE_PRAGMAS):
                store._raw.execute(f"PRAGMA {pragma}")
            with store._transaction() as conn:
                store._migrated(migrate(conn, str(db)))
        return store

    @classmethod
    def _open_readonly(cls, db: Path, timeout: float) -> Store:
        if not db.exists():
            raise RomcamError(f"there is no session database at {db} yet; record a session "
                              f"first, or point --db or ROMCAM_DB at an existing database")
        check_sqlite_file(db)
        target, copy = read_target(db)   # never creates a file beside the database
        store = cls._sqlite(target, timeout, db, uri=copy is None, readonly=True, copy=copy)
        with store._closed_on_error():
            version = store._version()
            check_integrity(store._raw, db)
        if version == latest_version():
            return store
        store._copy = None
        store.close()                     # an older or empty file: bring it up to date first
        if copy is None and may_write(db.parent) and may_write(db):
            with cls._open_writable(db, timeout) as upgraded:
                was = upgraded.upgraded_from
            store = cls._open_readonly(db, timeout)
            store.upgraded_from = was
            return store
        if copy is None:                  # read-only: upgrade a private copy instead
            target, copy = copy_for_reading(db)
        upgraded = cls._open_writable(Path(target), timeout)
        upgraded.path, upgraded.readonly, upgraded._copy = db, True, copy
        return upgraded

    @classmethod
    def _sqlite(cls, target: str, timeout: float, db: Path, uri: bool = False, **kwargs) -> Store:
        try:
            raw = sqlite3.connect(target, timeout=timeout, isolation_level=None,
                                  check_same_thread=False, uri=uri)
            raw.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        except sqlite3.Error as exc:
            raise db_error(exc, db) from None
        return cls(sqlite_engine(lambda: raw), db, raw=raw, **kwargs)

    def twin(self, timeout: float) -> Store:
        """Another Store on the same (already opened and checked) database with a connection of
        its own, for a writer thread; each write waits at most ``timeout`` for a lock (PostgreSQL:
        also for a new connection). Nothing is read or written until it is used."""
        if self.postgres:
            settings = PgSettings(timeout)
            return Store(pg_engine(self.path, settings), self.path, settings=settings)
        twin = Store._sqlite(str(self.path), timeout, Path(self.path))
        for pragma in SQLITE_PRAGMAS:
            twin._raw.execute(f"PRAGMA {pragma}")
        return twin

    def close(self) -> None:
        with self._lock:
            self._engine.dispose()
            if self._raw is not None:
                self._raw.close()
            if self._copy is not None:
                self._copy.cleanup()
                self._copy = None

    def set_busy_timeout(self, seconds: float) -> None:
        """How long a write waits for another program's lock (PostgreSQL: also for the server
        to answer a new connection) before it fails."""
        with self._lock:
            if self._raw is not None:
                self._raw.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
            else:
                self._settings.timeout = seconds
                self._engine.dispose()            # the next connection gets the new timeouts

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._version()

    def _version(self) -> int:
        with self._transaction(write=False) as conn:
            return current_version(conn, str(self.path))

    # ----- transactions

    def _error(self, exc: BaseException) -> BaseException:
        """A database error as one clear RomcamError; the caller's mistakes as the driver raised them."""
        orig = driver_error(exc)
        if type(orig).__name__ in CALLER_ERRORS and not self.postgres:
            return orig
        if isinstance(orig, sqlite3.Error) or not self.postgres:
            return db_error(orig, Path(self.path))
        if type(orig).__name__ in ("IntegrityError", "DataError") and isinstance(exc, DBAPIError):
            return orig
        return pg_error(orig, str(self.path))

    @contextmanager
    def _closed_on_error(self) -> Iterator[None]:
        """Close the store if the block fails; a database error becomes one clear RomcamError."""
        try:
            yield
        except (SQLAlchemyError, sqlite3.Error) as exc:
            self.close()
            raise self._error(exc) from None
        except BaseException:
            self.close()
            raise

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Every read and write of this store inside the block (on this thread; other threads
        wait) is one write transaction: committed at the end, rolled back whole if the block fails."""
        with self._transaction() as conn:
            self._atomic = conn
            try:
                yield
            finally:
                self._atomic = None

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Conn]:
        """One transaction (a write one unless ``write=False``), committed (durably) on leaving
        the block; inside :meth:`atomic`, that one."""
        with self._lock:
            if self._atomic is not None:
                yield self._atomic
                return
            try:
                with self._engine.connect() as sa:
                    sa.execution_options(romcam_write=write)
                    with sa.begin():
                        yield Conn(sa)
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise self._error(exc) from None

    def _read(self, sql: str, params: tuple = ()) -> list[DbRow]:
        with self._transaction(write=False) as conn:
            return conn.execute(sql, params).fetchall()

    def _read_one(self, sql: str, params: tuple = ()) -> DbRow | None:
        rows = self._read(sql, params)
        return rows[0] if rows else None

    # ----- subjects

    def subject_id(self, code: str, create: bool = True, new_subject: bool = False) -> int:
        """The id of subject ``code``, created if needed (else RomcamError if unknown)."""
        if not create:
            return self._existing_subject_id(code)
        with self._transaction() as conn:
            return self._ensure_subject(conn, clean_subject_code(code), new_subject)

    @staticmethod
    def _ensure_subject(conn: Conn, code: str, new_subject: bool = False, created_at: str | None = None) -> int:
        """The subject ``code`` (already clean), created if new. A code that differs from an
        existing one only by case is refused unless ``new_subject``: one person, one subject.
        (PostgreSQL: the table is locked for the check, as SQLite's write lock does.)"""
        if conn.postgres:
            conn.execute("LOCK TABLE subjects IN SHARE ROW EXCLUSIVE MODE")
        known = conn.execute("SELECT id, code FROM subjects").fetchall()
        for sid, stored in known:
            if unicodedata.normalize("NFC", stored) == code:
                return int(sid)
        twins = [stored for _, stored in known if stored.casefold() == code.casefold()]
        if twins and not new_subject:
            raise RomcamError(f"subject {code!r} differs only by case from the existing subject "
                              f"{twins[0]!r} (give --subject {twins[0]} for the same person, or "
                              f"--new-subject if {code!r} is another person)")
        return conn.insert("INSERT INTO subjects (code, created_at) VALUES (?, ?)", (code, created_at or now_iso()))

    def _existing_subject_id(self, code: str) -> int:
        text = unicodedata.normalize("NFC", str(code)).strip()
        row = self._read_one("SELECT id FROM subjects WHERE code = ?", (text,))
        if row is None:
            row = next((r for r in self._read("SELECT id, code FROM subjects")
                        if unicodedata.normalize("NFC", r[1]) == text), None)
        if row is not None:
            return int(row[0])
        known = self.subjects()
        if not known:
            raise RomcamError(f"unknown subject {text!r}: the database {self.path} has no "
                              f"subjects yet; record a session first or check --db")
        close = [k for k in known if k.lower() == text.lower()]
        hint = f"did you mean {close[0]}?" if close else (
            "known subjects: " + ", ".join(known[:12]) + (" ..." if len(known) > 12 else ""))
        raise RomcamError(f"unknown subject {text!r} in {self.path}; {hint}")

    def subjects(self) -> list[str]:
        """All subject codes, sorted."""
        return [r[0] for r in self._read("SELECT code FROM subjects ORDER BY code")]

    # ----- writing a session as it happens

    def start_session(self, meta: SessionMeta, new_subject: bool = False) -> int:
        """Create a session (status in_progress) as ``meta`` says, for its subject (created if
        new; a code differing only by case from a known one is refused unless ``new_subject``)."""
        if not isinstance(meta, SessionMeta):
            raise TypeError(f"start_session takes a SessionMeta, not {type(meta).__name__}")
        owner = meta.owner
        values = {
            "joint": meta.joint, "side": meta.side, "started_at": meta.started_at, "source": meta.source,
            "camera": meta.camera, "pose_model": meta.pose_model, "target_reps": meta.target_reps,
            "trials_per_phase": meta.trials_per_phase, "neutral_deg": meta.neutral_deg,
            "synthetic": int(meta.synthetic), "app_version": meta.app_version, "set_kind": meta.set_kind,
            "target_turns": meta.target_turns, "resolution": meta.resolution,
            "camera_profile": meta.camera_profile, "recorded": int(meta.recorded), "phases": meta.phases,
            "neutral_source": meta.neutral_source, "dated_from": meta.dated_from,
            "owner_pid": owner and owner.pid, "owner_host": owner and owner.host,
            "owner_pid_start": owner and owner.pid_start, "uuid": meta.uuid,
        }
        with self._transaction() as conn:
            subject = self._ensure_subject(conn, meta.subject, new_subject)
            return conn.insert(f"INSERT INTO sessions (subject_id, {', '.join(values)}) VALUES "
                               f"(?, {', '.join('?' * len(values))})", (subject, *values.values()))

    def add_trial(self, session_id: int, phase: str, side: str, trial_no: int, peak_deg: float,
                  start_s: float | None = None, peak_s: float | None = None,
                  end_s: float | None = None, heel_lifted: bool | None = None,
                  created_at: str | None = None, knee_over_toe_cm: float | None = None) -> int:
        """Store one maximal trial (committed on return); returns its id. ``heel_lifted``: the
        ankle's heel was up at the peak (None: not measured, other joints); ``knee_over_toe_cm``:
        the ankle's knee-to-wall distance at the peak (None without a scale)."""
        check_choice(phase, TRIAL_PHASES, "phase")
        check_choice(side, SIDES, "side")
        with self._transaction() as conn:
            return conn.insert(
                "INSERT INTO trials (session_id, phase, side, trial_no, start_s, peak_s, end_s, "
                "peak_deg, created_at, heel_lifted, knee_over_toe_cm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (int(session_id), phase, side, int(trial_no), opt_float(start_s),
                 opt_float(peak_s), opt_float(end_s), peak_value(peak_deg), created_at or now_iso(),
                 opt_bool(heel_lifted), opt_float(knee_over_toe_cm)))

    def discard_trial(self, trial_id: int) -> None:
        """Mark a trial as discarded: kept in the database, left out of the outcome."""
        with self._transaction() as conn:
            cur = conn.execute("UPDATE trials SET discarded = 1 WHERE id = ?", (int(trial_id),))
            if cur.rowcount == 0:
                raise ValueError(f"no trial with id {trial_id}")

    def add_rep(self, session_id: int, side: str, rep_no: int, peak_deg: float,
                start_s: float | None = None, peak_s: float | None = None,
                end_s: float | None = None, heel_lifted: bool | None = None,
                created_at: str | None = None, knee_over_toe_cm: float | None = None,
                edge: dict | None = None) -> int:
        """Store one counted rep of the set (committed on return); returns its id. ``edge``: its
        judgement against the edge (romcam.measure.edge.RepEdge.as_dict())."""
        check_choice(side, SIDES, "side")
        with self._transaction() as conn:
            return conn.insert(
                "INSERT INTO reps (session_id, side, rep_no, start_s, peak_s, end_s, peak_deg, "
                "created_at, heel_lifted, knee_over_toe_cm, low_deg, edge_deg, reached_edge, beyond_edge, "
                "grade) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (int(session_id), side, int(rep_no), opt_float(start_s), opt_float(peak_s),
                 opt_float(end_s), peak_value(peak_deg), created_at or now_iso(), opt_bool(heel_lifted),
                 opt_float(knee_over_toe_cm), *edge_values(edge)))

    def add_frames(self, session_id: int, rows: Iterable, side: str | None = None) -> int:
        """Store a batch of per-frame angles: rows of (t_s, phase, angle_deg, valid) or
        (t_s, phase, angle_deg, valid, head_turn_deg, head_flexion_deg, invalid_reason), or a
        DataFrame with those columns. ``side`` labels the batch (for two-limb sessions).
        Returns the number of rows stored."""
        if hasattr(rows, "itertuples"):
            names = [c for c in FRAME_FIELDS if c in rows.columns]
            rows = rows[names].itertuples(index=False, name=None)
        if side is not None:
            check_choice(side, SIDES, "side")
        sid = int(session_id)
        batch = []
        for row in rows:
            t, phase, angle, valid, turn, flexion, reason = (tuple(row) + (None, None, None))[:7]
            batch.append((sid, str(phase), side, float(t), opt_float(angle), int(bool(valid)),
                          opt_float(turn), opt_float(flexion), reason or None))
        with self._transaction() as conn:
            conn.executemany("INSERT INTO frames (session_id, phase, side, t_s, angle_deg, valid, "
                             "head_turn_deg, head_flexion_deg, invalid_reason) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        return len(batch)

    def set_vertical(self, session_id: int, source: str, camera_roll_deg: float | None) -> None:
        """Where the ankle's true vertical came from (camera profile, scene, assumed level) and
        the camera's roll it used."""
        self._update_session(session_id, "UPDATE sessions SET vertical_source = ?, camera_roll_deg = ? "
                             "WHERE id = ?", (str(source), opt_float(camera_roll_deg), int(session_id)))

    def set_neutral(self, session_id: int, neutral_deg: float | None) -> None:
        """The measured neutral angle of the session."""
        self._update_session(session_id, "UPDATE sessions SET neutral_deg = ? WHERE id = ?",
                             (opt_float(neutral_deg), int(session_id)))

    def finish_session(self, session_id: int, status: str, end_reason: str | None = None,
                       results: Iterable[SideOutcome] = (), stats: dict | None = None,
                       ended_at: str | None = None) -> None:
        """End a session: status complete/incomplete, why, per-side results, run statistics
        (merged into any stats stored before). Results replace earlier ones. ``ended_at``: now
        unless given (a recorded visit ends when its video does)."""
        check_choice(status, FINAL_STATUSES, "status")
        sid = int(session_id)
        results = list(results)
        with self._transaction() as conn:
            row = conn.execute("SELECT stats_json FROM sessions WHERE id = ?", (sid,)).fetchone()
            if row is None:
                raise ValueError(f"no session with id {session_id}")
            merged = json.loads(row[0]) if row[0] else {}
            merged.update(stats or {})
            conn.execute("UPDATE sessions SET status = ?, end_reason = ?, ended_at = ?, "
                         "stats_json = ? WHERE id = ?",
                         (status, end_reason, ended_at or now_iso(),
                          json.dumps(merged, default=json_default) if merged else None, sid))
            conn.execute("DELETE FROM results WHERE session_id = ?", (sid,))
            conn.executemany(
                "INSERT INTO results (session_id, side, before_deg, after_deg, delta_deg, sem_deg, "
                "mdc95_deg, verdict, trials_before, trials_after, reps_done, first_rep_at_after_level, "
                "set_grade, set_judged, set_reached, set_flagged, edge_start_deg, edge_end_deg, "
                "edge_tolerance_deg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [result_values(sid, o) for o in results])

    def discard_trial_at(self, session_id: int, phase: str, side: str, trial_no: int, created_at: str) -> None:
        """Mark the trial of a session known by its phase, side, number and creation time as
        discarded (no change when there is none)."""
        with self._transaction() as conn:
            conn.execute("UPDATE trials SET discarded = 1 WHERE session_id = ? AND phase = ? AND "
                         "side = ? AND trial_no = ? AND created_at = ?",
                         (int(session_id), phase, side, int(trial_no), created_at))

    def delete_session_if_empty(self, session_id: int) -> bool:
        """Remove a session that recorded no trial, rep or turn (e.g. no person was ever seen),
        with its frames, and its subject if that has no other session. Returns whether it did."""
        sid = int(session_id)
        with self._transaction() as conn:
            if any(conn.execute(f"SELECT 1 FROM {table} WHERE session_id = ? LIMIT 1", (sid,)).fetchone()
                   for table in ("trials", "reps", "turns")):
                return False
            row = conn.execute("SELECT subject_id FROM sessions WHERE id = ?", (sid,)).fetchone()
            for table in ("frames", "results"):
                conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (sid,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (sid,))
            if row is not None:
                conn.execute("DELETE FROM subjects WHERE id = ? AND NOT EXISTS (SELECT 1 FROM "
                             "sessions WHERE subject_id = ?)", (row[0], row[0]))
            return True

    def _update_session(self, session_id: int, sql: str, params: tuple) -> None:
        with self._transaction() as conn:
            if conn.execute(sql, params).rowcount == 0:
                raise ValueError(f"no session with id {session_id}")
