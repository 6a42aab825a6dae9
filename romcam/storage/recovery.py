"""Recovery files read back as untrusted input, and added to a database whole or not at all.

A recovery file (``<db>.recovery-<session>.jsonl``, written by :mod:`romcam.storage.journal`) is
one JSON object per line: a header, the session's start record, then its records (trials, reps,
turns, frame batches, the neutral, the finish...). Anything may have edited it, so before
anything is written **every line is checked against a schema** (pydantic models in strict mode):
every field typed and ranged (times 1900-2999 like a session's start, sides, phases, joints and
directions from their lists, finite numbers within an angle's or a time's range, no control
characters in text, no text starting like a spreadsheet formula), required keys present, no
unknown key, a result only for a side the session was set up for. A file that fails is
:class:`InvalidRecoveryFile`: one line naming the line and the field, exit 2.

Adding a file (:func:`replay`) happens in **one transaction**: either the whole session is
stored or nothing is. The session is matched on its identity, its UUID, and nothing else; a
UUID the database holds for a session of another subject, joint, side or start time (an edited
file) is refused, and so is a subject code differing only by case from a known subject unless
the caller says it is another person. A batch of frames already stored (a file added twice, or
after a partial flush) is recognised by a set of the stored frames' times read once, so adding
a file is linear in its frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from romcam.errors import RomcamError
from romcam.measure.outcome import SideOutcome
from romcam.storage.bulk import session_facts
from romcam.storage.meta import YEARS, InvalidSessionMeta, SessionMeta, check_uuid
from romcam.storage.store import Store
from romcam.storage.values import FORMULA_PREFIXES, GRADES, sides_of
from romcam.timestamps import parse_timestamp

FORMAT = "romcam-recovery-2"        # what this romcam writes: the header and start carry the UUID
FORMATS = ("romcam-recovery-1", FORMAT)
MAX_TIME_S = 1e7                     # a time within a session (s): more than 100 days is a mistake
MAX_ANGLE = 360.0
MAX_NO = 100_000                     # a trial's, rep's or turn's number
MAX_TEXT = 4096
FRAME_PHASES = ("setup", "neutral", "before", "set", "after", "done")


class InvalidRecoveryFile(RomcamError):
    """A recovery file that cannot be added as it is (the message says which line and why)."""


# --------------------------------------------------------------------------- field types


def _timestamp(value: str) -> str:
    try:
        year = datetime.fromisoformat(value).year
        if YEARS[0] <= year <= YEARS[1]:
            parse_timestamp(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r:.60} is not an ISO-8601 time") from None
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValueError(f"{value!r:.60} is not between the years {YEARS[0]} and {YEARS[1]}")
    return value


def _text(value: str) -> str:
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValueError(f"{value!r:.60} holds a control character")
    if value.lstrip().startswith(FORMULA_PREFIXES):
        raise ValueError(f"{value!r:.60} starts like a spreadsheet formula")
    return value


Time = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_TIME_S, le=MAX_TIME_S)]
Angle = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ANGLE, le=MAX_ANGLE)]
Number = Annotated[int, Field(ge=1, le=MAX_NO)]
Count = Annotated[int, Field(ge=0, le=MAX_NO)]
Stamp = Annotated[str, Field(max_length=64)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Side = Literal["left", "right"]
TrialPhase = Literal["before", "after"]
AnyFloat = Annotated[float, Field(allow_inf_nan=True)]


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Header(_Record):
    format: Literal[FORMATS]
    db: Text
    session_id: Annotated[int, Field(ge=1)] | None = None
    session_uuid: str | None = None
    pid: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    host: Annotated[str, Field(max_length=255)] | None = None

    _uuid = field_validator("session_uuid")(lambda v: v if v is None else check_uuid(v))


class Start(_Record):
    op: Literal["start"]
    subject: Text
    joint: Text
    side: Text
    meta: dict[str, Any]
    session_id: Annotated[int, Field(ge=1)] | None = None


class _Peak(_Record):
    """What a trial and a set rep both hold: the side, the peak and its times, the ankle's readings."""
    side: Side
    peak_deg: Angle
    start_s: Time | None = None
    peak_s: Time | None = None
    end_s: Time | None = None
    heel_lifted: bool | None = None
    knee_over_toe_cm: Angle | None = None
    created_at: Stamp

    _stamp = field_validator("created_at")(_timestamp)


class Trial(_Peak):
    op: Literal["trial"]
    phase: TrialPhase
    trial_no: Number


