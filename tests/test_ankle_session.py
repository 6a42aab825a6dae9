"""An ankle session on a real person: lunges_side.mp4 replayed three times after a still stand
(before = the first three lunges, set = the next three, after = the last three), through the
live session code (causal swap tracker, scene vertical read during setup, heel flags stored)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import media
from romcam.storage.store import Store
from videotools import read_frames, write_video


@pytest.fixture(scope="module")
def lunge_session_clip(tmp_path_factory):
    frames, fps = read_frames(media("lunges_side.mp4"))
    rng = np.random.default_rng(7)
    base = frames[0].astype(np.int16)
    still = [np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8) for _ in range(int(3.5 * fps))]
    seam = [frames[-1]] * int(fps / 2) + [frames[0]] * int(fps / 2)
    return write_video(tmp_path_factory.mktemp("ankle_session") / "lunges_session.mp4",
                       still + frames + seam + frames + seam + frames + [frames[-1]] * int(fps), fps)


@pytest.fixture(scope="module")
def lunge_session(lunge_session_clip, tmp_path_factory, model_dir):
    db = tmp_path_factory.mktemp("ankle_db") / "s.sqlite3"
    r = subprocess.run([sys.executable, "-m", "romcam", "session", "--joint", "ankle", "--side", "right",
                        "--subject", "P001", "--source", str(lunge_session_clip), "--no-window", "--trials", "3",
                        "--target-reps", "3", "--db", str(db)], capture_output=True, text=True, timeout=600)
    print(r.stdout)
    ended_early = "the video ended" in r.stdout       # then the exit is 1, not a success (issue #11)
    assert r.returncode == (1 if ended_early else 0), r.stderr
    with Store.open(db, readonly=True) as store:
        detail = store.session(1)
    peaks = [t.peak_deg for t in detail.trials if not t.discarded]
    print(f"session trials {np.round(peaks, 1)} (SD {np.std(peaks, ddof=1):.2f} deg), set reps "
          f"{np.round([x.peak_deg for x in detail.reps], 1)}; heel flags {[t.heel_lifted for t in detail.trials]}")
    return r.stdout, detail


def test_ankle_session_vertical_prompts_heel_flags(lunge_session):
    out, detail = lunge_session
    assert "knee forward over your toes" in out and "heel down" in out
    assert "leg swaps repaired" in out
    assert detail.vertical_source == "scene" and 1.0 <= detail.camera_roll_deg <= 4.0
    assert len(detail.trials) >= 4 and len(detail.reps) == 3
    assert all(t.heel_lifted is False for t in detail.trials)      # the standing heel stays down
    assert all(x.heel_lifted is False for x in detail.reps)


@pytest.mark.xfail(strict=True, reason="NOT MET yet: measured 6 trials 23.4, 24.8, 26.3 (before) and 22.8, 26.0, "
                   "26.8 (after), SD 1.63 deg (limit 1.5; 23.4-33.1 and SD 4.9 before the partial-swap cleaning). "
                   "Much of it is the clip's own lunges: the shin at their peaks reads 24.7, 25.7 and 27.0 deg "
                   "(SD 1.03 for each lunge twice); the first lunge reads 1.3-1.9 deg low in the session")
def test_ankle_session_trial_spread(lunge_session):
    _, detail = lunge_session
    peaks = [t.peak_deg for t in detail.trials if not t.discarded]
    assert len(peaks) == 6 and np.std(peaks, ddof=1) <= 1.5


@pytest.mark.parametrize("side,fragment", [("both", "--side both is not possible"),
                                           ("auto", "--side auto is not possible")])
def test_session_side_refused_for_the_ankle(side, fragment, tmp_path):
    r = subprocess.run([sys.executable, "-m", "romcam", "session", "--joint", "ankle", "--side", side,
                        "--subject", "P001", "--no-window", "--db", str(tmp_path / "x.sqlite3")],
                       capture_output=True, text=True, timeout=60)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode != 0 and len(lines) == 1 and lines[0].startswith("romcam: error:") and fragment in lines[0]


def test_ankle_recorded_visit_with_phases(lunge_session_clip, lunge_session, tmp_path):
    """The same clip as a recorded visit (issue #13): phases cut in the seams between the replays,
    the neutral named over the still stand (--neutral), the scene's vertical read as `analyze` reads it. The counts
    are the clip's (each replay's third lunge runs into the seam: two complete lunges in 'before'),
    not a promise of the ankle's accuracy (see the xfail above)."""
    fps = 30.128
    still, clip, seam = 105 / fps, 191 / fps, 30 / fps
    cuts = [0.0, still + clip, still + 2 * clip + seam, still + 3 * clip + 2 * seam + 1.0]
    phases = ",".join(f"{name}={a:.2f}:{b:.2f}" for name, a, b in zip(("before", "set", "after"), cuts, cuts[1:]))
    db = tmp_path / "v.sqlite3"
    r = subprocess.run([sys.executable, "-m", "romcam", "session", "--joint", "ankle", "--side", "right",
                        "--subject", "P001", "--source", str(lunge_session_clip), "--phases", phases,
                        "--neutral", "0:01-0:03", "--recorded-at", "2026-03-14T10:30", "--db", str(db)],
                       capture_output=True, text=True, timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    with Store.open(db, readonly=True) as store:
        detail = store.session(1)
    _, live = lunge_session
    peaks = {p: [round(t.peak_deg, 1) for t in detail.trials if t.phase == p] for p in ("before", "after")}
    print(f"recorded: {peaks}, set {[round(x.peak_deg, 1) for x in detail.reps]}; live: "
          f"{[(t.phase, round(t.peak_deg, 1)) for t in live.trials]}, set {[round(x.peak_deg, 1) for x in live.reps]}")
    assert detail.row.status == "complete" and detail.stats["meta"]["recording"] is True
    assert detail.row.started_at.startswith("2026-03-14T10:30:00") and detail.stats["meta"]["dated_from"] == "--recorded-at"
    assert detail.stats["meta"]["neutral_source"].startswith("over 0:01-0:03 (--neutral 0:01-0:03; spread")
    assert detail.neutral_deg == pytest.approx(live.neutral_deg, abs=1.0)      # both from the still stand
    assert detail.vertical_source == "scene" and 1.0 <= detail.camera_roll_deg <= 4.0
    assert len(peaks["before"]) >= 2 and len(peaks["after"]) >= 2 and len(detail.reps) >= 2
    assert all(t.heel_lifted is False for t in detail.trials)      # the standing heel stays down
    assert all(15.0 <= p <= 50.0 for p in peaks["before"] + peaks["after"])
