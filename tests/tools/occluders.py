"""A hand over the face, as the known-truth renders draw it: a skin-coloured palm over part of the
face, held by a real arm (the bare right arm of the man in ../shared/media/pose.jpg, cut out of its
blue sky) that reaches up from the person's own shoulder on that side. A hand never floats on its
own: the pose model sees the arm and where its hand is."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from romcam.capture.landmarks import POSE
from videotools import expected_pose


@dataclass(frozen=True)
class ArmCutout:
    """A real arm: its image, a mask of its skin, and its shoulder, elbow and wrist (px)."""

    image: np.ndarray
    mask: np.ndarray
    shoulder: np.ndarray
    elbow: np.ndarray
    wrist: np.ndarray
    shoulder_width: float     # the person's shoulder width in the same image (the arm's scale)


@cache
def arm_cutout(media_dir: Path) -> ArmCutout:
    """The right arm of pose.jpg from shoulder to wrist: skin (red above blue) near the line
    shoulder-elbow-wrist, its largest connected piece."""
    image = cv2.imread(str(media_dir / "pose.jpg"))
    if image is None:
        raise FileNotFoundError(media_dir / "pose.jpg")
    h, w = image.shape[:2]
    pts = expected_pose(media_dir / "pose.expected_landmarks.pbtxt") * (w, h)
    s, e, wr = (pts[POSE[f"right_{name}"]] for name in ("shoulder", "elbow", "wrist"))
    near = np.zeros((h, w), np.uint8)
    thick = int(round(0.35 * np.linalg.norm(e - s)))
    cv2.polylines(near, [np.round([s, e, wr]).astype(np.int32)], False, 255, thickness=thick)
    bgr = image.astype(int)
    skin = ((bgr[..., 2] - bgr[..., 0]) > 15).astype(np.uint8) * 255
    mask = cv2.morphologyEx(skin & near, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    mask = np.where(labels == 1 + np.argmax(stats[1:, cv2.CC_STAT_AREA]), 255, 0).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return ArmCutout(image, mask, s, e, wr, float(np.linalg.norm(pts[POSE["left_shoulder"]] - pts[POSE["right_shoulder"]])))


def similarity(p0, p1, q0, q1) -> np.ndarray:
    """The 2x3 rotation-scale-translation taking p0 to q0 and p1 to q1."""
    a = complex(*(np.asarray(q1) - q0)) / complex(*(np.asarray(p1) - p0))
    m = np.array([[a.real, -a.imag, 0.0], [a.imag, a.real, 0.0]])
    m[:, 2] = np.asarray(q0) - m[:, :2] @ np.asarray(p0)
    return m


def _paste(out: np.ndarray, arm: ArmCutout, m: np.ndarray, part: np.ndarray) -> np.ndarray:
    h, w = out.shape[:2]
    image = cv2.warpAffine(arm.image, m, (w, h), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(part, m, (w, h), flags=cv2.INTER_LINEAR).astype(float)[..., None] / 255.0
    return (out * (1.0 - alpha) + image * alpha).astype(np.uint8)


def elbow_between(shoulder, wrist, upper: float, fore: float, outward: float) -> np.ndarray:
    """Where the elbow of an arm with these segment lengths lies, bent outward (``outward`` = -1:
    towards image left, +1: right); straight when the wrist is out of reach."""
    shoulder, wrist = np.asarray(shoulder, float), np.asarray(wrist, float)
    d = float(np.linalg.norm(wrist - shoulder))
    u = (wrist - shoulder) / d
    a = (upper ** 2 - fore ** 2 + d ** 2) / (2 * d)
    h = np.sqrt(max(upper ** 2 - a ** 2, 0.0))
    perp = np.array([-u[1], u[0]])
    candidates = [shoulder + a * u + h * perp, shoulder + a * u - h * perp]
    return max(candidates, key=lambda e: outward * e[0])


def hand_over_face(frame: np.ndarray, face_xy: np.ndarray, share: float, person_right: bool,
                   shoulder_xy, shoulder_width: float, media_dir: Path) -> np.ndarray:
    """``frame`` with a palm over ``share`` of the face's width from the person's right (image
    left) or left side, at the height of the temple and cheek, held by the arm from the shoulder
    at ``shoulder_xy`` (the person's shoulder on that side)."""
    out = frame.copy()
    x0, y0 = face_xy.min(axis=0)
    x1, y1 = face_xy.max(axis=0)
    edge = x0 + share * (x1 - x0) if person_right else x1 - share * (x1 - x0)
    outer = x0 - 0.6 * (x1 - x0) if person_right else x1 + 0.6 * (x1 - x0)
    top, bottom = y0 + 0.05 * (y1 - y0), y0 + 0.75 * (y1 - y0)
    # the arm first, its wrist under the palm's lower outer part
    arm = arm_cutout(Path(media_dir))
    scale = shoulder_width / arm.shoulder_width
    wrist = np.array([outer + 0.3 * (edge - outer), bottom - 0.05 * (y1 - y0)])
    upper, fore = (scale * float(np.linalg.norm(b - a)) for a, b in ((arm.shoulder, arm.elbow), (arm.elbow, arm.wrist)))
    elbow = elbow_between(shoulder_xy, wrist, upper, fore, -1.0 if person_right else 1.0)
    cols = np.arange(arm.mask.shape[1])[None, :]
    split = arm.elbow[0]                  # pose.jpg's arm points to image left: x > elbow is the upper arm
    upper_part = np.where(cols >= split - 6, arm.mask, 0).astype(np.uint8)
    fore_part = np.where((cols < split + 6) & (cols >= arm.wrist[0] - 4), arm.mask, 0).astype(np.uint8)
    out = _paste(out, arm, similarity(arm.shoulder, arm.elbow, shoulder_xy, elbow), upper_part)
    out = _paste(out, arm, similarity(arm.elbow, arm.wrist, elbow, wrist), fore_part)
    palm = np.array([[outer, top], [edge, top], [edge, bottom], [outer, bottom]], np.int32)
    cv2.fillPoly(out, [palm], (120, 150, 200))
    for k in range(4):                                 # finger gaps: darker lines across the hand
        y = int(top + (k + 1) * (bottom - top) / 5)
        cv2.line(out, (int(outer), y), (int(edge), y), (90, 115, 160), 3)
    return out
