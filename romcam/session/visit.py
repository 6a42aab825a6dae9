"""A recorded visit's phase policy: the live protocol, with its phases set by the clock.

A live session moves on when the person has done what the prompt asked (a still hold, the
trials, the set's target or a pause). A recorded visit was filmed without romcam's prompts, so
the clinician gives the phases' times (:mod:`romcam.session.phases`) and the neutral is measured
beforehand (:mod:`romcam.measure.neutral`). The protocol is the live one, given
:class:`RecordedPhases` as its :class:`romcam.session.protocol.PhasePolicy`: trials and reps are
detected by the same counters, peaks re-read from the same zero-phase window, the same head-turn
check, the first ``trials`` trials per side kept. A recorded visit feeds it the angles measured
over the whole video (:class:`romcam.measure.replay.SeriesMeasurer`), the ones ``romcam analyze``
reports.

Differences, on purpose: the set is not cut at its target or at a pause (every rep within the
set's stretch counts), frames outside the given phases count for nothing, and a phase ends at
its end time, not when its trials are done. Pure: no video, model or database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from romcam.session.phases import PhaseSpan, format_time
from romcam.session.protocol import ORDER, Phase, Protocol, ProtocolConfig

_PHASE = {"before": Phase.BEFORE, "set": Phase.SET, "after": Phase.AFTER}


@dataclass(frozen=True)
class HeadNeutral:
    """The head's other channels at the neutral (NaN where not measured)."""
    turn_deg: float = math.nan
    tilt_deg: tuple[float, float] = (math.nan, math.nan)
    nod_deg: float = math.nan


class RecordedPhases:
    """The phase policy of a recorded visit (:class:`romcam.session.protocol.PhasePolicy`): each
    phase starts at its given time and ends at its end; the neutral measured beforehand is set
    when the first phase starts; only frames inside the current phase's span count."""

    moves_on_by_itself = False

    def __init__(self, spans: list[PhaseSpan], neutral_deg: dict[str, float], head: HeadNeutral = HeadNeutral()):
        self.spans = [(_PHASE[s.name], s) for s in spans]
        self.neutral_deg = dict(neutral_deg)
        self.head = head

    def before_frame(self, p: Protocol, t: float) -> list:
        events: list = []
        for phase, span in self.spans:
            if span.start_s <= t and _later(phase, p.phase):
                events += self._goto(p, phase, t)
        last_phase, last = self.spans[-1]
        if p.phase is last_phase and t >= last.end_s:
            events += self._goto(p, Phase.DONE, t)
        return events

    def counts(self, p: Protocol, t: float) -> bool:
        return any(phase is p.phase and span.contains(t) for phase, span in self.spans)

    def prompt(self, p: Protocol) -> str | None:
        """No one to prompt in a recording: the phase's stretch of the video instead."""
        span = next((s for phase, s in self.spans if phase is p.phase), None)
        return None if span is None else f"the recording from {format_time(span.start_s)} to {format_time(span.end_s)}"

    def end_of_stream(self, p: Protocol, t: float, frame_s: float) -> list:
        """Complete if the last phase was reached to its end (within a frame and a half)."""
        last_phase, last = self.spans[-1]
        if p.phase is last_phase and t >= last.end_s - 1.5 * frame_s:
            return self._goto(p, Phase.DONE, t)
        return []

    def _goto(self, p: Protocol, phase: Phase, t: float) -> list:
        events: list = []
        if p.phase in (Phase.SETUP, Phase.NEUTRAL):
            events += p.set_neutral(self.neutral_deg, t, self.head.turn_deg, self.head.tilt_deg, self.head.nod_deg)
        return events + p.goto(phase, t)


def recorded_protocol(config: ProtocolConfig, spans: list[PhaseSpan], neutral_deg: dict[str, float],
                      head: HeadNeutral = HeadNeutral()) -> Protocol:
    """The live protocol with a recorded visit's phases (:class:`RecordedPhases`)."""
    return Protocol(config, RecordedPhases(spans, neutral_deg, head))


def _later(a: Phase, b: Phase) -> bool:
    return ORDER.index(a) > ORDER.index(b)
