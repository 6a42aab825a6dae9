"""Tests for neck-circle turn counting (romcam/measure/turns.py). Streams come from circle_stream, whose true
phase is known, so expected counts and extremes are computed from the geometry, not from the
counter."""

import math

import numpy as np
import pytest

from romcam.measure import turns as tm
from romcam.measure.turns import (Turn, TurnCounter, circle_stream, count_turns, extreme_trend,
                                  first_turn_reaching)

PERIOD = 2.4     # s per turn; at 30 fps that is 5 deg per sample
PHI0 = -45.0     # start between the axes, so the four extremes (0/90/180/270) are sampled exactly
OVERSHOOT = 20.0  # each set ends a little past its last whole turn (no float tie at the end)


def circles(n, direction=+1, amp=20.0, fwd=None, period=PERIOD, overshoot=OVERSHOOT):
    """n steady turns (+1 cw, -1 ccw) plus a small overshoot in the same direction."""
    fwd = amp if fwd is None else fwd
    segs = [(direction * 360.0, period, amp, fwd)] * n
    if overshoot:
        segs.append((direction * overshoot, period * overshoot / 360.0, amp, fwd))
    return segs


def run(stream, **params):
    return count_turns(stream["t"], stream["lateral"], stream["forward"],
                       stream["side_bend"], stream["nod"], **params)


def counts_of(found):
    return {d: sum(t.direction == d for t in found) for d in ("cw", "ccw")}


def test_ten_cw_turns():
    found = run(circle_stream(circles(10), phi0_deg=PHI0))
    assert counts_of(found) == {"cw": 10, "ccw": 0}
    assert [t.index for t in found] == list(range(1, 11))
    # turns tile the motion: each starts where the last ended, one period each
    for a, b in zip(found, found[1:]):
        assert b.start_s == a.end_s
    assert np.allclose([t.end_s - t.start_s for t in found[1:]], PERIOD, atol=1.5 / 30)


def test_direction_convention_forward_right_back_left_is_cw():
    # forward -> right -> back -> left: lateral = sin, forward = cos with phi increasing
    s = circle_stream(circles(2), phi0_deg=0.0)
    i = np.argmin(np.abs(s["phi"] - 90.0))
    assert s["lateral"][i] > 19 and abs(s["forward"][i]) < 1  # a quarter turn on: the right
    assert counts_of(run(s)) == {"cw": 2, "ccw": 0}
    s_ccw = circle_stream(circles(2, -1), phi0_deg=0.0)
    assert counts_of(run(s_ccw)) == {"cw": 0, "ccw": 2}


def test_five_cw_then_five_ccw():
    found = run(circle_stream(circles(5, +1) + circles(5, -1), phi0_deg=PHI0))
    assert counts_of(found) == {"cw": 5, "ccw": 5}
    assert [t.direction for t in found] == ["cw"] * 5 + ["ccw"] * 5
    assert [t.index for t in found] == list(range(1, 11))


def test_reversal_at_200_deg_is_not_a_turn():
    # 2 cw turns, 200 deg more cw, then back: 2 ccw turns counted from the turning point
    segs = (circles(2, overshoot=0) + [(200.0, PERIOD * 200 / 360, 20.0, 20.0)]
            + circles(2, -1, overshoot=30.0))
    found = run(circle_stream(segs, phi0_deg=PHI0))
    assert counts_of(found) == {"cw": 2, "ccw": 2}
    # the ccw turns start at the turning point, not where the dropped partial turn started
    t_turn = PERIOD * (2 + 200 / 360)
    assert abs(found[2].start_s - t_turn) <= 1 / 30 + 1e-9


def test_reversal_then_back_again_drops_both_partials():
    # cw 250, ccw 250, cw 300: never 360 net in one direction
    segs = [(250.0, 1.7, 20.0, 20.0), (-250.0, 1.7, 20.0, 20.0), (300.0, 2.0, 20.0, 20.0)]
    assert run(circle_stream(segs, phi0_deg=PHI0)) == []


