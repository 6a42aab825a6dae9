"""CSV for clinicians and the history table for the terminal.

The sessions file has one row per session x side (columns in :data:`SESSION_COLUMNS`, units in
the names); ``frames=True`` adds ``<stem>_frames.csv`` beside it with the per-frame angle series
in long format (:data:`FRAME_COLUMNS`).

Format: comma separated, lines ended by CRLF (RFC 4180; a cell holding a line break or a
carriage return is quoted), a header row, no index column, ``.`` as the decimal point, one session
value per cell, empty cells for missing values. Encoding is **UTF-8 with a byte-order mark**
(``utf-8-sig``): Excel opens a double-clicked CSV as UTF-8 only when the BOM is there (without it
a subject code such as "Zoë" comes out as "ZoÃ«"); pandas reads either form; Python's csv module
needs ``encoding="utf-8-sig"``. LibreOffice must be told the character set (UTF-8) in its import
dialog or with ``--infilter=CSV:44,34,76,1,,1033``; left to itself it reads the file as a
single-byte code page, with or without the BOM (tests/integration/test_export_libreoffice.py).
Angles are rounded to 0.1 deg (the precision the summary and the verdicts print); in the frames
file times to 0.001 s (frames are 33 ms apart at 30 fps) and angles to 0.01 deg.
Files are written atomically: a crash leaves the old file or the new one, never half of one.
Text cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return, see OWASP "CSV injection") get a leading ``'`` whatever the database
holds; a cell that is a number (e.g. ``-3.5``) is written as it is.
"""

from __future__ import annotations

import math
import os
import re
from datetime import date, datetime
from pathlib import Path
from collections.abc import Iterable

import pandas as pd

from romcam.errors import RomcamError
from romcam.files import atomic_write_text, check_output, disk_error, same_file
from romcam.measure.outcome import SideOutcome
from romcam.storage import mot
from romcam.storage.mot import Motion
from romcam.storage.rows import SessionRow
from romcam.storage.store import Store
from romcam.text import printable

ENCODING = "utf-8-sig"
DEG_DECIMALS = 1
CM_DECIMALS = 1
FRAME_T_DECIMALS = 3
FRAME_DEG_DECIMALS = 2

# (column, unit, meaning): the single source of the column tables in docs/reference/exports.md.
SESSION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("subject", "-", "Subject code as entered at the session (use a pseudonym, not a name)."),
    ("session_id", "-", "Session number in the database; links rows to the frames file."),
    ("date", "-", "Date the session started (local time of the recording computer), "
                  "YYYY-MM-DD; spreadsheets read it as a date."),
    ("started_at", "-", "Session start, ISO 8601 local time with its UTC offset, "
                        "e.g. 2026-05-09T14:03:12+02:00."),
    ("joint", "-", "Joint and movement measured (see `romcam joints`)."),
    ("side", "-", "The person's anatomical side (left/right), never the image side."),
    ("status", "-", "complete; incomplete (<reason>) when stopped early; incomplete (interrupted) "
                    "when the program ended without finishing the session (crash, killed, power cut)."),
    ("before_deg", "deg", "Before the set: median of the peak angles of the before trials."),
    ("after_deg", "deg", "After the set: median of the peak angles of the after trials."),
    ("delta_deg", "deg", "after_deg - before_deg (positive = more range); computed before rounding, "
                         "so it can differ by 0.1 from the difference of the rounded columns."),
    ("sem_deg", "deg", "Standard error of measurement: pooled SD of the trial peaks within the "
                       "before and after measurements (empty with fewer than 2 trials)."),
    ("mdc95_deg", "deg", "Minimal detectable change, 95 %: 1.96 x sqrt(2) x sem_deg."),
    ("verdict", "-", "Plain-language result: improved/decreased by X deg when the size of "
                     "delta_deg exceeds mdc95_deg, within measurement noise when it does not, "
                     "uncertainty unknown with fewer than 2 trials, or incomplete when there "
                     "is no before/after pair."),
    ("trials_before", "count", "Before trials used (discarded trials are not counted)."),
    ("trials_after", "count", "After trials used."),
    ("set_kind", "-", "What the set was: reps (mobilisation reps per side) or circles (neck circles, "
                      "counted as turns)."),
    ("reps_done", "count", "Mobilisation reps counted on this side during the set (0 for a set of circles)."),
    ("target_reps", "count", "Reps the set asked for (empty if none was set, or for a recorded visit)."),
    ("turns_done", "count", "A set of circles: turns counted, both directions together (the same on "
                            "both sides' rows); empty for a set of reps."),
    ("target_turns", "count", "A set of circles: the turns it asked for (empty if none)."),
    ("first_rep_at_after_level", "rep number", "First set rep whose peak reached after_deg (empty if none)."),
    ("set_grade", "I-IV", "Maitland grade of the set on this side: the most common grade of its reps (or turns), "
                          "each graded by its amplitude (small: under half the range) and whether it reached the "
                          "edge (see Set quality and grades); empty when the set was not judged."),
    ("set_reached", "count", "Set reps (or turns) on this side whose peak reached the edge of the range."),
    ("set_judged", "count", "Set reps (or turns) on this side judged against the edge."),
    ("edge_start_deg", "deg", "The edge at the start of the set: the before range (or the first rep's peak "
                              "without before trials)."),
    ("edge_end_deg", "deg", "The edge at the end of the set: the best peak of the last 5 reps (or turns), "
                            "never below edge_start_deg."),
    ("heel_lifted", "count", "Ankle: trials and set reps on this side whose heel was lifted at the peak "
                             "(a lifted heel voids a knee-to-wall trial); empty for joints without a heel check."),
    ("knee_over_toe_before_cm", "cm", "Ankle: median over the before trials of the knee's horizontal lead over "
                                      "the toe tip at the peak (the knee-to-wall distance; + = knee ahead); "
                                      "empty without a scale target."),
    ("knee_over_toe_after_cm", "cm", "Ankle: the same over the after trials."),
    ("synthetic", "0/1", "1 for demo or synthetic data (not a measurement of a person), else 0."),
    ("recorded", "0/1", "1 for a recorded visit (a video analysed later with the phases given: "
                        "`session --phases`), 0 for a live session."),
    ("session_uuid", "-", "The session's identity (a UUID made when it started): the same in every database "
                          "it is copied to (`db copy`), where session_id may differ."),
)

