"""Joint angles from landmarks, with frame validity: for a whole series (offline) or frame by
frame (live). Pure: no file, camera or model here."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from romcam.capture.landmarks import POSE, FrameLandmarks, outside_share
from romcam.measure import angles, head
from romcam.measure.joints import Joint

MIN_VISIBILITY = 0.5
REFERENCE_QUANTILE = 0.25  # the reference is read when the segment is nearest to it


UPRIGHT_DEG = 10.0         # a window whose at-rest quarter has the head this near the shoulder line
HOLD_AFTER_S = 6.0         # a head tilted this long has the reference read upright held under it


def _at_rest(segment: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(reference read at rest, the largest |segment - reference| among the samples it was read
    at); (NaN, NaN) without finite pairs."""
    ok = np.isfinite(segment) & np.isfinite(reference)
    if not ok.any():
        return float("nan"), float("nan")
    r = reference[ok]
    gap = np.abs(angles.wrap_deg(segment[ok] - r))
    limit = float(np.quantile(gap, REFERENCE_QUANTILE))
    return float(np.median(r[gap <= limit])), limit


def reference_at_rest(segment, reference) -> float:
    """The reference angle (e.g. the shoulder line) read at the moments the moving segment (the
    head) was nearest to it: the median of the reference over the quarter of the samples with
    the smallest |segment - reference|. NaN when there are no finite pairs."""
    return _at_rest(np.asarray(segment, dtype=float), np.asarray(reference, dtype=float))[0]


def reference_read_upright(segment, reference) -> tuple[float, bool]:
    """:func:`reference_at_rest`, and whether the head was upright where it was read: the quarter
    of the samples it was read at lie within ``UPRIGHT_DEG`` of the reference. Where the head
    stays tilted (rocks at the end of a side-bend) the pose model's shoulders follow it, so a
    value read then is not the trunk's."""
    value, limit = _at_rest(np.asarray(segment, dtype=float), np.asarray(reference, dtype=float))
    return value, bool(limit <= UPRIGHT_DEG)


def _tilted_runs(value: np.ndarray, upright: np.ndarray) -> list[np.ndarray]:
    """Indices of each stretch of finite values read with the head tilted, between two read upright
    (frames without a value do not end a stretch)."""
    runs, current = [], []
    for k in range(len(value)):
        if not np.isfinite(value[k]):
            continue
        if upright[k]:
            if current:
                runs.append(np.array(current))
            current = []
        else:
            current.append(k)
    if current:
        runs.append(np.array(current))
    return runs


def held_over_tilted(t: np.ndarray, value: np.ndarray, upright: np.ndarray,
                     min_tilted_s: float = 0.0) -> np.ndarray:
    """``value``, except over each stretch read with the head tilted that lasts ``min_tilted_s``
    or more: there the values read upright before and after it, interpolated in time (held from the
    nearer one at the ends). Unchanged where no value was read upright."""
    ok = upright & np.isfinite(value)
    if not ok.any():
        return value
    out = value.copy()
    for run in _tilted_runs(value, upright):
        if t[run[-1]] - t[run[0]] >= min_tilted_s:
            out[run] = np.interp(t[run], t[ok], value[ok])
    return out


def _windows(t: np.ndarray, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) indices of a window of ``window_s`` centred on each sample and shifted to lie
    inside the recording near its ends, so every sample's window holds as many samples."""
    if len(t) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    half = window_s / 2.0
    centre = np.clip(t, t[0] + half, max(t[-1] - half, t[0] + half))
    return (np.searchsorted(t, centre - half, side="left"),
            np.searchsorted(t, centre + half, side="right"))


def _window_mean(values: np.ndarray, lo, hi) -> np.ndarray:
    """The mean of the finite values in each [lo, hi) window, NaN where there are none."""
    ok = np.isfinite(values)
    total = np.concatenate([[0.0], np.cumsum(np.where(ok, values, 0.0))])
    count = np.concatenate([[0], np.cumsum(ok)])
    n = count[hi] - count[lo]
    return np.where(n > 0, (total[hi] - total[lo]) / np.maximum(n, 1), np.nan)


