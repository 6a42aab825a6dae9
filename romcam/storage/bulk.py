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


def session_key(row: Mapping) -> tuple[str, str, str, str]:
    """A session's natural key: its subject code in Unicode NFC, start time, joint and side."""
    return unicodedata.normalize("NFC", row["subject"]), row["started_at"], row["joint"], row["side"]


class BulkMixin:
    """Part of :class:`romcam.storage.store.Store`: sessions read and written whole."""

    def session_keys(self) -> set[tuple[str, str, str, str]]:
        """The natural key (:func:`session_key`) of every session."""
        rows = self._read("SELECT sub.code AS subject, s.started_at, s.joint, s.side FROM sessions s "
                          "JOIN subjects sub ON sub.id = s.subject_id")
        return {session_key(r) for r in rows}

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
                           children: Mapping[str, Sequence[Mapping]]) -> int:
        """Write one session (``session``: a row of :meth:`stored_sessions`, from any romcam
        database) and its rows (``children``: as :meth:`stored_children` gives them) in one
        transaction; the subject is matched by its code (created when missing). Returns the
        session's new id."""
        columns = copied_columns("sessions")
        with self._transaction() as conn:
            subject_id = self._ensure_subject(conn, unicodedata.normalize("NFC", subject), new_subject=True,
                                              created_at=subject_created_at)
            sid = conn.insert(f"INSERT INTO sessions (subject_id, {', '.join(columns)}) VALUES "
                              f"(?, {', '.join('?' * len(columns))})",
                              (subject_id, *(session[c] for c in columns)))
            for table, rows in children.items():
                names = copied_columns(table)
                conn.executemany(f"INSERT INTO {table} (session_id, {', '.join(names)}) VALUES "
                                 f"(?, {', '.join('?' * len(names))})",
                                 [(sid, *(r[c] for c in names)) for r in rows])
        return sid
