"""Drawing the live view: skeleton, an angle arc at the joint, the angle, the prompt, "23/40",
the last rep's peak and a strip of per-rep peaks; during a set of neck circles "turn 23/40
(clockwise 12, counter 11)", the last turn's right and left extremes and a strip of per-turn
extremes (right side up, left side down).

Geometry is drawn on the unmirrored frame (where the landmarks are); the preview is then
flipped when shown as a mirror, and the text is written last so it reads normally.
:func:`draw_overlay` returns the image and the list of texts it wrote (text, position, size),
so a test can check that the numbers drawn are the numbers computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from romcam.capture.landmarks import POSE, FrameLandmarks
from romcam.measure import angles, head
from romcam.session.setup_check import with_option

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
ACCENT = (0, 200, 255)     # amber (BGR)
GOOD = (80, 220, 80)
WARN = (60, 60, 255)

BONES = [("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
         ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_shoulder", "left_hip"),
         ("right_shoulder", "right_hip"), ("left_hip", "right_hip"), ("left_hip", "left_knee"),
         ("left_knee", "left_ankle"), ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"),
         ("left_ankle", "left_foot_index"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
         ("right_ankle", "right_heel"), ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
         ("left_ear", "left_eye"), ("left_eye", "nose"), ("nose", "right_eye"), ("right_eye", "right_ear")]

# joint -> (vertex, first ray end, second ray end) as pose landmark names ("{s}" = the side)
ARC_POINTS = {
    "knee_flexion": ("{s}_knee", "{s}_hip", "{s}_ankle"),
    "hip_flexion": ("{s}_hip", "{s}_shoulder", "{s}_knee"),
    "elbow_flexion": ("{s}_elbow", "{s}_shoulder", "{s}_wrist"),
    "shoulder_flexion": ("{s}_shoulder", "{s}_hip", "{s}_elbow"),
    "shoulder_abduction": ("{s}_shoulder", "{s}_hip", "{s}_elbow"),
}


@dataclass
class OverlayState:
    joint_name: str
    joint_title: str
    side: str                       # the side shown big (the one being worked on)
    angle_deg: float | None         # current angle for that side, as reported
    phase: str
    prompt: str
    progress: str = ""              # "23/40" or "trial 2/3"
    last_peak_deg: float | None = None
    rep_peaks: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    status: str = ""                # small print: fps, dropped frames
    turn_text: str = ""             # neck circles: "turn 23/40 (clockwise 12, counter 11)"
    last_turn_text: str = ""        # "last turn: right 24.1, left 22.3 deg"
    turn_extremes: dict = field(default_factory=dict)   # side -> per-turn extreme (None = not reached)
    edge_text: str = ""             # the last set rep or turn against the edge: "edge reached (20.1 deg)"
    edge_reached: bool | None = None   # that rep reached the edge (None: no set rep yet)


@dataclass(frozen=True)
class DrawnText:
    text: str
    org: tuple[int, int]
    scale: float
    thickness: int


def _pt(lm: FrameLandmarks, name: str) -> tuple[int, int] | None:
    p = lm.pose[POSE[name]]
    return (int(round(p[0])), int(round(p[1]))) if p[3] >= 0.5 else None


def _draw_arc(img, center, ray1, ray2, radius, color) -> None:
    """Arc from the direction of ray1 to that of ray2 around center (image coordinates)."""
    a1 = np.degrees(np.arctan2(ray1[1], ray1[0]))
    a2 = np.degrees(np.arctan2(ray2[1], ray2[0]))
    sweep = (a2 - a1 + 180.0) % 360.0 - 180.0
    c = (int(center[0]), int(center[1]))
    cv2.ellipse(img, c, (radius, radius), 0, a1, a1 + sweep, color, 3, cv2.LINE_AA)
    for a in (a1, a1 + sweep):
        end = (int(c[0] + radius * 1.6 * np.cos(np.radians(a))), int(c[1] + radius * 1.6 * np.sin(np.radians(a))))
        cv2.line(img, c, end, color, 2, cv2.LINE_AA)


def draw_geometry(img: np.ndarray, lm: FrameLandmarks, joint_name: str, side: str) -> None:
    """Skeleton and the angle arc, in place, on the unmirrored frame."""
    if lm.pose is None:
        return
    scale = max(img.shape[:2]) / 1000.0
    for a, b in BONES:
        pa, pb = _pt(lm, a), _pt(lm, b)
        if pa and pb:
            cv2.line(img, pa, pb, WHITE, max(2, int(3 * scale)), cv2.LINE_AA)
    for name in POSE:
        p = _pt(lm, name)
        if p:
            cv2.circle(img, p, max(3, int(4 * scale)), ACCENT, -1, cv2.LINE_AA)
    radius = int(40 * scale)
    if joint_name == "neck_lateral_flexion" and lm.face_matrix is not None:
        # the 3-D side-bend (ear axis above the trunk's transverse plane), drawn as the head's
        # tilt from the trunk's vertical in the image plane
        ls, rs = lm.point("left_shoulder"), lm.point("right_shoulder")
        base = (ls + rs) / 2.0
        trunk_up = np.array([(ls - rs)[1], -(ls - rs)[0]])       # perpendicular to the shoulder line
        trunk_roll = float(angles.direction_deg(rs, ls))
        bend = np.radians(float(head.lateral_flexion_deg(lm.face_matrix, trunk_roll)))
        c, s = np.cos(bend), np.sin(bend)                        # + = towards the person's right
        head_up = np.array([c * trunk_up[0] + s * trunk_up[1], -s * trunk_up[0] + c * trunk_up[1]])
        _draw_arc(img, base, trunk_up, head_up, int(radius * 1.8), ACCENT)
    elif joint_name in ("ankle_dorsiflexion", "tibial_inclination"):
        s = side
        ankle, knee = lm.point(f"{s}_ankle"), lm.point(f"{s}_knee")
        _draw_arc(img, ankle, knee - ankle, np.array([0.0, -1.0]), radius, ACCENT)   # shin vs vertical
    elif joint_name in ARC_POINTS:
        v, r1, r2 = (lm.point(n.format(s=side)) for n in ARC_POINTS[joint_name])
        _draw_arc(img, v, r1 - v, r2 - v, radius, ACCENT)


def _text(img, drawn: list[DrawnText], text: str, org, scale: float, color=WHITE, thickness: int = 2,
          box: bool = True, pad_right: int = 0) -> None:
    org = (int(org[0]), int(org[1]))
    if box:
        (w, h), base = cv2.getTextSize(text, FONT, scale, thickness)
        cv2.rectangle(img, (org[0] - 6, org[1] - h - 6), (org[0] + w + 6 + pad_right, org[1] + base + 4), BLACK, -1)
    cv2.putText(img, text, org, FONT, scale, color, thickness, cv2.LINE_AA)
    drawn.append(DrawnText(text, org, scale, thickness))


def format_angle(value: float | None) -> str:
    return "--" if value is None or not np.isfinite(value) else f"{value:z.1f}"


def draw_panel(img: np.ndarray, state: OverlayState) -> list[DrawnText]:
    """Texts and the per-rep strip on the (already mirrored, if so) preview. Returns the texts."""
    drawn: list[DrawnText] = []
    h, w = img.shape[:2]
    s = max(h, w) / 1280.0
    # the current angle, large, with a degree sign drawn as a small circle
    big = format_angle(state.angle_deg)
    _text(img, drawn, big, (20 * s, 90 * s), 2.6 * s, ACCENT, max(3, int(5 * s)), pad_right=int(26 * s))
    (bw, bh), _ = cv2.getTextSize(big, FONT, 2.6 * s, max(3, int(5 * s)))
    cv2.circle(img, (int(20 * s + bw + 12 * s), int(90 * s - bh + 8 * s)), max(4, int(8 * s)), ACCENT, 2, cv2.LINE_AA)
    _text(img, drawn, f"{state.joint_title}, {state.side}", (20 * s, 130 * s), 0.7 * s, WHITE, 2)
    _text(img, drawn, state.phase.upper(), (20 * s, 165 * s), 0.7 * s, GOOD, 2)
    if state.progress:
        (pw, _), _ = cv2.getTextSize(state.progress, FONT, 2.0 * s, max(3, int(4 * s)))
        _text(img, drawn, state.progress, (w - pw - 25 * s, 80 * s), 2.0 * s, WHITE, max(3, int(4 * s)))
    if state.last_peak_deg is not None:
        label = f"last peak {format_angle(state.last_peak_deg)} deg"
        (lw, _), _ = cv2.getTextSize(label, FONT, 0.8 * s, 2)
        _text(img, drawn, label, (w - lw - 25 * s, 125 * s), 0.8 * s, ACCENT, 2)
    _text(img, drawn, with_option(state.prompt), (20 * s, h - 30 * s), 0.8 * s, WHITE, 2)   # the CLI's window
    for k, warning in enumerate(state.warnings[:3]):
        _text(img, drawn, warning, (20 * s, 205 * s + k * 35 * s), 0.7 * s, WARN, 2)
    if state.status:
        _text(img, drawn, state.status, (w - 330 * s, h - 30 * s), 0.55 * s, WHITE, 1)
    if state.turn_text:
        (tw, _), _ = cv2.getTextSize(state.turn_text, FONT, 0.8 * s, 2)
        _text(img, drawn, state.turn_text, (w - tw - 25 * s, 125 * s), 0.8 * s, WHITE, 2)
    if state.last_turn_text:
        (lw, _), _ = cv2.getTextSize(state.last_turn_text, FONT, 0.8 * s, 2)
        _text(img, drawn, state.last_turn_text, (w - lw - 25 * s, 165 * s), 0.8 * s, ACCENT, 2)
    if state.edge_text:
        (ew, _), _ = cv2.getTextSize(state.edge_text, FONT, 0.8 * s, 2)
        row = 205 if state.turn_text else 165
        _text(img, drawn, state.edge_text, (w - ew - 25 * s, row * s), 0.8 * s,
              GOOD if state.edge_reached else WARN, 2)
    _draw_peak_strip(img, state.rep_peaks, s)
    _draw_turn_strip(img, state.turn_extremes, s)
    return drawn


def _draw_turn_strip(img, extremes: dict, s: float) -> None:
    """Per turn (latest 40) a bar up for its right side-bend extreme and one down for its left,
    on a common scale starting a little below the smallest, so growth turn by turn is seen."""
    right, left = (list(extremes.get(side, []))[-40:] for side in ("right", "left"))
    values = [v for v in right + left if v is not None]
    if not values:
        return
    h, w = img.shape[:2]
    top, bottom = max(values), min(values) - max(2.0, 0.5 * (max(values) - min(values)))
    span = max(top - bottom, 1e-6)
    x0, mid, half, bar = int(w - 25 * s - 40 * 9 * s), int(h - 120 * s), int(55 * s), max(2, int(7 * s))
    cv2.rectangle(img, (x0 - 6, mid - half - 6), (x0 + int(40 * 9 * s) + 6, mid + half + 6), BLACK, -1)
    cv2.line(img, (x0 - 6, mid), (x0 + int(40 * 9 * s) + 6, mid), WHITE, 1)
    for label, y in (("R", mid - half + int(14 * s)), ("L", mid + half - 2)):   # right up, left down
        cv2.putText(img, label, (x0 - 6 - int(22 * s), y), FONT, 0.5 * s, WHITE, 1, cv2.LINE_AA)
    n = max(len(right), len(left))
    for k in range(n):
        x = x0 + int(k * 9 * s)
        color = ACCENT if k == n - 1 else WHITE
        for values_, sign in ((right, -1), (left, 1)):
            v = values_[k] if k < len(values_) else None
            if v is not None:
                y = mid + sign * max(1, int(half * (v - bottom) / span))
                cv2.rectangle(img, (x, min(mid, y)), (x + bar, max(mid, y)), color, -1)


def _draw_peak_strip(img, peaks: list[float], s: float) -> None:
    """A small bar per set rep (latest 40), height = peak angle, so the range is seen growing."""
    if not peaks:
        return
    h, w = img.shape[:2]
    shown = peaks[-40:]
    # the scale starts a little below the smallest peak, so a 20 -> 25 deg growth is visible
    top, bottom = max(shown), min(shown) - max(2.0, 0.5 * (max(shown) - min(shown)))
    span = max(top - bottom, 1e-6)
    x0, y0, height, bar = int(w - 25 * s - 40 * 9 * s), int(h - 75 * s), int(90 * s), max(2, int(7 * s))
    cv2.rectangle(img, (x0 - 6, y0 - height - 6), (x0 + int(40 * 9 * s) + 6, y0 + 6), BLACK, -1)
    for k, peak in enumerate(shown):
        x = x0 + int(k * 9 * s)
        y = y0 - int(height * (peak - bottom) / span)
        cv2.rectangle(img, (x, y), (x + bar, y0), ACCENT if k == len(shown) - 1 else WHITE, -1)


def draw_overlay(frame_bgr: np.ndarray, lm: FrameLandmarks | None, state: OverlayState,
                 mirror: bool = True) -> tuple[np.ndarray, list[DrawnText]]:
    """The live view for one frame: a new image (the input is not changed) and the texts drawn."""
    img = frame_bgr.copy()
    if lm is not None:
        draw_geometry(img, lm, state.joint_name, state.side)
    if mirror:
        img = cv2.flip(img, 1)
    return img, draw_panel(img, state)
