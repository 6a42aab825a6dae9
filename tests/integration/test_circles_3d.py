"""Neck circles on a real face rendered as a textured 3-D mesh at known head poses
(tests/tools/head_render.py), encoded as video and run through MediaPipe and romcam like any recording;
real clips with no circles in them; half the frame rate and a rolled camera.

The truth of every frame is its rotation: the side-bend is docs/design.md's definition
(``lateral_flexion_truth``) of the rendered rotation. Printed with ``pytest -s``: every turn's
extremes against the truth, and how many frames lost the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import head_render as hr
from conftest import media
from romcam.measure.circles import analyze_circles, side_result
from romcam.measure.turns import first_turn_reaching
from videotools import rotate_whole, write_video

FPS = 25.0
PER_TURN = 50                       # 2 s per turn at 25 fps: 7.2 deg of phase per frame
PHI0 = 3.6                          # so that phi = 90 and 270 (the side-bend extremes) are rendered
LEAD_S = 2.5                        # looking ahead: the neutral
EXTREME_TOL = 1.5
# 30 turns, the first 15 clockwise and the next 15 counter-clockwise; the tilt (the side-bend at
# the side of the circle) grows 20 -> 23.5 deg over turns 1-20 and is 25.5 deg from turn 21 on:
# "the range reached 25 deg at turn 21". After the set: 3 side-bends to each side at 25 deg.
TILTS = np.concatenate([np.linspace(20.0, 23.5, 20), np.full(10, 25.5)])
AFTER_DEG = 25.0
OVERSHOOT_FRAMES = 4                # each direction runs 28.8 deg past its last whole turn


def _ramp(n):
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, endpoint=False))


def circle_schedule(tilts, directions, after_deg=None):
    """Rotations per frame, and (start, stop) frame slices of the after trials' holds."""
    rows = [np.eye(3)] * int(LEAD_S * FPS)
    phi = PHI0
    up = _ramp(int(0.8 * FPS))
    rows += [hr.circle_rotation(phi, k * tilts[0]) for k in up]          # slow start from upright
    step = 360.0 / PER_TURN
    for k, (tilt, d) in enumerate(zip(tilts, directions)):
        last_of_block = k + 1 == len(tilts) or directions[k + 1] != d
        for _ in range(PER_TURN + (OVERSHOOT_FRAMES if last_of_block else 0)):
            rows.append(hr.circle_rotation(phi, tilt))
            phi += d * step
    rows += [hr.circle_rotation(phi, k * tilts[-1]) for k in up[::-1]]   # back to upright
    rows += [np.eye(3)] * int(0.6 * FPS)
    holds = []
    if after_deg is not None:
        for sign in (1, -1, 1, -1, 1, -1):
            p = hr.head_rotation(sign * after_deg)
            rows += [hr.head_rotation(sign * after_deg * k) for k in _ramp(int(0.6 * FPS))]
            holds.append((len(rows), len(rows) + int(0.6 * FPS)))
            rows += [p] * int(0.6 * FPS)
            rows += [hr.head_rotation(sign * after_deg * k) for k in _ramp(int(0.6 * FPS))[::-1]]
            rows += [np.eye(3)] * int(0.4 * FPS)
    return rows, holds


@pytest.fixture(scope="module")
def renderer(model_dir):
    media(hr.SOURCES["man"][0])                       # a missing clip fails here, never skips
    return hr.source_renderer("man", model_dir)[1]


@pytest.fixture(scope="module")
def growth_clip(renderer, tmp_path_factory, landmarks_of):
    directions = [1] * 15 + [-1] * 15
    rows, holds = circle_schedule(TILTS, directions, AFTER_DEG)
    path = write_video(tmp_path_factory.mktemp("circles3d") / "circles.mp4", [renderer.render(r) for r in rows], FPS)
    return landmarks_of(path, face=True), rows, holds


@dataclass
class TruthTurn:
    index: int
    extremes: dict

    def extreme(self, side):
        return self.extremes[side]


def truth_extremes(rows, t, turn, ear):
    sb = np.array([hr.lateral_flexion_truth(rows[k], ear) for k in np.flatnonzero((t >= turn.start_s) & (t <= turn.end_s))])
    return {"right": float(sb.max()), "left": float(-sb.min())}


def test_rendered_circles_every_turn_and_its_extremes(growth_clip, renderer):
    landmarks, rows, holds = growth_clip
    a = analyze_circles(landmarks)
    s = a.series
    lost = int((~s.valid).sum())
    print(f"\nrendered circles (the man of neck_rotation_front.mp4), {len(rows)} frames: "
          f"{len(a.turns)} turns, {lost} frames without a usable face ({ {p for p in s.problems if p} }); "
          f"neutral: {s.neutral.source}")
    print(" turn dir   right  truth    err |   left  truth    err | fwd    back")
    errors = []
    for turn in a.turns:
        truth = truth_extremes(rows, s.t, turn, renderer.ear_axis)
        err = {side: turn.extreme(side) - truth[side] for side in truth}
        errors.append(err)
        print(f"{turn.index:5d} {turn.direction:>3} {turn.right_extreme_deg:7.2f} {truth['right']:6.2f} "
              f"{err['right']:+6.2f} | {turn.left_extreme_deg:6.2f} {truth['left']:6.2f} {err['left']:+6.2f} | "
              f"{turn.forward_extreme_deg:5.1f} {turn.backward_extreme_deg:6.1f}")
    worst = max(abs(e) for err in errors for e in err.values())
    print(f"worst |error| of a turn's side-bend extreme: {worst:.2f} deg; "
          f"mean error right {np.mean([e['right'] for e in errors]):+.2f}, left {np.mean([e['left'] for e in errors]):+.2f}")
    assert [t.direction for t in a.turns] == ["cw"] * 15 + ["ccw"] * 15
    assert worst <= EXTREME_TOL
    assert lost <= 0.05 * len(rows)


