"""One shared database (issue #13): the same schema and migrations on SQLite and on a real
PostgreSQL server (started by the tests, see pg_server.py), migrations from empty and from every
older schema, two processes recording at once with one of them SIGKILLed mid-set, a server lost
mid-session, and credentials that never travel on the command line."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from legacy_sqlite import build_legacy_file
from pg_server import database_of
from test_hostile import LockHolder
from romcam.cli.main import main
from romcam.errors import RomcamError
from romcam.storage.engine import Conn, PgSettings, clean_url, pg_engine, sqlite_engine
from romcam.storage.journal import read_recovery, replay
from romcam.storage.migrate import compare_type, latest_version, revisions, upgrade_to
from romcam.storage.schema import metadata
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store

TESTS = Path(__file__).parent


def engine_of(target):
    """A bare engine on ``target`` (no romcam checks), for building old schemas."""
    if isinstance(target, Path):
        return sqlite_engine(lambda: sqlite3.connect(target, isolation_level=None, check_same_thread=False))
    return pg_engine(clean_url(target), PgSettings(5.0))


def build_at(target, revision: str) -> None:
    """A database as an older romcam left it: the schema at ``revision`` and one session with a
    trial and a rep, written with that schema's columns only."""
    engine = engine_of(target)
    with engine.connect() as sa:
        sa.execution_options(romcam_write=True)
        with sa.begin():
            conn = Conn(sa)
            upgrade_to(conn, revision)
            conn.execute("INSERT INTO subjects (code, created_at) VALUES ('OLD1', '2025-01-02T09:00:00+00:00')")
            conn.execute("INSERT INTO sessions (subject_id, joint, side, started_at, status) VALUES "
                          "(1, 'ankle_dorsiflexion', 'right', '2025-01-02T09:00:00+00:00', 'complete')")
            conn.execute("INSERT INTO trials (session_id, phase, side, trial_no, peak_deg, created_at) "
                          "VALUES (1, 'before', 'right', 1, 33.5, '2025-01-02T09:01:00+00:00')")
            conn.execute("INSERT INTO reps (session_id, side, rep_no, peak_deg, created_at) "
                          "VALUES (1, 'right', 1, 30.25, '2025-01-02T09:02:00+00:00')")
    engine.dispose()


def schema_differences(store: Store) -> list:
    """What Alembic's autogenerate finds between the database and schema.py (empty: the same)."""
    with store._engine.connect() as sa:
        return compare_metadata(MigrationContext.configure(sa, opts={"compare_type": compare_type}), metadata)


# --------------------------------------------------------------------------- schema, migrations


def test_new_database_gets_the_one_schema(db_target):
    with Store.open(db_target) as store:
        assert store.schema_version == latest_version() == len(revisions())
        assert store.upgraded_from == 0
        differences = schema_differences(store)
        with store._engine.connect() as sa:
            tables = set(inspect(sa).get_table_names())
    print(f"\n{db_target}: tables {sorted(tables)}; differences from schema.py: {differences}")
    assert differences == []
    assert set(metadata.tables) | {"alembic_version"} == tables


@pytest.mark.parametrize("version", range(1, latest_version()))
def test_migrates_from_every_older_schema(db_target, version):
    build_at(db_target, revisions()[version - 1])
    with Store.open(db_target) as store:
        assert store.upgraded_from == version and store.schema_version == latest_version()
        assert schema_differences(store) == []
        (row,) = store.sessions()
        sid = store.add_turn(row.id, 1, "cw", right_deg=30.0)          # a v2 table
        detail = store.session(row.id)
    assert (row.subject, row.side, row.set_kind) == ("OLD1", "right", "reps")
    assert [t.peak_deg for t in detail.trials] == [33.5] and [r.peak_deg for r in detail.reps] == [30.25]
    assert [t.id for t in detail.turns] == [sid]


def test_a_pre_alembic_v2_sqlite_file_is_stamped_and_upgraded(tmp_path):
    """Stamped 0002 (what it is), then brought up from there (0003 adds the knee over toe, 0004
    the session's metadata columns, 0006 the set against the edge)."""
    path = tmp_path / "v2.sqlite3"
    build_legacy_file(path, version=2)
    with Store.open(path) as store:
        assert store.upgraded_from == 2 and store.schema_version == latest_version()
        assert store.sessions()[0].subject == "OLD1"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(revisions()[-1],)]
        assert conn.execute("SELECT peak_deg, knee_over_toe_cm FROM trials").fetchall()[0][1] is None


