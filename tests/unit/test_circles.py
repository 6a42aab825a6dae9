"""Neck circles through the whole measurement chain on synthetic landmark streams with EXACT head
poses (romcam.capture.synthetic.tilt_landmarks): landmarks -> trunk reference -> tilt, side-bend
and nod relative to the neutral -> turn counter -> per-turn extremes; offline
(romcam.measure.circles) and through the session protocol and the store. The expected counts
follow from how each stream is built; the truth of every extreme is docs/design.md's side-bend
(elevation of the ear-to-ear axis) and nod evaluated here, with plain numpy, on the rotation
that made the frame, relative to the neutral pose. Printed with ``pytest -s``."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from romcam.capture.synthetic import tilt_landmarks, tilt_pose
from romcam.measure.circles import analyze_circles, side_result
from romcam.measure.joints import get_joint
from romcam.measure.turns import circle_stream
from romcam.session.engine import SessionEngine
from romcam.session.overlay import draw_overlay
from romcam.session.protocol import Phase, ProtocolConfig, TurnDone
from romcam.session.runner import overlay_state, run_landmark_session
from romcam.session.sound import Sounder
from romcam.storage.store import Store

FPS = 30.0
PERIOD = 2.4                 # s per turn: 5 deg of phase per frame
PHI0 = -45.0                 # so the phases 0, 90, 180, 270 are sampled exactly
NEUTRAL = tilt_pose(2.0, 3.0)   # the person's own neutral: 2 deg to the right, 3 deg chin down
LEAD = [(0.0, 1.5, 0.0, 0.0)]   # a still second and a half looking ahead (the neutral)
EXTREME_TOL = 0.2


def _asin_deg(x):
    return np.degrees(np.arcsin(np.clip(x, -1.0, 1.0)))


def truth_of(lateral, forward, neutral=NEUTRAL):
    """(side-bend, nod) per frame relative to the neutral, from the rotation of each frame:
    elevation of the ear axis (first column) and depression of the face's forward axis (third
    column) above/below the level transverse plane (the synthetic shoulders are level)."""
    def angles(m):
        ear, fwd = m[:, 0] / np.linalg.norm(m[:, 0]), m[:, 2] / np.linalg.norm(m[:, 2])
        return _asin_deg(ear[1]), -_asin_deg(fwd[1])
    sb0, nod0 = angles(neutral)
    sb, nod = np.full(len(lateral), np.nan), np.full(len(lateral), np.nan)
    for k, (lat, fwd) in enumerate(zip(lateral, forward)):
        if np.isfinite(lat) and np.isfinite(fwd):
            sb[k], nod[k] = np.subtract(angles(tilt_pose(lat, fwd) @ neutral), (sb0, nod0))
    return sb, nod


def run_stream(segments, gaps=(), phi0=PHI0):
    s = circle_stream(LEAD + list(segments), fps=FPS, phi0_deg=phi0, gaps=gaps)
    a = analyze_circles(tilt_landmarks(s["t"], s["lateral"], s["forward"], neutral=NEUTRAL))
    return s, a


def counts(turns):
    return {d: sum(t.direction == d for t in turns) for d in ("cw", "ccw")}


def extreme_errors(s, turns):
    """Per turn, |found - truth| of the four extremes, truth over the turn's own frames."""
    sb, nod = truth_of(s["lateral"], s["forward"])
    errors = []
    for turn in turns:
        w = (s["t"] >= turn.start_s - 1e-9) & (s["t"] <= turn.end_s + 1e-9)
        truth = {"right": np.nanmax(sb[w]), "left": -np.nanmin(sb[w]), "forward": np.nanmax(nod[w]),
                 "backward": -np.nanmin(nod[w])}
        errors.append(max(abs(turn.extreme(side) - value) for side, value in truth.items()))
    return np.array(errors)


def circles(n, sign=1, amp=20.0, fwd=None, period=PERIOD, over=20.0):
    fwd = amp if fwd is None else fwd
    return [(sign * 360.0, period, amp, fwd)] * n + ([(sign * over, period * over / 360.0, amp, fwd)] if over else [])