def reference_series(t, segment, reference, window_s: float, average_s: float = 0.0) -> np.ndarray:
    """:func:`reference_at_rest` over a window around each sample (offline), then averaged over a
    window of ``average_s`` (0: not averaged); both windows are kept inside the recording.

    Why averaged: which samples are "at rest" changes from one moment to the next, and the
    shoulder line differs by a few degrees between them, so the read-at-rest reference moves in
    steps of ~1 deg that the pose model's noise can shift by a frame or two; averaging the steps
    over 6 s makes the reference (and the neck angle) repeat within a few tenths of a degree
    whether the pose model ran on every frame or every 3rd, whatever the chunk split
    (docs/design.md, "The trunk reference"). A trunk lean that lasts is still followed, over a few seconds.

    Where the windows' at-rest quarter has the head tilted (more than ``UPRIGHT_DEG`` from the
    shoulder line) for ``HOLD_AFTER_S`` or more (rocks at the end of a side-bend, a long hold),
    their values are replaced by the values read upright before and after, interpolated
    (:func:`held_over_tilted`): a trunk that moves while the head stays tilted is not followed
    there. A single bend and back (a trial) is tilted for less and keeps the at-rest values."""
    t = np.asarray(t, dtype=float)
    segment = np.asarray(segment, dtype=float)
    reference = np.asarray(reference, dtype=float)
    lo, hi = _windows(t, window_s)
    reads = [reference_read_upright(segment[a:b], reference[a:b]) for a, b in zip(lo, hi)]
    at_rest = held_over_tilted(t, np.array([v for v, _ in reads], dtype=float),
                               np.array([u for _, u in reads], dtype=bool), HOLD_AFTER_S)
    if average_s <= 0:
        return at_rest
    return _window_mean(at_rest, *_windows(t, average_s))


def channel_names(joint: Joint, sides) -> list[str]:
    """The measured series: one per limb for limb joints, the single signed angle otherwise."""
    return list(sides) if joint.kind == "limb" else ["signed"]


# Why a frame is not usable: counted in the analyze summary and the session stats, stored per frame.
NO_PERSON = "no person found"
HIDDEN = "landmarks not visible"
NO_FACE = "face not found"
FACE_ELSEWHERE = "face not on the measured person"
FACE_CUT = "face partly out of view"
TURNED = "face turned away from the camera past the face-mesh limit"
LEG_UNSEEN = "leg not measurable (hidden, merged with the other leg, or a spike)"
HAND_AT_FACE = "a hand at the face"
MAX_FACE_OUTSIDE = 0.10   # share of face-mesh points outside the frame above which it is cut off
# A hand point of the pose (wrist, pinky, index, thumb) this many face widths or less from the
# face's box: the hand covers or is about to cover the face, where MediaPipe's face matrix takes
# the hand for part of the face (off by up to 3.2 deg on the rendered head). On the rendered head
# 0.75 already holds every hand; the real neck clips' hand points stay 2.4 face widths or more
# away (docs/concepts/set-quality.md).
HAND_MARGIN_FACE_WIDTHS = 1.0
HAND_POINTS = [POSE[f"{side}_{part}"] for side in ("left", "right") for part in ("wrist", "pinky", "index", "thumb")]

# What the person filming can do about each reason (shown when it costs many frames).
ADVICE = {
    NO_PERSON: "keep the person in the frame",
    HIDDEN: "keep the measured joints in view, not covered by clothes, furniture or the other limb",
    NO_FACE: "MediaPipe's face detector finds faces up to about 2 m from the camera: for the neck, "
             "film the head and shoulders, the face lit and towards the camera",
    FACE_ELSEWHERE: "film the measured person alone, or nearest the camera",
    FACE_CUT: "keep the whole head in the frame",
    TURNED: "keep the face towards the camera; frames turned further are not measured",
    LEG_UNSEEN: "film from the side with the tested leg nearer the camera and both feet in view",
    HAND_AT_FACE: "keep your hands away from the face while the neck is measured; the face model "
                  "takes a hand over the face for part of it",
}


def with_advice(reason: str) -> str:
    """The reason a frame was not usable, with what to do about it when there is something."""
    advice = ADVICE.get(reason)
    return f"{reason} ({advice})" if advice else reason


def face_outside_share(lm: FrameLandmarks) -> float:
    """Share of the face-mesh points that MediaPipe placed outside the image (extrapolated), as
    detected (``lm.face_outside``; computed from the mesh for records made without it)."""
    if lm.face_outside is not None:
        return lm.face_outside
    return outside_share(lm.face, lm.width, lm.height)


def frame_problem(joint: Joint, lm: FrameLandmarks, side: str | None,
                  min_visibility: float = MIN_VISIBILITY) -> str | None:
    """Why this frame does not count for this joint (and limb), or None when it does."""
    if lm.pose is None:
        return NO_PERSON
    if joint.needs_face and lm.face_matrix is None:
        return FACE_ELSEWHERE if lm.face_elsewhere else NO_FACE
    for name in joint.needed_landmarks(side):
        if lm.pose[POSE[name], 3] < min_visibility:
            return HIDDEN
    if joint.needs_face and face_outside_share(lm) > MAX_FACE_OUTSIDE:
        return FACE_CUT
    if joint.max_face_turn_deg is not None and \
            float(head.face_obliqueness_deg(lm.face_matrix)) > joint.max_face_turn_deg:
        return TURNED
    if joint.needs_face and hand_at_face(lm):
        return HAND_AT_FACE
    return None


