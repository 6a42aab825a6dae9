"""Synthetic landmark streams with exactly known angles (clearly labelled as synthetic).

Used by ``romcam demo`` (a machine with no webcam and no model file) and by the tests of
everything after the MediaPipe stage. A neck side-bend stream is a seated person facing the
camera: level shoulders, and a face whose transformation matrix rolls by the scripted
lateral flexion (plus a fixed personal neutral offset, which the protocol must remove).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from romcam.capture.landmarks import POSE, FrameLandmarks

WIDTH, HEIGHT = 1280, 720


@dataclass(frozen=True)
class Segment:
    phase: str                 # "setup", "neutral", "before", "set", "after", "rest"
    peaks: tuple[float, ...]   # signed peak angles of the excursions (+ = person's right); () = hold still
    seconds: float = 0.0       # for holds


def raised_cosine_rep(peak: float, fps: float, rise_s: float, hold_s: float, rest_s: float) -> np.ndarray:
    n = max(2, int(round(rise_s * fps)))
    up = peak * (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n)))
    return np.concatenate([up, np.full(int(round(hold_s * fps)), peak), up[::-1],
                           np.zeros(int(round(rest_s * fps)))])


def script_angles(segments, fps: float = 30.0, trial_hold_s: float = 1.0,
                  rep_rise_s: float = 0.7, rep_hold_s: float = 0.25):
    """Angle per frame and its phase label, for a list of segments."""
    values, labels = [], []
    for seg in segments:
        if not seg.peaks:
            chunk = np.zeros(int(round(seg.seconds * fps)))
        elif seg.phase in ("before", "after"):  # maximal trials: slower, held at the end of range
            chunk = np.concatenate([raised_cosine_rep(p, fps, 1.0, trial_hold_s, 1.0) for p in seg.peaks])
        else:
            chunk = np.concatenate([raised_cosine_rep(p, fps, rep_rise_s, rep_hold_s, 0.3) for p in seg.peaks])
        values.append(chunk)
        labels += [seg.phase] * len(chunk)
    angle = np.concatenate(values)
    return np.arange(len(angle)) / fps, angle, labels


def demo_segments(side: str = "right", reps: int = 40, before=(19.6, 20.4, 20.0),
                  after=(24.7, 25.3, 25.0), seed: int = 7) -> list[Segment]:
    """A neck side-bend session: neutral, 3 trials near 20 deg, a set growing to ~25 deg, 3 trials."""
    rng = np.random.default_rng(seed)
    sign = 1.0 if side == "right" else -1.0
    k = np.arange(reps)
    growth = 20.0 + 5.3 * (1.0 - np.exp(-k / 11.0)) + rng.normal(0.0, 0.4, reps)
    return [
        Segment("setup", (), 1.5),
        Segment("neutral", (), 2.5),
        Segment("before", tuple(sign * p for p in before)),
        Segment("rest", (), 1.0),
        Segment("set", tuple(sign * p for p in growth)),
        Segment("rest", (), 11.0),   # the set ends after a pause
        Segment("after", tuple(sign * p for p in after)),
        Segment("rest", (), 1.0),
    ]


def _rotation(roll_deg: float, yaw_deg: float) -> np.ndarray:
    """Face rotation in MediaPipe's camera space (x right, y up, z to the viewer)."""
    r, y = np.radians(roll_deg), np.radians(yaw_deg)
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    m = np.eye(4)
    m[:3, :3] = rz @ ry
    m[:3, 3] = (0.0, 0.0, -50.0)
    return m


