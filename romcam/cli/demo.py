"""`romcam demo`: the main job on a machine with no webcam and no model file.

A synthetic landmark stream (clearly labelled as such) of a full neck side-bend session:
neutral, 3 before trials near 20 deg, a 40-rep set whose range grows to about 25 deg, and 3
after trials. It goes through everything after the landmark stage (angles, filters, reps,
protocol, storage, report), exactly as a camera session does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from collections.abc import Callable

import numpy as np

from romcam.capture.synthetic import Segment, demo_segments, neck_landmarks, script_angles, tilt_landmarks, \
    tilt_pose
from romcam.measure.joints import get_joint
from romcam.measure.turns import circle_stream
from romcam.report.pdf import check_pdf_writer
from romcam.report.write import check_report_outputs, make_report
from romcam.session.runner import SessionResult, describe_result, run_landmark_session
from romcam.storage.store import Store, resolve_db_path

DEMO_SUBJECT = "DEMO"


def run_demo(db: Path | None = None, out: Path | None = None, side: str = "right", reps: int = 40,
             pdf: bool = False, say: Callable[[str], None] = print,
             overwrite: bool = False) -> tuple[SessionResult, list[Path]]:
    """Run the synthetic session into ``db`` (a new temporary database when None), then write
    its report; returns the result and the report paths."""
    def stream():
        t, angle, _ = script_angles(demo_segments(side, reps=reps))
        return neck_landmarks(t, angle, neutral_offset_deg=2.0, noise_deg=0.15)
    return _run(db, out, pdf, overwrite, say, stream, side,
                f"a SYNTHETIC neck side-bend session ({side} side, {reps} reps)", target_reps=reps)


def _run(db, out, pdf, overwrite, say, stream, side, what, **session) -> tuple[SessionResult, list[Path]]:
    """A synthetic session into ``db`` (a new temporary database when None), then its report."""
    if out is not None:          # checked before anything is written
        check_report_outputs(out, pdf, overwrite, inputs=[resolve_db_path(db)] if db else [])
    elif pdf:
        check_pdf_writer()       # no WeasyPrint: one line now, not after the session
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="romcam-demo-")) / "demo.sqlite3"
    landmarks = stream()
    say(f"romcam demo: {what}, database {db}")
    with Store.open(db) as store:
        result = run_landmark_session(store, DEMO_SUBJECT, get_joint("neck_lateral_flexion"), side, landmarks,
                                      say=say, **session)
        paths = make_report(store, session_id=result.session_id, out=out, pdf=pdf, overwrite=overwrite)
    say(describe_result(result))
    return result, paths


CIRCLE_PERIOD_S = 3.0
FPS = 30.0


def circle_segments(turns: int = 40, block: int = 5, start_deg: float = 20.0, end_deg: float = 25.4,
                    seed: int = 5) -> list[tuple]:
    """:func:`romcam.measure.turns.circle_stream` segments of a set of circles: a slow start from
    upright, ``turns`` circles in blocks of ``block`` alternating clockwise and counter-clockwise
    (each block 30 deg past its last whole turn, as a person turns back), the tilt growing from
    ``start_deg`` to ``end_deg`` (+-0.2 deg, levelling off), then a slow return to upright."""
    rng = np.random.default_rng(seed)
    k = np.arange(turns)
    amp = start_deg + (end_deg - start_deg) * (1.0 - np.exp(-k / 10.0)) / (1.0 - np.exp(-(turns - 1) / 10.0))
    amp = amp + rng.normal(0.0, 0.2, turns)
    segs: list[tuple] = [(0.0, 0.5, 0.0, 0.0), (0.0, 1.0, (0.0, amp[0]), (0.0, amp[0]))]
    for b in range(0, turns, block):
        sign = 1.0 if (b // block) % 2 == 0 else -1.0
        segs += [(sign * 360.0, CIRCLE_PERIOD_S, a, a) for a in amp[b:b + block]]
        a = amp[min(b + block, turns) - 1]
        segs.append((sign * 30.0, CIRCLE_PERIOD_S * 30.0 / 360.0, a, a))
    segs.append((0.0, 1.0, (amp[-1], 0.0), (amp[-1], 0.0)))
    return segs


def circles_stream(turns: int = 40, seed: int = 7):
    """A SYNTHETIC neck-circles session: setup, neutral, 3 side-bend trials per side near 20 deg,
    ``turns`` circles growing 20 -> 25 deg, a pause, 3 trials per side near 25 deg. Landmarks
    with exact head poses (:func:`romcam.capture.synthetic.tilt_landmarks`) on a personal neutral
    (2 deg to the right, 3 deg chin down)."""
    rng = np.random.default_rng(seed)
    head = [Segment("setup", (), 1.5), Segment("neutral", (), 2.5),
            Segment("before", (19.6, -20.2, 20.4, -19.8, 20.0, -20.0)), Segment("rest", (), 1.0)]
    tail = [Segment("rest", (), 11.0), Segment("after", (24.7, -25.1, 25.3, -24.8, 25.0, -25.0)),
            Segment("rest", (), 1.0)]
    t1, lat1, _ = script_angles(head, FPS)
    c = circle_stream(circle_segments(turns), fps=FPS, phi0_deg=0.0)
    t3, lat3, _ = script_angles(tail, FPS)
    lateral = np.concatenate([lat1, c["lateral"][1:], lat3])
    forward = np.concatenate([np.zeros_like(lat1), c["forward"][1:], np.zeros_like(lat3)])
    lateral = lateral + rng.normal(0.0, 0.1, lateral.shape)
    forward = forward + rng.normal(0.0, 0.1, forward.shape)
    t = np.arange(len(lateral)) / FPS
    return tilt_landmarks(t, lateral, forward, neutral=tilt_pose(2.0, 3.0))


def run_circles_demo(db: Path | None = None, out: Path | None = None, turns: int = 40, pdf: bool = False,
                     say: Callable[[str], None] = print, overwrite: bool = False) -> tuple[SessionResult, list[Path]]:
    """The synthetic neck-circles session into ``db`` (a new temporary database when None), then its
    report; returns the result and the report paths."""
    return _run(db, out, pdf, overwrite, say, lambda: circles_stream(turns), "both",
                f"a SYNTHETIC neck-circles session ({turns} turns growing 20 -> 25 deg)",
                target_reps=turns, set_kind="circles", target_turns=turns)
