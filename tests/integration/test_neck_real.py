"""Neck side-bend on real necks (../shared/media): real side-bends followed by head turns, head
turns alone, the face-mesh gate, a whole session on real frames, and bad input.

Printed with ``pytest -s``: the peaks found and why frames were left out.
"""

from __future__ import annotations

import re

import json
import os
import subprocess
import sys
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from conftest import media
from romcam.capture.landmarks import FrameLandmarks
from romcam.capture.synthetic import neck_landmarks
from romcam.measure import head, series
from romcam.measure.analysis import analyze_landmarks, summary
from romcam.measure.joints import get_joint
from romcam.storage.store import Store
from romcam.session import phases as ph
from romcam.timestamps import parse_timestamp
from videotools import (REAL_STILL_S, build_alternating_real_bends, build_real_side_bend_visit, real_side_bend_loop_frames)

NECK = get_joint("neck-side-bend")
# side_bend_rotation_front.mp4 (its README): three real side-bends to her LEFT peaking about 3.8,
# 18.2 and 30.2 s, each followed by a 60-65 deg head turn held 6-8 s.
BEND_PEAKS_S = (3.8, 18.2, 30.2)


def test_real_side_bends_counted_and_turn_holds_ignored(landmarks_of):
    a = analyze_landmarks(NECK, landmarks_of(media("side_bend_rotation_front.mp4"), face=True), "both")
    s = summary(a)
    neutral = a.sides["left"].neutral_deg
    peaks = [r.peak_deg for r in a.sides["left"].reps]
    print(f"\nside_bend_rotation_front: reps {s['rep_count']}, left peaks {np.round(peaks, 1)} deg "
          f"(neutral {neutral:+.1f}), frames left out {s['invalid_frames']}")
    assert s["rep_count"] == {"left": 3, "right": 0}
    for rep, expected_t in zip(a.sides["left"].reps, BEND_PEAKS_S):
        assert abs(rep.peak_s - expected_t) <= 1.0, (rep.peak_s, expected_t)   # the bend, not the turn hold
        assert 40.0 <= rep.peak_deg <= 52.0
        assert 40.0 <= rep.peak_deg + neutral <= 52.0                         # also relative to the neutral
    # the turn holds were past the face-mesh limit, and said so
    assert s["invalid_frames"].get(series.TURNED, 0) > 200
    # each rep against the clip's own range (its 95th-percentile excursion, 48.7 deg): the first
    # bend falls 5 deg short of it (grade II), the other two reach it (III)
    quality = s["set_quality"]["left"]
    print(f"set quality: {quality['summary']}; grades {[r['grade'] for r in quality['reps']]}")
    assert [r["grade"] for r in quality["reps"]] == ["II", "III", "III"] and quality["grade"] == "III"


def test_a_face_too_small_for_the_face_detector_is_said_with_what_to_do(landmarks_of):
    """squats_front.mp4 films a whole person from a few metres: the pose is found, the face never
    (MediaPipe's short-range face detector). The summary says why, and what to film instead."""
    a = analyze_landmarks(NECK, landmarks_of(media("squats_front.mp4"), face=True), "both")
    s = summary(a)
    print(f"\nsquats_front (neck): {s['invalid_frames']}; {s['warnings']}")
    assert a.valid_frames == 0 and set(s["invalid_frames"]) == {series.NO_FACE}
    assert any("face not found" in w and "about 2 m" in w and "head and shoulders" in w for w in s["warnings"])


def test_alternating_real_bends_without_a_pause_are_each_counted(landmarks_of, tmp_path):
    """Real bends left, right, left... straight through neutral (the unseen recording of issue #8
    alternated): every bend is a rep of its own side, and each mirrored bend reads as its twin."""
    clip = build_alternating_real_bends(tmp_path / "alternating.mp4", media("side_bend_rotation_front.mp4"))
    a = analyze_landmarks(NECK, landmarks_of(clip, face=True), "both")
    s = summary(a)
    reps = sorted((r.peak_s, side, r.peak_deg) for side, res in a.sides.items() for r in res.reps)
    print(f"\nalternating real bends: reps {s['rep_count']}, in order "
          + ", ".join(f"{side} {peak:.1f}" for _, side, peak in reps))
    assert s["rep_count"] == {"left": 3, "right": 3}
    assert [side for _, side, _ in reps] == ["left", "right"] * 3
    for (_, _, left), (_, _, right) in zip(reps[::2], reps[1::2]):
        assert abs(left - right) <= 1.5 and 40.0 <= min(left, right) and max(left, right) <= 55.0


