"""Whole sessions as they are stored, for copying between databases (``romcam db copy``): every
session row with its subject, a session's child rows, and one session written with all its rows
in one transaction. Part of :class:`romcam.storage.store.Store`."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from romcam.storage import schema
from romcam.storage.engine import DbRow

CHILD_TABLES = ("trials", "reps", "turns", "frames", "results")


def copied_columns(table: str) -> list[str]:
    """The columns copied as they are: all but the row's own id and the ids of its parents."""
    return [c.name for c in schema.metadata.tables[table].columns
            if c.name not in ("id", "session_id", "subject_id")]


def session_key(row: Mapping) -> str:
    """A session's identity: its UUID (``sessions.uuid``), the one thing copying, recovering and
    replaying match a session on (two sessions may share subject, joint, side and start time)."""
    return row["uuid"]


def session_facts(row: Mapping) -> tuple[str, str, str, str]:
    """What a session is about, to tell whether two rows with one UUID describe the same session:
    its subject code in Unicode NFC, joint, side and start time."""
    return unicodedata.normalize("NFC", row["subject"]), row["joint"], row["side"], row["started_at"]


class BulkMixin:
    """Part of :class:`romcam.storage.store.Store`: sessions read and written whole."""

    def session_keys(self) -> set[str]:
        """The identity (:func:`session_key`) of every session."""
        return {session_key(r) for r in self._read("SELECT uuid FROM sessions")}

    def session_by_uuid(self, uuid: str) -> DbRow | None:
        """The session with this identity (its row with ``subject``, its code), else None."""
        return self._read_one("SELECT s.*, sub.code AS subject FROM sessions s JOIN subjects sub "
                              "ON sub.id = s.subject_id WHERE s.uuid = ?", (uuid,))

    def frame_times(self, session_id: int) -> set[tuple[str, float]]:
        """The (side, or "" for none; time) of every frame stored for a session."""
        return {(r[0] or "", float(r[1])) for r in self._read("SELECT side, t_s FROM frames WHERE session_id = ?",
                                                               (int(session_id),))}

    def stored_sessions(self) -> list[DbRow]:
        """Every session row as stored, with ``subject`` (its code) and ``subject_created_at``,
        in start order."""
        return self._read("SELECT s.*, sub.code AS subject, sub.created_at AS subject_created_at "
                          "FROM sessions s JOIN subjects sub ON sub.id = s.subject_id "
                          "ORDER BY s.started_at, s.id")

    def stored_children(self, session_id: int) -> dict[str, list[DbRow]]:
        """A session's rows in each of :data:`CHILD_TABLES`, in the order they were written."""
        return {t: self._read(f"SELECT * FROM {t} WHERE session_id = ?"
                              + (" ORDER BY id" if t != "results" else " ORDER BY side"), (int(session_id),))
                for t in CHILD_TABLES}

    def add_stored_session(self, subject: str, subject_created_at: str | None, session: Mapping,
                           children: Mapping[str, Sequence[Mapping]]) -> int | None:
        """Write one session (``session``: a row of :meth:`stored_sessions`, from any romcam
        database) and its rows (``children``: as :meth:`stored_children` gives them) in one
        transaction, unless a session with its UUID is there already (written meanwhile by
        another copy: then nothing is written and None is returned); the subject is matched by
        its code (created when missing). Returns the session's new id."""
        columns = copied_columns("sessions")
        with self._transaction() as conn:
            subject_id = self._ensure_subject(conn, unicodedata.normalize("NFC", subject), new_subject=True,
                                              created_at=subject_created_at)
            row = conn.execute(f"INSERT INTO sessions (subject_id, {', '.join(columns)}) VALUES "
                               f"(?, {', '.join('?' * len(columns))}) ON CONFLICT (uuid) DO NOTHING RETURNING id",
                               (subject_id, *(session[c] for c in columns))).fetchone()
            if row is None:
                return None
            sid = int(row[0])
            for table, rows in children.items():
                names = copied_columns(table)
                conn.executemany(f"INSERT INTO {table} (session_id, {', '.join(names)}) VALUES "
                                 f"(?, {', '.join('?' * len(names))})",
                                 [(sid, *(r[c] for c in names)) for r in rows])
        return sid