def test_rendered_circles_reach_the_after_level_at_the_right_turn(growth_clip, renderer):
    """"Right side-bend reached X deg at turn N": the after-level is read, as in a session, from
    side-bends to 25 deg rendered after the set (same neutral, same filter); N must be the turn at
    which the rendered poses first reached the after trials' 25 deg."""
    landmarks, rows, holds = growth_clip
    a = analyze_circles(landmarks)
    t = a.series.t
    for side, sign, first_hold in (("right", 1, 0), ("left", -1, 1)):
        peaks = [sign * float(np.nanmedian(a.series.side_bend[h0 + 2:h1 - 2])) for h0, h1 in holds[first_hold::2]]
        level = float(np.median(peaks))
        truth_turns = [TruthTurn(turn.index, truth_extremes(rows, t, turn, renderer.ear_axis)) for turn in a.turns]
        truth_n = first_turn_reaching(truth_turns, side, AFTER_DEG)
        res = side_result(a.turns, side, level)
        print(f"\n{res.sentence()}; truth: turn {truth_n} (after trials {np.round(peaks, 2)}, truth {AFTER_DEG}); "
              f"trend {res.trend_deg_per_turn:+.3f} deg/turn")
        assert truth_n == 21
        assert res.first_turn_at_level == truth_n
        assert res.trend_deg_per_turn > 0.1


def test_rendered_circles_against_the_edge_as_constructed(growth_clip, renderer):
    """Each turn's side-bend extreme against the moving edge (romcam.measure.edge), starting at the
    20-deg range the circles start with: the measured turns reach the edge exactly where the
    rendered truth does, and the edge grows as the rendered tilt (20 -> 25.5 deg)."""
    from romcam.measure.edge import judge_set
    landmarks, rows, _ = growth_clip
    a = analyze_circles(landmarks)
    for side in ("right", "left"):
        truth = [truth_extremes(rows, a.series.t, turn, renderer.ear_axis)[side] for turn in a.turns]
        found = [turn.extreme(side) for turn in a.turns]
        judged, true = (judge_set(x, None, 20.0, side=side, kind="turns") for x in (found, truth))
        print(f"\n{side}: {judged.summary()} (truth: {true.summary()})")
        assert [r.reached for r in judged.reps] == [r.reached for r in true.reps]
        assert abs(judged.edge_end_deg - true.edge_end_deg) <= EXTREME_TOL
        assert true.edge_end_deg >= 25.0 and judged.flagged == 0


# --------------------------------------------------------------------------- invariance


@pytest.fixture(scope="module")
def short_clip(renderer):
    """6 turns at 22 deg: 3 clockwise, then 3 counter-clockwise."""
    rows, _ = circle_schedule(np.full(6, 22.0), [1, 1, 1, -1, -1, -1])
    return [renderer.render(r) for r in rows]


@pytest.mark.parametrize("change", ["as rendered", "half frame rate", "camera roll +10", "camera roll -10"])
def test_turn_counts_survive_half_rate_and_camera_roll(change, short_clip, tmp_path_factory, landmarks_of):
    frames, fps = short_clip, FPS
    if change == "half frame rate":
        frames, fps = frames[::2], FPS / 2
    elif change.startswith("camera roll"):
        frames = [rotate_whole(f, float(change.split()[-1])) for f in frames]
    path = write_video(tmp_path_factory.mktemp("circles3d") / "short.mp4", frames, fps)
    a = analyze_circles(landmarks_of(path, face=True))
    counts = {d: sum(t.direction == d for t in a.turns) for d in ("cw", "ccw")}
    right = [round(t.right_extreme_deg, 1) for t in a.turns]
    print(f"\n{change}: {counts}, right extremes {right}")
    assert counts == {"cw": 3, "ccw": 3}
    assert max(abs(r - 22.0) for r in right) <= 2.0


# --------------------------------------------------------------------------- real clips


@pytest.mark.parametrize("clip", ["neck_rotation_front.mp4", "side_bend_rotation_front.mp4"])
def test_real_clips_without_circles_have_no_turns(clip, landmarks_of):
    a = analyze_circles(landmarks_of(media(clip), face=True))
    tilt = np.hypot(a.series.lateral, a.series.forward)
    print(f"\n{clip}: {len(a.turns)} turns; tilt from the neutral: median {np.nanmedian(tilt):.1f}, "
          f"95th percentile {np.nanpercentile(tilt, 95):.1f} deg; largest unfinished turn "
          f"{abs(a.progress_deg):.0f} deg; neutral: {a.series.neutral.source}")
    assert a.turns == []
