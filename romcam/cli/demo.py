"""`romcam demo`: the main job on a machine with no webcam and no model file.

A synthetic landmark stream (clearly labelled as such) of a full neck side-bend session:
neutral, 3 before trials near 20 deg, a 40-rep set whose range grows to about 25 deg, and 3
after trials. It goes through everything after the landmark stage (angles, filters, reps,
protocol, storage, report), exactly as a camera session does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from romcam.capture.synthetic import demo_segments, neck_landmarks, script_angles
from romcam.measure.joints import get_joint
from romcam.report.write import check_report_outputs, make_report
from romcam.session.runner import SessionResult, describe_result, run_landmark_session
from romcam.storage.store import Store, resolve_db_path

DEMO_SUBJECT = "DEMO"


def run_demo(db: Path | None = None, out: Path | None = None, side: str = "right", reps: int = 40,
             pdf: bool = False, say: Callable[[str], None] = print,
             overwrite: bool = False) -> tuple[SessionResult, list[Path]]:
    """Run the synthetic session into ``db`` (a new temporary database when None), then write
    its report; returns the result and the report paths."""
    if out is not None:          # checked before anything is written
        check_report_outputs(out, pdf, overwrite, inputs=[resolve_db_path(db)] if db else [])
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="romcam-demo-")) / "demo.sqlite3"
    t, angle, _ = script_angles(demo_segments(side, reps=reps))
    stream = neck_landmarks(t, angle, neutral_offset_deg=2.0, noise_deg=0.15)
    say(f"romcam demo: a SYNTHETIC neck side-bend session ({side} side, {reps} reps), database {db}")
    with Store.open(db) as store:
        result = run_landmark_session(store, DEMO_SUBJECT, get_joint("neck_lateral_flexion"), side, stream,
                                      target_reps=reps, say=say)
        paths = make_report(store, session_id=result.session_id, out=out, pdf=pdf, overwrite=overwrite)
    say(describe_result(result))
    return result, paths
