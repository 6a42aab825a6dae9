"""The before/after report: one self-contained HTML page (and optionally a PDF) per session or
per subject.

Flow: :func:`session_report` / :func:`subject_report` read the Store and describe the page as a
:class:`Report` (sections of text, tables of :class:`Cell` values and figures to draw);
:func:`write_report` draws the figures once (:mod:`romcam.plots`), embeds them as base64 PNG in
the HTML and, with ``pdf=True``, also writes them to a PDF with matplotlib (no browser needed)
after a text page with the same tables.

Every number on the page comes from the store: the before/after values, SEM, MDC95, verdicts,
rep counts and first-rep-at-after-level are the stored results (or, for a session that never
finished, :func:`romcam.outcome.side_outcome` over its stored trials, as ``Store.sessions`` gives
them). The report itself only adds the trend slope of the rep peaks (least squares) and, when a
session's statistics lack it, the share of stored frames marked valid. Each number sits in a
cell with ``data-key`` (what it is), ``data-value`` (the exact stored value) and, in per-side
rows, ``data-side``/``data-session``, so the page can be checked against the database.

The page has no external references: inline CSS, images as ``data:`` URIs, no scripts or fonts
to fetch, so it opens offline and can be mailed as one file. Files are written atomically.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from romcam import __version__
from romcam.report import plots
from romcam.errors import RomcamError
from romcam.measure.outcome import SideOutcome
from romcam.storage.store import SessionDetail, SessionRow, Store, parse_timestamp

REPORT_DIR = "romcam-reports"
LOW_VALID_SHARE = 0.8        # warn when fewer frames than this were valid
HIGH_YAW_SHARE = 0.1         # warn when more frames than this were rejected for head turning
HIGH_DROP_SHARE = 0.05       # warn when more captured frames than this were dropped
PDF_LINES_PER_PAGE = 72

SYNTHETIC_TEXT = "Synthetic (demo) data: not a measurement of a person."
METHOD_TEXT = ("Angles in degrees. Before and after are the medians of the trial peaks; SEM is "
               "the pooled spread of the trials; MDC95 = 1.96 x sqrt(2) x SEM is the smallest "
               "change larger than measurement noise; delta = after - before.")


# --------------------------------------------------------------------------- the page model


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
        return cls(key, float(value), f"{value:+.1f}" if signed else f"{value:.1f}")

    @classmethod
    def share(cls, key: str, value: float | None, suffix: str = "") -> Cell:
        if value is None:
            return cls(key, None, "-")
        return cls(key, float(value), f"{100.0 * float(value):.1f} %{suffix}")

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
    headers: list[str]
    rows: list[tuple[dict[str, str], list[Cell]]]     # (row attributes, cells)
    css: str = "data"


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


def _stat(stats: dict, key: str) -> Any:
    """A session statistic, None if missing or not a finite number where a number is expected."""
    value = stats.get(key)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _trials_of(detail: SessionDetail, side: str, phase: str) -> list:
    return [t for t in detail.trials if t.side == side and t.phase == phase and not t.discarded]


def _reps_of(detail: SessionDetail, side: str) -> list:
    return [r for r in detail.reps if r.side == side]


def valid_share(detail: SessionDetail, frames) -> tuple[float | None, str]:
    """The valid-frame share from the session statistics, else from the stored frames."""
    value = _stat(detail.stats, "valid_share")
    if value is not None:
        return float(value), "session statistics"
    if frames is not None and len(frames):
        return float(frames["valid"].mean()), "stored frames"
    return None, ""


# --------------------------------------------------------------------------- session report


def session_report(store: Store, session_id: int) -> Report:
    """The page of one session (RomcamError if there is no such session)."""
    detail = store.session(session_id)
    frames = store.frames(detail.id)
    row = detail.row
    title, kind = joint_info(row.joint)
    sections = [
        _results_section(detail),
        _set_section(detail),
        _trace_section(detail, frames, title, kind),
        _facts_section(detail, frames, title),
        _warnings_section(detail, frames),
    ]
    subtitle = (f"Subject {row.subject} - {local_time(row.started_at)} - {row.side} side"
                f"{'s' if row.side == 'both' else ''} - {row.status_label}")
    return Report(f"{title}: session {row.id}", subtitle, sections, synthetic=row.synthetic)


def _results_table(detail: SessionDetail) -> Table:
    headers = ["side", "before (deg)", "after (deg)", "delta (deg)", "SEM (deg)",
               "MDC95 (deg)", "verdict", "trials before", "trials after", "reps",
               "first rep at after level"]
    rows = []
    for o in detail.outcomes:
        rows.append(({"data-side": o.side, "data-session": str(detail.id)}, _outcome_cells(o)))
    return Table(headers, rows, css="data results")


def _outcome_cells(o: SideOutcome) -> list[Cell]:
    return [
        Cell.words("side", o.side), Cell.deg("before_deg", o.before_deg),
        Cell.deg("after_deg", o.after_deg), Cell.deg("delta_deg", o.delta_deg, signed=True),
        Cell.deg("sem_deg", o.sem_deg), Cell.deg("mdc95_deg", o.mdc95_deg),
        Cell.words("verdict", o.verdict), Cell.number("trials_before", o.trials_before),
        Cell.number("trials_after", o.trials_after), Cell.number("reps_done", o.reps_done),
        Cell.number("first_rep_at_after_level", o.first_rep_at_after_level),
    ]


def _side_levels(detail: SessionDetail) -> list[plots.SideLevels]:
    return [plots.SideLevels(
        o.side, o.before_deg, o.after_deg, o.sem_deg, o.mdc95_deg, o.verdict,
        tuple(t.peak_deg for t in _trials_of(detail, o.side, "before")),
        tuple(t.peak_deg for t in _trials_of(detail, o.side, "after")))
        for o in detail.outcomes]


def _results_section(detail: SessionDetail) -> Section:
    section = Section("results", "Before and after")
    outcomes = detail.outcomes
    if not outcomes:
        section.paragraphs.append("No side has any trials or reps stored yet.")
        return section
    section.paragraphs += [f"{o.side.capitalize()}: {o.verdict}." for o in outcomes]
    section.tables.append(_results_table(detail))
    if any(o.before_deg is not None or o.after_deg is not None for o in outcomes):
        levels = _side_levels(detail)
        section.figures.append(FigureItem(
            "before_after",
            "Median peak angle before and after the set with ±SEM error bars; crosses are the "
            "single trials. The hatched band is before ± MDC95: an after value inside it is "
            "within measurement noise.",
            lambda: plots.before_after_figure(levels)))
    section.paragraphs.append(METHOD_TEXT)
    return section


def _rep_series(detail: SessionDetail) -> list[plots.RepSeries]:
    out = []
    for o in detail.outcomes:
        reps = _reps_of(detail, o.side)
        out.append(plots.RepSeries(o.side, tuple(r.rep_no for r in reps),
                                   tuple(r.peak_deg for r in reps), o.before_deg, o.after_deg,
                                   o.first_rep_at_after_level))
    return out


def _set_section(detail: SessionDetail) -> Section:
    section = Section("set", "The set, rep by rep")
    series = [s for s in _rep_series(detail) if s.peak_deg]
    if not series:
        section.paragraphs.append("No set reps are stored for this session.")
        return section
    rows = []
    for s in series:
        trend = plots.trend_line(s.rep_no, s.peak_deg)
        rows.append(({"data-side": s.side, "data-session": str(detail.id)}, [
            Cell.words("side", s.side), Cell.number("set_reps", len(s.peak_deg)),
            Cell.deg("first_rep_peak_deg", s.peak_deg[0]),
            Cell.deg("last_rep_peak_deg", s.peak_deg[-1]),
            Cell.deg("max_rep_peak_deg", max(s.peak_deg)),
            Cell.number("trend_deg_per_rep", None if trend is None else trend.slope, "{:+.2f}"),
            Cell.number("set_first_rep_at_after_level", s.first_rep_at_after_level),
        ]))
    target = detail.row.target_reps
    section.paragraphs.append(
        "Peak angle of each counted rep of the set"
        + (f" (target {target} reps per side)" if target else "")
        + ". The trend is a least-squares line through the rep peaks.")
    section.tables.append(Table(["side", "reps", "first rep peak (deg)", "last rep peak (deg)",
                                 "largest rep peak (deg)", "trend (deg/rep)",
                                 "first rep at after level"], rows))
    section.figures.append(FigureItem(
        "rep_peaks",
        "Peak angle of every set rep (circles) with its least-squares trend (dashed), the before "
        "level (dotted) and the after level (dash-dot); the vertical line is the first rep whose "
        "peak reached the after level.",
        lambda: plots.rep_peaks_figure(series)))
    return section


def phase_spans(frames) -> list[plots.PhaseSpan]:
    """Consecutive runs of one phase in the stored frames (by time), as shaded spans; each span
    reaches to the start of the next one."""
    if frames is None or not len(frames):
        return []
    ordered = frames.sort_values("t_s", kind="stable")
    t = ordered["t_s"].to_numpy(dtype=float)
    phase = ordered["phase"].astype(str).to_numpy()
    starts = np.flatnonzero(np.concatenate([[True], phase[1:] != phase[:-1]]))
    spans = []
    for k, a in enumerate(starts):
        end = t[starts[k + 1]] if k + 1 < len(starts) else t[-1]
        spans.append(plots.PhaseSpan(str(phase[a]), float(t[a]), float(end)))
    return spans


def trace_series(frames) -> list[plots.TraceSeries]:
    """One series per stored side label (the single signed series has no side)."""
    if frames is None or not len(frames):
        return []
    labels = frames["side"].where(frames["side"].notna(), "angle")
    out = []
    for label in dict.fromkeys(labels):
        part = frames[labels == label]
        out.append(plots.TraceSeries(str(label), part["t_s"].to_numpy(dtype=float),
                                     part["angle_deg"].to_numpy(dtype=float),
                                     part["valid"].to_numpy(dtype=bool)))
    return out


def event_marks(detail: SessionDetail, signed: bool) -> list[plots.EventMark]:
    """Trial and rep peaks at their stored times and angles; on a signed series (e.g. the neck:
    + = towards the right) the left side's magnitudes are drawn below zero."""
    def y(side: str, peak: float) -> float:
        return -peak if signed and side == "left" else peak

    marks = [plots.EventMark("trial", t.peak_s, y(t.side, t.peak_deg),
                             f"{'B' if t.phase == 'before' else 'A'}{t.trial_no}")
             for t in detail.trials if t.peak_s is not None and not t.discarded]
    marks += [plots.EventMark("rep", r.peak_s, y(r.side, r.peak_deg))
              for r in detail.reps if r.peak_s is not None]
    return marks


