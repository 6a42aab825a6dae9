"""The report's page model (sections of text, tables of cells, figures to draw) and the small
readers of stored sessions that the session and subject pages share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from collections.abc import Callable

from romcam.storage.rows import SessionDetail, SessionRow
from romcam.timestamps import parse_timestamp


REPORT_DIR = "romcam-reports"
LOW_VALID_SHARE = 0.8        # warn when fewer frames than this were valid
HIGH_YAW_SHARE = 0.1         # warn when more frames than this were rejected for head turning
HIGH_DROP_SHARE = 0.05       # warn when more captured frames than this were dropped

SYNTHETIC_TEXT = "Synthetic (demo) data: not a measurement of a person."
METHOD_TEXT = ("Angles in degrees. Before and after are the medians of the trial peaks; SEM is "
               "the pooled spread of the trials; MDC95 = 1.96 x sqrt(2) x SEM is the smallest "
               "change larger than measurement noise; delta = after - before.")


@dataclass(frozen=True)
class Cell:
    """One value on the page: what it is (``key``), its exact value and how it is shown."""

    key: str
    value: Any
    text: str

    @classmethod
    def deg(cls, key: str, value: float | None, signed: bool = False) -> Cell:
        if value is None or not math.isfinite(float(value)):
            return cls(key, None, "-")
        return cls(key, float(value), f"{value:+z.1f}" if signed else f"{value:z.1f}")

    @classmethod
    def share(cls, key: str, value: float | None, suffix: str = "") -> Cell:
        if value is None:
            return cls(key, None, "-")
        return cls(key, float(value), f"{100.0 * float(value):z.1f} %{suffix}")

    @classmethod
    def number(cls, key: str, value: float | int | None, fmt: str = "{}", unit: str = "") -> Cell:
        if value is None:
            return cls(key, None, "-")
        return cls(key, value, fmt.format(value) + (f" {unit}" if unit else ""))

    @classmethod
    def words(cls, key: str, value: Any) -> Cell:
        if value is None or value == "":
            return cls(key, None, "-")
        return cls(key, value, str(value))


@dataclass
class Table:
    """Rows of cells under headers. The cells whose keys are in ``notes`` (words, e.g. the verdict)
    are shown on a line of their own under their row, so every row of numbers stays on one line."""

    headers: list[str]                                # of the columns (not of the notes)
    rows: list[tuple[dict[str, str], list[Cell]]]     # (row attributes, cells)
    css: str = "data"
    notes: tuple[str, ...] = ()                       # keys of the cells shown under their row

    def lines(self) -> list[tuple[dict[str, str], list[Cell], list[Cell]]]:
        """Each row as (attributes, the cells in columns, the note cells under it)."""
        return [(attrs, [c for c in cells if c.key not in self.notes],
                 [c for c in cells if c.key in self.notes]) for attrs, cells in self.rows]


@dataclass
class FigureItem:
    key: str
    caption: str
    make: Callable[[], Any]                           # -> matplotlib Figure, built when written


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureItem] = field(default_factory=list)
    items: list[str] = field(default_factory=list)    # a bullet list (warnings, notes)


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
    synthetic: bool = False
    kind: str = "session"                             # "session" or "subject"


# --------------------------------------------------------------------------- small readers


def joint_info(name: str) -> tuple[str, str]:
    """(title, kind) of a stored joint name; unknown names are shown as stored, as limbs."""
    from romcam.measure.joints import JOINTS

    joint = JOINTS.get(name)
    return (joint.title, joint.kind) if joint else (name, "limb")


def local_time(stamp: str | None) -> str:
    """An ISO timestamp as the recording computer's wall clock, 'YYYY-MM-DD HH:MM'."""
    if not stamp:
        return "-"
    return parse_timestamp(stamp).strftime("%Y-%m-%d %H:%M")


def wall_clock(row: SessionRow) -> datetime:
    """The session start as a naive datetime in the recording computer's local time."""
    return row.started.replace(tzinfo=None)


def stat_value(stats: dict, key: str) -> Any:
    """A session statistic, None if missing or not a finite number where a number is expected."""
    value = stats.get(key)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def kept_trials(detail: SessionDetail, side: str, phase: str) -> list:
    return [t for t in detail.trials if t.side == side and t.phase == phase and not t.discarded]


def reps_of(detail: SessionDetail, side: str) -> list:
    return [r for r in detail.reps if r.side == side]


def valid_share(detail: SessionDetail, frames) -> tuple[float | None, str]:
    """The valid-frame share from the session statistics, else from the stored frames."""
    value = stat_value(detail.stats, "valid_share")
    if value is not None:
        return float(value), "session statistics"
    if frames is not None and len(frames):
        return float(frames["valid"].mean()), "stored frames"
    return None, ""
