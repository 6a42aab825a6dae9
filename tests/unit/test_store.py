"""The session database: schema and migrations, durability under SIGKILL, refusal of files
romcam must not touch (locked, read-only, newer, not SQLite), and the read API. Tests taking
``db_target`` run against an SQLite file and against a real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from legacy_sqlite import build_legacy_file
from romcam.errors import RomcamError
from romcam.measure.outcome import side_outcome
from romcam.storage import migrate as migrate_mod
from romcam.storage.migrate import latest_version, revisions
from romcam.storage.rows import INTERRUPTED_LABEL
from romcam.storage.sqlite_file import APPLICATION_ID
from romcam.storage.meta import SessionMeta
from romcam.storage.store import DB_FILENAME, Store, resolve_db_path

TABLES = {"subjects", "sessions", "trials", "reps", "frames", "results"}


def tables_of(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def pragma(path, name: str):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def make_db(path, sessions: int = 1) -> list[int]:
    """A database with ``sessions`` finished one-side sessions; returns their ids."""
    ids = []
    with Store.open(path) as store:
        for k in range(sessions):
            sid = store.start_session(SessionMeta(f"S{k}", "knee_flexion", "left"))
            store.add_trial(sid, "before", "left", 1, 50.0 + k)
            store.finish_session(sid, "complete")
            ids.append(sid)
    return ids


def build_v1_file(path) -> None:
    """A v1 database written the way romcam 0.1 wrote it, with one subject and session."""
    build_legacy_file(path, version=1)


def extra_revisions(tmp_path, monkeypatch, *bodies: str) -> None:
    """Pretend this romcam has more migrations: a copy of its Alembic folder with revisions
    0003, 0004... whose upgrade() bodies are ``bodies``."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate_mod.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    previous = revisions()[-1]
    for k, body in enumerate(bodies, start=int(previous) + 1):
        (folder / "versions" / f"{k:04d}_test.py").write_text(textwrap.dedent(f"""
            from alembic import op
            import sqlalchemy as sa
            revision, down_revision, branch_labels, depends_on = "{k:04d}", "{previous}", None, None
            def upgrade():
            """) + textwrap.indent(textwrap.dedent(body), "    "))
        previous = f"{k:04d}"
    monkeypatch.setattr(migrate_mod, "MIGRATIONS_DIR", folder)


# --------------------------------------------------------------------------- schema, paths


def test_new_file_gets_the_latest_schema_and_safe_settings(tmp_path):
    path = tmp_path / "new" / "db.sqlite3"          # the folder is created too
    with Store.open(path) as store:
        assert store.schema_version == latest_version() == len(revisions()) == 6
        assert store._read_one("PRAGMA synchronous")[0] == 2          # FULL
        assert store._read_one("PRAGMA foreign_keys")[0] == 1
        assert store._read_one("PRAGMA busy_timeout")[0] >= 1000
    assert TABLES <= tables_of(path)
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "application_id") == APPLICATION_ID


def test_reopening_keeps_data_and_version(db_target):
    path = db_target
    ids = make_db(path, sessions=2)
    with Store.open(path) as store:
        assert store.schema_version == latest_version()
        assert [s.id for s in store.sessions()] == ids


def test_db_path_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("ROMCAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ROMCAM_DB", raising=False)
    assert resolve_db_path() == tmp_path / "data" / DB_FILENAME
    with Store.open() as store:
        assert store.path == tmp_path / "data" / DB_FILENAME
    assert (tmp_path / "data" / DB_FILENAME).is_file()
    monkeypatch.setenv("ROMCAM_DB", str(tmp_path / "env.sqlite3"))
    assert resolve_db_path() == tmp_path / "env.sqlite3"
    assert resolve_db_path(tmp_path / "arg.sqlite3") == tmp_path / "arg.sqlite3"
    assert resolve_db_path("postgresql://nurse@clinic:5433/romcam") == "postgresql://nurse@clinic:5433/romcam"
    monkeypatch.setenv("ROMCAM_DB", "postgres://clinic/romcam?sslmode=require")
    assert resolve_db_path() == "postgresql://clinic/romcam?sslmode=require"


