"""Running a recorded visit: a video filmed without romcam's prompts, with the phases given.

``romcam session --source visit.mp4 --phases "before=0:35,set=35:160,after=160:190"``:

1. the phases (and ``--neutral``) are parsed and checked against the video's length before
   any long work, with the video's other quick checks (:func:`romcam.session.video.check_video`);
2. the video measured (:func:`romcam.session.video.measure_video`, as ``romcam analyze`` reads
   it), and every frame's angles measured over the whole video, as ``analyze`` measures them
   (:func:`romcam.measure.analysis.measure_landmarks`);
3. the neutral: the stretch given with ``--neutral``, else the stillest 1.5 s of looking ahead up
   to the end of *before* (then anywhere), said;
4. the live engine and recorder over those angles, the protocol's phases moved by the clock
   (:class:`romcam.session.visit.RecordedPhases`): trials, reps, frames and results stored as a
   live session's are, marked as a recording (the session's ``recorded``, ``phases``, ``neutral_source`` columns).

The ankle (its shin from the true vertical, kept on the same leg live) and a set of neck circles
(whose trunk reference is held over the set) use the live measurer over the frames.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

import numpy as np

from romcam import __version__
from romcam.capture.recording_date import RecordingDate, recording_start
from romcam.capture.sources import is_webcam
from romcam.errors import RomcamError
from romcam.measure.analysis import measure_landmarks
from romcam.measure.ankle import Vertical, is_shin_joint
from romcam.measure.neutral import HOLD_S, MAX_SD_DEG, NeutralStretch, median_over, neutral_over, stillest_stretch
from romcam.measure.replay import SeriesMeasurer
from romcam.session import phases as ph
from romcam.session.common import (INTERRUPTED_INT, SessionOptions, SessionResult, SessionStats, set_config_for,
                                   session_sides, waiting_for)
from romcam.session.engine import SessionEngine, streaming_measurer
from romcam.session.protocol import Phase, ProtocolConfig
from romcam.session.recorder import SessionRecorder
from romcam.session.video import VideoCheck, VideoMeasurement, VideoOptions, check_video, measure_video
from romcam.session.visit import HeadNeutral, recorded_protocol
from romcam.storage.journal import SessionJournal
from romcam.storage.meta import RecordingProcess, SessionMeta
from romcam.storage.store import Store, clean_subject_code
from romcam.timestamps import now_iso


@dataclass
class AnalysedVisit:
    """A recorded visit's video analysed once (the long work: landmarks of every frame): what the
    phases given for it, once or many times, are measured on (:func:`record_analysed_visit`)."""
    source: str
    video: VideoMeasurement
    dated: RecordingDate
    analysis_s: float                     # how long the analysis took (the stored rate counts it)

    @property
    def duration_s(self) -> float | None:
        return self.video.duration_s


@dataclass(frozen=True)
class VisitMarks:
    """The phases and neutral of a visit, parsed and checked against its video's length."""
    spans: list[ph.PhaseSpan]
    neutral_range: tuple[float, float] | None
    notes: list[str]


def visit_marks(phases_text: str, neutral_text: str | None, duration_s: float | None) -> VisitMarks:
    """``--phases`` and ``--neutral`` parsed and checked against the video's length (one-line errors)."""
    spans = ph.parse_phases(phases_text)
    neutral_range = ph.parse_range(neutral_text, "--neutral") if neutral_text else None
    spans, notes = ph.fit_to_video(spans, duration_s)
    if neutral_range is not None:
        ph.check_range_in_video(*neutral_range, duration_s, "--neutral")
    return VisitMarks(spans, neutral_range, notes)


def video_options(opts: SessionOptions, *, workers: int = 2, progress: bool = True,
                  on_progress: Callable[[int, int | None], None] | None = None) -> VideoOptions:
    """How a recorded visit's video is read, from the session's options."""
    return VideoOptions(model=opts.model, model_dir=opts.model_dir, mirrored=opts.mirrored,
                        camera_profile=opts.camera_profile, scale_target=opts.scale_target,
                        workers=workers, progress=progress, on_progress=on_progress)


def check_visit_options(opts: SessionOptions) -> None:
    """The session's options a recorded visit refuses or must have right, checked at once."""
    session_sides(opts.joint, opts.side)
    clean_subject_code(opts.subject)
    _refuse_live_options(opts)
    set_config_for(opts.joint, opts.set_kind, opts.target_turns)


