"""Sessions end to end: a real person's head (known-warp) through `romcam session`, stored, then
read back by `history`, `export` and `report`; a real window under Xvfb; kills and interruptions;
the live overlay; the live loop's speed figures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from conftest import media
from romcam.storage.store import Store
from system import require_tool
from videotools import (SESSION_SET, SESSION_TRIALS_AFTER, SESSION_TRIALS_BEFORE, build_side_bend_session)

TOL = 1.5   # deg: the known-warp tolerance


def romcam_cmd(*args):
    return [sys.executable, "-m", "romcam", *map(str, args)]


def run(*args, env=None, timeout=600):
    return subprocess.run(romcam_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


@pytest.fixture(scope="module")
def session_clip(tmp_path_factory, model_dir):
    return build_side_bend_session(tmp_path_factory.mktemp("clip") / "side_bend_session.mp4",
                                   media("neck_rotation_front.mp4"))


SESSION_ARGS = ("session", "--joint", "neck-side-bend", "--side", "right", "--subject", "P001",
                "--target-reps", "8")


def check_stored_session(db, session_id=1):
    with Store.open(db, readonly=True) as store:
        detail = store.session(session_id)
        frames = store.frames(session_id)
    assert detail.row.status == "complete"
    before = [t.peak_deg for t in detail.trials if t.phase == "before" and not t.discarded]
    after = [t.peak_deg for t in detail.trials if t.phase == "after" and not t.discarded]
    assert np.max(np.abs(np.array(before) - SESSION_TRIALS_BEFORE)) <= TOL
    assert np.max(np.abs(np.array(after) - SESSION_TRIALS_AFTER)) <= TOL
    reps = [r.peak_deg for r in detail.reps]
    assert np.max(np.abs(np.array(reps) - SESSION_SET)) <= TOL
    (outcome,) = detail.outcomes
    assert outcome.before_deg == pytest.approx(np.median(before)) and outcome.after_deg == pytest.approx(np.median(after))
    assert 3.5 <= outcome.delta_deg <= 6.5 and outcome.verdict.startswith("improved")
    assert set(frames["phase"]) >= {"neutral", "before", "set", "after"}
    return detail, outcome


def test_headless_session_stored_then_history_export_report(session_clip, tmp_path):
    db = tmp_path / "s.sqlite3"
    r = run(*SESSION_ARGS, "--source", session_clip, "--no-window", "--db", db)
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    assert "set rep 8/8 right" in r.stdout and "improved by" in r.stdout
    detail, outcome = check_stored_session(db)
    assert detail.stats["frames_processed"] == detail.stats["frames_captured"] > 800   # a file: every frame

    hist = run("history", "--db", db, "--subject", "P001")
    assert hist.returncode == 0 and "neck_lateral_flexion" in hist.stdout and "complete" in hist.stdout
    assert f"{outcome.before_deg:.1f}" in hist.stdout and f"{outcome.delta_deg:+.1f}" in hist.stdout

    csv = tmp_path / "export.csv"
    exp = run("export", "--db", db, "--csv", csv, "--frames")
    assert exp.returncode == 0, exp.stderr
    table = pd.read_csv(csv, encoding="utf-8-sig")
    row = table.iloc[0]
    assert (row["subject"], row["joint"], row["side"]) == ("P001", "neck_lateral_flexion", "right")
    assert row["before_deg"] == pytest.approx(round(outcome.before_deg, 1))
    assert row["delta_deg"] == pytest.approx(round(outcome.delta_deg, 1))
    assert row["reps_done"] == 8
    frames = pd.read_csv(tmp_path / "export_frames.csv", encoding="utf-8-sig")
    assert len(frames) == detail.stats["frames_processed"]

    from test_report import Page, check_outcome_cells, check_self_contained
    html = tmp_path / "report.html"
    rep = run("report", "--db", db, "--session", "1", "--out", html)
    assert rep.returncode == 0, rep.stderr
    page = Page(html.read_text(encoding="utf-8"))
    check_self_contained(page)
    check_outcome_cells(page, outcome)


@pytest.fixture
def xvfb():
    xvfb = require_tool("Xvfb", package="xvfb")
    display = f":{90 + os.getpid() % 50}"
    proc = subprocess.Popen([xvfb, display, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    assert proc.poll() is None, "Xvfb did not start"
    yield display
    proc.terminate()
    proc.wait(timeout=10)


def test_session_with_a_real_window_under_xvfb(session_clip, tmp_path, xvfb):
    db = tmp_path / "w.sqlite3"
    r = run(*SESSION_ARGS, "--source", session_clip, "--db", db, env={"DISPLAY": xvfb})
    assert r.returncode == 0, r.stderr
    check_stored_session(db)


# the live window's drawer replaced by one that blocks until the inference worker has finished every
# frame: were inference to wait for drawing, the session would never end
BLOCKING_DRAWER = """
import runpy, sys, threading, time
from romcam.session import display
real_draw = display.draw_view
def blocking_draw(view):
    deadline = time.monotonic() + 180
    while any(t.name == "romcam-inference" for t in threading.enumerate()):
        if time.monotonic() > deadline:
            print("inference waited for the drawer", file=sys.stderr)
            import os; os._exit(3)
        time.sleep(0.05)
    return real_draw(view)
