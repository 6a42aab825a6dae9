"""Neck side-bend against known 3-D truth: a real face rendered as a textured 3-D mesh at known
head poses (tests/tools/head_render.py), encoded as a video and run through MediaPipe and romcam like
any recording (docs/design.md, "Testing with known truth").

Every pose is performed as a rep (neutral -> pose -> hold -> neutral), since the shoulder line is
read while the head is upright. The truth of a pose is docs/design.md's definition evaluated on the
rotation that drew it: the elevation of the ear-to-ear axis above the trunk's transverse plane.
Printed with ``pytest -s``: the error of every pose, and the old image-plane angle's error beside
it.
"""

from __future__ import annotations

import numpy as np
import pytest

import head_render as hr
from conftest import media
from romcam.measure import head, series
from romcam.measure.analysis import analyze_landmarks
from romcam.measure.joints import get_joint
from videotools import write_video

FPS = 25.0
LEAD_S, RAMP_S, HOLD_S, REST_S = 2.0, 0.5, 0.6, 0.5

# (side-bend, turn, nod) in degrees; + = towards the person's right, + nod = chin down.
# Coupled side-bends turn towards the same side, as real ones do.
POSES = [
    (10, 0, 0), (-10, 0, 0), (20, 0, 0), (-20, 0, 0), (30, 0, 0), (-30, 0, 0), (40, 0, 0), (-40, 0, 0),
    (20, 15, 0), (-20, -15, 0), (30, 25, 0), (-30, -25, 0), (35, 25, 0), (-35, -25, 0),
    (25, 35, 0), (-25, -35, 0), (35, 35, 0), (-35, -35, 0),
    (20, 0, 15), (-20, 0, -15), (30, 0, -15), (-30, 0, 15), (20, 25, 15), (-20, -25, -15),
    (30, 25, -15), (-30, -25, 15),
]
GROWTH = np.linspace(20.0, 25.0, 10)        # 10 reps, alternating sides, growing 20 -> 25 deg
GROWTH_TURN, GROWTH_NOD = 10.0, 5.0         # with a little coupled turn and nod


def _ramp(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, endpoint=False))


def rep_schedule(poses) -> tuple[np.ndarray, list[slice]]:
    """Per frame (side-bend, turn, nod), and for each pose the frames of its hold."""
    rows = [np.zeros(3)] * int(LEAD_S * FPS)
    holds = []
    up, hold, rest = _ramp(int(RAMP_S * FPS)), int(HOLD_S * FPS), int(REST_S * FPS)
    for pose in poses:
        p = np.asarray(pose, dtype=float)
        rows += [k * p for k in up]
        holds.append(slice(len(rows), len(rows) + hold))
        rows += [p] * hold
        rows += [k * p for k in up[::-1]] + [np.zeros(3)] * rest
    return np.array(rows), holds


@pytest.fixture(scope="module")
def renderer(model_dir):
    media(hr.SOURCES["man"][0])                       # a missing clip fails here, never skips
    return hr.source_renderer("man", model_dir)[1]


def _render_clip(renderer, schedule, path):
    return write_video(path, [renderer.render(hr.head_rotation(*p)) for p in schedule], FPS)


@pytest.fixture(scope="module")
def pose_clip(renderer, tmp_path_factory, landmarks_of, output_dir):
    schedule, holds = rep_schedule(POSES)
    path = _render_clip(renderer, schedule, tmp_path_factory.mktemp("neck3d") / "poses.mp4")
    # a contact sheet of held poses, to look at
    picks = [0, 6, 10, 15, 17, 19, 23, 25]
    tiles = [hr._label(renderer.render(hr.head_rotation(*POSES[k]))[40:500, 230:730],
                       "sb {:+d} turn {:+d} nod {:+d}".format(*POSES[k])) for k in picks]
    import cv2
    cv2.imwrite(str(output_dir / "neck_3d_poses.png"), np.vstack([np.hstack(tiles[:4]), np.hstack(tiles[4:])]))
    return landmarks_of(path, face=True), schedule, holds


def _hold_value(series, hold: slice) -> float:
    inner = series[hold][2:-2]
    return float(np.nanmedian(inner)) if np.isfinite(inner).any() else np.nan