def neck_landmarks(t, lateral_deg, *, neutral_offset_deg: float = 2.0, yaw_deg=None,
                   noise_deg: float = 0.0, seed: int = 11, matrices=None) -> list[FrameLandmarks]:
    """FrameLandmarks of a seated person facing the camera whose head rolls by ``lateral_deg``
    relative to level shoulders (plus a personal neutral offset), with optional jitter.
    ``matrices``: exact face transformation matrices per frame instead (None = face lost);
    ``lateral_deg`` then only places the drawn head."""
    rng = np.random.default_rng(seed)
    t = np.asarray(t, dtype=float)
    lateral = np.asarray(lateral_deg, dtype=float)
    yaw = np.zeros_like(t) if yaw_deg is None else np.asarray(yaw_deg, dtype=float)
    neck = np.array([WIDTH / 2.0, HEIGHT * 0.62])
    half_shoulders = 170.0
    out = []
    for k, (tk, lat, yw) in enumerate(zip(t, lateral, yaw)):
        roll = neutral_offset_deg + lat + (rng.normal(0.0, noise_deg) if noise_deg else 0.0)
        pose = np.zeros((33, 5))
        pose[:, 3:] = 0.99
        pose[:, :2] = neck  # unused joints sit at the neck base
        pose[POSE["left_shoulder"], :2] = neck + (half_shoulders, 8.0)    # person's left = image right
        pose[POSE["right_shoulder"], :2] = neck + (-half_shoulders, 8.0)
        for name, (dx, dy) in {"left_elbow": (200, 190), "right_elbow": (-200, 190),
                               "left_hip": (120, 330), "right_hip": (-120, 330)}.items():
            pose[POSE[name], :2] = neck + (dx, dy)
        # the head: nose and ears on a circle about the neck base, tilted by the roll
        a = np.radians(roll)
        up = np.array([-np.sin(a), -np.cos(a)])          # image direction of the head's "up"
        across = np.array([np.cos(a), -np.sin(a)])       # person's right -> left
        head = neck + 150.0 * up
        pose[POSE["nose"], :2] = head - 0.4 * 60 * np.sin(np.radians(yw)) * across
        pose[POSE["left_ear"], :2] = head + 60 * across
        pose[POSE["right_ear"], :2] = head - 60 * across
        pose[POSE["left_eye"], :2] = head + 25 * across + 12 * up
        pose[POSE["right_eye"], :2] = head - 25 * across + 12 * up
        matrix = _rotation(roll, yw) if matrices is None else matrices[k]
        out.append(FrameLandmarks(k, float(tk), WIDTH, HEIGHT, pose, None, matrix))
    return out


def _axis_rotation(axis, angle_deg: float) -> np.ndarray:
    """Right-handed rotation about a unit ``axis`` (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    a = np.radians(angle_deg)
    return np.eye(3) + np.sin(a) * k + (1.0 - np.cos(a)) * (k @ k)


def tilt_pose(lateral_deg: float, forward_deg: float) -> np.ndarray:
    """The head pose (3x3, camera space: x right, y up, z to the viewer) whose vertical axis is
    tipped towards the person's right by ``lateral_deg`` and towards the front by ``forward_deg``
    (as :func:`romcam.measure.head.head_tilt_deg` reads them: asin of the axis' components), with
    no twist about that axis: the shortest rotation from upright. Tilt direction
    phi = atan2(lateral, forward): 0 = forward (chin down), 90 = the person's right."""
    sl, sf = np.sin(np.radians(lateral_deg)), np.sin(np.radians(forward_deg))
    s = float(np.hypot(sl, sf))
    if s == 0.0:
        return np.eye(3)
    if s > 1.0:
        raise ValueError("tilt components too large for one axis")
    phi = np.arctan2(sl, sf)
    # up -> (-sin(tilt) sin(phi), cos(tilt), sin(tilt) cos(phi)): a rotation about y x direction
    return _axis_rotation((np.cos(phi), 0.0, np.sin(phi)), float(np.degrees(np.arcsin(s))))


def tilt_landmarks(t, lateral_deg, forward_deg, *, neutral=None) -> list[FrameLandmarks]:
    """A seated person whose head is posed exactly by :func:`tilt_pose` at each frame (NaN
    components = face lost in that frame), on top of a personal ``neutral`` head pose (3x3; the
    pose is applied in the trunk's frame after it). Neck circles with exact truth."""
    neutral = np.eye(3) if neutral is None else np.asarray(neutral, dtype=float)
    matrices, roll = [], []
    for lat, fwd in zip(np.asarray(lateral_deg, float), np.asarray(forward_deg, float)):
        if not (np.isfinite(lat) and np.isfinite(fwd)):
            matrices.append(None)
            roll.append(0.0)
            continue
        m = np.eye(4)
        m[:3, :3] = tilt_pose(lat, fwd) @ neutral
        m[:3, 3] = (0.0, 0.0, -50.0)
        matrices.append(m)
        roll.append(float(np.degrees(np.arctan2(m[1, 0], m[0, 0]))))
    return neck_landmarks(t, roll, neutral_offset_deg=0.0, matrices=matrices)
