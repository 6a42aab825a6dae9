"""The report's section on set quality: per side the summary line ("34 of 40 turns reached the edge
of your range (20.1 deg); set grade III; your edge grew 20.1 -> 24.6 deg"), the reps (or turns) per
grade, and a plot of each rep's peak against the moving edge band (romcam.measure.edge)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from romcam.measure.edge import GRADES
from romcam.report import plots
from romcam.report.model import Cell, FigureItem, Section, Table
from romcam.storage.rows import SessionDetail

EDGE_COLOR = "#2a7a3b"        # dark green: the edge and the reps that reached it
BEYOND_COLOR = "#b00020"      # dark red: a rep far beyond the edge


@dataclass(frozen=True)
class EdgeSeries:
    """One side's set: per rep (or turn) its number, peak, the edge it was judged against, whether
    it reached the edge or went far beyond it; the tolerance of "reached"."""

    side: str
    kind: str                          # "reps" or "turns"
    number: tuple[int, ...]
    peak_deg: tuple[float, ...]
    edge_deg: tuple[float, ...]
    reached: tuple[bool, ...]
    beyond: tuple[bool, ...]
    tolerance_deg: float


def edge_series(detail: SessionDetail) -> list[EdgeSeries]:
    """Per side with judged reps (or turns), as stored."""
    tolerance = {o.side: o.edge_tolerance_deg or 0.0 for o in detail.outcomes}
    out = []
    for side in ("left", "right"):
        if detail.row.set_kind == "circles":
            items = [(t.turn_no, t.extreme(side), t.edge) for t in detail.turns
                     if t.edge is not None and t.edge_side == side]
            kind = "turns"
        else:
            items = [(r.rep_no, r.peak_deg, r.edge) for r in detail.reps if r.side == side and r.edge is not None]
            kind = "reps"
        if items:
            out.append(EdgeSeries(side, kind, tuple(n for n, _, _ in items), tuple(p for _, p, _ in items),
                                  tuple(e.edge_deg for _, _, e in items), tuple(e.reached for _, _, e in items),
                                  tuple(e.beyond for _, _, e in items), tolerance.get(side, 0.0)))
    return out


def edge_figure(series: Sequence[EdgeSeries]) -> Figure:
    """One panel per side: the edge each rep was judged against (a step line) with the band of
    "reached" under it, and each rep's peak: filled when it reached the edge, open when short, a red
    cross when far beyond it."""
    n = max(len(series), 1)
    fig = plots.new_figure(plots.FIGURE_WIDTH_IN, 0.8 + 2.5 * n)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    if not series:
        plots.empty_note(axes[0], "no set reps judged against the edge")
        return fig
    for ax, s in zip(axes, series):
        _draw(ax, s)
    axes[-1].set_xlabel(f"{series[-1].kind[:-1]} number in the set")
    return fig


def _draw(ax, s: EdgeSeries) -> None:
    x = np.asarray(s.number, dtype=float)
    edge = np.asarray(s.edge_deg, dtype=float)
    peak = np.asarray(s.peak_deg, dtype=float)
    reached, beyond = np.asarray(s.reached), np.asarray(s.beyond)
    ax.set_title(f"{s.side}: {int(reached.sum())} of {len(x)} {s.kind} reached the edge", fontsize=10, loc="left")
    steps = np.append(x - 0.5, x[-1] + 0.5)
    ax.stairs(edge, steps, color=EDGE_COLOR, linewidth=1.8, baseline=None, label="edge")
    ax.stairs(edge, steps, baseline=edge - s.tolerance_deg, fill=True, color=EDGE_COLOR, alpha=0.18,
              label=f"reached: within {s.tolerance_deg:z.1f} deg")
    ok, short = reached & ~beyond, ~reached
    ax.plot(x[ok], peak[ok], linestyle="none", marker="o", markersize=5, color=EDGE_COLOR,
            label="peak, reached the edge")
    ax.plot(x[short], peak[short], linestyle="none", marker="o", markersize=5, markerfacecolor="white",
            markeredgecolor=plots.INK, label="peak, short of it")
    if beyond.any():
        ax.plot(x[beyond], peak[beyond], linestyle="none", marker="x", markersize=8, markeredgewidth=2,
                color=BEYOND_COLOR, label="far beyond it (worth a look)")
    ax.set_ylabel("peak angle (deg)")
    ax.grid(**plots.GRID)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8.5, frameon=False)


def set_quality_section(detail: SessionDetail) -> Section | None:
    """The section, or None when the set was not judged against the edge (no set reps or turns, or
    a session stored before schema v6)."""
    judged = [o for o in detail.outcomes if o.set_judged]
    if not judged:
        return None
    kind = "turns" if detail.row.set_kind == "circles" else "reps"
    section = Section("set_quality", "Set quality: each rep against the edge of your range")
    section.paragraphs += [f"{o.side.capitalize()}: {o.set_quality(kind)}." for o in judged]
    section.paragraphs.append(
        "The edge starts at the before range and moves with the best of the last 5 reps; a rep reached "
        "it when its peak came within the tolerance (this session's MDC95, within bounds). Grades "
        "(Maitland): I small and short of the edge, II large and short of it, III large up to it, "
        "IV small at it; small = under half the range.")
    series = edge_series(detail)
    rows = []
    for s in series:
        o = next(o for o in judged if o.side == s.side)
        counts = _grade_counts(detail, s.side, kind)
        rows.append(({"data-side": s.side, "data-session": str(detail.id)}, [
            Cell.words("side", s.side), Cell.words("set_grade", o.set_grade or "-"),
            Cell.number("set_reached", o.set_reached), Cell.number("set_judged", o.set_judged),
            Cell.deg("edge_start_deg", o.edge_start_deg), Cell.deg("edge_end_deg", o.edge_end_deg),
            *[Cell.number(f"grade_{g}", counts[g]) for g in GRADES]]))
    section.tables.append(Table(["side", "set grade", "reached the edge", f"{kind} judged", "edge at start (deg)",
                                 "edge at end (deg)", *[f"grade {g}" for g in GRADES]], rows))
    section.figures.append(FigureItem(
        "edge_band",
        f"Peak of every set {kind[:-1]} against the edge it was judged against (green step line) and the "
        "band within which it counts as reached (shaded): filled circles reached the edge, open circles "
        "fell short, red crosses went far beyond it.",
        lambda: edge_figure(series)))
    return section


def _grade_counts(detail: SessionDetail, side: str, kind: str) -> dict[str, int]:
    if kind == "turns":
        marks = [t.edge for t in detail.turns if t.edge is not None and t.edge_side == side]
    else:
        marks = [r.edge for r in detail.reps if r.side == side and r.edge is not None]
    return {g: sum(m.grade == g for m in marks) for g in GRADES}
