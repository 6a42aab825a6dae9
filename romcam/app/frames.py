"""The newest-frame worker behind a WebSocket.

Frames arrive from the browser faster than they may be analysed; the receiving side puts each
into a one-frame slot (:meth:`FrameWorker.put`): a frame still waiting there is replaced, and
counted as dropped, never queued. A worker thread takes the newest frame, runs it through the
handler (landmarks, engine, store: blocking work that must not hold up the event loop) and sends
the handler's answer back. Commands (next, redo, stop) are applied on the same thread, in order,
between frames. Everything the handler does happens on that one thread: it opens its models and
store there and closes them there (:meth:`FrameHandler.close`), whatever ends the connection.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from dataclasses import dataclass
from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

HEADER = struct.Struct("<Id")     # the browser's frame number (uint32) and capture time (float64 s)
log = logging.getLogger("romcam.app")


@dataclass(frozen=True)
class Incoming:
    index: int              # the browser's frame number
    t_s: float              # its capture time, seconds since the browser's first frame
    jpeg: bytes
    received_at: float      # time.monotonic() on arrival

    @classmethod
    def parse(cls, data: bytes) -> Incoming:
        index, t_s = HEADER.unpack_from(data)
        return cls(index, float(t_s), data[HEADER.size:], time.monotonic())

    def image(self) -> np.ndarray | None:
        """The frame as BGR, or None if it is not a JPEG that decodes."""
        return cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)


class FrameHandler(Protocol):
    def open(self) -> dict | None: ...
    def frame(self, item: Incoming, image: np.ndarray) -> dict | None: ...
    def command(self, key: str) -> dict | None: ...
    def close(self, reason: str, counts: dict) -> dict | None: ...
    @property
    def finished(self) -> bool: ...


class FrameWorker:
    """One connection's worker thread (see the module docstring)."""

    def __init__(self, handler: FrameHandler, send: Callable[[dict], None]):
        self.handler, self.send = handler, send
        self.received = 0
        self.dropped = 0
        self.analysed = 0
        self.undecodable = 0
        self._slot: Incoming | None = None
        self._commands: list[str] = []
        self._closing: str | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="romcam-app-frames", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive() and self._thread.ident is not None

    def put(self, item: Incoming) -> None:
        with self._cond:
            self.received += 1
            if self._slot is not None:
                self.dropped += 1
            self._slot = item
            self._cond.notify()

    def command(self, key: str) -> None:
        with self._cond:
            self._commands.append(key)
            self._cond.notify()

    def close(self, reason: str, timeout: float = 30.0) -> None:
        """End the connection's work (the handler closes with ``reason`` unless it ended already)
        and wait for it."""
        with self._cond:
            if self._closing is None:
                self._closing = reason
            self._cond.notify()
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def counts(self) -> dict:
        return {"received": self.received, "analysed": self.analysed, "dropped": self.dropped,
                "undecodable": self.undecodable}

    def _emit(self, message: dict | None) -> None:
        if message is not None:
            message.setdefault("frames", self.counts())
            try:
                self.send(message)
            except Exception:     # the socket went away: the work goes on to its end regardless
                pass

    def _run(self) -> None:
        reason = "ended"
        try:
            self._emit(self.handler.open())
            while not self.handler.finished:
                with self._cond:
                    self._cond.wait_for(lambda: self._slot is not None or self._commands or self._closing)
                    item, self._slot = self._slot, None
                    commands, self._commands = self._commands, []
                    closing = self._closing
                for key in commands:
                    self._emit(self.handler.command(key))
                if self.handler.finished:
                    break
                if closing is not None:
                    reason = closing
                    break
                if item is not None:
                    image = item.image()
                    if image is None:
                        self.undecodable += 1
                        continue
                    self.analysed += 1
                    self._emit(self.handler.frame(item, image))
        except BaseException as exc:       # reported on the log and to the page, never lost in a thread
            self.error = exc
            reason = f"the app failed: {exc}"
            log.error("app: %s: %s", type(exc).__name__, exc)
            self._emit({"error": str(exc)})
        finally:
            try:
                self._emit(self.handler.close(reason, self.counts()))
            except BaseException as exc:
                self.error = self.error or exc
                log.error("app: closing failed: %s: %s", type(exc).__name__, exc)
                self._emit({"error": str(exc)})
