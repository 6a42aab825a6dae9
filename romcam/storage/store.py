"""The session database: subjects, sessions, trials, reps, per-frame angles and results.

SQLite (stdlib ``sqlite3``) in the per-user data folder by default; ``--db PATH`` or the
``ROMCAM_DB`` environment variable choose another file (:func:`resolve_db_path`).

Durability: WAL journal, ``synchronous=FULL`` and **one commit per write call**, so every trial
and rep is on disk when :meth:`Store.add_trial` / :meth:`Store.add_rep` return. A process killed
mid-set (even with SIGKILL) loses nothing it had counted; its session stays ``in_progress`` and
is shown as "incomplete (interrupted)" with the before/after values computed from the trials
that were stored.

The schema and its migrations are in :mod:`romcam.storage.schema`, the row types in
:mod:`romcam.storage.rows`.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import unicodedata
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from romcam import __version__
from romcam.dirs import data_dir
from romcam.errors import RomcamError
from romcam.files import check_folder
from romcam.measure.outcome import SideOutcome, side_outcome
from romcam.storage.rows import RepRecord, SessionDetail, SessionRow, TrialRecord
from romcam.storage.rows import process_alive
from romcam.storage.turns import SET_KINDS, TurnsMixin
from romcam.storage.schema import (check_integrity, check_sqlite_file, check_version, check_writable,
                                   copy_for_reading, db_error, latest_version, may_write, migrate,
                                   read_target)
from romcam.timestamps import now_iso, parse_since, parse_timestamp

DB_FILENAME = "romcam.sqlite3"
DB_ENV = "ROMCAM_DB"
BUSY_TIMEOUT_S = 5.0                 # how long a write waits for another writer before giving up

SIDES = ("left", "right")
SESSION_SIDES = ("left", "right", "both")
TRIAL_PHASES = ("before", "after")
FINAL_STATUSES = ("complete", "incomplete")
FORMULA_PREFIXES = ("=", "+", "-", "@")  # a spreadsheet would run a cell starting with these
MAX_SUBJECT_CODE = 64

# Session fields start_session() stores in their own columns; other keyword arguments are kept
# in stats_json under "meta", so a new field in the session code never breaks a live session.
SESSION_META = ("source", "camera", "pose_model", "target_reps", "trials_per_phase",
                "neutral_deg", "synthetic", "app_version", "started_at", "set_kind", "target_turns")

# per-frame fields, in the order add_frames takes them
FRAME_FIELDS = ("t_s", "phase", "angle_deg", "valid", "head_turn_deg", "head_flexion_deg", "invalid_reason")


# --------------------------------------------------------------------------- paths and times


def resolve_db_path(path: str | os.PathLike | None = None) -> Path:
    """``path`` if given, else ``$ROMCAM_DB``, else ``<data dir>/romcam.sqlite3``."""
    chosen = os.fspath(path) if path is not None else os.environ.get(DB_ENV) or ""
    if chosen.startswith(("postgres://", "postgresql://")):
        raise RomcamError("PostgreSQL databases are not supported yet; give the path of an SQLite "
                          "file with --db or ROMCAM_DB")
    if not chosen:
        return data_dir() / DB_FILENAME
    return Path(chosen).expanduser()


# --------------------------------------------------------------------------- value helpers


def clean_subject_code(code: str) -> str:
    """A subject code as stored: Unicode NFC (one form for "Zoë" however it was typed), trimmed,
    1-64 printable characters, no spreadsheet formula."""
    text = unicodedata.normalize("NFC", str(code)).strip()
    if not text or len(text) > MAX_SUBJECT_CODE or not text.isprintable():
        raise RomcamError(f"subject code {code!r} must be 1 to {MAX_SUBJECT_CODE} printable "
                          f"characters, e.g. P001")
    if text.startswith(FORMULA_PREFIXES):
        raise RomcamError(f"subject code {text!r} must not start with {' '.join(FORMULA_PREFIXES)} "
                          f"(a spreadsheet would run it as a formula); use e.g. P001")
    return text


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _opt_float(value: Any) -> float | None:
    """A float for SQLite, or None for missing/NaN (numpy scalars included)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _peak(value: Any) -> float:
    number = _opt_float(value)
    if number is None or math.isinf(number):
        raise ValueError(f"peak_deg must be a finite number, not {value!r}")
    return number


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_bool(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _stored_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _json_default(value: Any) -> Any:
    """numpy scalars/arrays and other objects in stats: plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _sides_of(session_side: str, seen: Iterable[str]) -> list[str]:
    """The sides a session reports: those it was set up for, plus any it stored data for."""
    wanted = list(SIDES) if session_side == "both" else [session_side]
    return [s for s in SIDES if s in wanted or s in set(seen)]


@contextmanager
def _closed_on_error(conn: sqlite3.Connection, db: Path) -> Iterator[sqlite3.Connection]:
    """Close ``conn`` if the block fails; an SQLite error becomes one clear :class:`RomcamError`."""
    try:
        yield conn
    except sqlite3.Error as exc:
        conn.close()
        raise db_error(exc, db) from None
    except BaseException:
        conn.close()
        raise


# --------------------------------------------------------------------------- the store


class Store(TurnsMixin):
    """The session database. Use as a context manager: ``with Store.open() as store: ...``.

    Every write method is one transaction, committed before it returns. A Store may be shared
    between threads (calls are serialised by a lock).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool = False, copy=None):
        self._copy = copy                 # the temporary folder of a private copy read instead
        self._conn = conn
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self.path = path
        self.readonly = readonly

    # ----- opening and closing

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, readonly: bool = False,
             timeout: float = BUSY_TIMEOUT_S) -> Store:
        """Open (creating or upgrading if needed) the database at ``path`` / $ROMCAM_DB / default.

        ``readonly=True`` (history, export) never writes: the file must exist, and it may be
        read-only. ``timeout`` is how long to wait for another program's write lock.
        """
        db = resolve_db_path(path)
        if readonly:
            return cls._open_readonly(db, timeout)
        default = path is None and not os.environ.get(DB_ENV)
        return cls._open_writable(db, timeout, create_folder=default)

    @classmethod
    def _open_writable(cls, db: Path, timeout: float, create_folder: bool = False) -> Store:
        check_sqlite_file(db)
        if not db.exists():   # a typo in --db must not create a tree of folders somewhere
            check_folder(db.parent, "--db or ROMCAM_DB", create=create_folder)
        check_writable(db)
        conn = cls._connect(str(db), timeout, db)
        with _closed_on_error(conn, db):
            check_version(conn, db)
            check_integrity(conn, db)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        return cls(conn, db)

    @classmethod
    def _open_readonly(cls, db: Path, timeout: float) -> Store:
        if not db.exists():
            raise RomcamError(f"there is no session database at {db} yet; record a session "
                              f"first, or point --db or ROMCAM_DB at an existing database")
        check_sqlite_file(db)
        target, copy = read_target(db)   # never creates a file beside the database
        conn = cls._connect(target, timeout, db, uri=copy is None)
        with _closed_on_error(conn, db):
            version = check_version(conn, db)
            check_integrity(conn, db)
        if version == latest_version():
            return cls(conn, db, readonly=True, copy=copy)
        conn.close()                      # an older or empty file: bring it up to date first
        if copy is None and may_write(db.parent) and may_write(db):
            cls._open_writable(db, timeout).close()
            return cls._open_readonly(db, timeout)
        if copy is None:                  # read-only: upgrade a private copy instead
            target, copy = copy_for_reading(db)
        upgraded = cls._open_writable(Path(target), timeout)
        return cls(upgraded._conn, db, readonly=True, copy=copy)

    @staticmethod
    def _connect(target: str, timeout: float, db: Path, uri: bool = False) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(target, timeout=timeout, isolation_level=None,
                                   check_same_thread=False, uri=uri)
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            return conn
        except sqlite3.Error as exc:
            raise db_error(exc, db) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._copy is not None:
                self._copy.cleanup()
                self._copy = None

    def set_busy_timeout(self, seconds: float) -> None:
        """How long a write waits for another program's lock before it fails."""
        with self._lock:
            self._conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._read_one("PRAGMA user_version")[0]

    # ----- transactions

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (durably) on leaving the block."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise
            except sqlite3.DatabaseError as exc:
                raise db_error(exc, self.path) from None

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise
            except sqlite3.DatabaseError as exc:
                raise db_error(exc, self.path) from None

    def _read_one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
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
    def _ensure_subject(conn: sqlite3.Connection, code: str, new_subject: bool = False) -> int:
        """The subject ``code`` (already clean), created if new. A code that differs from an
        existing one only by case is refused unless ``new_subject``: one person, one subject."""
        known = conn.execute("SELECT id, code FROM subjects").fetchall()
        for sid, stored in known:
            if unicodedata.normalize("NFC", stored) == code:
                return int(sid)
        twins = [stored for _, stored in known if stored.casefold() == code.casefold()]
        if twins and not new_subject:
            raise RomcamError(f"subject {code!r} differs only by case from the existing subject "
                              f"{twins[0]!r} (give --subject {twins[0]} for the same person, or "
                              f"--new-subject if {code!r} is another person)")
        cur = conn.execute("INSERT INTO subjects (code, created_at) VALUES (?, ?)", (code, now_iso()))
        return int(cur.lastrowid)

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

    def start_session(self, subject_code: str, joint: str, side: str, new_subject: bool = False,
                      **meta: Any) -> int:
        """Create a session (status in_progress) for ``subject_code`` (created if new).

        Known ``meta``: source, camera, pose_model, target_reps, trials_per_phase, neutral_deg, synthetic,
        app_version, started_at, set_kind, target_turns; anything else is kept in stats["meta"].
        """
        _check_choice(side, SESSION_SIDES, "side")
        code = clean_subject_code(subject_code)
        extra = {k: meta.pop(k) for k in list(meta) if k not in SESSION_META}
        values = (
            str(joint), side, meta.get("started_at") or now_iso(), meta.get("source"),
            meta.get("camera"), meta.get("pose_model"), _opt_int(meta.get("target_reps")),
            _opt_int(meta.get("trials_per_phase")), _opt_float(meta.get("neutral_deg")),
            int(bool(meta.get("synthetic", False))), meta.get("app_version") or __version__,
            json.dumps({"meta": extra}, default=_json_default) if extra else None,
        )
        with self._transaction() as conn:
            subject = self._ensure_subject(conn, code, new_subject)
            cur = conn.execute(
                "INSERT INTO sessions (subject_id, joint, side, started_at, source, camera, "
                "pose_model, target_reps, trials_per_phase, neutral_deg, synthetic, app_version, "
                "stats_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (subject, *values))
            conn.execute("UPDATE sessions SET set_kind = ?, target_turns = ? WHERE id = ?", (_check_choice(
                meta.get("set_kind") or "reps", SET_KINDS, "set_kind"), _opt_int(meta.get("target_turns")), cur.lastrowid))
            return int(cur.lastrowid)

    def add_trial(self, session_id: int, phase: str, side: str, trial_no: int, peak_deg: float,
                  start_s: float | None = None, peak_s: float | None = None,
                  end_s: float | None = None, heel_lifted: bool | None = None,
                  created_at: str | None = None) -> int:
        """Store one maximal trial (committed on return); returns its id. ``heel_lifted``: the
        ankle's heel was up at the peak (None: not measured, other joints)."""
        _check_choice(phase, TRIAL_PHASES, "phase")
        _check_choice(side, SIDES, "side")
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO trials (session_id, phase, side, trial_no, start_s, peak_s, end_s, "
                "peak_deg, created_at, heel_lifted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (int(session_id), phase, side, int(trial_no), _opt_float(start_s),
                 _opt_float(peak_s), _opt_float(end_s), _peak(peak_deg), created_at or now_iso(),
                 _opt_bool(heel_lifted)))
            return int(cur.lastrowid)

    def discard_trial(self, trial_id: int) -> None:
        """Mark a trial as discarded: kept in the database, left out of the outcome."""
        with self._transaction() as conn:
            cur = conn.execute("UPDATE trials SET discarded = 1 WHERE id = ?", (int(trial_id),))
            if cur.rowcount == 0:
                raise ValueError(f"no trial with id {trial_id}")

    def add_rep(self, session_id: int, side: str, rep_no: int, peak_deg: float,
                start_s: float | None = None, peak_s: float | None = None,
                end_s: float | None = None, heel_lifted: bool | None = None,
                created_at: str | None = None) -> int:
        """Store one counted rep of the set (committed on return); returns its id."""
        _check_choice(side, SIDES, "side")
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO reps (session_id, side, rep_no, start_s, peak_s, end_s, peak_deg, "
                "created_at, heel_lifted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (int(session_id), side, int(rep_no), _opt_float(start_s), _opt_float(peak_s),
                 _opt_float(end_s), _peak(peak_deg), created_at or now_iso(), _opt_bool(heel_lifted)))
            return int(cur.lastrowid)

    def add_frames(self, session_id: int, rows: Iterable, side: str | None = None) -> int:
        """Store a batch of per-frame angles: rows of (t_s, phase, angle_deg, valid) or
        (t_s, phase, angle_deg, valid, head_turn_deg, head_flexion_deg, invalid_reason), or a
        DataFrame with those columns. ``side`` labels the batch (for two-limb sessions).
        Returns the number of rows stored."""
        if hasattr(rows, "itertuples"):
            names = [c for c in FRAME_FIELDS if c in rows.columns]
            rows = rows[names].itertuples(index=False, name=None)
        if side is not None:
            _check_choice(side, SIDES, "side")
        sid = int(session_id)
        batch = []
        for row in rows:
            t, phase, angle, valid, turn, flexion, reason = (tuple(row) + (None, None, None))[:7]
            batch.append((sid, str(phase), side, float(t), _opt_float(angle), int(bool(valid)),
                          _opt_float(turn), _opt_float(flexion), reason or None))
        with self._transaction() as conn:
            conn.executemany("INSERT INTO frames (session_id, phase, side, t_s, angle_deg, valid, "
                             "head_turn_deg, head_flexion_deg, invalid_reason) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        return len(batch)

    def set_vertical(self, session_id: int, source: str, camera_roll_deg: float | None) -> None:
        """Where the ankle's true vertical came from (camera profile, scene, assumed level) and
        the camera's roll it used."""
        self._update_session(session_id, "UPDATE sessions SET vertical_source = ?, camera_roll_deg = ? "
                             "WHERE id = ?", (str(source), _opt_float(camera_roll_deg), int(session_id)))

    def set_neutral(self, session_id: int, neutral_deg: float | None) -> None:
        """The measured neutral angle of the session."""
        self._update_session(session_id, "UPDATE sessions SET neutral_deg = ? WHERE id = ?",
                             (_opt_float(neutral_deg), int(session_id)))

    def finish_session(self, session_id: int, status: str, end_reason: str | None = None,
                       results: Iterable[SideOutcome] = (), stats: dict | None = None) -> None:
        """End a session: status complete/incomplete, why, per-side results, run statistics
        (merged into any stats stored before). Results replace earlier ones."""
        _check_choice(status, FINAL_STATUSES, "status")
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
                         (status, end_reason, now_iso(),
                          json.dumps(merged, default=_json_default) if merged else None, sid))
            conn.execute("DELETE FROM results WHERE session_id = ?", (sid,))
            conn.executemany(
                "INSERT INTO results (session_id, side, before_deg, after_deg, delta_deg, sem_deg, "
                "mdc95_deg, verdict, trials_before, trials_after, reps_done, "
                "first_rep_at_after_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_result_values(sid, o) for o in results])

    def _update_session(self, session_id: int, sql: str, params: tuple) -> None:
        with self._transaction() as conn:
            if conn.execute(sql, params).rowcount == 0:
                raise ValueError(f"no session with id {session_id}")

    # ----- reading

    def sessions(self, subject: str | None = None, joint: str | None = None,
                 since: str | date | datetime | None = None) -> list[SessionRow]:
        """Sessions in start order, optionally of one subject (RomcamError if unknown), one joint
        (its canonical name), started at or after ``since``."""
        where, params = [], []
        if subject is not None:
            where.append("s.subject_id = ?")
            params.append(self._existing_subject_id(subject))
        if joint is not None:
            where.append("s.joint = ?")
            params.append(joint)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self._read("SELECT s.*, sub.code AS subject FROM sessions s "
                          "JOIN subjects sub ON sub.id = s.subject_id" + clause, tuple(params))
        if since is not None:
            start = parse_since(since)
            rows = [r for r in rows if parse_timestamp(r["started_at"]) >= start]
        stored = self._stored_results(clause, tuple(params))
        heels = self._heel_counts(clause, tuple(params))
        out = [self._session_row(r, stored.get(r["id"]), heels.get(r["id"])) for r in rows]
        return sorted(out, key=lambda s: (s.started, s.id))

    def session(self, session_id: int) -> SessionDetail:
        """One session with its trials, reps and results (RomcamError if there is none)."""
        row = self._read_one("SELECT s.*, sub.code AS subject FROM sessions s JOIN subjects sub "
                             "ON sub.id = s.subject_id WHERE s.id = ?", (int(session_id),))
        if row is None:
            raise RomcamError(f"there is no session {session_id} in {self.path}; "
                              f"`romcam history` lists the sessions")
        stored = self._stored_results(" WHERE s.id = ?", (int(session_id),))
        heels = self._heel_counts(" WHERE s.id = ?", (int(session_id),))
        trials = [TrialRecord(r["id"], r["phase"], r["side"], r["trial_no"], r["peak_deg"],
                              r["start_s"], r["peak_s"], r["end_s"], bool(r["discarded"]),
                              r["created_at"], _stored_bool(r["heel_lifted"]))
                  for r in self._read("SELECT * FROM trials WHERE session_id = ? ORDER BY id",
                                      (row["id"],))]
        reps = [RepRecord(r["id"], r["side"], r["rep_no"], r["peak_deg"], r["start_s"],
                          r["peak_s"], r["end_s"], r["created_at"], _stored_bool(r["heel_lifted"]))
                for r in self._read("SELECT * FROM reps WHERE session_id = ? "
                                    "ORDER BY rep_no, id", (row["id"],))]
        return SessionDetail(
            row=self._session_row(row, stored.get(row["id"]), heels.get(row["id"])), source=row["source"],
            camera=row["camera"], pose_model=row["pose_model"],
            trials_per_phase=row["trials_per_phase"], neutral_deg=row["neutral_deg"],
            app_version=row["app_version"],
            stats=json.loads(row["stats_json"]) if row["stats_json"] else {},
            vertical_source=row["vertical_source"], camera_roll_deg=row["camera_roll_deg"],
            trials=tuple(trials), reps=tuple(reps), turns=tuple(self.turns(row["id"])))

    def frames(self, session_id: int):
        """The per-frame angle series of a session: a DataFrame with columns t_s, phase, side,
        angle_deg (NaN when not measured), valid (bool), head_turn_deg, head_flexion_deg (NaN
        when not measured) and invalid_reason (None when valid), in recording order."""
        import pandas as pd

        columns = ["t_s", "phase", "side", "angle_deg", "valid", "head_turn_deg", "head_flexion_deg",
                   "invalid_reason"]
        rows = self._read(f"SELECT {', '.join(columns)} FROM frames WHERE session_id = ? ORDER BY id",
                          (int(session_id),))
        df = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        df["t_s"] = df["t_s"].astype(float)
        for name in ("angle_deg", "head_turn_deg", "head_flexion_deg"):
            df[name] = pd.to_numeric(df[name], errors="coerce").astype(float)
        df["valid"] = df["valid"].astype(bool)
        return df

    def _stored_results(self, clause: str, params: tuple) -> dict[int, list[SideOutcome]]:
        """Results rows of the sessions selected by ``clause``, by session id."""
        rows = self._read("SELECT r.* FROM results r WHERE r.session_id IN (SELECT s.id FROM "
                          "sessions s" + clause + ") ORDER BY r.session_id, r.side", params)
        out: dict[int, list[SideOutcome]] = {}
        for r in rows:
            out.setdefault(r["session_id"], []).append(SideOutcome(
                side=r["side"], before_deg=r["before_deg"], after_deg=r["after_deg"],
                delta_deg=r["delta_deg"], sem_deg=r["sem_deg"], mdc95_deg=r["mdc95_deg"],
                verdict=r["verdict"], trials_before=r["trials_before"],
                trials_after=r["trials_after"], reps_done=r["reps_done"],
                first_rep_at_after_level=r["first_rep_at_after_level"]))
        return out

    def _heel_counts(self, clause: str, params: tuple) -> dict[int, dict[str, int]]:
        """Per session and side, the trials (not discarded) and reps flagged "heel lifted";
        only sessions that measured the heel (the ankle) appear."""
        out: dict[int, dict[str, int]] = {}
        for table, extra in (("trials", " AND discarded = 0"), ("reps", "")):
            rows = self._read(f"SELECT session_id, side, SUM(heel_lifted) AS lifted FROM {table} WHERE "
                              f"heel_lifted IS NOT NULL{extra} AND session_id IN (SELECT s.id FROM sessions s"
                              + clause + ") GROUP BY session_id, side", params)
            for r in rows:
                sides = out.setdefault(r["session_id"], {})
                sides[r["side"]] = sides.get(r["side"], 0) + int(r["lifted"] or 0)
        return out

    def _session_row(self, r: sqlite3.Row, stored: list[SideOutcome] | None,
                     heel_lifted: dict[str, int] | None = None) -> SessionRow:
        outcomes = stored or self._computed_outcomes(r["id"], r["side"])
        return SessionRow(
            id=r["id"], subject=r["subject"], joint=r["joint"], side=r["side"],
            started_at=r["started_at"], ended_at=r["ended_at"], status=r["status"],
            end_reason=r["end_reason"], synthetic=bool(r["synthetic"]),
            target_reps=r["target_reps"], outcomes=tuple(outcomes), results_stored=bool(stored),
            heel_lifted=heel_lifted or {},
            running=r["status"] == "in_progress" and process_alive(_meta_of(r["stats_json"])),
            **({"set_kind": r["set_kind"] or "reps", "target_turns": r["target_turns"]}
               if "set_kind" in r.keys() else {}))

    def _computed_outcomes(self, session_id: int, session_side: str) -> list[SideOutcome]:
        """Outcomes from the stored, non-discarded trials and reps (a session with no results
        row, e.g. one killed mid-set)."""
        trials = self._read("SELECT phase, side, peak_deg FROM trials WHERE session_id = ? "
                            "AND discarded = 0 ORDER BY id", (session_id,))
        reps = self._read("SELECT side, peak_deg FROM reps WHERE session_id = ? "
                          "ORDER BY rep_no, id", (session_id,))
        seen = {r["side"] for r in trials} | {r["side"] for r in reps}
        out = []
        for side in _sides_of(session_side, seen):
            peaks = {phase: [t["peak_deg"] for t in trials
                             if t["side"] == side and t["phase"] == phase]
                     for phase in TRIAL_PHASES}
            rep_peaks = [r["peak_deg"] for r in reps if r["side"] == side]
            out.append(side_outcome(side, peaks["before"], peaks["after"], rep_peaks))
        return out


def _meta_of(stats_json: str | None) -> dict:
    try:
        return (json.loads(stats_json) if stats_json else {}).get("meta") or {}
    except ValueError:
        return {}


def _result_values(session_id: int, o: SideOutcome) -> tuple:
    return (session_id, _check_choice(o.side, SIDES, "result side"), _opt_float(o.before_deg),
            _opt_float(o.after_deg), _opt_float(o.delta_deg), _opt_float(o.sem_deg),
            _opt_float(o.mdc95_deg), o.verdict, int(o.trials_before), int(o.trials_after),
            int(o.reps_done), _opt_int(o.first_rep_at_after_level))