# name -> (segments, gaps, expected counts)
STREAMS = {
    "steady cw, growing 20 -> 25": (
        [(360.0, PERIOD, (20 + k * 0.5, 20.5 + k * 0.5), (20 + k * 0.5, 20.5 + k * 0.5)) for k in range(10)]
        + [(20.0, 0.2, 25.0, 25.0)], (), {"cw": 10, "ccw": 0}),
    "ccw": (circles(6, -1), (), {"cw": 0, "ccw": 6}),
    "3 cw then reversal, 3 ccw": (
        circles(3, 1, over=30.0) + circles(3, -1, over=30.0), (), {"cw": 3, "ccw": 3}),
    "reversal mid-turn (half a cw turn, then ccw)": (
        [(180.0, PERIOD / 2, 20.0, 20.0)] + circles(2, -1, over=30.0), (), {"cw": 0, "ccw": 2}),
    "pause tilted mid-turn": (
        [(540.0, 1.5 * PERIOD, 20.0, 20.0), (0.0, 3.0, 20.0, 20.0), (560.0, 1.5 * PERIOD + 0.13, 20.0, 20.0)],
        (), {"cw": 3, "ccw": 0}),
    "pause upright mid-turn (breaks it)": (
        [(540.0, 1.5 * PERIOD, 20.0, 20.0), (0.0, 0.5, (20.0, 0.0), (20.0, 0.0)), (0.0, 2.0, 0.0, 0.0),
         (0.0, 0.5, (0.0, 20.0), (0.0, 20.0)), (560.0, 1.5 * PERIOD + 0.13, 20.0, 20.0)],
        (), {"cw": 2, "ccw": 0}),
    "ellipse: side-bend 25, nod 10": (circles(5, 1, amp=25.0, fwd=10.0), (), {"cw": 5, "ccw": 0}),
    "ellipse ccw: side-bend 22, nod 12": (circles(5, -1, amp=22.0, fwd=12.0), (), {"cw": 0, "ccw": 5}),
    "slow first turn (10 s), then 4": (
        [(360.0, 10.0, 20.0, 20.0)] + circles(4, 1), (), {"cw": 5, "ccw": 0}),
    "face lost 0.5 s at the back of every turn (bridged)": (
        circles(5, 1), [(1.5 + PERIOD * (k + 0.5) + 0.05, 0.5) for k in range(5)], {"cw": 5, "ccw": 0}),
    # a 2-s loss in the middle of turn 3 breaks it: 2 turns before, then a fresh start after the
    # gap with 6 x 360 + 20 - (2.5 x 360 + 300) = 980 deg left = 2 more turns
    "face lost 2 s mid-turn (breaks it)": (circles(6, 1), [(1.5 + 2.5 * PERIOD, 2.0)], {"cw": 4, "ccw": 0}),
}


@pytest.mark.parametrize("name", list(STREAMS))
def test_turns_exact_on_exact_head_poses(name):
    segments, gaps, expected = STREAMS[name]
    s, a = run_stream(segments, gaps)
    errors = extreme_errors(s, a.turns)
    print(f"\n{name}: found {counts(a.turns)} (expected {expected}); worst extreme error "
          f"{errors.max() if len(errors) else float('nan'):.3f} deg; neutral {a.series.neutral.source}")
    assert counts(a.turns) == expected
    assert errors.max() <= EXTREME_TOL
    assert a.series.neutral.source.startswith("still hold")


def test_growth_read_turn_by_turn():
    segments, gaps, _ = STREAMS["steady cw, growing 20 -> 25"]
    s, a = run_stream(segments, gaps)
    right = side_result(a.turns, "right", level_deg=23.0)
    sb, _ = truth_of(s["lateral"], s["forward"])
    truth_first = next(k + 1 for k, turn in enumerate(a.turns)
                       if np.nanmax(sb[(s["t"] >= turn.start_s) & (s["t"] <= turn.end_s)]) >= 23.0)
    print(f"\nright: {right.sentence()}; truth: turn {truth_first}; trend {right.trend_deg_per_turn:+.3f} deg/turn")
    assert right.first_turn_at_level == truth_first
    assert right.trend_deg_per_turn == pytest.approx(0.5, abs=0.02)


def test_no_circles_no_turns():
    """Side-bends through neutral and head turns are not circles."""
    t = np.arange(0, 20, 1 / FPS)
    bend = 25 * np.sin(2 * np.pi * t / 4.0)                       # left-right side-bends
    a = analyze_circles(tilt_landmarks(t, bend, 3 * np.sin(2 * np.pi * t / 3.0), neutral=NEUTRAL))
    assert a.turns == []


# --------------------------------------------------------------------------- the session


def circles_session_stream():
    from romcam.cli.demo import circles_stream
    return circles_stream(40)


