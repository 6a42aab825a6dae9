"""An ankle session on a real person: lunges_side.mp4 replayed three times after a still stand
(before = the first three lunges, set = the next three, after = the last three), through the
live session code (causal swap tracker, scene vertical read during setup, heel flags stored)."""

from __future__ import annotations

import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import media
from romcam.capture.pipeline import ModelChoice, extract_landmarks
from romcam.measure.analysis import analyze_landmarks
from romcam.measure.ankle import Vertical, measure_legs
from romcam.measure.joints import get_joint
from romcam.measure.reps import count_reps
from romcam.storage.store import Store
from videotools import read_frames, write_video

STILL, CLIP, SEAM = 105, 191, 30     # frames of the first still stand, of lunges_side.mp4, of a seam (below)


SET_REPS_NOT_LUNGES = ("NOT MET: the set's 3 reps are lunge 1 of replay 2 (22.4 deg, 1.29 s into the clip) and lunge 2 "
                       "counted twice (19.5 deg at 3.05 s, 25.4 at 3.58 s): in its descent MediaPipe draws the front "
                       "knee back inside the thigh on a few frames, the shin reads 9-12 deg where it is near 20, and "
                       "the rise back to the bottom counts as an oscillation of its own (the same misdraw as in "
                       "analyze, tests/integration/test_real_clips.py ANKLE_LUNGES). So the set ends in replay 2's "
                       "second lunge and the after trials are replay 2's third lunge and replay 3's first two. "
                       "Every rep and trial has the heel down")


@pytest.fixture(scope="module")
def lunge_session_clip(tmp_path_factory):
    """A still stand (the clip's first frame with camera noise), then the clip three times, each
    followed by 1 s of the same still stand. The clip ends mid-step (the rear leg swinging past the
    standing one); the stand after it is the person back on both feet. A frozen copy of that
    last frame would be a person stopped mid-stride with the legs crossed, which MediaPipe reads
    as the standing ankle at the rear foot (27-30 deg) for as long as it is held."""
    frames, fps = read_frames(media("lunges_side.mp4"))
    rng = np.random.default_rng(7)
    base = frames[0].astype(np.int16)

    def stand(n):
        return [np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8) for _ in range(n)]

    still, seam = stand(STILL), stand(SEAM)
    return write_video(tmp_path_factory.mktemp("ankle_session") / "lunges_session.mp4",
                       still + frames + seam + frames + seam + frames + stand(int(fps)), fps)


@pytest.fixture(scope="module")
def lunge_session_db(tmp_path_factory):
    return tmp_path_factory.mktemp("ankle_db") / "s.sqlite3"


@pytest.fixture(scope="module")
def lunge_session(lunge_session_clip, lunge_session_db, model_dir):
    db = lunge_session_db
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


def test_ankle_session_trial_spread(lunge_session):
    """Six trials, two readings of each of the clip's three lunges (which differ: analyze reads them
    23.7, 25.9, 27.3 deg). Measured: 23.4, 24.8, 26.3 (before: lunges 1-3 of replay 1) and 26.9,
    24.0, 24.6 (after: lunge 3 of replay 2, lunges 1-2 of replay 3; see SET_REPS_NOT_LUNGES), SD 1.33.
    Until the seams were a still stand it was 22.8, 26.0, 26.8 after, SD 1.63: the seam held the
    clip's last frame (the legs crossed mid-step), read 27-30 deg, and the set took it for a rep."""
    _, detail = lunge_session
    peaks = [t.peak_deg for t in detail.trials if not t.discarded]
    assert len(peaks) == 6 and np.std(peaks, ddof=1) <= 1.5