display.draw_view = blocking_draw
sys.argv = ["romcam", *sys.argv[1:]]
runpy.run_module("romcam", run_name="__main__")
"""


def _records(db):
    with Store.open(db, readonly=True) as store:
        detail = store.session(1)
        frames = store.frames(1)
    trials = [(t.phase, t.side, t.trial_no, t.peak_deg, t.discarded) for t in detail.trials]
    return detail, frames, trials, [(r.rep_no, r.peak_deg) for r in detail.reps]


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory, model_dir):
    """The session clip's first 11 s: neutral and two before trials."""
    return build_side_bend_session(tmp_path_factory.mktemp("short") / "short.mp4", media("neck_rotation_front.mp4"),
                                   stop_after_s=11.0)


def test_window_records_what_headless_records_though_the_drawer_blocks(short_clip, tmp_path, xvfb):
    """Every frame of a recording through the session with the window's drawer stuck on the
    first view until inference is over: the same records as without a window, one view drawn."""
    args = (*SESSION_ARGS, "--source", short_clip)
    headless = run(*args, "--no-window", "--db", tmp_path / "h.sqlite3")
    assert headless.returncode == 1, headless.stderr          # the video ends before the protocol
    window = subprocess.run([sys.executable, "-c", BLOCKING_DRAWER, *map(str, args), "--db", tmp_path / "w.sqlite3"],
                            capture_output=True, text=True, timeout=600, env=dict(os.environ, DISPLAY=xvfb))
    assert window.returncode == 1, window.stderr
    print(window.stdout)
    h_detail, h_frames, h_trials, h_reps = _records(tmp_path / "h.sqlite3")
    w_detail, w_frames, w_trials, w_reps = _records(tmp_path / "w.sqlite3")
    assert len(w_frames) == len(h_frames) > 200 and len(h_trials) >= 1
    pd.testing.assert_frame_equal(w_frames, h_frames)
    assert (w_trials, w_reps) == (h_trials, h_reps)
    assert w_detail.row.end_reason == h_detail.row.end_reason
    assert w_detail.stats["frames_processed"] == h_detail.stats["frames_processed"] == h_detail.stats["frames_captured"]
    assert w_detail.stats["frames_drawn"] == 1 and "frames_drawn" not in h_detail.stats


def _press(key: str, display: str) -> None:
    """A real key press (X test extension) on the focused romcam window."""
    xdotool = require_tool("xdotool", package="xdotool")
    env = dict(os.environ, DISPLAY=display)
    subprocess.run([xdotool, "search", "--name", "^romcam$", "windowfocus", "--sync", "%1"], env=env, check=True,
                   timeout=30, capture_output=True)
    subprocess.run([xdotool, "key", key], env=env, check=True, timeout=30)


def test_keys_in_the_live_window_redo_then_quit(short_clip, tmp_path, xvfb):
    """r (redo) after the first before trial discards it, then q ends the session, saved: the keys
    read by the display thread reach the inference worker, in order."""
    db = tmp_path / "keys.sqlite3"
    proc = subprocess.Popen(romcam_cmd(*SESSION_ARGS, "--source", short_clip, "--realtime", "--db", db),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, DISPLAY=xvfb, PYTHONUNBUFFERED="1"))
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "before trial 1/3 right" in line:
            _press("r", xvfb)
        elif "discarded" in line:
            _press("q", xvfb)
    out = "".join(seen)
    assert proc.wait(timeout=60) == 0, out + proc.stderr.read()
    print(out)
    assert "before trial 1 right discarded" in out and "stopped by the user" in out
    with Store.open(db, readonly=True) as store:
        detail = store.session(1)
    assert detail.row.end_reason.startswith("stopped by the user")
    assert [t.discarded for t in detail.trials][:1] == [True]
    assert detail.stats["frames_drawn"] > 0 and detail.stats["latency_ms_median"] is not None


