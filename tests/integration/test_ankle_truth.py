"""Ankle dorsiflexion against known truth (docs/design.md, "Testing with known truth"):

* a known warp: a real standing person (lunges_side.mp4, frame 140) with everything above the
  ankles rotated forward about the ankle by a known schedule (ten reps 0 -> 30..35 -> 0 deg);
* camera roll +-8 deg with a camera profile holding that roll, and without one (the scene);
* the same real lunges replayed three times: the spread of the trial peaks.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import media
from romcam.measure import legs
from romcam.measure.analysis import analyze_landmarks
from romcam.measure.joints import get_joint
from videotools import ShinTilter, contact_sheet, person_mask, read_frames, rep_schedule, write_video

FPS = 30.0
PEAKS = tuple(float(x) for x in np.linspace(30.0, 35.0, 10))
ANKLE = get_joint("ankle")


@pytest.fixture(scope="module")
def shin_warp(tmp_path_factory, landmarks_of, model_dir, output_dir):
    source = media("lunges_side.mp4")
    frame = read_frames(source, 140, 141)[0][0]
    pose = legs.pose_array(landmarks_of(source))[140]
    forward = int(legs.toe_direction(pose[None], np.array([0.0]))[0])
    tilter = ShinTilter(frame, person_mask(frame, model_dir / "pose_landmarker_full.task"),
                        pose[legs.LEG["right"]["ankle"], :2], forward)
    truth = rep_schedule(PEAKS, FPS, rise_s=0.6, hold_s=0.2, rest_s=0.6)
    frames = [tilter.tilt(a) for a in truth]
    sheet = contact_sheet([tilter.tilt(a) for a in (0.0, 10.0, 20.0, 30.0, 35.0)] + [tilter.background],
                          ["0 deg", "10 deg", "20 deg", "30 deg", "35 deg", "background"], columns=3)
    import cv2
    cv2.imwrite(str(output_dir / "ankle_known_warp_sheet.png"), sheet)
    path = write_video(tmp_path_factory.mktemp("shin") / "shin_warp.mp4", frames, FPS)
    return path, truth


def test_known_warp_every_rep_within_2_deg_and_growth(shin_warp, landmarks_of):
    """The body is turned about the RIGHT ankle, so the right shin turns by exactly the truth.
    The left ankle sits 11 px above that pivot's cut line, so the left foot is split by the warp
    (half of it turns with the body): its truth is not exact, and it is only printed (measured
    +1.2..+2.2 deg there, -0.6..-1.5 deg on the right). --side auto takes either leg here (both
    feet stay down and both shins move the same); it must still find every rep."""
    path, truth = shin_warp
    lms = landmarks_of(path)
    a = analyze_landmarks(ANKLE, lms, "both")
    for side in ("right", "left"):
        ch, result = a.channels[side], a.sides[side]
        base = float(np.median(ch.filtered[(truth == 0.0) & ch.valid]))   # the standing shin, untilted
        peaks = np.array([r.peak_deg for r in result.reps])
        errors = peaks - base - np.array(PEAKS)[:len(peaks)]
        print(f"known warp, {side} leg: standing shin {base:.2f} deg; {len(peaks)} reps, peaks "
              f"{np.round(peaks, 2)}; errors vs truth {np.round(errors, 2)}")
    ch, result = a.channels["right"], a.sides["right"]
    base = float(np.median(ch.filtered[(truth == 0.0) & ch.valid]))
    peaks = np.array([r.peak_deg for r in result.reps])
    assert len(peaks) == len(PEAKS)
    errors = peaks - base - np.array(PEAKS)
    assert np.max(np.abs(errors)) <= 2.0
    growth = peaks[-3:].mean() - peaks[:3].mean()
    true_growth = np.mean(PEAKS[-3:]) - np.mean(PEAKS[:3])
    print(f"  right: growth first 3 -> last 3 reps {growth:.2f} deg (truth {true_growth:.2f})")
    assert abs(growth - true_growth) <= 1.0
    auto = analyze_landmarks(ANKLE, lms, "auto")
    (side, chosen), = auto.sides.items()
    print(f"  --side auto: {auto.side_note}; {len(chosen.reps)} reps")
    assert len(chosen.reps) == len(PEAKS)