def analyse_visit(opts: SessionOptions, options: VideoOptions, *, checked: VideoCheck | None = None,
                  recorded_at: str | None = None) -> AnalysedVisit:
    """The video of a recorded visit analysed once (:func:`romcam.session.video.measure_video`),
    and when it was filmed (``recorded_at``, else the video's creation time, else its file's time)."""
    checked = checked or check_video(opts.source, opts.joint, options)
    dated = recording_start(opts.source, checked.duration_s, recorded_at)
    started = time.monotonic()
    video = measure_video(opts.source, opts.joint, options, checked)
    return AnalysedVisit(str(opts.source), video, dated, time.monotonic() - started)


def run_recorded_visit(opts: SessionOptions, phases_text: str, neutral_text: str | None = None, *,
                       recorded_at: str | None = None,
                       workers: int = 2, progress: bool = True,
                       say: Callable[[str], None] = print) -> SessionResult:
    """Analyse a recorded visit with the phases given and store it as a session: the quick checks
    first, then :func:`analyse_visit` and :func:`record_analysed_visit`."""
    check_visit_options(opts)
    ph.parse_phases(phases_text)                  # a wrong --phases fails before the video is opened
    if neutral_text:
        ph.parse_range(neutral_text, "--neutral")
    options = video_options(opts, workers=workers, progress=progress)
    checked = check_video(opts.source, opts.joint, options)
    visit_marks(phases_text, neutral_text, checked.duration_s)
    analysed = analyse_visit(opts, options, checked=checked, recorded_at=recorded_at)
    return record_analysed_visit(opts, analysed, phases_text, neutral_text, say=say)


def record_analysed_visit(opts: SessionOptions, analysed: AnalysedVisit, phases_text: str,
                          neutral_text: str | None = None, *, recorded_at: str | None = None,
                          say: Callable[[str], None] = print, journal=None) -> SessionResult:
    """The phases given measured on an analysed visit and stored as a session: the neutral, then
    the live engine and recorder over the frames (module notes). ``recorded_at``: when it was
    filmed, instead of the analysis's date. ``journal``: where the records go (default: a
    :class:`SessionJournal` on ``opts.db``; a :class:`DryJournal` keeps them in memory only)."""
    check_visit_options(opts)
    video = analysed.video
    info, landmarks, vertical = video.info, video.landmarks, video.vertical
    duration = video.duration_s
    marks = visit_marks(phases_text, neutral_text, duration)
    spans = marks.spans
    dated = recording_start(analysed.source, duration, recorded_at) if recorded_at else analysed.dated
    sides = session_sides(opts.joint, opts.side)
    set_config = set_config_for(opts.joint, opts.set_kind, opts.target_turns)
    started = time.monotonic()
    warnings = list(marks.notes) + video.warnings
    config = ProtocolConfig(opts.joint, sides, trials=opts.trials, target_reps=opts.target_reps, **set_config)
    engine, stretch = recorded_engine(config, landmarks, spans, marks.neutral_range, vertical)
    source_text = describe_neutral(stretch, neutral_text, looking=opts.joint.needs_face)
    if not stretch.still:
        warnings.append(f"the neutral stretch was not still (spread {stretch.spread_deg:z.1f} deg, over the "
                        f"live hold's {MAX_SD_DEG:z.1f}): check it, or give --neutral")
    say(f"recorded visit {Path(info.name).name}: {ph.describe(spans)}")
    say(f"filmed {dated.start:%Y-%m-%d %H:%M} (from {dated.source}"
        f"{'' if dated.source == '--recorded-at' else '; give --recorded-at if that is wrong'})")
    say(f"neutral: {source_text}: {', '.join(f'{v:z.1f}' for v in stretch.values.values())} deg")
    if vertical is not None:
        engine.measurer.scale = video.scale
        warnings += [w for w in vertical.warnings() if w not in warnings]
    with contextlib.ExitStack() as stack:
        if journal is None:
            store = stack.enter_context(Store.open(opts.db))
            journal = SessionJournal(store, say)
        sid = journal.start(SessionMeta(
            opts.subject, opts.joint.name, opts.side, source=str(opts.source),
            camera=f"recorded visit ({Path(info.name).name}), phases {ph.describe(spans)}",
            pose_model=opts.model, target_reps=None, trials_per_phase=opts.trials,
            resolution=f"{info.width}x{info.height}", camera_profile=opts.camera_profile,
            app_version=__version__, recorded=True,
            phases=ph.describe(spans), neutral_source=source_text, owner=RecordingProcess.this_process(),
            started_at=dated.start.isoformat(timespec="seconds"), dated_from=dated.source,
            **{**set_config, "target_turns": None}),     # a recorded set is not counted to a target
            new_subject=opts.new_subject)
        if vertical is not None:
            journal.write("vertical", source=vertical.source, camera_roll_deg=vertical.camera_roll_deg)
            say(vertical.describe())
            say(engine.measurer.scale.describe())
        say(f"session {sid}: {opts.joint.title}, {opts.side}, subject {opts.subject} (recorded visit)")
        recorder = SessionRecorder(journal, engine, say, targets=False, filmed_at=dated.start)
        finished_reason, t, valid, processed = None, 0.0, 0, 0
        invalid: dict[str, int] = {}
        try:
            for lm in landmarks:
                t = lm.t_s
                valid += recorder.step(lm, opts.save_frames)
                processed += 1
                for problem in set(engine.measurer.problems.values()) - {None}:
                    invalid[problem] = invalid.get(problem, 0) + 1
                if engine.protocol.phase is Phase.DONE:
                    break
            for e in engine.protocol.end_of_stream(t, 1.0 / (info.fps or 30.0)):
                recorder.event(e)
        except KeyboardInterrupt:
            finished_reason = INTERRUPTED_INT
        p = engine.protocol
        reason = finished_reason or f"the video ended during '{p.phase.value}': {waiting_for(p)}"
        spent = analysed.analysis_s + time.monotonic() - started
        stats = SessionStats.counted(processed, valid, invalid, warnings, recording=True,
                                     source_fps=round(info.fps, 2) if info.fps else None,
                                     fps=round(processed / max(spent, 1e-6), 2))
        ended = dated.end(duration if duration is not None else t)
        finished = recorder.finish(t, reason, stats, ended_at=ended.isoformat(timespec="seconds"))
        kept = journal.close()
    return SessionResult(sid, finished, stats, kept_elsewhere=kept)