@pytest.mark.parametrize("clip", ["neck_rotation_front.mp4", "neck_rotation_front_2.mp4"])
def test_head_turns_alone_are_not_side_bends(clip, landmarks_of):
    a = analyze_landmarks(NECK, landmarks_of(media(clip), face=True), "both")
    s = summary(a)
    print(f"\n{clip}: reps {s['rep_count']}, turn excursions {s['head_turn_excursions']}")
    assert s["rep_count"] == {"left": 0, "right": 0}


def test_the_neck_angle_does_not_depend_on_where_the_chunks_split(landmarks_of, model_dir, monkeypatch):
    """The pipeline's two chunks split 14 frames earlier: the pose model's tracking warms up
    differently and its poses fall on other frames (every 3rd), so the shoulder line differs by
    up to 2.7 deg per frame; the neck angle must not (issue #12: within 1 deg of the plain loop).
    Measured on this clip: 1.36 deg with the reference read at rest alone, 0.27 averaged."""
    from romcam.capture import pipeline

    clip = media("neck_rotation_front.mp4")
    default = landmarks_of(clip, face=True)
    plan = pipeline.chunk_plan

    def split_earlier(frame_count, fps, workers, warmup_s=1.0):
        (start, _, keep), (start2, stop2, keep2) = plan(frame_count, fps, workers, warmup_s)
        return [(start, keep2 - 14, keep), (start2 - 14, stop2, keep2 - 14)]

    monkeypatch.setattr(pipeline, "chunk_plan", split_earlier)
    models = pipeline.ModelChoice.resolve("full", True, model_dir, progress=False)
    shifted, _ = pipeline.extract_landmarks(clip, models, progress=False)
    a, b = analyze_landmarks(NECK, default, "both"), analyze_landmarks(NECK, shifted, "both")
    ca, cb = a.channels["signed"], b.channels["signed"]
    both = ca.valid & cb.valid
    diff = np.abs(ca.filtered[both] - cb.filtered[both])
    shoulders = [np.array([NECK.reference_angle(lm) for lm in lms])[both] for lms in (default, shifted)]
    moved = np.nanmax(np.abs(shoulders[0] - shoulders[1]))      # the split did change the input
    print(f"\nneck_rotation_front split 14 frames earlier: {both.sum()} frames, largest angle difference "
          f"{diff.max():.2f} deg (median {np.median(diff):.2f}); shoulder line per frame up to {moved:.2f} deg apart")
    assert both.sum() > 200 and moved > 1.0
    assert diff.max() <= 1.0
    assert summary(b)["rep_count"] == summary(a)["rep_count"]


@pytest.mark.parametrize("clip", ["neck_rotation_front.mp4", "neck_rotation_front_2.mp4"])
def test_without_the_turn_check_head_turns_give_false_bends(clip, landmarks_of):
    """Why the rep-level turn check exists: with a looser gate (65 deg) and no check, the apparent
    side-bend during 45-60 deg head turns reads as a side-bend rep (measured: 7.7 and 11.8 deg)."""
    import dataclasses
    loose = dataclasses.replace(NECK, max_face_turn_deg=65.0, max_turn_ratio=None)
    strict = dataclasses.replace(NECK, max_face_turn_deg=65.0)
    lms = landmarks_of(media(clip), face=True)
    assert sum(len(r.reps) for r in analyze_landmarks(loose, lms, "both").sides.values()) >= 1
    a = analyze_landmarks(strict, lms, "both")
    assert sum(len(r.reps) for r in a.sides.values()) == 0
    assert summary(a)["head_turn_excursions"], "the turn excursion is reported, not silently dropped"


