"""The values the session database stores: checked and converted before they are written
(subject codes, choices, floats without NaN, flags), the same for SQLite and PostgreSQL."""

from __future__ import annotations

import math
import unicodedata
from typing import Any
from collections.abc import Iterable

from romcam.errors import RomcamError
from romcam.measure.outcome import SideOutcome

SIDES = ("left", "right")
SESSION_SIDES = ("left", "right", "both")
TRIAL_PHASES = ("before", "after")
FINAL_STATUSES = ("complete", "incomplete")
FORMULA_PREFIXES = ("=", "+", "-", "@")  # a spreadsheet would run a cell starting with these
MAX_SUBJECT_CODE = 64


def clean_subject_code(code: str) -> str:
    """A subject code as stored: Unicode NFC (one form for "Zoë" however it was typed), trimmed,
    1-64 printable characters, no spreadsheet formula."""
    text = unicodedata.normalize("NFC", str(code)).strip()
    if not text or len(text) > MAX_SUBJECT_CODE or not text.isprintable():
        raise RomcamError(f"subject code {code!r} must be 1 to {MAX_SUBJECT_CODE} printable "
                          f"characters, e.g. P001")
    if text.startswith(FORMULA_PREFIXES):
        raise RomcamError(f"subject code {text!r} must not start with {' '.join(FORMULA_PREFIXES)} "
                          f"(a spreadsheet would run it as a formula); use e.g. P001")
    return text


def check_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def opt_float(value: Any) -> float | None:
    """A float for the database, or None for missing/NaN (numpy scalars included)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def peak_value(value: Any) -> float:
    number = opt_float(value)
    if number is None or math.isinf(number):
        raise ValueError(f"peak_deg must be a finite number, not {value!r}")
    return number


def opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def opt_bool(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def stored_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def json_default(value: Any) -> Any:
    """numpy scalars/arrays and other objects in stats: plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def sides_of(session_side: str, seen: Iterable[str]) -> list[str]:
    """The sides a session reports: those it was set up for, plus any it stored data for."""
    wanted = list(SIDES) if session_side == "both" else [session_side]
    return [s for s in SIDES if s in wanted or s in set(seen)]


def result_values(session_id: int, o: SideOutcome) -> tuple:
    return (session_id, check_choice(o.side, SIDES, "result side"), opt_float(o.before_deg),
            opt_float(o.after_deg), opt_float(o.delta_deg), opt_float(o.sem_deg),
            opt_float(o.mdc95_deg), o.verdict, int(o.trials_before), int(o.trials_after),
            int(o.reps_done), opt_int(o.first_rep_at_after_level), o.set_grade, opt_int(o.set_judged),
            opt_int(o.set_reached), opt_int(o.set_flagged), opt_float(o.edge_start_deg),
            opt_float(o.edge_end_deg), opt_float(o.edge_tolerance_deg))


GRADES = ("I", "II", "III", "IV")


def edge_values(edge: dict | None) -> tuple:
    """The v6 edge columns (low_deg, edge_deg, reached_edge, beyond_edge, grade) of a rep or turn
    from its judgement (a romcam.measure.edge.RepEdge as a dict; None: not judged)."""
    if not edge:
        return (None, None, None, None, None)
    return (opt_float(edge.get("low_deg")), opt_float(edge["edge_deg"]), int(bool(edge["reached"])),
            int(bool(edge["beyond"])), check_choice(edge["grade"], GRADES, "grade"))