class Discard(_Record):
    op: Literal["discard"]
    phase: TrialPhase
    side: Side
    trial_no: Number
    created_at: Stamp

    _stamp = field_validator("created_at")(_timestamp)


class Edge(_Record):
    """A set rep's or turn's judgement against the edge (romcam.measure.edge.RepEdge)."""
    number: Number
    peak_deg: Angle
    low_deg: Angle | None = None
    edge_deg: Angle
    peak_share: Annotated[float, Field(allow_inf_nan=False, ge=-1000, le=1000)]
    amplitude_share: Annotated[float, Field(allow_inf_nan=False, ge=-1000, le=1000)]
    reached: bool
    beyond: bool
    grade: Literal[GRADES]


class Rep(_Peak):
    op: Literal["rep"]
    rep_no: Number
    edge: Edge | None = None


class Turn(_Record):
    op: Literal["turn"]
    turn_no: Number
    direction: Literal["cw", "ccw"]
    start_s: Time | None = None
    end_s: Time | None = None
    right_deg: Angle | None = None
    left_deg: Angle | None = None
    forward_deg: Angle | None = None
    backward_deg: Angle | None = None
    edge_side: Side | None = None
    edge: Edge | None = None
    created_at: Stamp

    _stamp = field_validator("created_at")(_timestamp)


FrameRow = tuple[Time, Literal[FRAME_PHASES], AnyFloat | None, bool, AnyFloat | None, AnyFloat | None,
                 Annotated[str, Field(max_length=500)] | None]


class Frames(_Record):
    op: Literal["frames"]
    rows: list[FrameRow]
    side: Side | None = None

    @field_validator("rows")
    @classmethod
    def _angles(cls, rows: list) -> list:
        """The angles of a batch, checked at once: each not measured (null or NaN) or finite
        within +-360 deg; no reason text with a control character."""
        if rows:
            values = np.array([(r[2], r[4], r[5]) for r in rows], dtype=float)
            bad = ~(np.isnan(values) | (np.abs(values) <= MAX_ANGLE))
            if bad.any():
                k = int(np.argwhere(bad)[0][0])
                raise ValueError(f"row {k + 1} holds an angle that is no finite angle of at most {MAX_ANGLE:g} deg")
            for r in rows:
                if r[6] is not None:
                    _text(r[6])
        return rows


class Neutral(_Record):
    op: Literal["neutral"]
    neutral_deg: Annotated[float, Field(allow_inf_nan=False, ge=-180, le=180)] | None


class Vertical(_Record):
    op: Literal["vertical"]
    source: Annotated[str, Field(max_length=200)]
    camera_roll_deg: Annotated[float, Field(allow_inf_nan=False, ge=-180, le=180)] | None = None

    _source = field_validator("source")(_text)


class Result(_Record):
    side: Side
    before_deg: Angle | None
    after_deg: Angle | None
    delta_deg: Angle | None
    sem_deg: Angle | None
    mdc95_deg: Angle | None
    verdict: Annotated[str, Field(max_length=500)]
    trials_before: Count
    trials_after: Count
    reps_done: Count = 0
    first_rep_at_after_level: Number | None = None
    set_grade: Literal[GRADES] | None = None
    set_judged: Count | None = None
    set_reached: Count | None = None
    set_flagged: Count | None = None
    edge_start_deg: Angle | None = None
    edge_end_deg: Angle | None = None
    edge_tolerance_deg: Angle | None = None

    _verdict = field_validator("verdict")(_text)


class Finish(_Record):
    op: Literal["finish"]
    status: Literal["complete", "incomplete"]
    end_reason: Text | None = None
    results: list[Result] = []
    stats: dict[str, Any] | None = None
    ended_at: Stamp | None = None

    _reason = field_validator("end_reason")(lambda v: v if v is None else _text(v))
    _stamp = field_validator("ended_at")(lambda v: v if v is None else _timestamp(v))

    @field_validator("stats")
    @classmethod
    def _stats(cls, stats: dict | None) -> dict | None:
        if stats is not None and len(json.dumps(stats, default=str)) > 64 * 1024:
            raise ValueError("the run statistics are larger than 64 kB")
        return stats


RECORD = TypeAdapter(Annotated[Trial | Discard | Rep | Turn | Frames | Neutral | Vertical | Finish,
                               Field(discriminator="op")])


# --------------------------------------------------------------------------- reading a file


