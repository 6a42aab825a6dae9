"""The report of one session: results, the set, angle traces, facts and warnings."""

from __future__ import annotations

import numpy as np

from romcam.measure.outcome import SideOutcome
from romcam.measure.series import TURNED
from romcam.report import plots
from romcam.report.circles import circles_section, turn_results
from romcam.report.set_quality import set_quality_section
from romcam.report.model import (Cell, FigureItem, HIGH_DROP_SHARE, HIGH_YAW_SHARE, LOW_VALID_SHARE,
                                 METHOD_TEXT, Report, Section, Table, reps_of, stat_value, kept_trials,
                                 joint_info, local_time, valid_share)
from romcam.storage.rows import SessionDetail
from romcam.storage.store import Store


def session_report(store: Store, session_id: int) -> Report:
    """The page of one session (RomcamError if there is no such session)."""
    detail = store.session(session_id)
    frames = store.frames(detail.id)
    row = detail.row
    title, kind = joint_info(row.joint)
    circles = circles_section(detail)
    sections = [
        _results_section(detail),
        circles if circles is not None else _set_section(detail),
        *[q for q in (set_quality_section(detail),) if q is not None],
        _trace_section(detail, frames, title, kind),
        _facts_section(detail, frames, title),
        _warnings_section(detail, frames),
    ]
    subtitle = (f"Subject {row.subject} - {local_time(row.started_at)} - {row.side} side"
                f"{'s' if row.side == 'both' else ''} - {row.status_label}")
    return Report(f"{title}: session {row.id}", subtitle, sections, synthetic=row.synthetic)


def _results_table(detail: SessionDetail) -> Table:
    """Per side: before, after, delta, SEM, MDC95, trials, and the set (reps, or turns for a set
    of neck circles) with the first rep or turn that reached the after-level; the verdict under."""
    circles = detail.row.set_kind == "circles"
    turns = turn_results(detail) if circles else {}
    headers = ["side", "before (deg)", "after (deg)", "delta (deg)", "SEM (deg)", "MDC95 (deg)",
               "trials before", "trials after"]
    headers += ["turns", "first turn at after level"] if circles else ["reps", "first rep at after level"]
    rows = []
    for o in detail.outcomes:
        cells = outcome_cells(o)
        if circles:
            r = turns.get(o.side)
            cells[-3:-1] = [Cell.number("turns_done", len(detail.turns)),
                            Cell.number("turn_at_after_level", r.first_turn_at_level if r else None)]
        rows.append(({"data-side": o.side, "data-session": str(detail.id)}, cells))
    return Table(headers, rows, css="data results", notes=("verdict",))


def outcome_cells(o: SideOutcome) -> list[Cell]:
    """One side's results, the verdict last."""
    return [
        Cell.words("side", o.side), Cell.deg("before_deg", o.before_deg),
        Cell.deg("after_deg", o.after_deg), Cell.deg("delta_deg", o.delta_deg, signed=True),
        Cell.deg("sem_deg", o.sem_deg), Cell.deg("mdc95_deg", o.mdc95_deg),
        Cell.number("trials_before", o.trials_before), Cell.number("trials_after", o.trials_after),
        Cell.number("reps_done", o.reps_done),
        Cell.number("first_rep_at_after_level", o.first_rep_at_after_level),
        Cell.words("verdict", o.verdict),
    ]


