"""Known 3-D head poses drawn into a real frame (docs/design.md, "Testing with known truth").

The face of a real frontal frame becomes a textured 3-D mesh (FaceLandmarker's 478 points and
MediaPipe's face-mesh triangles, plus a few rings of points around it for hair, ears and the neck),
is rotated about a neck pivot by a KNOWN head rotation and drawn back into the frame. The renders
can be run through MediaPipe like any video; the truth of every frame is the rotation.

This module uses only mediapipe's Tasks API, OpenCV, numpy and scipy (never romcam), so it keeps
working while romcam's package moves around.

Conventions
-----------
* Rotations (`head_rotation`, `circle_rotation`, the truth functions) are 3x3 matrices in
  MediaPipe's METRIC CAMERA frame: x to the image right, y UP, z towards the viewer. A rotation R
  maps the neutral head's axes to the posed head's axes: R @ [1,0,0] is the posed ear-to-ear axis
  (the face's right-to-left ear direction, +x for a frontal unmirrored face; the first column of
  FaceLandmarker's facial transformation matrix), R @ [0,1,0] the head's vertical axis.
* Signs, with "right" the PERSON's right (on the image LEFT in an unmirrored front view):
  + side_bend = head tilted towards the person's right shoulder (top of the head to image-left);
  + turn = face turned towards the person's right (nose to image-left);
  + nod = flexion, chin down.
* The trunk frame is the camera frame here: the shoulders never move in these renders.
* Image-space points (`face_xyz_px`, the mesh) are MediaPipe's landmarks scaled to pixels:
  (x * W, y * H, z * W), i.e. x right, y DOWN, z AWAY from the viewer. `to_image_rotation`
  converts a camera-frame rotation into that frame.

Run as a script for the visual check and the accuracy tables:
    nice .venv/bin/python tests/tools/head_render.py      # contact sheet + evaluation grid
"""

from __future__ import annotations

import json
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("ROMCAM_MODEL_DIR") or REPO.parent / "shared" / "models")
MEDIA_DIR = Path(os.environ.get("ROMCAM_MEDIA_DIR") or REPO.parent / "shared" / "media")
SCRATCH = Path("/tmp/head_render")

# Real neutral frontal frames: clip, frame index, scale.
SOURCES = {
    "man": ("neck_rotation_front.mp4", 80, 0.5),      # 960x540, seated man
    "woman": ("side_bend_rotation_front.mp4", 10, 1.0),  # 1280x720, standing woman, neutral at 0.4 s
}

LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12   # PoseLandmarker indices (person's sides)


# --------------------------------------------------------------------------------------------
# Rotations and truth
# --------------------------------------------------------------------------------------------

