"""The session protocol as a pure state machine: setup -> neutral -> before -> set -> after -> done.

Feed it one :class:`Sample` per frame (raw angles per channel, NaN where the frame is not
usable, and the setup problems seen in that frame); it returns the events that happened
(phase changes, trials, reps) and keeps what the live view shows (prompt, "23/40", peaks).
Keys arrive as :meth:`Protocol.command` ("next", "redo", "quit"). No camera, window, file or
database in here: the session runner does that with the events.

* **setup**: the person is in view, the needed landmarks are visible and the camera view is
  right for the joint, continuously for ``setup_hold_s``.
* **neutral**: a still hold (``neutral_hold_s`` with a spread under ``neutral_max_sd_deg``);
  its median is the neutral. Neck joints are reported relative to it (docs/concepts/zero.md);
  limb joints keep their anatomical zero and use the neutral for rep detection only.
* **before** / **after**: ``trials`` maximal excursions per side; a trial is one excursion
  from near-neutral and back, found with the joint's rep thresholds.
* **set**: reps counted to ``target_reps`` per side as oscillations
  (:class:`romcam.measure.reps.OscillationCounter`: a share of the before range from each rep's own
  low, so rocking at the end of the range counts one by one; the joint's typical range before one is
  known); it ends at the target or after ``set_pause_s`` without a rep. With
  ``set_kind="circles"`` (neck) the set is neck circles instead: turns counted
  (:mod:`romcam.measure.turns`) on the head's tilt relative to the neutral, to ``target_turns``
  or until ``set_pause_s`` passes without a turn; each turn's side-bend and nod extremes are
  re-read from the zero-phase-filtered samples of its own window, like a rep's peak.
* **done**: per side, :func:`romcam.measure.outcome.side_outcome`.

What moves the phases on is a :class:`PhasePolicy` the protocol is given: :class:`LivePhases`
(the default: on by itself when the prompt's task is done) or a recorded visit's clock
(:class:`romcam.session.visit.RecordedPhases`: the phases' given times).

Detection runs on a One-Euro-filtered angle (causal); the peak of each finished trial or rep
is then re-read from the zero-phase-filtered raw samples of its own window, so live peaks are
the same numbers an offline analysis gives (no lag, no shaving).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Protocol as Interface

import numpy as np

from romcam.measure.analysis import head_turn_during, is_head_turn
from romcam.measure.edge import EdgeTracker, RepEdge, SetEdge
from romcam.measure.ankle import glitch_options
from romcam.measure.filters import OneEuro, reject_glitches, zero_phase
from romcam.measure.joints import Joint
from romcam.measure.outcome import mdc95, pooled_sem, side_outcome
from romcam.measure.reps import OscillationCounter, Rep, RepCounter, RepThresholds, SwingThresholds
from romcam.measure.series import channel_names
from romcam.measure.turns import Turn, TurnCounter, with_extremes
from romcam.session.events import (ORDER, Finished, NeutralMeasured, Phase, PhaseStarted, RepDone, TrialDiscarded,
                                   TrialDone, TurnDone, TurnIgnored)


@dataclass(frozen=True)
class ProtocolConfig:
    joint: Joint
    sides: tuple[str, ...]            # the person's sides measured: ("right",) or ("left", "right")
    trials: int = 3
    target_reps: int = 40
    setup_hold_s: float = 1.0
    neutral_hold_s: float = 1.5
    neutral_max_sd_deg: float = 1.5
    neutral_min_seen: float = 0.8     # share of the hold's frames that must be usable (seen)
    set_pause_s: float = 10.0
    set_thresholds: RepThresholds | None = None   # None: scaled from the before range
    set_kind: str = "reps"            # "reps" or "circles" (neck: turns counted instead of reps)
    target_turns: int = 40


@dataclass(frozen=True)
class Sample:
    t: float
    angles: dict[str, float]          # channel ("signed" or a side) -> raw angle, NaN = unusable
    setup_problems: tuple[str, ...] = ()
    turn_deg: float = math.nan        # head joints: the head turn (about the trunk's vertical)
    tilt_deg: tuple[float, float] = (math.nan, math.nan)   # head: tilt towards the right, the front
    flexion_deg: float = math.nan     # head joints: the nod (+ = chin down)


# ---- what moves the phases on ----------------------------------------------------------------

class PhasePolicy(Interface):
    """What moves a :class:`Protocol` from phase to phase."""

    #: the protocol goes on by itself when a phase's task is done (the hold, the trials, the set)
    moves_on_by_itself: bool

    def before_frame(self, p: Protocol, t: float) -> list:
        """Called before each frame is counted; returns the events of any phase change it made."""

    def counts(self, p: Protocol, t: float) -> bool:
        """Whether a frame at ``t`` counts towards the current phase's trials, reps or turns."""

    def prompt(self, p: Protocol) -> str | None:
        """The prompt instead of the person's instructions, or None for those."""

    def end_of_stream(self, p: Protocol, t: float, frame_s: float) -> list:
        """The frames ran out at ``t``: the events of any last phase change."""


