"""OpenSim motion files (``.mot``): the per-frame joint angles of a session or an analysed video,
for OpenSim and the tools that write the same format (Sports2D, Pose2Sim, OpenCap), and for a
spreadsheet.

Format (OpenSim's "Storage" file, version 1), plain text, UTF-8 (ASCII in practice), lines
ended by LF::

    <name>
    version=1
    nRows=<rows below the column labels>
    nColumns=<columns, time included>
    inDegrees=yes
    endheader
    time<TAB><coordinate><TAB>...
    0.000<TAB>12.34<TAB>...

One row per frame, ``time`` in seconds (strictly increasing, as OpenSim's TimeSeriesTable
requires), then one column per measured angle in degrees, named as the coordinate of OpenSim's
common models where one exists (:data:`COORDINATES`). The numbers are fixed-point with ``.`` as
the decimal point, at the precision of the frames CSV they come from, so the values equal that
CSV's.

**Frames that were not usable are left out** (their rows, not their cells): OpenSim's legacy
``Storage`` reader, which the OpenSim GUI and its tools use to load a motion, stops at the first
``NaN`` row (and reads that row's NaN as 0), and an empty cell shifts the later columns one to
the left; a left-out frame is a gap in ``time`` that every reader copes with. With two angle
columns (both legs), a frame usable on one leg only is left out too; its value stays in the
frames CSV. Building is pure (:func:`stored_frames_motion`, :func:`analysis_motion`,
:func:`mot_text`); :func:`write_mot` writes the text atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from romcam.errors import RomcamError
from romcam.files import atomic_write_text, disk_error

SIDE_SUFFIX = {"left": "_l", "right": "_r"}

# (romcam joint, column name, whether it is a coordinate of OpenSim's common models, meaning):
# the single source of the .mot table in docs/reference/exports.md. Limb joints get _l/_r.
COORDINATES: tuple[tuple[str, str, bool, str], ...] = (
    ("ankle_dorsiflexion", "ankle_angle", True,
     "OpenSim's ankle coordinate (gait2392, Rajagopal 2015, the LaiUhlrich 2022 model OpenCap uses): "
     "+ = dorsiflexion. romcam's angle is the shin's inclination from the true vertical (the "
     "knee-to-wall inclinometer), which equals dorsiflexion while the foot is flat on the floor."),
    ("knee_flexion", "knee_angle", True,
     "+ = flexion, 0 = straight leg, as in Rajagopal 2015 and LaiUhlrich 2022 (gait2392's knee_angle "
     "counts flexion negative)."),
    ("hip_flexion", "hip_flexion", True, "+ = flexion; romcam's angle is trunk to thigh, not pelvis to thigh."),
    ("elbow_flexion", "elbow_flex", True, "+ = flexion, 0 = straight arm (arm26, Rajagopal 2015)."),
    ("shoulder_flexion", "arm_flex", True,
     "+ = flexion (Rajagopal 2015); romcam's angle is the upper arm against the trunk line, seen from the side."),
    ("shoulder_abduction", "shoulder_abduction", False,
     "Not an OpenSim coordinate: the models' arm_add counts adduction positive, so abduction would "
     "be its negative; the column keeps romcam's sign (+ = abduction) and name."),
    ("neck_lateral_flexion", "neck_bending", False,
     "Neck side-bend, + = towards the person's right, relative to their neutral. The common models "
     "(gait2392, Rajagopal 2015, LaiUhlrich 2022) have no neck joint; the name follows their "
     "lumbar_bending (lateral bending of the trunk) and is the neck coordinate's name in full-body "
     "models that add one (neck_extension, neck_bending, neck_rotation). Check the sign of such a "
     "model's coordinate before driving it with this column."),
    ("neck_rotation", "neck_rotation", False,
     "Head turn, + = towards the person's right (the name of the neck coordinate in full-body models "
     "that have one; not in the common models)."),
)
_NAMES = {joint: name for joint, name, _, _ in COORDINATES}


def coordinate_name(joint: str, side: str | None = None) -> str:
    """The .mot column of ``joint`` (a romcam joint name) on ``side`` (None for a signed joint)."""
    base = _NAMES.get(joint, joint)
    return base + (SIDE_SUFFIX[side] if side in SIDE_SUFFIX else "")


@dataclass(frozen=True)
class Motion:
    """Per-frame angles of one recording: ``time`` in s, and per column the angle in degrees
    (NaN where the frame was not usable), in column order; decimals as they are to be written."""
    name: str
    time: np.ndarray
    angles: dict[str, np.ndarray] = field(default_factory=dict)
    time_decimals: int = 3
    deg_decimals: int = 2

    def usable(self) -> np.ndarray:
        """Which frames go into the file: those whose every angle is a number."""
        keep = np.ones(len(self.time), dtype=bool)
        for values in self.angles.values():
            keep &= np.isfinite(np.asarray(values, dtype=float))
        return keep


def _header_name(name: str) -> str:
    """The header's first line: one line, no tabs (a name with a line break would end the header)."""
    text = " ".join(str(name).split())
    return text or "romcam"


