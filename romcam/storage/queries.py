"""Reading the session database back: sessions with their per-side outcomes (stored, or computed
from the trials and reps of a session that never finished), one session in full, its per-frame
series. Part of :class:`romcam.storage.store.Store`; plain SQL that SQLite and PostgreSQL share."""

from __future__ import annotations

import json
import statistics
from datetime import date, datetime

from romcam.errors import RomcamError
from romcam.measure.outcome import SideOutcome, side_outcome
from romcam.storage.engine import DbRow
from romcam.storage.meta import InvalidSessionMeta, RecordingProcess
from romcam.storage.rows import EdgeMark, RepRecord, SessionDetail, SessionRow, TrialRecord
from romcam.storage.values import TRIAL_PHASES, sides_of, stored_bool
from romcam.timestamps import parse_since, parse_timestamp


class ReadsMixin:
    """The reading half of :class:`romcam.storage.store.Store`."""


    def sessions(self, subject: str | None = None, joint: str | None = None,
                 since: str | date | datetime | None = None) -> list[SessionRow]:
        """Sessions in start order, optionally of one subject (RomcamError if unknown), one joint
        (its canonical name), started at or after ``since``."""
        where, params = [], []
        if subject is not None:
            where.append("s.subject_id = ?")
            params.append(self._existing_subject_id(subject))
        if joint is not None:
            where.append("s.joint = ?")
            params.append(joint)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self._read("SELECT s.*, sub.code AS subject FROM sessions s "
                          "JOIN subjects sub ON sub.id = s.subject_id" + clause, tuple(params))
        if since is not None:
            start = parse_since(since)
            rows = [r for r in rows if parse_timestamp(r["started_at"]) >= start]
        stored = self._stored_results(clause, tuple(params))
        heels = self._heel_counts(clause, tuple(params))
        turns = self._turn_counts(clause, tuple(params))
        knees = self._knee_over_toe(clause, tuple(params))
        out = [self._session_row(r, stored.get(r["id"]), heels.get(r["id"]), turns.get(r["id"], 0),
                                 knees.get(r["id"])) for r in rows]
        return sorted(out, key=lambda s: (s.started, s.id))

    def session(self, session_id: int) -> SessionDetail:
        """One session with its trials, reps and results (RomcamError if there is none)."""
        row = self._read_one("SELECT s.*, sub.code AS subject FROM sessions s JOIN subjects sub "
                             "ON sub.id = s.subject_id WHERE s.id = ?", (int(session_id),))
        if row is None:
            raise RomcamError(f"there is no session {session_id} in {self.path}; "
                              f"`romcam history` lists the sessions")
        stored = self._stored_results(" WHERE s.id = ?", (int(session_id),))
        heels = self._heel_counts(" WHERE s.id = ?", (int(session_id),))
        turns = self._turn_counts(" WHERE s.id = ?", (int(session_id),))
        knees = self._knee_over_toe(" WHERE s.id = ?", (int(session_id),))
        trials = [TrialRecord(r["id"], r["phase"], r["side"], r["trial_no"], r["peak_deg"],
                              r["start_s"], r["peak_s"], r["end_s"], bool(r["discarded"]),
                              r["created_at"], stored_bool(r["heel_lifted"]), r["knee_over_toe_cm"])
                  for r in self._read("SELECT * FROM trials WHERE session_id = ? ORDER BY id",
                                      (row["id"],))]
        reps = [RepRecord(r["id"], r["side"], r["rep_no"], r["peak_deg"], r["start_s"],
                          r["peak_s"], r["end_s"], r["created_at"], stored_bool(r["heel_lifted"]),
                          r["knee_over_toe_cm"], EdgeMark.of_row(r))
                for r in self._read("SELECT * FROM reps WHERE session_id = ? "
                                    "ORDER BY rep_no, id", (row["id"],))]
        return SessionDetail(
            row=self._session_row(row, stored.get(row["id"]), heels.get(row["id"]), turns.get(row["id"], 0),
                                  knees.get(row["id"])),
            source=row["source"],
            camera=row["camera"], pose_model=row["pose_model"],
            trials_per_phase=row["trials_per_phase"], neutral_deg=row["neutral_deg"],
            app_version=row["app_version"],
            stats=json.loads(row["stats_json"]) if row["stats_json"] else {},
            vertical_source=row["vertical_source"], camera_roll_deg=row["camera_roll_deg"],
            trials=tuple(trials), reps=tuple(reps), turns=tuple(self.turns(row["id"])),
            resolution=row["resolution"], camera_profile=row["camera_profile"], phases=row["phases"],
            neutral_source=row["neutral_source"], dated_from=row["dated_from"])

    def frames(self, session_id: int):
        """The per-frame angle series of a session: a DataFrame with columns t_s, phase, side,
        angle_deg (NaN when not measured), valid (bool), head_turn_deg, head_flexion_deg (NaN
        when not measured) and invalid_reason (None when valid), in recording order."""
        import pandas as pd

        columns = ["t_s", "phase", "side", "angle_deg", "valid", "head_turn_deg", "head_flexion_deg",
                   "invalid_reason"]
        rows = self._read(f"SELECT {', '.join(columns)} FROM frames WHERE session_id = ? ORDER BY id",
                          (int(session_id),))
        df = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        df["t_s"] = df["t_s"].astype(float)
        for name in ("angle_deg", "head_turn_deg", "head_flexion_deg"):
            df[name] = pd.to_numeric(df[name], errors="coerce").astype(float)
        df["valid"] = df["valid"].astype(bool)
        return df

    # ----- finding what a journal's records already stored (replaying is idempotent)

    def has_trial(self, session_id: int, phase: str, side: str, trial_no: int, created_at: str) -> bool:
        return self._exists("SELECT 1 FROM trials WHERE session_id = ? AND phase = ? AND side = ? "
                            "AND trial_no = ? AND created_at = ?",
                            (int(session_id), phase, side, int(trial_no), created_at))

    def has_rep(self, session_id: int, side: str, rep_no: int, created_at: str) -> bool:
        return self._exists("SELECT 1 FROM reps WHERE session_id = ? AND side = ? AND rep_no = ? "
                            "AND created_at = ?", (int(session_id), side, int(rep_no), created_at))

    def has_turn(self, session_id: int, turn_no: int, created_at: str) -> bool:
        return self._exists("SELECT 1 FROM turns WHERE session_id = ? AND turn_no = ? AND created_at = ?",
                            (int(session_id), int(turn_no), created_at))

    def has_frames(self, session_id: int, side: str | None, t_s: float) -> bool:
        """Whether a frame of ``side`` (None: no side) at ``t_s`` is stored for the session."""
        return self._exists("SELECT 1 FROM frames WHERE session_id = ? AND COALESCE(side, '') = "
                            "COALESCE(?, '') AND t_s = ?", (int(session_id), side, float(t_s)))

    def _exists(self, sql: str, params: tuple) -> bool:
        return self._read_one(sql, params) is not None

    def _stored_results(self, clause: str, params: tuple) -> dict[int, list[SideOutcome]]:
        """Results rows of the sessions selected by ``clause``, by session id."""
        rows = self._read("SELECT r.* FROM results r WHERE r.session_id IN (SELECT s.id FROM "
                          "sessions s" + clause + ") ORDER BY r.session_id, r.side", params)
        out: dict[int, list[SideOutcome]] = {}
        for r in rows:
            out.setdefault(r["session_id"], []).append(SideOutcome(
                side=r["side"], before_deg=r["before_deg"], after_deg=r["after_deg"],
                delta_deg=r["delta_deg"], sem_deg=r["sem_deg"], mdc95_deg=r["mdc95_deg"],
                verdict=r["verdict"], trials_before=r["trials_before"],
                trials_after=r["trials_after"], reps_done=r["reps_done"],
                first_rep_at_after_level=r["first_rep_at_after_level"], set_grade=r["set_grade"],
                set_judged=r["set_judged"], set_reached=r["set_reached"], set_flagged=r["set_flagged"],
                edge_start_deg=r["edge_start_deg"], edge_end_deg=r["edge_end_deg"],
                edge_tolerance_deg=r["edge_tolerance_deg"]))
        return out

    def _heel_counts(self, clause: str, params: tuple) -> dict[int, dict[str, int]]:
        """Per session and side, the trials (not discarded) and reps flagged "heel lifted";
        only sessions that measured the heel (the ankle) appear."""
        out: dict[int, dict[str, int]] = {}
        for table, extra in (("trials", " AND discarded = 0"), ("reps", "")):
            rows = self._read(f"SELECT session_id, side, SUM(heel_lifted) AS lifted FROM {table} WHERE "
                              f"heel_lifted IS NOT NULL{extra} AND session_id IN (SELECT s.id FROM sessions s"
                              + clause + ") GROUP BY session_id, side", params)
            for r in rows:
                sides = out.setdefault(r["session_id"], {})
                sides[r["side"]] = sides.get(r["side"], 0) + int(r["lifted"] or 0)
        return out

    def _knee_over_toe(self, clause: str, params: tuple) -> dict[int, dict[tuple[str, str], float]]:
        """Per session, (side, phase) -> the median knee over toe (cm) of its trials (not
        discarded); only sessions that measured it (the ankle with a scale) appear."""
        rows = self._read("SELECT session_id, side, phase, knee_over_toe_cm FROM trials WHERE knee_over_toe_cm "
                          "IS NOT NULL AND discarded = 0 AND session_id IN (SELECT s.id FROM sessions s"
                          + clause + ")", params)
        values: dict[int, dict[tuple[str, str], list[float]]] = {}
        for r in rows:
            values.setdefault(r["session_id"], {}).setdefault((r["side"], r["phase"]), []).append(
                float(r["knee_over_toe_cm"]))
        return {sid: {k: float(statistics.median(v)) for k, v in per.items()} for sid, per in values.items()}

    def _turn_counts(self, clause: str, params: tuple) -> dict[int, int]:
        """Per session, the neck-circle turns stored (sessions without turns do not appear)."""
        rows = self._read("SELECT session_id, COUNT(*) AS n FROM turns WHERE session_id IN "
                          "(SELECT s.id FROM sessions s" + clause + ") GROUP BY session_id", params)
        return {r["session_id"]: int(r["n"]) for r in rows}

    def _session_row(self, r: DbRow, stored: list[SideOutcome] | None,
                     heel_lifted: dict[str, int] | None = None, turns: int = 0,
                     knee_over_toe: dict | None = None) -> SessionRow:
        outcomes = stored or self._computed_outcomes(r["id"], r["side"])
        owner = _owner(r) if r["status"] == "in_progress" else None
        circles = "set_kind" in r.keys() and r["set_kind"] == "circles"
        return SessionRow(
            id=r["id"], subject=r["subject"], joint=r["joint"], side=r["side"],
            started_at=r["started_at"], ended_at=r["ended_at"], status=r["status"],
            end_reason=r["end_reason"], synthetic=bool(r["synthetic"]),
            target_reps=r["target_reps"], outcomes=tuple(outcomes), results_stored=bool(stored),
            heel_lifted=heel_lifted or {}, knee_over_toe_cm=knee_over_toe or {},
            running=owner is not None and owner.alive(), elsewhere=owner and owner.elsewhere(),
            turns_done=turns if circles else None, recorded=bool(r["recorded"]), uuid=r["uuid"],
            **({"set_kind": r["set_kind"] or "reps", "target_turns": r["target_turns"]}
               if "set_kind" in r.keys() else {}))

    def _computed_outcomes(self, session_id: int, session_side: str) -> list[SideOutcome]:
        """Outcomes from the stored, non-discarded trials and reps (a session with no results
        row, e.g. one killed mid-set)."""
        trials = self._read("SELECT phase, side, peak_deg FROM trials WHERE session_id = ? "
                            "AND discarded = 0 ORDER BY id", (session_id,))
        reps = self._read("SELECT side, peak_deg FROM reps WHERE session_id = ? "
                          "ORDER BY rep_no, id", (session_id,))
        seen = {r["side"] for r in trials} | {r["side"] for r in reps}
        out = []
        for side in sides_of(session_side, seen):
            peaks = {phase: [t["peak_deg"] for t in trials
                             if t["side"] == side and t["phase"] == phase]
                     for phase in TRIAL_PHASES}
            rep_peaks = [r["peak_deg"] for r in reps if r["side"] == side]
            out.append(side_outcome(side, peaks["before"], peaks["after"], rep_peaks))
        return out




def _owner(r: DbRow) -> RecordingProcess | None:
    """The process that recorded a session, from its row (None when not stored or not valid)."""
    if r["owner_pid"] is None or r["owner_host"] is None:
        return None
    try:
        return RecordingProcess(r["owner_pid"], r["owner_host"], r["owner_pid_start"])
    except InvalidSessionMeta:
        return None
