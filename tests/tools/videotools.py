"""Test helpers that build known-truth videos from real frames (docs/design.md, "Testing with known truth")."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np


def expected_pose(pbtxt: Path) -> np.ndarray:
    """(33, 2) normalised (x, y) of MediaPipe's expected-landmarks text file (pose.jpg's)."""
    text = Path(pbtxt).read_text()
    xs = [float(v) for v in re.findall(r"\bx:\s*([-\d.e]+)", text)]
    ys = [float(v) for v in re.findall(r"\by:\s*([-\d.e]+)", text)]
    return np.column_stack([xs, ys])


def read_frames(path, start: int = 0, stop: int | None = None, step: int = 1, scale: float = 1.0):
    """Decoded BGR frames [start, stop) every `step`, optionally resized by `scale`, and the fps."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames, index = [], 0
    while stop is None or index < stop:
        ok, frame = cap.read()
        if not ok:
            break
        if index >= start and (index - start) % step == 0:
            if scale != 1.0:
                frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            frames.append(frame)
        index += 1
    cap.release()
    return frames, fps


def write_video(path: Path, frames, fps: float, lossless: bool = False) -> Path:
    """Encode frames as an MPEG-4 file (real decoding in the test, as for a user's file), or
    losslessly (FFV1 in Matroska; give a .mkv path) when the test needs the exact pixels back."""
    h, w = frames[0].shape[:2]
    fourcc = cv2.VideoWriter_fourcc(*("FFV1" if lossless else "mp4v"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def zero_rate_avi(path: Path, frames, fps: float = 10.0) -> Path:
    """Frames as a Motion-JPEG AVI whose headers give the frame rate as 0 (the stream header's
    dwRate and the main header's microseconds per frame), as some recorders and tools write it."""
    import struct

    write_video_fourcc(path, frames, fps, "MJPG")
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, data.find(b"avih") + 8, 0)
    strh = data.find(b"strh")
    assert data[strh + 8:strh + 12] == b"vids"
    struct.pack_into("<I", data, strh + 8 + 24, 0)
    path.write_bytes(bytes(data))
    return path


def variable_rate_mkv(path: Path, frames, times_s) -> Path:
    """Frames as a Matroska file (MPEG-4 part 2) with the given presentation times, a true
    variable frame rate: the container has no frame count, so readers estimate one from its
    duration and nominal rate."""
    import fractions

    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = fractions.Fraction(1, 1000)
        for image, t in zip(frames, times_s):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            frame.pts, frame.time_base = int(round(t * 1000)), stream.time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_video_fourcc(path: Path, frames, fps: float, fourcc: str) -> Path:
    """Frames encoded with OpenCV's writer and the given four-character code."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def rotate_whole(frame: np.ndarray, angle_deg: float) -> np.ndarray:
    """The frame rotated about its centre by angle_deg (counter-clockwise as seen), on a canvas
    large enough that nothing is cut off: what a camera rolled by -angle_deg would see."""
    h, w = frame.shape[:2]
    side = int(np.ceil(np.hypot(h, w)))
    side += side % 2
    canvas = np.zeros((side, side, 3), dtype=frame.dtype)
    y0, x0 = (side - h) // 2, (side - w) // 2
    canvas[y0:y0 + h, x0:x0 + w] = frame
    m = cv2.getRotationMatrix2D((side / 2.0, side / 2.0), angle_deg, 1.0)
    return cv2.warpAffine(canvas, m, (side, side), flags=cv2.INTER_LINEAR)


class HeadTilter:
    """Rotates only the head of a frontal frame about the base of the neck (a synthetic side-bend).

    The head region (an ellipse around the face plus the neck) is cut out with a soft edge,
    the place it leaves is filled by inpainting, and the head is pasted back rotated by a
    known angle about the neck base (positive = counter-clockwise as seen = towards the
    person's right shoulder in an unmirrored front view).
    """

    def __init__(self, frame: np.ndarray, nose_xy, left_shoulder_xy, right_shoulder_xy):
        self.frame = frame
        nose = np.asarray(nose_xy, dtype=float)
        ls, rs = np.asarray(left_shoulder_xy, float), np.asarray(right_shoulder_xy, float)
        mid = (ls + rs) / 2.0
        shoulder_w = float(np.linalg.norm(ls - rs))
        self.pivot = tuple(mid + 0.25 * (nose - mid))  # base of the neck, a little above the shoulder line
        h, w = frame.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        head_c = nose + np.array([0.0, -0.20 * shoulder_w])
        cv2.ellipse(mask, (int(head_c[0]), int(head_c[1])), (int(0.33 * shoulder_w), int(0.50 * shoulder_w)),
                    0, 0, 360, 255, -1)
        neck_half = 0.13 * shoulder_w
        neck = np.array([[nose[0] - neck_half, nose[1]], [nose[0] + neck_half, nose[1]],
                         [self.pivot[0] + neck_half, self.pivot[1]], [self.pivot[0] - neck_half, self.pivot[1]]])
        cv2.fillConvexPoly(mask, neck.astype(np.int32), 255)
        self.mask = cv2.GaussianBlur(mask, (0, 0), 0.02 * shoulder_w).astype(np.float32) / 255.0
        hole = cv2.dilate(mask, np.ones((15, 15), np.uint8))
        self.background = cv2.inpaint(frame, hole, 9, cv2.INPAINT_TELEA)

    def tilt(self, angle_deg: float) -> np.ndarray:
        h, w = self.frame.shape[:2]
        m = cv2.getRotationMatrix2D(self.pivot, angle_deg, 1.0)
        head = cv2.warpAffine(self.frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.warpAffine(self.mask, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
        return (alpha * head + (1.0 - alpha) * self.background).astype(np.uint8)


def rep_schedule(peaks_deg, fps: float, rise_s: float = 0.6, hold_s: float = 0.2, rest_s: float = 0.6,
                 lead_s: float = 1.0):
    """Angle per frame for reps 0 -> peak -> 0 (raised-cosine ramps), with rests between them."""
    out = [0.0] * int(round(lead_s * fps))
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, int(round(rise_s * fps)), endpoint=False))
    for peak in peaks_deg:
        out += list(peak * ramp) + [peak] * int(round(hold_s * fps)) + list(peak * ramp[::-1])
        out += [0.0] * int(round(rest_s * fps))
    return np.array(out)


# A side-bend session performed by a real person's head: neutral, 3 trials near 20 deg, a set of
# 8 reps growing from 20 to 25 deg, 3 trials near 25 deg (the truth of every excursion is known).
SESSION_TRIALS_BEFORE = (20.0, 20.5, 19.5)
SESSION_SET = tuple(float(x) for x in np.linspace(20.0, 25.0, 8))
SESSION_TRIALS_AFTER = (25.0, 25.5, 24.5)


def build_side_bend_session(path: Path, source_video: Path, fps: float = 20.0, scale: float = 0.5,
                            stop_after_s: float | None = None) -> Path:
    """The session above, rendered from frame 80 of the real frontal clip (head rotated about the
    neck base to the right by the scripted angle), as an MPEG-4 file."""
    from romcam.capture.pipeline import ModelChoice
    from romcam.capture.synthetic import Segment, script_angles

    frames, _ = read_frames(source_video, 80, 81, scale=scale)
    with ModelChoice.resolve("full", False).detector() as det:
        p = det.detect(0, 0.0, frames[0]).pose[:, :2]
    tilter = HeadTilter(frames[0], p[0], p[11], p[12])
    segments = [Segment("setup", (), 1.5), Segment("neutral", (), 2.5), Segment("before", SESSION_TRIALS_BEFORE),
                Segment("rest", (), 0.5), Segment("set", SESSION_SET), Segment("rest", (), 0.5),
                Segment("after", SESSION_TRIALS_AFTER), Segment("rest", (), 1.0)]
    _, angle, _ = script_angles(segments, fps=fps, trial_hold_s=0.6)
    if stop_after_s is not None:
        angle = angle[: int(stop_after_s * fps)]
    return write_video(path, [tilter.tilt(a) for a in angle], fps)


def _seconds(frames, fps, a, b):
    return frames[int(a * fps):int(b * fps)]


# The three bends of side_bend_rotation_front.mp4 as (start, end) seconds of the source: each bend
# and the start of its head turn, then the end of the turn hold and the return to neutral.
REAL_BENDS_S = (((0.6, 6.0), (12.4, 14.6)), ((15.6, 20.5), (25.6, 28.0)), ((28.0, 31.8), (36.0, 37.4)))
REAL_STILL_S = 3.0          # the still hold at the start (a neutral frame repeated)


def real_side_bend_loop_frames(fps: float = 25.0) -> int:
    """Frames in one loop of the three bends of :func:`build_real_side_bend_visit`."""
    return sum(int(b * fps) - int(a * fps) for bend in REAL_BENDS_S for a, b in bend)


def build_real_side_bend_visit(path: Path, source_video: Path, loops: int = 3) -> Path:
    """A recording built from real frames of side_bend_rotation_front.mp4 (half size): a still
    hold (a neutral frame repeated for ``REAL_STILL_S``), then her three bends looped ``loops``
    times (before, set, after). The middle of each turn hold (face turned past the limit, so
    unusable anyway) is cut to keep the set's bends closer than its 10-s pause."""
    frames, fps = read_frames(source_video, stop=int(37.4 * 25), scale=0.5)
    out = [frames[10]] * int(REAL_STILL_S * fps)
    for _ in range(loops):
        for bend in REAL_BENDS_S:
            for a, b in bend:
                out += _seconds(frames, fps, a, b)
    return write_video(path, out, fps)


# The rise of each bend of side_bend_rotation_front.mp4, from neutral to its peak (seconds).
REAL_BEND_RISES_S = ((0.6, 3.8), (15.6, 18.4), (27.8, 30.2))


def build_alternating_real_bends(path: Path, source_video: Path) -> Path:
    """Real side-bends to BOTH sides, back to back with no pause at neutral, as people do them:
    each of her three left bends of side_bend_rotation_front.mp4 (half size) as its rise and the
    same frames backwards, then the same bend mirrored (a right bend), after a 2-s neutral. The
    mirrored frames also mirror her shoulder line, a change a real trunk never makes between two
    bends, so the shoulder reference is not what it is on the source clip: compare each mirrored
    bend with its twin in this clip, not with the source's peaks."""
    frames, fps = read_frames(source_video, stop=int(31 * 25), scale=0.5)
    out = [frames[10]] * int(2 * fps)
    for a, b in REAL_BEND_RISES_S:
        rise = _seconds(frames, fps, a, b)
        bend = rise + rise[::-1]
        out += bend + [cv2.flip(f, 1) for f in bend]
    return write_video(path, out, fps)


def roll_camera(frame: np.ndarray, roll_deg: float, pose=None):
    """The frame as a camera rolled by ``roll_deg`` would show it (the scene turned
    counter-clockwise on screen by ``roll_deg`` about the centre, same canvas), the mask of real
    image pixels (eroded, so the new black corners' edges are ignored), and ``pose`` landmarks
    (N, >=2 pixels) moved the same way."""
    h, w = frame.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), roll_deg, 1.0)
    out = cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (w, h), flags=cv2.INTER_NEAREST)
    mask = cv2.erode(mask, np.ones((15, 15), np.uint8))
    moved = None
    if pose is not None:
        moved = np.array(pose, dtype=float, copy=True)
        moved[..., :2] = moved[..., :2] @ m[:, :2].T + m[:, 2]
    return out, mask, moved


