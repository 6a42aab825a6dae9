"""Issue 21, the storage side: a session's identity (its UUID) and recovery files as untrusted
input. Recovery files are made the real way (a live session's journal whose database is locked
by another connection until it ends), then edited as a hostile user would; every refused case
leaves the database byte for byte as it was (checksums) and the file where it was."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from romcam.cli.main import main
from romcam.measure.edge import judge_set
from romcam.measure.outcome import side_outcome
from romcam.storage.journal import SessionJournal
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store

FILMED = "2026-03-14T10:30:00+01:00"          # when the visit's video was filmed: each analysis starts then


def rom(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def checksums(db: Path) -> dict[str, str]:
    """The database's bytes: the file and its WAL (what a refused command must not change)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (db, db.with_name(db.name + "-wal")) if p.exists()}


def visit(store: Store, subject: str, before: list[float], after: list[float], reps: int = 1) -> int:
    """A finished recorded visit of the filmed video (its start time is the filming time)."""
    sid = store.start_session(SessionMeta(subject, "knee_flexion", "right", started_at=FILMED, recorded=True))
    for k, peak in enumerate(before, start=1):
        store.add_trial(sid, "before", "right", k, peak, created_at=f"2026-03-14T10:30:0{k}+01:00")
    for k, peak in enumerate(after, start=1):
        store.add_trial(sid, "after", "right", k, peak, created_at=f"2026-03-14T10:31:0{k}+01:00")
    for k in range(1, reps + 1):
        store.add_rep(sid, "right", k, 20.0 + k, created_at=f"2026-03-14T10:30:3{k}+01:00")
    store.finish_session(sid, "complete", results=[side_outcome("right", before, after, [20.0 + k for k in
                                                                                    range(1, reps + 1)])])
    return sid


def kept_visit(db: Path, subject: str = "P201") -> Path:
    """A third analysis of the visit whose database is locked (another connection) from its start
    to its end: its records are kept in a recovery file beside the database, which is returned."""
    with Store.open(db) as store:
        journal = SessionJournal(store, say=lambda s: None)
        journal.start(SessionMeta(subject, "knee_flexion", "right", started_at=FILMED, recorded=True))
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            journal.write("trial", phase="after", side="right", trial_no=1, peak_deg=24.3,
                          created_at="2026-03-14T10:32:01+01:00")
            journal.write("frames", rows=[(0.1 * k, "after", 24.0 + k / 10, True, None, None, None)
                                          for k in range(5)], side="right")
            journal.write("finish", status="incomplete", end_reason="the video ended",
                          results=[vars(side_outcome("right", [], [24.3]))], stats={"fps": 30.0})
            kept = journal.close(final_wait_s=0.3)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert kept and "romcam recover" in kept
    (path,) = db.parent.glob("*.recovery-*.jsonl")
    return path


@pytest.fixture
def two_visits(tmp_path, monkeypatch):
    """A database with two recorded visits of one video by P201 (one start time) and a third
    analysis kept in a recovery file: (database, file, first id, second id)."""
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    db = tmp_path / "clinic.sqlite3"
    with Store.open(db) as store:
        first = visit(store, "P201", [22.2], [])
        second = visit(store, "P201", [30.0, 31.0], [33.0], reps=2)
    return db, kept_visit(db), first, second


def summary(store: Store, sid: int) -> tuple:
    detail = store.session(sid)
    return (tuple((t.phase, t.peak_deg) for t in detail.trials), len(detail.reps),
            tuple((o.before_deg, o.after_deg, o.reps_done) for o in detail.row.outcomes))


# --------------------------------------------------------------------------- 1. its own session


def test_1_a_recovered_visit_goes_into_its_own_session(two_visits, capsys):
    db, path, first, second = two_visits
    with Store.open(db, readonly=True) as store:
        before = {sid: summary(store, sid) for sid in (first, second)}
        (ghost,) = [s.id for s in store.sessions() if s.id not in (first, second)]
    code, out, err = rom(capsys, "recover", path)
    assert code == 0, err
    with Store.open(db, readonly=True) as store:
        assert {sid: summary(store, sid) for sid in (first, second)} == before       # untouched
        assert summary(store, ghost) == ((("after", 24.3),), 0, ((None, 24.3, 0),))
        assert len(store.frames(ghost)) == 5 and len(store.sessions()) == 3
    assert f"session {ghost} in" in out and not path.exists()


