"""The live state and the camera check as the page gets them (JSON-ready dicts).

The live state is :func:`romcam.session.display.overlay_state` (what the CLI's window draws) with
what the page draws on top of its own video: the trial number, the angle or a dash and why, the
counts against the target, each rep's (or turn's) peak with the before level and its judgement
against the edge of the range (reached or not, the edge, the grade), and a few points of the pose to draw. Angles are rounded to 0.1 deg; ``None`` is a dash.
"""

from __future__ import annotations

import math

import numpy as np

from romcam.capture.landmarks import POSE, FrameLandmarks
from romcam.session.camera_check import CameraCheck
from romcam.session.display import overlay_state
from romcam.session.engine import SessionEngine
from romcam.session.protocol import Phase

DRAWN_POINTS = ("nose", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_hip", "right_hip",
                "left_knee", "right_knee", "left_ankle", "right_ankle", "left_elbow", "right_elbow",
                "left_wrist", "right_wrist", "left_heel", "right_heel", "left_foot_index", "right_foot_index")


def deg(value) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 1)


def points(lm: FrameLandmarks | None) -> dict[str, list[float]]:
    """The pose's visible points, as shares of the frame's width and height (the page scales them)."""
    if lm is None or lm.pose is None or not lm.width or not lm.height:
        return {}
    out = {}
    for name in DRAWN_POINTS:
        p = lm.pose[POSE[name]]
        if p[3] >= 0.5:
            out[name] = [round(float(p[0]) / lm.width, 4), round(float(p[1]) / lm.height, 4)]
    return out


def live_state(engine: SessionEngine, lm: FrameLandmarks | None = None, index: int | None = None) -> dict:
    """What the page draws now (see the module docstring); ``index``: the browser's frame number
    this state answers (the page measures its latency)."""
    p = engine.protocol
    view = overlay_state(engine)
    channel = view.side if p.joint.kind == "limb" else "signed"
    angle = deg(view.angle_deg)
    reason = None
    if angle is None:
        reason = engine.measurer.problems.get(channel) or (p.problems[0] if p.problems else "no usable frame yet")
    trial = None
    if p.phase in (Phase.BEFORE, Phase.AFTER):
        done = min(p.trials_done(s) for s in p.cfg.sides)
        trial = {"n": min(done + 1, p.cfg.trials), "of": p.cfg.trials}
    sides = {}
    for s in p.cfg.sides:
        st = p.sides[s]
        sides[s] = {"before": [deg(r.peak_deg) for r in st.before], "after": [deg(r.peak_deg) for r in st.after],
                    "reps": [deg(r.peak_deg) for r in st.reps],
                    "before_level": deg(float(np.median([r.peak_deg for r in st.before]))) if st.before else None,
                    "angle": deg(p.current_angle(s)),
                    "edges": [{"edge": deg(e.edge_deg), "reached": e.reached, "beyond": e.beyond, "grade": e.grade}
                              for e in (st.edge.reps if st.edge is not None else [])]}
    state = {"kind": "state", "index": index, "phase": p.phase.value, "prompt": view.prompt,
             "progress": view.progress, "trial": trial, "side": view.side, "angle": angle, "reason": reason,
             "sides": sides, "set_kind": p.cfg.set_kind,
             "target": p.cfg.target_turns if p.circles else p.cfg.target_reps,
             "count": len(p.turns) if p.circles else min(len(p.sides[s].reps) for s in p.cfg.sides),
             "warnings": view.warnings, "points": points(lm), "edge_text": view.edge_text}
    if p.circles:
        state["turns"] = {s: [deg(t.extreme(s)) if t.extreme(s) is not None else None for t in p.turns]
                          for s in ("right", "left")}
        state["turn_text"] = view.turn_text
    return state


def check_state(check: CameraCheck, ready: bool, lm: FrameLandmarks | None, index: int | None) -> dict:
    """The camera check for the page: the instructions, and ``ready`` once the view held; the
    camera's roll (None: not judged) and where it was read."""
    return {"kind": "check", "index": index, "problems": list(check.problems), "ready": ready,
            "light": check.light, "points": points(lm), "camera_roll": deg(check.level.roll_deg),
            "level_source": check.level.source}