def test_migrates_a_v1_file(tmp_path):
    path = tmp_path / "v1.sqlite3"
    build_v1_file(path)
    assert pragma(path, "user_version") == 1
    with Store.open(path) as store:
        assert store.schema_version == latest_version()
        rows = store.sessions()
    assert [(r.subject, r.joint, r.side) for r in rows] == [("OLD1", "ankle_dorsiflexion", "right")]
    assert rows[0].outcomes[0].before_deg == 33.5


def test_upgrade_applies_new_migrations_in_order(tmp_path, monkeypatch):
    path = tmp_path / "v1.sqlite3"
    build_v1_file(path)
    top = len(revisions()) + 2
    extra_revisions(tmp_path, monkeypatch,
                    'op.add_column("sessions", sa.Column("room", sa.Text))',
                    """op.execute("UPDATE sessions SET room = COALESCE(room, '') || 'gym'")""")
    with Store.open(path) as store:
        assert store.schema_version == top
        assert store._read_one("SELECT room FROM sessions")[0] == "gym"     # the first added before the second
        assert store.sessions()[0].subject == "OLD1"
    assert pragma(path, "user_version") == top
    with Store.open(path) as store:              # already current: nothing runs again
        assert store._read_one("SELECT room FROM sessions")[0] == "gym"


def test_failed_migration_leaves_the_file_at_its_version(tmp_path, monkeypatch):
    path = tmp_path / "v1.sqlite3"
    build_v1_file(path)
    extra_revisions(tmp_path, monkeypatch, """
        op.add_column("sessions", sa.Column("room", sa.Text))
        op.execute("THIS IS NOT SQL")""")
    with pytest.raises(RomcamError):
        Store.open(path)
    assert pragma(path, "user_version") == 1
    with sqlite3.connect(path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "room" not in columns and "set_kind" not in columns       # v2 rolled back too
    assert "alembic_version" not in tables and "turns" not in tables


def test_readonly_open_brings_an_old_file_up_to_date(tmp_path):
    path = tmp_path / "v1.sqlite3"
    build_v1_file(path)
    with Store.open(path, readonly=True) as store:
        assert store.sessions()[0].subject == "OLD1"


def test_v1_file_upgrades_to_the_latest_with_its_data(tmp_path):
    """v2 adds the head channels per frame, neck-circle turns, heel-lift flags and the source
    of the vertical, v3 the knee over toe in cm; a v1 file gains them and keeps what it had."""
    path = tmp_path / "v1.sqlite3"
    build_v1_file(path)
    with Store.open(path) as store:
        assert store.schema_version == latest_version()
        assert store.sessions()[0].subject == "OLD1"
    with sqlite3.connect(path) as conn:
        cols = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")}
                for t in ("frames", "sessions", "trials", "reps", "turns")}
        assert conn.execute("SELECT peak_deg, heel_lifted FROM trials").fetchall() == [(33.5, None)]
        assert conn.execute("SELECT set_kind FROM sessions").fetchall() == [("reps",)]
    assert {"head_turn_deg", "head_flexion_deg", "invalid_reason"} <= cols["frames"]
    assert {"set_kind", "target_turns", "camera_roll_deg", "vertical_source"} <= cols["sessions"]
    assert "heel_lifted" in cols["trials"] and "heel_lifted" in cols["reps"]
    assert "knee_over_toe_cm" in cols["trials"] and "knee_over_toe_cm" in cols["reps"]
    assert {"turn_no", "direction", "right_deg", "left_deg", "forward_deg", "backward_deg"} <= cols["turns"]


# --------------------------------------------------------------------------- durability

