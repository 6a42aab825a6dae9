"""Neck circles stored, exported and reported: turns round trip through the Store (also in a
database that started as v1), `romcam export --turns`, the report's circles section (parsed back
like tests/integration/test_report.py), `romcam demo --set circles` and `romcam analyze --joint neck-circles`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from romcam.storage.export import TURN_COLUMNS
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store
from test_report import Page, check_self_contained
from test_store import build_v1_file

TURNS = [  # (turn_no, direction, start, end, right, left, forward, backward)
    (1, "cw", 10.0, 13.0, 20.1, 19.5, 18.0, 17.0),
    (2, "cw", 13.0, 16.0, 22.4, 21.0, 18.5, None),
    (3, "ccw", 17.0, 20.2, 25.2, 24.9, 19.0, 17.5),
    (4, "ccw", 20.2, 23.1, 25.6, None, 19.2, 18.0),
]


def _session_with_turns(store, subject="P001", synthetic=False):
    sid = store.start_session(SessionMeta(subject, "neck_lateral_flexion", "both", set_kind="circles", target_turns=4,
                              synthetic=synthetic))
    for side in ("right", "left"):
        for k, p in enumerate((20.0, 20.4, 19.8), 1):
            store.add_trial(sid, "before", side, k, p)
        for k, p in enumerate((25.0, 25.3, 24.8), 1):
            store.add_trial(sid, "after", side, k, p)
    for row in TURNS:
        store.add_turn(sid, *row)
    return sid


def test_turns_round_trip(db_target):
    with Store.open(db_target) as store:
        sid = _session_with_turns(store)
        other = store.start_session(SessionMeta("P002", "neck_lateral_flexion", "right"))
        turns = store.turns(sid)
        detail = store.session(sid)
        assert store.turns(other) == [] and store.session(other).row.set_kind == "reps"
        with pytest.raises(ValueError):
            store.add_turn(sid, 5, "sideways")
    assert [(t.turn_no, t.direction, t.start_s, t.end_s, t.right_deg, t.left_deg, t.forward_deg,
             t.backward_deg) for t in turns] == TURNS
    assert detail.turns == tuple(turns)
    assert (detail.row.set_kind, detail.row.target_turns) == ("circles", 4)


def test_a_v1_database_upgrades_and_takes_turns(tmp_path):
    path = tmp_path / "v1.sqlite3"
    build_v1_file(path)
    with Store.open(path) as store:
        old = store.sessions()[0]
        assert old.set_kind == "reps" and store.turns(old.id) == []
        sid = _session_with_turns(store)
    with Store.open(path, readonly=True) as store:
        assert len(store.turns(sid)) == 4 and store.session(sid).row.set_kind == "circles"


def test_export_turns_columns(tmp_path):
    db = tmp_path / "db.sqlite3"
    with Store.open(db) as store:
        sid = _session_with_turns(store)
        store.finish_session(sid, "complete")
        store.start_session(SessionMeta("P002", "knee_flexion", "right"))      # a session without turns
    out = tmp_path / "visits.csv"
    r = subprocess.run([sys.executable, "-m", "romcam", "export", "--csv", str(out), "--turns", "--db", str(db)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "visits_turns.csv"
    assert f"wrote {path}: 4 turns" in r.stdout
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(path, encoding="utf-8-sig", dtype={"right_deg": float})
    assert list(df.columns) == [c for c, _, _ in TURN_COLUMNS]
    assert df["turn_no"].tolist() == [1, 2, 3, 4] and df["direction"].tolist() == ["cw", "cw", "ccw", "ccw"]
    assert df["right_deg"].tolist() == [20.1, 22.4, 25.2, 25.6]
    assert pd.isna(df["left_deg"][3]) and pd.isna(df["backward_deg"][1])
    # after-levels (medians of the after trials): 25.0 on both sides
    assert df["right_at_after_level"].tolist() == [0, 0, 1, 1]
    assert df["left_at_after_level"].tolist() == [0, 0, 0, 0]
    assert set(df["session_id"]) == {sid} and set(df["subject"]) == {"P001"}
    # without --turns no turns file
    (tmp_path / "visits_turns.csv").unlink()
    subprocess.run([sys.executable, "-m", "romcam", "export", "--csv", str(out), "--db", str(db), "--overwrite"],
                   check=True, capture_output=True, timeout=120)
    assert not (tmp_path / "visits_turns.csv").exists()
    # an existing turns file is not overwritten silently, and nothing else is written either
    (tmp_path / "new_turns.csv").write_text("mine")
    r = subprocess.run([sys.executable, "-m", "romcam", "export", "--csv", str(tmp_path / "new.csv"), "--turns",
                        "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and r.stderr.startswith("romcam: error:") and len(r.stderr.strip().splitlines()) == 1
    assert (tmp_path / "new_turns.csv").read_text() == "mine" and not (tmp_path / "new.csv").exists()


def test_docs_document_the_turns_columns():
    """The export reference's turns table is generated from TURN_COLUMNS by the docs' hook."""
    import importlib.util

    root = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
    assert "<!-- romcam:columns turns -->" in (root / "docs" / "reference" / "exports.md").read_text(encoding="utf-8")
    spec = importlib.util.spec_from_file_location("reference_tables", root / "docs" / "hooks" / "reference_tables.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    text = hook.on_page_markdown("<!-- romcam:columns turns -->", None, None, None)
    for name, unit, _ in TURN_COLUMNS:
        assert re.search(rf"^\| `{name}` \| {re.escape(unit)} \|", text, re.M), name


def test_report_shows_turn_plot_and_numbers(tmp_path):
    from romcam.report.write import make_report

    db = tmp_path / "db.sqlite3"
    with Store.open(db) as store:
        sid = _session_with_turns(store)
        store.finish_session(sid, "complete")
        (path,) = make_report(store, session_id=sid, out=tmp_path / "r.html")
    page = Page(path.read_text(encoding="utf-8"))
    check_self_contained(page)
    assert 'id="fig-turn_extremes"' in page.text
    right = {k: page.cell(k, side="right", session=sid) for k in
             ("first_turn_at_after_level", "reached_deg", "after_level_deg", "trend_deg_per_turn",
              "turns_reaching_side", "max_turn_extreme_deg")}
    assert right["first_turn_at_after_level"]["data-value"] == "3" and right["reached_deg"]["text"] == "25.2"
    assert right["after_level_deg"]["text"] == "25.0" and right["turns_reaching_side"]["text"] == "4"
    slope = np.polyfit([1, 2, 3, 4], [t[4] for t in TURNS], 1)[0]            # 1.93 deg/turn
    assert float(right["trend_deg_per_turn"]["data-value"]) == pytest.approx(slope) and right["trend_deg_per_turn"]["text"] == f"{slope:+.2f}"
    assert page.cell("first_turn_at_after_level", side="left", session=sid)["text"] == "-"
    assert "Right side-bend reached 25.2 deg at turn 3 (after-level 25.0 deg)." in page.text
    assert "4 turns (clockwise 2, counter-clockwise 2), target 4" in page.text
    assert "no set reps stored" not in page.text


def test_demo_set_circles(tmp_path, output_dir):
    env = dict(os.environ, ROMCAM_MODEL_DIR="", ROMCAM_CACHE_DIR=str(tmp_path / "empty-cache"),
               ROMCAM_MODEL_BASE_URL="http://127.0.0.1:9", ROMCAM_DATA_DIR=str(tmp_path / "data"))
    env.pop("ROMCAM_MODEL_DIR")
    db = tmp_path / "demo.sqlite3"
    r = subprocess.run([sys.executable, "-m", "romcam", "demo", "--set", "circles", "--db", str(db)],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "SYNTHETIC neck-circles session" in out
    assert "turn 40/40 counter-clockwise (clockwise 20, counter 20)" in out
    reached = re.findall(r"(right|left) side-bend reached ([\d.]+) deg at turn (\d+)", out)
    print("\n" + "\n".join(line for line in out.splitlines() if "reached" in line or "set of circles" in line))
    assert {side for side, _, _ in reached} == {"right", "left"}
    with Store.open(db, readonly=True) as store:
        (row,) = store.sessions()
        detail = store.session(row.id)
    assert row.synthetic and row.set_kind == "circles" and len(detail.turns) == 40
    for side, deg, n in reached:
        turn = detail.turns[int(n) - 1]
        assert turn.extreme(side) == pytest.approx(float(deg), abs=0.05)
        after = next(o.after_deg for o in detail.outcomes if o.side == side)
        assert turn.extreme(side) >= after and all(t.extreme(side) < after for t in detail.turns[:int(n) - 1])
    report = tmp_path / re.search(r"^report: (.+\.html)$", out, re.M).group(1)
    page = Page(report.read_text(encoding="utf-8"))
    assert 'id="fig-turn_extremes"' in page.text and "Synthetic" in page.text
    for side, _, n in reached:
        assert page.cell("first_turn_at_after_level", side=side, session=row.id)["text"] == n
    _screenshot(report, output_dir / "report_circles.png")


def _screenshot(html, png):
    """The report page as a PNG, to be looked at (when Chromium is installed)."""
    import shutil
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}",
                        "--window-size=1100,2600", html.as_uri()], capture_output=True, timeout=120)


def test_analyze_neck_circles_writes_turns(tmp_path, landmarks_of, monkeypatch):
    """`romcam analyze VIDEO --joint neck-circles` on a real clip without circles: the summary has
    the turn keys (0 turns) and frames.csv the tilt columns."""
    from conftest import media

    clip = media("side_bend_rotation_front.mp4")
    r = subprocess.run([sys.executable, "-m", "romcam", "analyze", str(clip), "--joint", "neck-circles",
                        "--out", str(tmp_path / "out"), "--no-progress"], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    print("\n" + r.stdout)
    assert summary["joint"] == "neck_circles" and summary["turn_count"] == 0 and summary["turns"] == []
    assert summary["turn_counts"] == {"cw": 0, "ccw": 0} and "neutral" in summary
    frames = pd.read_csv(tmp_path / "out" / "frames.csv")
    for column in ("tilt_right_deg", "tilt_forward_deg", "tilt_direction_deg", "neck_lateral_flexion_deg",
                   "head_flexion_deg", "valid", "invalid_reason"):
        assert column in frames.columns
    assert len(frames) == summary["frames"]


def test_turns_ride_the_session_journal_and_replay_once(tmp_path, db_target):
    """A live session's turns are journal records like its reps: a recovery file replayed into
    another database (twice) adds each turn once."""
    import json

    from romcam.storage.journal import SessionJournal, read_recovery, replay

    with Store.open(tmp_path / "a.sqlite3") as store:
        journal = SessionJournal(store, say=lambda s: None)
        sid = journal.start(SessionMeta("P001", "neck_lateral_flexion", "both", set_kind="circles", target_turns=4))
        for no, direction, start, end, right, left, fwd, back in TURNS:
            journal.write("turn", turn_no=no, direction=direction, start_s=start, end_s=end, right_deg=right,
                          left_deg=left, forward_deg=fwd, backward_deg=back)
        assert journal.close() is None                 # the writer thread has stored them all
        assert [t.right_deg for t in store.turns(sid)] == [t[4] for t in TURNS]
        records = journal.ops
    header = {"format": "romcam-recovery-2", "db": str(tmp_path / "a.sqlite3"), "session_id": sid,
              "session_uuid": records[0]["meta"]["uuid"]}
    kept = tmp_path / "a.sqlite3.recovery-1.jsonl"
    kept.write_text("".join(json.dumps(x) + "\n" for x in [header, *records]))
    with Store.open(db_target) as other:           # another database: a file, or a server
        first = replay(other, read_recovery(kept))
        again = replay(other, read_recovery(kept))
        assert first == again and len(other.turns(first)) == 4
        assert other.session(first).row.set_kind == "circles"


def test_history_export_and_fhir_show_turns_and_recorded_visits(db_target, tmp_path):
    """A set of circles is shown as turns (not '0 reps') in history, the CSV and the FHIR bundle;
    a recorded visit (stored with recording=True, as `session --phases` does) is marked in both."""
    from romcam.storage.export import export_csv, history_table
    from romcam.storage.fhir import fhir_bundle
    with Store.open(db_target) as store:
        circles = _session_with_turns(store)
        store.finish_session(circles, "complete")
        visit = store.start_session(SessionMeta("P003", "neck_lateral_flexion", "left", recorded=True))
        for k, p in enumerate((30.0, 31.0), 1):
            store.add_trial(visit, "before", "left", k, p)
            store.add_trial(visit, "after", "left", k, p + 2)
        store.add_rep(visit, "left", 1, 31.5)
        store.finish_session(visit, "complete")
        table = history_table(store.sessions())
        export_csv(store, tmp_path / "v.csv")
        bundle = fhir_bundle(store)
    lines = {line.split()[0]: line for line in table.splitlines() if line.strip()[:1].isdigit()}
    print(table)
    assert "4 turns" in lines[str(circles)] and "reps" not in lines[str(circles)]
    assert "1 rep " in lines[str(visit)] and "complete (recorded visit)" in lines[str(visit)]
    df = pd.read_csv(tmp_path / "v.csv", encoding="utf-8-sig")
    c, v = df[df.session_id == circles], df[df.session_id == visit]
    assert list(c.set_kind) == ["circles", "circles"] and list(c.turns_done) == [4, 4]
    assert list(c.target_turns) == [4, 4] and list(c.recorded) == [0, 0]
    assert list(v.set_kind) == ["reps"] and v.turns_done.isna().all() and list(v.recorded) == [1]
    turns = [comp["valueInteger"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
             for comp in e["resource"]["component"] if comp["code"]["coding"][0]["code"] == "turns_done"]
    assert turns == [4, 4]