def test_small_backtrack_under_hysteresis_keeps_the_turn():
    # in turn 3 the head goes back 25 deg (< 40 reversal) then carries on: still 10 turns
    segs = (circles(2, overshoot=0) + [(180.0, 1.2, 20.0, 20.0), (-25.0, 0.3, 20.0, 20.0),
                                       (205.0, 1.4, 20.0, 20.0)] + circles(7))
    assert counts_of(run(circle_stream(segs, phi0_deg=PHI0))) == {"cw": 10, "ccw": 0}


def test_pauses_mid_circle_and_upright_between_sets():
    hold = [(0.0, 2.0, 20.0, 20.0)]
    segs = ([(360.0, PERIOD, 20.0, 20.0)] + [(150.0, 1.0, 20.0, 20.0)] + hold
            + [(210.0, 1.4, 20.0, 20.0)] + [(360.0, PERIOD, 20.0, 20.0)] + [(100.0, 0.7, 20.0, 20.0)]
            + hold + [(260.0, 1.7, 20.0, 20.0)] + circles(1))   # 5 * 360 + 20 deg, two holds
    assert counts_of(run(circle_stream(segs, phi0_deg=PHI0))) == {"cw": 5, "ccw": 0}
    # upright (tilt 0) between two sets: breaks nothing that was complete
    upright = [(0.0, 0.8, (20.0, 0.0), (20.0, 0.0)), (0.0, 2.0, 0.0, 0.0),
               (0.0, 0.8, (0.0, 20.0), (0.0, 20.0))]
    segs = circles(3) + upright + circles(3, -1)
    assert counts_of(run(circle_stream(segs, phi0_deg=PHI0))) == {"cw": 3, "ccw": 3}


def test_ellipses_more_side_bend_than_nod():
    segs = circles(6, +1, amp=25.0, fwd=12.0) + circles(6, -1, amp=25.0, fwd=12.0)
    found = run(circle_stream(segs, phi0_deg=PHI0))
    assert counts_of(found) == {"cw": 6, "ccw": 6}
    for t in found:
        assert t.right_extreme_deg == pytest.approx(25.0, abs=0.2)
        assert t.backward_extreme_deg == pytest.approx(12.0, abs=0.2)


def test_slow_first_turn():
    segs = [(360.0, 3 * PERIOD, 20.0, 20.0)] + circles(9)
    found = run(circle_stream(segs, phi0_deg=PHI0))
    assert counts_of(found) == {"cw": 10, "ccw": 0}
    assert found[0].end_s - found[0].start_s == pytest.approx(3 * PERIOD, abs=0.1)


def back_of_turn(k):
    """Time of the back (phi = 180) of turn k (0-based) of steady circles from PHI0."""
    return (180.0 - PHI0 + 360.0 * k) / 360.0 * PERIOD


def test_short_gaps_at_the_back_are_bridged():
    gaps = [(back_of_turn(k) - 0.2, 0.4) for k in (1, 3, 5, 7)]
    s = circle_stream(circles(10), phi0_deg=PHI0, gaps=gaps)
    assert np.isnan(s["lateral"]).sum() >= 4 * 11  # the gaps are really there
    found = run(s)
    assert counts_of(found) == {"cw": 10, "ccw": 0}
    assert all(t.right_extreme_deg == pytest.approx(20.0, abs=1e-6) for t in found)


def test_long_gap_while_circling_breaks_that_turn():
    # 2 s gap centred on the back of turn 5: 300 deg unseen, turn 5 lost; the counting restarts
    # after the gap (at 225 + 4*360 + 150 = 1815 deg of 3620): 4 + 5 turns
    s = circle_stream(circles(10), phi0_deg=PHI0, gaps=[(back_of_turn(4) - 1.0, 2.0)])
    assert counts_of(run(s)) == {"cw": 9, "ccw": 0}