@dataclass(frozen=True)
class RecoveryFile:
    """A recovery file read and checked: its header, its session's start and its records (plain
    dicts, as :func:`apply` takes them), in order."""

    path: Path
    header: Header
    meta: SessionMeta
    records: list[dict]


def _problem(path: Path, line: int, exc: ValidationError | Exception) -> InvalidRecoveryFile:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
        what = f"{where}: {first['msg']}" if where else first["msg"]
        if first["type"] in ("value_error",):
            what = f"{where}: {str(first['ctx'].get('error', first['msg']))}"
    else:
        what = str(exc)
    return InvalidRecoveryFile(f"{path} line {line} is not a valid romcam recovery record ({what}); nothing was "
                               f"stored (a file romcam wrote is never like this: was it edited?)")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if line.strip():
                    yield n, line
    except (OSError, UnicodeDecodeError) as exc:
        raise RomcamError(f"cannot read the recovery file {path} ({exc}) (give the file romcam "
                          f"named when the session ended)") from None


def read_recovery(path: str | Path) -> RecoveryFile:
    """Read and check a whole recovery file (module notes); InvalidRecoveryFile when any line is
    not what romcam writes. A last line cut short (a crash while it was appended; its write had
    not returned) is left out."""
    path = Path(path)
    lines = list(_lines(path))
    if len(lines) < 2:
        raise InvalidRecoveryFile(f"{path} is not a romcam recovery file (give the file romcam named "
                                  f"when the session ended)")
    try:
        first = json.loads(lines[0][1])
    except ValueError:
        first = None
    if not isinstance(first, dict) or first.get("format") not in FORMATS:
        raise InvalidRecoveryFile(f"{path} is not a romcam recovery file (give the file romcam named "
                                  f"when the session ended)")
    try:
        header = Header.model_validate_json(lines[0][1])
    except ValidationError as exc:
        raise _problem(path, lines[0][0], exc) from None
    meta = _start(path, lines[1], header)
    records: list[dict] = []
    for k, (n, text) in enumerate(lines[2:], start=2):
        try:
            records.append(RECORD.validate_json(text).model_dump())
        except ValidationError as exc:
            if k == len(lines) - 1 and any(e["type"] == "json_invalid" for e in exc.errors()):
                break                         # the last line, cut by a crash
            raise _problem(path, n, exc) from None
    _check_sides(path, meta, records)
    return RecoveryFile(path=path, header=header, meta=meta, records=records)


def _start(path: Path, line: tuple[int, str], header: Header) -> SessionMeta:
    """The session's start record as a SessionMeta (a file of romcam-recovery-1, from before
    sessions had a UUID, gets one made from its start record: the same file always gets the
    same one)."""
    n, text = line
    try:
        start = Start.model_validate_json(text)
        meta = dict(start.meta)
        if header.format == "romcam-recovery-1" and "uuid" not in meta:
            meta["uuid"] = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "romcam-recovery-1:" + text.strip()))
        elif header.session_uuid != meta.get("uuid"):
            raise InvalidSessionMeta(f"the start record's uuid {meta.get('uuid')!r:.60} is not the header's "
                                     f"{header.session_uuid!r:.60}")
        for key in ("subject", "joint", "side"):
            _text(getattr(start, key))
        return SessionMeta.from_record({"subject": start.subject, "joint": start.joint, "side": start.side,
                                        "meta": meta})
    except (ValidationError, InvalidSessionMeta, ValueError) as exc:
        raise _problem(path, n, exc) from None


def _check_sides(path: Path, meta: SessionMeta, records: list[dict]) -> None:
    """Results only for the sides the session was set up for, each once."""
    allowed = sides_of(meta.side, ())
    for o in records:
        if o["op"] == "finish":
            sides = [r["side"] for r in o["results"]]
            extra = [s for s in sides if s not in allowed] or [s for s in set(sides) if sides.count(s) > 1]
            if extra:
                raise InvalidRecoveryFile(f"{path} holds a result for the {extra[0]} side that a {meta.side} "
                                          f"session cannot have; nothing was stored (was it edited?)")


# --------------------------------------------------------------------------- adding a file


class FrameIndex:
    """Which frame batches of a session are stored: the (side, time) of every stored frame, read
    once, then kept up to date as batches are added (replaying is linear in the frames)."""

    def __init__(self, store: Store, sid: int):
        self.store, self.sid = store, sid
        self._seen: set[tuple[str, float]] | None = None

    def has(self, side: str | None, t_s: float) -> bool:
        if self._seen is None:
            self._seen = self.store.frame_times(self.sid)
        return (side or "", float(t_s)) in self._seen

    def added(self, side: str | None, t_s: float) -> None:
        if self._seen is not None:
            self._seen.add((side or "", float(t_s)))