def _trace_section(detail: SessionDetail, frames, title: str, kind: str) -> Section:
    section = Section("trace", "Angle over time")
    series = trace_series(frames)
    if not series:
        section.paragraphs.append("No per-frame angles are stored for this session.")
        return section
    signed = kind == "signed" or all(s.label == "angle" for s in series)
    ylabel = "angle (deg)\n+ right / - left" if signed else "angle (deg)"
    spans, marks = phase_spans(frames), event_marks(detail, signed)
    section.paragraphs.append(
        f"{title} in every stored frame ({len(frames)} frames), on the session clock. "
        + ("Positive angles are towards the person's right, negative towards the left. "
           if signed else "")
        + "Phases are shaded, trial peaks (B = before, A = after) and set rep peaks are marked; "
          "black bars along the bottom are frames rejected by the quality checks.")
    section.figures.append(FigureItem(
        "trace", f"{title} over time with the session phases.",
        lambda: plots.angle_trace_figure(series, spans, marks, ylabel)))
    return section


def _facts_rows(detail: SessionDetail, frames, title: str) -> list[tuple[str, Cell]]:
    row, stats = detail.row, detail.stats
    share, share_from = valid_share(detail, frames)
    discarded = sum(1 for t in detail.trials if t.discarded)
    return [
        ("Session", Cell.number("session_id", row.id)),
        ("Subject", Cell.words("subject", row.subject)),
        ("Started", Cell("started_at", row.started_at, local_time(row.started_at))),
        ("Ended", Cell("ended_at", row.ended_at, local_time(row.ended_at))),
        ("Status", Cell.words("status", row.status_label)),
        ("Joint", Cell("joint", row.joint, f"{title} ({row.joint})")),
        ("Side", Cell.words("side", row.side)),
        ("Trials per measurement (planned)", Cell.number("trials_per_phase", detail.trials_per_phase)),
        ("Trials stored", Cell.number("trials_stored", len(detail.trials) - discarded)),
        ("Trials discarded", Cell.number("trials_discarded", discarded)),
        ("Target reps", Cell.number("target_reps", row.target_reps)),
        ("Reps counted (all sides)", Cell.number("reps_total", row.reps_done)),
        ("Neutral angle", Cell.number("neutral_deg", detail.neutral_deg, "{:.1f}", "deg")),
        ("Source", Cell.words("source", detail.source)),
        ("Camera", Cell.words("camera", detail.camera)),
        ("Pose model", Cell.words("pose_model", detail.pose_model)),
        ("Frame rate", Cell.number("fps", _stat(stats, "fps"), "{:.1f}", "frames/s")),
        ("Frames captured", Cell.number("frames_captured", _stat(stats, "frames_captured"))),
        ("Frames processed", Cell.number("frames_processed", _stat(stats, "frames_processed"))),
        ("Frames dropped", Cell.number("frames_dropped", _stat(stats, "frames_dropped"))),
        ("Frames stored", Cell.number("frames_stored", len(frames) if frames is not None else 0)),
        ("Valid-frame share", Cell.share("valid_share", share,
                                         " (from stored frames)" if share_from == "stored frames" else "")),
        ("Frames rejected for head turning", Cell.share("yaw_rejected_share",
                                                        _stat(stats, "yaw_rejected_share"))),
        ("Latency, median", Cell.number("latency_ms_median", _stat(stats, "latency_ms_median"),
                                        "{:.0f}", "ms")),
        ("Latency, 95th percentile", Cell.number("latency_ms_p95", _stat(stats, "latency_ms_p95"),
                                                 "{:.0f}", "ms")),
        ("Results", Cell("results_stored", row.results_stored,
                         "stored when the session ended" if row.results_stored
                         else "computed from the stored trials (no results were saved)")),
        ("Synthetic data", Cell("synthetic", row.synthetic, "yes" if row.synthetic else "no")),
        ("romcam version (recording)", Cell.words("app_version", detail.app_version)),
    ]