FRAME_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("subject", "-", "Subject code."),
    ("session_id", "-", "Session number (matches session_id in the sessions file)."),
    ("phase", "-", "Part of the session the frame belongs to: setup, neutral, before, set or after."),
    ("side", "-", "left/right when the session recorded one series per limb; empty when it "
                  "recorded a single series."),
    ("t_s", "s", "Time of the frame on the session's clock (the clock of the trial and rep times)."),
    ("angle_deg", "deg", "Joint angle in that frame as reported in the session: for neck joints "
                         "relative to the person's neutral and signed (+ = towards the person's "
                         "right); for limbs the anatomical angle. Raw (unfiltered); empty when the "
                         "frame was not usable."),
    ("valid", "0/1", "1 if the frame passed the quality checks (landmarks visible, face found on "
                     "the measured person and in view, head not turned past the face-mesh limit), "
                     "else 0."),
    ("invalid_reason", "-", "Why the frame was not usable (e.g. face not found, head turned past the "
                            "face-mesh limit); empty when it was."),
    ("head_turn_deg", "deg", "Neck joints: the head's turn about the trunk's vertical (+ = towards the "
                             "person's right), as measured, also when the frame was not usable for "
                             "the side-bend; empty without a face."),
    ("head_flexion_deg", "deg", "Neck joints: the head's flexion (nod, + = chin down), as measured "
                                "(includes the camera's own pitch); empty without a face."),
)

# (column, unit, meaning) of ``<stem>_turns.csv`` (``--turns``): one row per neck circle.
TURN_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("subject", "-", "Subject code."),
    ("session_id", "-", "Session number (matches session_id in the sessions file)."),
    ("turn_no", "turn number", "1, 2, ... in the order the turns were completed, both directions together."),
    ("direction", "-", "cw = clockwise as the person would see the top of their head from above: "
                       "forward, then right, back, left; ccw = counter-clockwise."),
    ("start_s", "s", "Start of the turn on the session's clock."),
    ("end_s", "s", "End of the turn (a net 360 deg of the head's tilt direction after its start)."),
    ("right_deg", "deg", "Largest side-bend towards the person's right during the turn, relative "
                         "to their neutral (empty if the turn never went right of neutral)."),
    ("left_deg", "deg", "Largest side-bend towards the left, as a positive number."),
    ("forward_deg", "deg", "Largest nod forward (chin down) during the turn, relative to the neutral."),
    ("backward_deg", "deg", "Largest extension (chin up), as a positive number."),
    ("right_at_after_level", "0/1", "1 if right_deg reached the session's right after_deg (the first "
                                    "such row is the turn at which the range reached the after-level)."),
    ("left_at_after_level", "0/1", "As right_at_after_level, for the left side."),
    ("synthetic", "0/1", "1 for demo or synthetic data, else 0."),
)

