"""The live window, drawn and shown off the inference thread.

With a window, the session's per-frame work (models, protocol, database) runs on a worker
thread and publishes the newest :class:`View` (frame, landmarks, overlay state) after each frame;
:meth:`LiveDisplay.run` keeps the calling thread (the main thread: OpenCV's HighGUI wants one
thread, and Ctrl-C/SIGTERM arrive there) drawing and showing the newest view at its own pace.
Inference never waits for drawing: publishing replaces the slot, and a view nobody drew in time
is simply skipped. Keys and a closed window become commands the worker applies after its next
frame, in the order pressed. The capture-to-display latency is taken when a view is on screen.

Drawing is done at display size (at most :data:`DISPLAY_WIDTH` pixels wide): a 1080p frame is
scaled down first: scaling, drawing and showing it take about 40 % less CPU than drawing and
showing it at 1080p (docs/validation/speed.md).
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import TypeVar
from collections.abc import Callable

import cv2
import numpy as np

from romcam.capture.landmarks import FrameLandmarks
from romcam.session.engine import SessionEngine
from romcam.session.overlay import OverlayState, draw_overlay
from romcam.session.protocol import Phase

WINDOW = "romcam"
KEYS = {ord("n"): "next", ord(" "): "next", ord("r"): "redo", ord("q"): "quit", 27: "quit"}
DISPLAY_WIDTH = 1280        # the live view is drawn at most this wide (a 1080p frame: at 1280x720)
IDLE_S = 0.02               # with no new view, keys are still read about 50 times a second

T = TypeVar("T")


def deg_text(value: float | None) -> str:
    return "-" if value is None else f"{value:z.1f}"


def overlay_state(engine: SessionEngine, status: str = "", warnings=()) -> OverlayState:
    """What the live view shows now: a snapshot of the protocol (safe to draw on another thread)."""
    p = engine.protocol
    side = p.cfg.sides[0]
    if len(p.cfg.sides) > 1 and p.phase in (Phase.BEFORE, Phase.AFTER, Phase.SET):
        # show the side that is moving now (the larger current excursion)
        side = max(p.cfg.sides, key=lambda s: -math.inf if math.isnan(p.current_angle(s)) else p.current_angle(s))
    last = p.last_peak()
    peaks = [r.peak_deg for s in p.cfg.sides for r in p.sides[s].reps]
    state = OverlayState(
        joint_name=p.joint.name, joint_title=p.joint.title, side=side, angle_deg=p.current_angle(side),
        phase=p.phase.value, prompt=p.prompt, progress=p.progress,
        last_peak_deg=None if last is None else last.peak_deg, rep_peaks=peaks,
        warnings=list(p.problems if p.phase is not Phase.SETUP else ()) + list(warnings), status=status)
    if p.circles and p.phase is Phase.SET:
        state.last_peak_deg = None
        state.turn_text = p.turn_text
        if p.turns:
            t = p.turns[-1]
            state.last_turn_text = (f"last turn: right {deg_text(t.right_extreme_deg)}, "
                                    f"left {deg_text(t.left_extreme_deg)} deg")
        state.turn_extremes = {s: [t.extreme(s) for t in p.turns] for s in ("right", "left")}
    judged = p.last_edge() if p.phase is Phase.SET else None
    if judged is not None:
        state.edge_text, state.edge_reached = judged.describe(), judged.reached
    return state

    return f"short of the edge ({judged.peak_deg:z.1f} of {judged.edge_deg:z.1f} deg)"



@dataclass(frozen=True)
class View:
    """One analysed frame, ready to draw: the source image (not changed by drawing)."""
    image: np.ndarray
    lm: FrameLandmarks | None
    state: OverlayState
    mirror: bool
    captured_at: float | None = None     # time.monotonic() when the camera delivered it


def fit_to_display(image: np.ndarray, lm: FrameLandmarks | None,
                   max_width: int = DISPLAY_WIDTH) -> tuple[np.ndarray, FrameLandmarks | None]:
    """The image scaled down to at most ``max_width`` wide, and its landmarks scaled with it."""
    h, w = image.shape[:2]
    if w <= max_width:
        return image, lm
    f = max_width / w
    small = cv2.resize(image, (max_width, max(1, round(h * f))), interpolation=cv2.INTER_LINEAR)
    if lm is None:
        return small, None
    pose = None
    if lm.pose is not None:
        pose = lm.pose.copy()
        pose[:, :3] *= f
    return small, dataclasses.replace(lm, width=small.shape[1], height=small.shape[0], pose=pose, face=None)


def draw_view(view: View) -> np.ndarray:
    """The picture shown for a view: the overlay drawn at display size."""
    image, lm = fit_to_display(view.image, view.lm)
    out, _ = draw_overlay(image, lm, view.state, mirror=view.mirror)
    return out


class LiveDisplay:
    """The newest view, handed from the inference worker to the thread that shows it."""

    def __init__(self, latencies: list[float] | None = None, draw: Callable[[View], np.ndarray] | None = None):
        self.latencies = latencies if latencies is not None else []   # seconds, capture to screen
        self.draw = draw or draw_view
        self.drawn = 0                       # views put on screen
        self.stop = threading.Event()        # set when the worker must end (Ctrl-C, SIGTERM, an error)
        self._commands: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._newest: View | None = None
        self._done = False

    # -- the inference worker's side ------------------------------------------------------------
    def publish(self, view: View) -> None:
        """Offer the newest view; never waits for drawing (an undrawn older view is replaced)."""
        with self._cond:
            self._newest = view
            self._cond.notify()

    def commands(self) -> list[str]:
        """Commands from keys (and a closed window) since the last call, in order."""
        out = []
        while True:
            try:
                out.append(self._commands.get_nowait())
            except queue.Empty:
                return out

    # -- the display thread's side --------------------------------------------------------------
    def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` (the per-frame loop) on a worker thread and show its views on this one until
        it returns; its result is returned and its exception raised here. An exception here
        (Ctrl-C) stops the worker, waits for it, and is raised."""
        outcome: dict = {}

        def target():
            try:
                outcome["value"] = work()
            except BaseException as exc:        # handed to the display thread, not lost
                outcome["error"] = exc
            finally:
                with self._cond:
                    self._done = True
                    self._cond.notify()

        worker = threading.Thread(target=target, name="romcam-inference", daemon=True)
        worker.start()
        try:
            self._show_until_done()
        finally:
            self.stop.set()
            while worker.is_alive():     # the worker ends within a frame: nothing recorded is cut
                worker.join(timeout=0.5)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _next(self) -> tuple[View | None, bool]:
        with self._cond:
            self._cond.wait_for(lambda: self._newest is not None or self._done, timeout=IDLE_S)
            view, self._newest = self._newest, None
            return view, self._done

    def _show_until_done(self) -> None:
        shown = quitting = False
        while True:
            view, done = self._next()
            if done:
                return
            if view is not None and not quitting:
                cv2.imshow(WINDOW, self.draw(view))
                shown = True
            key = cv2.waitKey(1) & 0xFF
            if view is not None and not quitting:
                self.drawn += 1
                if view.captured_at is not None:
                    self.latencies.append(time.monotonic() - view.captured_at)
            if quitting:
                continue
            command = KEYS.get(key)
            if shown and cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                command = "quit"            # the window was closed
            if command is not None:
                self._commands.put(command)
                quitting = command == "quit"    # no new window opened while the worker ends
