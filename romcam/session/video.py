"""A recorded video measured: the one entry used by ``romcam analyze``, a recorded visit
(``--phases``) and, for the parts that apply (the camera profile, the models), a live session.

:func:`check_video` does the quick checks before any long work (the video opens, the camera
profile loads and fits its size, the ankle's scale target parses); :func:`measure_video` then
resolves the models, extracts the landmarks of every frame (two cores, progress bar), undistorts
them with the profile, refuses a video without a person (one-line :class:`RomcamError`), says
when the file ended early, and for shin joints (the ankle) finds the true vertical (the
profile's measured roll, else the scene's straight lines) and the scale at the leg.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from romcam.capture.landmarks import FrameLandmarks
from romcam.capture.pipeline import ModelChoice, extract_landmarks
from romcam.capture.sources import SourceInfo, open_source
from romcam.errors import RomcamError
from romcam.measure.ankle import Vertical, is_shin_joint
from romcam.measure.joints import Joint

if TYPE_CHECKING:
    from romcam.calibration.profiles import CameraProfile
    from romcam.calibration.scale import ScaleTarget
    from romcam.measure.kneewall import Scale


@dataclass(frozen=True)
class VideoOptions:
    """How a video is read: the pose model, the camera profile, and for the ankle the scale target."""
    model: str = "full"
    model_dir: str | None = None
    mirrored: bool = False
    camera_profile: str | None = None     # a profile name or path (romcam calibrate camera)
    scale_target: str | None = "board"    # shin joints: what gives the scale at the leg
    workers: int = 2
    progress: bool = True
    on_progress: Callable[[int, int | None], None] | None = field(default=None, compare=False)
    """Called with (frames done, frames in the header or None) while the landmarks are extracted."""


@dataclass(frozen=True)
class VideoCheck:
    """What the quick checks found: the video's size, rate and length, the profile loaded."""
    info: SourceInfo
    profile: CameraProfile | None = None
    scale_target: ScaleTarget | None = None

    @property
    def duration_s(self) -> float | None:
        i = self.info
        return i.frame_count / i.fps if i.frame_count and i.fps else None


@dataclass
class VideoMeasurement:
    """Every frame's landmarks (undistorted when a profile was given) and what was found on the way."""
    source: str
    info: SourceInfo
    landmarks: list[FrameLandmarks]
    profile: CameraProfile | None = None
    warnings: list[str] = field(default_factory=list)   # e.g. the file ended early
    vertical: Vertical | None = None                     # shin joints: the true vertical
    scale: Scale | None = None                           # shin joints: mm per pixel at the leg

    @property
    def duration_s(self) -> float | None:
        return VideoCheck(self.info).duration_s


def load_checked_profile(name_or_path: str | None, width: int, height: int) -> CameraProfile | None:
    """The camera profile, loaded and checked against the frame size (None when not given)."""
    if not name_or_path:
        return None
    from romcam.calibration import load_profile, scaled_camera_matrix

    profile = load_profile(name_or_path)
    scaled_camera_matrix(profile, width, height)
    return profile


def resolve_models(joint: Joint, options: VideoOptions) -> ModelChoice:
    """The pose model (and the face model for head joints), found or downloaded."""
    return ModelChoice.resolve(options.model, joint.needs_face, options.model_dir, progress=options.progress)


def check_video(source: str, joint: Joint, options: VideoOptions) -> VideoCheck:
    """The checks that fail at once, before the long work: the video opens, the profile loads and
    fits its frame size, the scale target parses (used by shin joints)."""
    with open_source(source, mirrored=options.mirrored) as probe:
        info = probe.info
    profile = load_checked_profile(options.camera_profile, info.width, info.height)
    from romcam.calibration.scale import parse_scale_target

    return VideoCheck(info, profile, parse_scale_target(options.scale_target))


def decoded_short(decoded: int, expected: int | None, last_t_s: float | None = None, fps: float = 0.0) -> bool:
    """Whether a file ended before its header says: fewer frames decoded than the header's count
    (beyond 2 frames or 2 %) and, when the last frame's time and the nominal rate are known, the
    frames also ending before the header's length (its count at that rate) by as much. A file with
    a variable frame rate holds fewer frames than its length times its nominal rate (the count a
    Matroska file's readers estimate) and still reaches its end."""
    if not (bool(expected) and decoded < expected - max(2, 0.02 * expected)):
        return False
    if last_t_s is None or not fps:
        return True
    length_s, reached_s = expected / fps, last_t_s + 1.0 / fps
    return reached_s < length_s - max(2.0 / fps, 0.02 * length_s)


def ended_early(decoded: int, expected: int | None, last_t_s: float | None = None, fps: float = 0.0) -> str | None:
    """The warning for a file that ended before its header says (:func:`decoded_short`), else None."""
    if decoded_short(decoded, expected, last_t_s, fps):
        return (f"the video file ended early: {decoded} of {expected} frames could be decoded "
                f"(truncated or damaged?)")
    return None


def measure_video(source: str, joint: Joint, options: VideoOptions = VideoOptions(),
                  checked: VideoCheck | None = None) -> VideoMeasurement:
    """Landmarks of every frame of ``source`` for ``joint``, with the checks and, for shin joints,
    the vertical and the scale. ``checked``: :func:`check_video`'s result when already done."""
    checked = checked or check_video(source, joint, options)
    models = resolve_models(joint, options)
    landmarks, info = extract_landmarks(source, models, mirrored=options.mirrored, workers=options.workers,
                                        progress=options.progress, on_progress=options.on_progress)
    profile = checked.profile
    if profile is not None:
        from romcam.calibration import undistort_series
        landmarks = undistort_series(landmarks, profile, info.width, info.height)
    if not any(lm.pose is not None for lm in landmarks):
        raise RomcamError(f"no person was found in any of the {len(landmarks)} frames of {source}, so nothing "
                          f"was measured (check that this is the right video, with the person in view)")
    out = VideoMeasurement(str(source), info, landmarks, profile, warnings=list(info.warnings))
    if (early := ended_early(len(landmarks), info.frame_count, landmarks[-1].t_s, info.fps)) is not None:
        out.warnings.append(early)
    if is_shin_joint(joint):
        out.vertical = video_vertical(source, landmarks, profile, options.mirrored)
        out.scale = _scale(source, checked.scale_target, out.vertical, profile, options.mirrored)
    return out


def video_vertical(source: str, landmarks: list[FrameLandmarks], profile, mirrored: bool) -> Vertical:
    """The true vertical: the profile's measured roll (the landmarks are already levelled with
    it), else the roll of the scene's straight lines (a level camera assumed when unsure)."""
    if profile is not None and profile.roll_deg is not None:
        return Vertical.from_profile(profile.roll_deg)
    from romcam.calibration.scene_level import estimate_video_roll

    e = estimate_video_roll(source, [lm.pose for lm in landmarks], mirrored=mirrored)
    return Vertical.from_scene(e.roll_deg, e.confidence, e.confident)


def _scale(source, target, vertical: Vertical, profile, mirrored: bool):
    """The scale at the leg (knee over toe in cm): the target read on the first seconds."""
    from romcam.calibration.scale import parse_scale_target, scale_from_video

    return scale_from_video(source, target or parse_scale_target(None), mirrored=mirrored, profile=profile,
                            roll_deg=vertical.roll_deg)
