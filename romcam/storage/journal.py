"""A live session's writes, kept until the database has them: nothing counted is ever lost.

Every write of a session (:class:`SessionJournal`) is kept in order as a plain record and handed
to the session's **writer thread**, which puts the records into the database one after the other
on a connection of its own; ``write()`` never waits for the database (a held lock, a server that
does not answer): the live view goes on whatever the database does.

A trial, rep, turn (and the neutral, a discard, the finish) is *counted* only once it is safe:
``write()`` waits a moment (:data:`CONFIRM_WAIT_S`) for the writer to confirm it is committed;
if it is not (or while the database is behind: a recovery file exists), the record is appended
to the recovery file before ``write()`` returns. So after a
crash (even SIGKILL) every counted record is in the database or in that file. Frame batches just
queue (the frames of the last second may be lost in a crash, as the unbatched ones are).

When the database cannot take the records (another program holds the write lock, the disk is
full, the file got damaged, a PostgreSQL server is unreachable or restarting), the session goes
on counting; the waiting records stay in memory *and* in the recovery file
(``<db>.recovery-<session>.jsonl`` beside an SQLite database, else in the per-user data folder,
else in the temporary folder; for a PostgreSQL server in the per-user data folder); the writer
retries about once a second and stores them as soon as the database takes writes again (then the
file goes away). Only when the session ends with records still waiting (or the program is killed
while the database is behind) is the recovery file left, and said: ``romcam recover FILE`` adds it
to the database (or another one) later, and the next session started on the same database adds
every such file it finds by itself (:func:`add_leftovers`; never the file of a session still
running, in this process or another one).

Replaying is idempotent (trials and reps are matched on their own creation time, frame batches
on their first timestamp), so a file replayed twice, or after a partial flush, adds nothing twice.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import tempfile
import threading
import weakref
from glob import escape as glob_escape
from pathlib import Path
from collections.abc import Callable

from romcam.dirs import data_dir
from romcam.errors import RomcamError
from romcam.files import atomic_write_text
from romcam.measure.outcome import SideOutcome
from sqlalchemy.exc import SQLAlchemyError

from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store
from romcam.timestamps import now_iso

FORMAT = "romcam-recovery-1"
RETRY_S = 1.0               # how often waiting records are retried during a session
WRITE_WAIT_S = 0.25         # how long one attempt of the writer waits for a lock
CONFIRM_WAIT_S = 0.05       # how long write() waits for a counted record to be committed
JOIN_WAIT_S = 30.0          # then how long close() waits for an attempt still under way
FINAL_WAIT_S = float(os.environ.get("ROMCAM_FINAL_WAIT_S", "15"))   # at the end, before giving up
DB_ERRORS = (RomcamError, sqlite3.Error, SQLAlchemyError, OSError)
_RUNNING: weakref.WeakSet[SessionJournal] = weakref.WeakSet()    # this process's sessions not yet closed


class SessionJournal:
    """The writes of one session: to the database by a writer thread when it takes them, else
    kept (module notes). ``say`` is only ever called on the caller's thread."""

    def __init__(self, store: Store, say: Callable[[str], None] = print):
        self.store, self.say = store, say
        self.ops: list[dict] = []           # every record, in order; ops[0] is the start
        self.sid: int | None = None
        self.problem: str | None = None     # why the database refused the last attempt
        self.file: Path | None = None
        self._state = threading.Condition()     # guards the counters below and ops' growth
        self._confirmed = 0                 # ops[:_confirmed] are committed
        self._filed = 0                     # ops[:_filed] are committed or in the recovery file
        self._torn = False                  # an append to the recovery file failed part-way
        self._failed_tries = 0
        self._wake = self._stop = False
        self._notes: list[str] = []         # said on the caller's thread
        self._crash: BaseException | None = None
        self._file_lock = threading.Lock()  # taken before _state, never after
        self._db: Store | None = None
        self._thread: threading.Thread | None = None
        store.set_busy_timeout(WRITE_WAIT_S)

    @property
    def pending(self) -> list[dict]:
        """The records not yet confirmed in the database, oldest first."""
        with self._state:
            return self.ops[self._confirmed:]

    # ----- the writes of a session

    def start(self, meta: SessionMeta, new_subject: bool = False) -> int:
        """Create the session (at once: this one write must succeed, nothing has been counted
        yet) and start the writer thread. ``new_subject``: a subject code differing only by case
        from a known one is another person."""
        add_leftovers(self.store, self.say)
        self.sid = self.store.start_session(meta, new_subject=new_subject)
        self.ops.append({"op": "start", **meta.to_record(), "session_id": self.sid})
        self._confirmed = self._filed = 1
        self._db = self.store.twin(WRITE_WAIT_S)
        self._thread = threading.Thread(target=self._run, name=f"romcam-writer-{self.sid}", daemon=True)
        self._thread.start()
        _RUNNING.add(self)
        return self.sid

    def write(self, op: str, **fields) -> None:
        """Queue one record; returns at once (at most :data:`CONFIRM_WAIT_S` and a line appended
        to the recovery file for a counted record the database has not confirmed by then)."""
        self._report()
        record = {"op": op, **fields}
        if op in ("trial", "rep", "turn"):
            record.setdefault("created_at", now_iso())
        with self._state:
            self.ops.append(record)
            n = len(self.ops) - 1
            self._state.notify_all()
            if op == "frames":
                return
            if self.problem is None and self.file is None:      # else the database is behind
                self._state.wait_for(lambda: self._confirmed > n, timeout=CONFIRM_WAIT_S)
            if self._confirmed > n:
                return
        self._keep(n)

    def flush(self, force: bool = False) -> bool:
        """Say what the writer noticed; True when no record is left waiting. ``force``: first
        let the writer try the waiting records now (waits for that one attempt)."""
        self._report()
        with self._state:
            if force and self._thread is not None and self._thread.is_alive():
                tries = self._failed_tries
                self._wake = True
                self._state.notify_all()
                self._state.wait_for(lambda: self._confirmed == len(self.ops) or self._failed_tries > tries
                                     or self._crash is not None, timeout=60)
            done = self._confirmed == len(self.ops)
        self._report()
        return done

    # ----- the writer thread

    def _run(self) -> None:
        try:
            while True:
                with self._state:
                    self._state.wait_for(lambda: self._stop or self._confirmed < len(self.ops))
                    if self._stop:
                        return
                    record = self.ops[self._confirmed]
                try:
                    apply(self._db, self.sid, record)
                except DB_ERRORS as exc:
                    self._refused(exc)
                    continue
                with self._state:
                    self._confirmed += 1
                    self._state.notify_all()
                    if self._confirmed < len(self.ops):
                        continue
                self._caught_up()
        except BaseException as exc:        # a bug, not the database: raised on the caller's thread
            with self._state:
                self._crash = exc
                self._state.notify_all()

    def _refused(self, exc: BaseException) -> None:
        first = self.problem is None
        self.problem = str(exc)
        self._save_waiting()
        with self._state:
            if first:
                self._notes.append(f"note: the database cannot take writes now ({exc}); counting goes "
                                   f"on, the records wait in memory and in {self.file}")
            self._failed_tries += 1
            self._state.notify_all()
            self._state.wait_for(lambda: self._stop or self._wake, timeout=RETRY_S)
            self._wake = False

    def _caught_up(self) -> None:
        """Every record is in the database: the recovery file goes (unless a newer record came
        meanwhile; it is checked with the file lock held, so no record kept there is dropped)."""
        with self._file_lock, self._state:
            if self._confirmed < len(self.ops):
                return
            if self.problem is not None:
                self._notes.append("note: the database takes writes again; every waiting record is stored")
                self.problem = None
            self.discard_file()

    def _report(self) -> None:
        """Say the writer's notes; raise what broke it (on the caller's thread)."""
        with self._state:
            notes, self._notes = self._notes, []
            crash, self._crash = self._crash, None
        for note in notes:
            self.say(note)
        if crash is not None:
            raise crash

    # ----- the end

    def close(self, final_wait_s: float | None = None) -> str | None:
        """At the session's end: wait up to ``final_wait_s`` for the database to take the
        waiting records, stop the writer; if the records are still refused (or the database's
        pages are damaged), keep the whole session in the recovery file. Returns a sentence
        saying so, or None when all is in the database."""
        wait = FINAL_WAIT_S if final_wait_s is None else final_wait_s
        _RUNNING.discard(self)
        if self._thread is not None:
            with self._state:
                self._wake = True
                self._state.notify_all()
                self._state.wait_for(lambda: self._confirmed == len(self.ops) or self._crash is not None
                                     or not self._thread.is_alive(), timeout=wait)
                self._stop = True
                self._state.notify_all()
            self._thread.join(timeout=JOIN_WAIT_S)      # one attempt under way (a server not answering)
            if not self._thread.is_alive():
                self._db.close()
            self._thread = None
        if self._crash is not None:
            self._write_file(self.ops[1:])
        self._report()
        if self._confirmed == len(self.ops):
            damage = self._damage()
            if damage is None:
                return None
            self.problem = damage
        self._write_file(self.ops[1:])      # the whole session, for a clean replay elsewhere
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

    # ----- the recovery file: the start, then (at least) every record not yet confirmed

    def _keep(self, n: int) -> None:
        """Make sure record ``n`` is committed or in the recovery file (the caller, for a counted
        record the database has not confirmed)."""
        self._file_upto(n + 1)

    def _save_waiting(self) -> None:
        """Make sure every record not yet confirmed is in the recovery file (the writer, on a
        refusal)."""
        with self._state:
            hi = len(self.ops)
        self._file_upto(hi)

    def _file_upto(self, hi: int) -> None:
        """Every record before ``hi`` committed or in the recovery file: the missing ones
        appended to it (a line each), or the file written anew (none yet, or an append failed:
        its last line may be cut)."""
        with self._file_lock:
            with self._state:
                if self._confirmed >= hi or self._filed >= hi:
                    return
                whole = self.file is None or self._torn
                records = self.ops[self._confirmed if whole else max(self._confirmed, self._filed):hi]
            if not whole:
                try:
                    with open(self.file, "a", encoding="utf-8", newline="") as fh:
                        fh.write(_lines(records))
                    self._filed = hi
                    return
                except OSError:
                    self._torn = True
                    with self._state:
                        records = self.ops[self._confirmed:hi]
            if self._write_file(records):
                self._filed, self._torn = hi, False

    def _candidates(self) -> list[Path]:
        return [folder / f"{_file_stem(self.store)}.recovery-{self.sid}.jsonl" for folder in _folders(self.store)]

    def _write_file(self, records: list[dict]) -> bool:
        """The recovery file with the header, the start and ``records`` (replacing it atomically;
        in the first place that can be written). Returns whether one could be written."""
        header = {"format": FORMAT, "db": _db_name(self.store), "session_id": self.sid,
                  "pid": os.getpid(), "host": socket.gethostname()}
        text = json.dumps(header) + "\n" + _lines(self.ops[:1] + list(records))
        places = ([self.file] if self.file else []) + self._candidates()
        for path in places:
            try:
                atomic_write_text(path, text)
            except OSError:
                continue
            if self.file is not None and self.file != path:
                self.discard_file()
            self.file = path
            return True
        return False

    def discard_file(self) -> None:
        if self.file is not None and self.file.exists():
            self.file.unlink()
        self.file = None


