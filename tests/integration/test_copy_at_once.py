"""Issue 21, `romcam db copy` under load: two copies of one home database running at once into
one target (a throwaway PostgreSQL server, or an SQLite file) write every session once, and each
says what it copied and what it skipped and why; a server stopped during a copy is one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from romcam.measure.outcome import side_outcome
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store

def home_db(path: Path, sessions: int = 15, frames: int = 3000) -> int:
    """A home database of ``sessions`` finished sessions (of 8 subjects, each its own start
    time) with ``frames`` frames each. Returns the frames."""
    with Store.open(path) as store:
        for n in range(sessions):
            sid = store.start_session(SessionMeta(f"P{n // 2:03d}", "knee_flexion", "right",
                                                  started_at=f"2026-03-01T{n // 60:02d}:{n % 60:02d}:00+01:00"))
            store.add_trial(sid, "before", "right", 1, 20.0 + n)
            store.add_trial(sid, "after", "right", 1, 25.0 + n)
            store.add_frames(sid, [(k / 30, "set", 20.0 + k % 40, True) for k in range(frames)], side="right")
            store.finish_session(sid, "complete", results=[side_outcome("right", [20.0 + n], [25.0 + n])])
    return sessions * frames


def copy_cmd(home: Path, target) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "romcam", "db", "copy", "--db", str(home), "--to", str(target)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, ROMCAM_VERBOSE="1"))


def test_2_two_copies_at_once_write_every_session_once(db_target, tmp_path):
    home = tmp_path / "home.sqlite3"
    frames = home_db(home)
    runs = [copy_cmd(home, db_target) for _ in range(2)]
    outs = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, outs):
        print(f"\n{out.strip().splitlines()[-1]}")
        assert run.returncode == 0 and not err.strip(), out + err
    with Store.open(db_target, readonly=True) as store:
        stored = store.sessions()
        n_frames = store._read_one("SELECT COUNT(*) FROM frames")[0]
        uuids = store.session_keys()
    assert len(stored) == 15 and len(uuids) == 15 and n_frames == frames
    copied = [sum(": copied " in line for line in out.splitlines()) for out, _ in outs]
    skipped = [sum(("already there" in line or "copied meanwhile by another run" in line)
                   for line in out.splitlines() if line.startswith("session ")) for out, _ in outs]
    assert sum(copied) == 15 and all(c + s == 15 for c, s in zip(copied, skipped)), (copied, skipped)
    for (out, _), c in zip(outs, copied):
        assert f"copied {c} session" in out.splitlines()[-1]


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_server_stopped_during_a_copy_is_one_line(pg_cluster, pg_url, tmp_path, mode):
    home = tmp_path / "home.sqlite3"
    home_db(home, sessions=40, frames=20000)
    run = copy_cmd(home, pg_url)
    first = ""
    while ": copied " not in first:
        first = run.stdout.readline()
        assert first, run.stderr.read()
    deadline = time.monotonic() + 30                  # stopped while it writes a session's frames
    while not pg_cluster.admin("SELECT 1 FROM pg_stat_activity WHERE application_name = 'romcam' AND "
                               "state = 'active' AND query LIKE 'INSERT INTO frames%'"):
        assert time.monotonic() < deadline and run.poll() is None
    pg_cluster.stop(mode)
    try:
        out, err = run.communicate(timeout=120)
    finally:
        pg_cluster.start()
    print(f"\nexit {run.returncode}: {err.strip()}")
    assert run.returncode == 2 and err.startswith("romcam: error: ") and err.count("\n") == 1, err
    assert "psycopg" not in err and "Traceback" not in err