CHILD = textwrap.dedent("""
    import sys, time
    from romcam.storage.meta import SessionMeta
    from romcam.storage.store import Store
    path, n = sys.argv[1], int(sys.argv[2])
    store = Store.open(path)
    sid = store.start_session(SessionMeta("K1", "knee_flexion", "left", target_reps=n))
    for k, peak in enumerate((60.0, 62.5, 61.0), start=1):
        store.add_trial(sid, "before", "left", k, peak)
    print("session", sid, flush=True)
    for k in range(1, n + 1):
        store.add_rep(sid, "left", k, 50.0 + 0.25 * k, k - 0.5, k - 0.25, k)
        print("rep", k, flush=True)          # only after add_rep returned (committed)
        time.sleep(0.01)
""")


def test_sigkill_mid_set_loses_no_committed_rep(db_target):
    path = db_target
    n, kill_after = 400, 25
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(n)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reported = []
    try:
        for line in child.stdout:
            word, number = line.split()
            if word == "rep":
                reported.append(int(number))
            if len(reported) == kill_after:
                os.kill(child.pid, signal.SIGKILL)
                break
        rest, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL, err
    reported += [int(line.split()[1]) for line in rest.splitlines() if line.startswith("rep")]

    with Store.open(path) as store:
        (row,) = store.sessions()
        detail = store.session(row.id)
    stored = [r.rep_no for r in detail.reps]
    assert set(reported) <= set(stored)                  # everything reported is there
    assert stored == list(range(1, len(stored) + 1))      # and nothing half-written
    assert len(stored) < n                                # it really died mid-set
    assert [r.peak_deg for r in detail.reps] == [50.0 + 0.25 * k for k in stored]
    assert row.status == "in_progress" and row.status_label == INTERRUPTED_LABEL
    assert not row.results_stored
    (left,) = row.outcomes
    assert left.before_deg == statistics.median([60.0, 62.5, 61.0])
    assert left.after_deg is None and left.reps_done == len(stored)


# --------------------------------------------------------------------------- refusals


