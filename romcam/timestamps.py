"""Timestamps: the one home of romcam's ISO-8601 helpers (stored sessions, camera profiles)."""

from __future__ import annotations

from datetime import date, datetime, time

from romcam.errors import RomcamError


def now_iso() -> str:
    """Local time with its UTC offset, to the second, e.g. 2026-05-09T14:03:12+02:00."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def parse_timestamp(text: str) -> datetime:
    """An ISO-8601 timestamp as an aware datetime (a stamp without offset is taken as local)."""
    stamp = datetime.fromisoformat(text)
    return stamp if stamp.tzinfo else stamp.astimezone()


def parse_since(value: str | date | datetime) -> datetime:
    """--since: a date (local midnight) or a date-time, as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.astimezone()
    if isinstance(value, date):
        return datetime.combine(value, time()).astimezone()
    text = str(value).strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time()).astimezone()
        return parse_timestamp(text)
    except ValueError:
        raise RomcamError(f"--since expects a date such as 2026-05-01 or a date-time such as "
                          f"2026-05-01T14:00, not {text!r}") from None