class LivePhases:
    """A live session: the protocol moves on when the person has done what the prompt asked."""

    moves_on_by_itself = True

    def before_frame(self, p: Protocol, t: float) -> list:
        return []

    def counts(self, p: Protocol, t: float) -> bool:
        return True

    def prompt(self, p: Protocol) -> str | None:
        return None

    def end_of_stream(self, p: Protocol, t: float, frame_s: float) -> list:
        return []


# ---- the machine --------------------------------------------------------------------------

@dataclass
class _SideState:
    counter: RepCounter | OscillationCounter
    sign: int
    channel: str
    before: list[Rep] = field(default_factory=list)
    after: list[Rep] = field(default_factory=list)
    reps: list[Rep] = field(default_factory=list)
    edge: EdgeTracker | None = None   # the set's reps (or turns) against the moving edge


class Protocol:
    BUFFER_S = 60.0
    SHORT_STREAK = 3    # this many set reps in a row short of the edge: prompt to reach further
    PEAK_LAG_S = 0.3    # the causal (One-Euro) angle peaks at most this long after the true peak

    def __init__(self, config: ProtocolConfig, phases: PhasePolicy | None = None):
        self.cfg = config
        self.phases: PhasePolicy = phases or LivePhases()
        self.joint = config.joint
        self.channels = channel_names(self.joint, config.sides)
        self.phase = Phase.SETUP
        self.phase_t0 = 0.0
        self.neutral: dict[str, float] = {c: 0.0 for c in self.channels}
        self.filtered: dict[str, float] = {c: math.nan for c in self.channels}
        self._filters = {c: OneEuro() for c in self.channels}
        self._buffer: dict[str, deque] = {c: deque() for c in self.channels}
        self._ok_since: float | None = None
        self._neutral_samples: dict[str, list[tuple[float, float]]] = {c: [] for c in self.channels}
        self._turns: deque = deque()          # (t, head turn) for head joints
        self._neutral_turns: list[tuple[float, float]] = []
        self.neutral_turn = 0.0
        self._last_rep_t: float | None = None
        self._last_judged: dict[str, float] = {}
        # neck circles: the head's tilt and nod, their neutral, the counter and its turns
        self.circles = config.set_kind == "circles"
        self._heads: deque = deque()          # (t, tilt right, tilt front, nod)
        self.neutral_tilt = (0.0, 0.0)
        self.neutral_nod = 0.0
        self.turn_counter: TurnCounter | None = None
        self.turns: list[Turn] = []
        self._last_turn_t: float | None = None
        self.problems: tuple[str, ...] = ()
        self.finished: Finished | None = None
        self.sides: dict[str, _SideState] = {}
        for side in config.sides:
            sign = -1 if (self.joint.kind == "signed" and side == "left") else 1
            channel = side if self.joint.kind == "limb" else "signed"
            self.sides[side] = _SideState(RepCounter(side, self.joint.reps), sign, channel)

    # -- angles as reported: neck joints relative to the neutral, limbs as measured --
    def _offset(self, channel: str) -> float:
        return self.neutral[channel] if self.joint.kind == "signed" else 0.0

    def reported(self, channel: str, raw: float) -> float:
        return raw - self._offset(channel)

    # -- public API --
    def update(self, sample: Sample) -> list:
        if self.phase is Phase.DONE:
            return []
        events: list = self.phases.before_frame(self, sample.t)
        if self.phase is Phase.DONE:
            return events
        self.problems = sample.setup_problems
        t = sample.t
        for c in self.channels:
            raw = sample.angles.get(c, math.nan)
            buf = self._buffer[c]
            buf.append((t, raw))
            while buf and buf[0][0] < t - self.BUFFER_S:
                buf.popleft()
            self.filtered[c] = self._filters[c](t, raw)
        if math.isfinite(sample.turn_deg):
            self._turns.append((t, sample.turn_deg))
        while self._turns and self._turns[0][0] < t - self.BUFFER_S:
            self._turns.popleft()
        if self.circles:
            self._heads.append((t, *sample.tilt_deg, sample.flexion_deg))
            while self._heads and self._heads[0][0] < t - self.BUFFER_S:
                self._heads.popleft()

        if self.phase is Phase.SETUP:
            ok = not sample.setup_problems and all(math.isfinite(sample.angles.get(c, math.nan))
                                                   for c in self.channels)
            self._ok_since = (self._ok_since if self._ok_since is not None else t) if ok else None
            if ok and t - self._ok_since >= self.cfg.setup_hold_s:
                events += self._move_on(t)
        elif self.phase is Phase.NEUTRAL:
            events += self._update_neutral(t)
        elif not self.phases.counts(self, t):
            pass
        elif self.phase is Phase.SET and self.circles:
            events += self._update_circles(t)
        else:
            events += self._update_counting(t)
        return events

    def goto(self, phase: Phase, t: float) -> list:
        """Go on to ``phase`` now, passing silently through the phases before it (a visit without
        a set); the neutral must be set already. Returns the events of the phase reached."""
        events: list = []
        while self.phase is not Phase.DONE and ORDER.index(phase) > ORDER.index(self.phase):
            stepped = self._advance(t)
            if self.phase is phase or self.phase is Phase.DONE:
                events += stepped
        return events

    def set_neutral(self, neutral_deg: dict[str, float], t: float, turn_deg: float = math.nan,
                    tilt_deg: tuple[float, float] = (math.nan, math.nan), nod_deg: float = math.nan) -> list:
        """The neutral measured elsewhere (a recorded visit's stretch), as the live hold would have
        set it: per channel, and for head joints the turn, tilt and nod there (NaN: not known)."""
        for channel, value in neutral_deg.items():
            if channel in self.neutral and math.isfinite(value):
                self.neutral[channel] = float(value)
        if math.isfinite(turn_deg):
            self.neutral_turn = turn_deg
        if all(map(math.isfinite, tilt_deg)) and math.isfinite(nod_deg):
            self.neutral_tilt, self.neutral_nod = (float(tilt_deg[0]), float(tilt_deg[1])), nod_deg
        self.phase, self.phase_t0 = Phase.NEUTRAL, t
        return [NeutralMeasured(dict(self.neutral), t)]

    def end_of_stream(self, t: float, frame_s: float) -> list:
        """The frames ran out at ``t`` (``frame_s`` apart): the phase policy's last word (a recorded
        visit that reached the end of its last phase is complete)."""
        if self.phase is Phase.DONE:
            return []
        return self.phases.end_of_stream(self, t, frame_s)

    def trials_done(self, side: str) -> int:
        """Trials of ``side`` kept in the current phase (before or after)."""
        return len(self._trials(self.sides[side]))

    def command(self, key: str, t: float) -> list:
        """'next': go on to the next phase now; 'redo': discard the last trial of this phase;
        'quit': stop now (what was recorded stays; the session is incomplete unless done)."""
        if self.phase is Phase.DONE:
            return []
        if key == "next":
            if self.phase is Phase.NEUTRAL:
                return self._finish_neutral(t, force=True)
            return self._advance(t)
        if key == "redo" and self.phase in (Phase.BEFORE, Phase.AFTER):
            return self._discard_last_trial()
        if key == "quit":
            return self._finish(t, complete=False, reason=f"stopped by the user during {self.phase.value}")
        return []

    def stop(self, t: float, reason: str) -> list:
        """The stream ended (camera gone, end of video, Ctrl-C) before the protocol was done."""
        if self.phase is Phase.DONE:
            return []
        return self._finish(t, complete=False, reason=reason)

    # -- what the live view shows --
    @property
    def prompt(self) -> str:
        given = self.phases.prompt(self)
        if given is not None:
            return given
        n = self.cfg.trials
        if self.phase is Phase.SETUP:
            return self.problems[0] if self.problems else "Hold still: checking the view..."
        ankle = self.joint.name == "ankle_dorsiflexion"
        if self.phase is Phase.NEUTRAL:
            if ankle:
                return "Stand still, side on to the camera, the tested foot flat on the floor"
            return "Look straight ahead and hold still" if self.joint.kind == "signed" else "Stand still in your start position"
        if self.phase in (Phase.BEFORE, Phase.AFTER):
            todo = [s for s, st in self.sides.items() if len(self._trials(st)) < n]
            side = todo[0] if todo else ""
            word = "BEFORE" if self.phase is Phase.BEFORE else "AFTER"
            done = len(self._trials(self.sides[side])) if side else n
            if ankle:
                return (f"{word}: bend the {side} knee forward over your toes as far as you can, heel down, "
                        f"then back ({done + 1}/{n})")
            return f"{word}: move as far as you can to the {side}, then back ({done + 1}/{n})"
        cue = self.edge_cue if self.phase is Phase.SET else ""
        if cue:
            return cue
        if self.phase is Phase.SET and self.circles:
            return "SET: slow neck circles, gently nudge the edge of your range"
        if self.phase is Phase.SET:
            if ankle:
                return "SET: knee over the toes and back, heel down; gently nudge the edge of your range"
            return "SET: keep going, gently nudge the edge of your range"
        return self.finished.outcomes[0].verdict if self.finished and self.finished.outcomes else "done"

    @property
    def progress(self) -> str:
        """'23/40' during the set (the side with fewer reps), 'trial 2/3' during trials."""
        if self.phase is Phase.SET and self.circles:
            return f"{len(self.turns)}/{self.cfg.target_turns}"
        if self.phase is Phase.SET:
            done = min(len(st.reps) for st in self.sides.values())
            return f"{done}/{self.cfg.target_reps}"
        if self.phase in (Phase.BEFORE, Phase.AFTER):
            done = min(len(self._trials(st)) for st in self.sides.values())
            return f"trial {done}/{self.cfg.trials}"
        return ""

    @property
    def turn_text(self) -> str:
        """'turn 23/40 (clockwise 12, counter 11)' during a set of circles, else ''."""
        if not (self.circles and self.phase is Phase.SET):
            return ""
        cw = sum(turn.direction == "cw" for turn in self.turns)
        return (f"turn {len(self.turns)}/{self.cfg.target_turns} "
                f"(clockwise {cw}, counter {len(self.turns) - cw})")

    @property
    def edge_cue(self) -> str:
        """During a set: a prompt to reach further after SHORT_STREAK reps in a row short of the edge
        (the side with the longest streak), else ''."""
        streaks = {s: st.edge.short_streak() for s, st in self.sides.items() if st.edge is not None}
        if not streaks:
            return ""
        side = max(streaks, key=lambda s: streaks[s])
        if streaks[side] < self.SHORT_STREAK:
            return ""
        unit = "turns" if self.circles else "reps"
        where = f" to the {side}" if self.joint.kind == "signed" or len(self.sides) > 1 else ""
        return (f"SET: the last {streaks[side]} {unit} stopped short of your edge "
                f"({self.sides[side].edge.edge_deg:z.1f} deg): reach a little further{where}")

    def last_edge(self) -> RepEdge | None:
        """The latest set rep's (or turn's) judgement against the edge, of any side."""
        last = [(st.edge.reps[-1], side) for side, st in self.sides.items() if st.edge and st.edge.reps]
        if not last:
            return None
        return max(last, key=lambda item: self._last_judged.get(item[1], -math.inf))[0]

    def set_edge(self, side: str) -> SetEdge | None:
        st = self.sides[side]
        return st.edge.result() if st.edge is not None else None

    def _judge(self, side: str, peak_deg: float, low_deg: float | None, t: float) -> RepEdge:
        """One set rep (or turn extreme) against the side's edge: the before range, or the first
        peak when there were no before trials."""
        st = self.sides[side]
        if st.edge is None:
            known = self.before_range(side)
            neutral = st.sign * (self.neutral[st.channel] - self._offset(st.channel))
            start = known + neutral if known is not None else peak_deg
            mdc = mdc95(pooled_sem([r.peak_deg for r in st.before], []))
            st.edge = EdgeTracker(start, neutral, mdc, side, "turns" if self.circles else "reps")
        self._last_judged[side] = t
        return st.edge.add(peak_deg, low_deg)

    def rep_peaks(self, side: str) -> list[float]:
        return [r.peak_deg for r in self.sides[side].reps]

    def last_peak(self) -> Rep | None:
        reps = [r for st in self.sides.values() for r in (st.reps if self.phase is Phase.SET else self._trials(st))]
        return max(reps, key=lambda r: r.end_s or 0.0) if reps else None

    def current_angle(self, side: str) -> float:
        """The live (filtered) angle as reported for this side: positive towards it for neck joints."""
        st = self.sides[side]
        return st.sign * self.reported(st.channel, self.filtered[st.channel])

    # -- internals --
    def _trials(self, st: _SideState) -> list[Rep]:
        return st.before if self.phase is Phase.BEFORE else st.after

    def _move_on(self, t: float) -> list:
        """The phase's task is done: on to the next phase, when the phase policy lets it."""
        return self._advance(t) if self.phases.moves_on_by_itself else []

    def _advance(self, t: float) -> list:
        nxt = ORDER[ORDER.index(self.phase) + 1]
        if nxt is Phase.DONE:
            return self._finish(t, complete=True, reason="done")
        self.phase, self.phase_t0 = nxt, t
        events: list = [PhaseStarted(nxt, t)]
        if nxt is Phase.SET and self.circles:
            self.turn_counter = TurnCounter()
        if nxt in (Phase.BEFORE, Phase.SET, Phase.AFTER):
            for side, st in self.sides.items():
                neutral = self.neutral[st.channel] - self._offset(st.channel)
                st.counter = (OscillationCounter(side, self.swing_thresholds(side), neutral, st.sign)
                              if nxt is Phase.SET else
                              RepCounter(side, self._thresholds(side, nxt), neutral_deg=neutral, sign=st.sign))
        return events

    def before_range(self, side: str) -> float | None:
        """The side's before range as an excursion from neutral (median of the before trials), or
        None before any trial."""
        st = self.sides[side]
        before = [r.peak_deg for r in st.before]
        if not before:
            return None
        return float(np.median(before)) - st.sign * (self.neutral[st.channel] - self._offset(st.channel))

    def swing_thresholds(self, side: str) -> SwingThresholds:
        """What counts as a set rep: scaled to the before range, or to the joint's typical range
        (``normal_deg``) before one is known."""
        floors = self.cfg.set_thresholds or self.joint.reps
        known = self.before_range(side)
        return SwingThresholds.for_range(floors, known if known is not None else self.joint.normal_deg[1])

    def _thresholds(self, side: str, phase: Phase) -> RepThresholds:
        base = self.joint.reps
        if phase is not Phase.SET:
            return base
        if self.cfg.set_thresholds is not None:
            return self.cfg.set_thresholds
        st = self.sides[side]
        before = [r.peak_deg for r in st.before]
        if not before:
            return base
        # the before range, as an excursion from neutral, sets the scale of a set rep
        neutral_reported = st.sign * (self.neutral[st.channel] - self._offset(st.channel))
        return base.scaled_to(float(np.median(before)) - neutral_reported)

    def _update_neutral(self, t: float) -> list:
        for c in self.channels:
            raw = self._buffer[c][-1][1]
            if math.isfinite(raw):
                self._neutral_samples[c].append((t, raw))
        if self._turns and self._turns[-1][0] == t:
            self._neutral_turns.append(self._turns[-1])
        return self._finish_neutral(t, force=False)

    def _finish_neutral(self, t: float, force: bool) -> list:
        """The neutral is the median of the last ``neutral_hold_s`` of a still hold, seen on most
        of its frames: a few usable frames before the face (or the limb) is lost are not a hold
        (a head turning away at the end of a bend would otherwise give a neutral some 20 deg
        off)."""
        window = {c: [v for (ts, v) in self._neutral_samples[c] if ts >= t - self.cfg.neutral_hold_s]
                  for c in self.channels}
        # every frame of the window, usable or not (the buffer keeps them all; once the phase is
        # long enough the window lies inside it)
        frames = sum(1 for ts, _ in self._buffer[self.channels[0]] if ts >= t - self.cfg.neutral_hold_s)
        long_enough = t - self.phase_t0 >= self.cfg.neutral_hold_s
        still = all(len(v) >= 5 and len(v) >= self.cfg.neutral_min_seen * frames
                    and float(np.std(v)) <= self.cfg.neutral_max_sd_deg for v in window.values())
        if not force and not (long_enough and still):
            return []
        for c in self.channels:
            if window[c]:
                self.neutral[c] = float(np.median(window[c]))
        turns = [v for ts, v in self._neutral_turns if ts >= t - self.cfg.neutral_hold_s]
        if turns:
            self.neutral_turn = float(np.median(turns))
        heads = [h for h in self._heads if h[0] >= t - self.cfg.neutral_hold_s and all(map(math.isfinite, h))]
        if heads:
            _, lat, fwd, nod = (np.median(column) for column in zip(*heads))
            self.neutral_tilt, self.neutral_nod = (float(lat), float(fwd)), float(nod)
        return [NeutralMeasured(dict(self.neutral), t)] + self._move_on(t)

    def _update_counting(self, t: float) -> list:
        events: list = []
        for side, st in self.sides.items():
            value = self.reported(st.channel, self.filtered[st.channel])
            rep = st.counter.update(t, value)
            if rep is None:
                continue
            rep = self._refine(st, rep)
            turn = self._turn_during(rep)
            if self.joint.max_turn_ratio is not None and is_head_turn(turn, rep.peak_deg, self.joint.max_turn_ratio):
                events.append(TurnIgnored(self.phase, side, rep, turn))
                continue
            if self.phase is Phase.SET:
                st.reps.append(rep)
                self._last_rep_t = t
                events.append(RepDone(side, len(st.reps), rep, self._judge(side, rep.peak_deg, rep.low_deg, t)))
            else:
                trials = self._trials(st)
                if len(trials) < self.cfg.trials:
                    trials.append(rep)
                    events.append(TrialDone(self.phase, side, len(trials), rep))
        if self.phase is Phase.SET:
            target_met = all(len(st.reps) >= self.cfg.target_reps for st in self.sides.values())
            paused = self._last_rep_t is not None and t - self._last_rep_t >= self.cfg.set_pause_s
            if target_met or paused:
                events += self._move_on(t)
        elif all(len(self._trials(st)) >= self.cfg.trials for st in self.sides.values()):
            events += self._move_on(t)
        return events

    def _update_circles(self, t: float) -> list:
        """One frame of a set of circles: the tilt relative to the neutral into the turn counter
        (NaN where the side-bend frame is not usable, so the counter bridges or breaks)."""
        _, lat, fwd, nod = self._heads[-1]
        raw = self._buffer["signed"][-1][1]
        if not math.isfinite(raw):
            lat = fwd = math.nan
        turn = self.turn_counter.update(t, lat - self.neutral_tilt[0], fwd - self.neutral_tilt[1],
                                        self.reported("signed", raw), nod - self.neutral_nod)
        events: list = []
        if turn is not None:
            turn = self._refine_turn(turn)
            self.turns.append(turn)
            self._last_turn_t = t
            cw = sum(x.direction == "cw" for x in self.turns)
            edges = {side: self._judge(side, turn.extreme(side), None, t) for side in self.sides
                     if side in ("right", "left") and turn.extreme(side) is not None}
            events.append(TurnDone(turn, {"cw": cw, "ccw": len(self.turns) - cw}, edges))
        paused = self._last_turn_t is not None and t - self._last_turn_t >= self.cfg.set_pause_s
        if len(self.turns) >= self.cfg.target_turns or paused:
            events += self._move_on(t)
        return events

    def _refine_turn(self, turn: Turn) -> Turn:
        """Re-read the turn's extremes from the zero-phase-filtered samples of its own window."""
        pad = 0.5
        rows = [(ts, v, h[3]) for (ts, v), h in zip(self._buffer["signed"], self._heads)
                if turn.start_s - pad <= ts <= turn.end_s + pad]
        if len(rows) < 5:
            return turn
        ts, raw, nod = (np.array(c, dtype=float) for c in zip(*rows))
        raw = np.where(np.isfinite(raw), raw, np.nan)
        side_bend = zero_phase(ts, reject_glitches(ts, raw)) - self._offset("signed")
        nod = zero_phase(ts, np.where(np.isfinite(raw), nod, np.nan)) - self.neutral_nod
        return with_extremes(turn, ts, side_bend, nod)

    def _turn_during(self, rep: Rep) -> float:
        """The largest head turn (from the neutral's) between the rep's start and its peak."""
        if not self._turns:
            return 0.0
        ts, turn = zip(*self._turns)
        return head_turn_during(ts, turn, rep.start_s, rep.peak_s, self.neutral_turn)

    def _refine(self, st: _SideState, rep: Rep) -> Rep:
        """Re-read the peak from the zero-phase-filtered raw samples of the rep's own window; for a set
        oscillation the window ends ``PEAK_LAG_S`` after the live peak (it closes only once the
        causal angle has fallen back, by when the next oscillation may have begun)."""
        pad = 0.5
        samples = [(ts, v) for ts, v in self._buffer[st.channel] if rep.start_s - pad <= ts <= rep.end_s + pad]
        if len(samples) < 5:
            return rep
        ts = np.array([s[0] for s in samples])
        raw = reject_glitches(ts, np.array([s[1] for s in samples]), **glitch_options(self.joint))
        values = st.sign * (zero_phase(ts, raw) - self._offset(st.channel))
        last = rep.end_s if rep.low_deg is None else min(rep.end_s, rep.peak_s + self.PEAK_LAG_S)
        inside = (ts >= rep.start_s) & (ts <= last) & np.isfinite(values)
        if not inside.any():
            return rep
        k = int(np.nanargmax(np.where(inside, values, -np.inf)))
        return replace(rep, peak_s=float(ts[k]), peak_deg=float(values[k]))

    def _discard_last_trial(self) -> list:
        last_side, last = None, None
        for side, st in self.sides.items():
            trials = self._trials(st)
            if trials and (last is None or trials[-1].end_s > last.end_s):
                last_side, last = side, trials[-1]
        if last_side is None:
            return []
        trials = self._trials(self.sides[last_side])
        trials.pop()
        return [TrialDiscarded(self.phase, last_side, len(trials) + 1)]

    def _finish(self, t: float, complete: bool, reason: str) -> list:
        outcomes = []
        for side, st in self.sides.items():
            o = side_outcome(side, [r.peak_deg for r in st.before], [r.peak_deg for r in st.after],
                             [r.peak_deg for r in st.reps])
            outcomes.append(o.with_set_edge(st.edge.result()) if st.edge is not None else o)
        self.phase = Phase.DONE
        edges = tuple(st.edge.result() for st in self.sides.values() if st.edge is not None)
        self.finished = Finished(complete, reason, tuple(outcomes), tuple(self.turns), edges)
        return [PhaseStarted(Phase.DONE, t), self.finished]
