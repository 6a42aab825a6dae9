"""One frame's landmarks -> angles -> setup check -> protocol events. Pure; shared by the live
session, a session replayed from a video file, and the synthetic demo."""

from __future__ import annotations

from romcam.capture.landmarks import FrameLandmarks
from romcam.measure.ankle import StreamingShinMeasurer, is_shin_joint
from romcam.measure.series import StreamingMeasurer
from romcam.session.protocol import Protocol, ProtocolConfig, Sample
from romcam.session.setup_check import setup_problems


class SessionEngine:
    def __init__(self, config: ProtocolConfig):
        self.config = config
        # the ankle: the shin from the true vertical, on the same physical leg (causal swap tracker)
        self.measurer = StreamingShinMeasurer(config.sides) if is_shin_joint(config.joint) \
            else StreamingMeasurer(config.joint, config.sides)
        self.protocol = Protocol(config)
        self.last_raw: dict[str, float] = {}

    def step(self, lm: FrameLandmarks) -> list:
        self.last_raw = self.measurer.update(lm)
        problems = tuple(setup_problems(self.config.joint, lm, self.config.sides))
        return self.protocol.update(Sample(lm.t_s, self.last_raw, problems, self.measurer.turn_deg))