def test_the_recovery_file_is_its_owners_only(two_visits):
    db, path, *_ = two_visits
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    header, start = (json.loads(x) for x in path.read_text().splitlines()[:2])
    assert header["session_uuid"] == start["meta"]["uuid"]


def test_replaying_twice_adds_nothing_twice(two_visits, capsys):
    db, path, *_ = two_visits
    copy = path.read_bytes()
    assert rom(capsys, "recover", path)[0] == 0
    with Store.open(db, readonly=True) as store:
        once = [(s.id, summary(store, s.id), len(store.frames(s.id))) for s in store.sessions()]
    path.write_bytes(copy)
    assert rom(capsys, "recover", path)[0] == 0
    with Store.open(db, readonly=True) as store:
        assert [(s.id, summary(store, s.id), len(store.frames(s.id))) for s in store.sessions()] == once


# --------------------------------------------------------------------------- 4, 5. untrusted files


def edit(path: Path, change) -> None:
    """Rewrite a recovery file's lines (JSON objects) through ``change(lines)``."""
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    change(lines)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def _record(lines, op):
    return next(x for x in lines[2:] if x["op"] == op)


def _set_start(key, value):
    def change(lines):
        lines[1]["meta"][key] = value
    return change


def _set(op, key, value):
    def change(lines):
        _record(lines, op)[key] = value
    return change


def _drop(op, key):
    def change(lines):
        del _record(lines, op)[key]
    return change


def _forge_left_result(lines):
    finish = _record(lines, "finish")
    finish["results"].append({**finish["results"][0], "side": "left", "before_deg": 80.0})


def _frames_nan_time(lines):
    _record(lines, "frames")["rows"][0][0] = float("nan")


