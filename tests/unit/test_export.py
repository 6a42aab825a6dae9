"""CSV export and the history table, through the API and through the `romcam` command."""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from romcam.cli import main
from romcam.errors import RomcamError
from romcam.storage.export import (FRAME_COLUMNS, SESSION_COLUMNS, export_csv, frames_path,
                                   history_table, neutralise_cell, sessions_table, write_csv)
from romcam.measure.outcome import side_outcome
from romcam.storage.migrate import latest_version
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store

SESSION_NAMES = [c for c, _, _ in SESSION_COLUMNS]
FRAME_NAMES = [c for c, _, _ in FRAME_COLUMNS]
ROMCAM = Path(sys.executable).parent / "romcam"


class Truth(dict):
    """What the test put into the database, by session id."""


def _record(store, rng, subject, joint, side, days_ago, n_before, n_after, n_reps,
            finish=True, synthetic=False, frames=0):
    started = (datetime.now().astimezone() - timedelta(days=days_ago)).replace(microsecond=0)
    sid = store.start_session(SessionMeta(subject, joint, side, started_at=started.isoformat(),
                              synthetic=synthetic, target_reps=n_reps or None))
    sides = ["left", "right"] if side == "both" else [side]
    per_side = {}
    for s in sides:
        before = [float(x) for x in rng.normal(35, 2, n_before)]
        after = [float(x) for x in rng.normal(40, 2, n_after)]
        reps = [float(x) for x in rng.normal(38, 3, n_reps)]
        for k, p in enumerate(before, 1):
            store.add_trial(sid, "before", s, k, p)
        for k, p in enumerate(reps, 1):
            store.add_rep(sid, s, k, p)
        for k, p in enumerate(after, 1):
            store.add_trial(sid, "after", s, k, p)
        per_side[s] = side_outcome(s, before, after, reps)
    series = None
    if frames:
        t = np.arange(frames) / 30.0
        angle = 15 + 10 * np.sin(t * 2)
        angle[::17] = np.nan
        series = (t, angle, ~np.isnan(angle))
        store.add_frames(sid, zip(t, ["set"] * frames, angle, series[2]))
    if finish:
        store.finish_session(sid, "complete", results=list(per_side.values()))
    return sid, {"subject": subject, "joint": joint, "started": started, "outcomes": per_side,
                 "finished": finish, "synthetic": synthetic, "frames": series}


@pytest.fixture
def db(db_target) -> tuple[Path | str, Truth]:
    """The sessions below in an SQLite file, and in a PostgreSQL database."""
    return _make_db(db_target)


@pytest.fixture
def sqlite_db(tmp_path) -> tuple[Path, Truth]:
    return _make_db(tmp_path / "sessions.sqlite3")


def _make_db(path) -> tuple[Path | str, Truth]:
    rng = np.random.default_rng(2026)
    truth = Truth()
    with Store.open(path) as store:
        for args, kw in [
            (("Zoë-01", "neck_lateral_flexion", "both", 40, 3, 3, 6), {"synthetic": True, "frames": 120}),
            (("P002", "ankle_dorsiflexion", "left", 10, 3, 3, 10), {"frames": 45}),
            (("P002", "ankle_dorsiflexion", "right", 1, 3, 0, 4), {"finish": False}),  # killed mid-set
            (("P003", "knee_flexion", "left", 0, 1, 1, 0), {}),                         # no SEM
        ]:
            sid, info = _record(store, rng, *args, **kw)
            truth[sid] = info
    return path, truth