def test_gate_is_the_face_mesh_limit_on_camera_yaw(landmarks_of):
    """Frames whose face is turned more than 45 deg from the camera are invalid, with that reason;
    frames below it are kept (a real side-bend's coupled turn of up to 35 deg stays measured)."""
    lms = landmarks_of(media("neck_rotation_front.mp4"), face=True)
    a = analyze_landmarks(NECK, lms, "both")
    ch = a.channels["signed"]
    yaw = np.array([abs(float(head.camera_yaw_deg(lm.face_matrix))) if lm.face_matrix is not None else np.nan
                    for lm in lms])
    past = yaw > NECK.max_face_turn_deg
    assert past.mean() > 0.3
    assert not ch.valid[past].any()
    assert {ch.problems[k] for k in np.flatnonzero(past)} == {series.TURNED}
    assert ch.valid[yaw < 40].mean() > 0.95


# ---------------------------------------------------------------------------------- a session


@pytest.fixture(scope="module")
def real_session_clip(tmp_path_factory):
    """Her three real bends looped three times after a still hold (videotools.build_real_side_bend_visit)."""
    return build_real_side_bend_visit(tmp_path_factory.mktemp("real") / "side_bends.mp4",
                                      media("side_bend_rotation_front.mp4"))


def _session(clip, db, *extra, code=0):
    r = subprocess.run([sys.executable, "-m", "romcam", "session", "--joint", "neck-side-bend", "--side", "left",
                        "--subject", "REAL1", "--target-reps", "3", "--source", str(clip), "--no-window",
                        "--db", str(db), *extra], capture_output=True, text=True, timeout=900, env=dict(os.environ))
    print(r.stdout)
    assert r.returncode == code, r.stderr
    with Store.open(db, readonly=True) as store:
        return store.session(1), store.frames(1), r.stdout


@pytest.fixture(scope="module")
def live_real_session(real_session_clip, tmp_path_factory):
    """The headless live session on the clip: the protocol's prompts, its still hold and counts."""
    return _session(real_session_clip, tmp_path_factory.mktemp("live") / "s.sqlite3")


def _peaks(detail):
    trials = [t for t in detail.trials if not t.discarded]
    return ([t.peak_deg for t in trials if t.phase == "before"], [x.peak_deg for x in detail.reps],
            [t.peak_deg for t in trials if t.phase == "after"])


def test_session_on_real_side_bends_records_every_trial_and_rep(live_real_session):
    detail, frames, _ = live_real_session
    before, reps, after = _peaks(detail)
    assert detail.row.status == "complete"
    assert len(before) == 3 and len(after) == 3 and len(detail.reps) == 3
    assert all(38.0 <= p <= 54.0 for p in before + after + reps)
    (outcome,) = detail.outcomes
    print(f"before {np.round(before, 1)}, after {np.round(after, 1)}, delta {outcome.delta_deg:+.2f}, "
          f"MDC95 {outcome.mdc95_deg}, {outcome.verdict}")
    assert abs(outcome.delta_deg) < 3.0
    assert not outcome.verdict.startswith("improved")
    # the head's other channels and the reasons are stored per frame
    assert frames["head_turn_deg"].abs().max() > 40
    assert (frames["invalid_reason"] == series.TURNED).any()
    assert frames.loc[frames["valid"], "invalid_reason"].isna().all()


def test_session_on_a_video_without_a_still_hold_waits_for_a_real_neutral(tmp_path):
    """side_bend_rotation_front.mp4 as it is: she bends from 0.6 s, so there is no still hold
    until she is back from the first turn hold (13.5-15.5 s). The neutral comes from there, not
    from the few frames seen at the end of the first bend before the face turned away (it once
    read -22.7 deg, and the trials 26.9-28.6 deg against it); then her next two bends are the
    before trials and the video ends."""
    detail, _, out = _session(media("side_bend_rotation_front.mp4"), tmp_path / "s.sqlite3", code=1)
    before, _, _ = _peaks(detail)
    print(f"neutral {detail.neutral_deg:+.2f} deg, before trials {np.round(before, 1)}")
    assert abs(detail.neutral_deg) <= 4.0
    assert len(before) == 2 and all(45.0 <= p <= 55.0 for p in before)
    assert detail.row.status == "incomplete" and "the video ended during 'before'" in out