def rot_x(deg: float) -> np.ndarray:
    """Right-handed rotation about the camera x axis (image right)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(deg: float) -> np.ndarray:
    """Right-handed rotation about the camera y axis (up)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def rot_z(deg: float) -> np.ndarray:
    """Right-handed rotation about the camera z axis (towards the viewer): counter-clockwise as seen."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def head_rotation(side_bend_deg: float, turn_deg: float = 0.0, nod_deg: float = 0.0) -> np.ndarray:
    """R = Rz(side_bend) @ Ry(-turn) @ Rx(nod) in the camera frame (x right, y up, z to viewer).

    Read intrinsically: the head first side-bends about the face's forward axis, then turns about
    its own (tilted) vertical axis, then nods about its own ear-to-ear axis. So the ear-axis
    elevation is asin(sin(side_bend) * cos(turn)) (nod never changes it), and a turn or nod alone
    leaves it at 0. Signs: + side_bend towards the person's right shoulder (head top to image-left),
    + turn towards the person's right (nose to image-left), + nod = chin down.
    """
    return rot_z(side_bend_deg) @ rot_y(-turn_deg) @ rot_x(nod_deg)


def _elevation_deg(v: np.ndarray) -> float:
    return float(np.degrees(np.arcsin(np.clip(v[1] / np.linalg.norm(v), -1.0, 1.0))))


def lateral_flexion_truth(R: np.ndarray, ear: np.ndarray | None = None) -> float:
    """docs/design.md's lateral flexion: elevation of the ear-to-ear axis above the trunk's transverse
    plane (trunk = camera here), relative to the neutral head's, in degrees; + = towards the
    person's right. ``ear``: the neutral head's ear-to-ear axis in the camera frame
    (:attr:`HeadRenderer.ear_axis`: a real face is seldom exactly frontal); default [1, 0, 0]."""
    ear = np.array([1.0, 0.0, 0.0]) if ear is None else np.asarray(ear, float)
    return _elevation_deg(np.asarray(R, float) @ ear) - _elevation_deg(ear)


def _head_up(R: np.ndarray) -> np.ndarray:
    up = np.asarray(R, float) @ np.array([0.0, 1.0, 0.0])
    return up / np.linalg.norm(up)


def tilt_truth(R: np.ndarray) -> tuple[float, float]:
    """(lateral_deg, forward_deg): the head's vertical axis R@[0,1,0] tipped towards the person's
    right (image-left, -x) and towards the front (+z, the camera): asin of each component, degrees."""
    up = _head_up(R)
    return float(np.degrees(np.arcsin(-up[0]))), float(np.degrees(np.arcsin(up[2])))


def tilt_direction(R: np.ndarray) -> tuple[float, float]:
    """(phi_deg, tilt_deg) of the head's vertical axis: phi = atan2(lateral, forward) components
    (0 = forward/chin down, +90 = towards the person's right, +-180 = back, -90 = left) and the
    tilt = its angle from the trunk's vertical."""
    up = _head_up(R)
    return (float(np.degrees(np.arctan2(-up[0], up[2]))),
            float(np.degrees(np.arccos(np.clip(up[1], -1.0, 1.0)))))


def circle_rotation(phi_deg: float, tilt_deg: float) -> np.ndarray:
    """A head pose for neck circles: the vertical axis tipped by tilt_deg towards direction phi_deg
    (0 = forward/chin down, +90 = person's right, 180 = back, -90 = left), with no axial turn
    (the shortest rotation taking up to that direction). phi 0 = head_rotation(0, 0, tilt);
    phi 90 = head_rotation(tilt)."""
    phi = np.radians(phi_deg)
    direction = np.array([-np.sin(phi), 0.0, np.cos(phi)])   # in the transverse plane
    axis = np.cross([0.0, 1.0, 0.0], direction)
    return Rotation.from_rotvec(axis * np.radians(tilt_deg)).as_matrix()


# FaceLandmarker's geometry pipeline models the frame as a pinhole camera with this vertical field
# of view (its FaceGeometryEnvGeneratorCalculator environment); rendering with the same camera
# makes the renders consistent with how MediaPipe reads them.
MEDIAPIPE_VERTICAL_FOV_DEG = 63.0

IMAGE_FROM_CAMERA = np.diag([1.0, -1.0, -1.0])   # (x, y up, z to viewer) -> (x, y down, z away)


def to_image_rotation(R: np.ndarray) -> np.ndarray:
    """A camera-frame rotation expressed in image coordinates (x right, y down, z away)."""
    return IMAGE_FROM_CAMERA @ R @ IMAGE_FROM_CAMERA


# --------------------------------------------------------------------------------------------
# Measurements from FaceLandmarker's facial transformation matrix
# --------------------------------------------------------------------------------------------

def measured_lateral_flexion(matrix: np.ndarray) -> float:
    """asin(first column, normalised, . [0,1,0]) in degrees: the 3-D definition (trunk = camera)."""
    ear = np.asarray(matrix, float)[:3, 0]
    return float(np.degrees(np.arcsin(ear[1] / np.linalg.norm(ear))))


def image_plane_roll(matrix: np.ndarray) -> float:
    """The OLD definition, for comparison: atan2 of the ear axis' image-plane (y up, x) components."""
    ear = np.asarray(matrix, float)[:3, 0]
    return float(np.degrees(np.arctan2(ear[1], ear[0])))


# --------------------------------------------------------------------------------------------
# MediaPipe (Tasks API, IMAGE mode)
# --------------------------------------------------------------------------------------------

@dataclass
class FaceResult:
    points_px: np.ndarray     # 478 x 3: (x*W, y*H, z*W)
    matrix: np.ndarray        # 4 x 4 facial transformation matrix (metric camera frame)


class Detector:
    """FaceLandmarker (with transformation matrices) and the full PoseLandmarker.

    video=False: IMAGE mode, the face detector runs on every frame (a pessimistic check).
    video=True: VIDEO mode, frames must come in order (timestamps step by 1000/fps ms) and the face
    is tracked from frame to frame, as when a recording is analysed.
    Use as a context manager; `face(frame)` / `pose(frame)` return None when nothing is found."""

    def __init__(self, model_dir: Path | str = MODEL_DIR, face: bool = True, pose: bool = True,
                 video: bool = False, fps: float = 25.0):
        from mediapipe.tasks.python import BaseOptions, vision

        model_dir = Path(model_dir)
        mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE
        self.video, self.step_ms, self._t = video, 1000.0 / fps, {"face": 0, "pose": 0}
        self._face = self._pose = None
        if face:
            opts = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(_require(model_dir / "face_landmarker.task"))),
                running_mode=mode, num_faces=1, output_facial_transformation_matrixes=True)
            self._face = vision.FaceLandmarker.create_from_options(opts)
        if pose:
            opts = vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(_require(model_dir / "pose_landmarker_full.task"))),
                running_mode=mode)
            self._pose = vision.PoseLandmarker.create_from_options(opts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for task in (self._face, self._pose):
            if task is not None:
                task.close()

    def _run(self, kind: str, task, frame_bgr):
        import mediapipe as mp
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
        if not self.video:
            return task.detect(image)
        self._t[kind] += 1
        return task.detect_for_video(image, int(round(self._t[kind] * self.step_ms)))

    def face(self, frame_bgr) -> FaceResult | None:
        h, w = frame_bgr.shape[:2]
        r = self._run("face", self._face, frame_bgr)
        if not r.face_landmarks:
            return None
        pts = np.array([[p.x * w, p.y * h, p.z * w] for p in r.face_landmarks[0]])
        return FaceResult(pts, np.array(r.facial_transformation_matrixes[0], float))

    def pose(self, frame_bgr) -> np.ndarray | None:
        """33 x 4: x px, y px, z (x-scaled px), visibility."""
        h, w = frame_bgr.shape[:2]
        r = self._run("pose", self._pose, frame_bgr)
        if not r.pose_landmarks:
            return None
        return np.array([[p.x * w, p.y * h, p.z * w, p.visibility] for p in r.pose_landmarks[0]])


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing (set ROMCAM_MODEL_DIR / ROMCAM_MEDIA_DIR to ../shared/...)")
    return path


def read_frame(clip: Path | str, index: int, scale: float = 1.0) -> np.ndarray:
    """Frame `index` of a clip (decoded sequentially, so it is exact), resized by `scale`."""
    cap = cv2.VideoCapture(str(_require(Path(clip))))
    frame = None
    for _ in range(index + 1):
        ok, frame = cap.read()
        if not ok:
            raise ValueError(f"{clip} has no frame {index}")
    cap.release()
    if scale != 1.0:
        frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return frame


def load_source(name: str = "man", detector: Detector | None = None, media_dir: Path | str = MEDIA_DIR):
    """(frame, face_xyz_px 478x3, left_shoulder_xy, right_shoulder_xy) for a SOURCES entry."""
    clip, index, scale = SOURCES[name]
    frame = read_frame(Path(media_dir) / clip, index, scale)
    own = detector is None
    det = Detector() if own else detector
    try:
        face, pose = det.face(frame), det.pose(frame)
    finally:
        if own:
            det.close()
    if face is None or pose is None:
        raise RuntimeError(f"no face/pose on the source frame {name}")
    return frame, face.points_px, pose[LEFT_SHOULDER, :2], pose[RIGHT_SHOULDER, :2]


def source_renderer(name: str = "man", model_dir: Path | str = MODEL_DIR,
                    media_dir: Path | str = MEDIA_DIR) -> tuple[np.ndarray, HeadRenderer]:
    """(source frame, its HeadRenderer) for a SOURCES entry, with the model bundle's triangles."""
    with Detector(model_dir) as det:
        frame, face, left, right = load_source(name, det, media_dir)
    return frame, HeadRenderer(frame, face, left, right,
                               triangles=face_mesh_triangles(Path(model_dir) / "face_landmarker.task"))


# --------------------------------------------------------------------------------------------
# The face-mesh triangulation, read from the FaceLandmarker bundle at run time
# --------------------------------------------------------------------------------------------

def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _proto_fields(buf: bytes):
    """(field number, wire type, value) of a protobuf message; enough for the geometry metadata."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def face_mesh_triangles(face_model: Path | str = MODEL_DIR / "face_landmarker.task") -> np.ndarray:
    """(898, 3) landmark indices: the canonical face mesh's index buffer.

    face_landmarker.task is a zip; `geometry_pipeline_metadata_landmarks.binarypb` is a
    GeometryPipelineMetadata proto whose field 1 (canonical_mesh, a Mesh3d) has the triangle
    indices in field 4 (index_buffer, uint32, packed or not)."""
    with zipfile.ZipFile(_require(Path(face_model))) as z:
        meta = z.read("geometry_pipeline_metadata_landmarks.binarypb")
    mesh = next(v for f, w, v in _proto_fields(meta) if f == 1 and w == 2)
    index = []
    for f, w, v in _proto_fields(mesh):
        if f == 4 and w == 0:
            index.append(v)
        elif f == 4 and w == 2:                     # packed
            j = 0
            while j < len(v):
                x, j = _varint(v, j)
                index.append(x)
    tris = np.array(index, np.int32).reshape(-1, 3)
    if len(tris) < 800 or tris.max() >= 478:
        raise ValueError(f"unexpected canonical mesh in {face_model}: {tris.shape}")
    return tris


def face_oval_loop() -> list[int]:
    """The 36 face-oval landmark indices in order around the face (from mediapipe's connections)."""
    from mediapipe.tasks.python.vision import FaceLandmarksConnections

    nxt = {c.start: c.end for c in FaceLandmarksConnections.FACE_LANDMARKS_FACE_OVAL}
    loop = [10]
    while nxt[loop[-1]] != loop[0]:
        loop.append(nxt[loop[-1]])
    return loop


# --------------------------------------------------------------------------------------------
# The renderer
# --------------------------------------------------------------------------------------------

def _smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _signed_areas(xy: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = xy[tris[:, 0]], xy[tris[:, 1]], xy[tris[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


class HeadRenderer:
    """Draws the head of a real frontal frame at a known 3-D rotation about a neck pivot.

    Mesh: the 468 face-mesh points (MediaPipe triangles) plus three rings scaled out from the face
    oval about its centre (x RING_SCALES): ring 1 and 2 carry the hair, ears and the neck, ring 3
    is a fade-out band of the surroundings (alpha 1 -> 0). Ring depths go from the oval's depth
    back to the head's silhouette (HEAD_DEPTH face widths behind the nose tip).

    Pivot (image coordinates, x right, y down, z away): x = the shoulders' midpoint, y = 25 % of the
    way from the shoulder line up to the nose (the base of the neck, as videotools.HeadTilter),
    z = the nose tip's depth + pivot_depth face widths (default 0.65: the cervical spine lies about
    at the ear's depth, ~0.7 face widths behind the nose tip; face width = |lm 234 - lm 454|).

    Neck: a vertex turns by the full rotation above the chin and by none below the pivot (a
    smoothstep in between, the same axis, scaled angle), so the neck bends instead of tearing.

    Camera: a pinhole with fov_deg vertical field of view (default MediaPipe's own 63 deg; the
    landmarks are unprojected along their rays at depth f + z, f = the focal length in px), or
    orthographic with fov_deg=None. An orthographic render of a face away from the image centre
    is NOT what a pinhole camera would see (MediaPipe then reads a turn as a turn plus a roll of
    about asin(sin(turn) sin(elevation of the face)) - see the report).

    render(R): original head region inpainted away (done once), mesh posed by R (camera frame,
    see module docstring) and projected, back-face culling, painter's order (far to
    near), one affine texture map per triangle from the neutral frame, ring-3 feathering.
    render(identity) reproduces the original frame up to resampling noise.
    """

    RING_SCALES = (1.35, 1.75, 2.1)
    EAR_POINTS = (234, 454)   # the face mesh's widest points, beside the ears (person's right, left)
    HEAD_DEPTH = 0.8
    HAIR_STRETCH = 0.6    # rings reach (1 + this) times further out above the face: hair

    def __init__(self, frame_bgr: np.ndarray, face_xyz_px, left_shoulder_xy, right_shoulder_xy,
                 triangles: np.ndarray | None = None, pivot_depth: float = 0.65,
                 fov_deg: float | None = MEDIAPIPE_VERTICAL_FOV_DEG):
        self.frame = frame_bgr
        h, w = frame_bgr.shape[:2]
        self.focal = None if not fov_deg else (h / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
        self.centre = np.array([w / 2.0, h / 2.0])
        face = np.asarray(face_xyz_px, float)[:468]
        ls, rs = np.asarray(left_shoulder_xy, float), np.asarray(right_shoulder_xy, float)
        self.shoulders = (ls, rs)
        tris = face_mesh_triangles() if triangles is None else np.asarray(triangles, np.int32)
        nose, chin = face[1], face[152]
        self.face_width = float(np.linalg.norm(face[234, :2] - face[454, :2]))
        mid = (ls + rs) / 2.0
        self.pivot = np.array([mid[0], mid[1] + 0.25 * (nose[1] - mid[1]),
                               nose[2] + pivot_depth * self.face_width])
        self.vertices, self.triangles, self.alpha = self._build_mesh(face, tris)
        self.weights = _smoothstep((self.pivot[1] - self.vertices[:, 1]) / max(self.pivot[1] - chin[1], 1.0))
        self.src_xy = self.vertices[:, :2].copy()
        self.space_vertices, self.space_pivot = self._unproject(self.vertices), self._unproject(self.pivot)
        areas = _signed_areas(self.src_xy, self.triangles)
        self.front_sign = float(np.sign(np.median(areas[: len(tris)])))
        self.background = self._remove_head()

    # -- construction --------------------------------------------------------------------
    def _build_mesh(self, face: np.ndarray, tris: np.ndarray):
        """Face points + rings around the oval; triangles oriented like the face's front side."""
        oval = face_oval_loop()
        centre = face[oval, :2].mean(axis=0)
        back = face[1, 2] + self.HEAD_DEPTH * self.face_width
        verts, alpha = [face], [np.ones(len(face))]
        loops = [np.array(oval)]
        n = len(face)
        spoke = face[oval, :2] - centre
        upward = np.maximum(0.0, -spoke[:, 1] / np.linalg.norm(spoke, axis=1))   # 1 at the top of the head
        for k, s in enumerate(self.RING_SCALES):
            scale = 1.0 + (s - 1.0) * (1.0 + self.HAIR_STRETCH * upward)
            xy = centre + scale[:, None] * spoke
            depth_frac = min(1.0, (s - 1.0) / (self.RING_SCALES[1] - 1.0))
            z = face[oval, 2] + depth_frac * np.maximum(back - face[oval, 2], 0.0)
            verts.append(np.column_stack([xy, z]))
            alpha.append(np.full(len(oval), 0.0 if k == len(self.RING_SCALES) - 1 else 1.0))
            loops.append(np.arange(n, n + len(oval)))
            n += len(oval)
        verts = np.vstack(verts)
        ring_tris = []
        for a, b in zip(loops[:-1], loops[1:]):
            for i in range(len(a)):
                j = (i + 1) % len(a)
                ring_tris += [(a[i], a[j], b[j]), (a[i], b[j], b[i])]
        ring_tris = np.array(ring_tris, np.int32)
        face_sign = np.sign(np.median(_signed_areas(verts[:, :2], tris)))
        flip = np.sign(_signed_areas(verts[:, :2], ring_tris)) != face_sign
        ring_tris[flip] = ring_tris[flip][:, ::-1]
        self.hole_polygon = verts[loops[2], :2]
        return verts, np.vstack([tris, ring_tris]), np.concatenate(alpha)

    def _remove_head(self) -> np.ndarray:
        """The frame with the region inside ring 2 (the head, hair, ears, neck) inpainted."""
        h, w = self.frame.shape[:2]
        hole = np.zeros((h, w), np.uint8)
        cv2.fillPoly(hole, [np.round(self.hole_polygon).astype(np.int32)], 255)
        hole = cv2.dilate(hole, np.ones((5, 5), np.uint8))
        # Inpaint at half size (a large hole; the fill is smooth anyway), keep the original outside.
        small = cv2.resize(self.frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
        filled = cv2.resize(cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA), (w, h),
                            interpolation=cv2.INTER_LINEAR)
        out = self.frame.copy()
        out[hole > 0] = filled[hole > 0]
        return out

    @property
    def ear_axis(self) -> np.ndarray:
        """The neutral head's ear-to-ear axis (person's right -> left) in the camera frame (x right,
        y up, z to the viewer): the mesh's own, from its points beside the ears. The source face is
        turned a little (the man of neck_rotation_front.mp4 by about 2 deg), so this is not exactly
        [1, 0, 0], and a coupled turn makes the difference matter."""
        right, left = self.EAR_POINTS
        axis = IMAGE_FROM_CAMERA @ (self.space_vertices[left] - self.space_vertices[right])
        return axis / np.linalg.norm(axis)

    # -- posing ------------------------------------------------------------------------
    def posed_vertices(self, R: np.ndarray) -> np.ndarray:
        """Mesh vertices (image coordinates) after rotating by R (camera frame) about the pivot,
        each by the fraction `weights` of the rotation angle (neck blending)."""
        rotvec = IMAGE_FROM_CAMERA @ Rotation.from_matrix(np.asarray(R, float)).as_rotvec()
        mats = Rotation.from_rotvec(self.weights[:, None] * rotvec[None, :]).as_matrix()
        rel = self.space_vertices - self.space_pivot
        return self._project(self.space_pivot + np.einsum("nij,nj->ni", mats, rel))

    def _unproject(self, pts: np.ndarray) -> np.ndarray:
        """Image points (x px, y px, z px) -> camera space (image axes: x right, y down, z away).

        Pinhole (fov_deg given): units are pixels at the face's distance, which is then the focal
        length f, so a point sits at depth f + z and (x, y) are unprojected along their rays.
        Orthographic (fov_deg=None): the image coordinates themselves."""
        if self.focal is None:
            return np.array(pts, float)
        depth = self.focal + pts[..., 2]
        xy = (pts[..., :2] - self.centre) * (depth / self.focal)[..., None]
        return np.concatenate([xy, depth[..., None]], axis=-1)

    def _project(self, space: np.ndarray) -> np.ndarray:
        """Camera space -> image (x px, y px, depth), the inverse of _unproject."""
        if self.focal is None:
            return space
        depth = space[..., 2]
        xy = self.centre + space[..., :2] * (self.focal / depth)[..., None]
        return np.concatenate([xy, (depth - self.focal)[..., None]], axis=-1)

    # -- drawing -------------------------------------------------------------------------
    def render(self, R: np.ndarray) -> np.ndarray:
        """The frame with the head posed by R (3x3, camera frame: x right, y up, z to viewer)."""
        dst = self.posed_vertices(R)
        h, w = self.frame.shape[:2]
        lo = np.maximum(np.floor(dst[:, :2].min(axis=0)).astype(int) - 1, 0)
        hi = np.minimum(np.ceil(dst[:, :2].max(axis=0)).astype(int) + 2, [w, h])
        if np.any(hi <= lo):
            return self.background.copy()
        tri_id = self._rasterise(dst, lo, hi)
        map_x, map_y, alpha = self._texture_maps(dst, tri_id, lo)
        texture = cv2.remap(self.frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out = self.background.copy()
        roi = out[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32)
        a = alpha[..., None]
        out[lo[1]:hi[1], lo[0]:hi[0]] = np.clip(a * texture + (1.0 - a) * roi + 0.5, 0, 255).astype(np.uint8)
        return out

    def _rasterise(self, dst: np.ndarray, lo, hi) -> np.ndarray:
        """Triangle index per ROI pixel (-1 = none): front-facing triangles, far to near."""
        tris = self.triangles
        visible = np.sign(_signed_areas(dst[:, :2], tris)) == self.front_sign
        order = np.argsort(-dst[tris, 2].mean(axis=1))      # z away: largest = farthest first
        tri_id = np.full((hi[1] - lo[1], hi[0] - lo[0]), -1, np.int32)
        fixed = np.round((dst[:, :2] - lo) * 16).astype(np.int32)   # 4 fractional bits
        for t in order:
            if visible[t]:
                cv2.fillConvexPoly(tri_id, fixed[tris[t]], int(t), lineType=cv2.LINE_8, shift=4)
        return tri_id

    def _texture_maps(self, dst: np.ndarray, tri_id: np.ndarray, lo):
        """Source coordinates and alpha per ROI pixel, by barycentric coordinates in its triangle."""
        tris = self.triangles
        d0, d1, d2 = (dst[tris[:, k], :2] for k in range(3))
        edges = np.stack([d1 - d0, d2 - d0], axis=2)                       # T x 2 x 2
        det = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
        det = np.where(np.abs(det) < 1e-9, 1e-9, det)
        inv = np.stack([np.stack([edges[:, 1, 1], -edges[:, 0, 1]], 1),
                        np.stack([-edges[:, 1, 0], edges[:, 0, 0]], 1)], 1) / det[:, None, None]
        ys, xs = np.nonzero(tri_id >= 0)
        t = tri_id[ys, xs]
        p = np.column_stack([xs + lo[0], ys + lo[1]]).astype(float) - d0[t]
        l12 = np.einsum("nij,nj->ni", inv[t], p)
        bary = np.column_stack([1.0 - l12.sum(1), l12])
        src = np.einsum("nk,nkj->nj", bary, self.src_xy[tris[t]])
        map_x = np.zeros(tri_id.shape, np.float32)
        map_y = np.zeros(tri_id.shape, np.float32)
        alpha = np.zeros(tri_id.shape, np.float32)
        map_x[ys, xs], map_y[ys, xs] = src[:, 0], src[:, 1]
        alpha[ys, xs] = np.clip(np.einsum("nk,nk->n", bary, self.alpha[tris[t]]), 0.0, 1.0)
        return map_x, map_y, alpha


# --------------------------------------------------------------------------------------------
# Script: contact sheet and evaluation grid
# --------------------------------------------------------------------------------------------

def _label(img, text):
    out = img.copy()
    cv2.putText(out, text, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(out, text, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    return out


CONTACT_POSES = [
    ("identity", np.eye(3)), ("sb +10", head_rotation(10)), ("sb +20", head_rotation(20)),
    ("sb +30", head_rotation(30)), ("sb +40", head_rotation(40)), ("sb -20", head_rotation(-20)),
    ("sb -40", head_rotation(-40)), ("sb20 turn15", head_rotation(20, 15)),
    ("sb20 turn25", head_rotation(20, 25)), ("sb20 turn35", head_rotation(20, 35)),
    ("turn -45", head_rotation(0, -45)), ("nod +15", head_rotation(0, 0, 15)),
    ("nod -15", head_rotation(0, 0, -15)), ("circle phi0 t25", circle_rotation(0, 25)),
    ("circle phi90 t25", circle_rotation(90, 25)), ("circle phi180 t25", circle_rotation(180, 25)),
]


def contact_sheet(renderer: HeadRenderer, path: Path, crop_scale: float = 3.2) -> Path:
    """A 4x4 grid of renders at CONTACT_POSES, cropped around the head."""
    cx, cy = renderer.pivot[0], renderer.pivot[1] - 0.9 * renderer.face_width
    half = crop_scale * renderer.face_width / 2
    h, w = renderer.frame.shape[:2]
    x0, x1 = int(max(cx - half, 0)), int(min(cx + half, w))
    y0, y1 = int(max(cy - half, 0)), int(min(cy + half, h))
    tiles = [_label(cv2.resize(renderer.render(R)[y0:y1, x0:x1], (360, 360)), name) for name, R in CONTACT_POSES]
    rows = [np.hstack(tiles[i:i + 4]) for i in range(0, 16, 4)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack(rows))
    return path


GRID_SIDE = (-40, -30, -20, -10, 0, 10, 20, 30, 40)
GRID_TURN = (0, 15, 25, 35, 45, 55)
GRID_NOD = (-15, 0, 15)


def _line_angle(a, b) -> float:
    """Image-plane angle of the line a -> b, degrees, counter-clockwise as seen (y up)."""
    return float(np.degrees(np.arctan2(-(b[1] - a[1]), b[0] - a[0])))


def grid_poses(turn_signs=(1,)) -> list[tuple[float, float, float]]:
    """(side_bend, turn, nod) for the evaluation grid, in a serpentine order (small steps)."""
    poses, flip = [], False
    for sign in turn_signs:
        for turn in GRID_TURN:
            for nod in GRID_NOD:
                sides = GRID_SIDE[::-1] if flip else GRID_SIDE
                poses += [(float(sb), float(sign * turn), float(nod)) for sb in sides]
                flip = not flip
    return poses


def evaluate_grid(renderer: HeadRenderer, model_dir=MODEL_DIR, turn_signs=(1,), steps: int = 3,
                  fps: float = 25.0) -> list[dict]:
    """Render the grid as one smooth video (`steps` in-between frames from pose to pose, starting
    from 10 identity frames) through FaceLandmarker + PoseLandmarker in VIDEO mode; at each grid
    pose also run FaceLandmarker in IMAGE mode (detector on that frame alone). One row per pose:
    truth, measured lateral flexion and image-plane roll (relative to the identity render),
    'face' (VIDEO) / 'face_image' (IMAGE) found, pose found, shoulder drift and visibility."""
    poses = grid_poses(turn_signs)
    rows = []
    with Detector(model_dir, video=True, fps=fps) as vid, Detector(model_dir, pose=False) as still:
        for _ in range(10):
            base = vid.face(renderer.render(np.eye(3)))
            vid.pose(renderer.render(np.eye(3)))
        base_lat, base_roll = measured_lateral_flexion(base.matrix), image_plane_roll(base.matrix)
        previous = np.zeros(3)
        for target in poses:
            target = np.array(target)
            for k in range(1, steps + 1):                     # in-between frames, then the pose
                params = previous + (target - previous) * k / steps
                img = renderer.render(head_rotation(*params))
                face, pose = vid.face(img), vid.pose(img)
            previous = target
            R = head_rotation(*target)
            row = dict(side_bend=target[0], turn=target[1], nod=target[2], truth=lateral_flexion_truth(R, renderer.ear_axis),
                       face=face is not None, face_image=still.face(img) is not None, pose=pose is not None)
            if face is not None:
                row["lat"] = measured_lateral_flexion(face.matrix) - base_lat
                row["roll"] = image_plane_roll(face.matrix) - base_roll
            if pose is not None:
                row["shoulder_vis"] = float(min(pose[LEFT_SHOULDER, 3], pose[RIGHT_SHOULDER, 3]))
                row["shoulder_roll"] = _line_angle(pose[RIGHT_SHOULDER, :2], pose[LEFT_SHOULDER, :2]) - \
                    _line_angle(*renderer.shoulders[::-1])
                row["shoulder_err"] = float(max(
                    np.linalg.norm(pose[LEFT_SHOULDER, :2] - renderer.shoulders[0]),
                    np.linalg.norm(pose[RIGHT_SHOULDER, :2] - renderer.shoulders[1])))
            rows.append(row)
    return rows


def _stats(errs):
    e = np.asarray(errs, float)
    if len(e) == 0:
        return "   n/a"
    return f"{np.mean(e):+6.1f} {np.mean(np.abs(e)):5.1f} {np.max(np.abs(e)):5.1f}"


def report(rows: list[dict], title: str) -> str:
    """Error tables (mean, mean |err|, max |err|, in deg) by turn and by nod, 3-D vs roll."""
    lines = [f"## {title}", "",
             "error = measured - truth (lateral_flexion_truth), deg: mean, mean|e|, max|e| (n = faces found)", "",
             "| turn | n | new 3-D asin(ear.y) | old image-plane roll | roll - nominal side_bend | lost (VIDEO) | lost (IMAGE) |",
             "|---|---|---|---|---|---|---|"]
    tag = lambda r: f"sb{r['side_bend']:g}/n{r['nod']:g}"  # noqa: E731
    for turn in sorted({r["turn"] for r in rows}, key=lambda t: (abs(t), t)):
        at = [r for r in rows if r["turn"] == turn]
        sel = [r for r in at if r["face"]]
        lost = ", ".join(tag(r) for r in at if not r["face"]) or "-"
        lost_image = ", ".join(tag(r) for r in at if not r["face_image"]) or "-"
        lines.append(f"| {turn:g} | {len(sel)} | {_stats([r['lat'] - r['truth'] for r in sel])} | "
                     f"{_stats([r['roll'] - r['truth'] for r in sel])} | "
                     f"{_stats([r['roll'] - r['side_bend'] for r in sel])} | {lost} | {lost_image} |")
    lines += ["", "| nod | n | new 3-D (turn <= 35) | old roll (turn <= 35) | new 3-D (all turns) | old roll (all) |",
              "|---|---|---|---|---|---|"]
    for nod in sorted({r["nod"] for r in rows}):
        sel = [r for r in rows if r["nod"] == nod and r["face"]]
        small = [r for r in sel if abs(r["turn"]) <= 35]
        lines.append(f"| {nod:g} | {len(sel)} | {_stats([r['lat'] - r['truth'] for r in small])} | "
                     f"{_stats([r['roll'] - r['truth'] for r in small])} | "
                     f"{_stats([r['lat'] - r['truth'] for r in sel])} | {_stats([r['roll'] - r['truth'] for r in sel])} |")
    pose_fail = [f"sb{r['side_bend']:g}/t{r['turn']:g}/n{r['nod']:g}" for r in rows if not r["pose"]]
    found = [r for r in rows if r["pose"]]
    lines += ["", f"pose found in {len(found)}/{len(rows)} renders; failures: {', '.join(pose_fail) or 'none'}"]
    if found:
        lines.append(f"shoulders (11, 12) never move in the renders; PoseLandmarker's drift: worst "
                     f"{max(r['shoulder_err'] for r in found):.1f} px, min visibility "
                     f"{min(r['shoulder_vis'] for r in found):.2f}; shoulder-line roll change (deg) by turn:")
        for turn in sorted({r["turn"] for r in found}, key=lambda t: (abs(t), t)):
            roll = [r["shoulder_roll"] for r in found if r["turn"] == turn]
            lines.append(f"  turn {turn:g}: mean|roll| {np.mean(np.abs(roll)):.1f}, max|roll| {np.max(np.abs(roll)):.1f}")
        big = [r for r in found if abs(r["side_bend"]) == 40 and r["turn"] == 0 and r["nod"] == 0]
        lines += [f"  pure side-bend {r['side_bend']:+g}: shoulder-line roll {r['shoulder_roll']:+.1f}" for r in big]
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", nargs="+", default=list(SOURCES))
    ap.add_argument("--no-grid", action="store_true", help="contact sheets only")
    ap.add_argument("--both-turns", action="store_true", help="also evaluate turns to the left")
    ap.add_argument("--fov", type=float, default=MEDIAPIPE_VERTICAL_FOV_DEG,
                    help="vertical field of view of the render camera, deg (0 = orthographic)")
    args = ap.parse_args(argv)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    out_dir = REPO / "test-output"
    with Detector() as det:
        for name in args.sources:
            frame, face, ls, rs = load_source(name, det)
            t0 = time.perf_counter()
            renderer = HeadRenderer(frame, face, ls, rs, fov_deg=args.fov or None)
            t1 = time.perf_counter()
            ident = renderer.render(np.eye(3))
            t2 = time.perf_counter()
            for _ in range(5):
                renderer.render(head_rotation(20, 25, 10))
            t3 = time.perf_counter()
            diff = np.abs(ident.astype(int) - frame.astype(int))
            print(f"[{name}] {frame.shape[1]}x{frame.shape[0]}: setup {t1 - t0:.2f} s, render {(t3 - t2) / 5 * 1000:.0f} ms;"
                  f" identity mean|diff| {diff.mean():.3f}, max {diff.max()}, pixels >8: {(diff.max(2) > 8).sum()}")
            suffix = ("" if name == "man" else f"_{name}") + ("" if args.fov else "_ortho")
            sheet = out_dir / f"head_render_contact{suffix}.png"
            print("contact sheet:", contact_sheet(renderer, sheet))
            if args.no_grid:
                continue
            rows = evaluate_grid(renderer, turn_signs=(1, -1) if args.both_turns else (1,))
            (SCRATCH / f"grid_{name}{suffix}.json").write_text(json.dumps(rows, indent=1))
            camera = f"pinhole {args.fov:g} deg vertical FOV" if args.fov else "orthographic"
            print(report(rows, f"{name}: {SOURCES[name][0]} frame {SOURCES[name][1]}, {camera}"))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