class DryJournal:
    """A session journal that keeps its records in memory and writes nowhere (the records a
    :class:`SessionJournal` would store, for a preview): ``ops`` in order, ``ops[0]`` the start."""

    def __init__(self):
        self.ops: list[dict] = []
        self.sid: int | None = None

    def start(self, meta: SessionMeta, new_subject: bool = False) -> int:
        self.sid = 0
        self.ops.append({"op": "start", **meta.to_record(), "session_id": self.sid})
        return self.sid

    def write(self, op: str, **fields) -> None:
        record = {"op": op, **fields}
        if op in ("trial", "rep", "turn"):
            record.setdefault("created_at", now_iso())
        self.ops.append(record)

    def flush(self, force: bool = False) -> bool:
        return True

    def close(self, final_wait_s: float | None = None) -> str | None:
        return None

    def records(self, op: str) -> list[dict]:
        """The records of one kind, a discarded trial left out (as the store leaves it out)."""
        gone = {(r["phase"], r["side"], r["trial_no"], r["created_at"]) for r in self.ops if r["op"] == "discard"}
        return [r for r in self.ops if r["op"] == op
                and not (op == "trial" and (r["phase"], r["side"], r["trial_no"], r["created_at"]) in gone)]


@dataclass
class VisitPreview:
    """What :func:`record_analysed_visit` would store for the phases given, kept in memory."""
    result: SessionResult
    journal: DryJournal
    lines: list[str]                  # what it said, as `romcam visit` prints it

    def records(self, op: str) -> list[dict]:
        return self.journal.records(op)


def preview_analysed_visit(opts: SessionOptions, analysed: AnalysedVisit, phases_text: str,
                           neutral_text: str | None = None, recorded_at: str | None = None) -> VisitPreview:
    """:func:`record_analysed_visit` into a :class:`DryJournal`: the trials, reps, turns and
    results the phases given would store, with nothing written anywhere."""
    lines: list[str] = []
    journal = DryJournal()
    result = record_analysed_visit(opts, analysed, phases_text, neutral_text, recorded_at=recorded_at,
                                   say=lines.append, journal=journal)
    return VisitPreview(result, journal, lines)


