"""Fault injection on a real session database (issue #11): a session (a synthetic landmark stream
through the real protocol, journal and store, in a subprocess) is killed, locked, put on a disk
that fills up, and has pages of its database damaged, each at several moments. Afterwards the
database is read back (and any recovery file romcam named, added with `romcam recover`): every
trial and rep the session printed must be there, and no file in the folder other than romcam's
own new ones may have changed (sha256 before and after).

The full disk is a real tmpfs of 2 MB (mounted by the test; skipped where mounting is not
allowed), filled to the last byte by the test while the session runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store
from test_hostile import LockHolder, damage, fill, sha256s, small_disk

SCRIPT = """
import os, sys, time
sys.path[:0] = sys.argv[2].split(os.pathsep)
from test_hostile import demo_stream
from romcam.measure.joints import get_joint
from romcam.session.runner import describe_result, run_landmark_session
from romcam.storage.store import Store
def slow():
    for lm in demo_stream(6):
        time.sleep(float(sys.argv[3]))
        yield lm
with Store.open(sys.argv[1]) as store:
    r = run_landmark_session(store, "P7", get_joint("neck_lateral_flexion"), "right", slow(), target_reps=6,
                             say=lambda s: print(s, flush=True))
print(describe_result(r), flush=True)
"""
TRIAL = re.compile(r"(before|after) trial (\d+)/\d+ (\w+): (-?[\d.]+) deg")
REP = re.compile(r"set rep (\d+)/\d+ (\w+): peak (-?[\d.]+) deg")


class Session:
    """The session subprocess; ``lines`` is everything it printed."""

    def __init__(self, db: Path, data_dir: Path, pause_s: float = 0.006, final_wait_s: float = 2):
        env = dict(os.environ, ROMCAM_DATA_DIR=str(data_dir), ROMCAM_FINAL_WAIT_S=str(final_wait_s))
        self.proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(db), os.pathsep.join(sys.path), str(pause_s)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []

    def wait_for(self, text: str) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"the session ended before {text!r}: {''.join(self.lines)}{self.proc.stderr.read()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.end()

    def end(self) -> int:
        out, err = self.proc.communicate(timeout=300)
        self.lines += out.splitlines(keepends=True)
        self.err = err
        return self.proc.returncode

    def printed(self) -> tuple[set, set]:
        text = "".join(self.lines)
        trials = {(p, int(n), s, round(float(v), 1)) for p, n, s, v in TRIAL.findall(text)}
        reps = {(int(n), s, round(float(v), 1)) for n, s, v in REP.findall(text)}
        return trials, reps


def stored(db: Path) -> tuple[set, set]:
    with Store.open(db, readonly=True) as store:
        trials, reps = set(), set()
        for row in store.sessions(subject="P7"):
            detail = store.session(row.id)
            trials |= {(t.phase, t.trial_no, t.side, round(t.peak_deg, 1)) for t in detail.trials}
            reps |= {(r.rep_no, r.side, round(r.peak_deg, 1)) for r in detail.reps}
    return trials, reps


def recover_into(files: list[Path], db: Path, other: bool = False) -> None:
    """`romcam recover` of each file into ``db`` (``other``: not the files' own database)."""
    for f in files:
        r = subprocess.run([sys.executable, "-m", "romcam", "recover", str(f), "--db", str(db)]
                           + (["--any-db"] if other else []),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def clinic_template(tmp_path_factory):
    """A clinic folder: the database with an earlier visit, and files romcam must not touch
    (made once; each test gets its own copy)."""
    base = tmp_path_factory.mktemp("template")
    work = base / "clinic"
    work.mkdir()
    db = work / "romcam.sqlite3"
    Session(db, base / "data", pause_s=0).end()
    (work / "notes.txt").write_text("P7: left shoulder stiff\n")
    (work / "visit.mp4").write_bytes(os.urandom(50_000))
    shutil.copy(db, work / "last-week-backup.sqlite3")
    return work


@pytest.fixture
def folder(clinic_template, tmp_path):
    """This test's own copy of the clinic folder."""
    return Path(shutil.copytree(clinic_template, tmp_path / "clinic"))


def others(folder: Path) -> dict:
    return {k: v for k, v in sha256s(folder).items() if not k.startswith("romcam.sqlite3")}


def check_everything_kept(session: Session, db: Path, folder: Path, before: dict, data_dir: Path,
                          fresh: Path | None = None) -> None:
    """Every printed trial and rep is in the database, after adding any recovery file romcam
    wrote (to ``fresh``, a new database, when ``db`` itself is damaged)."""
    recovery = sorted(folder.glob("*.recovery-*")) + sorted(data_dir.rglob("*.recovery-*"))
    target = fresh or db
    recover_into(recovery, target, other=fresh is not None)
    trials, reps = session.printed()
    have_trials, have_reps = stored(target)
    assert trials <= have_trials and reps <= have_reps, (trials - have_trials, reps - have_reps)
    assert others(folder) == before


@pytest.mark.parametrize("moment", ["before trial 2/3", "set rep 3/6", "after trial 1/3", "session 2"])
def test_kill_at_several_moments(folder, tmp_path, moment):
    db, before = folder / "romcam.sqlite3", others(folder)
    s = Session(db, tmp_path / "data")
    s.wait_for(moment)
    s.kill()
    check_everything_kept(s, db, folder, before, tmp_path / "data")


@pytest.mark.parametrize("moment", ["before trial 1/3", "set rep 2/6", "after trial 2/3"])
def test_lock_for_seconds_at_several_moments(folder, tmp_path, moment):
    db, before = folder / "romcam.sqlite3", others(folder)
    s = Session(db, tmp_path / "data", final_wait_s=6)     # the session may end within the lock
    s.wait_for(moment)
    LockHolder(db, 4.0).wait()
    assert s.end() == 0, s.err
    assert "cannot take writes now" in "".join(s.lines) and not list(folder.glob("*.recovery-*"))
    check_everything_kept(s, db, folder, before, tmp_path / "data")


def test_kill_during_a_lock(folder, tmp_path):
    db, before = folder / "romcam.sqlite3", others(folder)
    s = Session(db, tmp_path / "data")
    s.wait_for("set rep 1/6")
    holder = LockHolder(db, 6.0)
    s.wait_for("set rep 4/6")                    # counted while the lock holds: kept in the file
    s.kill()
    holder.wait()
    assert list(folder.glob("*.recovery-*"))
    check_everything_kept(s, db, folder, before, tmp_path / "data")


@pytest.mark.parametrize("moment", ["before trial 2/3", "set rep 3/6"])
def test_disk_fills_up_mid_session(tmp_path, moment):
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "romcam.sqlite3"
        Session(db, tmp_path / "data", pause_s=0).end()
        (disk / "notes.txt").write_text("keep me")
        before = others(disk)
        s = Session(db, tmp_path / "data")
        s.wait_for(moment)
        fill(disk)
        s.end()
        (disk / "filler.bin").unlink()
        before.pop("filler.bin", None)
        check_everything_kept(s, db, disk, before, tmp_path / "data")


def quick_check_ok(db: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    except sqlite3.DatabaseError:
        return False


@pytest.mark.parametrize("moment", ["before trial 1/3", "set rep 2/6", "after trial 1/3"])
@pytest.mark.parametrize("where", ["page 2", "last page"])
def test_pages_damaged_mid_session(folder, tmp_path, moment, where):
    """A damaged page is either written over again by the session (SQLite's checkpoint copies the
    page back from the WAL: the file is whole again) or found at the end: then the whole session
    is kept in a recovery file, which goes into a new database."""
    db, before = folder / "romcam.sqlite3", others(folder)
    s = Session(db, tmp_path / "data")
    s.wait_for(moment)
    damage(db, page=2 if where == "page 2" else db.stat().st_size // 4096 - 1)
    s.end()
    fresh = None
    if not quick_check_ok(db):
        assert "damaged" in "".join(s.lines) + s.err and list(folder.glob("*.recovery-*"))
        fresh = tmp_path / "recovered.sqlite3"
    check_everything_kept(s, db, folder, before, tmp_path / "data", fresh=fresh)


def test_a_damaged_database_is_not_touched(folder, tmp_path):
    db = folder / "romcam.sqlite3"
    damage(db, page=2)
    before = sha256s(folder)
    s = Session(db, tmp_path / "data")
    assert s.end() != 0 and "damaged" in s.err
    assert sha256s(folder) == before


def test_a_recovery_file_cut_mid_line_by_a_crash_is_still_added(tmp_path):
    """While the database is locked, each counted rep is appended to the recovery file before
    write() returns; a crash in the middle of an append leaves a cut last line (a rep not yet
    counted): `romcam recover` adds everything before it."""
    from romcam.storage.journal import SessionJournal

    db = tmp_path / "romcam.sqlite3"
    with Store.open(db) as store:
        journal = SessionJournal(store, say=lambda s: None)
        journal.start(SessionMeta("P7", "knee_flexion", "left"))
        holder = LockHolder(db, 3.0)
        for k in (1, 2, 3):
            journal.write("rep", side="left", rep_no=k, peak_deg=50.0 + k)
        lines = journal.file.read_text().splitlines()
        cut = tmp_path / "cut.jsonl"
        cut.write_text("\n".join(lines) + "\n" + lines[-1][:30])   # a fourth rep, cut by the crash
        holder.wait()
        assert journal.close() is None
    print(f"\nrecovery file while locked: {len(lines)} lines ({[json.loads(x).get('op') for x in lines[1:]]})")
    assert [json.loads(x).get("rep_no") for x in lines[2:]] == [1, 2, 3]
    recover_into([cut], tmp_path / "other.sqlite3", other=True)
    assert stored(tmp_path / "other.sqlite3")[1] == {(1, "left", 51.0), (2, "left", 52.0), (3, "left", 53.0)}


def test_the_ankle_vertical_rides_the_journal_and_its_recovery_file(tmp_path):
    """The ankle's vertical (which camera roll the shin was measured against) is a journal record
    like a rep: kept in the recovery file while the database is locked, added by `romcam recover`."""
    from romcam.storage.journal import SessionJournal

    db = tmp_path / "romcam.sqlite3"
    with Store.open(db) as store:
        journal = SessionJournal(store, say=lambda s: None)
        journal.start(SessionMeta("P7", "ankle_dorsiflexion", "left"))
        holder = LockHolder(db, 2.0)
        journal.write("vertical", source="camera profile 'desk'", camera_roll_deg=3.5)
        journal.write("rep", side="left", rep_no=1, peak_deg=30.0)
        kept = tmp_path / "kept.jsonl"
        shutil.copy(journal.file, kept)
        holder.wait()
        assert journal.close() is None
    for path in (db, tmp_path / "other.sqlite3"):
        if path != db:
            recover_into([kept], path, other=True)
        with Store.open(path, readonly=True) as store:
            (row,) = store.sessions(subject="P7")
            detail = store.session(row.id)
        assert (detail.vertical_source, detail.camera_roll_deg) == ("camera profile 'desk'", 3.5), path