def _facts_section(detail: SessionDetail, frames, title: str) -> Section:
    rows = [({}, [Cell("label", label, label), cell])
            for label, cell in _facts_rows(detail, frames, title)]
    return Section("facts", "Session facts", tables=[Table(["", ""], rows, css="facts")])


def session_warnings(detail: SessionDetail, frames) -> list[str]:
    """The warnings the session stored, then the report's own data-quality checks."""
    stats = detail.stats
    out = [str(w) for w in (stats.get("warnings") or [])]
    share, _ = valid_share(detail, frames)
    if share is not None and share < LOW_VALID_SHARE:
        out.append(f"only {100 * share:.0f} % of frames were valid (landmarks not seen well "
                   f"enough, or head turned too far)")
    yaw = _stat(stats, "yaw_rejected_share")
    if yaw is not None and yaw > HIGH_YAW_SHARE:
        out.append(f"{100 * yaw:.0f} % of frames were rejected because the head was turned too "
                   f"far; ask the person to face the camera")
    dropped, captured = _stat(stats, "frames_dropped"), _stat(stats, "frames_captured")
    if dropped and captured and dropped / captured > HIGH_DROP_SHARE:
        out.append(f"{dropped} of {captured} captured frames were dropped (processing could not "
                   f"keep up with the camera)")
    return out