@pytest.mark.parametrize("gap_s, expected", [(0.8, 10), (2.0, 9)])
def test_gap_while_holding_at_the_back(gap_s, expected):
    # the head holds at the back (no phi change across the gap), so only the duration decides
    segs = (circles(4, overshoot=0) + [(225.0, 1.5, 20.0, 20.0), (0.0, 3.0, 20.0, 20.0),
                                       (135.0, 0.9, 20.0, 20.0)] + circles(5, overshoot=30.0))
    t_hold = 4 * PERIOD + 1.5
    s = circle_stream(segs, phi0_deg=PHI0, gaps=[(t_hold + 1.5 - gap_s / 2, gap_s)])
    assert counts_of(run(s, max_gap_s=1.0)) == {"cw": expected, "ccw": 0}


def test_tilt_below_floor_mid_turn_breaks_it():
    # 720 + 180, a dip to 3 deg of tilt while moving 60 deg, then 300 more: 1260 deg in all,
    # which would be 3 turns unbroken; the dip discards the third, and <360 remain after it
    dip = [(30.0, 0.5, (20.0, 3.0), (20.0, 3.0)), (30.0, 0.5, (3.0, 20.0), (3.0, 20.0))]
    segs = circles(2, overshoot=0) + [(180.0, 1.2, 20.0, 20.0)] + dip + [(300.0, 2.0, 20.0, 20.0)]
    s = circle_stream(segs, phi0_deg=PHI0)
    assert np.hypot(s["lateral"], s["forward"]).min() < 8.0
    assert counts_of(run(s)) == {"cw": 2, "ccw": 0}
    # the same path with the dip staying above the floor counts the third turn
    dip_ok = [(30.0, 0.5, (20.0, 12.0), (20.0, 12.0)), (30.0, 0.5, (12.0, 20.0), (12.0, 20.0))]
    segs = circles(2, overshoot=0) + [(180.0, 1.2, 20.0, 20.0)] + dip_ok + [(300.0, 2.0, 20.0, 20.0)]
    assert counts_of(run(circle_stream(segs, phi0_deg=PHI0))) == {"cw": 3, "ccw": 0}


@pytest.mark.parametrize("seed", range(5))
def test_jitter_neither_adds_nor_loses_turns(seed):
    segs = circles(10, +1) + circles(10, -1)
    s = circle_stream(segs, phi0_deg=PHI0, noise_deg=1.0, seed=seed)
    assert counts_of(run(s)) == {"cw": 10, "ccw": 10}


def mixed_stream():
    """Both directions, a reversal, a pause, a slow turn, an ellipse and short gaps."""
    segs = ([(360.0, 3 * PERIOD, 20.0, 20.0)] + circles(4, overshoot=0)
            + [(150.0, 1.0, 20.0, 20.0), (0.0, 2.0, 20.0, 20.0), (230.0, 1.5, 20.0, 20.0)]
            + [(200.0, 1.3, 20.0, 20.0)] + circles(5, -1, amp=25.0, fwd=12.0, overshoot=30.0))
    gaps = [(back_of_turn(k) + 2 * PERIOD - 0.2, 0.4) for k in (1, 3)]
    return circle_stream(segs, phi0_deg=PHI0, gaps=gaps)


def test_mixed_stream():
    assert counts_of(run(mixed_stream())) == {"cw": 6, "ccw": 5}


def test_half_frame_rate_same_counts():
    s = mixed_stream()
    half = {k: v[::2] for k, v in s.items()}
    assert counts_of(run(half)) == counts_of(run(s)) == {"cw": 6, "ccw": 5}
    s = circle_stream(circles(10, +1) + circles(10, -1), phi0_deg=PHI0, noise_deg=1.0, seed=3)
    assert counts_of(run({k: v[::2] for k, v in s.items()})) == {"cw": 10, "ccw": 10}


N_GROW = 30
AMPS = 20.0 + 5.0 * np.arange(N_GROW) / (N_GROW - 1)   # turn k (1-based): 20 + 5 (k-1)/29


@pytest.fixture(scope="module")
def growing():
    segs = [(360.0, PERIOD, a, a) for a in AMPS] + [(OVERSHOOT, 0.2, AMPS[-1], AMPS[-1])]
    s = circle_stream(segs, phi0_deg=PHI0)
    return s, run(s)


