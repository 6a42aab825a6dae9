"""`romcam db copy`: a home SQLite database with sessions, trials, reps, turns, frames and results
moved into another database (a real PostgreSQL server, or another SQLite file): every row and
value equal afterwards, and a second run adds nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from romcam.cli.main import main
from romcam.measure.outcome import side_outcome
from romcam.storage.schema import TABLES, metadata
from romcam.storage.store import Store
from romcam.storage.meta import RecordingProcess, SessionMeta

KEY = "sub.code, s.started_at, s.joint, s.side"


def make_home_db(path) -> dict[str, int]:
    """A home database: two subjects (one with a non-ASCII code), a finished reps session with a
    discarded trial, heel flags, frames with NaN and head channels; a set of circles; a session
    killed mid-set."""
    rng = np.random.default_rng(13)
    with Store.open(path) as store:
        sid = store.start_session(SessionMeta("P1", "ankle_dorsiflexion", "both", source="webcam", target_reps=5,
                                  trials_per_phase=3, pose_model="full",
                                  resolution="1280x720", camera_profile="desk.json", recorded=True,
                                  phases="before 0:00-0:10", neutral_source="--neutral 0:01-0:02",
                                  dated_from="--recorded-at", owner=RecordingProcess(4242, "home-pc", "77")))
        bad = store.add_trial(sid, "before", "left", 1, 12.0)
        store.discard_trial(bad)
        for side in ("left", "right"):
            for k in range(1, 4):
                store.add_trial(sid, "before", side, k, float(rng.normal(35, 2)), k, k + 0.5, k + 1.0,
                                heel_lifted=k == 2)
            for k in range(1, 6):
                store.add_rep(sid, side, k, float(rng.normal(38, 3)), heel_lifted=False)
            for k in range(1, 4):
                store.add_trial(sid, "after", side, k, float(rng.normal(39, 2)))
            t = np.arange(40) / 30.0
            angle = 30 * np.sin(t + (side == "right"))
            angle[3] = np.nan
            store.add_frames(sid, [(ti, "set", a, not math.isnan(a), 1.5, -0.5, None if not math.isnan(a)
                                    else "heel out of view") for ti, a in zip(t, angle)], side=side)
        store.set_neutral(sid, 1.25)
        store.set_vertical(sid, "scene", -0.75)
        detail = store.session(sid)
        results = [side_outcome(s, [t.peak_deg for t in detail.trials if t.side == s and t.phase == "before"
                                    and not t.discarded],
                                [t.peak_deg for t in detail.trials if t.side == s and t.phase == "after"],
                                [r.peak_deg for r in detail.reps if r.side == s]) for s in ("left", "right")]
        store.finish_session(sid, "complete", results=results, stats={"fps": 29.97})

        circles = store.start_session(SessionMeta("Zoë", "neck_lateral_flexion", "both", set_kind="circles", target_turns=3))
        for k, direction in enumerate(("cw", "ccw", "cw"), start=1):
            store.add_turn(circles, k, direction, k * 4.0, k * 4.0 + 3.5, 31.5 + k, 29.0, 12.0, None)
        store.add_frames(circles, [(0.0, "set", 5.0, True, 10.0, 2.0, None)])
        store.finish_session(circles, "incomplete", end_reason="stopped by user")

        killed = store.start_session(SessionMeta("P1", "knee_flexion", "left"))
        store.add_trial(killed, "before", "left", 1, 61.5)
        store.add_rep(killed, "left", 1, 55.0)
    return {"sessions": 3}


def table_contents(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table, with ids replaced by natural keys, sorted: two databases hold
    the same data exactly when these are equal."""
    out = {}
    for table in TABLES:
        names = [c.name for c in metadata.tables[table].columns if c.name not in ("id", "session_id", "subject_id")]
        cols = ", ".join(f"t.{n}" for n in names)
        if table == "subjects":
            sql = f"SELECT {cols} FROM subjects t"
        elif table == "sessions":
            sql = f"SELECT sub.code, {cols} FROM sessions t JOIN subjects sub ON sub.id = t.subject_id"
        else:
            sql = (f"SELECT {KEY}, {cols} FROM {table} t JOIN sessions s ON s.id = t.session_id "
                   f"JOIN subjects sub ON sub.id = s.subject_id")
        rows = [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in store._read(sql)]
        out[table] = sorted(rows, key=repr)
    return out


def rom(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_db_copy_moves_everything_once(tmp_path, db_target, capsys, monkeypatch):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    home = tmp_path / "home.sqlite3"
    make_home_db(home)
    with Store.open(home, readonly=True) as store:
        before = table_contents(store)

    code, out, err = rom(capsys, "db", "copy", "--db", home, "--to", db_target)
    assert code == 0, err
    with capsys.disabled():
        print("\n" + out)
    assert out.count(": copied ") == 3 and "copied 3 sessions" in out
    with Store.open(db_target, readonly=True) as store:
        after = table_contents(store)
        history = [(s.subject, s.joint, s.status_label, s.reps_done, s.outcomes) for s in store.sessions()]
    counts = {t: len(rows) for t, rows in after.items()}
    with capsys.disabled():
        print(f"{db_target}: rows per table after the copy: {counts}")
    assert after == before                                    # every row, every value
    assert counts["frames"] == 81 and counts["reps"] == 11 and counts["turns"] == 3 and counts["results"] == 2
    with Store.open(home, readonly=True) as store:
        assert history == [(s.subject, s.joint, s.status_label, s.reps_done, s.outcomes) for s in store.sessions()]

    code, out, err = rom(capsys, "db", "copy", "--db", home, "--to", db_target)     # again: nothing new
    assert code == 0 and out.count(": already there") == 3 and "copied 0 sessions" in out, out + err
    with Store.open(db_target, readonly=True) as store:
        assert table_contents(store) == before

    with Store.open(home) as store:                            # a new session at home: only it is added
        sid = store.start_session(SessionMeta("P2", "knee_flexion", "right"))
        store.add_rep(sid, "right", 1, 44.0)
        store.finish_session(sid, "complete")
        before = table_contents(store)
    code, out, err = rom(capsys, "db", "copy", "--db", home, "--to", db_target)
    assert code == 0 and "copied 1 session " in out and "3 already there" in out, out + err
    with Store.open(db_target, readonly=True) as store:
        assert table_contents(store) == before


def test_db_copy_refuses_its_own_source(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    home = tmp_path / "home.sqlite3"
    make_home_db(home)
    code, out, err = rom(capsys, "db", "copy", "--db", home, "--to", tmp_path / "." / "home.sqlite3")
    assert code == 2 and "being copied" in err


@pytest.mark.parametrize("command", ["version", "upgrade"])
def test_db_version_and_upgrade(tmp_path, capsys, monkeypatch, command):
    from legacy_sqlite import build_legacy_file

    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    path = tmp_path / "old.sqlite3"
    build_legacy_file(path, version=1)
    code, out, err = rom(capsys, "db", command, "--db", path)
    assert code == 0 and "from v1 to v5" in out and "revision 0006" in out, out + err
    code, out, err = rom(capsys, "db", command, "--db", path)
    assert code == 0 and "schema v5 (" in out, out + err