def missing_data(detail: SessionDetail, frames) -> list[str]:
    """What this session does not have yet, in words."""
    row = detail.row
    out = []
    if row.status == "in_progress":
        out.append("The session did not finish (it was interrupted or is still running); the "
                   "values are computed from the trials stored so far.")
    elif row.status == "incomplete":
        out.append(f"The session ended early ({row.end_reason or 'no reason given'}).")
    if not detail.trials and not detail.reps:
        out.append("No trials or reps are stored yet.")
    for o in detail.outcomes:
        if o.trials_before == 0:
            out.append(f"{o.side}: no before trials stored.")
        if o.trials_after == 0:
            out.append(f"{o.side}: no after trials stored, so there is no before/after comparison.")
        if o.reps_done == 0:
            out.append(f"{o.side}: no set reps stored.")
    if frames is None or not len(frames):
        out.append("No per-frame angles stored, so there is no angle-over-time plot.")
    return out


def _warnings_section(detail: SessionDetail, frames) -> Section:
    warnings = session_warnings(detail, frames)
    missing = missing_data(detail, frames)
    section = Section("warnings", "Warnings and missing data")
    section.items = warnings + missing
    if not section.items:
        section.paragraphs.append("None: all phases are stored and the quality checks passed.")
    return section


# --------------------------------------------------------------------------- subject report


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
    sections += [_joint_progress_section(rows, joint) for joint in joints]
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
    return [plots.ProgressPoint(wall_clock(r), r.id, o.side, o.before_deg, o.after_deg, o.sem_deg)
            for r in rows for o in r.outcomes
            if o.before_deg is not None or o.after_deg is not None]