def refused(path, match: str, **kwargs) -> None:
    """Opening ``path`` raises a one-line RomcamError matching ``match``; the bytes are unchanged."""
    before = path.read_bytes()
    with pytest.raises(RomcamError, match=match) as info:
        Store.open(path, **kwargs).close()
    assert "\n" not in str(info.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_locked_database_is_refused(tmp_path, journal):
    path = tmp_path / "locked.sqlite3"
    make_db(path)
    if journal == "delete":
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode = DELETE")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        refused(path, "locked by another program", timeout=0.2)
        if journal == "wal":          # WAL readers are not blocked: history works during a session
            with Store.open(path, readonly=True, timeout=0.2) as store:
                assert len(store.sessions()) == 1
        else:
            refused(path, "locked by another program", readonly=True, timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store.open(path) as store:     # free again
        assert len(store.sessions()) == 1


def test_a_write_during_a_lock_is_a_clear_error(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = Store.open(path, timeout=0.2)
    sid = store.start_session(SessionMeta("P1", "knee_flexion", "left"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RomcamError, match="locked"):
            store.add_rep(sid, "left", 1, 40.0)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.add_rep(sid, "left", 1, 40.0)
    assert store.sessions()[0].reps_done == 1
    store.close()


def test_read_only_file_is_refused_for_writing_but_readable(tmp_path):
    path = tmp_path / "ro.sqlite3"
    make_db(path, sessions=2)
    path.chmod(0o444)                   # refused through the mode bits, so also when run as root
    try:
        refused(path, "is read-only")
        with Store.open(path, readonly=True) as store:      # history/export of an archived copy
            assert len(store.sessions()) == 2
        assert len(path.read_bytes()) > 0
    finally:
        path.chmod(0o644)


def test_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(RomcamError, match="read-only"):
            Store.open(folder / "db.sqlite3")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_sqlites_own_read_only_refusal_is_a_clear_error(tmp_path):
    """The path a read-only mount or a non-owner hits: SQLite itself refuses the write."""
    path = tmp_path / "db.sqlite3"
    make_db(path)
    before = path.read_bytes()
    with Store.open(path, readonly=True) as store:
        with pytest.raises(RomcamError, match="is read-only"):
            store.start_session(SessionMeta("P9", "knee_flexion", "left"))
    assert path.read_bytes() == before


def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "future.sqlite3"
    make_db(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    refused(path, f"newer romcam .*v{latest_version() + 1}")
    refused(path, "newer romcam", readonly=True)


@pytest.mark.parametrize("content", [b"subject,date\nP1,2026-01-01\n" * 20, b"hello",
                                     b"SQLite format 3\x00" + b"\xff" * 10])
def test_not_sqlite_file_is_refused(tmp_path, content):
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(content)
    refused(path, "not an SQLite database")
    refused(path, "not an SQLite database", readonly=True)


def test_another_programs_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE patients (name TEXT)")
        conn.execute("INSERT INTO patients VALUES ('x')")
    conn.close()
    refused(path, "another program")
    refused(path, "another program", readonly=True)


def test_readonly_open_of_a_missing_file_creates_nothing(tmp_path):
    with pytest.raises(RomcamError, match="no session database"):
        Store.open(tmp_path / "missing.sqlite3", readonly=True)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the API


def test_session_round_trip_and_results(db_target):
    path = db_target
    rng = np.random.default_rng(7)
    before, after = list(rng.normal(40, 2, 3)), list(rng.normal(46, 2, 3))
    reps = list(rng.normal(44, 3, 8))
    with Store.open(path) as store:
        sid = store.start_session(SessionMeta("P1", "ankle_dorsiflexion", "right", source="webcam",
                                  target_reps=8, trials_per_phase=3, pose_model="full",
                                  resolution="1280x720"))
        bad = store.add_trial(sid, "before", "right", 1, 10.0)        # a false start
        store.discard_trial(bad)
        for k, p in enumerate(before, 1):
            store.add_trial(sid, "before", "right", k, np.float64(p), k, k + 0.5, k + 1)
        for k, p in enumerate(reps, 1):
            store.add_rep(sid, "right", np.int64(k), p)
        for k, p in enumerate(after, 1):
            store.add_trial(sid, "after", "right", k, p)
        store.set_neutral(sid, 1.5)

        computed = store.sessions()[0]
        expected = side_outcome("right", before, after, reps)
        assert not computed.results_stored and computed.outcomes == (expected,)

        store.finish_session(sid, "complete", results=[expected], stats={"fps": np.float64(29.5)})
        row = store.sessions()[0]
        detail = store.session(sid)

    assert row.results_stored and row.outcomes == (expected,)
    assert row.status_label == "complete" and row.target_reps == 8
    assert [t.discarded for t in detail.trials].count(True) == 1
    assert [t.peak_deg for t in detail.trials if t.phase == "after"] == after
    assert [r.peak_deg for r in detail.reps] == reps
    assert detail.neutral_deg == 1.5 and detail.pose_model == "full"
    assert detail.stats == {"fps": 29.5} and detail.resolution == "1280x720"
    assert datetime.fromisoformat(row.started_at).tzinfo is not None


def test_stopped_session_label_and_unknown_ids(db_target):
    with Store.open(db_target) as store:
        sid = store.start_session(SessionMeta("P1", "knee_flexion", "both"))
        store.finish_session(sid, "incomplete", end_reason="stopped by user")
        row = store.sessions()[0]
        assert row.status_label == "incomplete (stopped by user)"
        assert [o.side for o in row.outcomes] == ["left", "right"]
        with pytest.raises(RomcamError, match="no session 99"):
            store.session(99)
        with pytest.raises(ValueError):
            store.finish_session(99, "complete")
        with pytest.raises(ValueError):
            store.finish_session(sid, "in_progress")
        with pytest.raises(ValueError):
            store.add_rep(sid, "middle", 1, 3.0)
        with pytest.raises(ValueError):
            store.add_rep(sid, "left", 1, float("nan"))


def test_frames_round_trip(db_target):
    t = np.arange(90) / 30.0
    angle = 20 * np.sin(t)
    angle[5] = np.nan
    valid = ~np.isnan(angle)
    with Store.open(db_target) as store:
        sid = store.start_session(SessionMeta("P1", "knee_flexion", "both"))
        store.add_frames(sid, zip(t[:45], ["before"] * 45, angle[:45], valid[:45]), side="left")
        store.add_frames(sid, pd.DataFrame({"t_s": t[45:], "phase": "set",
                                            "angle_deg": angle[45:], "valid": valid[45:]}))
        df = store.frames(sid)
    assert list(df.columns) == ["t_s", "phase", "side", "angle_deg", "valid", "head_turn_deg",
                                "head_flexion_deg", "invalid_reason"]
    np.testing.assert_array_equal(df["t_s"].to_numpy(), t)
    np.testing.assert_array_equal(df["angle_deg"].to_numpy(), angle)    # NaN where NaN
    assert df["valid"].tolist() == valid.tolist()
    assert df["side"].tolist()[:45] == ["left"] * 45 and df["side"].isna().sum() == 45


def test_frames_keep_head_channels_and_reasons(db_target):
    with Store.open(db_target) as store:
        sid = store.start_session(SessionMeta("P1", "neck_lateral_flexion", "both"))
        store.add_frames(sid, [(0.0, "before", 12.5, True, 20.0, -3.0, None),
                               (0.1, "before", None, False, 48.0, -2.0, "face turned away")])
        df = store.frames(sid)
    assert df["head_turn_deg"].tolist() == [20.0, 48.0] and df["head_flexion_deg"].tolist() == [-3.0, -2.0]
    assert df["invalid_reason"].isna().tolist() == [True, False]
    assert df["invalid_reason"].iloc[1] == "face turned away"


def test_filters_and_unknown_subject(db_target):
    now = datetime.now().astimezone()
    with Store.open(db_target) as store:
        old = store.start_session(SessionMeta("P1", "knee_flexion", "left",
                                  started_at=(now - timedelta(days=30)).isoformat()))
        new = store.start_session(SessionMeta("P1", "ankle_dorsiflexion", "left"))
        other = store.start_session(SessionMeta("P2", "knee_flexion", "left"))
        assert [s.id for s in store.sessions()] == [old, new, other]
        assert [s.id for s in store.sessions(subject="P1")] == [old, new]
        assert [s.id for s in store.sessions(joint="knee_flexion")] == [old, other]
        since = (now - timedelta(days=1)).date().isoformat()
        assert [s.id for s in store.sessions(since=since)] == [new, other]
        assert store.subjects() == ["P1", "P2"]
        with pytest.raises(RomcamError, match="unknown subject 'p1'.*did you mean P1"):
            store.sessions(subject="p1")
        with pytest.raises(RomcamError, match="known subjects: P1, P2"):
            store.sessions(subject="nobody")
        with pytest.raises(RomcamError, match="--since"):
            store.sessions(since="last week")


@pytest.mark.parametrize("code", ["", "   ", "=HYPERLINK(\"x\")", "+1", "@a", "a\tb", "x" * 65])
def test_bad_subject_codes_are_refused(db_target, code):
    with Store.open(db_target) as store:
        with pytest.raises(RomcamError, match="subject code"):
            store.start_session(SessionMeta(code, "knee_flexion", "left"))
        assert store.subjects() == []


# --------------------------------------------------------------------------- the session's metadata


@pytest.mark.parametrize("field, value, message", [
    ("joint", "knee", "joint must be one of"),
    ("side", "sideways", "side must be one of"),
    ("set_kind", "squats", "set_kind must be one of"),
    ("started_at", "not a date", "not an ISO-8601 time"),
    ("started_at", 12345, "must be text"),
    ("started_at", "1899-12-31T23:00:00+00:00", "between the years"),
    ("target_reps", 0, "must be 1 to"),
    ("target_reps", 2.5, "whole number"),
    ("target_reps", True, "whole number"),
    ("trials_per_phase", 101, "must be 1 to"),
    ("neutral_deg", float("nan"), "finite angle"),
    ("neutral_deg", 400.0, "finite angle"),
    ("neutral_deg", "12", "finite angle"),
    ("source", "cam\x1b[2J", "control character"),
    ("camera", "line\nfake line", "control character"),
    ("phases", "x" * 5000, "characters long"),
    ("synthetic", "yes", "true or false"),
])
def test_bad_session_meta_is_refused_before_anything_is_stored(tmp_path, field, value, message):
    from romcam.storage.meta import InvalidSessionMeta

    with Store.open(tmp_path / "db.sqlite3") as store:
        with pytest.raises(InvalidSessionMeta, match=message):
            store.start_session(SessionMeta(**{"subject": "P1", "joint": "knee_flexion", "side": "left",
                                               field: value}))
        assert store.sessions() == [] and store.subjects() == []


def test_session_meta_round_trips_through_a_recovery_record_and_the_store(tmp_path):
    from romcam.storage.meta import InvalidSessionMeta, RecordingProcess

    meta = SessionMeta(" P1 ", "knee_flexion", "both", started_at="2026-03-14T10:30:00+01:00", source="visit.mp4",
                       target_reps=None, trials_per_phase=3, neutral_deg=np.float64(2.5), recorded=True,
                       phases="before 0:00-0:10", neutral_source="--neutral 0:01-0:02", dated_from="--recorded-at",
                       resolution="1920x1080", camera_profile="desk.json",
                       owner=RecordingProcess(4242, "clinic-room-2", "77"))
    assert meta.subject == "P1" and type(meta.neutral_deg) is float
    record = meta.to_record()
    assert SessionMeta.from_record(record) == meta
    # an older romcam's start record: the keys it wrote, fewer of them
    old = {"subject": "P1", "joint": "knee_flexion", "side": "left",
           "meta": {"started_at": "2026-01-02T03:04:05+00:00", "uuid": "123e4567-e89b-42d3-a456-426614174000", "source": "0", "camera": "webcam 0",
                    "pose_model": "full", "target_reps": 40, "trials_per_phase": 3, "app_version": "0.1.0",
                    "resolution": "640x480", "camera_profile": None, "pid": 7, "host": "h", "pid_start": None}}
    assert SessionMeta.from_record(old).owner == RecordingProcess(7, "h", None)
    for bad in ({**record, "meta": {**record["meta"], "room": "gym"}}, {**record, "side": "sideways"},
                {k: v for k, v in record.items() if k != "joint"},
                {**record, "meta": {**record["meta"], "pid": "7"}},
                {**record, "meta": {k: v for k, v in record["meta"].items() if k != "uuid"}},
                {**record, "meta": {**record["meta"], "uuid": record["meta"]["uuid"].upper()}}):
        with pytest.raises(InvalidSessionMeta):
            SessionMeta.from_record(bad)
    with Store.open(tmp_path / "db.sqlite3") as store:
        sid = store.start_session(meta)
        detail = store.session(sid)
    assert (detail.row.subject, detail.row.started_at, detail.row.recorded, detail.neutral_deg) == (
        "P1", "2026-03-14T10:30:00+01:00", True, 2.5)
    assert (detail.phases, detail.neutral_source, detail.dated_from, detail.resolution, detail.camera_profile) == (
        "before 0:00-0:10", "--neutral 0:01-0:02", "--recorded-at", "1920x1080", "desk.json")
    assert detail.row.status_label == "in progress on clinic-room-2, or interrupted" and detail.stats == {}
