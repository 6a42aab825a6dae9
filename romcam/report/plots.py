"""The report's plots: matplotlib Figures built from plain data (no Store, no pyplot).

Every function takes lists, arrays or the small dataclasses below and returns a
:class:`matplotlib.figure.Figure` drawn on an Agg canvas. pyplot is never imported, so nothing
is kept in a global figure list, no GUI backend is ever chosen (the report runs headless, and a
notebook that imports this module keeps its own backend), and a figure is freed as soon as it is
no longer referenced; :func:`close` releases its memory at once.

Print-friendliness: every series differs by marker, line style or hatching, not by colour alone,
so a black-and-white printout stays readable. Angles are in degrees, times in seconds.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from romcam.measure.outcome import SideOutcome

# Colours differ in lightness too; markers/line styles carry the meaning in black and white.
INK = "#222222"
BEFORE_COLOR = "#1f4e8c"      # dark blue
AFTER_COLOR = "#b5520b"       # dark orange
TREND_COLOR = "#000000"
GRID = dict(color="#bbbbbb", linewidth=0.5, linestyle=":")

BEFORE_STYLE = dict(marker="o", markerfacecolor="white", markeredgecolor=BEFORE_COLOR,
                    color=BEFORE_COLOR, markersize=8, markeredgewidth=1.6)
AFTER_STYLE = dict(marker="s", markerfacecolor=AFTER_COLOR, markeredgecolor=AFTER_COLOR,
                   color=AFTER_COLOR, markersize=8)

# Phase shading of the angle trace: light tints that print as distinct hatches.
PHASE_STYLE = {
    "neutral": dict(facecolor="#f3f3f3", hatch="..", label="neutral hold"),
    "before": dict(facecolor="#dfe8f5", hatch="//", label="before"),
    "set": dict(facecolor="#ffffff", hatch="", label="set"),
    "after": dict(facecolor="#fbe5d6", hatch="\\\\", label="after"),
}
PHASE_EDGE = "#b4b4b4"
HATCH_EDGE = "#8a8a8a"
BAND_COLOR = "#eeeeee"          # the before +- MDC95 band
SERIES_LINESTYLES = {"left": "-", "right": "--"}

# Every figure is drawn at the width of the printed page's text column (A4 less 2 x 15 mm), so it is
# shown at 1:1 in the PDF and the HTML page: its 8-10 pt labels print at 8-10 pt, in every figure.
FIGURE_WIDTH_IN = 7.0


# --------------------------------------------------------------------------- plain data


@dataclass(frozen=True)
class SideLevels:
    """One side's before/after outcome (as stored) with the peaks of its kept trials."""

    outcome: SideOutcome
    before_trials: tuple[float, ...] = ()
    after_trials: tuple[float, ...] = ()


@dataclass(frozen=True)
class RepSeries:
    """The peak angle of every rep of one side's set, in order, with the session's levels."""

    side: str
    rep_no: tuple[int, ...]
    peak_deg: tuple[float, ...]
    before_deg: float | None = None
    after_deg: float | None = None
    first_rep_at_after_level: int | None = None   # 1-based position in the set, as stored

    @property
    def first_rep_no(self) -> int | None:
        """The rep number (x position) of the first rep that reached the after-level."""
        k = self.first_rep_at_after_level
        if k is None or not 1 <= k <= len(self.rep_no):
            return None
        return self.rep_no[k - 1]


@dataclass(frozen=True)
class TraceSeries:
    """One per-frame angle series (a limb, or the single signed series of e.g. the neck)."""

    label: str
    t_s: np.ndarray
    angle_deg: np.ndarray          # NaN where not measured
    valid: np.ndarray              # bool


@dataclass(frozen=True)
class PhaseSpan:
    phase: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class EventMark:
    """A rep or trial peak to mark on the trace."""

    kind: str                      # "rep" or "trial"
    t_s: float
    angle_deg: float
    label: str = ""


