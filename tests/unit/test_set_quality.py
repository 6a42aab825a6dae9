"""Set oscillations and their grades on synthetic streams with known truth: every oscillation
counted (small or large, at the start, middle or end of the range, 0.5-2 Hz, landmark-like noise),
no rep on a still hold or a slow drift, each rep against the moving edge, Maitland grades as built."""

from __future__ import annotations

import numpy as np
import pytest

from romcam.measure import edge
from romcam.measure.filters import reject_glitches, zero_phase
from romcam.measure.joints import get_joint
from romcam.measure.reps import SwingThresholds, count_oscillations

NECK = get_joint("neck-side-bend")
ANKLE = get_joint("ankle")
FPS = 30.0
NECK_NOISE = 0.15   # face-mesh head roll jitter, deg per frame (tests/unit/test_filters.py)
LEG_NOISE = 1.0     # foot landmarks' robust jitter, deg per frame (tests/unit/test_filters.py)
MDC = 1.6           # the live-session validation's MDC95 (docs/validation/accuracy.md)


def oscillations(low, high, hz, n=8, noise=NECK_NOISE, seed=0, glitches=False):
    """Rest, a 2-s ramp to ``low``, ``n`` raised-cosine oscillations ``low`` -> ``high`` -> ``low``,
    a ramp back and rest; returns (t, zero-phase filtered noisy angle) as the analysis reads it."""
    rng = np.random.default_rng(seed)
    osc = low + (high - low) * (0.5 - 0.5 * np.cos(2 * np.pi * hz * np.arange(0, n / hz, 1 / FPS)))
    x = np.concatenate([np.zeros(int(FPS)), np.linspace(0, low, int(2 * FPS)), osc,
                        np.linspace(low, 0, int(2 * FPS)), np.zeros(int(FPS))])
    t = np.arange(len(x)) / FPS
    x = x + rng.normal(0, noise, len(x))
    if glitches:   # 2% frames of 10-30 deg, as the foot landmarks on lunges_side.mp4
        bad = rng.random(len(x)) < 0.02
        x[bad] += rng.choice([-1, 1], bad.sum()) * rng.uniform(10, 30, bad.sum())
    return t, zero_phase(t, reject_glitches(t, x))


# (low, high) in a 20-deg range, and the grade built: small = under half the range
GRADED = [
    ((1.0, 5.0), "I"),      # small, at the start of the range
    ((8.0, 12.0), "I"),     # small, in the middle, short of the edge
    ((0.0, 12.0), "II"),    # large, from the start, short of the edge
    ((3.0, 15.0), "II"),    # large, in the middle, short of the edge
    ((1.0, 20.0), "III"),   # large, up to the edge
    ((16.0, 20.0), "IV"),   # small, at the edge
]


