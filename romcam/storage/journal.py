"""A live session's writes, kept until the database has them: nothing counted is ever lost.

Every write of a session (:class:`SessionJournal`) is kept in order as a plain record. It goes to
the database at once; when the database cannot take it (another program holds the write lock, the
disk is full, the file got damaged), the session goes on counting, the waiting records stay in
memory *and* in a recovery file (``<db>.recovery-<session>.jsonl`` beside an SQLite database, else
in the per-user data folder, else in the temporary folder; for a PostgreSQL server, which may
also be unreachable or restarting, in the per-user data folder), and they are retried about once a second
and flushed as soon as the database takes writes again (then the file goes away). Only when the
session ends with records still waiting is the recovery file left, and said:
``romcam recover FILE`` adds it to the database (or another one) later.

Replaying is idempotent (trials and reps are matched on their own creation time, frame batches
on their first timestamp), so a file replayed twice, or after a partial flush, adds nothing twice.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Callable

from romcam.dirs import data_dir
from romcam.errors import RomcamError
from romcam.files import atomic_write_text
from romcam.measure.outcome import SideOutcome
from sqlalchemy.exc import SQLAlchemyError

from romcam.storage.store import Store, clean_subject_code
from romcam.timestamps import now_iso

FORMAT = "romcam-recovery-1"
RETRY_S = 1.0               # how often waiting records are retried during a session
WRITE_WAIT_S = 0.25         # how long one write waits for a lock during a live session
FINAL_WAIT_S = float(os.environ.get("ROMCAM_FINAL_WAIT_S", "15"))   # at the end, before giving up


class SessionJournal:
    """The writes of one session: to the database when it takes them, else kept (module notes)."""

    def __init__(self, store: Store, say: Callable[[str], None] = print):
        self.store, self.say = store, say
        self.ops: list[dict] = []
        self.pending: list[dict] = []
        self.sid: int | None = None
        self.problem: str | None = None
        self.file: Path | None = None
        self._last_try = -math.inf
        store.set_busy_timeout(WRITE_WAIT_S)

    # ----- the writes of a session

    def start(self, subject: str, joint: str, side: str, new_subject: bool = False, **meta) -> int:
        """Create the session; this one write must succeed (nothing has been counted yet)."""
        meta.setdefault("started_at", now_iso())
        self.sid = self.store.start_session(subject, joint, side, new_subject=new_subject, **meta)
        self.ops.append({"op": "start", "subject": clean_subject_code(subject), "joint": joint,
                         "side": side, "meta": meta, "session_id": self.sid})
        return self.sid

    def write(self, op: str, **fields) -> None:
        record = {"op": op, **fields}
        if op in ("trial", "rep", "turn"):
            record.setdefault("created_at", now_iso())
        self.ops.append(record)
        self.pending.append(record)
        # A trial or rep is tried at once; while a PostgreSQL server is unreachable (each try may
        # wait for a connection), at most once per RETRY_S like frames.
        self.flush(force=op != "frames" and not (self.problem and self.store.postgres))

    # ----- getting them into the database

    def flush(self, force: bool = False) -> bool:
        """Try the waiting records (at most once per :data:`RETRY_S` unless ``force``); True when
        none is left waiting."""
        if not self.pending:
            return True
        if self.problem and not force and time.monotonic() - self._last_try < RETRY_S:
            return False
        self._last_try = time.monotonic()
        try:
            while self.pending:
                apply(self.store, self.sid, self.pending[0])
                self.pending.pop(0)
        except (RomcamError, sqlite3.Error, SQLAlchemyError, OSError) as exc:
            first = self.problem is None
            self.problem = str(exc)
            self.save()
            if first:
                self.say(f"note: the database cannot take writes now ({exc}); counting goes on, "
                         f"the records wait in memory and in {self.file}")
            return False
        if self.problem is not None:
            self.say("note: the database takes writes again; every waiting record is stored")
            self.problem = None
            self.discard_file()
        return True

    def close(self, final_wait_s: float | None = None) -> str | None:
        """At the session's end: wait up to ``final_wait_s`` for the database to take the
        waiting records; if it does not (or its pages are damaged), keep the whole session in
        the recovery file. Returns a sentence saying so, or None when all is in the database."""
        deadline = time.monotonic() + (FINAL_WAIT_S if final_wait_s is None else final_wait_s)
        while not self.flush(force=True) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not self.pending:
            damage = self._damage()
            if damage is None:
                return None
            self.problem = damage
        self.pending = list(self.ops[1:])      # the whole session, for a clean replay elsewhere
        self.save()
        trials = sum(o["op"] == "trial" for o in self.ops)
        reps = sum(o["op"] == "rep" for o in self.ops)
        where = f"in {self.file}" if self.file else "NOWHERE (no folder could be written)"
        return (f"the database {self.store.path} did not take the session's records "
                f"({self.problem}); all {trials} trials and {reps} reps of session {self.sid} are "
                f"kept {where} (add them with `romcam recover {self.file}` once the database is "
                f"free, or with --db to another database)")

    def _damage(self) -> str | None:
        """A damaged page, read by a new connection (this one's page cache may still hold the
        good copy of a page that was damaged on disk). A PostgreSQL server checks its own."""
        if self.store.postgres:
            return None
        try:
            conn = sqlite3.connect(Path(os.path.abspath(self.store.path)).as_uri() + "?mode=ro", uri=True)
            try:
                rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            finally:
                conn.close()
        except sqlite3.Error as exc:
            rows = [str(exc)]
        return None if rows == ["ok"] else f"the database is damaged: {rows[0]}"

    # ----- the recovery file

    def _candidates(self) -> list[Path]:
        if self.store.postgres:
            name = f"{_url_file_name(self.store.path)}.recovery-{self.sid}.jsonl"
            return [data_dir() / "recovery" / name, Path(tempfile.gettempdir()) / name]
        name = f"{self.store.path.name}.recovery-{self.sid}.jsonl"
        return [self.store.path.parent / name, data_dir() / "recovery" / name,
                Path(tempfile.gettempdir()) / name]

    def save(self) -> None:
        db = self.store.path if self.store.postgres else str(Path(os.path.abspath(self.store.path)))
        header = {"format": FORMAT, "db": db, "session_id": self.sid}
        text = "".join(json.dumps(o, default=_plain) + "\n" for o in [header] + self.ops[:1] + self.pending)
        places = ([self.file] if self.file else []) + self._candidates()
        for path in places:
            try:
                atomic_write_text(path, text)
            except OSError:
                continue
            if self.file is not None and self.file != path:
                self.discard_file()
            self.file = path
            return

    def discard_file(self) -> None:
        if self.file is not None and self.file.exists():
            self.file.unlink()
        self.file = None


def delete_empty_session(store: Store, session_id: int) -> bool:
    """Remove a session that recorded no trial and no rep (e.g. no person was ever seen),
    with its frames, and its subject if that has no other session. Returns whether it did."""
    sid = int(session_id)
    with store._transaction() as conn:
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


def _url_file_name(url: str) -> str:
    """A file name part for a database URL: server and database, nothing else."""
    host, _, rest = url.partition("://")[2].rpartition("@")[2].partition("/")
    return re.sub(r"[^\w.-]+", "_", f"{host or 'local'}-{rest.partition('?')[0]}").strip("_")


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _exists(store: Store, sql: str, params: tuple) -> bool:
    return store._read_one(sql, params) is not None


def apply(store: Store, sid: int, o: dict) -> None:
    """One journal record into ``store`` (session ``sid``), unless it is there already."""
    op = o["op"]
    if op == "trial":
        if not _exists(store, "SELECT 1 FROM trials WHERE session_id = ? AND phase = ? AND side = ? "
                              "AND trial_no = ? AND created_at = ?",
                       (sid, o["phase"], o["side"], o["trial_no"], o["created_at"])):
            store.add_trial(sid, o["phase"], o["side"], o["trial_no"], o["peak_deg"], o.get("start_s"),
                            o.get("peak_s"), o.get("end_s"), heel_lifted=o.get("heel_lifted"),
                            created_at=o["created_at"])
    elif op == "discard":
        with store._transaction() as conn:
            conn.execute("UPDATE trials SET discarded = 1 WHERE session_id = ? AND phase = ? AND "
                         "side = ? AND trial_no = ? AND created_at = ?",
                         (sid, o["phase"], o["side"], o["trial_no"], o["created_at"]))
    elif op == "rep":
        if not _exists(store, "SELECT 1 FROM reps WHERE session_id = ? AND side = ? AND rep_no = ? "
                              "AND created_at = ?", (sid, o["side"], o["rep_no"], o["created_at"])):
            store.add_rep(sid, o["side"], o["rep_no"], o["peak_deg"], o.get("start_s"), o.get("peak_s"),
                          o.get("end_s"), heel_lifted=o.get("heel_lifted"), created_at=o["created_at"])
    elif op == "turn":
        if not _exists(store, "SELECT 1 FROM turns WHERE session_id = ? AND turn_no = ? AND created_at = ?",
                       (sid, o["turn_no"], o["created_at"])):
            store.add_turn(sid, o["turn_no"], o["direction"], o.get("start_s"), o.get("end_s"), o.get("right_deg"),
                           o.get("left_deg"), o.get("forward_deg"), o.get("backward_deg"), created_at=o["created_at"])
    elif op == "frames":
        rows = o["rows"]
        if rows and not _exists(store, "SELECT 1 FROM frames WHERE session_id = ? AND COALESCE(side, '') = "
                                       "COALESCE(?, '') AND t_s = ?", (sid, o.get("side"), float(rows[0][0]))):
            store.add_frames(sid, rows, side=o.get("side"))
    elif op == "neutral":
        store.set_neutral(sid, o["neutral_deg"])
    elif op == "finish":
        store.finish_session(sid, o["status"], o.get("end_reason"),
                             [SideOutcome(**r) for r in o.get("results", [])], o.get("stats"))
    else:
        raise RomcamError(f"unknown record {op!r} in a recovery file (made by a newer romcam?)")


def read_recovery(path: Path) -> tuple[dict, list[dict]]:
    """The header and the records of a recovery file."""
    try:
        lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise RomcamError(f"cannot read the recovery file {path} ({exc}) (give the file romcam "
                          f"named when the session ended)") from None
    if not lines or lines[0].get("format") != FORMAT or len(lines) < 2 or lines[1].get("op") != "start":
        raise RomcamError(f"{path} is not a romcam recovery file (give the file romcam named when "
                          f"the session ended)")
    return lines[0], lines[1:]


def replay(store: Store, records: list[dict]) -> int:
    """Add a recovery file's session to ``store`` (the same session when it is already there,
    matched on subject, joint and start time); returns its id there."""
    start, rest = records[0], records[1:]
    meta = dict(start["meta"])
    row = store._read_one("SELECT s.id FROM sessions s JOIN subjects sub ON sub.id = s.subject_id "
                          "WHERE sub.code = ? AND s.joint = ? AND s.started_at = ?",
                          (start["subject"], start["joint"], meta["started_at"]))
    sid = int(row[0]) if row else store.start_session(start["subject"], start["joint"], start["side"],
                                                       new_subject=True, **meta)
    for record in rest:
        apply(store, sid, record)
    return sid