_INT_COLUMNS = ("session_id", "trials_before", "trials_after", "reps_done", "target_reps", "turns_done",
                "target_turns", "recorded",
                "first_rep_at_after_level", "heel_lifted", "synthetic", "set_reached", "set_judged")


def _round(value: float | None, decimals: int) -> float | None:
    """Python's correctly rounded round() (matches the verdicts' f"{x:z.1f}"); None stays None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), decimals) + 0.0    # never -0.0


def _session_record(row: SessionRow, o: SideOutcome) -> dict:
    started = row.started
    return {
        "subject": row.subject, "session_id": row.id, "date": started.date().isoformat(),
        "started_at": started.isoformat(timespec="seconds"), "joint": row.joint, "side": o.side,
        "status": row.status_label,
        "before_deg": _round(o.before_deg, DEG_DECIMALS),
        "after_deg": _round(o.after_deg, DEG_DECIMALS),
        "delta_deg": _round(o.delta_deg, DEG_DECIMALS),
        "sem_deg": _round(o.sem_deg, DEG_DECIMALS),
        "mdc95_deg": _round(o.mdc95_deg, DEG_DECIMALS),
        "verdict": o.verdict, "trials_before": o.trials_before, "trials_after": o.trials_after,
        "set_kind": row.set_kind, "reps_done": o.reps_done, "target_reps": row.target_reps,
        "turns_done": row.turns_done, "target_turns": row.target_turns, "recorded": int(row.recorded),
        "first_rep_at_after_level": o.first_rep_at_after_level,
        "set_grade": o.set_grade, "set_reached": o.set_reached, "set_judged": o.set_judged,
        "edge_start_deg": _round(o.edge_start_deg, DEG_DECIMALS), "edge_end_deg": _round(o.edge_end_deg, DEG_DECIMALS),
        "heel_lifted": row.heel_lifted.get(o.side) if row.heel_lifted else None, "synthetic": int(row.synthetic),
        "knee_over_toe_before_cm": _round(row.knee_over_toe_cm.get((o.side, "before")), CM_DECIMALS),
        "knee_over_toe_after_cm": _round(row.knee_over_toe_cm.get((o.side, "after")), CM_DECIMALS),
        "session_uuid": row.uuid,
    }


def sessions_table(rows: Iterable[SessionRow]) -> pd.DataFrame:
    """One row per session x side, the columns of :data:`SESSION_COLUMNS` (pure)."""
    records = [_session_record(row, o) for row in rows for o in row.outcomes]
    df = pd.DataFrame.from_records(records, columns=[c for c, _, _ in SESSION_COLUMNS])
    for column in _INT_COLUMNS:
        df[column] = df[column].astype("Int64")   # whole numbers, empty cell when missing
    return df


def frames_table(store: Store, rows: Iterable[SessionRow]) -> pd.DataFrame:
    """The per-frame angle series of ``rows``' sessions, long format (:data:`FRAME_COLUMNS`)."""
    parts = []
    for row in rows:
        f = store.frames(row.id)
        if len(f):
            f.insert(0, "session_id", row.id)
            f.insert(0, "subject", row.subject)
            parts.append(f)
    columns = [c for c, _, _ in FRAME_COLUMNS]
    if not parts:
        return pd.DataFrame(columns=columns)
    df = pd.concat(parts, ignore_index=True)[columns]
    df["t_s"] = df["t_s"].round(FRAME_T_DECIMALS)
    for name in ("angle_deg", "head_turn_deg", "head_flexion_deg"):
        df[name] = df[name].round(FRAME_DEG_DECIMALS)
    df["valid"] = df["valid"].astype(int)
    df["session_id"] = df["session_id"].astype("Int64")
    return df


