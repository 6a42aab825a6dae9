"""Copying a session database into another (``romcam db copy``): a home SQLite file into the
clinic's PostgreSQL server, or between any two romcam databases.

Nothing is lost or duplicated, and a second run adds nothing:

* a session is matched by its identity (its UUID, made when it started) and nothing else: two
  recorded visits of one video by one subject share subject, joint, side and start time, and
  both are copied;
* one that the target has already is skipped; one it lacks is copied **with all its rows**
  (trials, reps, turns, frames, results) in one transaction that first checks, under the
  target's write lock, that the UUID is still absent (insert-if-absent on the unique UUID), so
  two copies running at once into one target never write a session twice, and an interrupted
  copy never leaves half a session;
* subjects are matched by their code (exactly, after Unicode NFC), created when missing;
* a session still being recorded (its process is alive) is left for a later run;
* a session whose UUID the target holds for *another* session (another subject, joint, side or
  start: a database edited by hand) is skipped and said.

Every skipped session is counted with its reason. Ids are the target's own (a clinic server has
its own numbering); every other column is copied as it is, per the table definitions in
:mod:`romcam.storage.schema`. The work is linear in the rows copied: each session's rows are
read once by their session's index and written in one batch per table.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from collections.abc import Callable

from romcam.storage.bulk import CHILD_TABLES, session_facts, session_key
from romcam.storage.store import Store


@dataclass
class CopyCount:
    """What a copy did: sessions copied; skipped because already there, written meanwhile by
    another copy, still recording, or their UUID taken by another session; subjects the target
    gained while it ran; rows copied per table."""

    copied: int = 0
    present: int = 0
    raced: int = 0
    running: int = 0
    conflicts: int = 0
    subjects_new: int = 0
    rows: dict[str, int] = field(default_factory=lambda: {t: 0 for t in CHILD_TABLES})

    def summary(self) -> str:
        rows = ", ".join(f"{n} {t}" for t, n in self.rows.items())
        text = (f"copied {self.copied} session{'s' if self.copied != 1 else ''} ({rows}); "
                f"{self.present} already there")
        if self.raced:
            text += f"; {self.raced} copied meanwhile by another run, skipped"
        text += f"; {self.subjects_new} subject{'s' if self.subjects_new != 1 else ''} new in the target"
        if self.running:
            text += (f"; {self.running} still being recorded left out (copy again when "
                     f"{'they end' if self.running > 1 else 'it ends'})")
        if self.conflicts:
            text += (f"; {self.conflicts} skipped: the target holds their UUID for another session "
                     f"(see the lines above)")
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
            there = target.session_by_uuid(key)
            if there is not None and session_facts(there) != session_facts(row):
                count.conflicts += 1
                say(f"{label}: skipped, the target holds its UUID {key} for another session ({there['subject']}, "
                    f"{there['joint']} {there['side']}, {there['started_at']})")
            else:
                count.present += 1
                say(f"{label}: already there")
            continue
        if row["id"] in running:
            count.running += 1
            say(f"{label}: still being recorded, left out")
            continue
        copied = _copy_session(source, target, row)
        have.add(key)
        if copied is None:
            count.raced += 1
            say(f"{label}: skipped, copied meanwhile by another run")
            continue
        count.copied += 1
        for table, k in copied.items():
            count.rows[table] += k
        say(f"{label}: copied " + ", ".join(f"{k} {t}" for t, k in copied.items()))
    count.subjects_new = len(set(map(_nfc, target.subjects())) - subjects_before)
    return count


def _copy_session(source: Store, target: Store, row) -> dict[str, int] | None:
    """One session and all its rows into ``target``, in one transaction; rows copied per table
    (None: another copy wrote it meanwhile, nothing written)."""
    children = source.stored_children(row["id"])
    if target.add_stored_session(row["subject"], row["subject_created_at"], row, children) is None:
        return None
    return {t: len(found) for t, found in children.items()}