def visit_angles(opts: SessionOptions, analysed: AnalysedVisit) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every frame's time and raw angle per channel (NaN where unusable, before any neutral), as
    the measurer of a recorded visit reads them (:func:`recording_measurers`)."""
    video = analysed.video
    config = ProtocolConfig(opts.joint, session_sides(opts.joint, opts.side), trials=opts.trials,
                            target_reps=opts.target_reps, **set_config_for(opts.joint, opts.set_kind, opts.target_turns))
    measurer = recording_measurers(config, video.landmarks, video.vertical)()
    t = np.array([lm.t_s for lm in video.landmarks], dtype=float)
    rows = [measurer.update(lm) for lm in video.landmarks]
    return t, {c: np.array([r.get(c, math.nan) for r in rows], dtype=float) for c in measurer.channels}


def _refuse_live_options(opts: SessionOptions) -> None:
    if is_webcam(opts.source):
        raise RomcamError("--phases is for a recorded video, not a webcam (give the video with --source "
                          "visit.mp4, or leave out --phases for a live session)")
    if opts.realtime:
        raise RomcamError("--realtime plays a video like a camera, with romcam's prompts; a recorded visit "
                          "with --phases is analysed frame by frame (leave out --realtime)")
    if opts.record is not None:
        raise RomcamError("--record saves what the camera saw; a recorded visit is already a video "
                          "(leave out --record)")


def recording_measurers(config: ProtocolConfig, landmarks, vertical: Vertical | None = None):
    """A factory of the measurer a recorded visit's protocol is fed by: the angles measured over
    the whole video (once), as ``romcam analyze`` measures them (:class:`SeriesMeasurer`); for
    the ankle and a set of neck circles a fresh live measurer each time (the ankle's set to
    ``vertical``)."""
    if not (is_shin_joint(config.joint) or config.set_kind == "circles"):
        measured = measure_landmarks(config.joint, landmarks, config.sides)
        return lambda: SeriesMeasurer(measured)

    def live():
        measurer = streaming_measurer(config)
        if vertical is not None:
            measurer.set_roll(vertical.roll_deg)
        return measurer
    return live


def recorded_engine(config: ProtocolConfig, landmarks, spans: list[ph.PhaseSpan],
                    neutral_range: tuple[float, float] | None = None,
                    vertical: Vertical | None = None) -> tuple[SessionEngine, NeutralStretch]:
    """The engine of a recorded visit, ready to be fed ``landmarks``: its measurer, the neutral
    found on that measurer's angles (:func:`find_neutral`) and the phases by the clock."""
    measurer = recording_measurers(config, landmarks, vertical)
    stretch, head = find_neutral(config, landmarks, spans, neutral_range, vertical, measurer=measurer())
    protocol = recorded_protocol(config, spans, stretch.values, head)
    return SessionEngine(config, protocol, measurer()), stretch


def find_neutral(config: ProtocolConfig, landmarks, spans: list[ph.PhaseSpan],
                 neutral_range: tuple[float, float] | None,
                 vertical: Vertical | None = None, measurer=None) -> tuple[NeutralStretch, HeadNeutral]:
    """``measurer`` (default: the live one) over every frame, then the neutral: over
    ``neutral_range`` when given, else the stillest stretch up to the end of the first phase,
    else anywhere in the video."""
    if measurer is None:
        measurer = streaming_measurer(config)
        if vertical is not None:
            measurer.set_roll(vertical.roll_deg)
    rows = []
    for lm in landmarks:
        raw = measurer.update(lm)
        tilt = getattr(measurer, "tilt_deg", (math.nan, math.nan))
        rows.append((lm.t_s, [raw.get(c, math.nan) for c in measurer.channels], measurer.turn_deg, *tilt,
                     measurer.flexion_deg))
    t = np.array([r[0] for r in rows])
    raw = np.array([r[1] for r in rows], dtype=float).reshape(len(rows), -1)
    channels = {c: raw[:, k] for k, c in enumerate(measurer.channels)}
    turn, tilt_right, tilt_front, nod = (np.array([r[k] for r in rows], dtype=float) for k in (2, 3, 4, 5))
    if neutral_range is not None:
        stretch = neutral_over(t, channels, *neutral_range)
    else:
        head_turn = turn if config.joint.needs_face else None
        stretch = (stillest_stretch(t, channels, head_turn, search=(0.0, spans[0].end_s))
                   or stillest_stretch(t, channels, head_turn))
        if stretch is None:
            raise RomcamError("no still stretch of looking ahead was found to take the neutral from (give the "
                              "stretch where the person holds the neutral with --neutral, e.g. --neutral 0:02-0:04)")
    head = HeadNeutral(median_over(turn, stretch.frames),
                       (median_over(tilt_right, stretch.frames), median_over(tilt_front, stretch.frames)),
                       median_over(nod, stretch.frames))
    return stretch, head


def describe_neutral(stretch: NeutralStretch, given: str | None, looking: bool = True) -> str:
    """Where the neutral came from, in words (printed, and stored as the session's neutral_source)."""
    span = f"{ph.format_time(stretch.start_s)}-{ph.format_time(stretch.end_s)}"
    if stretch.source == "given":
        return f"over {span} (--neutral {given}; spread {stretch.spread_deg:z.1f} deg)"
    what = "looking ahead" if looking else "standing"
    return f"the stillest {HOLD_S:g} s of {what}, {span} (spread {stretch.spread_deg:z.1f} deg)"
