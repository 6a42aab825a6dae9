"""Set oscillations on a real face rendered as a textured 3-D mesh at known head poses
(tests/tools/head_render.py), run through MediaPipe and romcam like any recording: rocks at the
end of the side-bend range counted one by one with their peaks, graded, and a hand over part of
the face on the side of the bend (self-mobilization with overpressure): the angle holds within
2 deg of the truth or the frame is said unusable. Printed with ``pytest -s``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import head_render as hr
from conftest import media
from romcam.measure.analysis import analyze_landmarks
from romcam.measure.joints import get_joint
from videotools import write_video

FPS = 25.0
NECK = get_joint("neck-side-bend")
LOW, HIGH, ROCKS, ROCK_HZ = 18.0, 22.0, 8, 0.8      # 8 rocks between 18 and 22 deg, never to neutral
PEAK_TOL = 1.5


def _ramp(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, endpoint=False))


def rock_schedule(sign: float = 1.0) -> np.ndarray:
    """Side-bend per frame: 2 s looking ahead, a 1-s bend to LOW, ROCKS raised-cosine rocks LOW ->
    HIGH -> LOW, a 1-s return and 0.5 s ahead."""
    lead = np.zeros(int(2.0 * FPS))
    up = LOW * _ramp(int(1.0 * FPS))
    t = np.arange(0, ROCKS / ROCK_HZ, 1 / FPS)
    rocks = LOW + (HIGH - LOW) * (0.5 - 0.5 * np.cos(2 * np.pi * ROCK_HZ * t))
    return sign * np.concatenate([lead, up, rocks, up[::-1], np.zeros(int(0.5 * FPS))])


@pytest.fixture(scope="module")
def renderer(model_dir):
    media(hr.SOURCES["man"][0])                       # a missing clip fails here, never skips
    return hr.source_renderer("man", model_dir)[1]


@pytest.fixture(scope="module")
def rock_clip(renderer, tmp_path_factory, landmarks_of):
    bends = rock_schedule()
    path = write_video(tmp_path_factory.mktemp("rocks3d") / "rocks.mp4",
                       [renderer.render(hr.head_rotation(b)) for b in bends], FPS)
    return landmarks_of(path, face=True), bends


def _rock_peaks(rock_clip, renderer):
    """The analysis (neutral given over the first 2 s, as ``analyze --neutral 0.5-1.9``), its right
    reps, their peaks relative to the neutral and the truth at each."""
    landmarks, bends = rock_clip
    a = analyze_landmarks(NECK, landmarks, "both", neutral_range=(0.5, 1.9))
    truth = np.array([hr.lateral_flexion_truth(hr.head_rotation(b), renderer.ear_axis) for b in bends])
    t = np.arange(len(bends)) / FPS
    reps = a.sides["right"].reps
    peaks = np.array([r.peak_deg for r in reps])
    true_peaks = np.array([truth[np.abs(t - r.peak_s) <= 0.5 / ROCK_HZ].max() for r in reps])
    return a, reps, peaks, true_peaks


def test_rocks_at_the_end_of_range_counted_one_by_one(rock_clip, renderer):
    a, reps, peaks, true_peaks = _rock_peaks(rock_clip, renderer)
    q = a.sides["right"].edge
    print(f"\nrendered rocks {LOW:g}-{HIGH:g} deg: {len(reps)} reps, peaks {np.round(peaks, 2)} "
          f"(truth {np.round(true_peaks, 2)}), lows {np.round([r.low_deg for r in reps], 2)}; "
          f"{q.summary()}; grades {[r.grade for r in q.reps]}")
    assert len(reps) == ROCKS and a.sides["left"].reps == []
    assert np.max(np.abs(peaks - true_peaks)) <= 2.5
    assert all(abs(r.amplitude_deg - (HIGH - LOW)) <= 1.0 for r in reps[1:])       # each rock's own size
    assert [r.grade for r in q.reps[1:]] == ["IV"] * (ROCKS - 1) and q.grade == "IV"


def test_rock_peaks_within_the_issue_goal(rock_clip, renderer):
    _, _, peaks, true_peaks = _rock_peaks(rock_clip, renderer)
    assert np.max(np.abs(peaks - true_peaks)) <= PEAK_TOL


def _hand(frame: np.ndarray, face_xy: np.ndarray, share: float, person_right: bool) -> np.ndarray:
    """A skin-coloured hand (palm and four fingers) over ``share`` of the face's width, from the
    person's right (image left) or left side, at the height of the temple and cheek."""
    out = frame.copy()
    x0, y0 = face_xy.min(axis=0)
    x1, y1 = face_xy.max(axis=0)
    width = share * (x1 - x0)
    edge = x0 + width if person_right else x1 - width
    outer = x0 - 0.6 * (x1 - x0) if person_right else x1 + 0.6 * (x1 - x0)
    top, bottom = y0 + 0.05 * (y1 - y0), y0 + 0.75 * (y1 - y0)
    palm = np.array([[outer, top], [edge, top], [edge, bottom], [outer, bottom]], np.int32)
    cv2.fillPoly(out, [palm], (120, 150, 200))
    for k in range(4):                                 # finger gaps: darker lines across the hand
        y = int(top + (k + 1) * (bottom - top) / 5)
        cv2.line(out, (int(outer), y), (int(edge), y), (90, 115, 160), 3)
    return out


