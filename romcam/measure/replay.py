"""A series measured whole (:func:`romcam.measure.analysis.measure_landmarks`), handed out frame
by frame with the live measurer's interface, so the session's protocol can run over a recorded
video on the very angles ``romcam analyze`` reports for it. Pure."""

from __future__ import annotations

import math

from romcam.capture.landmarks import FrameLandmarks
from romcam.measure.analysis import GLITCH, Measured


class SeriesMeasurer:
    """One frame in (by its index), the measured raw angle per channel out (NaN where not
    usable). After each frame ``problems`` holds why each channel's frame was left out (None when
    usable) and, for head joints, ``turn_deg`` and ``flexion_deg`` the head's other channels."""

    def __init__(self, measured: Measured):
        self.measured = measured
        self.channels = list(measured.channels)
        self._row = {int(f): k for k, f in enumerate(measured.frame)}
        self.problems: dict[str, str | None] = {}
        self.turn_deg = self.flexion_deg = math.nan
        self.tilt_deg = (math.nan, math.nan)
        self.reference_deg = math.nan
        self.fixed_reference: float | None = None     # the live measurer's; not used here

    def update(self, lm: FrameLandmarks) -> dict[str, float]:
        k = self._row[lm.index]
        m = self.measured
        out = {}
        for name, ch in m.channels.items():
            ok = bool(ch.valid[k])
            out[name] = float(ch.raw[k]) if ok else math.nan
            self.problems[name] = None if ok else (ch.problems[k] or GLITCH)
        if m.turn is not None:
            self.turn_deg, self.flexion_deg = float(m.turn[k]), float(m.flexion[k])
        if m.reference is not None:
            self.reference_deg = float(m.reference[k])
        return out
