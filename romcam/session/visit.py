"""A recorded visit's protocol: the live state machine, with its phases set by the clock.

A live session moves on when the person has done what the prompt asked (a still hold, the
trials, the set's target or a pause). A recorded visit was filmed without romcam's prompts, so
the clinician gives the phases' times (:mod:`romcam.session.phases`) and the neutral is measured
beforehand (:mod:`romcam.measure.neutral`). Everything else is the live protocol's own code, so a
recorded visit finds the same trials and reps a live run of the same frames finds: trials and
reps detected by the same counters on the same causal filter, peaks re-read from the same
zero-phase window, the same head-turn check, the first ``trials`` trials per side kept.

Differences, on purpose: the set is not cut at its target or at a pause (every rep within the
set's stretch counts), frames outside the given phases count for nothing, and a phase ends at
its end time, not when its trials are done. Pure: no video, model or database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from romcam.session.phases import PhaseSpan, format_time
from romcam.session.protocol import ORDER, NeutralMeasured, Phase, Protocol, ProtocolConfig, Sample

_PHASE = {"before": Phase.BEFORE, "set": Phase.SET, "after": Phase.AFTER}


@dataclass(frozen=True)
class HeadNeutral:
    """The head's other channels at the neutral (NaN where not measured)."""
    turn_deg: float = math.nan
    tilt_deg: tuple[float, float] = (math.nan, math.nan)
    nod_deg: float = math.nan


class RecordedProtocol(Protocol):
    def __init__(self, config: ProtocolConfig, spans: list[PhaseSpan], neutral_deg: dict[str, float],
                 head: HeadNeutral = HeadNeutral()):
        super().__init__(config)
        self.spans = [(_PHASE[s.name], s) for s in spans]
        self._given_neutral = dict(neutral_deg)
        self._head = head
        self._clock = False          # phases change only when the clock says so

    # the live protocol moves on by itself when trials or the set are done: not here
    def _advance(self, t: float) -> list:
        return super()._advance(t) if self._clock else []

    def update(self, sample: Sample) -> list:
        if self.phase is Phase.DONE:
            return []
        events = self._follow_clock(sample.t)
        if self.phase is Phase.DONE:
            return events
        return events + super().update(sample)

    def _update_counting(self, t: float) -> list:
        return super()._update_counting(t) if self._span_now(t) else []

    def _update_circles(self, t: float) -> list:
        return super()._update_circles(t) if self._span_now(t) else []

    @property
    def prompt(self) -> str:
        """No one to prompt in a recording: the phase's stretch of the video instead."""
        span = next((s for phase, s in self.spans if phase is self.phase), None)
        if span is None:
            return super().prompt
        return f"the recording from {format_time(span.start_s)} to {format_time(span.end_s)}"

    def _span_now(self, t: float) -> bool:
        return any(phase is self.phase and span.contains(t) for phase, span in self.spans)

    def end_of_recording(self, t: float, frame_s: float) -> list:
        """The frames ran out: complete if the last phase was reached to its end (within a frame
        and a half), else what the live protocol says when its stream ends."""
        last_phase, last = self.spans[-1]
        if self.phase is last_phase and t >= last.end_s - 1.5 * frame_s:
            return self._goto(Phase.DONE, t)
        return []

    def _follow_clock(self, t: float) -> list:
        events: list = []
        for phase, span in self.spans:
            if span.start_s <= t and _later(phase, self.phase):
                events += self._goto(phase, t)
        last_phase, last = self.spans[-1]
        if self.phase is last_phase and t >= last.end_s:
            events += self._goto(Phase.DONE, t)
        return events

    def _goto(self, phase: Phase, t: float) -> list:
        events: list = []
        if self.phase in (Phase.SETUP, Phase.NEUTRAL):
            events += self._set_neutral(t)
        self._clock = True
        try:
            while self.phase is not Phase.DONE and _later(phase, self.phase):
                # skipped phases (a visit without a set) are passed through silently
                stepped = self._advance(t)
                if self.phase is phase or self.phase is Phase.DONE:
                    events += stepped
        finally:
            self._clock = False
        return events

    def _set_neutral(self, t: float) -> list:
        """The neutral measured beforehand, as the live hold would have set it."""
        for channel, value in self._given_neutral.items():
            if channel in self.neutral and math.isfinite(value):
                self.neutral[channel] = float(value)
        if math.isfinite(self._head.turn_deg):
            self.neutral_turn = self._head.turn_deg
        if all(map(math.isfinite, self._head.tilt_deg)) and math.isfinite(self._head.nod_deg):
            self.neutral_tilt, self.neutral_nod = tuple(self._head.tilt_deg), self._head.nod_deg
        self.phase, self.phase_t0 = Phase.NEUTRAL, t
        return [NeutralMeasured(dict(self.neutral), t)]


def _later(a: Phase, b: Phase) -> bool:
    return ORDER.index(a) > ORDER.index(b)
