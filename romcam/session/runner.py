"""Running a measurement session: frames -> landmarks -> protocol -> database (+ live window).

This is the I/O around the pure :class:`romcam.session.engine.SessionEngine`:

* a **live** source (webcam, or a video replayed at real pace) is read on its own thread and
  only the newest frame is analysed: when inference is slower than the camera, frames are
  dropped and counted, never queued (the view must not lag behind the person);
* a **recorded** video is analysed frame by frame, every frame;
* each trial and rep is committed to the database the moment it happens, frames in batches
  of about a second; Ctrl-C, SIGTERM, a closed window or a camera that stops all end the
  session as *incomplete* with everything recorded so far.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from collections.abc import Callable

import cv2
import numpy as np

from romcam import __version__
from romcam.capture.camera import LatestFrameCapture, ReplayCamera
from romcam.capture.landmarks import FrameLandmarks
from romcam.errors import RomcamError
from romcam.measure.ankle import is_shin_joint
from romcam.measure.joints import Joint
from romcam.session.camera_check import MAX_CAMERA_ROLL_DEG, CameraLevel
from romcam.session.engine import SessionEngine
from romcam.session.display import LiveDisplay, View, overlay_state
from romcam.session.common import (INTERRUPTED_INT, INTERRUPTED_TERM, SessionOptions, SessionResult,
                                   SessionStats, session_sides, set_config_for, waiting_for)
from romcam.session.protocol import Phase, ProtocolConfig
from romcam.session.video import VideoOptions, decoded_short, load_checked_profile, resolve_models
from romcam.session.recorder import SessionRecorder
from romcam.session.sound import Sounder
from romcam.capture.sources import SourceInfo, is_webcam, open_source
from romcam.files import check_output, mark_created, publish
from romcam.storage.journal import SessionJournal, delete_empty_session
from romcam.storage.meta import RecordingProcess, SessionMeta
from romcam.storage.store import Store, clean_subject_code, resolve_db_path

class Terminated(KeyboardInterrupt):
    """SIGTERM, told apart from Ctrl-C."""


def _check_display() -> None:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RomcamError("there is no screen to show the live window on; run with --no-window")


def run_session(opts: SessionOptions, say: Callable[[str], None] = print) -> SessionResult:
    """Run one session to its end (done, quit, end of video, camera gone, Ctrl-C); always saved."""
    session_sides(opts.joint, opts.side)   # a wrong side fails first
    clean_subject_code(opts.subject)   # bad input fails before the camera and the models start
    if opts.record is not None:        # so does an output that may not be written
        inputs = [resolve_db_path(opts.db)] + ([] if is_webcam(opts.source) else [opts.source])
        check_output(opts.record, "--record", overwrite=opts.overwrite, inputs=inputs)
    if opts.window:
        _check_display()
    if opts.camera_profile:            # a profile that does not load fails before the camera starts
        from romcam.calibration import load_profile
        load_profile(opts.camera_profile)
    models = resolve_models(opts.joint, VideoOptions(model=opts.model, model_dir=opts.model_dir))
    live_file = opts.realtime and not is_webcam(opts.source)
    source = ReplayCamera(opts.source, mirrored=opts.mirrored) if live_file else \
        open_source(opts.source, mirrored=opts.mirrored)
    info = source.info
    profile = load_checked_profile(opts.camera_profile, info.width, info.height)
    warnings = list(info.warnings)
    if profile is not None:
        from romcam.calibration import tilt_warning
        if w := tilt_warning(profile):
            warnings.append(w)

    with Store.open(opts.db) as store, source, models.detector(parallel=True, pose_behind=info.live) as detector:
        loop = start_session(store, opts, info, detector, profile, warnings, say,
                             sounder=Sounder(quiet=opts.quiet), prompts=not opts.window)
        say(f"session {loop.sid}: {opts.joint.title}, {opts.side}, subject {opts.subject} ({info.name}); "
            f"keys: n = next phase, r = redo trial, q = quit and save")
        previous = signal.signal(signal.SIGTERM, _raise_terminated) if _main_thread() else None
        try:
            reason = loop.run(source)
        except Terminated:
            reason = INTERRUPTED_TERM
        except KeyboardInterrupt:
            reason = INTERRUPTED_INT
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if opts.window:
                cv2.destroyAllWindows()
            loop.close_recording()
        return finish_session(loop, reason)


def start_session(store: Store, opts: SessionOptions, info: SourceInfo, detector, profile=None,
                  warnings: list[str] | None = None, say: Callable[[str], None] = print,
                  sounder: Sounder | None = None, prompts: bool = False) -> SessionLoop:
    """A live session started in ``store``: its engine, its journal (the session row written now)
    and its recorder, ready for frames one at a time (:meth:`SessionLoop.process`). ``romcam
    session`` and ``romcam app`` both start their sessions here."""
    engine = SessionEngine(ProtocolConfig(opts.joint, session_sides(opts.joint, opts.side), trials=opts.trials,
                                          target_reps=opts.target_reps,
                                          **set_config_for(opts.joint, opts.set_kind, opts.target_turns)))
    journal = SessionJournal(store, say)
    journal.start(SessionMeta(
        opts.subject, opts.joint.name, opts.side, source=str(opts.source), camera=info.name,
        pose_model=opts.model, target_reps=opts.target_reps, trials_per_phase=opts.trials,
        resolution=f"{info.width}x{info.height}", camera_profile=opts.camera_profile,
        app_version=__version__, owner=RecordingProcess.this_process(),
        **set_config_for(opts.joint, opts.set_kind, opts.target_turns)), new_subject=opts.new_subject)
    recorder = SessionRecorder(journal, engine, say, prompts=prompts, sounder=sounder or Sounder(quiet=True))
    loop = SessionLoop(opts, engine, recorder, detector, profile, list(warnings or []), info)
    loop.store, loop.journal = store, journal
    if is_shin_joint(opts.joint):
        loop.start_vertical(journal, say)
    else:
        loop.start_level(say)
    return loop


def finish_session(loop: SessionLoop, reason: str) -> SessionResult:
    """End a started session (done, stopped, or interrupted with ``reason``): everything counted is
    stored, the session is complete or incomplete. A session without one usable frame is not
    kept (RomcamError), unless it was interrupted."""
    journal, store, sid = loop.journal, loop.store, loop.sid
    stats = loop.stats()
    if loop.valid == 0 and reason not in (INTERRUPTED_INT, INTERRUPTED_TERM) \
            and journal.flush(force=True) and delete_empty_session(store, sid):
        top = max(loop.invalid, key=loop.invalid.get) if loop.invalid else "no person found"
        raise RomcamError(f"no usable frame in {loop.processed} frames of {loop.info.name} ({top}), so "
                          f"no session was stored (check that the person is in view, lit, and "
                          f"that this is the right video)")
    finished = loop.recorder.finish(loop.last_t, reason, stats)
    kept = journal.close()
    return SessionResult(sid, finished, stats, kept_elsewhere=kept)


def _raise_terminated(signum, frame):
    raise Terminated


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


class SessionLoop:
    """The per-frame loop, live (newest frame only) or over every frame of a recording; or fed one
    frame at a time (:meth:`process`, :meth:`command`) by ``romcam app``."""

    def __init__(self, opts, engine, recorder, detector, profile, warnings, info):
        self.opts, self.engine, self.recorder, self.detector = opts, engine, recorder, detector
        self.profile, self.warnings, self.info = profile, warnings, info
        self.last_t = 0.0
        self.processed = 0
        self.captured = 0
        self.dropped = 0
        self.latencies: list[float] = []
        self.valid = 0
        self.invalid: dict[str, int] = {}     # why frames were not usable, counted
        self.t_start = time.monotonic()
        self.cpu_start = time.process_time()
        self.writer = None
        self.record_tmp: Path | None = None
        self.live = info.live
        self.setup_vertical = None        # the ankle without a profile roll: read during setup
        self.setup_scale = None           # the ankle: the scale target, read during setup
        self.setup_level = None           # other joints without a profile roll: the camera level, read during setup
        self._level_say: Callable[[str], None] = print
        self.display = LiveDisplay(self.latencies) if opts.window else None
        self.last_lm: FrameLandmarks | None = None    # the last frame's landmarks (the app draws them)
        self.store: Store | None = None
        self.journal: SessionJournal | None = None

    def start_vertical(self, journal, say) -> None:
        """The ankle's vertical: the profile's roll now, or the scene's once read during setup; the
        knee-over-toe scale target, read during setup."""
        from romcam.session.vertical import SetupScale, SetupVertical, profile_vertical

        self._vertical_out = (journal, say)
        self.setup_scale = SetupScale(self.opts.scale_target)
        vertical = profile_vertical(self.profile)
        if vertical is None:
            self.setup_vertical = SetupVertical()
        else:
            self._use_vertical(vertical)

    def _use_vertical(self, vertical) -> None:
        journal, say = self._vertical_out
        self.engine.measurer.set_roll(vertical.roll_deg)
        journal.write("vertical", source=vertical.source, camera_roll_deg=vertical.camera_roll_deg)
        self.warnings.extend(w for w in vertical.warnings() if w not in self.warnings)
        say(vertical.describe())
        self._level_say = say
        # said in the setup's words; its warning is the vertical's own (the roll is corrected)
        self._say_level(CameraLevel(vertical.camera_roll_deg, vertical.source), quiet=True, keep=False)

    def start_level(self, say) -> None:
        """The camera level for a joint without the ankle's vertical: the profile's measured roll
        now, or the scene's once read during setup (said, and kept as a warning when not level)."""
        from romcam.session.vertical import SetupVertical

        self._level_say = say
        level = CameraLevel.from_profile(self.profile)
        if level is None:
            self.setup_level = SetupVertical()
        else:       # the profile's tilt warning is in the session's warnings already
            self._say_level(level, keep=False)

    def _say_level(self, level: CameraLevel, quiet: bool = False, keep: bool = True) -> None:
        """Say the camera's level (``quiet``: only when it is not level); a camera not level is
        kept in the session's warnings and shown in the window (``keep``)."""
        if level.roll_deg is None:
            if not quiet:
                self._level_say("camera level: not judged (no confident roll from the room's straight lines)")
            return
        problem = level.problem
        if problem is None:
            if not quiet:
                self._level_say(f"camera level: roll {level.roll_deg:+z.1f} deg from the {level.source} "
                                f"(within {MAX_CAMERA_ROLL_DEG:g} deg)")
            return
        self._level_say(f"setup: {problem} (roll {level.roll_deg:+z.1f} deg from the {level.source})")
        if keep and problem not in self.warnings:
            self.warnings.append(problem)

    def _settle_level(self, now: bool) -> None:
        if now and self.setup_level is not None:
            vertical = self.setup_level.estimate()
            self.setup_level = None
            self._say_level(CameraLevel(vertical.camera_roll_deg, "scene"))

    def _settle_vertical(self, now: bool) -> None:
        """Estimate the scene's vertical as soon as its frames are read (or right after the frame
        that ends setup, when setup ends first) and use it from this frame on. Estimating it as
        soon as it can be, rather than at the end of setup, measures the frame that ends setup
        with the roll too (when the frames were read in time), as ``analyze`` measures it."""
        if now and self.setup_vertical is not None:
            self._use_vertical(self.setup_vertical.estimate())
            self.setup_vertical = None

    @property
    def sid(self) -> int:
        return self.journal.sid

    def run(self, source) -> str:
        """Every frame through the session; with a window, on a worker thread while this thread
        shows the newest one (romcam.session.display)."""
        if self.display is None:
            return self._frames(source)
        return self.display.run(lambda: self._frames(source))

    def _frames(self, source) -> str:
        if self.live:
            with LatestFrameCapture(source) as capture:
                while True:
                    item = capture.get(timeout=5.0)
                    self.captured, self.dropped = capture.captured, capture.dropped
                    if item is None:
                        if capture.error is not None:
                            raise RomcamError(f"the camera failed: {capture.error}")
                        return "the camera stopped delivering frames"
                    if self.process(item.frame, item.captured_at):
                        return "stopped"
        for frame in source:
            self.captured += 1
            if self.process(frame, None):
                return "stopped"
        p = self.engine.protocol
        expected = self.info.frame_count
        early = ""
        if decoded_short(self.captured, expected, self.last_t, self.info.fps):
            early = f" early ({self.captured} of {expected} frames: a truncated or damaged file?)"
            self.warnings.append(f"the video file ended{early}")
        return f"the video ended{early} during '{p.phase.value}': {waiting_for(p)}"

    def process(self, frame, captured_at: float | None) -> bool:
        """One frame; returns True when the session is over."""
        lm = self.detector.detect(frame.index, frame.t_s, frame.image)
        if self.profile is not None:
            from romcam.calibration import undistort_series
            lm = undistort_series([lm], self.profile, lm.width, lm.height)[0]
        self.last_t, self.last_lm = frame.t_s, lm
        if self.setup_vertical is not None and self.engine.protocol.phase is Phase.SETUP:
            self.setup_vertical.add(frame.t_s, frame.image, lm.pose)
            self._settle_vertical(self.setup_vertical.ready)     # this frame on, as analyze measures it
        if self.setup_scale is not None and self.engine.protocol.phase is Phase.SETUP:
            self.setup_scale.add(frame.t_s, frame.image)
        if self.setup_level is not None and self.engine.protocol.phase is Phase.SETUP:
            self.setup_level.add(frame.t_s, frame.image, lm.pose)
            self._settle_level(self.setup_level.ready)
        self._count(lm, usable=self.recorder.step(lm, self.opts.save_frames))
        self._settle_vertical(self.engine.protocol.phase is not Phase.SETUP)   # a short setup
        self._settle_level(self.engine.protocol.phase is not Phase.SETUP)
        if self.setup_scale is not None and self.engine.protocol.phase is not Phase.SETUP:
            self._vertical_out[1](self.setup_scale.give_to(self.engine.measurer, self.profile))
            self.setup_scale = None
        if self.display is not None:      # drawn on the display thread; latency taken there
            self.display.publish(View(frame.image, lm, overlay_state(self.engine, self._status(), self.warnings),
                                      mirror=self.live, captured_at=captured_at))
        elif captured_at is not None:
            self.latencies.append(time.monotonic() - captured_at)
        self.processed += 1
        if self.opts.record is not None:
            self._record(frame.image)
        for key in self.display.commands() if self.display is not None else ():
            self.command(key, frame.t_s)
        return self.engine.protocol.phase is Phase.DONE or (self.display is not None and self.display.stop.is_set())

    def command(self, key: str, t_s: float) -> None:
        """A key ('next', 'redo', 'quit') applied to the protocol now, its events stored."""
        for e in self.engine.protocol.command(key, t_s):
            self.recorder.event(e)

    def _count(self, lm: FrameLandmarks, usable: bool) -> None:
        self.valid += usable
        for problem in set(self.engine.measurer.problems.values()) - {None}:
            self.invalid[problem] = self.invalid.get(problem, 0) + 1

    def _status(self) -> str:
        elapsed = max(time.monotonic() - self.t_start, 1e-6)
        text = f"{self.processed / elapsed:.0f} fps"
        if self.live:
            text += f", {self.dropped} dropped"
        return text

    def _record(self, image) -> None:
        if self.writer is None:
            fps = self.info.fps or 30.0
            target = Path(self.opts.record)     # written beside, moved in place when it ends
            self.record_tmp = target.with_name(f".{target.stem}.{os.getpid()}.partial{target.suffix}")
            self.writer = cv2.VideoWriter(str(self.record_tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                          (image.shape[1], image.shape[0]))
            if not self.writer.isOpened():
                raise RomcamError(f"cannot write the recording {self.opts.record} (check the folder, "
                                  f"or choose another --record)")
        self.writer.write(image)

    def close_recording(self) -> None:
        if self.writer is not None:
            self.writer.release()
            publish(self.record_tmp, os.path.realpath(self.opts.record))
            mark_created(self.opts.record)

    def stats(self) -> SessionStats:
        elapsed = max(time.monotonic() - self.t_start, 1e-6)
        cpu = time.process_time() - self.cpu_start
        lat = np.array(self.latencies) * 1000.0
        out = SessionStats.counted(
            self.processed, self.valid, self.invalid, self.warnings,
            fps=round(self.processed / elapsed, 2),
            source_fps=round(self.info.fps, 2) if self.info.fps else None,
            frames_captured=self.captured, frames_dropped=self.dropped,
            dropped_share=round(self.dropped / self.captured, 4) if self.captured else None,
            latency_ms_median=round(float(np.median(lat)), 1) if lat.size else None,
            latency_ms_p95=round(float(np.percentile(lat, 95)), 1) if lat.size else None,
            live=self.live, cpu_s=round(cpu, 2), cores_busy=round(cpu / elapsed, 2),
            frames_drawn=self.display.drawn if self.display is not None else None,
            leg_swaps_repaired=getattr(self.engine.measurer, "swaps_repaired", None))
        if out.valid_share is not None and out.valid_share < 0.5:
            out.warnings.append(f"only {out.valid_share:.0%} of frames were usable")
        return out


def describe_result(result: SessionResult) -> str:
    """The end-of-session summary printed for the person."""
    f = result.finished
    saved = "kept as said below" if result.kept_elsewhere else "saved"
    lines = [f"session {result.session_id}: " + ("complete" if f.complete else f"incomplete ({f.reason}); "
                                                 f"everything recorded so far is {saved}")]
    for o in f.outcomes:
        def fmt(v):
            return "-" if v is None else f"{v:z.1f}"
        lines.append(f"  {o.side:>5}: before {fmt(o.before_deg)} deg, after {fmt(o.after_deg)} deg, "
                     f"SEM {fmt(o.sem_deg)}, MDC95 {fmt(o.mdc95_deg)}: {o.verdict}")
        if o.reps_done:
            reach = (f"; the after-level was first reached at rep {o.first_rep_at_after_level}"
                     if o.first_rep_at_after_level else "")
            lines.append(f"         set: {o.reps_done} reps{reach}")
        if f.turns:
            lines.append(f"         set: {_turn_line(f.turns, o.side, o.after_deg)}")
        quality = o.set_quality("turns" if f.turns else "reps")
        if quality:
            lines.append(f"         {quality}")
    if f.turns:
        cw = sum(t.direction == "cw" for t in f.turns)
        lines.insert(1, f"  set of circles: {len(f.turns)} turns (clockwise {cw}, counter-clockwise "
                        f"{len(f.turns) - cw})")
    s = result.stats
    if s.live:
        lines.append(f"  live loop: {s.frames_processed} of {s.frames_captured} frames analysed "
                     f"({s.frames_dropped} dropped), latency median {s.latency_ms_median} ms, "
                     f"p95 {s.latency_ms_p95} ms, {s.fps} fps"
                     + (f", {s.frames_drawn} drawn on screen" if s.frames_drawn is not None else ""))
    else:
        speed = f" at {s.fps} fps" if s.fps else ""
        lines.append(f"  {s.frames_processed} frames analysed{speed}")
    if s.leg_swaps_repaired:
        lines.append(f"  MediaPipe's left/right leg swaps repaired: {s.leg_swaps_repaired}")
    lines += [f"  note: {w}" for w in s.warnings]
    if result.kept_elsewhere:
        lines.append(f"  WARNING: {result.kept_elsewhere}")
    return "\n".join(lines)


def _turn_line(turns, side: str, level: float | None) -> str:
    """'right side-bend per turn 20.1 -> 25.0 deg (+0.13 deg/turn); reached 24.8 deg at turn 34'."""
    from romcam.measure.circles import side_result

    r = side_result(turns, side, level)
    if r.max_deg is None:
        return f"no turn reached the {side}"
    trend = "" if r.trend_deg_per_turn is None else f" ({r.trend_deg_per_turn:+.2f} deg/turn)"
    text = f"{side} side-bend per turn {r.first_deg:z.1f} -> {r.last_deg:z.1f} deg{trend}"
    return text + (f"; {r.sentence()}" if level is not None else "")


def run_landmark_session(store: Store, subject: str, joint: Joint, side: str, landmarks, *,
                         target_reps: int = 40, trials: int = 3, source: str = "synthetic landmark stream",
                         synthetic: bool = True, say: Callable[[str], None] = print,
                         set_kind: str = "reps", target_turns: int = 40,
                         sounder: Sounder | None = None) -> SessionResult:
    """A session fed with ready-made landmarks (the synthetic demo, or a replayed landmark
    stream): the same protocol and storage as a camera session, without the model stage."""
    set_config = set_config_for(joint, set_kind, target_turns)
    engine = SessionEngine(ProtocolConfig(joint, session_sides(joint, side), trials=trials, target_reps=target_reps,
                                          **set_config))
    journal = SessionJournal(store, say)
    sid = journal.start(SessionMeta(subject, joint.name, side, source=source, camera=source, pose_model=None,
                                    target_reps=target_reps, trials_per_phase=trials, synthetic=synthetic,
                                    app_version=__version__, owner=RecordingProcess.this_process(), **set_config))
    recorder = SessionRecorder(journal, engine, say, sounder=sounder)
    if is_shin_joint(joint):    # no images here: nothing to read the scene from
        journal.write("vertical", source="assumed level", camera_roll_deg=None)
    t, processed, valid = 0.0, 0, 0
    for lm in landmarks:
        t = lm.t_s
        valid += recorder.step(lm)
        processed += 1
        if engine.protocol.phase is Phase.DONE:
            break
    stats = SessionStats(frames_processed=processed, frames_captured=processed,
                         valid_share=round(valid / processed, 4) if processed else None,
                         warnings=["SYNTHETIC landmark stream: not a measurement of a person"] if synthetic else [])
    p = engine.protocol
    finished = recorder.finish(t, f"the landmark stream ended during '{p.phase.value}': {waiting_for(p)}", stats)
    return SessionResult(sid, finished, stats, kept_elsewhere=journal.close())
