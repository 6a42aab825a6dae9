"""The neck's trunk reference (romcam.measure.series): the shoulder line read at rest, then
averaged, offline and live. Pure: a synthetic shoulder line with 1-deg noise per frame and
side-bends every 4 s; printed with ``pytest -s``.
"""

from __future__ import annotations

import numpy as np
import pytest

from romcam.measure.joints import get_joint
from romcam.measure.series import HOLD_AFTER_S, StreamingMeasurer, reference_series

NECK = get_joint("neck-side-bend")
LEAN_AT_S, LEAN_DEG = 15.0, 6.0


@pytest.fixture(scope="module")
def clip():
    """30 fps for 40 s: the trunk leans 6 deg at 15 s and stays there; the head bends 30 deg from
    the trunk every 4 s, upright in between."""
    t = np.arange(0.0, 40.0, 1.0 / 30.0)
    trunk = np.where(t < LEAN_AT_S, 0.0, LEAN_DEG) + np.random.default_rng(3).normal(0.0, 1.0, len(t))
    head = trunk + 30.0 * np.clip(np.sin(2.0 * np.pi * t / 4.0), 0.0, None)
    offline = reference_series(t, head, trunk, NECK.reference_window_s, NECK.reference_average_s)
    at_rest_only = reference_series(t, head, trunk, NECK.reference_window_s)
    live = StreamingMeasurer(NECK, ["signed"])
    return t, offline, at_rest_only, np.array([live._reference(*sample) for sample in zip(t, head, trunk)])


def test_a_lasting_trunk_lean_is_followed_offline_and_live(clip):
    t, offline, _, live = clip
    for name, ref, settled_s in (("offline", offline, 4.5), ("live", live, 9.0)):
        before = ref[(t > 1.0) & (t < LEAN_AT_S - 5.0)]       # offline looks 4.5 s ahead
        after = ref[t > LEAN_AT_S + settled_s]              # read at rest over 3 s, averaged over 6 s
        print(f"\n{name}: before the lean within {np.abs(before).max():.2f} deg of 0, "
              f"after within {np.abs(after - LEAN_DEG).max():.2f} deg of {LEAN_DEG}")
        assert np.abs(before).max() < 0.5 and np.abs(after - LEAN_DEG).max() < 0.5


def test_averaging_removes_the_steps_of_the_read_at_rest_reference(clip):
    """Which frames count as "at rest" changes from moment to moment: alone, the reference jumps
    by about the shoulder line's noise; averaged it moves smoothly (so two runs whose poses differ
    a little, e.g. romcam's chunks split elsewhere, give the same neck angle)."""
    t, offline, at_rest_only, live = clip
    steps = {name: float(np.abs(np.diff(ref[t > 1.0])).max())
             for name, ref in (("at rest only", at_rest_only), ("averaged", offline), ("live", live))}
    print("\nlargest frame-to-frame step of the reference (deg):", {k: round(v, 3) for k, v in steps.items()})
    assert steps["at rest only"] > 0.5
    assert steps["averaged"] < 0.1 and steps["live"] < 0.1


def test_live_and_offline_agree_where_the_trunk_is_steady(clip):
    t, offline, _, live = clip
    steady = ((t > NECK.reference_average_s + 2.0) & (t < LEAN_AT_S - 5.0)) | (t > LEAN_AT_S + 9.0)
    gap = np.abs(live - offline)[steady]
    print(f"\nlive - offline reference, steady trunk: up to {gap.max():.2f} deg")
    assert gap.max() < 0.3


def test_a_head_that_stays_tilted_does_not_drag_the_reference():
    """Rocks between 18 and 22 deg for 18 s after 3 s upright, never back to neutral, then upright
    again; the trunk stays at 0 while the shoulder line follows the head by a tenth of its tilt (the
    pose model's shoulders, as measured on the rendered 3-D heads: 1.5-2.9 deg at 18-22 deg). The
    reference is the one read upright: offline over the whole set, live once the head has been
    tilted for ``HOLD_AFTER_S`` and that long has been averaged in."""
    t = np.arange(0.0, 24.0, 1.0 / 30.0)
    rocks = (t >= 3.0) & (t < 21.0)
    head = np.where(rocks, 20.0 - 2.0 * np.cos(2.0 * np.pi * 0.8 * (t - 3.0)), 0.0)
    trunk = 0.1 * head + np.random.default_rng(5).normal(0.0, 0.5, len(t))
    offline = reference_series(t, head, trunk, NECK.reference_window_s, NECK.reference_average_s)
    live = StreamingMeasurer(NECK, ["signed"])
    live_ref = np.array([live._reference(*sample) for sample in zip(t, head, trunk)])
    held_live = rocks & (t >= 3.0 + NECK.reference_window_s / 2 + HOLD_AFTER_S + NECK.reference_average_s)
    for name, ref, where in (("offline", offline, rocks), ("live", live_ref, held_live)):
        print(f"\n{name}: reference during the rocks within {np.abs(ref[where]).max():.2f} deg of the trunk "
              f"(the shoulder line there: {np.median(trunk[rocks]):+.2f})")
        assert np.abs(ref[where]).max() < 0.4
