"""Running a recorded visit: a video filmed without romcam's prompts, with the phases given.

``romcam session --source visit.mp4 --phases "before=0:35,set=35:160,after=160:190"``:

1. the phases (and ``--neutral``) are parsed and checked against the video's length before
   any long work;
2. the landmarks of every frame, as ``romcam analyze`` reads them (two cores, progress bar);
3. the live measurer over them once, to find the neutral: the stretch given with ``--neutral``,
   else the stillest 1.5 s of looking ahead up to the end of *before* (then anywhere), said;
4. the live engine and recorder over them again, with :class:`RecordedProtocol` moving the
   phases by the clock: trials, reps, frames and results stored as a live session's are,
   marked as a recording (``stats["meta"]``: ``recording``, ``phases``, ``neutral_source``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from collections.abc import Callable

import numpy as np

from romcam import __version__
from romcam.capture.recording_date import recording_start
from romcam.errors import RomcamError
from romcam.measure.ankle import Vertical, is_shin_joint
from romcam.measure.neutral import HOLD_S, MAX_SD_DEG, NeutralStretch, median_over, neutral_over, stillest_stretch
from romcam.measure.series import with_advice
from romcam.session import phases as ph
from romcam.session.engine import SessionEngine, streaming_measurer
from romcam.session.protocol import Phase, ProtocolConfig
from romcam.session.recorder import SessionRecorder
from romcam.session.runner import (INTERRUPTED_INT, SessionOptions, SessionResult, set_config_for,
                                   session_sides, waiting_for)
from romcam.session.visit import HeadNeutral, RecordedProtocol
from romcam.storage.journal import SessionJournal
from romcam.storage.rows import owner_meta
from romcam.storage.store import Store, clean_subject_code


def run_recorded_visit(opts: SessionOptions, phases_text: str, neutral_text: str | None = None, *,
                       recorded_at: str | None = None,
                       workers: int = 2, progress: bool = True,
                       say: Callable[[str], None] = print) -> SessionResult:
    """Analyse a recorded visit with the phases given and store it as a session."""
    from romcam.capture.pipeline import ModelChoice, extract_landmarks
    from romcam.capture.sources import open_source

    sides = session_sides(opts.joint, opts.side)
    clean_subject_code(opts.subject)
    spans = ph.parse_phases(phases_text)
    neutral_range = ph.parse_range(neutral_text, "--neutral") if neutral_text else None
    _refuse_live_options(opts)
    set_config = set_config_for(opts.joint, opts.set_kind, opts.target_turns)
    profile = None
    if opts.camera_profile:
        from romcam.calibration import load_profile
        profile = load_profile(opts.camera_profile)
    with open_source(opts.source, mirrored=opts.mirrored) as probe:
        info = probe.info
    if profile is not None:
        from romcam.calibration import scaled_camera_matrix
        scaled_camera_matrix(profile, info.width, info.height)
    duration = info.frame_count / info.fps if info.frame_count and info.fps else None
    spans, notes = ph.fit_to_video(spans, duration)
    if neutral_range is not None:
        ph.check_range_in_video(*neutral_range, duration, "--neutral")
    dated = recording_start(opts.source, duration, recorded_at)
    models = ModelChoice.resolve(opts.model, opts.joint.needs_face, opts.model_dir, progress=progress)

    started = time.monotonic()
    landmarks, info = extract_landmarks(opts.source, models, mirrored=opts.mirrored, workers=workers,
                                        progress=progress)
    if profile is not None:
        from romcam.calibration import undistort_series
        landmarks = undistort_series(landmarks, profile, info.width, info.height)
    if not any(lm.pose is not None for lm in landmarks):
        raise RomcamError(f"no person was found in any of the {len(landmarks)} frames of {info.name}, so no "
                          f"session was stored (check that this is the right video, with the person in view)")
    warnings = list(notes)
    if info.frame_count and len(landmarks) < info.frame_count - max(2, 0.02 * info.frame_count):
        warnings.append(f"the video file ended early: {len(landmarks)} of {info.frame_count} frames could be "
                        f"decoded (truncated or damaged?)")
    config = ProtocolConfig(opts.joint, sides, trials=opts.trials, target_reps=opts.target_reps, **set_config)
    vertical = _vertical(opts, profile, landmarks) if is_shin_joint(opts.joint) else None
    stretch, head = find_neutral(config, landmarks, spans, neutral_range, vertical)
    source_text = describe_neutral(stretch, neutral_text, looking=opts.joint.needs_face)
    if not stretch.still:
        warnings.append(f"the neutral stretch was not still (spread {stretch.spread_deg:.1f} deg, over the "
                        f"live hold's {MAX_SD_DEG:.1f}): check it, or give --neutral")
    say(f"recorded visit {Path(info.name).name}: {ph.describe(spans)}")
    say(f"filmed {dated.start:%Y-%m-%d %H:%M} (from {dated.source}"
        f"{'' if dated.source == '--recorded-at' else '; give --recorded-at if that is wrong'})")
    say(f"neutral: {source_text}: {', '.join(f'{v:.1f}' for v in stretch.values.values())} deg")

    engine = SessionEngine(config, RecordedProtocol(config, spans, stretch.values, head))
    if vertical is not None:
        from romcam.calibration.scale import parse_scale_target, scale_from_video

        engine.measurer.set_roll(vertical.roll_deg)
        warnings += [w for w in vertical.warnings() if w not in warnings]
        engine.measurer.scale = scale_from_video(opts.source, parse_scale_target(opts.scale_target),
                                                 mirrored=opts.mirrored, roll_deg=vertical.roll_deg, profile=profile)
    with Store.open(opts.db) as store:
        journal = SessionJournal(store, say)
        sid = journal.start(
            opts.subject, opts.joint.name, opts.side, source=str(opts.source),
            camera=f"recorded visit ({Path(info.name).name}), phases {ph.describe(spans)}",
            pose_model=opts.model, target_reps=None, trials_per_phase=opts.trials,
            resolution=f"{info.width}x{info.height}", camera_profile=opts.camera_profile,
            app_version=__version__, new_subject=opts.new_subject, recording=True,
            phases=ph.describe(spans), neutral_source=source_text, **owner_meta(),
            started_at=dated.start.isoformat(timespec="seconds"), dated_from=dated.source,
            **{**set_config, "target_turns": None})      # a recorded set is not counted to a target
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
            for e in engine.protocol.end_of_recording(t, 1.0 / (info.fps or 30.0)):
                recorder.event(e)
        except KeyboardInterrupt:
            finished_reason = INTERRUPTED_INT
        p = engine.protocol
        reason = finished_reason or f"the video ended during '{p.phase.value}': {waiting_for(p)}"
        stats = _stats(processed, valid, invalid, info, warnings)
        stats["fps"] = round(processed / max(time.monotonic() - started, 1e-6), 2)   # the whole analysis
        ended = dated.end(duration if duration is not None else t)
        finished = recorder.finish(t, reason, stats, ended_at=ended.isoformat(timespec="seconds"))
        kept = journal.close()
    return SessionResult(sid, finished, stats, kept_elsewhere=kept)


def _refuse_live_options(opts: SessionOptions) -> None:
    if str(opts.source).isdigit():
        raise RomcamError("--phases is for a recorded video, not a webcam (give the video with --source "
                          "visit.mp4, or leave out --phases for a live session)")
    if opts.realtime:
        raise RomcamError("--realtime plays a video like a camera, with romcam's prompts; a recorded visit "
                          "with --phases is analysed frame by frame (leave out --realtime)")
    if opts.record is not None:
        raise RomcamError("--record saves what the camera saw; a recorded visit is already a video "
                          "(leave out --record)")


def _vertical(opts: SessionOptions, profile, landmarks) -> Vertical:
    """The ankle's true vertical: the profile's measured roll, else the scene's (as analyze reads it)."""
    from romcam.session.vertical import profile_vertical

    vertical = profile_vertical(profile)
    if vertical is not None:
        return vertical
    from romcam.calibration.scene_level import estimate_video_roll

    e = estimate_video_roll(opts.source, [lm.pose for lm in landmarks], mirrored=opts.mirrored)
    return Vertical.from_scene(e.roll_deg, e.confidence, e.confident)