def _joint_progress_section(rows: Sequence[SessionRow], joint: str) -> Section:
    title = joint_info(joint)[0]
    mine = [r for r in rows if r.joint == joint]
    section = Section(f"joint-{joint}", title)
    points = _progress_points(mine)
    if points:
        section.figures.append(FigureItem(
            f"progress_{joint}",
            f"{title}: before (open circles, dotted) and after (filled squares, solid) of each "
            f"session with ±SEM error bars; arrows run from before to after.",
            lambda: plots.progress_figure(points)))
    else:
        section.paragraphs.append("No session of this joint has a before or after value yet.")
    headers = ["date", "session", "side", "before (deg)", "after (deg)", "delta (deg)",
               "SEM (deg)", "MDC95 (deg)", "verdict", "reps", "status"]
    table_rows = []
    for r in mine:
        for o in r.outcomes:
            cells = _outcome_cells(o)
            by_key = {c.key: c for c in cells}
            table_rows.append(({"data-session": str(r.id), "data-side": o.side}, [
                Cell("started_at", r.started_at, local_time(r.started_at)),
                Cell("session_id", r.id, f"{r.id}{' *' if r.synthetic else ''}"),
                by_key["side"], by_key["before_deg"], by_key["after_deg"], by_key["delta_deg"],
                by_key["sem_deg"], by_key["mdc95_deg"], by_key["verdict"], by_key["reps_done"],
                Cell.words("status", r.status_label)]))
    section.tables.append(Table(headers, table_rows, css="data results"))
    return section


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


# --------------------------------------------------------------------------- HTML

CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111;
       background: #fff; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 28px 0 8px; border-bottom: 2px solid #333; padding-bottom: 3px; }