def hand_at_face(lm: FrameLandmarks, margin: float = HAND_MARGIN_FACE_WIDTHS) -> bool:
    """Is a hand point of the pose (any visibility: a hand over the face is often drawn with a
    low one) within ``margin`` face widths of the face's box? False without a face box."""
    box = lm.face_bounds()
    if box is None or lm.pose is None:
        return False
    x0, y0, x1, y1 = box
    width = max(x1 - x0, 1.0)
    hands = lm.pose[HAND_POINTS, :2]
    dx = np.maximum(np.maximum(x0 - hands[:, 0], hands[:, 0] - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - hands[:, 1], hands[:, 1] - y1), 0.0)
    return bool(np.any(np.hypot(dx, dy) <= margin * width))


def frame_validity(joint: Joint, lm: FrameLandmarks, side: str | None,
                   min_visibility: float = MIN_VISIBILITY) -> bool:
    """A frame counts for this joint (and limb) only when everything it needs was seen well."""
    return frame_problem(joint, lm, side, min_visibility) is None


@dataclass
class ChannelSeries:
    """One measured series: the raw angle per frame (NaN where invalid), the validity mask, why
    each invalid frame was left out, and the reference the angle was measured against."""

    angle: np.ndarray
    valid: np.ndarray
    problems: list[str | None]
    reference: np.ndarray | None = None


def measure_channel(joint: Joint, landmarks: list[FrameLandmarks], side: str | None,
                    min_visibility: float = MIN_VISIBILITY) -> ChannelSeries:
    """Raw angle per frame (NaN where invalid), validity and the reasons.

    For a joint measured against a reference (neck side-bend: the head against the shoulder
    line) the reference is read at rest (:func:`reference_series`, over
    ``joint.reference_window_s``, then averaged over ``joint.reference_average_s``): the pose
    model's shoulders follow a tilting head by 2-3.5 deg
    (full model; 6 deg lite) even when the shoulders do not move at all (measured on the
    known-warp clips; 4-7 deg on the rendered 3-D heads), so the shoulder line is taken from the
    moments the head is upright, while a trunk lean that lasts is still followed. Measured on a
    one-sided set of fast reps: peaks 1.6-3.0 deg low with a plain 2-s running median, 0.4-1.0
    deg low with this.
    """
    problems = [frame_problem(joint, lm, side, min_visibility) for lm in landmarks]
    valid = np.array([p is None for p in problems], dtype=bool)
    if joint.reference is None:
        angle = np.array([joint.segment_angle(lm, side) if ok else np.nan for lm, ok in zip(landmarks, valid)])
        valid &= np.isfinite(angle)
        return ChannelSeries(angle, valid, problems)
    t = np.array([lm.t_s for lm in landmarks], dtype=float)
    segment = np.array([joint.segment_angle(lm, side) if ok else np.nan for lm, ok in zip(landmarks, valid)])
    ref = np.array([joint.reference_angle(lm) if ok else np.nan for lm, ok in zip(landmarks, valid)])
    reference = reference_series(t, segment, ref, joint.reference_window_s, joint.reference_average_s)
    angle = np.array([joint.angle_against(lm, side, r) if ok else np.nan
                      for lm, ok, r in zip(landmarks, valid, reference)])
    valid &= np.isfinite(angle)
    return ChannelSeries(angle, valid, problems, reference)


def _per_face(landmarks: list[FrameLandmarks], trunk_roll_deg, measure) -> list[np.ndarray]:
    """``measure(face_matrix, trunk_roll) -> tuple of angles`` for every frame with a face and a
    person, NaN elsewhere; the trunk roll from ``trunk_roll_deg`` or, where it is missing, the
    frame's own shoulder line."""
    out: list[np.ndarray] = []
    for k, lm in enumerate(landmarks):
        if lm.face_matrix is None or lm.pose is None:
            continue
        ref = np.nan if trunk_roll_deg is None else trunk_roll_deg[k]
        if not np.isfinite(ref):
            ref = float(angles.direction_deg(lm.point("right_shoulder"), lm.point("left_shoulder")))
        values = measure(lm.face_matrix, ref)
        if not out:
            out = [np.full(len(landmarks), np.nan) for _ in values]
        for series, value in zip(out, values):
            series[k] = value
    return out


def head_channels(landmarks: list[FrameLandmarks], trunk_roll_deg=None) -> tuple[np.ndarray, np.ndarray]:
    """Head turn and head flexion (nod) per frame, relative to the trunk, NaN without a face.
    They are kept for every frame with a face (also those past the side-bend gate), so that a
    trial that looked odd can be explained. ``trunk_roll_deg``: the reference series the angle
    was measured against; where it is missing the frame's own shoulder line is used."""
    out = _per_face(landmarks, trunk_roll_deg,
                    lambda m, ref: (head.head_turn_deg(m, ref), head.head_flexion_deg(m, ref)))
    return tuple(out) if out else (np.full(len(landmarks), np.nan), np.full(len(landmarks), np.nan))