def test_session_and_analysis_agree_on_the_same_frames(lunge_session_clip, lunge_session, lunge_session_db,
                                                     model_dir):
    """The live path (causal swap tracker, the toes' direction from the past second, the scene's
    vertical read during setup, each peak re-read from its trial's own window) against analyze's,
    on the very same landmarks: one sequential pass of the pose model over the clip, as the session
    ran it. Measured: the same shin angle on all 644 frames after setup (603 measured by both; largest difference 0.0
    deg; the frame that ended setup read 2.2 deg off while the scene's roll was applied only after
    it), and all 6 trial peaks equal to the excursions from rest and back that analyze's filtered angle
    gives (romcam.measure.reps.count_reps, as a session counts its trials; largest difference 0.00
    deg). analyze's set reps are oscillations, which also count the misdrawn knee (SET_REPS_NOT_LUNGES)."""
    _, detail = lunge_session
    models = ModelChoice.resolve("full", False, model_dir)
    landmarks, _ = extract_landmarks(lunge_session_clip, models, workers=1, progress=False)
    vertical = Vertical.from_scene(detail.camera_roll_deg, 1.0, True)
    t = np.array([lm.t_s for lm in landmarks])
    shin = measure_legs(landmarks, vertical).shin["right"]
    with Store.open(lunge_session_db, readonly=True) as store:
        frames = store.frames(1)
    frames = frames[(frames.side == "right") & (frames.phase != "setup")]
    k = np.searchsorted(t, frames.t_s.to_numpy())
    assert np.allclose(t[k], frames.t_s.to_numpy())
    live, offline = frames.angle_deg.to_numpy(), shin[k]
    both = np.isfinite(live) & np.isfinite(offline)
    worst = float(np.max(np.abs(live - offline)[both]))
    a = analyze_landmarks(get_joint("ankle"), landmarks, "right", vertical=vertical)
    r = a.sides["right"]
    reps, _ = count_reps(a.t, a.channels[r.channel].filtered, "right", r.thresholds, r.neutral_deg, r.sign)
    session = sorted([x for x in detail.trials if not x.discarded], key=lambda x: x.peak_s)
    nearest = [min(reps, key=lambda r: abs(r.peak_s - x.peak_s)) for x in session]
    peak_diff = [abs(r.peak_deg - x.peak_deg) for r, x in zip(nearest, session)]
    print(f"same frames: {len(frames)} after setup, {int(both.sum())} measured by both, largest difference "
          f"{worst:.4f} deg; session peaks {np.round([x.peak_deg for x in session], 2)}, analyze "
          f"{np.round([r.peak_deg for r in nearest], 2)} (largest difference {max(peak_diff):.3f} deg)")
    assert np.array_equal(np.isfinite(live), np.isfinite(offline)) and both.sum() > 0.8 * len(frames)
    assert worst <= 0.01
    assert len(session) == 6 and all(abs(r.peak_s - x.peak_s) <= 0.05 for r, x in zip(nearest, session))
    assert max(peak_diff) <= 0.1


@pytest.mark.xfail(strict=True, reason=SET_REPS_NOT_LUNGES)
def test_ankle_session_set_reps_are_the_lunges_with_the_heel_down(lunge_session):
    """The set's reps are replay 2's three lunges: each peaks where a before trial (the same lunge in
    replay 1) peaks in the clip, within 0.5 s, heel down."""
    _, detail = lunge_session
    fps = 30.128
    before = sorted(x.peak_s - STILL / fps for x in detail.trials if x.phase == "before" and not x.discarded)
    in_clip = sorted(x.peak_s - (STILL + CLIP + SEAM) / fps for x in detail.reps)
    print(f"set reps at {np.round(in_clip, 2)} s in the clip, before trials at {np.round(before, 2)} s")
    assert all(x.heel_lifted is False for x in detail.reps)
    assert len(in_clip) == len(before) == 3 and all(abs(a - b) <= 0.5 for a, b in zip(in_clip, before))


@pytest.mark.xfail(strict=True, reason=SET_REPS_NOT_LUNGES)
def test_ankle_session_same_lunge_repeats(lunge_session, lunge_session_db, output_dir):
    """What replaying the same lunges shows about the instrument: each of the clip's three lunges
    read once per replay (before trial k, set rep k, after trial k), told apart by where their peak
    falls in its replay. Measured: SD 0.93, 0.63 and 0.29 deg per lunge (23.4/24.6/22.8,
    24.8/25.8/26.0, 26.3/26.7/26.8; measured before set reps were oscillations, with seams that held
    the clip's last frame). MediaPipe draws the standing foot half-way to the rear one on a
    few frames where the rear leg lifts and passes, on other frames in each replay (leg points up to
    240 px apart between replays, 2 px median elsewhere)."""
    _, detail = lunge_session
    fps = 30.128
    readings = [[x for x in detail.trials if x.phase == phase and not x.discarded] for phase in ("before", "after")]
    readings = [sorted(r, key=lambda x: x.peak_s) for r in (readings[0], list(detail.reps), readings[1])]
    assert [len(r) for r in readings] == [3, 3, 3]
    in_clip = np.array([[x.peak_s - (STILL + k * (CLIP + SEAM)) / fps for x in r] for k, r in enumerate(readings)])
    peaks = np.array([[x.peak_deg for x in r] for r in readings])
    sd = peaks.std(axis=0, ddof=1)
    print(f"each lunge in its three replays: peaks {np.round(peaks.T, 1).tolist()} deg, SD {np.round(sd, 2)}; "
          f"peak times in the clip {np.round(in_clip.T, 2).tolist()} s")
    _plot_replays(lunge_session_db, readings, fps, output_dir / "ankle_session_replays.png")
    assert np.ptp(in_clip, axis=0).max() <= 1.0          # the same lunge in each replay (2.2 s apart)
    assert sd.max() <= 1.5