def test_growing_extremes_exact_per_turn(growing):
    s, found = growing
    assert counts_of(found) == {"cw": N_GROW, "ccw": 0}
    for k, turn in enumerate(found):
        # truth from the samples of this turn's phase window
        w = (s["phi"] >= PHI0 + 360.0 * k) & (s["phi"] <= PHI0 + 360.0 * (k + 1))
        expect = {"right": s["side_bend"][w].max(), "left": -s["side_bend"][w].min(),
                  "forward": s["nod"][w].max(), "backward": -s["nod"][w].min()}
        for side, value in expect.items():
            assert value == pytest.approx(AMPS[k], abs=1e-6)   # the extreme is sampled exactly
            assert turn.extreme(side) == pytest.approx(value, abs=0.2)
            assert turn.extreme(side) == pytest.approx(value, abs=1e-9)


def test_first_turn_reaching(growing):
    _, found = growing
    expected = int(np.argmax(AMPS >= 24.8)) + 1
    assert expected == 29
    assert first_turn_reaching(found, "right", 24.8) == expected
    assert first_turn_reaching(found, "left", 24.8) == expected
    assert first_turn_reaching(found, "right", 20.0) == 1
    assert first_turn_reaching(found, "right", 25.5) is None


def test_extreme_trend(growing):
    _, found = growing
    slope, intercept = extreme_trend(found, "right")
    assert slope == pytest.approx(5.0 / 29.0, abs=1e-3)
    assert intercept == pytest.approx(20.0 - 5.0 / 29.0, abs=0.02)
    assert extreme_trend(found[:1], "right") is None


def test_pure_side_bend_gives_no_turns():
    rng = np.random.default_rng(1)
    t = np.arange(0, 60, 1 / 30)
    lateral = 30 * np.sin(2 * np.pi * t / 3)
    forward = rng.normal(0, 1.0, t.shape)
    assert count_turns(t, lateral, forward, lateral, forward) == []
    # coupled with a little nod, and holds at the ends of range with noise
    ramp = np.linspace(0, 1, 45)
    one = np.concatenate([30 * ramp, np.full(150, 30.0), 30 - 60 * ramp, np.full(150, -30.0),
                          -30 + 30 * ramp])
    lateral = np.tile(one, 8)
    t = np.arange(lateral.size) / 30
    forward = 3.0 + rng.normal(0, 1.5, t.shape)
    counter = TurnCounter()
    for row in zip(t, lateral, forward, lateral, forward):
        counter.update(*row)
        assert abs(counter.progress_deg) < 180.0   # never even half a turn
    assert counter.count == 0


def test_side_bend_through_neutral_between_two_frames_gives_no_turns():
    # at a starved frame rate a side-bend jumps from +12 to -12 between samples; phi flips by
    # ~180 deg with a sign set by the forward noise. It passed through upright: never a turn.
    rng = np.random.default_rng(2)
    n = 400
    t = np.arange(n) / 4
    lateral = np.where(np.arange(n) % 2 == 0, 12.0, -12.0)
    forward = rng.normal(0, 1.0, n)
    assert count_turns(t, lateral, forward) == []


def test_pure_nod_gives_no_turns():
    rng = np.random.default_rng(3)
    t = np.arange(0, 60, 1 / 30)
    forward = 30 * np.sin(2 * np.pi * t / 3)
    lateral = rng.normal(0, 1.0, t.shape)
    assert count_turns(t, lateral, forward, lateral, forward) == []


def test_head_turns_give_no_turns():
    # rotation leaves the vertical axis upright: tilt a few deg of noise and coupling, below floor
    rng = np.random.default_rng(4)
    t = np.arange(0, 60, 1 / 30)
    lateral = 3 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 1.0, t.shape)
    forward = 2 * np.cos(2 * np.pi * t / 4) + rng.normal(0, 1.0, t.shape)
    assert count_turns(t, lateral, forward) == []


