"""A subject's stored history for the subject page's tests and screenshot (SYNTHETIC numbers)."""

from __future__ import annotations

from datetime import datetime, timedelta

from romcam.measure.outcome import side_outcome
from romcam.storage.meta import SessionMeta


def record_history(store, subject: str = "P7") -> list[int]:
    """Three sessions of one subject a week apart, neck side-bend both sides, 3 + 3 trials and 10
    set reps each:
    the left side improves beyond its MDC95, the right one stays within it. SYNTHETIC numbers."""
    start = datetime(2026, 3, 2, 10, 0).astimezone()
    trials = {"left": [((20.0, 21.1, 20.4), (24.2, 25.0, 24.6)), ((22.8, 23.9, 23.1), (26.0, 27.2, 26.5)),
                       ((25.1, 26.3, 25.5), (27.0, 28.4, 27.7))],
              "right": [((22.0, 23.4, 22.6), (22.9, 23.6, 23.3)), ((22.4, 23.0, 22.8), (23.1, 24.2, 23.3)),
                        ((23.0, 24.1, 23.2), (23.5, 24.0, 24.3))]}
    ids = []
    for k in range(3):
        sid = store.start_session(SessionMeta(subject, "neck_lateral_flexion", "both", synthetic=True,
                                              started_at=(start + timedelta(days=7 * k)).isoformat()))
        outcomes = []
        for side, per_session in trials.items():
            before, after = per_session[k]
            for n, peak in enumerate(before, 1):
                store.add_trial(sid, "before", side, n, peak)
            reps = [before[0] + (after[0] - before[0]) * n / 9 for n in range(10)]
            for n, peak in enumerate(reps, 1):
                store.add_rep(sid, side, n, peak)
            for n, peak in enumerate(after, 1):
                store.add_trial(sid, "after", side, n, peak)
            outcomes.append(side_outcome(side, before, after, reps))
        store.finish_session(sid, "complete", results=outcomes)
        ids.append(sid)
    return ids