VISIT_TOL = 2.0   # deg. A recorded visit measures the whole video as `analyze` does (the shoulder
# line at rest read over a window centred on each frame; tests/test_one_pipeline.py holds the two
# within 0.1 deg); the live run can only look back (the past 3-6 s), which reads up to ~2.7 deg apart
# on a frame of this clip and 1.54 deg apart on a peak (before, trial 3). The landmarks also differ
# a little: the visit's come from the two-core pipeline, the live run's from one sequential detector.


def test_recorded_visit_with_phases_matches_the_live_run(real_session_clip, live_real_session, tmp_path):
    """Issue #13: the same frames as a recorded visit with --phases (no still hold needed; the
    neutral from the stillest stretch) give the live run's before trials, set reps and after trials."""
    loop_s = real_side_bend_loop_frames(25.0) / 25.0
    start = REAL_STILL_S                    # the phases as the clinician reads them off the video:
    phases = (f"before=0:{start + loop_s:.2f},set={start + loop_s:.2f}:{start + 2 * loop_s:.2f},"
              f"after={ph.format_time(start + 2 * loop_s)}-{ph.format_time(start + 3 * loop_s)}")
    filmed = datetime(2026, 3, 14, 10, 30).astimezone()      # the clip has no creation time: its file
    duration = 1581 / 25.0                                      # time, less its length, dates the visit
    os.utime(real_session_clip, (filmed.timestamp() + duration,) * 2)
    detail, frames, out = _session(real_session_clip, tmp_path / "v.sqlite3", "--phases", phases)
    assert "filmed 2026-03-14 10:30 (from the file's modification time less its duration" in out
    assert abs((parse_timestamp(detail.row.started_at) - filmed).total_seconds()) <= 1.0
    assert abs((parse_timestamp(detail.row.ended_at) - filmed).total_seconds() - duration) <= 1.0
    for x in detail.trials + detail.reps:        # each stamped with the moment it was filmed
        assert abs((parse_timestamp(x.created_at) - filmed).total_seconds() - x.end_s) <= 1.0
    live, _, _ = live_real_session
    for name, rec, ref in zip(("before", "set", "after"), _peaks(detail), _peaks(live)):
        diff = np.max(np.abs(np.subtract(rec, ref)))
        print(f"{name}: recorded {np.round(rec, 2)}, live {np.round(ref, 2)}, largest difference {diff:.2f} deg")
        assert len(rec) == len(ref) == 3 and diff <= VISIT_TOL
    print(f"stored: {detail.phases}; {detail.neutral_source}; neutral {detail.neutral_deg} (live {live.neutral_deg})")
    assert detail.row.recorded and detail.phases.startswith("before 0:00-0:23.1, set 0:23.1-0:43.2")
    assert detail.neutral_source.startswith("the stillest 1.5 s of looking ahead, 0:0")   # in the still hold
    assert abs(detail.neutral_deg - live.neutral_deg) <= 1.5    # the raw angle: 1.13 apart (the live reading ~1.1 lower)
    assert detail.row.status == "complete" and "recorded visit" in detail.camera
    (outcome,), (live_outcome,) = detail.outcomes, live.outcomes
    assert outcome.before_deg == pytest.approx(live_outcome.before_deg, abs=VISIT_TOL)
    assert outcome.after_deg == pytest.approx(live_outcome.after_deg, abs=VISIT_TOL)
    assert outcome.mdc95_deg is not None and outcome.reps_done == 3
    # every frame is stored (the last one, at the end of 'after', as 'done', as in a live run)
    assert set(frames["phase"]) == {"before", "set", "after", "done"} and len(frames) == 1581
    assert "recorded visit side_bends.mp4: before 0:00-0:23.1" in out
    # the set of a recorded visit is not counted to a target: none stored, none printed
    assert detail.row.target_reps is None and re.search(r"set rep 1 left", out) and "set rep 1/" not in out


# ---------------------------------------------------------------------------------- bad input


def _stream(n=150, fps=30.0):
    """A synthetic neck stream: neutral, one 25-deg bend to the right and back."""
    t = np.arange(n) / fps
    bend = 25.0 * np.clip(np.sin(np.pi * (t - 1.0) / 2.5), 0, None) * ((t > 1.0) & (t < 3.5))
    return neck_landmarks(t, bend)


