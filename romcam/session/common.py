"""What every session runner shares (live, recorded visit, landmark stream): the options, the
result, the statistics stored with a session, the sides and the set's kind, and what a protocol
is waiting for, in words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from romcam.errors import RomcamError
from romcam.measure.joints import Joint
from romcam.measure.series import with_advice
from romcam.session.protocol import Finished, Phase, Protocol

INTERRUPTED_INT = "interrupted (Ctrl-C)"
INTERRUPTED_TERM = "interrupted (SIGTERM)"


@dataclass
class SessionOptions:
    joint: Joint
    side: str                         # "left", "right" or "both"
    subject: str
    source: str = "0"
    target_reps: int = 40
    trials: int = 3
    db: str | None = None
    window: bool = True
    realtime: bool = False            # play a video file like a camera (frames dropped if slow)
    mirrored: bool = False
    model: str = "full"
    model_dir: str | None = None
    record: Path | None = None
    camera_profile: str | None = None
    save_frames: bool = True
    set_kind: str = "reps"            # "circles": the set is neck circles (turns counted)
    target_turns: int = 40
    quiet: bool = False               # no tick per turn or per rep at the edge, no sound at the target
    overwrite: bool = False           # --record may replace a file romcam did not write
    new_subject: bool = False         # a code differing only by case from a known one is new
    scale_target: str = "board"       # the ankle: what gives the scale for the knee over toe in cm


@dataclass
class SessionStats:
    """How a session's frames went: stored with the session (:meth:`to_dict`) and printed.
    ``None``: not measured in this kind of session (latency for a recording, say)."""
    frames_processed: int = 0
    frames_captured: int = 0
    frames_dropped: int = 0
    valid_share: float | None = None      # share of the analysed frames with a usable angle
    live: bool = False
    recording: bool = False               # a recorded visit (--phases)
    fps: float | None = None              # frames analysed per second of wall time
    source_fps: float | None = None
    dropped_share: float | None = None
    latency_ms_median: float | None = None
    latency_ms_p95: float | None = None
    cpu_s: float | None = None
    cores_busy: float | None = None       # average CPU cores the loop kept busy
    frames_drawn: int | None = None       # views put on screen (a live window)
    leg_swaps_repaired: int | None = None  # the ankle
    invalid_frames: dict[str, int] = field(default_factory=dict)   # why frames were not usable, most first
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def counted(cls, processed: int, valid: int, invalid: dict[str, int], warnings=(), **fields) -> SessionStats:
        """Stats from the frame counts: the usable share, the reasons sorted (most first), and a
        warning for every reason that cost over a fifth of the frames."""
        stats = cls(frames_processed=processed, frames_captured=fields.pop("frames_captured", processed),
                    valid_share=round(valid / processed, 4) if processed else None,
                    invalid_frames=dict(sorted(invalid.items(), key=lambda kv: -kv[1])),
                    warnings=list(warnings), **fields)
        for problem, n in stats.invalid_frames.items():
            if processed and n > 0.2 * processed:
                stats.warnings.append(f"{n / processed:.0%} of frames not usable: {with_advice(problem)}")
        return stats

    def to_dict(self) -> dict:
        """The stored form: every measured field (those left None are left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class SessionResult:
    session_id: int
    finished: Finished
    stats: SessionStats = field(default_factory=SessionStats)
    kept_elsewhere: str | None = None   # why and where records the database did not take are kept

    @property
    def exit_code(self) -> int:
        """0 complete (or stopped by the user), 130 Ctrl-C, 143 SIGTERM, 1 otherwise (the video
        ended first, the camera stopped, records kept outside the database)."""
        reason = self.finished.reason or ""
        if self.kept_elsewhere:
            return 1
        if reason == INTERRUPTED_TERM:
            return 143
        if reason == INTERRUPTED_INT:
            return 130
        return 0 if self.finished.complete or reason.startswith("stopped by the user") else 1


def waiting_for(p: Protocol) -> str:
    """What the protocol is waiting for in its current phase, in words."""
    n = p.cfg.trials
    if p.phase is Phase.SETUP:
        return "waiting for the person to be in view" + (f" ({p.problems[0]})" if p.problems else "")
    if p.phase is Phase.NEUTRAL:
        return "waiting for a still hold"
    if p.phase in (Phase.BEFORE, Phase.AFTER):
        todo = [(s, p.trials_done(s)) for s in p.sides if p.trials_done(s) < n]
        return f"waiting for {todo[0][0]} trial {todo[0][1] + 1} of {n}" if todo else "waiting to go on"
    if p.phase is Phase.SET:
        side, st = min(p.sides.items(), key=lambda kv: len(kv[1].reps))
        return f"waiting for {side} rep {len(st.reps) + 1} of {p.cfg.target_reps}"
    return "done"


def session_sides(joint: Joint, side: str) -> tuple[str, ...]:
    """The sides a session measures: one, or both for a front-view joint."""
    if side not in ("left", "right", "both"):
        raise RomcamError(f"unknown side {side!r}; use left, right or both")
    if side == "both" and joint.view == "side":
        raise RomcamError(f"{joint.title} is measured from the side, one leg or arm at a time: "
                          "--side both is not possible; give --side left or --side right")
    return ("left", "right") if side == "both" else (side,)


def set_config_for(joint: Joint, set_kind: str, target_turns: int) -> dict:
    """The set's kind for the protocol and the store; circles are a neck set."""
    if set_kind not in ("reps", "circles"):
        raise RomcamError(f"unknown set {set_kind!r}; use reps or circles")
    if set_kind == "circles" and joint.name != "neck_lateral_flexion":
        raise RomcamError(f"a set of circles is a neck exercise: use --joint neck-side-bend with --set circles "
                          f"(not {joint.title})")
    return {"set_kind": "circles", "target_turns": target_turns} if set_kind == "circles" else {}