def find_neutral(config: ProtocolConfig, landmarks, spans: list[ph.PhaseSpan],
                 neutral_range: tuple[float, float] | None,
                 vertical: Vertical | None = None) -> tuple[NeutralStretch, HeadNeutral]:
    """The live measurer over every frame, then the neutral: over ``neutral_range`` when given,
    else the stillest stretch up to the end of the first phase, else anywhere in the video."""
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
        return f"over {span} (--neutral {given}; spread {stretch.spread_deg:.1f} deg)"
    what = "looking ahead" if looking else "standing"
    return f"the stillest {HOLD_S:g} s of {what}, {span} (spread {stretch.spread_deg:.1f} deg)"


def _stats(processed: int, valid: int, invalid: dict, info, warnings: list[str]) -> dict:
    out = {"frames_captured": processed, "frames_processed": processed, "frames_dropped": 0,
           "source_fps": round(info.fps, 2) if info.fps else None,
           "valid_share": round(valid / processed, 4) if processed else None, "live": False,
           "recording": True, "warnings": list(warnings),
           "invalid_frames": dict(sorted(invalid.items(), key=lambda kv: -kv[1]))}
    for problem, n in out["invalid_frames"].items():
        if processed and n > 0.2 * processed:
            out["warnings"].append(f"{n / processed:.0%} of frames not usable: {with_advice(problem)}")
    return out