def mot_text(motion: Motion) -> str:
    """The .mot file of ``motion`` (see the module notes). Pure."""
    keep = motion.usable()
    t = np.round(np.asarray(motion.time, dtype=float)[keep], motion.time_decimals)
    if len(t) > 1 and not np.all(np.diff(t) > 0):
        at = float(t[1:][np.diff(t) <= 0][0])
        raise RomcamError(f"{motion.name}: two frames at {at:.{motion.time_decimals}f} s or time going back; "
                          f"a .mot needs strictly increasing times")
    columns = list(motion.angles)
    values = [np.asarray(motion.angles[c], dtype=float)[keep] for c in columns]
    lines = [_header_name(motion.name), "version=1", f"nRows={len(t)}", f"nColumns={len(columns) + 1}",
             "inDegrees=yes", "endheader", "\t".join(["time", *columns])]
    tf, df = f"{{:.{motion.time_decimals}f}}", f"{{:.{motion.deg_decimals}f}}"
    for i, ti in enumerate(t):
        lines.append("\t".join([tf.format(ti), *(df.format(_no_negative_zero(v[i], motion.deg_decimals))
                                                 for v in values)]))
    return "\n".join(lines) + "\n"


def _no_negative_zero(value: float, decimals: int) -> float:
    """``value``, with a -0.00 (a tiny negative rounded to zero) written as 0.00."""
    return 0.0 if round(value, decimals) == 0 else value


def stored_frames_motion(frames: pd.DataFrame, joint: str, name: str, time_decimals: int = 3,
                         deg_decimals: int = 2) -> Motion:
    """The Motion of one stored session from its rows of the frames export (the columns of
    :data:`romcam.storage.export.FRAME_COLUMNS`, rounded as the frames CSV writes them, at these
    decimals): one column per side (left, then right), one for a signed joint (no side)."""
    side = frames["side"].fillna("").astype(str)
    present = set(side)
    sides = [s for s in ("left", "right") if s in present] + ([""] if "" in present or not present else [])
    times = np.array(sorted(set(frames["t_s"].astype(float))), dtype=float)
    angles = {}
    for s in sides:
        mine = frames[side == s]
        series = pd.Series(mine["angle_deg"].astype(float).to_numpy(), index=mine["t_s"].astype(float).to_numpy())
        if series.index.has_duplicates:
            at = float(series.index[series.index.duplicated()][0])
            raise RomcamError(f"{name}: two frames of one side at {at:.3f} s (a .mot has one row per time)")
        angles[coordinate_name(joint, s or None)] = series.reindex(times).to_numpy()
    return Motion(name, times, angles, time_decimals=time_decimals, deg_decimals=deg_decimals)


def analysis_motion(table: pd.DataFrame, joint: str, name: str, decimals: int = 3) -> Motion:
    """The Motion of ``romcam analyze``'s frames table (its ``t_s`` and the ``<side>_<joint>_deg``
    or ``<joint>_deg`` angle columns, filtered, NaN where not usable), written at ``decimals`` as
    frames.csv is."""
    angles = {}
    for side in ("left", "right"):
        column = f"{side}_{joint}_deg"
        if column in table:
            angles[coordinate_name(joint, side)] = table[column].to_numpy(dtype=float)
    if f"{joint}_deg" in table:
        angles[coordinate_name(joint)] = table[f"{joint}_deg"].to_numpy(dtype=float)
    if not angles:
        raise RomcamError(f"no angle column of {joint} in the frames table")
    return Motion(name, table["t_s"].to_numpy(dtype=float), angles, time_decimals=decimals, deg_decimals=decimals)


def frames_left_out(motion: Motion) -> int:
    """How many frames :func:`mot_text` leaves out (not usable in some column)."""
    return int(len(motion.time) - motion.usable().sum())


def write_mot(motion: Motion, path: str | Path, option: str = "--mot") -> Path:
    """Write ``motion`` as a .mot file at ``path`` atomically; returns ``path``."""
    text = mot_text(motion)
    try:
        atomic_write_text(Path(path), text)
    except OSError as exc:
        raise disk_error(exc, path, option) from None
    return Path(path)