def turns_table(store: Store, rows: Iterable[SessionRow]) -> pd.DataFrame:
    """The neck circles of ``rows``' sessions, one row per turn (:data:`TURN_COLUMNS`)."""
    records = []
    for row in rows:
        after = {o.side: o.after_deg for o in row.outcomes}
        for turn in store.turns(row.id):
            reached = {side: None if after.get(side) is None else
                       int(turn.extreme(side) is not None and turn.extreme(side) >= after[side])
                       for side in ("right", "left")}
            records.append({
                "subject": row.subject, "session_id": row.id, "turn_no": turn.turn_no,
                "direction": turn.direction, "start_s": _round(turn.start_s, FRAME_T_DECIMALS),
                "end_s": _round(turn.end_s, FRAME_T_DECIMALS),
                **{f"{side}_deg": _round(turn.extreme(side), DEG_DECIMALS)
                   for side in ("right", "left", "forward", "backward")},
                "right_at_after_level": reached["right"], "left_at_after_level": reached["left"],
                "synthetic": int(row.synthetic)})
    df = pd.DataFrame.from_records(records, columns=[c for c, _, _ in TURN_COLUMNS])
    for column in ("session_id", "turn_no", "right_at_after_level", "left_at_after_level", "synthetic"):
        df[column] = df[column].astype("Int64")
    return df


def turns_path(path: Path) -> Path:
    """Where --turns writes the neck circles: ``<stem>_turns.csv`` beside ``path``."""
    return path.with_name(f"{path.stem}_turns.csv")


def frames_path(path: Path) -> Path:
    """Where --frames writes the per-frame series: ``<stem>_frames.csv`` beside ``path``."""
    return path.with_name(f"{path.stem}_frames.csv")


def mot_path(path: Path, session_id: int) -> Path:
    """Where --mot writes a session's angles: ``<stem>_session-<id>.mot`` beside ``path``."""
    return path.with_name(f"{path.stem}_session-{session_id}.mot")


def session_motion(store: Store, row: SessionRow) -> Motion:
    """The per-frame angles of the session ``row`` as an OpenSim motion (:mod:`romcam.storage.mot`),
    the same numbers as its rows of the frames CSV."""
    return mot.stored_frames_motion(frames_table(store, [row]), row.joint, f"romcam session {row.id}: {row.joint}",
                                    time_decimals=FRAME_T_DECIMALS, deg_decimals=FRAME_DEG_DECIMALS)


def check_mot_outputs(path: Path, rows: Iterable[SessionRow], db_path: Path | None = None,
                      overwrite: bool = False) -> dict[int, Path]:
    """Before anything is written: the .mot file of each of ``rows`` (``--mot``) may be written;
    returns them by session id."""
    targets = {}
    for row in rows:
        target = mot_path(Path(path), row.id)
        if db_path is not None and same_file(target, db_path):
            raise RomcamError(f"{target} is the session database itself (give another file name for --csv)")
        targets[row.id] = check_output(target, "--csv", overwrite=overwrite,
                                       inputs=[db_path] if db_path is not None else [])
    return targets