@dataclass(frozen=True)
class ProgressPoint:
    """One session x side of a subject's progress plot."""

    when: datetime                 # naive, the recording computer's wall clock
    session_id: int
    side: str
    before_deg: float | None
    after_deg: float | None
    mdc95_deg: float | None        # the session's MDC95 (None: fewer than 2 trials)


@dataclass(frozen=True)
class Trend:
    slope: float                   # deg per rep
    intercept: float


# --------------------------------------------------------------------------- helpers


def new_figure(width_in: float, height_in: float) -> Figure:
    """A Figure on its own Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plain_text(fig: Figure) -> Figure:
    """``fig`` with every text in it (titles, labels, legends, notes) shown as written: a ``$``
    from a subject code or a stored phase is a dollar sign, never matplotlib's mathtext."""
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    return fig


def svg_bytes(fig: Figure) -> bytes:
    """The figure as SVG (vector: sharp at any zoom and in print; text drawn as paths, so no font
    is needed to show it; no date or software metadata), its text plain (:func:`plain_text`)."""
    plain_text(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", facecolor="white",
                metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def close(fig: Figure) -> None:
    """Release a figure's artists now (there is no pyplot registry to remove it from)."""
    fig.clear()


def trend_line(x: Sequence[float], y: Sequence[float]) -> Trend | None:
    """Least-squares straight line through (x, y) (numpy.polyfit); None with fewer than two
    distinct x values."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if len(np.unique(xs)) < 2:
        return None
    slope, intercept = np.polyfit(xs, ys, 1)
    return Trend(float(slope), float(intercept))


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+z.1f}" if signed else f"{value:z.1f}"


def empty_note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=10, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


# --------------------------------------------------------------------------- before / after


def before_after_figure(levels: Sequence[SideLevels], title: str = "") -> Figure:
    """Before vs after per side: medians with +-SEM error bars, each trial peak, and the band
    before +- MDC95 (an after value inside it is within measurement noise)."""
    fig = new_figure(FIGURE_WIDTH_IN, 4.2)
    ax = fig.add_subplot()
    if not levels:
        empty_note(ax, "no before/after measurements stored")
        return fig
    for i, lv in enumerate(levels):
        _draw_side_levels(ax, i, lv)
    ax.set_xticks(range(len(levels)),
                  [f"{lv.outcome.side}\n" + textwrap.fill(lv.outcome.verdict, 34) for lv in levels], fontsize=9)
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_ylabel("peak angle (deg)")
    ax.grid(axis="y", **GRID)
    _pad_ylim(ax, levels)
    handles = [
        Line2D([], [], linestyle="none", **BEFORE_STYLE, label="before: median ± SEM"),
        Line2D([], [], linestyle="none", **AFTER_STYLE, label="after: median ± SEM"),
        Line2D([], [], linestyle="none", marker="x", color=INK, markersize=6, label="trial peaks"),
        Patch(facecolor=BAND_COLOR, edgecolor=HATCH_EDGE, hatch="///",
              label="before ± MDC95 (a smaller change is noise)"),
    ]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
              fontsize=8.5, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _draw_side_levels(ax, i: int, lv: SideLevels) -> None:
    """One side's group at x = i: before on the left, after on the right, each with its
    trial peaks on the outer side and its value written above the error bar."""
    o, xb, xa = lv.outcome, i - 0.17, i + 0.17
    if o.before_deg is not None and o.mdc95_deg is not None:
        ax.fill_between([i - 0.38, i + 0.38], o.before_deg - o.mdc95_deg,
                        o.before_deg + o.mdc95_deg, facecolor=BAND_COLOR,
                        edgecolor=HATCH_EDGE, hatch="///", linewidth=0.6, zorder=0)
    for x, dx, trials, value, style in ((xb, -0.1, lv.before_trials, o.before_deg, BEFORE_STYLE),
                                        (xa, 0.1, lv.after_trials, o.after_deg, AFTER_STYLE)):
        if trials:
            ax.plot([x + dx] * len(trials), trials, linestyle="none", marker="x",
                    color=INK, markersize=6, zorder=3)
        if value is not None:
            sem = o.sem_deg or 0.0
            ax.errorbar([x], [value], yerr=None if o.sem_deg is None else [o.sem_deg],
                        capsize=5, elinewidth=1.4, linestyle="none", zorder=4, **style)
            ax.annotate(f"{value:z.1f}", (x, value + sem), xytext=(0, 5),
                        textcoords="offset points", ha="center", va="bottom", fontsize=9,
                        bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.8))
    if o.before_deg is not None and o.after_deg is not None:
        ax.annotate("", xy=(xa - 0.05, o.after_deg), xytext=(xb + 0.05, o.before_deg),
                    arrowprops=dict(arrowstyle="->", color="#555555", lw=1.0), zorder=2)


def _pad_ylim(ax, levels: Sequence[SideLevels]) -> None:
    values = []
    for lv in levels:
        o = lv.outcome
        values += _finite([o.before_deg, o.after_deg, *lv.before_trials, *lv.after_trials])
        top = _finite([o.before_deg, o.after_deg])
        if top:
            values.append(max(top) + (o.sem_deg or 0.0) + 0.6)   # room for the value labels
        if o.before_deg is not None and o.mdc95_deg is not None:
            values += [o.before_deg - o.mdc95_deg, o.before_deg + o.mdc95_deg]
        for v in (o.before_deg, o.after_deg):
            if v is not None and o.sem_deg is not None:
                values += [v - o.sem_deg, v + o.sem_deg]
    if values:
        low, high = min(values), max(values)
        pad = max(0.12 * (high - low), 1.0)
        ax.set_ylim(low - pad, high + pad)


# --------------------------------------------------------------------------- reps across the set


def rep_peaks_figure(series: Sequence[RepSeries], title: str = "") -> Figure:
    """Per-rep peak angle across the set (rep number on x), one panel per side: the reps, a
    least-squares trend line labelled in deg/rep, the before and after levels, and a vertical
    line at the first rep that reached the after-level."""
    n = max(len(series), 1)
    fig = new_figure(FIGURE_WIDTH_IN, 0.8 + 2.5 * n)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    if not series:
        empty_note(axes[0], "no set reps stored")
        return fig
    for ax, s in zip(axes, series):
        _draw_rep_series(ax, s)
    axes[-1].set_xlabel("rep number in the set")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _draw_rep_series(ax, s: RepSeries) -> None:
    n = len(s.peak_deg)
    ax.set_title(f"{s.side}: {n} rep{'' if n == 1 else 's'}", fontsize=10, loc="left")
    if not s.peak_deg:
        empty_note(ax, f"no reps stored for the {s.side} side")
        return
    x = np.asarray(s.rep_no, dtype=float)
    ax.plot(x, s.peak_deg, color=INK, linewidth=0.7, marker="o", markersize=4.5,
            markerfacecolor="white", label="rep peak")
    trend = trend_line(x, s.peak_deg)
    if trend is not None:
        xs = np.array([x.min(), x.max()])
        ax.plot(xs, trend.intercept + trend.slope * xs, color=TREND_COLOR, linewidth=2.0,
                linestyle=(0, (6, 2)), label=f"trend {trend.slope:+.2f} deg/rep")
    if s.before_deg is not None:
        ax.axhline(s.before_deg, color=BEFORE_COLOR, linestyle=":", linewidth=1.6,
                   label=f"before level {s.before_deg:z.1f} deg")
    if s.after_deg is not None:
        ax.axhline(s.after_deg, color=AFTER_COLOR, linestyle="-.", linewidth=1.6,
                   label=f"after level {s.after_deg:z.1f} deg")
    first = s.first_rep_no
    if first is not None:
        ax.axvline(first, color="#555555", linestyle="-", linewidth=1.2,
                   label=f"first rep at after level: {first}")
    ax.set_ylabel("peak angle (deg)")
    ax.grid(**GRID)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    pad = max(0.5, 0.03 * (x.max() - x.min()))
    ax.set_xlim(min(x.min(), first or x.min()) - pad, max(x.max(), first or x.max()) + pad)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8.5, frameon=False)


# --------------------------------------------------------------------------- angle over time


def angle_trace_figure(series: Sequence[TraceSeries], phases: Sequence[PhaseSpan] = (),
                       marks: Sequence[EventMark] = (), ylabel: str = "angle (deg)",
                       seconds_per_row: float = 75.0, max_rows: int = 6) -> Figure:
    """The angle over time with the phases shaded (hatched), rep and trial peaks marked and
    rejected frames shown as a bar along the bottom. A long session is split into rows of
    about ``seconds_per_row`` so that single reps stay visible."""
    t_all = np.concatenate([np.asarray(s.t_s, dtype=float) for s in series]) if series else np.array([])
    if t_all.size == 0:
        fig = new_figure(FIGURE_WIDTH_IN, 2.0)
        empty_note(fig.add_subplot(), "no per-frame angles stored")
        return fig
    t0, t1 = float(np.nanmin(t_all)), float(np.nanmax(t_all))
    rows = _row_ranges(t0, t1, seconds_per_row, max_rows)
    fig = new_figure(FIGURE_WIDTH_IN, 1.0 + 1.9 * len(rows))
    axes = fig.subplots(len(rows), 1, squeeze=False, sharey=True)[:, 0]
    for ax, (lo, hi) in zip(axes, rows):
        _draw_phases(ax, phases, lo, hi)
        for s in series:
            _draw_series(ax, s, multi=len(series) > 1)
        _draw_marks(ax, marks, lo, hi)
        ax.set_xlim(lo, hi)
        ax.set_ylabel(ylabel)
        ax.grid(**GRID)
    axes[-1].set_xlabel("time on the session clock (s)")
    _trace_ylim(axes[0], series, marks)
    for ax in axes:
        _draw_rejected(ax, series)
    _trace_legend(fig, axes[0], series, phases, marks)
    return fig


def _row_ranges(t0: float, t1: float, seconds_per_row: float, max_rows: int) -> list[tuple[float, float]]:
    span = max(t1 - t0, 1e-6)
    n = int(min(max(math.ceil(span / seconds_per_row), 1), max_rows))
    width = span / n
    pad = 0.01 * width
    return [(t0 + k * width - pad, t0 + (k + 1) * width + pad) for k in range(n)]


def _draw_phases(ax, phases: Sequence[PhaseSpan], lo: float, hi: float) -> None:
    for p in phases:
        if p.end_s < lo or p.start_s > hi:
            continue
        style = PHASE_STYLE.get(p.phase, dict(facecolor="#f7f7f7", hatch="xx", label=p.phase))
        ax.axvspan(p.start_s, p.end_s, facecolor=style["facecolor"], hatch=style["hatch"],
                   edgecolor=PHASE_EDGE, linewidth=0.0, zorder=0)
        visible = min(p.end_s, hi) - max(p.start_s, lo)
        if visible > 0.06 * (hi - lo):
            ax.text((max(p.start_s, lo) + min(p.end_s, hi)) / 2, 0.97, p.phase,
                    transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=9,
                    fontweight="bold", color="#333333",
                    bbox=dict(facecolor="white", edgecolor="none", pad=1.0, alpha=0.85))


def _draw_series(ax, s: TraceSeries, multi: bool) -> None:
    angle = np.where(np.asarray(s.valid, dtype=bool), np.asarray(s.angle_deg, dtype=float), np.nan)
    ax.plot(s.t_s, angle, color=INK, linewidth=0.9,
            linestyle=SERIES_LINESTYLES.get(s.label, "-") if multi else "-", zorder=2)


def _draw_marks(ax, marks: Sequence[EventMark], lo: float, hi: float) -> None:
    reps = [m for m in marks if m.kind == "rep" and lo <= m.t_s <= hi]
    trials = [m for m in marks if m.kind == "trial" and lo <= m.t_s <= hi]
    if reps:
        ax.plot([m.t_s for m in reps], [m.angle_deg for m in reps], linestyle="none",
                marker="v", markersize=5, color=AFTER_COLOR, zorder=3)
    if trials:
        ax.plot([m.t_s for m in trials], [m.angle_deg for m in trials], linestyle="none",
                marker="D", markersize=6, markerfacecolor="white", markeredgecolor=BEFORE_COLOR,
                markeredgewidth=1.5, zorder=4)
        for m in trials:
            if m.label:
                va, dy = ("bottom", 5) if m.angle_deg >= 0 else ("top", -5)
                ax.annotate(m.label, (m.t_s, m.angle_deg), xytext=(0, dy),
                            textcoords="offset points", ha="center", va=va, fontsize=7.5)


def _trace_ylim(ax, series: Sequence[TraceSeries], marks: Sequence[EventMark]) -> None:
    values = _finite([m.angle_deg for m in marks])
    for s in series:
        a = np.asarray(s.angle_deg, dtype=float)[np.asarray(s.valid, dtype=bool)]
        a = a[np.isfinite(a)]
        if a.size:
            values += [float(a.min()), float(a.max())]
    if values:
        low, high = min(values), max(values)
        pad = max(0.1 * (high - low), 1.0)
        ax.set_ylim(low - 1.4 * pad, high + 2.8 * pad)   # room for the labels and phase names


def _draw_rejected(ax, series: Sequence[TraceSeries]) -> None:
    """Runs of rejected (invalid) frames as black bars along the bottom of the axes."""
    for s in series:
        t = np.asarray(s.t_s, dtype=float)
        bad = ~np.asarray(s.valid, dtype=bool)
        if not bad.any() or t.size < 2:
            continue
        step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
        edges = np.flatnonzero(np.diff(np.concatenate([[0], bad.astype(int), [0]])))
        spans = [(t[a], t[b - 1] - t[a] + step) for a, b in zip(edges[::2], edges[1::2])]
        ax.broken_barh(spans, (0.0, 0.035), transform=ax.get_xaxis_transform(),
                       facecolor="#000000", zorder=5)


def _trace_legend(fig, ax, series, phases, marks) -> None:
    handles = []
    if len(series) > 1:
        handles += [Line2D([], [], color=INK, linestyle=SERIES_LINESTYLES.get(s.label, "-"),
                           label=f"{s.label} angle") for s in series]
    else:
        handles.append(Line2D([], [], color=INK, label="angle (valid frames)"))
    if any(m.kind == "trial" for m in marks):
        handles.append(Line2D([], [], linestyle="none", marker="D", markerfacecolor="white",
                              markeredgecolor=BEFORE_COLOR, markeredgewidth=1.5,
                              label="trial peak (B = before, A = after)"))
    if any(m.kind == "rep" for m in marks):
        handles.append(Line2D([], [], linestyle="none", marker="v", color=AFTER_COLOR,
                              label="set rep peak"))
    handles.append(Patch(facecolor="#000000", label="rejected frames"))
    seen = []
    for p in phases:
        if p.phase not in seen:
            seen.append(p.phase)
    for phase in seen:
        style = PHASE_STYLE.get(phase, dict(facecolor="#f7f7f7", hatch="xx", label=phase))
        handles.append(Patch(facecolor=style["facecolor"], hatch=style["hatch"],
                             edgecolor=PHASE_EDGE, label=style["label"]))
    fig.legend(handles=handles, loc="outside upper center", ncol=min(len(handles), 5),
               fontsize=8.5, frameon=False)


# --------------------------------------------------------------------------- progress over dates


def progress_figure(points: Sequence[ProgressPoint], title: str = "") -> Figure:
    """Before and after per session over dates, one panel per side: before = open circles on a
    dotted line, after = filled squares on a solid line, an arrow from each session's before to
    its after, and behind them each session's band before +- MDC95 (hatched): an after outside its
    band is a change beyond measurement noise, as the session's verdict says. The band of session
    ``n`` on ``side`` has the gid ``mdc-band-s<n>-<side>`` (in the SVG too)."""
    sides = [s for s in ("left", "right") if any(p.side == s for p in points)]
    sides += sorted({p.side for p in points} - set(sides))
    n = max(len(sides), 1)
    fig = new_figure(FIGURE_WIDTH_IN, 3.6)
    axes = fig.subplots(1, n, squeeze=False, sharey=True)[0]
    if not points:
        empty_note(axes[0], "no sessions with measurements")
        return fig
    for ax, side in zip(axes, sides):
        _draw_progress_side(ax, [p for p in points if p.side == side], side)
    axes[0].set_ylabel("peak angle (deg)")
    handles = [Line2D([], [], linestyle=":", **BEFORE_STYLE, label="before"),
               Line2D([], [], linestyle="-", **AFTER_STYLE, label="after"),
               Patch(facecolor=BAND_COLOR, edgecolor=HATCH_EDGE, hatch="///",
                     label="the session's before ± MDC95 (an after inside it is noise)")]
    fig.legend(handles=handles, loc="outside upper center", ncol=3, fontsize=8.5, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def mdc_band_gid(session_id: int, side: str) -> str:
    """The gid of a session's before +- MDC95 band in :func:`progress_figure`."""
    return f"mdc-band-s{session_id}-{side}"


def _draw_progress_side(ax, points: Sequence[ProgressPoint], side: str) -> None:
    import matplotlib.dates as mdates

    points = sorted(points, key=lambda p: p.when)
    times = [p.when for p in points]
    span_days = (max(times) - min(times)).total_seconds() / 86400.0 if len(times) > 1 else 0.0
    offset_days = max(0.012 * span_days, 1.0 / 24.0)
    num = mdates.date2num(times)
    for x, p in zip(num, points):
        if p.before_deg is not None and p.mdc95_deg is not None:
            ax.fill_between([x - 1.8 * offset_days, x + 1.8 * offset_days], p.before_deg - p.mdc95_deg,
                            p.before_deg + p.mdc95_deg, facecolor=BAND_COLOR, edgecolor=HATCH_EDGE,
                            hatch="///", linewidth=0.6, zorder=0, gid=mdc_band_gid(p.session_id, side))
    for attr, style, dx, line in (("before_deg", BEFORE_STYLE, -offset_days, ":"),
                                  ("after_deg", AFTER_STYLE, offset_days, "-")):
        xs = [x + dx for x, p in zip(num, points) if getattr(p, attr) is not None]
        ys = [getattr(p, attr) for p in points if getattr(p, attr) is not None]
        if xs:
            ax.plot(xs, ys, linestyle=line, linewidth=1.2, zorder=3, **style)
    for x, p in zip(num, points):
        if p.before_deg is not None and p.after_deg is not None:
            ax.annotate("", xy=(x + 0.6 * offset_days, p.after_deg),
                        xytext=(x - 0.6 * offset_days, p.before_deg),
                        arrowprops=dict(arrowstyle="->", color="#777777", lw=0.8), zorder=2)
    ax.set_title(side, fontsize=10, loc="left")
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    margin = max(4 * offset_days, 0.06 * span_days)
    lo, hi = min(num) - margin, max(num) + margin
    if hi - lo < 2.0:
        mid = (lo + hi) / 2
        lo, hi = mid - 1.0, mid + 1.0
    ax.set_xlim(lo, hi)
    ax.set_xlabel("session date")
    ax.grid(**GRID)