OLD_META = {"recording": True, "phases": "before 0:00-0:10, set 0:10-0:40", "neutral_source": "--neutral 0:01-0:03",
            "dated_from": "--recorded-at", "resolution": "1920x1080", "camera_profile": "desk.json",
            "pid": 4242, "host": "clinic-room-2", "pid_start": "77", "mirrored": True}


def _put_stats(target, stats: list) -> None:
    """Set the stats_json of sessions 1, 2, ... of an older database (its sessions copied as needed)."""
    engine = engine_of(target)
    with engine.connect() as sa:
        sa.execution_options(romcam_write=True)
        with sa.begin():
            conn = Conn(sa)
            for k, text in enumerate(stats, start=1):
                if k > 1:
                    conn.execute("INSERT INTO sessions (subject_id, joint, side, started_at, status) VALUES "
                                 "(1, 'knee_flexion', 'left', ?, 'in_progress')", (f"2025-01-0{k + 1}T09:00:00+00:00",))
                conn.execute("UPDATE sessions SET stats_json = ? WHERE id = ?", (text, k))
    engine.dispose()


def _check_moved_meta(store: Store) -> None:
    first, second, third = store.sessions()
    detail = store.session(first.id)
    assert (detail.resolution, detail.camera_profile, detail.phases, detail.neutral_source, detail.dated_from) == (
        "1920x1080", "desk.json", "before 0:00-0:10, set 0:10-0:40", "--neutral 0:01-0:03", "--recorded-at")
    assert first.recorded and not second.recorded and not third.recorded
    assert detail.stats == {"fps": 29.97, "meta": {"mirrored": True}}        # a key v4 has no column for stays
    assert store.session(second.id).stats == {"fps": 30.0}
    assert second.status_label == "in progress on clinic-room-2, or interrupted"
    assert store.session(third.id).resolution is None                 # a value of the wrong type stays put
    assert store.session(third.id).stats == {"meta": {"resolution": 1920}}
    assert store.session(third.id).row.status_label == "incomplete (interrupted)"
    from romcam.storage.fhir import device_facts

    assert device_facts(detail)["camera_profile"] == "desk.json"


def test_v4_moves_the_session_meta_into_columns(db_target):
    """Sessions an older romcam stored with their metadata in stats_json["meta"] (schema 0003)
    read back the same from the v4 columns: a recorded visit, one recorded on another computer,
    one whose meta has a value of the wrong type."""
    import json

    build_at(db_target, "0003")
    _put_stats(db_target, [json.dumps({"meta": OLD_META, "fps": 29.97}),
                           json.dumps({"meta": {"pid": 4242, "host": "clinic-room-2", "pid_start": "77"}, "fps": 30.0}),
                           json.dumps({"meta": {"resolution": 1920}})])
    with Store.open(db_target) as store:
        assert store.upgraded_from == 3
        _check_moved_meta(store)
        assert schema_differences(store) == []


def test_v4_moves_the_meta_of_a_pre_alembic_v1_file(tmp_path):
    import json

    path = tmp_path / "v1.sqlite3"
    build_legacy_file(path, version=1)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE sessions SET stats_json = ?", (json.dumps({"meta": OLD_META, "fps": 29.97}),))
    with Store.open(path) as store:
        assert store.upgraded_from == 1
        detail = store.session(1)
    assert detail.row.recorded and detail.phases == OLD_META["phases"] and detail.camera_profile == "desk.json"
    assert detail.stats == {"fps": 29.97, "meta": {"mirrored": True}}


def _check_identities(store: Store, n: int) -> None:
    """Every session has a UUID of its own, and the database refuses a second session with one."""
    import uuid

    rows = store.stored_sessions()
    keys = [r["uuid"] for r in rows]
    assert len(rows) == n and len(set(keys)) == n and all(str(uuid.UUID(k)) == k for k in keys)
    assert {store.session_by_uuid(k)["id"] for k in keys} == {r["id"] for r in rows}
    with pytest.raises(Exception, match="(?i)unique"):
        with store._transaction() as conn:
            conn.execute("UPDATE sessions SET uuid = ? WHERE id = ?", (keys[0], rows[1]["id"]))
    assert [r["uuid"] for r in store.stored_sessions()] == keys