def test_face_elsewhere_lost_or_turned_frames_are_invalid_and_counted():
    lms = _stream()
    lost = [FrameLandmarks(lm.index, lm.t_s, lm.width, lm.height, lm.pose, None, None) if 60 <= k < 90 else lm
            for k, lm in enumerate(lms)]
    a = analyze_landmarks(NECK, lost, "both")
    s = summary(a)
    assert s["invalid_frames"] == {series.NO_FACE: 30}
    assert s["rep_count"]["right"] == 0, "a face lost at the peak: the rep was not seen whole"

    elsewhere = [FrameLandmarks(lm.index, lm.t_s, lm.width, lm.height, lm.pose, None, None, True)
                 if k < 20 else lm for k, lm in enumerate(lms)]
    assert summary(analyze_landmarks(NECK, elsewhere, "both"))["invalid_frames"] == {series.FACE_ELSEWHERE: 20}

    turned = neck_landmarks(np.arange(60) / 30.0, np.zeros(60), yaw_deg=np.full(60, 50.0))
    s = summary(analyze_landmarks(NECK, turned, "both"))
    assert s["invalid_frames"] == {series.TURNED: 60}
    assert any("usable" in w for w in s["warnings"])


def test_analyze_with_a_given_neutral_zeroes_the_neck(tmp_path):
    """`romcam analyze --neutral` on one loop of her bends after the still hold: the angles are
    relative to the stretch named (the still hold), the reps are her three bends."""
    clip = build_real_side_bend_visit(tmp_path / "one_loop.mp4", media("side_bend_rotation_front.mp4"), loops=1)
    out = tmp_path / "o"
    r = subprocess.run([sys.executable, "-m", "romcam", "analyze", str(clip), "--joint", "neck-side-bend",
                        "--side", "left", "--neutral", "0:01-0:02.5", "--out", str(out), "--no-progress"],
                       capture_output=True, text=True, timeout=600, env=dict(os.environ))
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    frames = pd.read_csv(out / "frames.csv")
    given = summary["neutral_given"]
    stretch = frames[(frames["t_s"] >= 1.0) & (frames["t_s"] <= 2.5)]
    print(f"neutral as measured {given['measured_deg']}, relative angle over the stretch: median "
          f"{stretch['neck_lateral_flexion_raw_deg'].median():.3f} deg")
    assert given["angles_relative_to_it"] and summary["neutral_deg"] == {"left": 0.0}
    assert abs(given["measured_deg"]["signed"]) > 0.5           # there was an offset to remove...
    assert abs(stretch["neck_lateral_flexion_raw_deg"].median()) < 1e-6    # ...and it is gone
    assert summary["rep_count"] == {"left": 3} and all(38.0 <= x["peak_deg"] <= 54.0 for x in summary["reps"])
    assert "neutral over 1.0-2.5 s (--neutral)" in r.stdout


def test_visit_on_real_side_bends_with_its_settings_from_romcam_toml(tmp_path):
    """`romcam visit` on side_bend_rotation_front.mp4 (one bend in each phase), run in a folder
    whose romcam.toml gives the database and one trial: the session is stored there, one trial
    before, one rep, one trial after, each a real bend."""
    (tmp_path / "romcam.toml").write_text('db = "clinic.sqlite3"\ntrials = 1\n', encoding="utf-8")
    env = dict(os.environ, ROMCAM_CONFIG_DIR=str(tmp_path / "user"))
    env.pop("ROMCAM_DB", None)
    r = subprocess.run([sys.executable, "-m", "romcam", "visit", str(media("side_bend_rotation_front.mp4")),
                        "--joint", "neck-side-bend", "--side", "left", "--subject", "V1", "--no-progress",
                        "--phases", "before=0:00-0:13,set=0:13-0:26,after=0:26-0:37.5", "--neutral", "14.5-15.5",
                        "--recorded-at", "2026-03-14T10:30"],
                       capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    assert "before trial 1/1 left" in r.stdout and "after trial 1/1 left" in r.stdout   # trials = 1, from the file
    with Store.open(tmp_path / "clinic.sqlite3", readonly=True) as store:                 # db, from the file
        detail = store.session(1)
    assert detail.row.status == "complete" and detail.row.recorded
    before, reps, after = _peaks(detail)
    assert len(before) == 1 and len(reps) == 1 and len(after) == 1
    for peak in before + reps + after:
        assert 40.0 <= peak <= 56.0