EDITS = {
    "start not a date": (_set_start("started_at", "not a date"), "ISO-8601"),
    "start a number": (_set_start("started_at", 12345), "text"),
    "start in year 1": (_set_start("started_at", "0001-01-01T00:00:00+00:00"), "between the years"),
    "side sideways": (lambda lines: lines[1].update(side="sideways"), "side must be one of"),
    "NaN peak": (_set("trial", "peak_deg", float("nan")), "finite number"),
    "text peak": (_set("trial", "peak_deg", "24.3"), "valid number"),
    "bad phase": (_set("trial", "phase", "middle"), "'before' or 'after'"),
    "missing peak": (_drop("trial", "peak_deg"), "peak_deg: Field required"),
    "unknown key": (_set("trial", "room", "gym"), "Extra inputs"),
    "record created in year 1": (_set("trial", "created_at", "0001-01-01T00:00:00"), "between the years"),
    "forged side result": (_forge_left_result, "left side that a right session"),
    "formula verdict": (lambda lines: _record(lines, "finish")["results"][0].update(verdict="=HYPERLINK(1)"),
                        "spreadsheet formula"),
    "formula reason": (_set("finish", "end_reason", "@SUM(1)"), "spreadsheet formula"),
    "NaN frame time": (_frames_nan_time, "finite number"),
    "huge angle": (_set("finish", "results", [{**vars(side_outcome("right", [], [24.3])), "after_deg": 1e300}]),
                   "less than or equal to 360"),
    "bad status": (_set("finish", "status", "done"), "'complete' or 'incomplete'"),
    "escape in reason": (_set("finish", "end_reason", "ok\x1b[2J"), "control character"),
    "uuid not the header's": (_set_start("uuid", "123e4567-e89b-42d3-a456-426614174000"), "not the header's"),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_5_a_bad_recovery_file_is_refused_whole_and_changes_nothing(two_visits, capsys, name):
    db, path, *_ = two_visits
    change, message = EDITS[name]
    edit(path, change)
    before, text = checksums(db), path.read_text()
    code, out, err = rom(capsys, "recover", path)
    print(f"\n{name}: {err.strip()}")
    assert code == 2 and err.startswith("romcam: error: ") and err.count("\n") == 1, err
    assert message in err and "unexpected" not in err and "nothing was stored" in err
    assert checksums(db) == before and path.read_text() == text
    code, out, err = rom(capsys, "history", "--db", db)                  # the database reads as before
    assert code == 0 and "3 sessions" in out, err


def test_4_recover_never_writes_where_the_header_says(two_visits, tmp_path, capsys):
    """The header names another folder's database (new or existing): refused, nothing created
    or changed anywhere; with --db the file's own database; a file lying elsewhere needs --db."""
    db, path, *_ = two_visits
    other = tmp_path / "elsewhere" / "other.sqlite3"
    other.parent.mkdir()
    edit(path, lambda lines: lines[0].update(db=str(other)))
    before = checksums(db)
    code, out, err = rom(capsys, "recover", path)
    assert code == 2 and f"belongs to the database {other}" in err and err.count("\n") == 1, err
    assert not other.exists() and checksums(db) == before
    with Store.open(other) as store:                          # an unrelated existing database
        visit(store, "Q1", [10.0], [])
    others = checksums(other)
    assert rom(capsys, "recover", path)[0] == 2
    code, out, err = rom(capsys, "recover", path, "--db", other)
    assert code == 0, err                         # told where: that database, as the header says
    assert checksums(db) == before and checksums(other) != others

    moved = kept_visit(db)
    away = tmp_path / "elsewhere" / "kept.jsonl"
    os.replace(moved, away)
    before = checksums(db)
    code, out, err = rom(capsys, "recover", away)
    assert code == 2 and "does not lie beside the database" in err and checksums(db) == before, err


def test_4_an_edited_subject_never_merges_into_another_subjects_session(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    db = tmp_path / "clinic.sqlite3"
    with Store.open(db) as store:
        visit(store, "P202", [40.0], [])
    path = kept_visit(db, "P201")
    edit(path, lambda lines: lines[1].update(subject="P202"))
    before = checksums(db)
    code, out, err = rom(capsys, "recover", path)
    assert code == 2 and "holds as session" in err and "of P201" in err and checksums(db) == before, err


def test_4_a_case_twin_is_refused_unless_said_to_be_another_person(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    db = tmp_path / "clinic.sqlite3"
    with Store.open(db) as store:
        visit(store, "P201", [40.0], [])
    path = kept_visit(db, "P201")
    fresh = "0b5b6f1e-4d7a-4c51-9a3e-1c2d3e4f5a6b"

    def twin(lines):                              # a new session of "p201" (its own identity)
        lines[1].update(subject="p201")
        if "uuid" in lines[1]["meta"]:
            lines[0].update(session_uuid=fresh)
            lines[1]["meta"].update(uuid=fresh)
        else:                                     # before sessions had one: another start time
            lines[1]["meta"].update(started_at="2026-03-15T10:30:00+01:00")
    edit(path, twin)
    before = checksums(db)
    code, out, err = rom(capsys, "recover", path)
    assert code == 2 and "differs only by case" in err and "--new-subject" in err and checksums(db) == before, err
    code, out, err = rom(capsys, "recover", path, "--new-subject")
    assert code == 0, err
    with Store.open(db, readonly=True) as store:
        assert store.subjects() == ["P201", "p201"]


def test_5_a_bad_leftover_is_set_aside_and_never_blocks_a_session(tmp_path, monkeypatch):
    db = tmp_path / "clinic.sqlite3"
    with Store.open(db) as store:
        visit(store, "P201", [22.2], [])
    path = kept_visit(db)
    edit(path, lambda lines: lines[1].update(side="sideways"))
    said = []
    with Store.open(db) as store:
        journal = SessionJournal(store, say=said.append)
        sid = journal.start(SessionMeta("P300", "knee_flexion", "left"))
        journal.write("rep", side="left", rep_no=1, peak_deg=50.0)
        journal.write("finish", status="complete", results=[])
        assert journal.close() is None
        assert len(store.session(sid).reps) == 1
    notes = [x for x in said if "recovery file" in x]
    print("\n" + "\n".join(notes))
    assert len(notes) == 1 and "set aside" in notes[0] and "side must be one of" in notes[0]
    assert not path.exists() and path.with_name(path.name + ".bad").exists()


@pytest.mark.slow
def test_800000_frames_are_recovered_in_under_a_minute(tmp_path, capsys, monkeypatch):
    """A 48 MB recovery file (800,000 frames in batches of 32, as a 7-hour session at 30 fps
    would keep) is added in one transaction, linear in its frames."""
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    db = tmp_path / "clinic.sqlite3"
    path = kept_visit(db)
    lines = path.read_text().splitlines()
    header, start = lines[0], lines[1]
    n, batch = 800_000, 32
    with open(path, "w") as fh:
        fh.write(header + "\n" + start + "\n")
        for k in range(0, n, batch):
            rows = [[1000 + round((k + j) / 30, 4), "set", 20.0 + ((k + j) % 90) / 3, True, None, None, None]
                    for j in range(batch)]
            fh.write(json.dumps({"op": "frames", "rows": rows, "side": "right"}) + "\n")
        fh.write(json.dumps({"op": "finish", "status": "complete", "results": []}) + "\n")
    size = path.stat().st_size
    with Store.open(db, readonly=True) as store:
        stored = store._read_one("SELECT COUNT(*) FROM frames")[0]
    t0 = time.perf_counter()
    code, out, err = rom(capsys, "recover", path)
    took = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\n{size / 1e6:.0f} MB, {n} frames recovered in {took:.1f} s")
    assert code == 0, err
    with Store.open(db, readonly=True) as store:
        assert store._read_one("SELECT COUNT(*) FROM frames")[0] == stored + n
    assert took < 60


def test_a_file_from_before_session_uuids_is_added_once(tmp_path, capsys, monkeypatch):
    """A romcam-recovery-1 file (no UUID in its header or start) is still read: its session gets a
    UUID made from its start record, so adding it twice adds it once."""
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    db = tmp_path / "clinic.sqlite3"
    path = kept_visit(db)

    def older(lines):
        lines[0]["format"] = "romcam-recovery-1"
        del lines[0]["session_uuid"], lines[1]["meta"]["uuid"]
    edit(path, older)
    copy = path.read_bytes()
    for _ in range(2):
        path.write_bytes(copy)
        code, out, err = rom(capsys, "recover", path)
        assert code == 0, err
    with Store.open(db, readonly=True) as store:
        rows = store.sessions()
        assert len(rows) == 2 and sum(len(store.session(r.id).trials) for r in rows) == 1


@pytest.mark.parametrize("text", ["", "not json\n{}\n", '{"format": "other"}\n{"op": "start"}\n',
                                  '[1, 2]\n[3]\n'])
def test_a_file_that_is_no_recovery_file_is_one_line(tmp_path, capsys, monkeypatch, text):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    path = tmp_path / "db.sqlite3.recovery-1.jsonl"
    path.write_text(text)
    code, out, err = rom(capsys, "recover", path)
    assert code == 2 and "is not a romcam recovery file" in err and err.count("\n") == 1, err


def test_a_set_judged_against_the_edge_is_recovered_with_its_judgements(tmp_path, capsys, monkeypatch):
    """A kept session whose set reps and result carry their judgement against the edge (issue 22)
    passes the recovery file's checks and is stored with it."""
    monkeypatch.setenv("ROMCAM_DB", str(tmp_path / "env.sqlite3"))
    db = tmp_path / "home.sqlite3"
    judged = judge_set([20.4, 21.9], [17.0, 18.2], start_edge_deg=20.0, mdc95_deg=1.5, side="right")
    outcome = side_outcome("right", [20.0], [22.0], [20.4, 21.9]).with_set_edge(judged)
    with Store.open(db) as store:
        journal = SessionJournal(store, say=lambda s: None)
        journal.start(SessionMeta("P301", "neck_lateral_flexion", "right", started_at=FILMED, recorded=True))
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            for k, rep in enumerate(judged.reps, start=1):
                journal.write("rep", side="right", rep_no=k, peak_deg=rep.peak_deg, edge=rep.as_dict(),
                              created_at=f"2026-03-14T10:30:3{k}+01:00")
            journal.write("finish", status="complete", results=[vars(outcome)])
            assert journal.close(final_wait_s=0.3)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    (path,) = tmp_path.glob("*.recovery-*.jsonl")
    code, out, err = rom(capsys, "recover", path)
    assert code == 0, out + err
    with Store.open(db, readonly=True) as store:
        (session,) = store.sessions()
        reps = store.session(session.id).reps
        assert [(r.edge.edge_deg, r.edge.reached, r.edge.grade) for r in reps] == \
            [(j.edge_deg, j.reached, j.grade) for j in judged.reps]
        assert session.outcomes[0].set_grade == judged.grade and session.outcomes[0].set_judged == 2


def test_the_recovery_models_check_every_field_of_the_records_they_stand_for():
    """A field added to SideOutcome or RepEdge must be checked (and so recovered) by the recovery
    file's models; a field the models hold that the records lack would be refused on replay."""
    from dataclasses import fields

    from romcam.measure.edge import RepEdge
    from romcam.measure.outcome import SideOutcome
    from romcam.storage.recovery import Edge, Result

    for model, record in ((Result, SideOutcome), (Edge, RepEdge)):
        assert set(model.model_fields) == {f.name for f in fields(record)}, (model.__name__, record.__name__)