def export_tables(store: Store, subject: str | None = None, since: str | date | datetime | None = None,
                  frames: bool = False, joint: str | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The sessions table and (with ``frames``) the frames table for the chosen sessions."""
    rows = store.sessions(subject=subject, joint=joint, since=since)
    return sessions_table(rows), (frames_table(store, rows) if frames else None)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: object) -> object:
    """``value`` with a leading ``'`` if it is text a spreadsheet would take for a formula
    (it starts, after any spaces, with one of :data:`FORMULA_STARTS`) and is not a number;
    anything else unchanged."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS) \
            and not _NUMBER.fullmatch(value.strip(" ")):
        return "'" + value
    return value


def neutralised(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells went through :func:`neutralise_cell`."""
    out = df.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    return out


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` as a clinician's CSV (see the module notes) atomically, formula-like text
    neutralised (:func:`neutralise_cell`); returns ``path``."""
    text = neutralised(df).to_csv(index=False, lineterminator="\r\n")
    path = Path(path)
    if path.is_dir():
        raise RomcamError(f"{path} is a folder; give a file name for the CSV, e.g. {path / 'romcam.csv'}")
    try:
        atomic_write_text(path, text, encoding=ENCODING)
    except OSError as exc:
        raise disk_error(exc, path, "--csv") from None
    return path


def check_export_outputs(path: Path, frames: bool, db_path: Path | None = None,
                         overwrite: bool = False) -> list[Path]:
    """Before anything is read or written: the CSV and (``frames``) ``<stem>_frames.csv`` may
    both be written (see romcam.files), so a bad path never leaves half an export."""
    path = Path(path)
    if path.is_dir():
        raise RomcamError(f"{path} is a folder (give a file name for the CSV, e.g. {path / 'romcam.csv'})")
    targets = [path] + ([frames_path(path)] if frames else [])
    inputs = [db_path] if db_path is not None else []
    for target in targets:
        if db_path is not None and same_file(target, db_path):
            raise RomcamError(f"{target} is the session database itself (give another file name "
                              f"for --csv)")
    return [check_output(target, "--csv", overwrite=overwrite, inputs=inputs) for target in targets]


def check_turns_output(path: Path, db_path: Path | None = None, overwrite: bool = False) -> Path:
    """Before anything is written: ``<stem>_turns.csv`` (``--turns``) may be written."""
    target = turns_path(Path(path))
    if db_path is not None and same_file(target, db_path):
        raise RomcamError(f"{target} is the session database itself (give another file name for --csv)")
    return check_output(target, "--csv", overwrite=overwrite, inputs=[db_path] if db_path is not None else [])


def write_export(tables: tuple[pd.DataFrame, pd.DataFrame | None], path: Path,
                 db_path: Path | None = None, overwrite: bool = False) -> list[Path]:
    """Write the sessions CSV at ``path`` and, if there is a frames table, ``<stem>_frames.csv``."""
    path = Path(path)
    sessions, frames = tables
    targets = check_export_outputs(path, frames is not None, db_path, overwrite)
    written = [write_csv(sessions, path)]
    if frames is not None:
        written.append(write_csv(frames, targets[1]))
    return written


def export_csv(store: Store, path: str | os.PathLike, subject: str | None = None,
               since: str | date | datetime | None = None, frames: bool = False,
               joint: str | None = None) -> list[Path]:
    """Export the sessions (of ``subject``, since ``since``) as CSV; returns the written paths:
    ``[path]`` or, with ``frames``, ``[path, <stem>_frames.csv]``."""
    tables = export_tables(store, subject=subject, since=since, frames=frames, joint=joint)
    return write_export(tables, Path(path), store.path)


# --------------------------------------------------------------------------- terminal table

HISTORY_HEADER = ("id", "started", "subject", "joint", "side", "before", "after", "delta",
                  "MDC95", "set", "edge", "grade", "status")
_RIGHT_ALIGNED = {"id", "before", "after", "delta", "MDC95", "set", "edge"}


def _edge_cell(o: SideOutcome) -> str:
    """'34/40 20.1->24.6': set reps (or turns) that reached the edge, of those judged, and the edge
    at the start and end of the set ('-' when the set was not judged)."""
    if not o.set_judged or o.edge_start_deg is None or o.edge_end_deg is None:
        return "-"
    return f"{o.set_reached}/{o.set_judged} {o.edge_start_deg:z.1f}->{o.edge_end_deg:z.1f}"


def _deg(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+z.1f}" if signed else f"{value:z.1f}"


def _history_lines(row: SessionRow) -> list[tuple[str, ...]]:
    """One line per side; the session's own columns only on its first line."""
    head = (f"{row.id}{'*' if row.synthetic else ''}",
            row.started.strftime("%Y-%m-%d %H:%M"), row.subject, row.joint)
    lines = []
    for k, o in enumerate(row.outcomes or (None,)):
        session_cells = head if k == 0 else ("",) * len(head)
        if o is None:
            side_cells = ("-",) * 8
        else:
            side_cells = (o.side, _deg(o.before_deg), _deg(o.after_deg),
                          _deg(o.delta_deg, signed=True), _deg(o.mdc95_deg), row.set_done(o.reps_done),
                          _edge_cell(o), o.set_grade or "-")
        status = row.status_label + (" (recorded visit)" if row.recorded else "")
        lines.append(session_cells + side_cells + (status if k == 0 else "",))
    return lines


def history_table(rows: Iterable[SessionRow]) -> str:
    """Sessions as a plain-text table: one line per session x side, angles in degrees; stored text
    without control characters (:func:`romcam.text.printable`)."""
    rows = list(rows)
    lines = [HISTORY_HEADER] + [tuple(printable(cell) for cell in line)
                                for row in rows for line in _history_lines(row)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HISTORY_HEADER))]
    text = [
        "  ".join(cell.rjust(w) if name in _RIGHT_ALIGNED else cell.ljust(w)
                  for cell, w, name in zip(line, widths, HISTORY_HEADER)).rstrip()
        for line in lines
    ]
    text.append("angles in degrees; delta = after - before; MDC95 = smallest change larger than "
                "measurement noise")
    if any(row.synthetic for row in rows):
        text.append("* synthetic (demo) data, not a measurement of a person")
    return "\n".join(text)
