"""Live capture that never waits on inference, and a fake camera that replays a video at real pace.

:class:`LatestFrameCapture` reads a live source on its own thread and keeps only the newest
frame: when inference is slower than the camera, older frames are dropped (and counted)
instead of the view lagging further and further behind the person.

:class:`ReplayCamera` behaves like a webcam for tests and benchmarks: it releases the frames of
a real video at the pace of their timestamps, whether or not anybody is keeping up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from collections.abc import Iterator

from romcam.capture.sources import Frame, FrameSource, SourceInfo, VideoFileSource


@dataclass(frozen=True)
class Captured:
    frame: Frame
    captured_at: float    # time.monotonic() when the frame arrived


class LatestFrameCapture:
    """Context manager: ``get()`` returns the newest frame not yet taken (waiting for one if
    needed), or None once the source has ended."""

    def __init__(self, source: FrameSource):
        self.source = source
        self.captured = 0
        self.dropped = 0
        self.error: BaseException | None = None
        self._slot: Captured | None = None
        self._ended = False
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="romcam-capture", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            for frame in self.source:
                item = Captured(frame, time.monotonic())
                with self._cond:
                    self.captured += 1
                    if self._slot is not None:
                        self.dropped += 1
                    self._slot = item
                    self._cond.notify()
                if self._stop.is_set():
                    break
        except BaseException as exc:  # reported to the caller, not lost in a thread
            self.error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Captured | None:
        with self._cond:
            self._cond.wait_for(lambda: self._slot is not None or self._ended, timeout)
            item, self._slot = self._slot, None
            return item

    @property
    def ended(self) -> bool:
        return self._ended

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


class ReplayCamera(FrameSource):
    """A video file played like a camera: frame k becomes available at its own timestamp after
    the start, on the wall clock. Frames nobody took in time are simply gone, as with a webcam."""

    def __init__(self, path, *, mirrored: bool = False):
        self._video = VideoFileSource(path, mirrored=mirrored)
        i = self._video.info
        self.info = SourceInfo(f"replay of {i.name}", i.width, i.height, i.fps, None, live=True,
                               warnings=i.warnings)

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        for frame in self._video:
            delay = start + frame.t_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield frame

    def close(self) -> None:
        self._video.close()
