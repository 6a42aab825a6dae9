"""One frame's landmarks -> angles -> setup check -> protocol events. Pure; shared by the live
session, a session replayed from a video file, a recorded visit and the synthetic demo."""

from __future__ import annotations

import math

from romcam.capture.landmarks import FrameLandmarks
from romcam.measure import legs
from romcam.measure.ankle import StreamingShinMeasurer, is_shin_joint
from romcam.measure.joints import Joint
from romcam.measure.series import StreamingMeasurer
from romcam.session.protocol import NeutralMeasured, Phase, Protocol, ProtocolConfig, Sample
from romcam.session.setup_check import setup_problems


class StreamingLegMeasurer(StreamingMeasurer):
    """:class:`StreamingMeasurer` for a joint that bends at a knee (knee, hip): each frame's legs
    kept on the same physical legs first (:class:`romcam.measure.legs.LiveLegRepair`), as
    ``analyze`` repairs them over the whole video."""

    def __init__(self, joint: Joint, sides):
        super().__init__(joint, sides)
        self._legs = legs.LiveLegRepair()

    def update(self, lm: FrameLandmarks) -> dict[str, float]:
        return super().update(self._legs(lm))


def streaming_measurer(config: ProtocolConfig):
    """The joint's live measurer; the ankle: the shin from the true vertical, on the same
    physical leg (causal swap tracker); the knee and hip: on the same physical leg."""
    if is_shin_joint(config.joint):
        return StreamingShinMeasurer(config.sides)
    if legs.uses_legs(config.joint):
        return StreamingLegMeasurer(config.joint, config.sides)
    return StreamingMeasurer(config.joint, config.sides)


class SessionEngine:
    def __init__(self, config: ProtocolConfig, protocol: Protocol | None = None, measurer=None):
        self.config = config
        self.measurer = measurer or streaming_measurer(config)   # a recording's: its measured series
        self.protocol = protocol or Protocol(config)   # a recorded visit's: phases by the clock
        self.last_raw: dict[str, float] = {}
        self._neutral_reference: float | None = None

    def step(self, lm: FrameLandmarks) -> list:
        self.last_raw = self.measurer.update(lm)
        problems = tuple(setup_problems(self.config.joint, lm, self.config.sides))
        m = self.measurer
        tilt = getattr(m, "tilt_deg", (math.nan, math.nan))     # head joints only
        events = self.protocol.update(Sample(lm.t_s, self.last_raw, problems, m.turn_deg, tilt, m.flexion_deg))
        if self.protocol.circles:
            self._hold_trunk_reference(events)
        return events

    def _hold_trunk_reference(self, events) -> None:
        """During a set of circles the trunk reference is the one read over the neutral hold, held
        fixed: the pose model's shoulders follow a circling head (romcam.measure.circles)."""
        m = self.measurer
        if any(isinstance(e, NeutralMeasured) for e in events) and math.isfinite(m.reference_deg):
            self._neutral_reference = m.reference_deg
        m.fixed_reference = self._neutral_reference if self.protocol.phase is Phase.SET else None