def apply(store: Store, sid: int, o: dict, frames: FrameIndex | None = None) -> None:
    """One journal record into ``store`` (session ``sid``), unless it is there already
    (``frames``: the session's stored frame batches, else looked up in the database)."""
    op = o["op"]
    if op == "trial":
        if not store.has_trial(sid, o["phase"], o["side"], o["trial_no"], o["created_at"]):
            store.add_trial(sid, o["phase"], o["side"], o["trial_no"], o["peak_deg"], o.get("start_s"),
                            o.get("peak_s"), o.get("end_s"), heel_lifted=o.get("heel_lifted"),
                            created_at=o["created_at"], knee_over_toe_cm=o.get("knee_over_toe_cm"))
    elif op == "discard":
        store.discard_trial_at(sid, o["phase"], o["side"], o["trial_no"], o["created_at"])
    elif op == "rep":
        if not store.has_rep(sid, o["side"], o["rep_no"], o["created_at"]):
            store.add_rep(sid, o["side"], o["rep_no"], o["peak_deg"], o.get("start_s"), o.get("peak_s"),
                          o.get("end_s"), heel_lifted=o.get("heel_lifted"), created_at=o["created_at"],
                          knee_over_toe_cm=o.get("knee_over_toe_cm"), edge=o.get("edge"))
    elif op == "turn":
        if not store.has_turn(sid, o["turn_no"], o["created_at"]):
            store.add_turn(sid, o["turn_no"], o["direction"], o.get("start_s"), o.get("end_s"), o.get("right_deg"),
                           o.get("left_deg"), o.get("forward_deg"), o.get("backward_deg"), created_at=o["created_at"],
                           edge_side=o.get("edge_side"), edge=o.get("edge"))
    elif op == "frames":
        rows, side = o["rows"], o.get("side")
        if rows:
            first = float(rows[0][0])
            stored = frames.has(side, first) if frames is not None else store.has_frames(sid, side, first)
            if not stored:
                store.add_frames(sid, rows, side=side)
                if frames is not None:
                    frames.added(side, first)
    elif op == "neutral":
        store.set_neutral(sid, o["neutral_deg"])
    elif op == "vertical":
        store.set_vertical(sid, o["source"], o.get("camera_roll_deg"))
    elif op == "finish":
        store.finish_session(sid, o["status"], o.get("end_reason"),
                             [SideOutcome(**r) for r in o.get("results", [])], o.get("stats"), o.get("ended_at"))
    else:
        raise RomcamError(f"unknown record {op!r} in a recovery file (made by a newer romcam?)")


def replay(store: Store, recovery: RecoveryFile, new_subject: bool = False) -> int:
    """Add a checked recovery file's session to ``store`` in one transaction (module notes): the
    session with its UUID when it is there already (for the same subject, joint, side and
    start), else a new one. Returns its id. ``new_subject``: a subject code differing only by
    case from a known one is another person (else refused)."""
    meta = recovery.meta
    with store.atomic():
        row = store.session_by_uuid(meta.uuid)
        if row is not None:
            if session_facts(row) != session_facts({"subject": meta.subject, "joint": meta.joint,
                                                    "side": meta.side, "started_at": meta.started_at}):
                raise InvalidRecoveryFile(
                    f"{recovery.path} names session {meta.uuid}, which {store.path} holds as session "
                    f"{row['id']} of {row['subject']} ({row['joint']} {row['side']}, started {row['started_at']}), "
                    f"not of {meta.subject} ({meta.joint} {meta.side}, started {meta.started_at}) as the file "
                    f"says; nothing was stored (was it edited?)")
            sid = int(row["id"])
        else:
            twins = [c for c in store.subjects() if c != meta.subject and c.casefold() == meta.subject.casefold()]
            if twins and not new_subject:
                raise InvalidRecoveryFile(
                    f"{recovery.path} is a session of subject {meta.subject!r}, which differs only by case from "
                    f"the subject {twins[0]!r} of {store.path}; nothing was stored (give --new-subject if "
                    f"{meta.subject!r} is another person)")
            sid = store.start_session(meta, new_subject=True)
        frames = FrameIndex(store, sid)
        for record in recovery.records:
            apply(store, sid, record, frames)
    return sid