def _plot_replays(db, readings, fps, path):
    """The session's stored shin angle of each replay on the clip's own time, its peaks marked
    (test-output/ankle_session_replays.png): the spikes where the rear leg passes differ from
    replay to replay, the bottoms do not."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with Store.open(db, readonly=True) as store:
        frames = store.frames(1)
    fig, ax = plt.subplots(figsize=(10, 4))
    for k, (name, r) in enumerate(zip(("before", "set", "after"), readings)):
        t0 = (STILL + k * (CLIP + SEAM)) / fps
        one = frames[(frames.t_s >= t0) & (frames.t_s < t0 + CLIP / fps)]
        line, = ax.plot(one.t_s - t0, one.angle_deg, lw=1, label=f"replay {k + 1} ({name})")
        ax.plot([x.peak_s - t0 for x in r], [x.peak_deg for x in r], "o", color=line.get_color())
    ax.set(xlabel="time in lunges_side.mp4 (s)", ylabel="right shin from vertical (deg)",
           title="lunges_side.mp4 replayed in one ankle session: each frame as stored (lines), "
                 "trial and rep peaks (dots)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    are the clip's, not a promise of the ankle's accuracy (see the xfails above)."""
    fps = 30.128
    still, clip, seam = STILL / fps, CLIP / fps, SEAM / fps
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
    assert detail.row.status == "complete" and detail.row.recorded and "meta" not in detail.stats
    assert detail.row.started_at.startswith("2026-03-14T10:30:00") and detail.dated_from == "--recorded-at"
    assert detail.neutral_source.startswith("over 0:01-0:03 (--neutral 0:01-0:03; spread")
    assert detail.neutral_deg == pytest.approx(live.neutral_deg, abs=1.0)      # both from the still stand
    assert detail.vertical_source == "scene" and 1.0 <= detail.camera_roll_deg <= 4.0
    assert len(peaks["before"]) >= 2 and len(peaks["after"]) >= 2 and len(detail.reps) >= 2
    assert all(t.heel_lifted is False for t in detail.trials)      # the standing heel stays down
    assert all(15.0 <= p <= 50.0 for p in peaks["before"] + peaks["after"])


def test_session_named_far_leg_waits_at_setup_until_the_person_turns(tmp_path, model_dir):
    """Issue #23: the right leg named, the first 4 s of squat_jumps_side.mp4 (his right leg away
    from the camera), then the same 4 s mirrored (he has turned: the right leg nearer). Setup
    says so from the first frame and holds until the turn; then the session goes on."""
    frames, fps = read_frames(media("squat_jumps_side.mp4"))
    four = frames[:int(round(4 * fps))]
    clip = write_video(tmp_path / "turn.mp4", four + [cv2.flip(f, 1) for f in four], fps)
    db = tmp_path / "t.sqlite3"
    r = subprocess.run([sys.executable, "-m", "romcam", "session", "--joint", "ankle", "--side", "right",
                        "--subject", "P001", "--source", str(clip), "--no-window", "--trials", "3", "--db", str(db)],
                       capture_output=True, text=True, timeout=600)
    print(r.stdout)
    lines = r.stdout.splitlines()
    away = "Your right leg is away from the camera: turn around, or measure the left leg (--side left)"
    assert any(ln.startswith("[   0.0 s] setup: " + away) for ln in lines)
    started = [float(m.group(1)) for ln in lines if (m := re.match(r"\[\s*([\d.]+) s\] neutral:", ln))]
    assert started and started[0] >= len(four) / fps, "setup ended before the person turned"
    with Store.open(db, readonly=True) as store:
        detail = store.session(1)
    assert not detail.trials and not detail.reps
