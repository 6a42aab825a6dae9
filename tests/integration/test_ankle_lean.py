"""Issue #23, known truth: a real person leaning forward over both flat feet, the leg nearer the
camera labelled right, and the same video mirrored (the nearer leg labelled left).

Built from a real standing frame (``lunges_side.mp4`` frame 140: feet side by side and flat, the
right leg nearer the camera): everything above the ankles is turned forward about the nearer
(right) ankle by a known schedule, ten reps growing 30 -> 35 deg (``ShinTilter`` with a 15-px bend
above the ankle, so the lower shin runs into the foot without a seam; the knee and the body turn
rigidly). The nearer shin's line from ankle to knee turns by exactly the schedule; its standing
inclination is what MediaPipe reads on the untilted frames of the same video. The default
(``--side auto``) must take the nearer leg on both videos, with the named nearer leg's peaks, all
ten reps, each within 1 deg of the truth. Contact sheet: ``test-output/ankle_lean_sheet.png``.
"""

from __future__ import annotations

import cv2
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
SOURCE_FRAME = 140
BEND_PX = 15.0


@pytest.fixture(scope="module")
def lean(tmp_path_factory, landmarks_of, model_dir, output_dir):
    source = media("lunges_side.mp4")
    frame = read_frames(source, SOURCE_FRAME, SOURCE_FRAME + 1)[0][0]
    pose = legs.pose_array(landmarks_of(source))[SOURCE_FRAME]
    forward = int(legs.toe_direction(pose[None], np.array([0.0]))[0])
    tilter = ShinTilter(frame, person_mask(frame, model_dir / "pose_landmarker_full.task"),
                        pose[legs.LEG["right"]["ankle"], :2], forward, bend_px=BEND_PX)
    truth = rep_schedule(PEAKS, FPS, rise_s=0.6, hold_s=0.3, rest_s=0.6)
    frames = [tilter.tilt(a) for a in truth]
    sheet = contact_sheet([tilter.tilt(a) for a in (0.0, 15.0, 30.0, 35.0)] +
                          [cv2.flip(tilter.tilt(a), 1) for a in (0.0, 35.0)],
                          ["0 deg", "15 deg", "30 deg", "35 deg", "mirrored 0 deg", "mirrored 35 deg"], columns=3)
    cv2.imwrite(str(output_dir / "ankle_lean_sheet.png"), sheet)
    folder = tmp_path_factory.mktemp("lean")
    return truth, {"plain": write_video(folder / "lean.mkv", frames, FPS, lossless=True),
                   "mirror": write_video(folder / "lean_mirror.mkv", [cv2.flip(f, 1) for f in frames], FPS,
                                           lossless=True)}


@pytest.mark.parametrize("version,near", [("plain", "right"), ("mirror", "left")])
def test_a_lean_over_both_ankles_measures_the_nearer_leg_against_known_truth(version, near, lean, landmarks_of):
    """Measured (MediaPipe 1.2.3, full): plain, the right leg, standing shin 8.2 deg, errors
    -0.57..+0.53 deg; mirrored, the left leg, standing shin 5.0 deg (MediaPipe reads the same
    shin 3 deg apart on an image and its mirror), errors -0.25..+0.33 deg. The far leg, whose
    ankle sits 10 px above the pivot, is not the truth's and is only printed: it reads 3-5 deg
    more, and the rule before issue 23 took it on both videos ("the left shin moves more")."""
    truth, videos = lean
    landmarks = landmarks_of(videos[version])
    auto = analyze_landmarks(ANKLE, landmarks, "auto")
    named = analyze_landmarks(ANKLE, landmarks, near)
    far = "left" if near == "right" else "right"
    far_named = analyze_landmarks(ANKLE, landmarks, far)
    ch = named.channels[near]
    standing = float(np.median(ch.filtered[(truth == 0.0) & ch.valid]))
    peaks = np.array([r.peak_deg for r in named.sides[near].reps])
    auto_peaks = np.array([r.peak_deg for r in auto.sides[near].reps]) if near in auto.sides else np.array([])
    far_peaks = np.array([r.peak_deg for r in far_named.sides[far].reps])
    errors = peaks - standing - np.array(PEAKS)[:len(peaks)]
    print(f"\nlean {version}: {auto.side_note}\n  {near} (nearer): standing {standing:.2f} deg, peaks "
          f"{np.round(peaks, 2)}, errors vs truth {np.round(errors, 2)}\n  default's peaks {np.round(auto_peaks, 2)}"
          f"\n  {far} (far, named): peaks {np.round(far_peaks, 2)}; warnings {far_named.warnings}")
    assert list(auto.sides) == [near], auto.side_note
    assert "both feet stay down" in auto.side_note and f"the {near} leg is nearer the camera" in auto.side_note
    assert len(peaks) == len(auto_peaks) == len(PEAKS)
    assert np.max(np.abs(auto_peaks - peaks)) <= 0.5
    assert np.max(np.abs(errors)) <= 1.0
    growth = peaks[-3:].mean() - peaks[:3].mean()
    assert abs(growth - (np.mean(PEAKS[-3:]) - np.mean(PEAKS[:3]))) <= 1.0