def _lines(records: list[dict]) -> str:
    return "".join(json.dumps(o, default=_plain) + "\n" for o in records)


def delete_empty_session(store: Store, session_id: int) -> bool:
    """Remove a session that recorded no trial and no rep (e.g. no person was ever seen),
    with its frames, and its subject if that has no other session. Returns whether it did."""
    return store.delete_session_if_empty(session_id)


def _folders(store: Store) -> list[Path]:
    """Where a database's recovery files go, in order of preference."""
    later = [data_dir() / "recovery", Path(tempfile.gettempdir())]
    return later if store.postgres else [store.path.parent] + later


def _file_stem(store: Store) -> str:
    return _url_file_name(store.path) if store.postgres else store.path.name


def _db_name(store: Store) -> str:
    """The database as a recovery file's header names it (a URL without password, or a path)."""
    return store.path if store.postgres else str(Path(os.path.abspath(store.path)))


def _still_running(header: dict, path: Path) -> bool:
    """Whether the session that wrote a recovery file may still be running (then it is its own)."""
    if any(j.file is not None and j.file.resolve() == path.resolve() for j in list(_RUNNING)):
        return True
    pid, host = header.get("pid"), header.get("host")
    if pid is None or pid == os.getpid():
        return False                 # an older romcam's file, or this process's closed session
    if host is not None and host != socket.gethostname():
        return True                  # another computer's: its process cannot be checked from here
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def leftover_files(store: Store) -> list[Path]:
    """Recovery files of this database whose sessions are no longer running."""
    found: dict[Path, None] = {}
    for folder in _folders(store):
        for path in sorted(folder.glob(f"{glob_escape(_file_stem(store))}.recovery-*.jsonl")):
            try:
                header = json.loads(path.read_text(encoding="utf-8").split("\n", 1)[0])
            except (OSError, ValueError):
                continue
            if header.get("format") == FORMAT and header.get("db") == _db_name(store) \
                    and not _still_running(header, path):
                found.setdefault(path.resolve())
    return list(found)


