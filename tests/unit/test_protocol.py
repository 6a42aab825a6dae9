"""The session protocol on synthetic landmark streams with exact angles (no camera, no model)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from romcam.session.engine import SessionEngine
from romcam.measure.joints import get_joint
from romcam.measure.outcome import Z95, side_outcome
from romcam.session.protocol import (Finished, NeutralMeasured, Phase, PhaseStarted, Protocol, ProtocolConfig, RepDone,
                             Sample, TrialDiscarded, TrialDone)
from romcam.capture.synthetic import Segment, demo_segments, neck_landmarks, script_angles

NECK = get_joint("neck_lateral_flexion")


def run(segments, sides=("right",), target=40, trials=3, noise=0.0, offset=2.0, yaw=None):
    t, angle, labels = script_angles(segments)
    stream = neck_landmarks(t, angle, neutral_offset_deg=offset, noise_deg=noise,
                            yaw_deg=None if yaw is None else yaw(t))
    engine = SessionEngine(ProtocolConfig(NECK, tuple(sides), trials=trials, target_reps=target))
    events = [e for lm in stream for e in engine.step(lm)]
    events += engine.protocol.stop(t[-1], "end of stream")
    return engine.protocol, events, labels


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.slow
def test_full_session_values_come_out_exact():
    segments = demo_segments("right", reps=40)
    proto, events, _ = run(segments)
    set_peaks = segments[4].peaks
    assert [e.phase for e in of(events, PhaseStarted)] == [Phase.NEUTRAL, Phase.BEFORE, Phase.SET, Phase.AFTER, Phase.DONE]
    neutral = of(events, NeutralMeasured)[0].neutral_deg["signed"]
    assert neutral == pytest.approx(2.0, abs=1e-6)              # the personal offset, removed
    # exact up to the zero-phase filter's overshoot on a held position (<= 0.25% of the excursion)
    trials = of(events, TrialDone)
    assert [e.rep.peak_deg for e in trials] == pytest.approx([19.6, 20.4, 20.0, 24.7, 25.3, 25.0], abs=0.05)
    reps = of(events, RepDone)
    assert [e.rep_no for e in reps] == list(range(1, 41))
    assert np.allclose([e.rep.peak_deg for e in reps], set_peaks, atol=0.1)
    finished = of(events, Finished)[0]
    assert finished.complete
    out = finished.outcomes[0]
    assert out.before_deg == pytest.approx(20.0, abs=0.05) and out.after_deg == pytest.approx(25.0, abs=0.05)
    assert out.delta_deg == pytest.approx(5.0, abs=0.05)
    before = [e.rep.peak_deg for e in trials[:3]]
    after = [e.rep.peak_deg for e in trials[3:]]
    sem = math.sqrt((np.var(before, ddof=1) + np.var(after, ddof=1)) / 2)
    assert out.sem_deg == pytest.approx(sem, abs=1e-9)
    assert out.mdc95_deg == pytest.approx(Z95 * math.sqrt(2) * sem, abs=1e-9)
    assert out.delta_deg == pytest.approx(np.median(after) - np.median(before), abs=1e-9)
    assert out.verdict.startswith("improved by 5.0 deg")
    expected_first = next(k for k, p in enumerate(set_peaks, 1) if p >= out.after_deg)
    assert out.first_rep_at_after_level == expected_first
    assert out.reps_done == 40


def test_both_sides_alternating():
    segments = [Segment("setup", (), 1.5), Segment("neutral", (), 2.5),
                Segment("before", (15, -18, 15.5, -17, 16, -18.5)), Segment("rest", (), 0.5),
                Segment("set", (16, -19) * 5), Segment("rest", (), 0.5),
                Segment("after", (17, -20, 17, -20, 17, -20)), Segment("rest", (), 1.0)]
    proto, events, _ = run(segments, sides=("left", "right"), target=5)
    outcomes = {o.side: o for o in of(events, Finished)[0].outcomes}
    assert outcomes["right"].before_deg == pytest.approx(15.5, abs=0.05)
    assert outcomes["left"].before_deg == pytest.approx(18.0, abs=0.05)
    assert outcomes["left"].after_deg == pytest.approx(20.0, abs=0.05)
    assert outcomes["right"].reps_done == outcomes["left"].reps_done == 5


def test_set_ends_after_a_pause_and_small_wobbles_are_not_reps():
    segments = [Segment("setup", (), 1.5), Segment("neutral", (), 2.5), Segment("before", (20, 20, 20)),
                # 2 and 1.5 deg: wobbles below the counting amplitude (15% of the 20-deg range = 3 deg)
                Segment("set", (20, 2, 21, 1.5, 22)),
                Segment("rest", (), 11.0), Segment("after", (22, 22, 22))]
    proto, events, _ = run(segments, target=40)
    assert [e.rep.peak_deg for e in of(events, RepDone)] == pytest.approx([20, 21, 22], abs=0.1)
    assert of(events, Finished)[0].complete


def test_setup_waits_for_a_frontal_view():
    segments = [Segment("setup", (), 3.0), Segment("neutral", (), 2.5), Segment("before", (20,))]
    t, angle, _ = script_angles(segments)
    turned = np.where(t < 2.0, 40.0, 0.0)               # head turned 40 deg for the first 2 s
    stream = neck_landmarks(t, angle, yaw_deg=turned)
    engine = SessionEngine(ProtocolConfig(NECK, ("right",)))
    started = None
    for lm in stream:
        for e in engine.step(lm):
            if isinstance(e, PhaseStarted) and e.phase is Phase.NEUTRAL:
                started = e.t
        if lm.t_s == pytest.approx(1.0, abs=0.02):
            assert engine.protocol.phase is Phase.SETUP
            assert engine.protocol.prompt == "Look straight at the camera"
    assert started == pytest.approx(3.0, abs=0.1)       # 2 s turned + 1 s setup hold


def test_neutral_waits_for_stillness():
    proto = Protocol(ProtocolConfig(NECK, ("right",), setup_hold_s=0.0))
    t = 0.0
    proto.update(Sample(t, {"signed": 0.0}))
    assert proto.phase is Phase.NEUTRAL
    rng = np.random.default_rng(0)
    for k in range(1, 90):  # 3 s of fidgeting (SD 4 deg): no neutral yet
        proto.update(Sample(k / 30, {"signed": float(rng.normal(0, 4))}))
    assert proto.phase is Phase.NEUTRAL
    for k in range(90, 150):  # then still at 3 deg
        proto.update(Sample(k / 30, {"signed": 3.0}))
    assert proto.phase is Phase.BEFORE and proto.neutral["signed"] == pytest.approx(3.0)


def test_neutral_needs_the_hold_seen_not_a_few_frames_before_the_face_is_lost():
    """A bend under way, a brief pause near its end, then the face turned away (not usable) for
    4 s: those few frames are not a still hold. Once failed: a session on a recorded video took
    a neutral of -22.7 deg from them and measured every trial against it."""
    proto = Protocol(ProtocolConfig(NECK, ("right",), setup_hold_s=0.0))
    proto.update(Sample(0.0, {"signed": 0.0}))
    assert proto.phase is Phase.NEUTRAL
    k = 0
    for k in range(1, 26):                       # bending 0 -> -25 deg over 1 s
        proto.update(Sample(k / 25, {"signed": -float(k)}))
    for k in range(26, 32):                      # six frames of a pause at -23
        proto.update(Sample(k / 25, {"signed": -23.0 + 0.2 * (k % 2)}))
    for k in range(32, 132):                     # 4 s with the face turned away
        proto.update(Sample(k / 25, {"signed": math.nan}))
    assert proto.phase is Phase.NEUTRAL, proto.neutral
    for k in range(132, 200):                    # then a real hold, upright
        proto.update(Sample(k / 25, {"signed": 1.0}))
    assert proto.phase is Phase.BEFORE and proto.neutral["signed"] == pytest.approx(1.0)


def test_keys_next_redo_quit():
    proto = Protocol(ProtocolConfig(NECK, ("right",), trials=2))
    proto.command("next", 0.0)                      # skip setup
    events = proto.command("next", 0.1)             # take the neutral now (nothing seen: 0)
    assert of(events, NeutralMeasured) and proto.phase is Phase.BEFORE
    t, angle, _ = script_angles([Segment("before", (20, 22))])
    done = []
    for ti, a in zip(t + 0.2, angle):
        done += proto.update(Sample(float(ti), {"signed": float(a)}))
    trials = of(done, TrialDone)
    assert len(trials) == 2 and proto.phase is Phase.SET  # two trials: on to the set
    proto2 = Protocol(ProtocolConfig(NECK, ("right",), trials=3))
    proto2.command("next", 0.0)
    proto2.command("next", 0.1)
    for ti, a in zip(t + 0.2, angle):
        proto2.update(Sample(float(ti), {"signed": float(a)}))
    redo = proto2.command("redo", 10.0)
    assert redo == [TrialDiscarded(Phase.BEFORE, "right", 2)]
    assert [r.peak_deg for r in proto2.sides["right"].before] == pytest.approx([20.0], abs=0.05)
    quit_events = proto2.command("quit", 11.0)
    finished = of(quit_events, Finished)[0]
    assert not finished.complete and "stopped by the user during before" in finished.reason
    assert finished.outcomes[0].before_deg == pytest.approx(20.0, abs=0.05)
    assert proto2.update(Sample(12.0, {"signed": 0.0})) == []


def test_stop_mid_set_keeps_what_was_counted():
    segments = demo_segments("right", reps=40)
    t, angle, labels = script_angles(segments)
    cut = labels.index("set") + int(30 * 1.4 * 12)  # about 12 reps into the set
    stream = neck_landmarks(t[:cut], angle[:cut])
    engine = SessionEngine(ProtocolConfig(NECK, ("right",)))
    events = [e for lm in stream for e in engine.step(lm)]
    events += engine.protocol.stop(t[cut], "camera stopped delivering frames")
    finished = of(events, Finished)[0]
    assert not finished.complete and finished.reason == "camera stopped delivering frames"
    assert 8 <= len(of(events, RepDone)) <= 14
    assert finished.outcomes[0].after_deg is None and finished.outcomes[0].before_deg == pytest.approx(20.0, abs=0.05)


def test_live_peaks_match_offline_under_noise():
    """Detection on the causal filter, peak re-read zero-phase: the live trial peaks are within
    0.5 deg of the truth with face-mesh-like jitter (0.15 deg)."""
    segments = demo_segments("right", reps=10)
    proto, events, _ = run(segments, target=10, noise=0.15)
    got = [e.rep.peak_deg for e in of(events, TrialDone)]
    assert np.max(np.abs(np.array(got) - [19.6, 20.4, 20.0, 24.7, 25.3, 25.0])) <= 0.5
    reps = [e.rep.peak_deg for e in of(events, RepDone)]
    assert np.max(np.abs(np.array(reps) - segments[4].peaks)) <= 0.5


def test_outcome_definitions():
    o = side_outcome("right", [20.0, 21.0, 19.0], [22.0, 22.5, 21.5], rep_peaks=[20, 21, 22.1, 23])
    assert o.before_deg == 20.0 and o.after_deg == 22.0 and o.delta_deg == 2.0
    assert o.sem_deg == pytest.approx(math.sqrt((1.0 + 0.25) / 2))
    assert o.mdc95_deg == pytest.approx(1.96 * math.sqrt(2) * o.sem_deg)
    assert o.verdict.startswith("within measurement noise")
    assert o.first_rep_at_after_level == 3
    big = side_outcome("left", [20.0, 20.5, 19.5], [25.0, 25.5, 24.5])
    assert big.verdict == f"improved by 5.0 deg (MDC {big.mdc95_deg:.1f} deg)"
    worse = side_outcome("left", [25.0, 25.5, 24.5], [20.0, 20.5, 19.5])
    assert worse.verdict.startswith("decreased by 5.0 deg")
    single = side_outcome("left", [20.0], [25.0])
    assert single.sem_deg is None and "uncertainty unknown" in single.verdict
