"""What a session writes to the store as the protocol's events arrive: trials, reps, turns, the
neutral, the per-frame angles in batches, the finish (all through the session's journal, which
never lets the live loop wait for the database), and the lines said about them."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from collections.abc import Callable

from romcam.capture.landmarks import FrameLandmarks
from romcam.session.common import SessionStats
from romcam.session.display import deg_text as _deg
from romcam.session.engine import SessionEngine
from romcam.session.setup_check import with_option
from romcam.session.protocol import (Finished, NeutralMeasured, Phase, PhaseStarted, RepDone, TrialDiscarded,
                                     TrialDone, TurnDone, TurnIgnored)
from romcam.session.sound import Sounder
from romcam.storage.journal import SessionJournal

FRAME_BATCH_S = 1.0


class SessionRecorder:
    """Everything the runner writes to the store, as protocol events arrive."""

    def __init__(self, journal: SessionJournal, engine: SessionEngine, say: Callable[[str], None],
                 prompts: bool = False, sounder: Sounder | None = None, targets: bool = True,
                 filmed_at: datetime | None = None):
        self.journal, self.sid, self.engine, self.say = journal, journal.sid, engine, say
        self.targets = targets            # False: a recorded visit's set has no target to count to
        self.filmed_at = filmed_at        # a recorded visit: records are stamped with the time they were filmed
        self.sounder = sounder or Sounder(quiet=True)
        self.trial_keys: dict[tuple, str] = {}
        self.rows: dict[str | None, list] = {}
        self.last_flush = -math.inf
        self.prompts = prompts            # headless: print every change of the prompt
        self.last_prompt: str | None = None

    def stamp(self, t_s: float | None) -> dict:
        """A recorded visit's record is created when it was filmed (video time ``t_s``); a live
        one now (the journal's default)."""
        if self.filmed_at is None or t_s is None:
            return {}
        return {"created_at": (self.filmed_at + timedelta(seconds=float(t_s))).isoformat(timespec="seconds")}

    def heel(self, side: str, peak_s: float) -> bool | None:
        """The ankle's heel at a peak (None for other joints)."""
        measurer = self.engine.measurer
        return measurer.heel_lifted(side, peak_s) if hasattr(measurer, "heel_lifted") else None

    def knee_cm(self, side: str, rep) -> float | None:
        """The ankle's knee over toe in cm at a peak (None for other joints, or without a scale)."""
        m = self.engine.measurer
        return m.knee_over_toe_cm(side, rep.start_s, rep.peak_s) if hasattr(m, "knee_over_toe_cm") else None

    def event(self, e) -> None:
        p = self.engine.protocol
        if isinstance(e, PhaseStarted) and e.phase is not Phase.DONE:
            self.say(f"[{e.t:6.1f} s] {e.phase.value}: {p.prompt}")
            self.last_prompt = p.prompt
        elif isinstance(e, NeutralMeasured):
            values = list(e.neutral_deg.values())
            self.journal.write("neutral", neutral_deg=values[0] if len(values) == 1 else None)
            self.say(f"[{e.t:6.1f} s] neutral: {', '.join(f'{v:z.1f}' for v in values)} deg")
        elif isinstance(e, TrialDone):
            heel, cm = self.heel(e.side, e.rep.peak_s), self.knee_cm(e.side, e.rep)
            self.journal.write("trial", phase=e.phase.value, side=e.side, trial_no=e.trial_no,
                               peak_deg=float(e.rep.peak_deg), start_s=e.rep.start_s, peak_s=e.rep.peak_s,
                               end_s=e.rep.end_s, heel_lifted=heel, knee_over_toe_cm=cm, **self.stamp(e.rep.end_s))
            self.trial_keys[(e.phase, e.side, e.trial_no)] = self.journal.ops[-1]["created_at"]
            self.say(f"[{e.rep.end_s:6.1f} s] {e.phase.value} trial {e.trial_no}/{p.cfg.trials} {e.side}: "
                     f"{e.rep.peak_deg:z.1f} deg" + (f", knee over toe {cm:+z.1f} cm" if cm is not None else "")
                     + (" (HEEL LIFTED: redo it with the heel down, key r)" if heel else ""))
        elif isinstance(e, TrialDiscarded):
            self.journal.write("discard", phase=e.phase.value, side=e.side, trial_no=e.trial_no,
                               created_at=self.trial_keys.pop((e.phase, e.side, e.trial_no)))
            self.say(f"{e.phase.value} trial {e.trial_no} {e.side} discarded: do it again")
        elif isinstance(e, TurnIgnored):
            self.say(f"[{e.rep.end_s or e.rep.peak_s:6.1f} s] {e.phase.value}: an excursion of "
                     f"{e.rep.peak_deg:z.1f} deg to the {e.side} came with {e.turn_deg:.0f} deg of head turn; "
                     f"a head turn, not counted")
        elif isinstance(e, RepDone):
            heel, cm = self.heel(e.side, e.rep.peak_s), self.knee_cm(e.side, e.rep)
            self.journal.write("rep", side=e.side, rep_no=e.rep_no, peak_deg=float(e.rep.peak_deg), start_s=e.rep.start_s,
                               peak_s=e.rep.peak_s, end_s=e.rep.end_s, heel_lifted=heel, knee_over_toe_cm=cm,
                               edge=e.edge.as_dict() if e.edge is not None else None, **self.stamp(e.rep.end_s))
            self.say(f"[{e.rep.end_s:6.1f} s] set rep {self.of(e.rep_no, p.cfg.target_reps)} {e.side}: "
                     f"peak {e.rep.peak_deg:z.1f} deg" + (f", knee over toe {cm:+z.1f} cm" if cm is not None else "")
                     + (" (heel lifted)" if heel else "")
                     + (f"; {e.edge.describe()}, grade {e.edge.grade}" if e.edge is not None else ""))
            if e.edge is not None and e.edge.reached:
                self.sounder.tick()
        elif isinstance(e, TurnDone):
            self.turn(e)

    def of(self, count: int, target: int) -> str:
        """'7/40' while counting to a target, '7' when there is none."""
        return f"{count}/{target}" if self.targets else str(count)

    def turn(self, e: TurnDone) -> None:
        """A completed neck circle: stored at once, a tick (or the target sound), one line printed."""
        t, p = e.turn, self.engine.protocol
        edge_side, judged = next(iter(e.edges.items()), (None, None))
        self.journal.write("turn", turn_no=t.index, direction=t.direction, start_s=t.start_s, end_s=t.end_s,
                           right_deg=t.right_extreme_deg, left_deg=t.left_extreme_deg,
                           forward_deg=t.forward_extreme_deg, backward_deg=t.backward_extreme_deg,
                           edge_side=edge_side, edge=judged.as_dict() if judged is not None else None,
                           **self.stamp(t.end_s))
        (self.sounder.target if t.index == p.cfg.target_turns else self.sounder.tick)()
        self.say(f"[{t.end_s:6.1f} s] turn {self.of(t.index, p.cfg.target_turns)} "
                 f"{'clockwise' if t.direction == 'cw' else 'counter-clockwise'} "
                 f"(clockwise {e.counts['cw']}, counter {e.counts['ccw']}): "
                 f"right {_deg(t.right_extreme_deg)}, left {_deg(t.left_extreme_deg)}, "
                 f"forward {_deg(t.forward_extreme_deg)}, back {_deg(t.backward_extreme_deg)} deg"
                 + "".join(f"; {side}: {judged.describe()}" for side, judged in e.edges.items()))

    def step(self, lm: FrameLandmarks, save_frame: bool = True) -> bool:
        """One frame through the engine, its events stored; returns whether the frame was usable."""
        for e in self.engine.step(lm):
            self.event(e)
        prompt = self.engine.protocol.prompt
        if self.prompts and prompt != self.last_prompt and self.engine.protocol.phase is not Phase.DONE:
            # the command line's own printing: an instruction with its option ("(--side left)")
            self.say(f"[{lm.t_s:6.1f} s] {self.engine.protocol.phase.value}: {with_option(prompt)}")
            self.last_prompt = prompt
        if save_frame:
            self.frame(lm.t_s)
        return any(math.isfinite(v) for v in self.engine.last_raw.values())

    def finish(self, t: float, reason: str, stats: SessionStats, ended_at: str | None = None) -> Finished:
        """End the protocol (if it is not done yet) and close the session in the store (``ended_at``:
        now unless given)."""
        for e in self.engine.protocol.stop(t, reason):
            self.event(e)
        self.flush()
        finished = self.engine.protocol.finished
        self.journal.write("finish", status="complete" if finished.complete else "incomplete",
                           end_reason=None if finished.complete else finished.reason,
                           results=[vars(o) for o in finished.outcomes], stats=stats.to_dict(),
                           **({"ended_at": ended_at} if ended_at else {}))
        return finished

    def frame(self, t: float) -> None:
        p, m = self.engine.protocol, self.engine.measurer
        for channel, raw in self.engine.last_raw.items():
            side = channel if channel != "signed" else None
            value = p.reported(channel, raw) if math.isfinite(raw) else None
            reason = None if value is not None else (m.problems.get(channel) or "not measurable")
            self.rows.setdefault(side, []).append((t, p.phase.value, value, value is not None, m.turn_deg,
                                                   m.flexion_deg, reason))
        if t - self.last_flush >= FRAME_BATCH_S:
            self.flush(t)
        else:
            self.journal.flush()          # pass on what the journal's writer noticed (cheap)

    def flush(self, t: float = math.inf) -> None:
        for side, rows in self.rows.items():
            if rows:
                self.journal.write("frames", rows=rows, side=side)
        self.rows = {}
        self.last_flush = t