def head_tilts(landmarks: list[FrameLandmarks], trunk_roll_deg=None) -> tuple[np.ndarray, np.ndarray]:
    """The tilt of the head's vertical axis relative to the trunk per frame (towards the person's
    right, towards the front; :func:`romcam.measure.head.head_tilt_deg`), NaN without a face.
    Its direction goes round once per neck circle. ``trunk_roll_deg`` as for
    :func:`head_channels`."""
    out = _per_face(landmarks, trunk_roll_deg, head.head_tilt_deg)
    return tuple(out) if out else (np.full(len(landmarks), np.nan), np.full(len(landmarks), np.nan))


class StreamingMeasurer:
    """Live counterpart of :func:`measure_channel`: one frame in, the raw angle per channel out
    (NaN where invalid). The reference (neck: the shoulder line) is read at rest over the *past*
    reference window only, since the future is not known live, and averaged over the past
    ``reference_average_s``. After each frame,
    ``problems`` holds why each channel's frame was left out (None when usable) and, for head
    joints, ``turn_deg`` and ``flexion_deg`` the head's other channels and ``tilt_deg`` the tilt
    of its vertical axis (towards the right, towards the front: neck circles)."""

    def __init__(self, joint: Joint, sides, min_visibility: float = MIN_VISIBILITY):
        self.joint = joint
        self.channels = channel_names(joint, sides)
        self.min_visibility = min_visibility
        self._ref: deque[tuple[float, float, float]] = deque()   # (t, segment, reference)
        self._at_rest: deque[tuple[float, float]] = deque()      # (t, reference read at rest)
        self._upright: float | None = None         # the last reference read with the head upright
        self._tilted_since: float | None = None    # when the head last stopped being upright
        self.problems: dict[str, str | None] = {}
        self.turn_deg = self.flexion_deg = float("nan")
        self.tilt_deg = (float("nan"), float("nan"))
        self.reference_deg = float("nan")         # the trunk reference used for the last frame
        self.fixed_reference: float | None = None  # set: used instead of the one read at rest

    def _reference(self, t: float, segment: float, reference: float) -> float:
        """The reference read at rest over the past window, averaged over the past
        ``reference_average_s`` (:func:`reference_series`, with the past only); once the head
        has stayed tilted for ``HOLD_AFTER_S``, the last value read with it upright is held."""
        if np.isfinite(segment) and np.isfinite(reference):
            self._ref.append((t, segment, reference))
        while self._ref and self._ref[0][0] < t - self.joint.reference_window_s:
            self._ref.popleft()
        if self._ref:
            _, seg, ref = zip(*self._ref)
            value, upright = reference_read_upright(seg, ref)
            if upright and np.isfinite(value):
                self._upright, self._tilted_since = value, None
            elif np.isfinite(value):
                if self._tilted_since is None:
                    self._tilted_since = t
                if self._upright is not None and t - self._tilted_since >= HOLD_AFTER_S:
                    value = self._upright
            self._at_rest.append((t, value))
        while self._at_rest and self._at_rest[0][0] < t - self.joint.reference_average_s:
            self._at_rest.popleft()
        if not self._at_rest:
            return float("nan")
        return float(np.mean([value for _, value in self._at_rest]))

    def update(self, lm: FrameLandmarks) -> dict[str, float]:
        out = {}
        for name in self.channels:
            side = name if self.joint.kind == "limb" else None
            self.problems[name] = frame_problem(self.joint, lm, side, self.min_visibility)
            out[name] = self.joint.segment_angle(lm, side) if self.problems[name] is None else float("nan")
        reference = None
        if self.joint.reference is not None:  # signed joints: a single channel
            (name, segment), = out.items()
            ref_now = self.joint.reference_angle(lm) if np.isfinite(segment) else float("nan")
            reference = self._reference(lm.t_s, segment, ref_now)
            if self.fixed_reference is not None:
                reference = self.fixed_reference
            self.reference_deg = reference
            out[name] = self.joint.angle_against(lm, None, reference) if np.isfinite(segment) else float("nan")
        if self.joint.needs_face:
            turn, flexion = head_channels([lm], None if reference is None else [reference])
            self.turn_deg, self.flexion_deg = float(turn[0]), float(flexion[0])
            lateral, forward = head_tilts([lm], None if reference is None else [reference])
            self.tilt_deg = (float(lateral[0]), float(forward[0]))
        return out