def roll_camera_filled(frame: np.ndarray, roll_deg: float) -> np.ndarray:
    """The frame as a camera rolled by ``roll_deg`` with a slightly narrower view would show it:
    turned counter-clockwise on screen by ``roll_deg`` about the centre (scene_level's sign) and
    enlarged just enough that no corner is left black (no new edge of known slope in the picture)."""
    h, w = frame.shape[:2]
    a = np.radians(abs(roll_deg))
    zoom = float(np.cos(a) + max(w / h, h / w) * np.sin(a))
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), roll_deg, zoom)
    return cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def person_mask(frame: np.ndarray, model_path) -> np.ndarray:
    """MediaPipe's person segmentation of one BGR frame (float 0..1, frame size)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                           output_segmentation_masks=True)
    with vision.PoseLandmarker.create_from_options(options) as det:
        result = det.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
        assert result.segmentation_masks, "no person found for the mask"
        # copy while the landmarker lives: the view points into memory it frees when closed
        mask = np.array(result.segmentation_masks[0].numpy_view(), dtype=np.float32).reshape(frame.shape[:2])
    assert (mask > 0.5).mean() > 0.01, "the person mask is empty"
    return mask


class ShinTilter:
    """Rotates everything of a standing person above the ankles about the ankle joint (a
    synthetic dorsiflexion: the shins incline forward, the feet and the floor stay).

    The person (MediaPipe's segmentation, dilated) above a line just over the ankle is cut out
    with a soft edge, the hole is filled by inpainting, and the cut-out is pasted back rotated
    by a known angle about the ankle, forward = towards where the toes point (``forward`` +1 =
    image right).

    ``bend_px`` > 0: instead of a cut at the ankle, the turn grows smoothly (smoothstep) from 0 at
    the ankle's height to the whole angle ``bend_px`` above it, so the lower shin bends into the
    foot without a seam; everything higher (the knee, the body) is turned rigidly by the angle
    about the ankle, and the ankle and the feet stay: the shin line from the ankle to the knee
    turns by exactly the angle, as with the cut."""

    def __init__(self, frame: np.ndarray, mask: np.ndarray, ankle_xy, forward: int, feather_px: float = 3.0,
                 bend_px: float = 0.0):
        self.frame, self.forward, self.bend_px = frame, int(forward), float(bend_px)
        self.pivot = (float(ankle_xy[0]), float(ankle_xy[1]))
        h, w = frame.shape[:2]
        person = (mask > 0.5).astype(np.uint8) * 255
        person = cv2.dilate(person, np.ones((9, 9), np.uint8))
        self.alpha_whole = cv2.GaussianBlur(person, (0, 0), feather_px).astype(np.float32) / 255.0
        person[int(round(self.pivot[1])):, :] = 0          # below the ankle: the feet stay
        self.alpha = cv2.GaussianBlur(person, (0, 0), feather_px).astype(np.float32) / 255.0
        self.alpha[int(round(self.pivot[1])):, :] = 0.0
        hole = cv2.dilate(person, np.ones((15, 15), np.uint8))
        hole[int(round(self.pivot[1])) + 2:, :] = 0
        self.background = cv2.inpaint(frame, hole, 7, cv2.INPAINT_TELEA)

    def tilt(self, angle_deg: float) -> np.ndarray:
        h, w = self.frame.shape[:2]
        if self.bend_px > 0:
            return self._bend(angle_deg)
        # cv2's positive angle turns counter-clockwise on screen, which brings the knee towards -x
        m = cv2.getRotationMatrix2D(self.pivot, -self.forward * angle_deg, 1.0)
        body = cv2.warpAffine(self.frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.warpAffine(self.alpha, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
        return (alpha * body + (1.0 - alpha) * self.background).astype(np.uint8)

    def _bend(self, angle_deg: float) -> np.ndarray:
        mx, my = _shin_bend_maps(self.frame.shape, self.pivot, self.forward, angle_deg, self.bend_px)
        body = cv2.remap(self.frame, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.remap(self.alpha_whole, mx, my, cv2.INTER_LINEAR)[..., None]
        return (alpha * body + (1.0 - alpha) * self.background).astype(np.uint8)


def _shin_bend_maps(shape, pivot, forward: int, angle_deg: float, bend_px: float):
    """cv2.remap maps for ShinTilter's bend: each output pixel ``h`` px above the pivot is taken
    from its place turned back by the angle times smoothstep(h / bend_px) about the pivot."""
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = xx - pivot[0], yy - pivot[1]
    s = np.clip(-dy / bend_px, 0.0, 1.0)
    theta = np.radians(forward * angle_deg) * s * s * (3.0 - 2.0 * s)
    c, sn = np.cos(theta), np.sin(theta)
    return ((pivot[0] + c * dx + sn * dy).astype(np.float32), (pivot[1] - sn * dx + c * dy).astype(np.float32))


def contact_sheet(frames, labels, columns: int = 4, width: int = 360) -> np.ndarray:
    """Frames side by side (resized to ``width``), each with its label, for a human to look at."""
    tiles = []
    for f, label in zip(frames, labels):
        scale = width / f.shape[1]
        tile = cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.putText(tile, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 255), 2)
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def loop_video(source: Path, out: Path, seconds: float, size: tuple[int, int] | None = None) -> Path:
    """A long recording made by playing ``source`` over and over until ``seconds`` of video are
    written (MPEG-4, the source's fps; its size, or ``size`` (w, h) scaled to): for timing and
    memory runs on long recordings without storing a long video anywhere. Decodes and encodes
    frame by frame (constant memory).

    ``python tests/tools/videotools.py loop SRC OUT SECONDS [WxH]`` does the same from a shell."""
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    own = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    size = tuple(size) if size else own
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    wanted, written = int(round(seconds * fps)), 0
    try:
        while written < wanted:
            ok, frame = cap.read()
            if not ok:                       # the end of the clip: play it again
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = cap.read()
                assert ok, f"cannot decode {source}"
            if size != own:
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
            writer.write(frame)
            written += 1
    finally:
        cap.release()
        writer.release()
    return out


if __name__ == "__main__":
    import sys

    if len(sys.argv) not in (5, 6) or sys.argv[1] != "loop":
        sys.exit("usage: python tests/tools/videotools.py loop SOURCE OUT SECONDS [WxH]")
    size = tuple(int(v) for v in sys.argv[5].split("x")) if len(sys.argv) == 6 else None
    print(loop_video(Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]), size))
