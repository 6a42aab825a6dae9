"""MediaPipe PoseLandmarker (+ FaceLandmarker for head joints) -> one record per frame.

Both landmarkers run in VIDEO mode (they track from frame to frame) and are closed
deterministically: use :class:`LandmarkDetector` as a context manager.

Coordinates are stored in **pixels** of the (unmirrored) frame, so that angles are not
distorted by a non-square aspect ratio: x to the right, y downwards, as in the image.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from romcam.errors import RomcamError

# Pose landmark indices (MediaPipe BlazePose topology). Names are the *person's* sides.
POSE = {
    "nose": 0, "left_eye": 2, "right_eye": 5, "left_ear": 7, "right_ear": 8,
    "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
    "left_wrist": 15, "right_wrist": 16, "left_pinky": 17, "right_pinky": 18, "left_index": 19,
    "right_index": 20, "left_thumb": 21, "right_thumb": 22, "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
    "left_heel": 29, "right_heel": 30, "left_foot_index": 31, "right_foot_index": 32,
}
# Face mesh pairs (person's right, person's left) across the face, used for head roll.
FACE_ROLL_PAIRS = ((33, 263), (133, 362), (234, 454), (127, 356), (93, 323))
FACE_NOSE_TIP = 1

POSE_COLS = ("x_px", "y_px", "z", "visibility", "presence")


@dataclass(frozen=True)
class FrameLandmarks:
    index: int
    t_s: float
    width: int
    height: int
    pose: np.ndarray | None = None         # (33, 5): x_px, y_px, z, visibility, presence
    face: np.ndarray | None = None         # (478, 3): x_px, y_px, z
    face_matrix: np.ndarray | None = None  # (4, 4) facial transformation matrix
    face_elsewhere: bool = False           # a face was found, but not on the measured person
    # share of the face-mesh points MediaPipe placed outside the frame, as detected (kept when
    # the mesh itself is let go, see ``without_mesh``)
    face_outside: float | None = None
    # False where the pose model skipped this frame and the last pose stands in (head joints run
    # it on every few frames only; see romcam.capture.pipeline)
    pose_fresh: bool = True
    # the face mesh's bounding box (x0, y0, x1, y1 px), set when the mesh itself is let go
    # (``without_mesh``; read it with ``face_bounds``)
    face_box: tuple[float, float, float, float] | None = None

    def without_mesh(self) -> FrameLandmarks:
        """The same record without the 478-point face mesh (11 KB a frame): what a whole recording
        keeps. Everything measured later needs only the pose, the face matrix, ``face_outside``
        and ``face_box``."""
        if self.face is None:
            return self
        outside = self.face_outside if self.face_outside is not None else outside_share(self.face, self.width,
                                                                                          self.height)
        return dataclasses.replace(self, face=None, face_outside=outside, face_box=self.face_bounds())

    def face_bounds(self) -> tuple[float, float, float, float] | None:
        """The face mesh's bounding box (x0, y0, x1, y1 px), None without a face."""
        if self.face_box is not None:
            return self.face_box
        return bounding_box(self.face) if self.face is not None else None

    def point(self, name: str) -> np.ndarray:
        """(x_px, y_px) of a named pose landmark."""
        return self.pose[POSE[name], :2]

    def visibility(self, name: str) -> float:
        return float(self.pose[POSE[name], 3]) if self.pose is not None else 0.0


def _pose_array(landmarks, width: int, height: int) -> np.ndarray:
    return np.array(
        [(lm.x * width, lm.y * height, lm.z * width, lm.visibility or 0.0, lm.presence or 0.0)
         for lm in landmarks],
        dtype=np.float64,
    )


def _face_array(landmarks, width: int, height: int) -> np.ndarray:
    return np.array([(lm.x * width, lm.y * height, lm.z * width) for lm in landmarks], dtype=np.float64)


