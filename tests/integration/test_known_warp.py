"""Known warp: a synthetic side-bend built from a real frontal frame (docs/design.md, "Testing with known truth").

The head of a real person (neck_rotation_front.mp4, a frame where he faces the camera) is
rotated about the base of his neck by a known schedule: five reps each side at 20 deg, then
five each side at 25 deg. The pipeline must find every rep, each peak within 1.5 deg of the
truth, and the 20 -> 25 growth.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import media
from romcam.measure.analysis import analyze_landmarks
from romcam.measure.joints import get_joint
from videotools import HeadTilter, read_frames, rep_schedule, write_video

FPS = 30.0
SCHEDULE = [20.0, -20.0] * 5 + [25.0, -25.0] * 5   # + = towards the person's right


@pytest.fixture(scope="module")
def side_bend_clip(tmp_path_factory, landmarks_of):
    source = media("neck_rotation_front.mp4")
    frames, _ = read_frames(source, start=80, stop=81, scale=0.5)
    base = landmarks_of(source, face=True)[80]          # the person facing the camera
    p = base.pose[:, :2] * 0.5
    tilter = HeadTilter(frames[0], p[0], p[11], p[12])
    truth = rep_schedule(SCHEDULE, FPS, rise_s=0.5, hold_s=0.2, rest_s=0.5)
    path = tmp_path_factory.mktemp("warp") / "side_bend.mp4"
    write_video(path, [tilter.tilt(a) for a in truth], FPS)
    return path, truth


def test_every_rep_peak_within_1_5_deg_and_growth(side_bend_clip, landmarks_of, output_dir):
    path, truth = side_bend_clip
    a = analyze_landmarks(get_joint("neck-side-bend"), landmarks_of(path, face=True), "both")
    signed = a.channels["signed"]
    rest = np.abs(truth) < 1e-9
    neutral = float(np.nanmedian(signed.filtered[rest & signed.valid]))

    reps = sorted((r for s in a.sides.values() for r in s.reps), key=lambda r: r.peak_s)
    assert [r.side for r in reps] == ["right" if x > 0 else "left" for x in SCHEDULE]
    errors = []
    for rep, true_tilt in zip(reps, SCHEDULE):
        # each side is reported as a positive magnitude of the signed angle
        expected = (neutral + true_tilt) * (1 if true_tilt > 0 else -1)
        errors.append(rep.peak_deg - expected)
    errors = np.array(errors)
    print("known-warp rep peak errors (deg):", np.round(errors, 2), "neutral", round(neutral, 2))
    assert np.max(np.abs(errors)) <= 1.5

    for side in ("right", "left"):
        peaks = np.array([r.peak_deg for r in a.sides[side].reps])
        growth = peaks[5:].mean() - peaks[:5].mean()
        assert 4.0 <= growth <= 6.0, (side, peaks)
