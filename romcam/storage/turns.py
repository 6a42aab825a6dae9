"""The neck circles of a set of circles in the session database (the ``turns`` table of schema
v2): the :class:`romcam.storage.store.Store` methods that write and read them."""

from __future__ import annotations

from romcam.storage.rows import EdgeMark, TurnRecord
from romcam.storage.values import SIDES, check_choice, edge_values, opt_float
from romcam.timestamps import now_iso

SET_KINDS = ("reps", "circles")
TURN_DIRECTIONS = ("cw", "ccw")


class TurnsMixin:
    """Part of :class:`romcam.storage.store.Store` (one commit per write, as for reps)."""

    def add_turn(self, session_id: int, turn_no: int, direction: str, start_s: float | None = None,
                 end_s: float | None = None, right_deg: float | None = None, left_deg: float | None = None,
                 forward_deg: float | None = None, backward_deg: float | None = None,
                 created_at: str | None = None, edge_side: str | None = None, edge: dict | None = None) -> int:
        """Store one completed neck circle of a set of circles (committed on return); returns its id.
        ``edge``: the ``edge_side`` extreme's judgement against the edge (RepEdge.as_dict())."""
        check_choice(direction, TURN_DIRECTIONS, "direction")
        if edge_side is not None:
            check_choice(edge_side, SIDES, "edge side")
        with self._transaction() as conn:
            return conn.insert(
                "INSERT INTO turns (session_id, turn_no, direction, start_s, end_s, right_deg, left_deg, "
                "forward_deg, backward_deg, created_at, edge_side, low_deg, edge_deg, reached_edge, beyond_edge, "
                "grade) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (int(session_id), int(turn_no), direction, opt_float(start_s), opt_float(end_s),
                 opt_float(right_deg), opt_float(left_deg), opt_float(forward_deg),
                 opt_float(backward_deg), created_at or now_iso(), edge_side if edge else None,
                 *edge_values(edge)))

    def turns(self, session_id: int) -> list[TurnRecord]:
        """The neck circles of a session, in turn order (empty for a set of reps)."""
        return [TurnRecord(r["id"], r["turn_no"], r["direction"], r["start_s"], r["end_s"], r["right_deg"],
                           r["left_deg"], r["forward_deg"], r["backward_deg"], r["created_at"],
                           r["edge_side"], EdgeMark.of_row(r))
                for r in self._read("SELECT * FROM turns WHERE session_id = ? ORDER BY turn_no, id",
                                    (int(session_id),))]