def bounding_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the points (x_px, y_px, ...)."""
    x0, y0 = points[:, :2].min(axis=0)
    x1, y1 = points[:, :2].max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def outside_share(points: np.ndarray, width: int, height: int) -> float:
    """Share of the points (x_px, y_px, ...) that lie outside a width x height frame."""
    if points is None or not len(points):
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return float(np.mean((x < 0) | (y < 0) | (x >= width) | (y >= height)))


def most_prominent(poses: list[np.ndarray]) -> np.ndarray | None:
    """The pose whose confidently seen landmarks span the largest box (the person nearest the camera)."""
    best, best_area = None, -1.0
    for pose in poses:
        seen = pose[pose[:, 3] > 0.5, :2]
        if len(seen) < 2:
            continue
        span = seen.max(axis=0) - seen.min(axis=0)
        area = float(span[0] * span[1])
        if area > best_area:
            best, best_area = pose, area
    return best if best is not None else (poses[0] if poses else None)


def face_belongs_to_pose(face: np.ndarray, pose: np.ndarray) -> bool:
    """True when the face mesh sits on this person's head (guards against a bystander's face)."""
    nose = pose[POSE["nose"], :2]
    shoulders = np.linalg.norm(pose[POSE["left_shoulder"], :2] - pose[POSE["right_shoulder"], :2])
    face_width = np.linalg.norm(face[454, :2] - face[234, :2])
    tolerance = max(shoulders, 2.0 * face_width)
    return float(np.linalg.norm(face[FACE_NOSE_TIP, :2] - nose)) < tolerance


class LandmarkDetector:
    """Pose (and optionally face) landmarks for a stream of frames, in VIDEO mode.

    ``parallel=True`` runs the face model on a second thread while the pose model runs
    (MediaPipe releases the GIL), which shortens per-frame latency for head joints.
    ``pose_behind=True`` (live head joints, with ``pose_every`` > 1): the pose model runs on a
    thread of its own and is never waited for; each frame takes the newest pose finished so far
    (none before the first), and a frame whose turn it is while the pose thread is still busy
    skips it. A frame then costs the face model only, so a slow moment does not drop camera
    frames; both models are warmed up when the detector is made.
    """

    def __init__(self, pose_model: Path, face_model: Path | None = None, *, num_poses: int = 1,
                 parallel: bool = False, min_pose_confidence: float = 0.5, pose_every: int = 1,
                 pose_behind: bool = False):
        from mediapipe.tasks.python import BaseOptions, vision  # heavy import, only when needed

        self._vision = vision
        running = vision.RunningMode.VIDEO
        self._pose = self._face = None
        self._executor = None
        try:
            self._pose = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(pose_model)),
                running_mode=running, num_poses=num_poses,
                min_pose_detection_confidence=min_pose_confidence,
                min_pose_presence_confidence=min_pose_confidence,
                min_tracking_confidence=min_pose_confidence,
            ))
            if face_model is not None:
                self._face = vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(face_model)),
                    running_mode=running, num_faces=1,
                    output_facial_transformation_matrixes=True,
                ))
        except (RuntimeError, ValueError) as exc:
            self.close()
            raise RomcamError(f"MediaPipe could not load a model ({exc}); check --model-dir") from None
        if parallel and self._face is not None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="romcam-face")
        self._last_ms = -1
        self._lock = threading.Lock()
        # head joints: the pose model (for the shoulders, read at rest anyway) runs on every
        # ``pose_every``-th frame only and its last result stands in between; the face model runs
        # on every frame (docs/validation/speed.md)
        self.pose_every = max(1, int(pose_every))
        self._frames = 0
        self._last_poses: list[np.ndarray] = []
        self._behind = self._pose_job = None
        if pose_behind and self._face is not None and self.pose_every > 1:
            self._behind = ThreadPoolExecutor(max_workers=1, thread_name_prefix="romcam-pose")
            self._executor = None        # the face runs on the caller's thread, beside the pose thread
            self._warm_up()

    def _run_pose(self, image, ts_ms: int, width: int, height: int) -> list[np.ndarray]:
        result = self._pose.detect_for_video(image, ts_ms)
        return [_pose_array(p, width, height) for p in result.pose_landmarks]

    def _warm_up(self) -> None:
        """Both models once on a blank picture, so their first real frame is not also their slowest
        (MediaPipe sets itself up on its first inference: without this, the frames a camera
        delivers meanwhile would be dropped at the start of every live session)."""
        import mediapipe as mp

        blank = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((480, 640, 3), np.uint8))
        self._pose.detect_for_video(blank, 0)
        self._face.detect_for_video(blank, 0)
        self._last_ms = 0

    def _pose_behind(self, image, ts_ms: int, width: int, height: int, its_turn: bool) -> bool:
        """Live: start the pose on this frame when it is its turn and the pose thread is free, and
        take a finished result; never wait (until the first pose arrives a frame has none, as when
        nobody is in view). Always False: the pose a frame gets is an earlier frame's."""
        job = self._pose_job
        if job is not None and job.done():
            self._last_poses, self._pose_job, job = job.result(), None, None
        if its_turn and job is None:
            self._pose_job = self._behind.submit(self._run_pose, image, ts_ms, width, height)
        return False

    def detect(self, index: int, t_s: float, image_bgr: np.ndarray) -> FrameLandmarks:
        import mediapipe as mp

        height, width = image_bgr.shape[:2]
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        with self._lock:  # VIDEO mode needs strictly increasing timestamps
            ts_ms = max(int(round(t_s * 1000.0)), self._last_ms + 1)
            self._last_ms = ts_ms
        run_pose = self._frames % self.pose_every == 0 or not self._last_poses
        self._frames += 1
        face_future = None
        if self._behind is not None:
            run_pose = self._pose_behind(image, ts_ms, width, height, run_pose)
        else:
            if self._executor is not None and run_pose:
                face_future = self._executor.submit(self._face.detect_for_video, image, ts_ms)
            if run_pose:
                self._last_poses = self._run_pose(image, ts_ms, width, height)
        face_result = None
        if face_future is not None:
            face_result = face_future.result()
        elif self._face is not None:
            face_result = self._face.detect_for_video(image, ts_ms)

        poses = self._last_poses
        pose = most_prominent(poses)
        face = matrix = outside = None
        elsewhere = False
        if face_result is not None and face_result.face_landmarks:
            face = _face_array(face_result.face_landmarks[0], width, height)
            if face_result.facial_transformation_matrixes:
                matrix = np.asarray(face_result.facial_transformation_matrixes[0], dtype=np.float64)
            if pose is not None and not face_belongs_to_pose(face, pose):
                face = matrix = None
                elsewhere = True
        if face is not None:
            outside = outside_share(face, width, height)
        return FrameLandmarks(index, t_s, width, height, pose, face, matrix, elsewhere, outside, run_pose)

    def close(self) -> None:
        if self._behind is not None:
            self._behind.shutdown(wait=True)
            self._behind = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        for attr in ("_face", "_pose"):
            task = getattr(self, attr, None)
            if task is not None:
                task.close()
                setattr(self, attr, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