def test_streaming_api():
    s = circle_stream(circles(3, +1) + circles(2, -1), phi0_deg=PHI0)
    counter = TurnCounter(floor_deg=8.0, reversal_deg=40.0, max_gap_s=1.0)
    returned, progress = [], []
    for row in zip(s["t"], s["lateral"], s["forward"], s["side_bend"], s["nod"]):
        turn = counter.update(*row)
        progress.append(counter.progress_deg)
        if turn is not None:
            returned.append(turn)
    assert returned == counter.turns and counter.count == 5
    assert counter.counts == {"cw": 3, "ccw": 2}
    assert max(progress) == pytest.approx(360.0, abs=6.0)    # live display runs up to a turn
    assert min(progress) == pytest.approx(-360.0, abs=6.0)   # and down for ccw
    assert isinstance(returned[0], Turn)
    d = returned[0].as_dict()
    assert d["index"] == 1 and d["direction"] == "cw"
    assert set(d) == {"index", "direction", "start_s", "end_s", "right_extreme_deg",
                      "left_extreme_deg", "forward_extreme_deg", "backward_extreme_deg"}
    with pytest.raises(AttributeError):         # frozen (dataclasses.FrozenInstanceError)
        returned[0].index = 2


def test_extremes_none_when_a_side_is_never_reached():
    # circles tilted so the side-bend channel stays right of neutral throughout
    s = circle_stream(circles(2), phi0_deg=PHI0)
    found = count_turns(s["t"], s["lateral"], s["forward"], s["side_bend"] + 30.0, s["nod"])
    assert len(found) == 2
    assert all(t.left_extreme_deg is None and t.right_extreme_deg > 30 for t in found)


def test_bad_parameters():
    with pytest.raises(ValueError):
        TurnCounter(floor_deg=0)
    with pytest.raises(ValueError):
        TurnCounter(reversal_deg=200)
    assert math.isfinite(tm.TurnCounter().progress_deg)


def test_extremes_are_per_turn_not_running():
    # amplitudes going up and down: a running max (or a window leaking into the neighbours)
    # would report the bigger neighbour
    amps = [22.0, 26.0, 20.0, 24.0, 21.0, 21.0, 25.0, 20.5]
    segs = [(360.0, PERIOD, a, a) for a in amps] + [(OVERSHOOT, 0.2, amps[-1], amps[-1])]
    found = run(circle_stream(segs, phi0_deg=PHI0))
    assert [t.right_extreme_deg for t in found] == pytest.approx(amps, abs=1e-6)
    assert [t.backward_extreme_deg for t in found] == pytest.approx(amps, abs=1e-6)


def test_reversed_turn_extremes_exclude_the_dropped_partial():
    # 200 deg cw at 30 deg of tilt (passing the right side), then back and round ccw at 20:
    # the ccw turn starts at the turning point (phi 155), so its right extreme is 20, not 30
    segs = [(200.0, 1.3, 30.0, 30.0)] + circles(1, -1, amp=20.0, overshoot=30.0)
    found = run(circle_stream(segs, phi0_deg=PHI0))
    assert counts_of(found) == {"cw": 0, "ccw": 1}
    assert found[0].right_extreme_deg == pytest.approx(20.0, abs=1e-6)
    assert found[0].left_extreme_deg == pytest.approx(20.0, abs=1e-6)


def test_short_gap_hiding_more_than_half_a_turn_breaks_it():
    # fast circles (1.2 s a turn): a 0.8 s gap hides 240 deg, which could as well have been
    # 120 deg backwards; the way the head went is unknown, so that turn is broken:
    # 4 turns, then after the gap (ends at 225 + 4*360 + 120 = 1785 of 3620 deg) 5 more
    fast = 1.2
    back4 = (180.0 - PHI0 + 360.0 * 4) / 360.0 * fast
    s = circle_stream(circles(10, period=fast), phi0_deg=PHI0, gaps=[(back4 - 0.4, 0.8)])
    assert counts_of(run(s)) == {"cw": 9, "ccw": 0}
    # the same gap in slow circles (2.4 s: 120 deg hidden) is bridged
    s = circle_stream(circles(10), phi0_deg=PHI0, gaps=[(back_of_turn(4) - 0.4, 0.8)])
    assert counts_of(run(s)) == {"cw": 10, "ccw": 0}