@pytest.fixture(scope="module")
def circles_session(tmp_path_factory):
    db = tmp_path_factory.mktemp("circles") / "c.sqlite3"
    lines: list[str] = []
    sounder = Sounder(player=["true"])        # a player that exists and plays nothing
    with Store.open(db) as store:
        result = run_landmark_session(store, "P001", get_joint("neck-side-bend"), "both", circles_session_stream(),
                                      target_reps=40, say=lines.append, set_kind="circles", target_turns=40,
                                      sounder=sounder)
        detail = store.session(result.session_id)
    return result, detail, lines, sounder, db


@pytest.mark.slow
def test_session_counts_and_stores_every_turn(circles_session):
    from romcam.cli.demo import circle_segments

    result, detail, lines, sounder, _ = circles_session
    assert detail.row.set_kind == "circles" and detail.row.target_turns == 40
    assert len(detail.turns) == 40 and [t.turn_no for t in detail.turns] == list(range(1, 41))
    assert counts(detail.turns) == {"cw": 20, "ccw": 20}
    assert [t.direction for t in detail.turns] == (["cw"] * 5 + ["ccw"] * 5) * 4
    assert len(result.finished.turns) == 40 and result.finished.complete
    # the stored extremes against the schedule of the stream (the demo stream carries 0.1 deg
    # of pose noise, so the limit here is 0.35 deg; the exact streams above hold 0.2)
    peaks = np.array([seg[2] for seg in circle_segments(40) if abs(seg[0]) == 360.0])
    right = np.array([t.right_deg for t in detail.turns])
    left = np.array([t.left_deg for t in detail.turns])
    print(f"\nsession: 40 turns, right extremes at turns 1, 10, 20, 30, 40: {np.round(right[[0, 9, 19, 29, 39]], 2)} "
          f"(schedule {np.round(peaks[[0, 9, 19, 29, 39]], 2)}); worst |error| right "
          f"{np.max(np.abs(right - peaks)):.3f}, left {np.max(np.abs(left - peaks)):.3f} deg")
    assert np.max(np.abs(right - peaks)) <= 0.35 and np.max(np.abs(left - peaks)) <= 0.35
    turn_lines = [x for x in lines if "] turn " in x]
    assert len(turn_lines) == 40 and "turn 40/40 counter-clockwise (clockwise 20, counter 20)" in turn_lines[-1]
    assert sounder.played == ["tick"] * 39 + ["target"]


@pytest.mark.slow
def test_session_reached_after_level_at_the_right_turn(circles_session):
    result, detail, _, _, _ = circles_session
    for o in detail.outcomes:
        res = side_result(detail.turns, o.side, o.after_deg)
        first = next((t.turn_no for t in detail.turns if t.extreme(o.side) >= o.after_deg), None)
        print(f"\n{res.sentence()}; trend {res.trend_deg_per_turn:+.3f} deg/turn")
        assert res.first_turn_at_level == first is not None
        assert 20 <= first <= 40 and res.trend_deg_per_turn > 0.05


@pytest.mark.slow
def test_same_turns_offline_and_live(circles_session):
    """The live protocol and the offline analysis of the same stream give the same turns."""
    _, detail, _, _, _ = circles_session
    lms = circles_session_stream()
    set_frames = [lm for lm in lms if detail.turns[0].start_s - 3 <= lm.t_s <= detail.turns[-1].end_s + 0.5]
    neutral = lms[:int(4.0 * FPS)]
    a = analyze_circles(neutral + set_frames)
    assert counts(a.turns) == counts(detail.turns)
    for live, off in zip(detail.turns, a.turns):
        assert live.start_s == pytest.approx(off.start_s) and live.end_s == pytest.approx(off.end_s)
        assert live.right_deg == pytest.approx(off.right_extreme_deg, abs=0.1)


def _set_of_circles(target=40, pause_after=None):
    """An engine fed the demo stream until the set ends; returns it and the TurnDone events."""
    engine = SessionEngine(ProtocolConfig(get_joint("neck-side-bend"), ("left", "right"), set_kind="circles",
                                          target_turns=target))
    done = []
    for lm in circles_session_stream():
        events = engine.step(lm)
        done += [e for e in events if isinstance(e, TurnDone)]
        if engine.protocol.phase is Phase.AFTER:
            break
    return engine, done


def test_set_ends_at_the_target():
    engine, done = _set_of_circles(target=12)
    assert len(done) == 12 and engine.protocol.phase is Phase.AFTER


