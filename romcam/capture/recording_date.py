"""When a recorded visit was filmed: the date a session analysed from a video file is stored under.

A recorded visit is analysed days or weeks after it was filmed, and a clinician's history, CSV and
FHIR export must show the visit's own date, not the day of the analysis. In order of trust:

1. ``--recorded-at`` given by the user (an ISO date-time such as 2026-03-14T10:30, or a date);
2. the container's ``creation_time`` (MP4/MOV/MKV metadata, which phones, cameras and most
   recorders write), read with PyAV; a missing, zero (1904/1970) or future value is not used;
3. the file's modification time less the video's duration (a recorder finishes the file when
   the recording ends); copying a file can change this, so the output says which was used.
   A modification time in the future (beyond :data:`FILE_CLOCK_SKEW`) or before
   :data:`EARLIEST_PLAUSIBLE` says nothing about the filming (a camera or computer with a wrong
   clock, a copy that reset it): the visit is refused with one line asking for ``--recorded-at``,
   before the video is analysed, rather than stored under a date that is surely wrong.

``--recorded-at`` accepts dates from :data:`EARLIEST_RECORDED_AT` (the first year a stored session
may start in) to tomorrow (a date given in another time zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from romcam.errors import RomcamError

EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=timezone.utc)
EARLIEST_RECORDED_AT = date(1900, 1, 1)       # romcam.storage.meta.YEARS[0]: a stored session's first year
FUTURE_MARGIN = timedelta(days=1)              # a date given or written in another time zone
FILE_CLOCK_SKEW = timedelta(minutes=10)        # a file server's clock a little ahead of this one


@dataclass(frozen=True)
class RecordingDate:
    start: datetime          # aware, local time
    source: str              # where it came from, for the output and the session's meta

    def end(self, duration_s: float | None) -> datetime | None:
        return None if duration_s is None else self.start + timedelta(seconds=float(duration_s))


def parse_recorded_at(text: str) -> datetime:
    """--recorded-at: a date-time (local unless it has an offset) or a date (local midnight)."""
    value = str(text).strip()
    try:
        if len(value) == 10:
            stamp = datetime.combine(date.fromisoformat(value), time())
        else:
            stamp = datetime.fromisoformat(value)
    except ValueError:
        raise RomcamError(f"--recorded-at expects a date-time such as 2026-03-14T10:30 or a date such as "
                          f"2026-03-14, not {value!r}") from None
    if stamp.date() < EARLIEST_RECORDED_AT:
        raise RomcamError(f"--recorded-at {value} is out of range: give the date the visit was filmed, "
                          f"from {EARLIEST_RECORDED_AT.isoformat()} to today")
    if stamp.date() > date.today() + 2 * FUTURE_MARGIN or (
            (stamp if stamp.tzinfo else stamp.astimezone()) > datetime.now(timezone.utc) + FUTURE_MARGIN):
        raise RomcamError(f"--recorded-at {value} is in the future (give the date the visit was filmed)")
    return stamp if stamp.tzinfo else stamp.astimezone()


def container_creation_time(path: str | Path) -> datetime | None:
    """The container's creation_time (aware, UTC), or None when it has none usable."""
    import av

    try:
        with av.open(str(path)) as container:
            text = container.metadata.get("creation_time")
    except (av.error.FFmpegError, OSError):
        return None
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    if not EARLIEST_PLAUSIBLE <= stamp <= datetime.now(timezone.utc) + FUTURE_MARGIN:
        return None
    return stamp


def recording_start(path: str | Path, duration_s: float | None, given: str | None = None) -> RecordingDate:
    """When the recording at `path` started (see the module docstring for the order)."""
    if given:
        return RecordingDate(parse_recorded_at(given), "--recorded-at")
    created = container_creation_time(path)
    if created is not None:
        return RecordingDate(created.astimezone(), "the video's creation time")
    modified = datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc)
    if modified > datetime.now(timezone.utc) + FILE_CLOCK_SKEW:
        wrong = "is in the future"
    elif modified < EARLIEST_PLAUSIBLE:
        wrong = f"is before {EARLIEST_PLAUSIBLE.year}"
    else:
        return RecordingDate(modified.astimezone() - timedelta(seconds=float(duration_s or 0.0)),
                             "the file's modification time less its duration")
    raise RomcamError(f"the video has no creation time and its file's modification time "
                      f"({modified.astimezone():%Y-%m-%d %H:%M}) {wrong}, so when it was filmed is unknown: "
                      f"give it with --recorded-at, e.g. --recorded-at 2026-03-14T10:30")