# Error limits by turn. Issue #8's goals: 1.5 deg up to 25 deg of turn (nods within +-15), 3 deg
# at 35. Met: turns 0 and 15 (0.77, 0.99), and 35 (2.93: the limit leaves room for another CPU's
# arithmetic). Not met: 25 (1.67, its own strict xfail below); the limit there is what MediaPipe's
# face matrix gives on these renders (1.47) plus romcam's trunk reference (docs/validation/neck-3d.md).
LIMIT_BY_TURN = {0: 1.5, 15: 1.5, 25: 2.0, 35: 3.5}
ROMCAM_OVER_MATRIX = 0.75   # romcam's angle vs the bare matrix reading on the same frames


@pytest.fixture(scope="module")
def pose_errors(pose_clip, renderer):
    """(bend, turn, nod, truth, romcam error, face matrix alone error, old image-plane error) per
    pose. The truth is the rotation applied to the rendered head's own ear-to-ear axis (the source
    face is turned about 2 deg: ``HeadRenderer.ear_axis``)."""
    landmarks, schedule, holds = pose_clip
    joint = get_joint("neck-side-bend")
    a = analyze_landmarks(joint, landmarks, "both")
    signed = a.channels["signed"].filtered
    lead = slice(int(0.5 * FPS), int(LEAD_S * FPS))
    neutral = float(np.nanmedian(signed[lead]))
    reference = series.measure_channel(joint, landmarks, None).reference     # the shoulder line at rest
    # the bare face matrix against the camera (the renders' shoulders never move), and the old
    # definition (image-plane roll of the ear axis) against the same shoulder reference
    matrix = np.array([head.lateral_flexion_deg(lm.face_matrix) if lm.face_matrix is not None else np.nan
                       for lm in landmarks])
    old = np.array([head.image_roll_deg(lm.face_matrix) - r if lm.face_matrix is not None else np.nan
                    for lm, r in zip(landmarks, reference)])

    rows = []
    for pose, hold in zip(POSES, holds):
        truth = hr.lateral_flexion_truth(hr.head_rotation(*pose), renderer.ear_axis)
        rows.append((*pose, truth, _hold_value(signed, hold) - neutral - truth,
                     _hold_value(matrix, hold) - np.nanmedian(matrix[lead]) - truth,
                     _hold_value(old, hold) - np.nanmedian(old[lead]) - truth))
    print("\nrendered 3-D head (the man of neck_rotation_front.mp4): lateral flexion error by pose (deg)")
    print(" bend  turn   nod  truth  romcam err  matrix alone  old image-plane")
    for bend, turn, nod, truth, err, mat, old_err in rows:
        print(f"{bend:5.0f} {turn:5.0f} {nod:5.0f} {truth:6.1f} {err:10.2f} {mat:12.2f} {old_err:14.2f}")
    for turn in LIMIT_BY_TURN:
        sel = [r for r in rows if abs(r[1]) == turn]
        print(f"turn {turn:2d}: max |err| romcam {max(abs(r[4]) for r in sel):.2f}, matrix alone "
              f"{max(abs(r[5]) for r in sel):.2f}, old image-plane {max(abs(r[6]) for r in sel):.2f}")
    return rows


def test_lateral_flexion_matches_the_3d_truth(pose_errors):
    for bend, turn, nod, _truth, err, mat, _ in pose_errors:
        assert np.isfinite(err), (bend, turn, nod)
        limit = LIMIT_BY_TURN[abs(turn)]
        assert abs(err) <= limit, f"pose sb {bend} turn {turn} nod {nod}: error {err:.2f} deg (limit {limit})"
        assert abs(err - mat) <= ROMCAM_OVER_MATRIX, (bend, turn, nod, err, mat)
    # the 3-D definition is what makes coupled side-bends right: the old angle is further off there
    coupled = [r for r in pose_errors if abs(r[1]) >= 25]
    assert np.mean([abs(r[6]) for r in coupled]) > np.mean([abs(r[4]) for r in coupled])