def test_no_screen_for_the_window_is_a_clear_error(session_clip, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = subprocess.run(romcam_cmd(*SESSION_ARGS, "--source", session_clip, "--db", tmp_path / "x.sqlite3"),
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0 and r.stderr.strip().startswith("romcam: error:") and "--no-window" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def _start_and_wait_for(args, marker: str):
    proc = subprocess.Popen(romcam_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            return proc, seen
    proc.wait()
    pytest.fail("the session ended before " + marker + ":\n" + "".join(seen) + proc.stderr.read())


def test_sigkill_mid_set_loses_no_counted_rep(session_clip, tmp_path):
    db = tmp_path / "k.sqlite3"
    proc, seen = _start_and_wait_for([*SESSION_ARGS, "--source", session_clip, "--no-window", "--db", db],
                                     "set rep 3/8")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    printed = [ln for ln in seen if "set rep" in ln]
    with Store.open(db, readonly=True) as store:
        (row,) = store.sessions()
        detail = store.session(row.id)
    assert row.status_label == "incomplete (interrupted)"
    assert len(detail.reps) >= len(printed) == 3
    assert len([t for t in detail.trials if t.phase == "before"]) == 3
    assert detail.outcomes[0].before_deg == pytest.approx(np.median([t.peak_deg for t in detail.trials]))


def test_ctrl_c_mid_set_saves_an_incomplete_session(session_clip, tmp_path):
    db = tmp_path / "c.sqlite3"
    proc, _ = _start_and_wait_for([*SESSION_ARGS, "--source", session_clip, "--realtime", "--no-window", "--db", db],
                                  "set rep 2/8")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "incomplete (interrupted (Ctrl-C))" in out and "saved" in out, out + err
    with Store.open(db, readonly=True) as store:
        (row,) = store.sessions()
        detail = store.session(row.id)
    assert row.status == "incomplete" and detail.row.end_reason == "interrupted (Ctrl-C)"
    assert len(detail.reps) >= 2


def test_camera_that_disappears_mid_session(tmp_path, model_dir):
    """A camera (a replayed clip, played at real pace) that stops delivering frames in the set."""
    short = build_side_bend_session(tmp_path / "short.mp4", media("neck_rotation_front.mp4"), stop_after_s=21.0)
    db = tmp_path / "gone.sqlite3"
    r = run(*SESSION_ARGS, "--source", short, "--realtime", "--no-window", "--db", db)
    assert r.returncode == 1, r.stderr          # ended before the protocol did: not a success
    assert "the camera stopped delivering frames" in r.stdout and "saved" in r.stdout
    with Store.open(db, readonly=True) as store:
        (row,) = store.sessions()
        detail = store.session(row.id)
    assert row.status == "incomplete" and detail.row.end_reason == "the camera stopped delivering frames"
    assert len([t for t in detail.trials if t.phase == "before"]) == 3 and len(detail.reps) >= 1
    stats = detail.stats
    assert stats["live"] and stats["frames_captured"] == stats["frames_processed"] + stats["frames_dropped"]


@pytest.mark.parametrize("args,fragment", [
    (("--joint", "ankle", "--subject", "P1", "--source", "x.mp4", "--no-window"), "--side left"),
    (("--joint", "neck-side-bend", "--subject", "P1", "--source", "7", "--no-window"), "webcam 7"),
    (("--joint", "neck-side-bend", "--subject", "=cmd", "--source", "x", "--no-window"), "subject"),
])
def test_session_bad_input(args, fragment, tmp_path):
    r = run("session", *args, "--db", tmp_path / "b.sqlite3")
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("romcam: error:") and fragment in lines[0], r.stderr


def test_not_a_database_is_refused_and_left_alone(tmp_path, session_clip):
    db = tmp_path / "notes.sqlite3"
    db.write_text("my notes")
    r = run(*SESSION_ARGS, "--source", session_clip, "--no-window", "--db", db)
    assert r.returncode != 0 and r.stderr.startswith("romcam: error:")
    assert db.read_text() == "my notes"
