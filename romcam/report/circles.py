"""The report's section for a set of neck circles: per side, each turn's side-bend extreme across
the set (the picture of this product: "20 deg at turn 1, 25 deg by turn 34"), its trend in deg
per turn and the first turn that reached the after-level."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from romcam.measure.circles import TurnSideResult, side_result
from romcam.report import plots
from romcam.report.model import Cell, FigureItem, Section, Table
from romcam.storage.rows import SessionDetail, TurnRecord

SIDES = ("right", "left")
CW_STYLE = dict(marker="o", markerfacecolor=plots.INK, markeredgecolor=plots.INK, linestyle="none", markersize=5)
CCW_STYLE = dict(marker="s", markerfacecolor="white", markeredgecolor=plots.INK, linestyle="none", markersize=5)


def circles_section(detail: SessionDetail) -> Section | None:
    """The section, or None for a session whose set was not circles."""
    if detail.row.set_kind != "circles" and not detail.turns:
        return None
    section = Section("circles", "The set of circles, turn by turn")
    turns = list(detail.turns)
    if not turns:
        section.paragraphs.append("No turns are stored for this session.")
        return section
    cw = sum(t.direction == "cw" for t in turns)
    target = detail.row.target_turns
    section.paragraphs.append(
        f"{len(turns)} turns (clockwise {cw}, counter-clockwise {len(turns) - cw})"
        + (f", target {target}" if target else "") + ". Clockwise = forward, right, back, left, as the "
        "person would see the top of their head from above. Each turn's extremes are the largest "
        "side-bend to each side (and nod) within that turn, relative to the person's neutral.")
    before = {o.side: o.before_deg for o in detail.outcomes}
    results = list(turn_results(detail).values())
    section.paragraphs += [r.sentence()[0].upper() + r.sentence()[1:] + "." for r in results if r.sentence()]
    rows = []
    for r in results:
        rows.append(({"data-side": r.side, "data-session": str(detail.id)}, [
            Cell.words("side", r.side), Cell.number("turns_reaching_side", r.turns_with_extreme),
            Cell.deg("first_turn_extreme_deg", r.first_deg), Cell.deg("last_turn_extreme_deg", r.last_deg),
            Cell.deg("max_turn_extreme_deg", r.max_deg),
            Cell.number("trend_deg_per_turn", r.trend_deg_per_turn, "{:+.2f}"),
            Cell.deg("after_level_deg", r.level_deg),
            Cell.number("first_turn_at_after_level", r.first_turn_at_level),
            Cell.deg("reached_deg", r.reached_deg),
        ]))
    section.tables.append(Table(["side", "turns reaching it", "first turn (deg)", "last turn (deg)",
                                 "largest (deg)", "trend (deg/turn)", "after level (deg)",
                                 "first turn at after level", "its extreme (deg)"], rows))
    section.figures.append(FigureItem(
        "turn_extremes",
        "Side-bend extreme of every turn of the set, per side (filled circles: clockwise turns, open "
        "squares: counter-clockwise), with its least-squares trend (dashed), the before level (dotted) "
        "and the after level (dash-dot); the vertical line is the first turn that reached the after level.",
        lambda: turn_extremes_figure(turns, results, before)))
    return section


def turn_results(detail: SessionDetail) -> dict[str, TurnSideResult]:
    """Per side (right, left): the turns' extremes across the set and the first turn that reached
    the side's after-level."""
    after = {o.side: o.after_deg for o in detail.outcomes}
    return {side: side_result(list(detail.turns), side, after.get(side)) for side in SIDES}


def turn_extremes_figure(turns: Sequence[TurnRecord], results: Sequence[TurnSideResult],
                         before: dict) -> Figure:
    """One panel per side: per-turn side-bend extremes across the set of circles."""
    fig = plots.new_figure(plots.FIGURE_WIDTH_IN, 0.8 + 2.5 * len(results))
    axes = fig.subplots(len(results), 1, squeeze=False)[:, 0]
    for ax, r in zip(axes, results):
        _draw_side(ax, turns, r, before.get(r.side))
    axes[-1].set_xlabel("turn number in the set")
    return fig


def _draw_side(ax, turns, r: TurnSideResult, before_deg) -> None:
    ax.set_title(f"{r.side} side-bend: {r.turns_with_extreme} turns", fontsize=10, loc="left")
    pts = [(t.turn_no, t.extreme(r.side), t.direction) for t in turns if t.extreme(r.side) is not None]
    if not pts:
        plots.empty_note(ax, f"no turn reached the {r.side} side")
        return
    x = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts], dtype=float)
    ax.plot(x, y, color=plots.INK, linewidth=0.6)
    for direction, style, label in (("cw", CW_STYLE, "clockwise turn"), ("ccw", CCW_STYLE, "counter-clockwise turn")):
        sel = np.array([p[2] == direction for p in pts])
        if sel.any():
            ax.plot(x[sel], y[sel], label=label, **style)
    trend = plots.trend_line(x, y)
    if trend is not None:
        xs = np.array([x.min(), x.max()])
        ax.plot(xs, trend.intercept + trend.slope * xs, color=plots.TREND_COLOR, linewidth=2.0,
                linestyle=(0, (6, 2)), label=f"trend {trend.slope:+.2f} deg/turn")
    if before_deg is not None:
        ax.axhline(before_deg, color=plots.BEFORE_COLOR, linestyle=":", linewidth=1.6,
                   label=f"before level {before_deg:z.1f} deg")
    if r.level_deg is not None:
        ax.axhline(r.level_deg, color=plots.AFTER_COLOR, linestyle="-.", linewidth=1.6,
                   label=f"after level {r.level_deg:z.1f} deg")
    if r.first_turn_at_level is not None:
        ax.axvline(r.first_turn_at_level, color="#555555", linestyle="-", linewidth=1.2,
                   label=f"reached {r.reached_deg:z.1f} deg at turn {r.first_turn_at_level}")
    ax.set_ylabel("extreme (deg)")
    ax.grid(**plots.GRID)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(x.min() - 0.8, x.max() + 0.8)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8.5, frameon=False)
