"""What a WebSocket does with the frames: the camera check, or a live session.

A :class:`Plan` is the new-session form's choices, kept in memory under a random id (the pages
and sockets name the plan, never the subject). :class:`LiveHandler` runs the frames through the
same path as `romcam session`: :func:`romcam.session.runner.start_session` (engine, journal,
recorder), :meth:`SessionLoop.process` per frame and :func:`finish_session` at the end, so a
session made here is stored exactly as the CLI stores one, and one ended by a closed tab, a lost
connection or a stopped app is kept as incomplete with everything counted.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field, replace

from romcam.capture.pipeline import ModelChoice
from romcam.capture.sources import Frame, SourceInfo
from romcam.errors import RomcamError
from romcam.app.frames import Incoming
from romcam.app.state import check_state, live_state
from romcam.session.camera_check import CameraLevel, SceneLevel, camera_check
from romcam.session.common import SessionOptions, session_sides
from romcam.session.protocol import Phase
from romcam.storage.store import Store

log = logging.getLogger("romcam.app")
READY_HOLD_S = 1.0          # the camera check says ready once every check held this long
LOST = "the browser's connection was lost: tab closed, camera or network gone"
STOPPED = "the app was stopped"


@dataclass
class Plan:
    """One session to run: the form's choices as the CLI's options (``source`` names the browser)."""
    opts: SessionOptions
    id: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    session_id: int | None = None       # once started

    @property
    def sides(self) -> tuple[str, ...]:
        return session_sides(self.opts.joint, self.opts.side)


class Plans:
    """The plans of this app's run, by id (thread-safe)."""

    def __init__(self):
        self._plans: dict[str, Plan] = {}
        self._lock = threading.Lock()

    def add(self, plan: Plan) -> Plan:
        with self._lock:
            self._plans[plan.id] = plan
        return plan

    def get(self, plan_id: str) -> Plan | None:
        with self._lock:
            return self._plans.get(plan_id)


def browser_info(width: int, height: int) -> SourceInfo:
    return SourceInfo("browser camera (romcam app)", width, height, 0.0, None, live=True)


class CheckHandler:
    """The camera check: landmarks and :func:`camera_check` per frame; no session, nothing stored.
    The camera's level: the plan's camera profile's measured roll, else read from the scene
    (:class:`SceneLevel`, every half second)."""

    def __init__(self, plan: Plan, models: ModelChoice):
        self.plan, self.models = plan, models
        self.detector = None
        self.ok_since: float | None = None
        self.finished = False
        self.profile_level: CameraLevel | None = None
        if plan.opts.camera_profile:
            from romcam.calibration import load_profile
            self.profile_level = CameraLevel.from_profile(load_profile(plan.opts.camera_profile))
        self.scene = SceneLevel()

    def open(self):
        self.detector = self.models.detector(parallel=True, pose_behind=True).__enter__()
        return {"kind": "opened"}

    def frame(self, item: Incoming, image):
        lm = self.detector.detect(item.index, item.t_s, image)
        if self.profile_level is None:
            self.scene.add(item.t_s, image, lm.pose)
        check = camera_check(self.plan.opts.joint, lm, self.plan.sides, image, self.profile_level or self.scene.level)
        self.ok_since = (self.ok_since if self.ok_since is not None else item.t_s) if check.ready else None
        return check_state(check, self.ok_since is not None and item.t_s - self.ok_since >= READY_HOLD_S,
                           lm, item.index)

    def command(self, key: str):
        return None

    def close(self, reason: str, counts: dict):
        if self.detector is not None:
            self.detector.__exit__(None, None, None)
        return None


class LiveHandler:
    """A live session fed by the browser (see the module docstring)."""

    def __init__(self, plan: Plan, models: ModelChoice, db):
        self.plan, self.models, self.db = plan, models, db
        self.detector = None
        self.store: Store | None = None
        self.loop = None
        self.last_t = 0.0
        self.result = None

    @property
    def finished(self) -> bool:
        return self.loop is not None and self.loop.engine.protocol.phase is Phase.DONE

    def open(self):
        """The models and the store, before the page opens its camera (it waits for this answer)."""
        self.detector = self.models.detector(parallel=True, pose_behind=True).__enter__()
        self.store = Store.open(self.db)
        return {"kind": "opened"}

    def _start(self, image) -> None:
        from romcam.session.runner import start_session

        h, w = image.shape[:2]
        opts = replace(self.plan.opts, source="browser")
        self.loop = start_session(self.store, opts, browser_info(w, h), self.detector,
                                  say=lambda line: log.info("session %s: %s", self.plan.session_id, line))
        self.plan.session_id = self.loop.sid
        log.info("session %s started (%s, %s)", self.loop.sid, opts.joint.name, opts.side)

    def frame(self, item: Incoming, image):
        if self.loop is None:
            self._start(image)
        self.last_t = item.t_s
        self.loop.process(Frame(item.index, item.t_s, image), item.received_at)
        state = live_state(self.loop.engine, self.loop.last_lm, item.index)
        state["session_id"] = self.loop.sid
        return state

    def command(self, key: str):
        if self.loop is None or key not in ("next", "redo", "quit"):
            return None
        self.loop.command(key, self.last_t)
        return live_state(self.loop.engine)

    def close(self, reason: str, counts: dict):
        from romcam.session.runner import finish_session

        try:
            if self.loop is None:
                return {"kind": "closed", "session_id": None, "reason": reason}
            self.loop.captured, self.loop.dropped = counts["received"], counts["dropped"]
            try:
                self.result = finish_session(self.loop, reason)
            except RomcamError as exc:     # no usable frame: nothing was kept (as the CLI says)
                log.info("session %s not kept: %s", self.loop.sid, exc)
                return {"kind": "closed", "session_id": None, "reason": str(exc)}
            f = self.result.finished
            log.info("session %s %s", self.loop.sid, "complete" if f.complete else f"incomplete ({f.reason})")
            return {"kind": "closed", "session_id": self.loop.sid, "complete": f.complete, "reason": f.reason}
        finally:
            if self.store is not None:
                self.store.close()
            if self.detector is not None:
                self.detector.__exit__(None, None, None)

