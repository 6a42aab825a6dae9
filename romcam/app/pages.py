"""What the app's pages show, read from the store: the same rows `romcam history` and the reports
read (no numbers of its own). Subjects are named in pages by their store id, never by code in a
URL."""

from __future__ import annotations

from dataclasses import dataclass

from romcam.measure.joints import JOINTS
from romcam.report.model import local_time
from romcam.storage.rows import SessionDetail, SessionRow
from romcam.storage.store import Store


@dataclass(frozen=True)
class SubjectLine:
    id: int
    code: str
    sessions: int
    last: SessionRow | None
    trend: list[float]               # the last joint's after (else before) level per session, oldest first

    @property
    def last_when(self) -> str:
        return local_time(self.last.started_at) if self.last else ""


def subject_ids(store: Store) -> dict[int, str]:
    """Every subject's id -> code."""
    return {store.subject_id(code, create=False): code for code in store.subjects()}


def subject_lines(store: Store) -> list[SubjectLine]:
    """Home: each subject with its last session and a small trend, the most recent first."""
    lines = []
    for sid, code in subject_ids(store).items():
        rows = store.sessions(subject=code)
        last = rows[-1] if rows else None
        trend = []
        if last is not None:
            for r in rows:
                if r.joint == last.joint and r.outcomes:
                    o = r.outcomes[0]
                    value = o.after_deg if o.after_deg is not None else o.before_deg
                    if value is not None:
                        trend.append(round(value, 1))
        lines.append(SubjectLine(sid, code, len(rows), last, trend))
    return sorted(lines, key=lambda s: s.last.started_at if s.last else "", reverse=True)


def sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """The SVG polyline points of a small trend (empty under two values)."""
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:z.1f},{height - 3 - (v - lo) / span * (height - 6):z.1f}" for i, v in enumerate(values))


def joint_title(name: str) -> str:
    j = JOINTS.get(name)
    return j.title if j else name


@dataclass(frozen=True)
class ResultLine:
    side: str
    before: float | None
    after: float | None
    delta: float | None
    mdc95: float | None
    verdict: str
    reps: int
    reached: str                      # "reached 25.0 deg at turn 34", "after-level at rep 12", or ""
    quality: str = ""                 # the set against the edge of the range and its grade, or ""


def result_lines(detail: SessionDetail) -> list[ResultLine]:
    """The result page: before, after, delta per side with the MDC verdict and where the set
    reached the after-level, and the set against the edge of the range (its grade)."""
    from romcam.measure.circles import side_result

    out = []
    for o in detail.outcomes:
        reached = ""
        if detail.turns:
            reached = side_result(detail.turns, o.side, o.after_deg).sentence()
        elif o.first_rep_at_after_level:
            reached = f"the after-level was first reached at rep {o.first_rep_at_after_level}"
        quality = o.set_quality("turns" if detail.turns else "reps") or ""
        out.append(ResultLine(o.side, o.before_deg, o.after_deg, o.delta_deg, o.mdc95_deg, o.verdict,
                              o.reps_done, reached, quality))
    return out
