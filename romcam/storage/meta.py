"""What a session is, as it starts: :class:`SessionMeta`, the one typed record that the session
runners hand to the journal and the store (``SessionJournal.start(meta)``,
``Store.start_session(meta)``), that a recovery file carries, and that fills the session's
columns. Every field is checked when a SessionMeta is made, so a bad value is refused before
anything is written: a known joint and side, a start time that parses, finite numbers in range,
text without control characters.

:class:`RecordingProcess` is the process recording a session (its pid, host and the pid's start),
so that another program can tell a session still being recorded from an interrupted one.
"""

from __future__ import annotations

import math
import numbers
import os
import socket
import unicodedata
import uuid as uuidlib
from dataclasses import dataclass, field, fields
from typing import Any
from collections.abc import Mapping

from romcam import __version__
from romcam.errors import RomcamError
from romcam.measure.joints import JOINTS
from romcam.storage.turns import SET_KINDS
from romcam.storage.values import SESSION_SIDES, clean_subject_code
from romcam.timestamps import now_iso, parse_timestamp

YEARS = (1900, 2999)                 # a start time outside these years is a mistake
MAX_TEXT = 4096                      # characters of one text field (a path may be long)
MAX_COUNT = 10_000                   # target reps or turns
MAX_TRIALS = 100                     # trials per phase
MAX_PID = 2**31 - 1
# The keys of a recovery file's start record that differ from the field names.
RECORD_KEYS = {"recorded": "recording"}
OWNER_KEYS = ("pid", "host", "pid_start")


class InvalidSessionMeta(RomcamError, ValueError):
    """A session's metadata that cannot be stored (the message names the field and the value)."""


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, Linux), to tell it from a later
    process that got the same pid; None where /proc is not available."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _text(name: str, value: Any, limit: int = MAX_TEXT, optional: bool = True) -> str | None:
    """``value`` if it is a str of at most ``limit`` characters with no control character (nor a
    lone surrogate); None when ``optional`` and None."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidSessionMeta(f"session {name} must be text, not {type(value).__name__} {value!r:.80}")
    if len(value) > limit:
        raise InvalidSessionMeta(f"session {name} is {len(value)} characters long (at most {limit})")
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise InvalidSessionMeta(f"session {name} {value!r:.80} holds the control character {bad!r}")
    return value


def new_uuid() -> str:
    """A new session identity: a random UUID (version 4) in its canonical text form."""
    return str(uuidlib.uuid4())


def check_uuid(value: Any, name: str = "uuid") -> str:
    """``value`` if it is a UUID in canonical text form (36 lower-case characters with hyphens)."""
    if isinstance(value, str) and len(value) == 36:
        try:
            if str(uuidlib.UUID(value)) == value:
                return value
        except ValueError:
            pass
    raise InvalidSessionMeta(f"session {name} must be a UUID such as 123e4567-e89b-42d3-a456-426614174000, "
                             f"not {value!r:.80}")


def _count(name: str, value: Any, low: int, high: int) -> int | None:
    """``value`` as an int in [low, high], or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidSessionMeta(f"session {name} must be a whole number, not {value!r:.80}")
    if not low <= int(value) <= high:
        raise InvalidSessionMeta(f"session {name} must be {low} to {high}, not {value}")
    return int(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, numbers.Integral)) or value not in (0, 1):
        raise InvalidSessionMeta(f"session {name} must be true or false, not {value!r:.80}")
    return bool(value)