def waiting_note(store: Store) -> str | None:
    """What a command that only reads ``store`` says when sessions of it are still kept in
    recovery files (not in the database yet, so missing from its tables): None when there are
    none. Reading never adds them (it may run on a read-only copy); the next session or
    `romcam recover` does."""
    files = leftover_files(store)
    if not files:
        return None
    n = len(files)
    listed = "\n".join(f"  romcam recover {path}" for path in files)
    kept = f"{n} sessions of this database are kept in recovery files" if n != 1 else \
        "1 session of this database is kept in a recovery file"
    return (f"note: {kept}, not in the database yet, so not shown here; the next session adds "
            f"{'them' if n != 1 else 'it'}, or now:\n{listed}")


def add_leftovers(store: Store, say: Callable[[str], None] = print) -> int:
    """Add to ``store`` every session left in a recovery file of it (a session that ended, or was
    killed, while the database could not take its records); each file goes once it is stored.
    A file that cannot be added yet is kept and said; it never stops the new session."""
    added = 0
    for path in leftover_files(store):
        try:
            _, records = read_recovery(path)
            sid = replay(store, records)
        except DB_ERRORS as exc:
            say(f"note: could not add the recovery file {path} yet ({exc}); it is kept (`romcam recover {path}`)")
            continue
        start = records[0]
        path.unlink(missing_ok=True)
        added += 1
        say(f"note: added session {sid} ({start['subject']}, {start['joint']}, started "
            f"{start['meta'].get('started_at')}), kept in {path} when the database could not take it")
    return added


