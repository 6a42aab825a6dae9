"""The ankle's true vertical in a live session: the camera profile's measured roll when it has
one, else the roll of the scene's straight lines read from a few frames of the setup phase (the
person standing still in view), else a level camera assumed and said so. And the scale at the
leg for the knee over toe in cm, from a target beside the foot in those same setup frames."""

from __future__ import annotations

import numpy as np

from romcam.calibration.scale import parse_scale_target, scale_from_images
from romcam.calibration.scene_level import estimate_roll
from romcam.measure.ankle import Vertical
from romcam.measure.kneewall import Scale


class SetupVertical:
    """Collects up to ``frames`` frames, ``every_s`` apart, while the session is in setup, then
    estimates the scene's roll once (:meth:`estimate`, about 0.1-0.3 s of work): as soon as they
    are read (:attr:`ready`, 0.6 s into setup), or when setup ends first."""

    def __init__(self, frames: int = 3, every_s: float = 0.3):
        self.frames, self.every_s = frames, every_s
        self.images: list[np.ndarray] = []
        self.poses: list[np.ndarray | None] = []
        self._last_t = -np.inf

    def add(self, t: float, image: np.ndarray, pose: np.ndarray | None) -> None:
        if len(self.images) < self.frames and t - self._last_t >= self.every_s:
            self.images.append(image.copy())
            self.poses.append(None if pose is None else np.asarray(pose).copy())
            self._last_t = t

    @property
    def ready(self) -> bool:
        """All its frames are read: the roll can be estimated now."""
        return len(self.images) >= self.frames

    def estimate(self) -> Vertical:
        if not self.images:
            return Vertical(detail="no frame of the setup phase to read the scene from")
        e = estimate_roll(self.images, self.poses)
        return Vertical.from_scene(e.roll_deg, e.confidence, e.confident)


def profile_vertical(profile) -> Vertical | None:
    """A profile with a measured roll: the landmarks are levelled with it already."""
    if profile is not None and getattr(profile, "roll_deg", None) is not None:
        return Vertical.from_profile(profile.roll_deg)
    return None


class SetupScale:
    """Collects up to ``frames`` frames of the setup phase, ``every_s`` apart, and reads the scale
    target (``--scale-target``) on them once setup is over (:meth:`estimate`)."""

    def __init__(self, target_text: str | None, frames: int = 5, every_s: float = 0.2):
        self.target = parse_scale_target(target_text)
        self.frames, self.every_s = frames, every_s
        self.images: list[np.ndarray] = []
        self._last_t = -np.inf

    def add(self, t: float, image: np.ndarray) -> None:
        if self.target.kind != "none" and len(self.images) < self.frames and t - self._last_t >= self.every_s:
            self.images.append(image.copy())
            self._last_t = t

    def estimate(self, roll_deg: float = 0.0, profile=None) -> Scale:
        return scale_from_images(self.images, self.target, roll_deg=roll_deg, profile=profile,
                                 where=f"; looked at {len(self.images)} frames of the setup")

    def give_to(self, measurer, profile=None) -> str:
        """Read the scale along the measurer's vertical (set just before, at the end of setup; the
        target's corners corrected as the landmarks are), hand it to the measurer, say what it is."""
        measurer.scale = self.estimate(measurer.roll_deg, profile)
        return measurer.scale.describe()