@pytest.mark.parametrize("hz", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("bounds,built", GRADED, ids=[f"{g}-{lo:g}-{hi:g}" for (lo, hi), g in GRADED])
def test_every_oscillation_counted_and_graded_as_built(bounds, built, hz):
    low, high = bounds
    for seed in range(3):
        t, x = oscillations(low, high, hz, seed=seed)
        reps, still_open = count_oscillations(t, x, "right", SwingThresholds.for_range(NECK.reps, 20.0))
        assert len(reps) == 8 and still_open is None, (seed, [round(r.peak_deg, 1) for r in reps])
        peaks = np.array([r.peak_deg for r in reps])
        lows = np.array([r.low_deg for r in reps])
        assert np.max(np.abs(peaks - high)) <= 1.0, peaks       # 2 Hz: the 4-Hz filter shaves <= 0.8
        assert np.max(np.abs(lows[1:] - low)) <= 1.0, lows      # the first rises from rest
        judged = edge.judge_set(peaks, lows, 20.0, mdc95_deg=MDC)
        assert [r.grade for r in judged.reps[1:]] == [built] * 7
        assert judged.reps[0].grade == edge.grade((high - 0.0) / 20.0, high >= 20.0 - MDC)
        assert judged.grade == built


@pytest.mark.parametrize("hz", [0.5, 1.0, 2.0])
def test_ankle_rocks_with_leg_noise_and_glitches(hz):
    """An ankle with a 30-deg range rocking 8 deg at the end of it, foot-landmark jitter and glitches."""
    for seed in range(5):
        t, x = oscillations(22.0, 30.0, hz, noise=LEG_NOISE, seed=seed, glitches=True)
        reps, _ = count_oscillations(t, x, "right", SwingThresholds.for_range(ANKLE.reps, 30.0))
        assert len(reps) == 8, (seed, [round(r.peak_deg, 1) for r in reps])
        assert edge.judge_set([r.peak_deg for r in reps], [r.low_deg for r in reps], 30.0).grade == "IV"


@pytest.mark.parametrize("joint,noise,glitches", [(NECK, NECK_NOISE, False), (ANKLE, LEG_NOISE, True)])
def test_no_rep_on_a_still_hold_or_a_slow_drift(joint, noise, glitches):
    rng = np.random.default_rng(5)
    t = np.arange(0, 60, 1 / FPS)
    still = np.full_like(t, 15.0)
    drift = 6.0 * np.sin(np.pi * t / 60.0) ** 2 + 2.0 * np.sin(2 * np.pi * t / 90.0)   # up to 0.45 deg/s
    for truth in (still, drift):
        x = truth + rng.normal(0, noise, len(t))
        if glitches:
            bad = rng.random(len(x)) < 0.02
            x[bad] += rng.choice([-1, 1], bad.sum()) * rng.uniform(10, 30, bad.sum())
        x = zero_phase(t, reject_glitches(t, x))
        for side, sign in (("right", 1), ("left", -1)):
            reps, _ = count_oscillations(t, x, side, SwingThresholds.for_range(joint.reps, 20.0), sign=sign)
            assert reps == [], [round(r.peak_deg, 1) for r in reps]


def test_rocks_on_one_side_are_not_reps_of_the_other():
    t, x = oscillations(16.0, 20.0, 1.0)
    left, _ = count_oscillations(t, x, "left", SwingThresholds.for_range(NECK.reps, 20.0), sign=-1)
    assert left == []


def test_the_edge_moves_with_reach_and_each_rep_is_judged_against_it():
    peaks = np.linspace(20.0, 25.0, 40)
    judged = edge.judge_set(peaks, [2.0] * 40, 20.1, mdc95_deg=MDC, kind="turns")
    assert all(r.reached for r in judged.reps)
    assert judged.edge_start_deg == 20.1 and judged.edge_end_deg == pytest.approx(25.0)
    assert judged.reps[10].edge_deg == pytest.approx(peaks[9])         # the best of the last 5
    assert judged.summary() == ("40 of 40 turns reached the edge of your range (20.1 deg); set grade III; "
                                "your edge grew 20.1 -> 25.0 deg")


def test_short_reps_a_streak_and_a_jump():
    tracker = edge.EdgeTracker(20.0, mdc95_deg=MDC)
    for peak in (20.0, 17.0, 16.5, 17.2):
        tracker.add(peak, 2.0)
    assert [r.reached for r in tracker.reps] == [True, False, False, False]
    assert tracker.short_streak() == 3
    jump = tracker.add(27.0, 2.0)
    assert jump.beyond and tracker.edge_deg == 20.0       # flagged, does not move the edge
    assert tracker.short_streak() == 0


def test_tolerance_is_the_mdc_within_bounds():
    assert edge.tolerance_deg(None, 20.0) == edge.DEFAULT_TOLERANCE_DEG
    assert edge.tolerance_deg(0.3, 20.0) == edge.MIN_TOLERANCE_DEG
    assert edge.tolerance_deg(1.6, 20.0) == 1.6
    assert edge.tolerance_deg(9.0, 20.0) == pytest.approx(2.0)          # 10% of the range at most


# ---- live: the session protocol on a synthetic neck stream ------------------------------------

def _live_set(set_angles, noise=NECK_NOISE):
    """A live neck session (right side): neutral, 3 before trials at 20 deg, then ``set_angles``,
    a pause that ends the set, 3 after trials. Returns the protocol and its events."""
    from romcam.capture.synthetic import Segment, neck_landmarks, script_angles
    from romcam.session.engine import SessionEngine
    from romcam.session.protocol import ProtocolConfig

    head = [Segment("setup", (), 1.5), Segment("neutral", (), 2.5), Segment("before", (19.6, 20.4, 20.0)),
            Segment("rest", (), 1.0)]
    tail = [Segment("rest", (), 11.0), Segment("after", (22, 22, 22))]
    _, a0, _ = script_angles(head)
    _, a1, _ = script_angles(tail)
    angle = np.concatenate([a0, set_angles, a1])
    t = np.arange(len(angle)) / FPS
    engine = SessionEngine(ProtocolConfig(NECK, ("right",), target_reps=60))
    events = [e for lm in neck_landmarks(t, angle, noise_deg=noise) for e in engine.step(lm)]
    events += engine.protocol.stop(t[-1], "end of stream")
    return engine.protocol, events


def _rocks(low, high, n, hz=1.0):
    """A 1-s rise from rest to ``low``, ``n`` oscillations low -> high -> low, a 1-s return."""
    osc = low + (high - low) * (0.5 - 0.5 * np.cos(2 * np.pi * hz * np.arange(0, n / hz, 1 / FPS)))
    return np.concatenate([np.linspace(0, low, int(FPS)), osc, np.linspace(low, 0, int(FPS))])


def test_live_rocks_at_the_end_of_range_each_counted_reached_and_graded():
    from romcam.session.protocol import Finished, RepDone
    proto, events = _live_set(_rocks(17.0, 21.0, 8))
    done = [e for e in events if isinstance(e, RepDone)]
    assert len(done) == 8, [round(e.rep.peak_deg, 1) for e in done]
    assert all(e.edge is not None and e.edge.reached for e in done)
    assert [e.edge.grade for e in done[1:]] == ["IV"] * 7          # the first rose from rest: III
    finished = next(e for e in events if isinstance(e, Finished))
    (judged,) = finished.set_edges
    assert judged.grade == "IV" and judged.edge_start_deg == pytest.approx(20.0, abs=0.1)
    assert judged.summary() == ("8 of 8 reps reached the edge of your range (20.1 deg); set grade IV; "
                                "your edge grew 20.1 -> 21.0 deg")     # rocks up to 21 deg


def test_live_prompt_to_reach_further_after_reps_short_of_the_edge_and_a_jump_flagged():
    from romcam.session.protocol import RepDone
    from romcam.capture.synthetic import raised_cosine_rep
    reps = [raised_cosine_rep(p, FPS, 0.7, 0.25, 0.3) for p in (20.0, 15.0, 14.5, 15.2)]
    proto, events = _live_set(np.concatenate(reps + [np.zeros(int(2 * FPS))]))
    done = [e for e in events if isinstance(e, RepDone)]
    assert [e.edge.reached for e in done] == [True, False, False, False]
    cue = proto.sides["right"].edge.short_streak()
    assert cue == 3
    reps = [raised_cosine_rep(p, FPS, 0.7, 0.25, 0.3) for p in (20.0, 27.0, 20.5)]
    _, events = _live_set(np.concatenate(reps))
    done = [e for e in events if isinstance(e, RepDone)]
    assert [e.edge.beyond for e in done] == [False, True, False]
    assert "past your edge" in done[1].edge.describe()


def test_the_cue_is_the_prompt_after_three_short_reps():
    from romcam.measure.edge import EdgeTracker
    from romcam.session.protocol import Protocol, ProtocolConfig, Phase
    proto = Protocol(ProtocolConfig(NECK, ("right",)))
    proto.phase = Phase.SET
    proto.sides["right"].edge = EdgeTracker(20.0, side="right")
    for peak in (20.0, 15.0, 15.0):
        proto.sides["right"].edge.add(peak, 0.0)
    assert not proto.prompt.startswith("SET: the last")
    proto.sides["right"].edge.add(15.0, 0.0)
    assert proto.prompt == ("SET: the last 3 reps stopped short of your edge (20.0 deg): "
                            "reach a little further to the right")


# ---- stored: per rep and per session, history ---------------------------------------------------

def test_set_quality_round_trips_through_the_store_and_shows_in_history(tmp_path):
    from romcam.measure.outcome import side_outcome
    from romcam.storage.export import history_table, sessions_table
    from romcam.storage.meta import SessionMeta
    from romcam.storage.store import Store

    peaks = [20.0, 18.0, 21.5, 22.0, 17.0]
    judged = edge.judge_set(peaks, [16.0] * 5, 20.1, mdc95_deg=MDC, side="right")
    with Store.open(tmp_path / "db.sqlite3") as store:
        sid = store.start_session(SessionMeta("P1", "neck_lateral_flexion", "right", target_reps=5))
        for k, (p, j) in enumerate(zip(peaks, judged.reps), 1):
            store.add_rep(sid, "right", k, p, edge=j.as_dict())
        store.add_turn(sid, 1, "cw", 0.0, 4.0, 21.0, 12.0, 8.0, 6.0, edge_side="right",
                       edge=judged.reps[0].as_dict())
        outcome = side_outcome("right", [20.0, 20.2, 20.1], [22.0, 22.1, 21.9], peaks).with_set_edge(judged)
        store.finish_session(sid, "complete", results=[outcome])
        detail = store.session(sid)
        rows = store.sessions()
    got = [r.edge for r in detail.reps]
    assert [g.grade for g in got] == [j.grade for j in judged.reps] == ["IV", "I", "IV", "IV", "I"]
    assert [g.reached for g in got] == [True, False, True, True, False]
    assert got[0].low_deg == 16.0 and got[1].edge_deg == pytest.approx(20.1)
    assert detail.turns[0].edge_side == "right" and detail.turns[0].edge.grade == "IV"
    (o,) = detail.outcomes
    assert (o.set_grade, o.set_judged, o.set_reached, o.edge_start_deg, o.edge_end_deg) == \
        ("IV", 5, 3, 20.1, 22.0)
    assert o.set_quality() == ("3 of 5 reps reached the edge of your range (20.1 deg); set grade IV; "
                               "your edge grew 20.1 -> 22.0 deg")
    assert "3/5 20.1->22.0" in history_table(rows) and " IV " in history_table(rows)
    csv = sessions_table(rows).iloc[0]
    assert (csv.set_grade, csv.set_reached, csv.set_judged, csv.edge_end_deg) == ("IV", 3, 5, 22.0)


def test_report_section_and_edge_band_plot(tmp_path, output_dir):
    from romcam.measure.outcome import side_outcome
    from romcam.report import plots
    from romcam.report.session_page import session_report
    from romcam.storage.meta import SessionMeta
    from romcam.storage.store import Store

    peaks = [20.0, 21.0, 17.0, 22.0, 30.0, 22.5]
    judged = edge.judge_set(peaks, [3.0] * 6, 20.1, mdc95_deg=MDC, side="right")
    with Store.open(tmp_path / "db.sqlite3") as store:
        sid = store.start_session(SessionMeta("P1", "neck_lateral_flexion", "right", target_reps=6))
        for k, (p, j) in enumerate(zip(peaks, judged.reps), 1):
            store.add_rep(sid, "right", k, p, edge=j.as_dict())
        store.finish_session(sid, "complete", results=[
            side_outcome("right", [20.0, 20.2, 20.1], [22.0, 22.1, 21.9], peaks).with_set_edge(judged)])
        report = session_report(store, sid)
    (section,) = [s for s in report.sections if s.id == "set_quality"]
    assert section.paragraphs[0] == ("Right: 5 of 6 reps reached the edge of your range (20.1 deg); set grade III; "
                                     "your edge grew 20.1 -> 22.5 deg; 1 far beyond the edge (worth a look).")
    (item,) = section.figures
    fig = item.make()
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "edge" and "far beyond it (worth a look)" in labels
    fig.savefig(output_dir / "set_quality_edge_band.png", dpi=80)
    plots.close(fig)


def test_a_low_frame_rate_is_not_a_gap_but_unusable_frames_are():
    """squats_front.mp4 at half rate is 2.5 fps: samples 0.4 s apart are no gap; 0.4 s of unusable
    frames between two samples is."""
    t = np.arange(0, 12, 0.4)
    x = 40 * (0.5 - 0.5 * np.cos(2 * np.pi * t / 4.0))
    th = SwingThresholds.for_range(get_joint("knee").reps, 40.0)
    assert len(count_oscillations(t, x, "right", th)[0]) == 3
    t2 = np.arange(0, 12, 0.1)
    x2 = 40 * (0.5 - 0.5 * np.cos(2 * np.pi * t2 / 4.0))
    x2[(t2 > 1.5) & (t2 < 2.0)] = np.nan        # unseen around the first peak
    assert len(count_oscillations(t2, x2, "right", th)[0]) == 2