def _num(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def _expected_cell(value) -> float | None:
    return None if value is None else round(value, 1)


# --------------------------------------------------------------------------- the CSV


def test_csv_round_trip_equals_the_stored_numbers(db, tmp_path):
    path, truth = db
    out = tmp_path / "export" / "romcam.csv"
    with Store.open(path, readonly=True) as store:
        assert export_csv(store, out) == [out]
        stored = {(s.id, o.side): o for s in store.sessions() for o in s.outcomes}

    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                      # UTF-8 BOM, for Excel
    with open(out, encoding="utf-8-sig", newline="") as fh:    # the stdlib csv module
        table = list(csv.reader(fh))
    header, body = table[0], table[1:]
    assert header == SESSION_NAMES                              # no index column, units in names
    assert all(len(r) == len(header) for r in body)
    rows = [dict(zip(header, r)) for r in body]
    expected_keys = {(sid, side) for sid, t in truth.items() for side in t["outcomes"]}
    assert {(int(r["session_id"]), r["side"]) for r in rows} == expected_keys

    for r in rows:
        t = truth[int(r["session_id"])]
        o = t["outcomes"][r["side"]]            # computed here from the trials the test made
        assert stored[(int(r["session_id"]), r["side"])] == o
        for col in ("before_deg", "after_deg", "delta_deg", "sem_deg", "mdc95_deg"):
            assert _num(r[col]) == _expected_cell(getattr(o, col)), col
            assert re.fullmatch(r"(-?\d+(\.\d)?)?", r[col]), r[col]   # at most 0.1 precision
        assert r["verdict"] == o.verdict
        assert (int(r["trials_before"]), int(r["trials_after"]), int(r["reps_done"])) == \
            (o.trials_before, o.trials_after, o.reps_done)
        assert r["subject"] == t["subject"] and r["joint"] == t["joint"]
        assert datetime.fromisoformat(r["started_at"]) == t["started"]
        assert r["date"] == t["started"].date().isoformat()
        assert r["status"] == ("complete" if t["finished"] else "incomplete (interrupted)")
        assert r["synthetic"] == str(int(t["synthetic"]))

    df = pd.read_csv(out)                                        # and pandas
    assert list(df.columns) == SESSION_NAMES
    assert len(df) == len(rows)
    for r, (_, d) in zip(rows, df.iterrows()):
        for col in ("before_deg", "after_deg", "delta_deg", "mdc95_deg"):
            cell = _num(r[col])
            assert (math.isnan(d[col]) if cell is None else d[col] == cell)
    assert "Zoë-01" in set(df["subject"])


def test_since_filters_sessions(db, tmp_path):
    path, truth = db
    since = (datetime.now().astimezone() - timedelta(days=15)).date()
    out = tmp_path / "recent.csv"
    with Store.open(path, readonly=True) as store:
        export_csv(store, out, since=since.isoformat())
    got = set(pd.read_csv(out)["session_id"])
    want = {sid for sid, t in truth.items() if t["started"].date() >= since}
    assert got == want and 0 < len(want) < len(truth)


def test_subject_filter_and_unknown_subject(db, tmp_path):
    path, truth = db
    with Store.open(path, readonly=True) as store:
        export_csv(store, tmp_path / "p2.csv", subject="P002")
        with pytest.raises(RomcamError, match="unknown subject 'P999'.*known subjects: P002"):
            export_csv(store, tmp_path / "nobody.csv", subject="P999")
    assert set(pd.read_csv(tmp_path / "p2.csv")["session_id"]) == \
        {sid for sid, t in truth.items() if t["subject"] == "P002"}
    assert not (tmp_path / "nobody.csv").exists()


def test_frames_go_to_a_second_file(db, tmp_path):
    path, truth = db
    out = tmp_path / "all.csv"
    with Store.open(path, readonly=True) as store:
        written = export_csv(store, out, frames=True)
    assert written == [out, tmp_path / "all_frames.csv"] and frames_path(out) == written[1]
    with open(written[1], encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == FRAME_NAMES
    for sid, t in truth.items():
        mine = [r for r in rows if int(r["session_id"]) == sid]
        if t["frames"] is None:
            assert mine == []
            continue
        times, angle, valid = t["frames"]
        assert len(mine) == len(times)
        assert all(r["subject"] == t["subject"] and r["phase"] == "set" for r in mine)
        assert [float(r["t_s"]) for r in mine] == [round(x, 3) for x in times]
        assert [_num(r["angle_deg"]) for r in mine] == \
            [None if np.isnan(a) else pytest.approx(round(a, 2), abs=1e-9) for a in angle]
        assert [r["valid"] for r in mine] == [str(int(v)) for v in valid]
    pd.read_csv(written[1])                                       # loads in pandas too


def test_export_refuses_to_overwrite_the_database(sqlite_db):
    path, _ = sqlite_db
    before = path.read_bytes()
    with Store.open(path, readonly=True) as store:
        with pytest.raises(RomcamError, match="database itself"):
            export_csv(store, path)
    assert path.read_bytes() == before


def test_empty_export_has_the_header(tmp_path):
    with Store.open(tmp_path / "db.sqlite3") as store:
        export_csv(store, tmp_path / "none.csv")
    assert list(pd.read_csv(tmp_path / "none.csv").columns) == SESSION_NAMES


FORMULAS = ['=HYPERLINK("http://example.com/x","click")', "+1+cmd|' /C calc'!A0", "@SUM(1)", "-2+3",
            "\t=1+1", "\r=1+1", "  =1+1"]


def _starts_like_a_formula(cell: str) -> bool:
    return cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def test_csv_neutralises_formula_text_from_a_database_edited_by_hand(sqlite_db, tmp_path):
    path, truth = sqlite_db
    conn = sqlite3.connect(path)
    with conn:
        subject_ids = [r[0] for r in conn.execute("SELECT id FROM subjects ORDER BY id")]
        for sid, text in zip(subject_ids, [FORMULAS[0], "-7", FORMULAS[6]]):
            conn.execute("UPDATE subjects SET code = ? WHERE id = ?", (text, sid))
        conn.execute("UPDATE sessions SET joint = ?, status = 'incomplete', end_reason = ?",
                     (FORMULAS[1], FORMULAS[4]))
        conn.execute("UPDATE results SET verdict = ?, side = ? WHERE rowid = "
                     "(SELECT min(rowid) FROM results)", (FORMULAS[3], "left"))
        conn.execute("UPDATE results SET verdict = ?, delta_deg = -3.5 WHERE rowid <> "
                     "(SELECT min(rowid) FROM results)", (FORMULAS[2],))
        conn.execute("UPDATE frames SET phase = ?, invalid_reason = ? WHERE id % 2 = 0",
                     (FORMULAS[5], FORMULAS[0]))
        conn.execute("UPDATE frames SET phase = ?, side = ?, invalid_reason = ? WHERE id % 2 = 1",
                     (FORMULAS[2], FORMULAS[3], FORMULAS[4]))
    conn.close()
    out = tmp_path / "clinic.csv"
    with Store.open(path, readonly=True) as store:
        written = export_csv(store, out, frames=True)
    cells = []
    for file in written:
        with open(file, encoding="utf-8-sig", newline="") as fh:
            cells += [cell for row in csv.reader(fh) for cell in row]
    assert {"'" + f for f in FORMULAS} <= set(cells)                 # the text is kept, neutralised
    assert [c for c in cells if _starts_like_a_formula(c) and not _is_number(c)] == []
    assert "incomplete (\t=1+1)" in cells                           # the end reason, inside the status
    assert "-7" in cells and "-3.5" in cells          # numbers stay numbers (a subject, a negative delta)


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+A1", "'+A1"), ("-2+3", "'-2+3"), ("@SUM(1)", "'@SUM(1)"), ("\tx", "'\tx"),
    ("\r=x", "'\r=x"), (" =x", "' =x"), ("-3.5", "-3.5"), ("+1", "+1"), ("-1e-3", "-1e-3"),
    ("-", "'-"), ("-inf", "'-inf"), ("P001", "P001"), ("a=b", "a=b"), ("", ""), (-3.5, -3.5), (None, None),
])
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected


# --------------------------------------------------------------------------- history table


def test_history_table_shows_each_session_and_side(db):
    path, truth = db
    with Store.open(path, readonly=True) as store:
        rows = store.sessions()
    text = history_table(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["id", "started", "subject", "joint", "side", "before", "after",
                                "delta", "MDC95", "set", "edge", "grade", "status"]
    n_side_lines = sum(len(t["outcomes"]) for t in truth.values())
    assert len([ln for ln in lines[1:] if re.search(r"\b(left|right)\b", ln)]) == n_side_lines
    for sid, t in truth.items():
        (first,) = [ln for ln in lines if ln.lstrip().startswith((f"{sid} ", f"{sid}* "))]
        o = next(iter(t["outcomes"].values()))
        assert t["subject"] in first and t["started"].strftime("%Y-%m-%d %H:%M") in first
        assert f"{o.before_deg:.1f}" in first
        if o.delta_deg is not None:
            assert f"{o.delta_deg:+.1f}" in first
        status = "complete" if t["finished"] else "incomplete (interrupted)"
        assert first.rstrip().endswith(status)
    assert "synthetic" in lines[-1]       # the neck session is demo data


# --------------------------------------------------------------------------- the command line


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("romcam: error: ") and "Traceback" not in err
    return err


def test_cli_history(db, cli_env, capsys, monkeypatch):
    path, truth = db
    assert main(["history", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "incomplete (interrupted)" in out and f"{len(truth)} sessions in {path}" in out
    monkeypatch.setenv("ROMCAM_DB", str(path))              # the environment variable works too
    assert main(["history", "--subject", "P002", "--joint", "ankle"]) == 0
    out = capsys.readouterr().out
    assert "P002" in out and "Zoë-01" not in out
    assert main(["history", "--joint", "elbow"]) == 0
    assert "no sessions match" in capsys.readouterr().out


def test_cli_export(db, cli_env, capsys, tmp_path):
    path, truth = db
    out = tmp_path / "clinic.csv"
    assert main(["export", "--csv", str(out), "--frames", "--db", str(path)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out}" in said and f"wrote {tmp_path / 'clinic_frames.csv'}" in said
    assert len(pd.read_csv(out)) == sum(len(t["outcomes"]) for t in truth.values())
    assert (tmp_path / "clinic_frames.csv").is_file()


@pytest.mark.parametrize("argv, message", [
    (["history", "--subject", "nobody"], "unknown subject 'nobody'"),
    (["export", "--csv", "{tmp}/x.csv", "--subject", "nobody"], "unknown subject 'nobody'"),
    (["export", "--csv", "{tmp}/x.csv", "--since", "last week"], "--since expects a date"),
    (["history", "--joint", "tail"], "unknown joint 'tail'"),
])
def test_cli_bad_arguments(db, cli_env, capsys, tmp_path, argv, message):
    path, _ = db
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--db", str(path)]
    assert main(argv) != 0
    assert message in _one_error_line(capsys)
    assert not (tmp_path / "x.csv").exists()


def _make_newer(path: Path) -> None:
    with Store.open(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 5}")
    conn.close()


@pytest.mark.parametrize("kind, message", [
    ("text", "is not an SQLite database"),
    ("newer", "written by a newer romcam"),
    ("missing", "no session database"),
])
@pytest.mark.parametrize("command", ["history", "export"])
def test_cli_bad_database_files(cli_env, capsys, tmp_path, kind, message, command):
    path = tmp_path / "db.sqlite3"
    if kind == "text":
        path.write_text("subject,angle\nP1,30\n" * 50)
    elif kind == "newer":
        _make_newer(path)
    before = path.read_bytes() if path.exists() else None
    argv = [command, "--db", str(path)] + (["--csv", str(tmp_path / "x.csv")] if command == "export" else [])
    assert main(argv) != 0
    assert message in _one_error_line(capsys)
    assert (path.read_bytes() if path.exists() else None) == before
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.slow
def test_installed_command_reports_a_bad_file_in_one_line(tmp_path):
    bad = tmp_path / "notes.sqlite3"
    bad.write_text("not a database at all\n" * 20)
    env = {"PATH": "/usr/bin:/bin", "ROMCAM_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    run = subprocess.run([str(ROMCAM), "history", "--db", str(bad)], capture_output=True,
                         text=True, env=env, timeout=60)
    assert run.returncode == 2
    assert run.stderr.startswith("romcam: error: ") and run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr and run.stdout == ""
    run = subprocess.run([str(ROMCAM), "export", "--db", str(tmp_path / "missing.sqlite3"),
                          "--csv", str(tmp_path / "x.csv")], capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 2 and "no session database" in run.stderr


def test_a_change_that_rounds_to_zero_is_never_written_minus_zero(tmp_path):
    """A delta of -0.04 deg reads 0.0 (or +0.0) in the verdict, the CSV, the FHIR quantity and the
    app's result page, never "-0.0"."""
    from romcam.storage.fhir import build_bundle, db_key

    outcome = side_outcome("right", [25.04], [25.0], [])
    assert "-0.0" not in outcome.verdict and "+0.0 deg" in outcome.verdict
    db = tmp_path / "z.sqlite3"
    with Store.open(db) as store:
        sid = store.start_session(SessionMeta("P1", "neck_lateral_flexion", "right"))
        store.add_trial(sid, "before", "right", 1, 25.04)
        store.add_trial(sid, "after", "right", 1, 25.0)
        store.finish_session(sid, "complete", results=[outcome])
        rows = store.sessions()
        bundle = build_bundle([store.session(sid)], db_key(db))
    csv_path = tmp_path / "z.csv"
    write_csv(sessions_table(rows), csv_path)
    assert "-0.0" not in csv_path.read_text(encoding="utf-8-sig")
    assert "-0.0" not in json.dumps(bundle)
    from romcam.app.server import delta_text
    assert delta_text(-0.04) == "+0.0°"
