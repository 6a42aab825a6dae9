"""The phases of a recorded visit, as a clinician types them: ``before=0:35,set=35:160,after=160:190``.

Pure parsing and checking (no video, no model): times are seconds (``35``, ``35.5``) or clock
times (``m:ss``, ``mm:ss``, ``h:mm:ss``, seconds may have decimals). A phase's start and end are
separated by a dash (``before=0:00-0:35``), or by a colon when both are plain seconds
(``set=35:160``; ``2:05`` is one clock time, not 2 to 5 s). Every error is one line saying what to type instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from romcam.errors import RomcamError

PHASE_NAMES = ("before", "set", "after")     # in the order they happen
REQUIRED = ("before", "after")               # the outcome compares these two; the set may be absent
END_SLACK_S = 1.0                            # an end this far past the video's end is taken as its end
EXAMPLE = "e.g. --phases \"before=0:35,set=35:160,after=160:190\""

_NUMBER = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class PhaseSpan:
    name: str
    start_s: float
    end_s: float

    def contains(self, t: float) -> bool:
        return self.start_s <= t < self.end_s

    def text(self) -> str:
        return f"{self.name} {format_time(self.start_s)}-{format_time(self.end_s)}"


def parse_time(text: str, what: str = "time") -> float:
    """Seconds from ``35``, ``35.5``, ``2:05``, ``02:05.5`` or ``1:02:05``."""
    s = text.strip()
    parts = s.split(":")
    if not s or len(parts) > 3 or not all(_NUMBER.match(p) for p in parts) \
            or any("." in p for p in parts[:-1]):
        raise RomcamError(f"{what} {text!r} is not a time (write seconds such as 35 or 35.5, or "
                          f"minutes:seconds such as 2:05)")
    values = [float(p) for p in parts]
    if len(values) > 1 and any(v >= 60 for v in values[1:]):
        raise RomcamError(f"{what} {text!r} has {max(values[1:]):g} in a minutes or seconds place "
                          f"(write at most 59 there, e.g. 2:05)")
    seconds = 0.0
    for v in values:
        seconds = seconds * 60.0 + v
    return seconds


def format_time(seconds: float) -> str:
    """``m:ss`` (``m:ss.s`` when not whole), ``h:mm:ss`` from an hour on."""
    tenths = round(seconds * 10)
    whole, frac = divmod(tenths, 10)
    h, rest = divmod(int(whole), 3600)
    m, s = divmod(rest, 60)
    text = f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    return text + (f".{frac}" if frac else "")


def parse_range(text: str, what: str) -> tuple[float, float]:
    """A stretch of the video, ``a-b`` (``2:05-2:08``), or ``a:b`` when both are plain seconds."""
    s = text.strip()
    pieces = s.split(":")
    if "-" in s:
        pieces = s.split("-")
    elif len(pieces) == 2 and all(_NUMBER.match(p.strip()) for p in pieces) and not _clock_like(pieces[1]):
        pass
    else:
        raise RomcamError(f"{what} {text!r} is not a stretch of time (write start-end, e.g. 2:05-2:08, "
                          f"or 125:128 in seconds)")
    if len(pieces) != 2:
        raise RomcamError(f"{what} {text!r} is not a stretch of time (write one start and one end, "
                          f"e.g. 2:05-2:08)")
    start, end = (parse_time(p, what) for p in pieces)
    if not start < end:
        raise RomcamError(f"{what} {text!r} ends before it starts (write the earlier time first)")
    return start, end


def _clock_like(seconds_part: str) -> bool:
    """'05' in '2:05' is a clock time's seconds, so '2:05' is one time, not the stretch 2 to 5 s."""
    p = seconds_part.strip()
    return len(p) >= 2 and p.startswith("0") and not p.startswith("0.")


def parse_phases(text: str) -> list[PhaseSpan]:
    """``name=range`` items separated by commas -> the spans in time order, checked: known names,
    each once, before and after present, start < end, in the order before, set, after, without
    overlapping."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise RomcamError(f"--phases is empty (give the phases of the visit, {EXAMPLE})")
    spans: dict[str, PhaseSpan] = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if not eq or not value.strip():
            raise RomcamError(f"--phases item {item!r} has no time range (write name=start:end, {EXAMPLE})")
        if name not in PHASE_NAMES:
            raise RomcamError(f"--phases has an unknown phase {name!r} (use {', '.join(PHASE_NAMES)}; {EXAMPLE})")
        if name in spans:
            raise RomcamError(f"--phases gives {name!r} twice (give each phase once)")
        start, end = parse_range(value, f"--phases {name}")
        spans[name] = PhaseSpan(name, start, end)
    missing = [n for n in REQUIRED if n not in spans]
    if missing:
        raise RomcamError(f"--phases has no {' and no '.join(missing)} phase (a visit needs before and after "
                          f"to compare; {EXAMPLE})")
    ordered = [spans[n] for n in PHASE_NAMES if n in spans]
    for a, b in zip(ordered, ordered[1:]):
        if b.start_s < a.end_s:
            raise RomcamError(f"--phases: {b.text()} starts before {a.text()} ends (phases come in the order "
                              f"{', '.join(PHASE_NAMES)} and must not overlap)")
    return ordered


def fit_to_video(spans: list[PhaseSpan], duration_s: float | None) -> tuple[list[PhaseSpan], list[str]]:
    """The spans checked against the video's length: a phase that starts after the end, or ends
    more than ``END_SLACK_S`` after it, is refused; an end just past it is taken as the end (said)."""
    if duration_s is None or not math.isfinite(duration_s) or duration_s <= 0:
        return spans, []
    out, notes = [], []
    for span in spans:
        if span.end_s > duration_s + END_SLACK_S or span.start_s >= duration_s:
            raise RomcamError(f"--phases: {span.text()} goes past the end of the video at "
                              f"{format_time(duration_s)} (give times within 0:00-{format_time(duration_s)})")
        if span.end_s > duration_s:
            notes.append(f"{span.name} ends at the video's end, {format_time(duration_s)}")
            span = PhaseSpan(span.name, span.start_s, duration_s)
        out.append(span)
    return out, notes


def check_range_in_video(start: float, end: float, duration_s: float | None, what: str) -> None:
    """A stretch (``--neutral``) must lie within the video."""
    if duration_s and math.isfinite(duration_s) and start >= duration_s:
        raise RomcamError(f"{what} {format_time(start)}-{format_time(end)} starts after the end of the video at "
                          f"{format_time(duration_s)} (give a stretch within 0:00-{format_time(duration_s)})")


def describe(spans: list[PhaseSpan]) -> str:
    """'before 0:00-0:35, set 0:35-2:40, after 2:40-3:10'."""
    return ", ".join(span.text() for span in spans)
