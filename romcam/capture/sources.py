"""Frame sources: a video file, a webcam, a folder of images.

Every source yields :class:`Frame` objects with a timestamp in seconds taken from the
source itself (the container's presentation time for files, the capture clock for a
webcam, index / fps for an image folder), never the wall clock of the analysis.

Frames are always delivered *unmirrored*: a source opened with ``mirrored=True`` (a
selfie-style recording) is flipped back before anything is measured, so MediaPipe's
``left_*`` landmarks are the person's left side. See docs/design.md, "Sides and mirroring".
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

import cv2
import numpy as np

from romcam.errors import RomcamError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class Frame:
    index: int          # position in the source, from 0
    t_s: float          # timestamp in seconds, from the source
    image: np.ndarray   # BGR, uint8, unmirrored


@dataclass(frozen=True)
class SourceInfo:
    name: str
    width: int
    height: int
    fps: float               # nominal frame rate (0 when unknown, e.g. some webcams)
    frame_count: int | None  # None for live sources
    live: bool
    warnings: tuple[str, ...] = ()   # what the source's header got wrong, one line each


class FrameSource:
    """Base class: iterate to get frames; use as a context manager to release the device."""

    info: SourceInfo

    def __iter__(self) -> Iterator[Frame]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def avi_header_rate(path: str | Path) -> float | None:
    """The frame rate an AVI file's video stream header declares (``dwRate / dwScale``; 0.0 when
    either is 0), or None for a file that is not an AVI or has no video stream header."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)                     # the header list comes first
    if head[:4] != b"RIFF" or head[8:12] != b"AVI ":
        return None
    at = head.find(b"strh")
    while at >= 0 and at + 36 <= len(head):
        if head[at + 8:at + 12] == b"vids":
            scale, rate = struct.unpack_from("<II", head, at + 28)
            return rate / scale if rate and scale else 0.0
        at = head.find(b"strh", at + 4)
    return None


def _unmirror(image: np.ndarray, mirrored: bool) -> np.ndarray:
    return cv2.flip(image, 1) if mirrored else image


class VideoFileSource(FrameSource):
    """Decode a video file, optionally only frames ``[start, stop)``."""

    def __init__(self, path: str | Path, *, mirrored: bool = False, start: int = 0,
                 stop: int | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise RomcamError(f"video file {self.path} does not exist")
        if not self.path.is_file():
            raise RomcamError(f"{self.path} is not a file")
        try:
            with open(self.path, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            raise RomcamError(f"cannot read {self.path}: {exc.strerror}") from None
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise RomcamError(f"{self.path} is not a video OpenCV can decode (wrong file, or damaged?)")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise RomcamError(f"{self.path} contains no video frames (not a video, or damaged?)")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        warnings = ()
        if avi_header_rate(self.path) == 0.0:          # FFmpeg then assumes 25 fps, without a word
            warnings = (f"the video's header gives its frame rate as 0, so it is read at {fps:g} frames per "
                        f"second, a guess: its times, speeds and holds are only right if it was filmed at "
                        f"that rate",)
        self.mirrored = mirrored
        self.start, self.stop = start, stop
        self.info = SourceInfo(
            name=str(self.path), width=first.shape[1], height=first.shape[0],
            fps=fps if 1.0 <= fps <= 1000.0 else 0.0,
            frame_count=count if count > 0 else None, live=False, warnings=warnings,
        )
        if start:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            self._pending = None
        else:
            self._pending = first

    def _fallback_t(self, index: int) -> float:
        return index / (self.info.fps or 30.0)

    def __iter__(self) -> Iterator[Frame]:
        index = self.start
        last_t = -1.0
        while self.stop is None or index < self.stop:
            if self._pending is not None:
                ok, image = True, self._pending
                self._pending = None
            else:
                ok, image = self._cap.read()
            if not ok or image is None:
                return
            t_s = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if index > 0 and t_s <= 0.0:  # container without timestamps
                t_s = self._fallback_t(index)
            if t_s <= last_t:  # keep time strictly increasing whatever the container says
                t_s = last_t + 1e-3
            last_t = t_s
            yield Frame(index, t_s, _unmirror(image, self.mirrored))
            index += 1

    def close(self) -> None:
        self._cap.release()


class WebcamSource(FrameSource):
    """A live camera by OpenCV index. Timestamps come from a monotonic clock at capture."""

    def __init__(self, index: int, *, mirrored: bool = False, width: int | None = None,
                 height: int | None = None):
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise RomcamError(
                f"webcam {index} did not open; check that a camera is connected and not in use "
                "by another program, or try another index (--source 1)"
            )
        if width and height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise RomcamError(f"webcam {index} opened but gives no frames; is another program using it?")
        self.mirrored = mirrored
        self._t0 = time.monotonic()
        self.info = SourceInfo(
            name=f"webcam {index}", width=first.shape[1], height=first.shape[0],
            fps=float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0), frame_count=None, live=True,
        )

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        while True:
            ok, image = self._cap.read()
            if not ok or image is None:
                return  # the camera went away; the caller decides what that means
            yield Frame(index, time.monotonic() - self._t0, _unmirror(image, self.mirrored))
            index += 1

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource(FrameSource):
    """Still images in a folder, in name order, at a nominal ``fps`` (default 30)."""

    def __init__(self, folder: str | Path, *, fps: float = 30.0, mirrored: bool = False,
                 start: int = 0, stop: int | None = None):
        self.folder = Path(folder)
        self.paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise RomcamError(f"folder {self.folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        first = cv2.imread(str(self.paths[0]))
        if first is None:
            raise RomcamError(f"{self.paths[0]} is not an image OpenCV can read")
        self.fps, self.mirrored, self.start, self.stop = fps, mirrored, start, stop
        self.info = SourceInfo(
            name=str(self.folder), width=first.shape[1], height=first.shape[0], fps=fps,
            frame_count=len(self.paths), live=False,
        )

    def __iter__(self) -> Iterator[Frame]:
        for index in range(self.start, len(self.paths) if self.stop is None else min(self.stop, len(self.paths))):
            image = cv2.imread(str(self.paths[index]))
            if image is None:
                raise RomcamError(f"{self.paths[index]} is not an image OpenCV can read")
            yield Frame(index, index / self.fps, _unmirror(image, self.mirrored))


def is_webcam(spec: str | int | Path) -> bool:
    """Whether ``spec`` names a webcam: digits that are not an existing file or folder (a folder
    named ``2024`` is that folder, not webcam 2024)."""
    text = str(spec)
    return text.isdigit() and not Path(text).exists()


def open_source(spec: str | int | Path, *, mirrored: bool = False, start: int = 0,
                stop: int | None = None, fps: float = 30.0) -> FrameSource:
    """Open ``spec``: a webcam index ("0"), a folder of images, or a video file; an existing
    path is always the file or folder."""
    text = str(spec)
    if is_webcam(text):
        if start or stop is not None:
            raise RomcamError("a webcam cannot be read in parts")
        return WebcamSource(int(text), mirrored=mirrored)
    path = Path(text)
    if path.is_dir():
        return ImageFolderSource(path, fps=fps, mirrored=mirrored, start=start, stop=stop)
    return VideoFileSource(path, mirrored=mirrored, start=start, stop=stop)