def _url_file_name(url: str) -> str:
    """A file name part for a database URL: server and database, nothing else."""
    host, _, rest = url.partition("://")[2].rpartition("@")[2].partition("/")
    return re.sub(r"[^\w.-]+", "_", f"{host or 'local'}-{rest.partition('?')[0]}").strip("_")


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def apply(store: Store, sid: int, o: dict) -> None:
    """One journal record into ``store`` (session ``sid``), unless it is there already."""
    op = o["op"]
    if op == "trial":
        if not store.has_trial(sid, o["phase"], o["side"], o["trial_no"], o["created_at"]):
            store.add_trial(sid, o["phase"], o["side"], o["trial_no"], o["peak_deg"], o.get("start_s"),
                            o.get("peak_s"), o.get("end_s"), heel_lifted=o.get("heel_lifted"),
                            created_at=o["created_at"], knee_over_toe_cm=o.get("knee_over_toe_cm"))
    elif op == "discard":
        store.discard_trial_at(sid, o["phase"], o["side"], o["trial_no"], o["created_at"])
    elif op == "rep":
        if not store.has_rep(sid, o["side"], o["rep_no"], o["created_at"]):
            store.add_rep(sid, o["side"], o["rep_no"], o["peak_deg"], o.get("start_s"), o.get("peak_s"),
                          o.get("end_s"), heel_lifted=o.get("heel_lifted"), created_at=o["created_at"],
                          knee_over_toe_cm=o.get("knee_over_toe_cm"), edge=o.get("edge"))
    elif op == "turn":
        if not store.has_turn(sid, o["turn_no"], o["created_at"]):
            store.add_turn(sid, o["turn_no"], o["direction"], o.get("start_s"), o.get("end_s"), o.get("right_deg"),
                           o.get("left_deg"), o.get("forward_deg"), o.get("backward_deg"), created_at=o["created_at"],
                           edge_side=o.get("edge_side"), edge=o.get("edge"))
    elif op == "frames":
        rows = o["rows"]
        if rows and not store.has_frames(sid, o.get("side"), float(rows[0][0])):
            store.add_frames(sid, rows, side=o.get("side"))
    elif op == "neutral":
        store.set_neutral(sid, o["neutral_deg"])
    elif op == "vertical":
        store.set_vertical(sid, o["source"], o.get("camera_roll_deg"))
    elif op == "finish":
        store.finish_session(sid, o["status"], o.get("end_reason"),
                             [SideOutcome(**r) for r in o.get("results", [])], o.get("stats"), o.get("ended_at"))
    else:
        raise RomcamError(f"unknown record {op!r} in a recovery file (made by a newer romcam?)")


def read_recovery(path: Path) -> tuple[dict, list[dict]]:
    """The header and the records of a recovery file."""
    try:
        texts = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        lines = [json.loads(line) for line in texts[:-1]]
        try:
            lines += [json.loads(texts[-1])] if texts else []
        except ValueError:
            pass             # cut by a crash while it was appended: its write() had not returned
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
    meta = SessionMeta.from_record(records[0])
    sid = store.find_session(meta.subject, meta.joint, meta.started_at)
    sid = sid if sid is not None else store.start_session(meta, new_subject=True)
    for record in records[1:]:
        apply(store, sid, record)
    return sid