BENDS = (10.0, 20.0, 30.0)
SHARES = (0.15, 0.3, 0.45)


@pytest.fixture(scope="module")
def hand_clip(renderer, tmp_path_factory, landmarks_of):
    """Each bend to each side performed as a rep (neutral -> bend -> hold -> neutral: the shoulder
    line is read while the head is upright), held bare and then with a hand over 15, 30 and 45 %
    of the face from the side of the bend; returns landmarks, the side-bend truth per frame and
    the label (bend, hand share) of each held frame."""
    frames, truth, labels = [], [], []

    def add(image, true, label):
        frames.append(image)
        truth.append(true)
        labels.append(label)

    for _ in range(int(2.0 * FPS)):                              # looking ahead: the neutral
        add(renderer.render(np.eye(3)), 0.0, None)
    up, hold, rest = _ramp(int(0.5 * FPS)), int(1.2 * FPS), int(0.5 * FPS)
    for sign in (1.0, -1.0):
        for bend in BENDS:
            R = hr.head_rotation(sign * bend)
            true = hr.lateral_flexion_truth(R, renderer.ear_axis)
            bare = renderer.render(R)
            face = renderer.posed_vertices(R)[:478, :2]
            for share in (0.0, *SHARES):
                for k in up:
                    Rk = hr.head_rotation(sign * bend * k)
                    add(renderer.render(Rk), hr.lateral_flexion_truth(Rk, renderer.ear_axis), None)
                image = bare if share == 0 else _hand(bare, face, share, person_right=sign > 0)
                for _ in range(hold):
                    add(image, true, (sign * bend, share))
                for k in up[::-1]:
                    Rk = hr.head_rotation(sign * bend * k)
                    add(renderer.render(Rk), hr.lateral_flexion_truth(Rk, renderer.ear_axis), None)
                for _ in range(rest):
                    add(renderer.render(np.eye(3)), 0.0, None)
    path = write_video(tmp_path_factory.mktemp("hand3d") / "hand.mp4", frames, FPS)
    example = frames[labels.index((30.0, 0.3))]
    return landmarks_of(path, face=True), np.array(truth), labels, example


def _hand_errors(hand_clip):
    """Per hold (bend, hand share): usable share of its frames and their worst error (None: none usable)."""
    landmarks, truth, labels, _ = hand_clip
    a = analyze_landmarks(NECK, landmarks, "both")
    signed, valid = a.channels["signed"].filtered, a.channels["signed"].valid
    neutral = float(np.nanmedian(signed[int(0.5 * FPS):int(2.0 * FPS)]))
    out = {}
    for label in dict.fromkeys(x for x in labels if x is not None):
        idx = np.array([k for k, x in enumerate(labels) if x == label])[3:-3]     # inside the hold
        ok = idx[valid[idx] & np.isfinite(signed[idx])]
        err = signed[ok] - neutral - truth[ok]
        out[label] = (ok.size / idx.size, float(err[np.argmax(np.abs(err))]) if ok.size else None)
    return out


def test_bare_holds_of_the_hand_clip_are_right(hand_clip, output_dir):
    cv2.imwrite(str(output_dir / "set_quality_hand_on_head.png"), hand_clip[3])
    errors = _hand_errors(hand_clip)
    print("\nhand over the face from the side of the bend: per hold, usable share and worst error (deg)")
    for (bend, share), (usable, worst) in errors.items():
        print(f"  bend {bend:+5.1f} hand {share:.0%}: usable {usable:.0%}, worst error "
              f"{'-' if worst is None else f'{worst:+.2f}'}")
    for (bend, share), (usable, worst) in errors.items():
        if share == 0:
            assert usable == 1.0 and abs(worst) <= PEAK_TOL, (bend, worst)


@pytest.mark.xfail(strict=True, reason="NOT MET (issue 22): MediaPipe's face matrix takes a hand over the "
                   "face for part of it and is off by up to 2.4 deg (15 % at +20/+30 deg: -2.3/-2.4, 30 % at -30: "
                   "+2.4; bare holds within 0.9), without ever losing the face. No usable signal: per-point "
                   "visibility/presence all 0, blendshapes, rigid-fit residual (grows with the bend; no one-sided "
                   "misfit under the hand). A trimmed rigid fit of the person's neutral mesh holds the hand within "
                   "1.35 deg but reads the real side-bend clip's bends 4-5 deg larger (peaks 54 > its 52 bound); "
                   "rejecting frames where it and the matrix disagree by > 1 deg holds the hand (1.83) but drops "
                   "7-22 points of the real neck clips' frames (docs/concepts/set-quality.md, Limits)")
def test_a_hand_over_the_face_never_gives_a_wrong_angle(hand_clip):
    for label, (_usable, worst) in _hand_errors(hand_clip).items():
        assert worst is None or abs(worst) <= 2.0, (label, worst)
