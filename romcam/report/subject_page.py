"""The report of one subject's progress over all their sessions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from romcam.errors import RomcamError
from romcam.report import plots
from romcam.report.model import (Cell, FigureItem, METHOD_TEXT, Report, Section, Table, joint_info,
                                 local_time, wall_clock)
from romcam.report.session_page import outcome_cells
from romcam.storage.rows import SessionRow
from romcam.storage.store import Store


def subject_report(store: Store, subject: str) -> Report:
    """The progress page of one subject: every session's before/after per joint and side."""
    rows = store.sessions(subject=subject)
    if not rows:
        raise RomcamError(f"subject {subject!r} has no sessions yet in {store.path}; record a "
                          f"session first")
    code = rows[0].subject
    joints = list(dict.fromkeys(r.joint for r in rows))
    first, last = local_time(rows[0].started_at), local_time(rows[-1].started_at)
    sections = [_subject_summary_section(rows, joints)]
    sections += [_joint_progress_section(store, rows, joint) for joint in joints]
    notes = _subject_notes(rows)
    if notes:
        sections.append(Section("notes", "Notes", items=notes))
    subtitle = (f"{len(rows)} session{'s' if len(rows) != 1 else ''} from {first[:10]} to "
                f"{last[:10]}")
    return Report(f"Progress of subject {code}", subtitle, sections,
                  synthetic=all(r.synthetic for r in rows), kind="subject")


def _subject_summary_section(rows: Sequence[SessionRow], joints: Sequence[str]) -> Section:
    lines = []
    for joint in joints:
        mine = [r for r in rows if r.joint == joint]
        lines.append(f"{joint_info(joint)[0]}: {len(mine)} session{'s' if len(mine) != 1 else ''}.")
    return Section("summary", "Sessions", paragraphs=lines + [METHOD_TEXT])


def _progress_points(rows: Iterable[SessionRow]) -> list[plots.ProgressPoint]:
    return [plots.ProgressPoint(wall_clock(r), r.id, o.side, o.before_deg, o.after_deg, o.mdc95_deg)
            for r in rows for o in r.outcomes
            if o.before_deg is not None or o.after_deg is not None]


def _joint_progress_section(store: Store, rows: Sequence[SessionRow], joint: str) -> Section:
    title = joint_info(joint)[0]
    mine = [r for r in rows if r.joint == joint]
    section = Section(f"joint-{joint}", title)
    points = _progress_points(mine)
    if points:
        section.figures.append(FigureItem(
            f"progress_{joint}",
            f"{title}: before (open circles, dotted) and after (filled squares, solid) of each "
            f"session, an arrow from before to after; the hatched band is that session's before "
            f"± MDC95: an after outside it changed beyond measurement noise (the session's "
            f"verdict), one inside it did not. No band: fewer than 2 trials, so no MDC.",
            lambda: plots.progress_figure(points)))
    else:
        section.paragraphs.append("No session of this joint has a before or after value yet.")
    headers = ["date", "session", "side", "before (deg)", "after (deg)", "delta (deg)",
               "SEM (deg)", "MDC95 (deg)", "set", "status"]
    table_rows = []
    for r in mine:
        set_cell = _set_cell(store, r)
        for o in r.outcomes:
            by_key = {c.key: c for c in outcome_cells(o)}
            table_rows.append(({"data-session": str(r.id), "data-side": o.side}, [
                Cell("started_at", r.started_at, local_time(r.started_at)),
                Cell("session_id", r.id, f"{r.id}{' *' if r.synthetic else ''}"),
                *(by_key[k] for k in ("side", "before_deg", "after_deg", "delta_deg", "sem_deg",
                                      "mdc95_deg")),
                set_cell or Cell("reps_done", o.reps_done, f"{o.reps_done} reps"),
                Cell.words("status", r.status_label), by_key["verdict"]]))
    section.tables.append(Table(headers, table_rows, css="data results", notes=("verdict",)))
    return section


def _set_cell(store: Store, row: SessionRow) -> Cell | None:
    """The set of a session of neck circles, in turns (None for a set of reps: shown per side)."""
    if row.set_kind != "circles":
        return None
    n = len(store.turns(row.id))
    return Cell("turns_done", n, f"{n} turns")


def _subject_notes(rows: Sequence[SessionRow]) -> list[str]:
    notes = []
    synthetic = [str(i) for i in sorted(r.id for r in rows if r.synthetic)]
    if synthetic:
        notes.append(f"Sessions marked * ({', '.join(synthetic)}) are synthetic (demo) data, "
                     f"not measurements of a person.")
    for r in rows:
        if r.status != "complete":
            notes.append(f"Session {r.id} is {r.status_label}; its values are what was stored.")
    return notes