@pytest.mark.slow
def test_set_ends_after_a_pause_without_a_turn():
    """Stream: the set, then the stream holds still; the set must end set_pause_s after the last turn."""
    engine = SessionEngine(ProtocolConfig(get_joint("neck-side-bend"), ("left", "right"), set_kind="circles",
                                          target_turns=400, set_pause_s=5.0))
    last_turn_t = ended_t = None
    for lm in circles_session_stream():
        for e in engine.step(lm):
            if isinstance(e, TurnDone):
                last_turn_t = lm.t_s
        if engine.protocol.phase is Phase.AFTER:
            ended_t = lm.t_s
            break
    assert last_turn_t is not None and ended_t == pytest.approx(last_turn_t + 5.0, abs=0.05)
    assert len(engine.protocol.turns) == 40


@pytest.mark.slow
def test_live_view_shows_turns_and_extremes(output_dir):
    engine = SessionEngine(ProtocolConfig(get_joint("neck-side-bend"), ("left", "right"), set_kind="circles"))
    for lm in circles_session_stream():
        engine.step(lm)
        if len(engine.protocol.turns) == 23:
            break
    p = engine.protocol
    cw = sum(t.direction == "cw" for t in p.turns)
    state = overlay_state(engine, "30 fps")
    assert state.turn_text == f"turn 23/40 (clockwise {cw}, counter {23 - cw})" == p.turn_text
    assert cw == 13                          # blocks of 5: cw, ccw, cw, ccw, then 3 cw
    last = p.turns[-1]
    assert state.last_turn_text == (f"last turn: right {last.right_extreme_deg:.1f}, "
                                    f"left {last.left_extreme_deg:.1f} deg")
    assert state.turn_extremes["right"] == [t.right_extreme_deg for t in p.turns]
    img, drawn = draw_overlay(np.full((720, 1280, 3), 90, np.uint8), lm, state, mirror=True)
    texts = [d.text for d in drawn]
    assert state.turn_text in texts and state.last_turn_text in texts and "23/40" in texts
    import cv2
    (output_dir / "overlay").mkdir(exist_ok=True)
    cv2.imwrite(str(output_dir / "overlay" / "circles_turn23.png"), img)


# --------------------------------------------------------------------------- sounds


def test_sound_never_blocks_the_loop(tmp_path):
    slow = tmp_path / "slow-player"
    slow.write_text("#!/bin/sh\nsleep 3\n")
    slow.chmod(0o755)
    sounder = Sounder(player=[str(slow)])
    t0 = time.monotonic()
    for _ in range(5):
        sounder.tick()
    sounder.target()
    took = time.monotonic() - t0
    print(f"\n6 sounds with a player that takes 3 s each: the loop waited {1000 * took:.1f} ms")
    assert took < 0.5 and sounder.played == ["tick"] * 5 + ["target"]
    assert sum(p.poll() is None for p in sounder._procs) >= 1      # still playing in the background


def test_terminal_bell_without_a_player_and_quiet_silences_it():
    stream = io.StringIO()
    Sounder(player=[], stream=stream).tick()
    loud = Sounder(player=[], stream=stream)
    loud.target()
    assert stream.getvalue() == "\a" + "\a\a\a"
    quiet_stream = io.StringIO()
    quiet = Sounder(quiet=True, stream=quiet_stream)
    quiet.tick(), quiet.target()
    assert quiet_stream.getvalue() == "" and quiet.played == [] and quiet.player is None


def test_quiet_and_set_options_reach_the_session(monkeypatch):
    """`romcam session --set circles --target-turns 12 --quiet` gives the runner a set of circles
    and a silent sounder (the runner builds Sounder(quiet=opts.quiet))."""
    from click.testing import CliRunner
    from romcam.cli.main import cli
    from romcam.session import runner

    seen = {}

    def fake_run(opts, say=print):
        seen["opts"] = opts
        raise SystemExit(0)
    monkeypatch.setattr(runner, "run_session", fake_run)
    r = CliRunner().invoke(cli, ["session", "--joint", "neck-side-bend", "--subject", "P1", "--set", "circles",
                                 "--target-turns", "12", "--quiet", "--no-window"])
    opts = seen["opts"]
    assert (opts.set_kind, opts.target_turns, opts.quiet, opts.side) == ("circles", 12, True, "both"), r.output
    assert Sounder(quiet=opts.quiet).player is None
    r = CliRunner().invoke(cli, ["session", "--joint", "neck-side-bend", "--subject", "P1", "--no-window"])
    assert (seen["opts"].set_kind, seen["opts"].quiet) == ("reps", False)


def test_circles_need_the_neck():
    from romcam.errors import RomcamError

    with pytest.raises(RomcamError, match="neck exercise"):
        run_landmark_session(None, "P1", get_joint("knee"), "right", [], set_kind="circles")