def test_v5_gives_every_existing_session_an_identity_of_its_own(db_target):
    """Sessions an older romcam stored (schema 0004; three, two of them with one start time) each
    get a UUID of their own; it is unique on both database systems."""
    build_at(db_target, "0004")
    _put_stats(db_target, [None, None, None])
    engine = engine_of(db_target)
    with engine.begin() as sa:
        sa.exec_driver_sql("UPDATE sessions SET started_at = '2025-01-02T09:00:00+00:00', joint = "
                           "'ankle_dorsiflexion', side = 'right'")
    engine.dispose()
    with Store.open(db_target) as store:
        assert store.upgraded_from == 4 and schema_differences(store) == []
        _check_identities(store, 3)
        assert len(store.session_keys()) == 3


def test_v5_gives_the_sessions_of_a_pre_alembic_v1_file_an_identity(tmp_path):
    path = tmp_path / "v1.sqlite3"
    build_legacy_file(path, version=1)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO sessions (subject_id, joint, side, started_at, status) SELECT subject_id, joint, "
                     "side, started_at, status FROM sessions")
    with Store.open(path) as store:
        assert store.upgraded_from == 1
        _check_identities(store, 2)


def test_newer_postgres_database_is_refused(pg_url):
    Store.open(pg_url).close()
    Store.open(pg_url).close()                      # reopening: nothing to do
    engine = engine_of(pg_url)
    with engine.begin() as sa:
        sa.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    engine.dispose()
    with pytest.raises(RomcamError, match=r"newer romcam \(database schema v99") as info:
        Store.open(pg_url, readonly=True)
    assert "\n" not in str(info.value)


