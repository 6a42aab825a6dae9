"""Rep counting on synthetic angle series with exact reps."""

from __future__ import annotations

import numpy as np
import pytest

from romcam.measure.reps import RepCounter, RepThresholds, count_reps
from videotools import rep_schedule

TH = RepThresholds(enter_deg=6.0, exit_deg=3.0, min_amplitude_deg=8.0)


def series(peaks, fps=30.0, **kw):
    x = rep_schedule(peaks, fps, **kw)
    return np.arange(len(x)) / fps, x


def test_counts_each_rep_with_times_and_peak():
    t, x = series([20, 22, 25], rise_s=0.6, hold_s=0.3)
    reps, incomplete = count_reps(t, x, "right", TH)
    assert [round(r.peak_deg, 6) for r in reps] == [20, 22, 25]
    assert incomplete is None
    for r in reps:
        assert r.start_s < r.peak_s < r.end_s
        assert r.complete and r.side == "right"


def test_jitter_around_a_threshold_does_not_count():
    t = np.arange(300) / 30.0
    x = 6.0 + 0.8 * np.sin(2 * np.pi * 5 * t)  # jitter across the enter threshold, amplitude < 8
    assert count_reps(t, x, "right", TH)[0] == []


def test_hold_at_end_of_range_is_one_rep():
    t, x = series([20], rise_s=0.5, hold_s=5.0)
    x[60:150] += 1.5 * np.sin(np.arange(90))  # wobble while holding
    assert len(count_reps(t, x, "right", TH)[0]) == 1


def test_one_frame_dip_does_not_split_a_rep():
    t, x = series([20], rise_s=0.5, hold_s=1.0)
    x[40] = 0.0  # one glitched frame
    assert len(count_reps(t, x, "right", TH)[0]) == 1


def test_too_small_or_too_short_does_not_count():
    t, x = series([7.0], rise_s=0.5, hold_s=0.5)   # below the minimum amplitude
    assert count_reps(t, x, "right", TH)[0] == []
    t = np.arange(60) / 30.0
    x = np.zeros(60)
    x[20:24] = 15.0                                # 4 frames: shorter than min_duration
    assert count_reps(t, x, "right", TH)[0] == []


def test_walking_into_frame_mid_excursion_is_not_a_rep():
    t, x = series([20, 20], rise_s=0.6, hold_s=0.3, lead_s=0.0)
    x[:25] = np.nan       # first frames: person not visible yet, appears already bent
    reps, _ = count_reps(t, x, "right", TH)
    assert len(reps) == 1


def test_gap_inside_a_rep_voids_it_but_short_gaps_are_fine():
    t, x = series([20, 20, 20], rise_s=0.6, hold_s=0.3)
    long_gap = x.copy()
    long_gap[40:55] = np.nan   # 0.5 s unseen in the first rep
    assert len(count_reps(t, long_gap, "right", TH)[0]) == 2
    short_gap = x.copy()
    short_gap[40:44] = np.nan  # 0.13 s
    assert len(count_reps(t, short_gap, "right", TH)[0]) == 3


def test_unfinished_excursion_is_reported_not_counted():
    t, x = series([20, 20], rise_s=0.6, hold_s=0.3)
    x = np.concatenate([x, 20 * np.ones(30)])
    t = np.arange(len(x)) / 30.0
    reps, incomplete = count_reps(t, x, "right", TH)
    assert len(reps) == 2
    assert incomplete is not None and not incomplete.complete and incomplete.end_s is None
    assert incomplete.peak_deg == pytest.approx(20)


def test_signed_joint_left_side_counts_negative_excursions():
    t, x = series([15, -18, 15, -21], rise_s=0.5, hold_s=0.2)
    right, _ = count_reps(t, x, "right", TH, neutral_deg=0.0, sign=1)
    left, _ = count_reps(t, x, "left", TH, neutral_deg=0.0, sign=-1)
    assert [r.peak_deg for r in right] == pytest.approx([15, 15])
    assert [r.peak_deg for r in left] == pytest.approx([18, 21])


def test_neutral_offset_and_live_counter_state():
    counter = RepCounter("left", TH, neutral_deg=5.0)
    t, x = series([20], rise_s=0.5, hold_s=0.3)
    seen_in_rep = False
    for ti, xi in zip(t, x + 5.0):
        done = counter.update(ti, xi)
        seen_in_rep |= counter.in_rep
        if done:
            assert done.peak_deg == pytest.approx(25.0)  # the angle itself, not the excursion
    assert seen_in_rep and counter.count == 1


def test_thresholds_scale_with_the_movement():
    th = TH.scaled_to(100.0)
    assert th.enter_deg == pytest.approx(45.0) and th.exit_deg == pytest.approx(20.0)
    assert TH.scaled_to(5.0) == TH  # small movements keep the joint's floors
    with pytest.raises(ValueError):
        RepThresholds(enter_deg=3.0, exit_deg=5.0, min_amplitude_deg=8.0)


def test_an_oscillation_begins_where_its_rise_leaves_its_low_not_at_an_early_low_in_the_rest():
    """A rest whose lowest sample comes early (a dip at 0.5 s), then a rise at 3.0 s: the rep starts
    at the rise (what the knee-over-toe reading takes the toe before), its low is the dip."""
    from romcam.measure.reps import OscillationCounter, SwingThresholds

    t = np.arange(0, 7, 1 / 30)
    angle = np.where((t >= 3.0) & (t < 5.0), 20.0 * np.sin(np.pi * (t - 3.0) / 2.0), 0.0)
    angle[(t > 0.45) & (t < 0.55)] = -0.8
    counter = OscillationCounter("right", SwingThresholds(3.0, 3.0))
    for ti, a in zip(t, angle):
        counter.update(float(ti), float(a))
    (rep,) = counter.reps
    assert rep.low_deg == pytest.approx(-0.8)
    assert 2.9 <= rep.start_s <= 3.1, rep.start_s
    assert rep.peak_s == pytest.approx(4.0, abs=0.05)
