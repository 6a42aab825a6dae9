"""Camera profiles: a named calibration (intrinsics, measured camera roll) saved as JSON, found by name or path."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from romcam.calibration.board import BoardSpec
from romcam.calibration.intrinsics import CalibrationResult
from romcam.calibration.jsonfile import check_format, json_text, read_json
from romcam.dirs import config_dir
from romcam.errors import RomcamError
from romcam.files import atomic_write_bytes
from romcam.timestamps import now_iso

PROFILE_FORMAT = "romcam-camera-profile"
PROFILES_SUBDIR = "cameras"
REPO_PROFILES = Path("calibration") / "profiles"


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass
class CameraProfile:
    """What romcam knows about one camera at one resolution (saved as JSON).

    ``roll_deg``: how far the world's verticals lean in the image, counter-clockwise positive as
    seen (so a plumb line shows at direction 90 + roll_deg); None until ``romcam calibrate level``.
    The camera itself is then turned the other way (clockwise seen from behind it).
    """

    name: str
    width: int
    height: int
    camera_matrix: np.ndarray
    dist_coeffs: np.ndarray
    rms_px: float
    created: str
    roll_deg: float | None = None
    roll_measured: str | None = None
    views: int | None = None
    std_px: dict | None = None
    coverage: float | None = None
    board: dict | None = None
    notes: str = ""

    def to_dict(self) -> dict:
        return {
            "format": PROFILE_FORMAT, "version": 1, "name": self.name,
            "width": int(self.width), "height": int(self.height),
            "camera_matrix": np.asarray(self.camera_matrix, dtype=float).round(6).tolist(),
            "dist_coeffs": np.asarray(self.dist_coeffs, dtype=float).ravel().round(8).tolist(),
            "dist_model": "OpenCV k1 k2 p1 p2 k3",
            "rms_px": round(float(self.rms_px), 4), "created": self.created,
            "roll_deg": None if self.roll_deg is None else round(float(self.roll_deg), 3),
            "roll_measured": self.roll_measured, "views": self.views,
            "std_px": None if self.std_px is None else {k: round(float(v), 3) for k, v in self.std_px.items()},
            "coverage": None if self.coverage is None else round(float(self.coverage), 3),
            "board": self.board, "notes": self.notes,
        }

    def to_json(self) -> str:
        return json_text(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict, source="camera profile") -> CameraProfile:
        check_format(data, source, PROFILE_FORMAT, "romcam camera profile",
                      "make one with `romcam calibrate camera`")
        try:
            k = np.array(data["camera_matrix"], dtype=float)
            d = np.array(data["dist_coeffs"], dtype=float).ravel()
            width, height = int(data["width"]), int(data["height"])
            profile = cls(
                name=str(data["name"]), width=width, height=height, camera_matrix=k, dist_coeffs=d,
                rms_px=float(data["rms_px"]), created=str(data["created"]),
                roll_deg=None if data.get("roll_deg") is None else float(data["roll_deg"]),
                roll_measured=data.get("roll_measured"), views=data.get("views"),
                std_px=data.get("std_px"), coverage=data.get("coverage"), board=data.get("board"),
                notes=str(data.get("notes") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RomcamError(f"{source} is a damaged camera profile ({exc!r} missing or wrong); "
                              "make it again with `romcam calibrate camera`") from None
        problem = _profile_problem(profile)
        if problem:
            raise RomcamError(f"{source} is a damaged camera profile ({problem}); "
                              "make it again with `romcam calibrate camera`")
        return profile


def _profile_problem(p: CameraProfile) -> str | None:
    k = p.camera_matrix
    if p.width <= 0 or p.height <= 0:
        return f"size {p.width}x{p.height}"
    if k.shape != (3, 3) or not np.all(np.isfinite(k)):
        return "camera_matrix is not a 3x3 matrix of numbers"
    if k[0, 0] <= 0 or k[1, 1] <= 0 or not np.allclose(k[2], [0, 0, 1]):
        return "camera_matrix is not a camera matrix (fx, fy > 0, last row 0 0 1)"
    if p.dist_coeffs.size not in (4, 5, 8, 12, 14) or not np.all(np.isfinite(p.dist_coeffs)):
        return "dist_coeffs must be 4, 5, 8, 12 or 14 numbers"
    if not math.isfinite(p.rms_px):
        return "rms_px is not a number"
    return None


def profile_from_calibration(result: CalibrationResult, name: str, spec: BoardSpec | None = None,
                             notes: str = "") -> CameraProfile:
    """A profile (not yet saved) from a calibration result."""
    check_profile_name(name)
    return CameraProfile(
        name=name, width=result.image_size[0], height=result.image_size[1],
        camera_matrix=result.camera_matrix, dist_coeffs=result.dist_coeffs, rms_px=result.rms_px,
        created=now_iso(), views=len(result.views), std_px=result.std_px, coverage=result.coverage,
        board=None if spec is None else spec.to_dict(), notes=notes,
    )


def check_profile_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise RomcamError(f"profile name {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
                          "(up to 64, starting with a letter or digit), e.g. --name desk-webcam")
    return name


def profile_dirs() -> list[Path]:
    """Where profile names are looked up, in order: the per-user folder, then ./calibration/profiles."""
    return [config_dir() / PROFILES_SUBDIR, REPO_PROFILES]


def _looks_like_path(text: str) -> bool:
    return text.lower().endswith(".json") or "/" in text or os.sep in text


def find_profile_path(name_or_path: str | Path) -> Path:
    """The file a profile argument means: a path (``x.json``, ``dir/x.json``) or a NAME looked up
    in :func:`profile_dirs`. RomcamError when there is none."""
    text = str(name_or_path)
    if _looks_like_path(text):
        path = Path(text)
        if not path.is_file():
            raise RomcamError(f"camera profile file {path} does not exist; give a profile name or the path "
                              "of a JSON file made by `romcam calibrate camera`")
        return path
    for folder in profile_dirs():
        path = folder / f"{text}.json"
        if path.is_file():
            return path
    known = sorted({p.stem for folder in profile_dirs() if folder.is_dir() for p in folder.glob("*.json")})
    raise RomcamError(
        f"no camera profile named {text!r} in {' or '.join(str(d.absolute()) for d in profile_dirs())}"
        + (f" (known: {', '.join(known)})" if known else "")
        + f"; make one with `romcam calibrate camera --name {text}`")


def load_profile(name_or_path: str | Path) -> CameraProfile:
    """A profile by path (``x.json``, ``dir/x.json``) or by NAME (see :func:`profile_dirs`)."""
    path = find_profile_path(name_or_path)
    return CameraProfile.from_dict(read_json(path, "camera profile"), source=path)


def store_roll(name_or_path: str | Path, roll_deg: float) -> Path:
    """Record a measured camera roll in an existing profile file (same file, atomically)."""
    path = find_profile_path(name_or_path)
    profile = CameraProfile.from_dict(read_json(path, "camera profile"), source=path)
    profile.roll_deg, profile.roll_measured = float(roll_deg), now_iso()
    atomic_write_bytes(path, profile.to_json().encode("utf-8"))
    return path


def save_profile(profile: CameraProfile, folder: str | Path | None = None, overwrite: bool = False) -> Path:
    """Write ``profile`` to ``folder/NAME.json`` (default: the per-user config folder), atomically.

    A file already there is replaced only if it holds the same profile or ``overwrite`` is set.
    """
    check_profile_name(profile.name)
    problem = _profile_problem(profile)
    if problem:
        raise RomcamError(f"refusing to save camera profile {profile.name!r}: {problem}")
    folder = Path(folder) if folder is not None else config_dir() / PROFILES_SUBDIR
    path = folder / f"{profile.name}.json"
    if path.exists() and not overwrite:
        try:
            existing = CameraProfile.from_dict(read_json(path, "camera profile"), source=path)
        except RomcamError:
            raise RomcamError(f"{path} exists and is not a camera profile; move it away or choose another "
                              "--name (nothing was overwritten)") from None
        if existing.to_dict() != profile.to_dict():
            raise RomcamError(
                f"a camera profile named {profile.name!r} already exists at {path} (made {existing.created}, "
                f"{existing.width}x{existing.height}); choose another --name or pass --overwrite to replace it")
    atomic_write_bytes(path, profile.to_json().encode("utf-8"))
    return path