def test_another_programs_postgres_database_is_refused(pg_cluster, pg_url):
    pg_cluster.admin("CREATE TABLE patients (name TEXT)", database=database_of(pg_url))
    with pytest.raises(RomcamError, match="of another program"):
        Store.open(pg_url)
    assert pg_cluster.admin("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                            database=database_of(pg_url)) == [(1,)]


# --------------------------------------------------------------------------- two rooms at once

CHILD = textwrap.dedent("""
    import sys, time
    from romcam.storage.journal import SessionJournal
    from romcam.storage.meta import SessionMeta
    from romcam.storage.store import Store
    target, subject, n, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    final_wait = float(sys.argv[5])
    slowest = [0.0, None]
    def write(op, **fields):                     # timed: how long the live loop would wait
        t0 = time.perf_counter()
        journal.write(op, **fields)
        if time.perf_counter() - t0 > slowest[0]:
            slowest[:] = [time.perf_counter() - t0, op]
    with Store.open(target) as store:
        journal = SessionJournal(store, say=lambda s: print("note", s.replace(" ", "_"), flush=True))
        sid = journal.start(SessionMeta(subject, "knee_flexion", "left", target_reps=n, camera=subject))
        for k, peak in enumerate((60.0, 62.5, 61.0), start=1):
            write("trial", phase="before", side="left", trial_no=k, peak_deg=peak)
        print("session", sid, flush=True)
        for k in range(1, n + 1):
            write("rep", side="left", rep_no=k, peak_deg=50.0 + 0.25 * k, start_s=k - 0.5,
                  peak_s=k - 0.25, end_s=float(k))
            print("rep", k, flush=True)          # counted: in the database or the journal's file
            time.sleep(pause)
        write("finish", status="complete", end_reason=None, results=[], stats={})
        print("slowest", slowest[0], slowest[1], flush=True)
        print("closed", journal.close(final_wait_s=final_wait), flush=True)
""")


class Recorder:
    """A process recording one session into ``target``; ``reps`` are the reps it reported."""

    def __init__(self, target, subject: str, n: int, pause: float, data_dir: Path, final_wait: float = 30):
        env = dict(os.environ, ROMCAM_DATA_DIR=str(data_dir), PYTHONPATH=os.pathsep.join(sys.path))
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, str(target), subject, str(n), str(pause),
                                      str(final_wait)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.reps: list[int] = []
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("rep "):
                self.reps.append(int(line.split()[1]))

    def wait_reps(self, k: int, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while len(self.reps) < k:
            assert self.proc.poll() is None and time.monotonic() < end, "".join(self.lines) + self.proc.stderr.read()
            time.sleep(0.005)

    def slowest(self) -> tuple[float, str]:
        """The longest any write() call took, and its record."""
        _, seconds, op = next(line for line in self.lines if line.startswith("slowest")).split()
        return float(seconds), op

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        self.thread.join(timeout=10)
        return code


def stored_reps(store: Store, subject: str) -> tuple[list[int], str]:
    (row,) = store.sessions(subject=subject)
    return [r.rep_no for r in store.session(row.id).reps], row.status


def test_two_rooms_record_at_once_and_one_is_killed_mid_set(db_target, tmp_path):
    """Two processes record into one database at once; one is SIGKILLed mid-set, the other
    finishes. Every rep either reported is stored once; nothing else is lost."""
    room1 = Recorder(db_target, "ROOM1", 400, 0.01, tmp_path / "data1")
    room2 = Recorder(db_target, "ROOM2", 60, 0.02, tmp_path / "data2")
    room1.wait_reps(30)
    room2.wait_reps(10)
    os.kill(room1.proc.pid, signal.SIGKILL)
    assert room1.finish() == -signal.SIGKILL
    assert room2.finish() == 0, "".join(room2.lines) + room2.proc.stderr.read()
    kept = list(tmp_path.rglob("*.recovery-*.jsonl"))   # a rep the database had not confirmed yet
    with Store.open(db_target) as store:
        for path in kept:
            replay(store, read_recovery(path)[1])
        killed, killed_status = stored_reps(store, "ROOM1")
        done, done_status = stored_reps(store, "ROOM2")
        total = store._read_one("SELECT count(*) FROM reps")[0]
        distinct = store._read_one("SELECT count(*) FROM (SELECT DISTINCT session_id, rep_no FROM reps) d")[0]
    print(f"\n{db_target}: killed room reported {len(room1.reps)} reps, {len(killed)} stored "
          f"({len(kept)} recovery files added); "
          f"other room {len(done)}/60 ({done_status}); {total} rep rows, {distinct} distinct")
    assert set(room1.reps) <= set(killed) and killed == list(range(1, len(killed) + 1)) and len(killed) < 400
    assert killed_status == "in_progress"
    assert done == list(range(1, 61)) and done_status == "complete"
    assert total == distinct == len(killed) + 60
    assert not list((tmp_path / "data2").rglob("*.jsonl"))     # nothing waited in a recovery file


def test_a_session_recorded_in_another_room_is_not_called_interrupted(db_target):
    """This computer cannot see another computer's processes: a session in progress there is
    said as such (or interrupted), not as interrupted."""
    from romcam.storage.meta import RecordingProcess

    gone = RecordingProcess(2**22 + 7, socket.gethostname(), "1")       # this computer, a dead process
    away = RecordingProcess(os.getpid(), "clinic-room-2", "1")          # another computer
    with Store.open(db_target) as store:
        here = store.start_session(SessionMeta("ROOM1", "knee_flexion", "left", owner=gone))
        there = store.start_session(SessionMeta("ROOM2", "knee_flexion", "left", owner=away))
        labels = {s.id: s.status_label for s in store.sessions()}
    assert labels == {here: "incomplete (interrupted)", there: "in progress on clinic-room-2, or interrupted"}


def test_a_server_lost_mid_session_loses_no_rep(pg_cluster, pg_url, tmp_path):
    """The PostgreSQL server stops (crash-like) mid-set and comes back: the session counts on,
    its records wait in the journal and reach the server once it is back."""
    room = Recorder(pg_url, "ROOM1", 120, 0.02, tmp_path / "data")
    room.wait_reps(20)
    pg_cluster.stop("immediate")
    down_at = len(room.reps)
    time.sleep(1.5)
    counted_while_down = len(room.reps) - down_at
    pg_cluster.start()
    assert room.finish() == 0, "".join(room.lines) + room.proc.stderr.read()
    with Store.open(pg_url) as store:
        reps, status = stored_reps(store, "ROOM1")
    notes = [line for line in room.lines if line.startswith("note")]
    slowest, op = room.slowest()
    print(f"\nserver down after rep {down_at}; {counted_while_down} reps counted while it was down; "
          f"slowest write() {slowest * 1000:.0f} ms ({op}); {len(reps)} stored; notes: {[n[:90] for n in notes]}")
    assert counted_while_down >= 5 and slowest < 0.2          # the session went on counting
    assert reps == list(range(1, 121)) and status == "complete"
    assert any("cannot_take_writes_now_(cannot_reach_the_PostgreSQL_server" in n for n in notes)
    assert any("takes_writes_again" in n for n in notes)
    assert not list((tmp_path / "data").rglob("*.jsonl"))


def test_no_write_waits_for_a_blocked_database(db_target, request, tmp_path):
    """Mid-set, another program holds SQLite's write lock, or the PostgreSQL server hangs (every
    process stopped: nothing answers, not even the open connection), for 2.5 s. Every write()
    returns at once (the journal's writer thread waits, not the live loop; writing on the loop's
    thread took 0.25 s per write under the lock and as long as the server hung), counting goes
    on, and all of it is stored once the database answers again."""
    room = Recorder(db_target, "ROOM1", 200, 0.02, tmp_path / "data")
    room.wait_reps(20)
    at = len(room.reps)
    if isinstance(db_target, Path):
        LockHolder(db_target, 2.5).wait()
    else:
        cluster = request.getfixturevalue("pg_cluster")
        pids = cluster.freeze()
        try:
            time.sleep(2.5)
        finally:
            cluster.thaw(pids)
    counted_while_blocked = len(room.reps) - at
    assert room.finish() == 0, "".join(room.lines) + room.proc.stderr.read()
    with Store.open(db_target) as store:
        reps, status = stored_reps(store, "ROOM1")
    slowest, op = room.slowest()
    notes = [line[:80] for line in room.lines if line.startswith("note")]
    print(f"\n{db_target}: blocked 2.5 s after rep {at}; {counted_while_blocked} reps counted meanwhile; "
          f"slowest write() {slowest * 1000:.0f} ms ({op}); {len(reps)}/200 stored; notes {notes}")
    assert slowest < 0.2 and counted_while_blocked >= 40
    assert reps == list(range(1, 201)) and status == "complete"
    assert not list(tmp_path.rglob("*.jsonl"))              # the recovery file went once all was stored
    if isinstance(db_target, Path):
        assert any("cannot_take_writes_now" in n for n in notes) and any("takes_writes_again" in n for n in notes)


def test_a_server_gone_at_the_end_leaves_a_recovery_file_that_recover_adds(pg_cluster, pg_url, tmp_path,
                                                                          capsys, monkeypatch):
    """The server is down from mid-set to past the session's end: the whole session is kept in a
    recovery file in the per-user data folder; `romcam recover` adds it once the server is back."""
    room = Recorder(pg_url, "ROOM1", 40, 0.01, tmp_path / "data", final_wait=1.0)
    room.wait_reps(15)
    pg_cluster.stop("fast")
    try:
        assert room.finish() == 0, "".join(room.lines) + room.proc.stderr.read()
    finally:
        pg_cluster.start()
    (kept,) = (tmp_path / "data" / "recovery").glob("*.jsonl")
    closed = next(line for line in room.lines if line.startswith("closed"))
    with capsys.disabled():
        print(f"\n{kept.name}: {closed.strip()[:200]}")
    assert str(kept) in closed and "romcam recover" in closed and "40 reps" in closed
    assert f"--db {pg_url}" in closed and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert "@" not in kept.name and kept.name.startswith("local-")
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    code, out, err = rom(capsys, "recover", kept)       # not beside its database: --db is needed
    assert code == 2 and f"give the database {pg_url} with --db" in err, out + err
    code, out, err = rom(capsys, "recover", kept, "--db", pg_url)
    assert code == 0 and "40 reps stored (complete)" in out, out + err
    assert rom(capsys, "recover", kept, "--db", pg_url)[0] == 2      # the file is gone after adding it
    with Store.open(pg_url) as store:
        reps, status = stored_reps(store, "ROOM1")
    assert reps == list(range(1, 41)) and status == "complete"


# --------------------------------------------------------------------------- credentials


@pytest.fixture
def nurse_db(pg_cluster):
    """A database owned by a login role with a password, reached over TCP (password checked)."""
    name = f"nurse{os.getpid()}_{time.monotonic_ns() % 10**9}"
    pg_cluster.admin("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nurse') THEN "
                     "CREATE ROLE nurse LOGIN PASSWORD 'Sw0rdfish-42'; END IF; END $$")
    pg_cluster.admin(f"CREATE DATABASE {name} OWNER nurse")
    return f"postgresql://nurse@127.0.0.1:{pg_cluster.port}/{name}"


def rom(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_credentials_come_from_libpq_never_from_the_url(nurse_db, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with_password = nurse_db.replace("nurse@", "nurse:Sw0rdfish-42@")
    code, out, err = rom(capsys, "history", "--db", with_password)
    assert code == 2 and "PGPASSWORD" in err and "Sw0rdfish" not in out + err and err.count("\n") == 1
    monkeypatch.setenv("ROMCAM_DB", with_password)
    code, out, err = rom(capsys, "history")
    assert code == 2 and "Sw0rdfish" not in out + err
    monkeypatch.delenv("ROMCAM_DB")

    code, out, err = rom(capsys, "history", "--db", nurse_db)          # no password anywhere
    assert code == 2 and "refused the login" in err and err.count("\n") == 1, err

    monkeypatch.setenv("PGPASSWORD", "wrong")
    code, out, err = rom(capsys, "history", "--db", nurse_db)
    assert code == 2 and "refused the login" in err and "wrong" not in err

    monkeypatch.setenv("PGPASSWORD", "Sw0rdfish-42")                    # libpq's variable
    code, out, err = rom(capsys, "history", "--db", nurse_db)
    assert code == 0 and out.startswith("no sessions in postgresql://nurse@127.0.0.1"), err

    monkeypatch.delenv("PGPASSWORD")                                     # libpq's password file
    passfile = tmp_path / "pgpass"
    host_port_db = nurse_db.split("@")[1].replace("/", ":")
    passfile.write_text(f"{host_port_db}:nurse:Sw0rdfish-42\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    code, out, err = rom(capsys, "db", "version", "--db", nurse_db)
    assert code == 0 and f"v{latest_version()}" in out, err


def test_an_unreachable_server_is_one_line(pg_cluster, capsys, monkeypatch):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    code, out, err = rom(capsys, "history", "--db", f"postgresql://nobody@127.0.0.1:{pg_cluster.port + 1}/x")
    assert code == 2 and err.startswith("romcam: error: cannot reach the PostgreSQL server") and err.count("\n") == 1
    code, out, err = rom(capsys, "history", "--db", pg_cluster.url("no_such_db"))
    assert code == 2 and "createdb" in err and err.count("\n") == 1, err


def test_every_command_runs_against_the_server(pg_url, tmp_path, capsys, monkeypatch):
    """A session recorded into the server (the demo: the real session runner and journal), then
    history, report, CSV and FHIR export and recover's database all read it back from there."""
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROMCAM_DB", pg_url)          # the other commands find it in the environment
    code, out, err = rom(capsys, "demo", "--reps", 8, "--out", tmp_path / "demo.html", "--db", pg_url)
    assert code == 0 and "session 1: complete" in out, out + err
    code, out, err = rom(capsys, "history")
    assert code == 0 and f"1 session in {pg_url}" in out and "DEMO" in out, err
    code, out, err = rom(capsys, "report", "--session", 1, "--out", tmp_path / "r.html")
    assert code == 0 and (tmp_path / "r.html").stat().st_size > 10_000, err
    code, out, err = rom(capsys, "export", "--csv", tmp_path / "x.csv", "--frames", "--fhir", tmp_path / "x.json")
    assert code == 0 and "1 rows" in out and "FHIR" in out, err
    with Store.open(pg_url, readonly=True) as store:
        (row,) = store.sessions()
        assert row.reps_done == 8 and len(store.frames(row.id)) > 500
    with capsys.disabled():
        print(f"\ndemo into {pg_url}: {row.reps_done} reps, {row.status_label}; report and exports read back")
