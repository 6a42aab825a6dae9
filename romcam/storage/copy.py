"""Copying a session database into another (``romcam db copy``): a home SQLite file into the
clinic's PostgreSQL server, or between any two romcam databases.

Nothing is lost or duplicated, and a second run adds nothing:

* subjects are matched by their code (exactly, after Unicode NFC), created when missing;
* a session is matched by its natural key (subject, start time, joint, side); one that the
  target has already is skipped, one it lacks is copied **with all its rows** (trials, reps,
  turns, frames, results) in one transaction, so an interrupted copy never leaves half a session;
* a session still being recorded (its process is alive) is left for a later run.

Ids are the target's own (a clinic server has its own numbering); every other column is copied
as it is, per the table definitions in :mod:`romcam.storage.schema`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from collections.abc import Callable

from romcam.storage.bulk import CHILD_TABLES, session_key
from romcam.storage.store import Store


@dataclass
class CopyCount:
    """What a copy did: sessions copied, already there, left (still recording); rows copied per table."""

    copied: int = 0
    present: int = 0
    running: int = 0
    subjects_new: int = 0
    rows: dict[str, int] = field(default_factory=lambda: {t: 0 for t in CHILD_TABLES})

    def summary(self) -> str:
        rows = ", ".join(f"{n} {t}" for t, n in self.rows.items())
        text = (f"copied {self.copied} session{'s' if self.copied != 1 else ''} ({rows}); "
                f"{self.present} already there; {self.subjects_new} new subject"
                f"{'s' if self.subjects_new != 1 else ''}")
        if self.running:
            text += (f"; {self.running} still being recorded left out (copy again when "
                     f"{'they end' if self.running > 1 else 'it ends'})")
        return text


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def copy_database(source: Store, target: Store, say: Callable[[str], None] = print) -> CopyCount:
    """Copy every session of ``source`` that ``target`` lacks (module notes); progress through
    ``say``, one line per session."""
    count = CopyCount()
    have = target.session_keys()
    subjects_before = set(map(_nfc, target.subjects()))
    rows = source.stored_sessions()
    running = {s.id for s in source.sessions() if s.running}
    for n, row in enumerate(rows, start=1):
        key = session_key(row)
        label = f"session {n}/{len(rows)} ({row['subject']}, {row['joint']} {row['side']}, {row['started_at']})"
        if key in have:
            count.present += 1
            say(f"{label}: already there")
            continue
        if row["id"] in running:
            count.running += 1
            say(f"{label}: still being recorded, left out")
            continue
        copied = _copy_session(source, target, row)
        have.add(key)
        count.copied += 1
        for table, k in copied.items():
            count.rows[table] += k
        say(f"{label}: copied " + ", ".join(f"{k} {t}" for t, k in copied.items()))
    count.subjects_new = len(set(map(_nfc, target.subjects())) - subjects_before)
    return count


def _copy_session(source: Store, target: Store, row) -> dict[str, int]:
    """One session and all its rows into ``target``, in one transaction; rows copied per table."""
    children = source.stored_children(row["id"])
    target.add_stored_session(row["subject"], row["subject_created_at"], row, children)
    return {t: len(found) for t, found in children.items()}