p.subtitle { margin: 0 0 12px; color: #333; }
p { line-height: 1.4; margin: 6px 0; }
.banner { border: 2px dashed #000; padding: 8px 12px; font-weight: bold; margin: 10px 0; }
table { border-collapse: collapse; margin: 10px 0; font-size: 0.9em; }
table.data th, table.data td { border: 1px solid #888; padding: 3px 7px; text-align: right; }
table.data th { background: #eee; text-align: center; }
table.data td[data-key="verdict"], table.data td[data-key="side"],
table.data td[data-key="status"], table.data th:first-child { text-align: left; }
table.data td[data-key="started_at"] { white-space: nowrap; text-align: left; }
table.data td[data-key="verdict"] { min-width: 14em; }
table.facts td { border-bottom: 1px solid #ccc; padding: 3px 12px 3px 0; vertical-align: top; }
table.facts td:first-child { color: #333; }
figure { margin: 12px 0 18px; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #333; margin-top: 4px; }
ul.warnings li { margin: 3px 0; }
footer { margin-top: 32px; font-size: 0.8em; color: #444; border-top: 1px solid #999;
         padding-top: 6px; }
@page { size: A4; margin: 12mm; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table { break-inside: avoid; page-break-inside: avoid; }
}
"""


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items())


def _data_value(value: Any) -> str:
    """The exact stored value as an attribute: repr of floats (round-trips), '' for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _cell_html(cell: Cell, tag: str = "td") -> str:
    if cell.key == "label":
        return f"<{tag}>{html.escape(cell.text)}</{tag}>"
    attrs = {"data-key": cell.key, "data-value": _data_value(cell.value)}
    return f"<{tag}{_attrs(attrs)}>{html.escape(cell.text)}</{tag}>"


def _table_html(table: Table) -> str:
    head = ""
    if any(table.headers):
        head = "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.headers) \
               + "</tr></thead>"
    body = "".join(f"<tr{_attrs(attrs)}>" + "".join(_cell_html(c) for c in cells) + "</tr>"
                   for attrs, cells in table.rows)
    return f'<table class="{table.css}">{head}<tbody>{body}</tbody></table>'


def _figure_html(item: FigureItem, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{html.escape(item.key)}"><img alt="{html.escape(item.caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(item.caption)}'
            f'</figcaption></figure>')


def _section_html(section: Section, pngs: dict[str, bytes]) -> str:
    parts = [f'<section id="{html.escape(section.id)}"><h2>{html.escape(section.title)}</h2>']
    parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
    if section.items:
        parts.append('<ul class="warnings">' + "".join(
            f"<li>{html.escape(item)}</li>" for item in section.items) + "</ul>")
    parts += [_table_html(t) for t in section.tables]
    parts += [_figure_html(f, pngs[f.key]) for f in section.figures if f.key in pngs]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report, pngs: dict[str, bytes], generated_at: str) -> str:
    """The whole page: inline CSS, images embedded, nothing fetched from anywhere."""
    banner = f'<div class="banner">{html.escape(SYNTHETIC_TEXT)}</div>' if report.synthetic else ""
    body = "\n".join(_section_html(s, pngs) for s in report.sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape('romcam - ' + report.title)}</title>\n<style>{CSS}</style>\n"
        f"</head>\n<body data-report=\"{report.kind}\">\n<main>\n"
        f"<h1>{html.escape(report.title)}</h1>\n"
        f"<p class=\"subtitle\">{html.escape(report.subtitle)}</p>\n{banner}\n{body}\n"
        f"<footer>Made by romcam {html.escape(__version__)} on {html.escape(generated_at)}. "
        f"{html.escape(METHOD_TEXT)}</footer>\n</main>\n</body>\n</html>\n")


# --------------------------------------------------------------------------- PDF (matplotlib)


def report_text_lines(report: Report) -> list[str]:
    """The report's text and tables as plain lines (the PDF's first pages)."""
    lines = [report.title, report.subtitle, ""]
    if report.synthetic:
        lines += [SYNTHETIC_TEXT, ""]
    for section in report.sections:
        lines += [section.title.upper()]
        for p in section.paragraphs:
            lines += textwrap.wrap(p, 100) or [""]
        lines += [f"- {line}" for item in section.items
                  for line in textwrap.wrap(item, 98, subsequent_indent="  ")]
        for table in section.tables:
            lines += _table_text(table)
        lines.append("")
    return lines


TEXT_ONLY_COLUMNS = ("verdict", "status")   # printed on a line of their own under each row


def _table_text(table: Table) -> list[str]:
    """A table as fixed-width text: numbers in right-aligned columns under wrapped headers,
    the long text columns (verdict, status) on an indented line below each row."""
    if table.css == "facts":
        return [f"{cells[0].text:<36} {cells[1].text}" for _, cells in table.rows]
    keep = [i for i, h in enumerate(table.headers) if h not in TEXT_ONLY_COLUMNS]
    moved = [i for i, h in enumerate(table.headers) if h in TEXT_ONLY_COLUMNS]
    heads = [_header_lines(table.headers[i]) for i in keep]
    rows = [[cells[i].text for i in keep] for _, cells in table.rows]
    widths = [max([len(x) for x in head] + [len(r[k]) for r in rows])
              for k, head in enumerate(heads)]
    depth = max(len(h) for h in heads)
    out = []
    for line in range(depth):
        out.append("  ".join(_pad(head[line] if line < len(head) else "", w, k == 0)
                             for k, (head, w) in enumerate(zip(heads, widths))).rstrip())
    for (_, cells), row in zip(table.rows, rows):
        out.append("  ".join(_pad(c, w, k == 0) for k, (c, w) in enumerate(zip(row, widths))))
        if moved:
            out.append("    " + "; ".join(cells[i].text for i in moved))
    return out


def _header_lines(header: str) -> list[str]:
    """A column header over several short lines: the words, then the unit, e.g. ['before', '(deg)']."""
    words, _, unit = header.partition(" (")
    return (textwrap.wrap(words, 11) or [""]) + ([f"({unit}"] if unit else [])


def _pad(text: str, width: int, left: bool) -> str:
    return text.ljust(width) if left else text.rjust(width)


def _text_pages(lines: list[str]):
    """A4 pages of monospaced text (matplotlib Figures)."""
    for start in range(0, max(len(lines), 1), PDF_LINES_PER_PAGE):
        fig = plots.new_figure(8.27, 11.69)
        fig.set_layout_engine("none")
        chunk = lines[start:start + PDF_LINES_PER_PAGE]
        fig.text(0.06, 0.96, "\n".join(chunk), va="top", ha="left", family="monospace",
                 fontsize=7.2, linespacing=1.25)
        yield fig


# --------------------------------------------------------------------------- writing


def default_out_path(session_id: int | None = None, subject: str | None = None) -> Path:
    """romcam-reports/session-<id>.html or romcam-reports/subject-<code>.html (current folder)."""
    if session_id is not None:
        return Path(REPORT_DIR) / f"session-{int(session_id)}.html"
    safe = re.sub(r"[^\w.-]+", "_", str(subject).strip()).strip("._") or "subject"
    return Path(REPORT_DIR) / f"subject-{safe}.html"


def pdf_path(html_path: Path) -> Path:
    """Where --pdf writes: beside the HTML, same name, .pdf."""
    return Path(html_path).with_suffix(".pdf")


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` for a temporary file beside ``path``, then move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _prepare_target(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise RomcamError(f"{path} is a folder; give a file name for the report, e.g. "
                          f"{path / 'report.html'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RomcamError(f"cannot create the folder {path.parent} ({exc.strerror}); choose "
                          f"another place with --out") from None
    return path


def write_report(report: Report, out: str | os.PathLike, pdf: bool = False) -> list[Path]:
    """Draw the figures once, write the HTML page at ``out`` and (``pdf``) the PDF beside it.
    Returns the written paths, HTML first."""
    from matplotlib.backends.backend_pdf import PdfPages

    out = _prepare_target(Path(out))
    target_pdf = pdf_path(out) if pdf else None
    pngs: dict[str, bytes] = {}
    figures = [f for s in report.sections for f in s.figures]
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    tmp_pdf: Path | None = None
    pages = None
    try:
        if target_pdf is not None:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target_pdf.name}.", suffix=".tmp",
                                            dir=target_pdf.parent)
            os.close(fd)
            tmp_pdf = Path(tmp_name)
            pages = PdfPages(tmp_pdf, metadata={"Title": report.title, "Creator": "romcam"})
            for page in _text_pages(report_text_lines(report)):
                pages.savefig(page)
                plots.close(page)
        for item in figures:
            fig = item.make()
            pngs[item.key] = plots.png_bytes(fig)
            if pages is not None:
                pages.savefig(fig)
            plots.close(fig)
        if pages is not None:
            pages.close()
            pages = None
            os.chmod(tmp_pdf, 0o644)
        text = render_html(report, pngs, generated)
        _atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
        if tmp_pdf is not None:
            os.replace(tmp_pdf, target_pdf)
    except OSError as exc:
        raise RomcamError(f"cannot write the report {out} ({exc.strerror}); choose another "
                          f"place with --out") from None
    finally:
        if pages is not None:           # an error part-way: close the half-written PDF
            pages.close()
        if tmp_pdf is not None and tmp_pdf.exists():
            tmp_pdf.unlink()
    return [out] + ([target_pdf] if target_pdf is not None else [])


def make_report(store: Store, session_id: int | None = None, subject: str | None = None,
                out: str | os.PathLike | None = None, pdf: bool = False) -> list[Path]:
    """The report of one session or one subject, written to ``out`` (default
    :func:`default_out_path`); returns the written paths."""
    if (session_id is None) == (subject is None):
        raise RomcamError("give either a session (--session ID) or a subject (--subject CODE)")
    if session_id is not None:
        report = session_report(store, session_id)
    else:
        report = subject_report(store, subject)
    target = Path(out) if out is not None else default_out_path(session_id, subject)
    return write_report(report, target, pdf=pdf)
