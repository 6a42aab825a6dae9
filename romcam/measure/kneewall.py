"""The knee-to-wall distance in centimetres: how far the knee travels ahead of the toes, on the
true horizontal, scaled by a target of known size seen beside the foot.

In the clinician's knee-to-wall test the person lunges the knee forward until it touches a wall,
heel down; the score is the distance from the big toe to the wall at the furthest foot position.
Seen from the side, when the knee touches the wall, that distance is the knee's horizontal lead
over the toes. So romcam reports, at each trial's and rep's peak:

    knee over toe (cm) = (knee x at the peak - toe x before the rep) in the level frame, times
                         the direction the toes point, times the scale (mm per pixel at the
                         leg's depth) / 10

with MediaPipe's knee (the joint's centre, not the front of the kneecap) and foot index (the tip
of the foot) on the measured leg, levelled with the same vertical as the shin angle
(:func:`romcam.measure.legs.level_vectors`). + = knee ahead of the toes. The knee is the median
over the peak +- 0.2 s; the toe is where it stood in the 0.5 s before the rep began (the foot
stays put through a knee-to-wall trial, heel down): MediaPipe re-guesses the toe as the shin
inclines and moves it by 10-15 px (3-4 cm) between standing and the peak (forwards on the real
lunges, backwards on the known warp) with the foot still. Without a scale there is no number
in cm, and the reason is said (never a guess from body size).

Pure: arrays and numbers in, numbers out. Finding the scale in an image is
:mod:`romcam.calibration.scale`, which hands a :class:`Scale` in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from romcam.measure import legs

PEAK_WINDOW_S = 0.2          # the knee at a peak: median over the peak +- this (as the heel flag)
TOE_BEFORE_S = 0.5           # the toe: median over this long before the rep's start
MIN_VISIBILITY = 0.5


@dataclass(frozen=True)
class Scale:
    """Millimetres per pixel at the scale target's depth, along the true horizontal, or None with
    the reason. ``source`` names the target ("board", "marker 7 (150 mm)"); ``frames`` how many
    frames it was read on; ``spread_pct`` their spread (max - min over the median, %)."""

    mm_per_px: float | None
    source: str
    reason: str = ""
    frames: int = 0
    spread_pct: float | None = None

    @classmethod
    def missing(cls, source: str, reason: str) -> Scale:
        return cls(None, source, reason)

    @property
    def known(self) -> bool:
        return self.mm_per_px is not None and math.isfinite(self.mm_per_px) and self.mm_per_px > 0

    def describe(self) -> str:
        if not self.known:
            return f"knee over toe: no cm ({self.reason})"
        spread = f", spread {self.spread_pct:z.1f} %" if self.spread_pct is not None else ""
        return (f"knee over toe: scale {self.mm_per_px:.3f} mm/px from the {self.source} "
                f"({self.frames} frame(s){spread})")

    def as_dict(self) -> dict:
        return {"mm_per_px": round(self.mm_per_px, 4) if self.known else None, "target": self.source,
                "frames": self.frames, "spread_pct": None if self.spread_pct is None else round(self.spread_pct, 2),
                "note": self.describe()}


def forward_x(lm, side: str, part: str, forward, *, roll_deg: float = 0.0,
              min_visibility: float = MIN_VISIBILITY) -> np.ndarray:
    """Per frame, the level-frame x of one point of a leg ("knee" or "toe") times ``forward``
    (+1/-1 per frame or a scalar, as :func:`legs.shin_inclination`): its position along the
    direction the toes point, in pixels. NaN where unseen (visibility under ``min_visibility``
    when the array carries it)."""
    lm = np.asarray(lm, dtype=float)
    i = legs.LEG[side][part]
    x = legs.level_vectors(lm[..., i, :2], roll_deg)[..., 0]
    out = np.broadcast_to(np.asarray(forward, dtype=float), x.shape) * x
    if lm.shape[-1] >= 4:
        out = np.where(lm[..., i, 3] >= min_visibility, out, np.nan)
    return out


def value_at(t, values, peak_s: float, window_s: float = PEAK_WINDOW_S) -> float | None:
    """The median of ``values`` over ``peak_s`` +- ``window_s`` (single frames where the feet are
    drawn wrong do not move it); None when no frame there has a value."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(values, dtype=float)
    near = (np.abs(t - peak_s) <= window_s) & np.isfinite(v)
    return float(np.median(v[near])) if near.any() else None


def to_cm(px: float | None, scale: Scale | None) -> float | None:
    """Pixels of the level frame -> centimetres; None without a known scale or a value."""
    if px is None or scale is None or not scale.known or not math.isfinite(px):
        return None
    return px * scale.mm_per_px / 10.0


def knee_over_toe_px(t, knee, toe, start_s: float, peak_s: float) -> float | None:
    """The knee's lead over the toe at one peak, level-frame pixels (``knee``, ``toe``:
    :func:`forward_x` series): the knee over the peak +- :data:`PEAK_WINDOW_S`, the toe over the
    :data:`TOE_BEFORE_S` before ``start_s`` (else up to the peak, when it was unseen then)."""
    k = value_at(t, knee, peak_s)
    before = value_at(t, toe, start_s - TOE_BEFORE_S / 2, TOE_BEFORE_S / 2)
    toe_at = before if before is not None else value_at(t, toe, (start_s + peak_s) / 2, (peak_s - start_s) / 2)
    return None if k is None or toe_at is None else k - toe_at


def peak_cm(t, knee, toe, start_s: float, peak_s: float, scale: Scale | None) -> float | None:
    """The knee over toe in cm at one peak (:func:`knee_over_toe_px`, then :func:`to_cm`)."""
    if scale is None or not scale.known:
        return None
    return to_cm(knee_over_toe_px(t, knee, toe, start_s, peak_s), scale)