@pytest.mark.xfail(strict=True, reason="NOT MET yet (issue #8): at 25 deg of coupled turn the worst pose "
                   "(bend 35) reads 1.67 deg low; MediaPipe's face matrix alone 1.47, its detected eye line "
                   "up to 3.1 deg off in the image (test below)")
def test_coupled_turn_of_25_within_the_issue_goal(pose_errors):
    assert max(abs(r[4]) for r in pose_errors if abs(r[1]) == 25) <= 1.5


def test_growth_20_to_25_recovered_rep_by_rep(renderer, tmp_path_factory, landmarks_of):
    signs = np.where(np.arange(len(GROWTH)) % 2 == 0, 1.0, -1.0)      # right, left, right, ...
    poses = [(s * g, s * GROWTH_TURN, GROWTH_NOD) for s, g in zip(signs, GROWTH)]
    schedule, _ = rep_schedule(poses)
    path = _render_clip(renderer, schedule, tmp_path_factory.mktemp("neck3d") / "growth.mp4")
    a = analyze_landmarks(get_joint("neck-side-bend"), landmarks_of(path, face=True), "both")
    neutral = float(np.nanmedian(a.channels["signed"].filtered[int(0.5 * FPS):int(LEAD_S * FPS)]))
    for side, sign in (("right", 1.0), ("left", -1.0)):
        truth = np.array([hr.lateral_flexion_truth(hr.head_rotation(*p), renderer.ear_axis) * sign
                          for p in poses if p[0] * sign > 0])
        reps = a.sides[side].reps
        peaks = np.array([r.peak_deg for r in reps]) - sign * neutral     # relative to the neutral
        print(f"\n{side}: truth {np.round(truth, 2)}\n{side}: found {np.round(peaks, 2)}")
        assert len(reps) == len(truth), (side, len(reps))
        assert np.max(np.abs(peaks - truth)) <= 1.5
        growth, true_growth = peaks[-1] - peaks[0], truth[-1] - truth[0]
        assert abs(growth - true_growth) <= 1.0, (growth, true_growth)
        assert np.polyfit(np.arange(len(peaks)), peaks, 1)[0] > 0


def _eye_line_deg(points_xy) -> float:
    """Image direction (y up) of the line from the right eye's outer corner (33) to the left's (263)."""
    d = np.asarray(points_xy, float)[263, :2] - np.asarray(points_xy, float)[33, :2]
    return float(np.degrees(np.arctan2(-d[1], d[0])))


def test_the_coupled_turn_residual_is_in_the_face_landmarks(renderer, model_dir):
    """Why the 1.5-deg goal is not met at 25-35 deg of coupled turn (issue #8): the renderer knows
    where every face-mesh point truly lands in the image, so the detected points can be checked
    directly. The eye line MediaPipe draws is itself off by more than 1.5 deg at the worst coupled
    poses, while it is within about 1 deg for pure side-bends. Both head-pose sources tried on these
    points (the face matrix, and a 2-D PnP fit of the person's own neutral mesh: docs/validation/neck-3d.md) err by
    2.2-3.2 deg at the worst of them."""
    pure = [p for p in POSES if p[1] == p[2] == 0]
    coupled = [p for p in POSES if abs(p[1]) >= 25]
    errors = {}
    with hr.Detector(model_dir, pose=False) as det:
        for pose in pure + coupled:
            R = hr.head_rotation(*pose)
            found = det.face(renderer.render(R))
            assert found is not None, pose
            errors[pose] = _eye_line_deg(found.points_px) - _eye_line_deg(renderer.posed_vertices(R))
    print("\ndetected - true eye line in the image (deg), by pose (bend, turn, nod):")
    print("  ".join(f"{p}: {e:+.2f}" for p, e in errors.items()))
    worst_pure = max(abs(errors[p]) for p in pure)
    worst_25 = max(abs(errors[p]) for p in coupled if abs(p[1]) == 25)
    print(f"worst: pure side-bends {worst_pure:.2f}, coupled turn 25 {worst_25:.2f}, coupled turn 35 "
          f"{max(abs(errors[p]) for p in coupled if abs(p[1]) == 35):.2f}")
    assert worst_pure <= 1.5 < worst_25
