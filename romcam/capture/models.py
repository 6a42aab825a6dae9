"""Where MediaPipe model bundles are found, downloaded and verified.

Search order for a bundle (e.g. ``pose_landmarker_full.task``):

1. ``--model-dir DIR`` (the ``model_dir`` argument): the file must be there;
2. the ``ROMCAM_MODEL_DIR`` environment variable: the file must be there;
3. the per-user cache (``romcam.dirs.cache_dir()/models``);
4. otherwise it is downloaded from MediaPipe's official location into that cache,
   with a progress bar, and verified before it is used.

A bundle is verified by its structure, not a checksum pin: it must be a zip archive
holding the ``.tflite`` entries that MediaPipe expects for that task. That catches a
truncated download and an HTML error page saved under a ``.task`` name, and accepts
the rebuilt test bundles whose bytes differ from the official ones.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from romcam.dirs import cache_dir
from romcam.errors import RomcamError

OFFICIAL_BASE_URL = "https://storage.googleapis.com/mediapipe-models"
BASE_URL_ENV = "ROMCAM_MODEL_BASE_URL"
MODEL_DIR_ENV = "ROMCAM_MODEL_DIR"

POSE_MODELS = ("lite", "full", "heavy")


@dataclass(frozen=True)
class ModelSpec:
    filename: str
    url_path: str  # below the base URL
    required_entries: tuple[str, ...]


def pose_spec(variant: str) -> ModelSpec:
    if variant not in POSE_MODELS:
        raise RomcamError(f"unknown pose model {variant!r}; choose one of: {', '.join(POSE_MODELS)}")
    name = f"pose_landmarker_{variant}"
    return ModelSpec(
        filename=f"{name}.task",
        url_path=f"pose_landmarker/{name}/float16/latest/{name}.task",
        required_entries=("pose_detector.tflite", "pose_landmarks_detector.tflite"),
    )


FACE_SPEC = ModelSpec(
    filename="face_landmarker.task",
    url_path="face_landmarker/face_landmarker/float16/latest/face_landmarker.task",
    required_entries=(
        "face_detector.tflite",
        "face_landmarks_detector.tflite",
        "geometry_pipeline_metadata_landmarks.binarypb",
    ),
)


def verify_bundle(path: Path, spec: ModelSpec) -> None:
    """Raise RomcamError unless ``path`` is a complete MediaPipe bundle for ``spec``."""
    what = f"model file {path}"
    if not path.is_file():
        raise RomcamError(f"{what} does not exist")
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml")):
        raise RomcamError(
            f"{what} is a web page, not a model (a failed download?); delete it and run again"
        )
    if not zipfile.is_zipfile(path):
        raise RomcamError(
            f"{what} is not a MediaPipe .task bundle (not a zip archive; truncated download?); "
            "delete it and run again"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [e for e in spec.required_entries if e not in names]
            if missing:
                raise RomcamError(
                    f"{what} is not a {spec.filename} bundle (missing {', '.join(missing)}); "
                    "check --model / --model-dir"
                )
            bad = zf.testzip()
    except zipfile.BadZipFile as exc:
        raise RomcamError(f"{what} is a damaged zip archive ({exc}); delete it and run again") from None
    if bad is not None:
        raise RomcamError(f"{what} is damaged (entry {bad} fails its CRC); delete it and run again")


def _download(url: str, dest: Path, spec: ModelSpec, progress: bool) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, os.fdopen(fd, "wb") as out:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=total, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=f"downloading {spec.filename}", disable=not progress, leave=False,
                ) as bar:
                    while chunk := resp.read(1 << 16):
                        out.write(chunk)
                        bar.update(len(chunk))
            if total is not None and tmp.stat().st_size != total:
                raise RomcamError(
                    f"download of {url} was cut short ({tmp.stat().st_size} of {total} bytes); run again"
                )
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RomcamError(
                f"could not download {spec.filename} from {url} ({reason}); "
                f"connect to the internet, or put the file in a folder and pass --model-dir "
                f"(or set {MODEL_DIR_ENV})"
            ) from None
        try:
            verify_bundle(tmp, spec)
        except RomcamError as exc:
            raise RomcamError(f"downloaded file from {url} is not usable: {exc}") from None
        os.replace(tmp, dest)  # atomic: the cache never holds a half-written bundle
    finally:
        if tmp.exists():
            tmp.unlink()


def resolve_model(spec: ModelSpec, model_dir: str | os.PathLike | None = None,
                  *, download: bool = True, progress: bool = True) -> Path:
    """Return the path of a verified bundle for ``spec`` (see the module docstring)."""
    for source, folder in (("--model-dir", model_dir), (MODEL_DIR_ENV, os.environ.get(MODEL_DIR_ENV))):
        if folder:
            folder = Path(folder)
            if not folder.is_dir():
                raise RomcamError(f"model folder {folder} (from {source}) does not exist")
            path = folder / spec.filename
            if not path.is_file():
                raise RomcamError(
                    f"{spec.filename} is not in {folder} (from {source}); "
                    f"download it from {OFFICIAL_BASE_URL}/{spec.url_path} into that folder"
                )
            verify_bundle(path, spec)
            return path

    cached = cache_dir() / "models" / spec.filename
    if cached.is_file():
        verify_bundle(cached, spec)
        return cached
    if not download:
        raise RomcamError(f"{spec.filename} is not in the cache {cached.parent}; pass --model-dir")
    base = os.environ.get(BASE_URL_ENV, OFFICIAL_BASE_URL).rstrip("/")
    _download(f"{base}/{spec.url_path}", cached, spec, progress)
    return cached