def _choice(name: str, value: Any, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidSessionMeta(f"session {name} must be one of {', '.join(allowed)}, not {value!r:.80}")
    return value


@dataclass(frozen=True)
class RecordingProcess:
    """The process recording a session: its pid, the computer's name and when the pid started."""

    pid: int
    host: str
    pid_start: str | None = None

    def __post_init__(self):
        if self.pid is None:
            raise InvalidSessionMeta("a session's recording process needs its pid")
        object.__setattr__(self, "pid", _count("pid", self.pid, 1, MAX_PID))
        _text("host", self.host, 255, optional=False)
        _text("pid_start", self.pid_start, 64)

    @classmethod
    def this_process(cls) -> RecordingProcess:
        return cls(os.getpid(), socket.gethostname(), process_start(os.getpid()))

    def alive(self) -> bool:
        """Whether the process is still running on this computer (one on another computer, or a
        later process that got the same pid, is not)."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        except OSError:
            return False
        return self.pid_start is None or process_start(self.pid) == self.pid_start

    def elsewhere(self) -> str | None:
        """The other computer the process runs on, else None."""
        return self.host if self.host and self.host != socket.gethostname() else None


@dataclass(frozen=True)
class SessionMeta:
    """A session as it starts (module notes). ``subject`` is stored as
    :func:`~romcam.storage.values.clean_subject_code` makes it; ``started_at`` is an ISO-8601
    time (now unless given; a recorded visit starts when it was filmed); ``uuid`` is the
    session's identity (a new random UUID unless given), the one thing recovery, replay and
    ``db copy`` match a session on."""

    subject: str
    joint: str                               # a name of romcam.measure.joints.JOINTS
    side: str                                # left | right | both
    started_at: str = field(default_factory=now_iso)
    source: str | None = None                # the camera index or video file
    camera: str | None = None                # the camera's name (a recorded visit: its video and phases)
    pose_model: str | None = None
    target_reps: int | None = None
    trials_per_phase: int | None = None
    neutral_deg: float | None = None
    synthetic: bool = False                  # a synthetic landmark stream, not a person
    app_version: str = __version__
    set_kind: str = "reps"                   # reps | circles
    target_turns: int | None = None
    resolution: str | None = None            # the frames' size, e.g. 1280x720
    camera_profile: str | None = None        # the calibration profile used, if any
    recorded: bool = False                   # a recorded visit (phases given), not a live session
    phases: str | None = None                # a recorded visit: its phases, in words
    neutral_source: str | None = None        # a recorded visit: where its neutral came from
    dated_from: str | None = None            # a recorded visit: where its start time came from
    owner: RecordingProcess | None = None    # the process recording it
    uuid: str = field(default_factory=new_uuid)   # the session's identity, made when it starts

    def __post_init__(self):
        set_ = object.__setattr__
        if not isinstance(self.subject, str):
            raise InvalidSessionMeta(f"session subject must be text, not {self.subject!r:.80}")
        set_(self, "subject", clean_subject_code(self.subject))
        _choice("joint", self.joint, tuple(JOINTS))
        _choice("side", self.side, SESSION_SIDES)
        _choice("set_kind", self.set_kind, SET_KINDS)
        check_uuid(self.uuid)
        self._check_start()
        for name in ("source", "camera", "pose_model", "resolution", "camera_profile", "phases",
                     "neutral_source", "dated_from"):
            _text(name, getattr(self, name))
        _text("app_version", self.app_version, 64, optional=False)
        set_(self, "target_reps", _count("target_reps", self.target_reps, 1, MAX_COUNT))
        set_(self, "target_turns", _count("target_turns", self.target_turns, 1, MAX_COUNT))
        set_(self, "trials_per_phase", _count("trials_per_phase", self.trials_per_phase, 1, MAX_TRIALS))
        set_(self, "synthetic", _flag("synthetic", self.synthetic))
        set_(self, "recorded", _flag("recorded", self.recorded))
        if self.neutral_deg is not None:
            if isinstance(self.neutral_deg, bool) or not isinstance(self.neutral_deg, numbers.Real) \
                    or not math.isfinite(self.neutral_deg) or abs(self.neutral_deg) > 180:
                raise InvalidSessionMeta(f"session neutral_deg must be a finite angle of at most 180 deg, "
                                         f"not {self.neutral_deg!r:.80}")
            set_(self, "neutral_deg", float(self.neutral_deg))
        if self.owner is not None and not isinstance(self.owner, RecordingProcess):
            raise InvalidSessionMeta(f"session owner must be a RecordingProcess, not {self.owner!r:.80}")

    def _check_start(self) -> None:
        _text("started_at", self.started_at, 64, optional=False)
        try:
            start = parse_timestamp(self.started_at)
        except (ValueError, OverflowError):
            raise InvalidSessionMeta(f"session started_at {self.started_at!r} is not an ISO-8601 time "
                                     f"(e.g. 2026-03-14T10:30:00+01:00)") from None
        if not YEARS[0] <= start.year <= YEARS[1]:
            raise InvalidSessionMeta(f"session started_at {self.started_at!r} is not between the years "
                                     f"{YEARS[0]} and {YEARS[1]}")

    # ----- as a recovery file's start record keeps it

    def to_record(self) -> dict:
        """A plain dict: ``subject``, ``joint``, ``side`` and ``meta`` (the other fields; the
        owner as ``pid``, ``host``, ``pid_start``); :meth:`from_record` reads it back."""
        meta = {RECORD_KEYS.get(f.name, f.name): getattr(self, f.name) for f in fields(self)
                if f.name not in ("subject", "joint", "side", "owner")}
        if self.owner is not None:
            meta.update(pid=self.owner.pid, host=self.owner.host, pid_start=self.owner.pid_start)
        return {"subject": self.subject, "joint": self.joint, "side": self.side, "meta": meta}

    @classmethod
    def from_record(cls, record: Mapping) -> SessionMeta:
        """A SessionMeta from :meth:`to_record`'s dict (or a start record of an older romcam's
        recovery file); InvalidSessionMeta when a field is missing, unknown or bad."""
        meta = record.get("meta")
        if not isinstance(meta, Mapping):
            raise InvalidSessionMeta("the session's start record has no meta")
        names = {RECORD_KEYS.get(f.name, f.name): f.name for f in fields(cls)
                 if f.name not in ("subject", "joint", "side", "owner")}
        unknown = sorted(set(meta) - set(names) - set(OWNER_KEYS))
        if unknown:
            raise InvalidSessionMeta(f"unknown session field(s) {', '.join(map(repr, unknown))[:200]}")
        missing = [k for k in ("subject", "joint", "side") if k not in record] + \
                  [k for k in ("started_at", "uuid") if k not in meta]
        if missing:
            raise InvalidSessionMeta(f"the session's start record lacks {', '.join(missing)}")
        owner = None
        if meta.get("pid") is not None or meta.get("host") is not None:
            owner = RecordingProcess(meta.get("pid"), meta.get("host"), meta.get("pid_start"))
        values = {names[k]: v for k, v in meta.items() if k in names}
        if values.get("app_version") is None:
            values.pop("app_version", None)
        return cls(subject=record["subject"], joint=record["joint"], side=record["side"], owner=owner, **values)