def _side_levels(detail: SessionDetail) -> list[plots.SideLevels]:
    return [plots.SideLevels(
        o,
        tuple(t.peak_deg for t in kept_trials(detail, o.side, "before")),
        tuple(t.peak_deg for t in kept_trials(detail, o.side, "after")))
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
        reps = reps_of(detail, o.side)
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


def _ankle_rows(detail: SessionDetail) -> list[tuple[str, Cell]]:
    """The ankle's facts: where the vertical came from, the trials/reps with a lifted heel, and the
    knee over toe (cm) at each trial's peak when a scale target was seen."""
    if detail.vertical_source is None:
        return []
    lifted_trials = [f"{t.phase} {t.trial_no} ({t.side})" for t in detail.trials if t.heel_lifted and not t.discarded]
    lifted_reps = [f"rep {r.rep_no} ({r.side})" for r in detail.reps if r.heel_lifted]
    roll = detail.camera_roll_deg
    vertical = detail.vertical_source + ("" if roll is None else f", camera roll {roll:+z.1f} deg")
    kept = [t for t in detail.trials if not t.discarded]
    rep_knees = _rep_knees(detail)
    knee = "; ".join(f"{phase} " + ", ".join(f"{t.knee_over_toe_cm:+z.1f}" for t in kept if t.phase == phase
                                             and t.knee_over_toe_cm is not None) + " cm"
                     for phase in ("before", "after")
                     if any(t.phase == phase and t.knee_over_toe_cm is not None for t in kept))
    return [("True vertical (ankle)", Cell("vertical_source", detail.vertical_source, vertical)),
            ("Heel lifted (voids a knee-to-wall trial)",
             Cell("heel_lifted", len(lifted_trials) + len(lifted_reps),
                  ", ".join(lifted_trials + lifted_reps) or "never")),
            ("Knee over toe at the trial peaks (knee-to-wall)",
             Cell("knee_over_toe_cm", knee or None, knee or "not measured (no scale target seen)")),
            ("Knee over toe at the set rep peaks",
             Cell("reps_knee_over_toe_cm", rep_knees or None,
                  rep_knees or "not measured (no set reps, or no scale target seen)"))]


def _rep_knees(detail: SessionDetail) -> str:
    """Per side, the knee over toe (cm) at each set rep's peak, in rep order:
    "right reps 1-3: +2.1, +2.8, +3.4 cm"."""
    parts = []
    for side in dict.fromkeys(r.side for r in detail.reps):
        reps = [r for r in detail.reps if r.side == side and r.knee_over_toe_cm is not None]
        if reps:
            span = f"rep {reps[0].rep_no}" if len(reps) == 1 else f"reps {reps[0].rep_no}-{reps[-1].rep_no}"
            parts.append(f"{side} {span}: " + ", ".join(f"{r.knee_over_toe_cm:+z.1f}" for r in reps) + " cm")
    return "; ".join(parts)


def _facts_rows(detail: SessionDetail, frames, title: str) -> list[tuple[str, Cell]]:
    row, stats = detail.row, detail.stats
    share, share_from = valid_share(detail, frames)
    discarded = sum(1 for t in detail.trials if t.discarded)
    return _ankle_rows(detail) + [
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
        *_set_rows(detail),
        ("Neutral angle", Cell.number("neutral_deg", detail.neutral_deg, "{:z.1f}", "deg")),
        ("Source", Cell.words("source", detail.source)),
        ("Camera", Cell.words("camera", detail.camera)),
        ("Pose model", Cell.words("pose_model", detail.pose_model)),
        ("Frame size", Cell.words("resolution", detail.resolution)),
        ("Camera profile", Cell.words("camera_profile", detail.camera_profile)),
        *_recorded_rows(detail),
        ("Frame rate", Cell.number("fps", stat_value(stats, "fps"), "{:z.1f}", "frames/s")),
        ("Frames captured", Cell.number("frames_captured", stat_value(stats, "frames_captured"))),
        ("Frames processed", Cell.number("frames_processed", stat_value(stats, "frames_processed"))),
        ("Frames dropped", Cell.number("frames_dropped", stat_value(stats, "frames_dropped"))),
        ("Frames stored", Cell.number("frames_stored", len(frames) if frames is not None else 0)),
        ("Valid-frame share", Cell.share("valid_share", share,
                                         " (from stored frames)" if share_from == "stored frames" else "")),
        ("Frames left out: face turned away", Cell.share("turned_share", turned_share(stats))),
        ("Frames left out, by reason", Cell.words("invalid_frames", _reasons_text(stats))),
        ("Latency, median", Cell.number("latency_ms_median", stat_value(stats, "latency_ms_median"),
                                        "{:.0f}", "ms")),
        ("Latency, 95th percentile", Cell.number("latency_ms_p95", stat_value(stats, "latency_ms_p95"),
                                                 "{:.0f}", "ms")),
        ("Results", Cell("results_stored", row.results_stored,
                         "stored when the session ended" if row.results_stored
                         else "computed from the stored trials (no results were saved)")),
        ("Synthetic data", Cell("synthetic", row.synthetic, "yes" if row.synthetic else "no")),
        ("romcam version (recording)", Cell.words("app_version", detail.app_version)),
    ]


def _recorded_rows(detail: SessionDetail) -> list[tuple[str, Cell]]:
    """A recorded visit's phases and where its neutral and start time came from."""
    if not detail.row.recorded:
        return []
    return [("Recorded visit: phases", Cell.words("phases", detail.phases)),
            ("Neutral from", Cell.words("neutral_source", detail.neutral_source)),
            ("Start time from", Cell.words("dated_from", detail.dated_from))]


def _set_rows(detail: SessionDetail) -> list[tuple[str, Cell]]:
    """The set's target and count: turns for a set of neck circles, reps otherwise."""
    row = detail.row
    if row.set_kind == "circles":
        return [("Target turns", Cell.number("target_turns", row.target_turns)),
                ("Turns counted (both directions)", Cell.number("turns_total", len(detail.turns)))]
    return [("Target reps", Cell.number("target_reps", row.target_reps)),
            ("Reps counted (all sides)", Cell.number("reps_total", row.reps_done))]


def turned_share(stats: dict) -> float | None:
    """Share of processed frames left out because the face was turned away from the camera
    (from the counted reasons, else the ``yaw_rejected_share`` a schema v1 session stores)."""
    reasons, processed = stats.get("invalid_frames"), stat_value(stats, "frames_processed")
    if isinstance(reasons, dict) and processed:
        return sum(n for why, n in reasons.items() if why.startswith("face turned away")) / processed
    return stat_value(stats, "yaw_rejected_share")


def _reasons_text(stats: dict) -> str | None:
    reasons = stats.get("invalid_frames")
    if not isinstance(reasons, dict) or not reasons:
        return None
    return "; ".join(f"{why}: {n}" for why, n in reasons.items())


def _facts_section(detail: SessionDetail, frames, title: str) -> Section:
    rows = [({}, [Cell("label", label, label), cell])
            for label, cell in _facts_rows(detail, frames, title)]
    return Section("facts", "Session facts", tables=[Table(["", ""], rows, css="facts")])


def session_warnings(detail: SessionDetail, frames) -> list[str]:
    """The warnings the session stored, then the report's own data-quality checks."""
    stats = detail.stats
    out = [str(w) for w in (stats.get("warnings") or [])]
    stored = " ".join(out)            # the report's checks only add what the session did not say
    share, _ = valid_share(detail, frames)
    if share is not None and share < LOW_VALID_SHARE and "were usable" not in stored:
        out.append(f"only {100 * share:.0f} % of frames were valid (landmarks not seen well "
                   f"enough, or head turned too far)")
    turned = turned_share(stats)
    if turned is not None and turned > HIGH_YAW_SHARE and TURNED not in stored:
        out.append(f"{100 * turned:.0f} % of frames were left out because the face was turned too far "
                   f"from the camera; ask the person to face the camera")
    dropped, captured = stat_value(stats, "frames_dropped"), stat_value(stats, "frames_captured")
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
        if o.reps_done == 0 and detail.row.set_kind != "circles":
            out.append(f"{o.side}: no set reps stored.")
    if detail.row.set_kind == "circles" and not detail.turns:
        out.append("No turns of the set of circles are stored.")
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
