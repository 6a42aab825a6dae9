"""Issue #11, one test per class of what a hostile user found: nothing lost, nothing overwritten,
one clear line. Each test failed on the code before the fix (see the commit that added it).

Helpers here are shared with test_faults.py: a real session database from a synthetic landmark
stream, small videos (blank, truncated), a small full disk (tmpfs) and a read-only bind mount."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import media
from romcam.capture.synthetic import demo_segments, neck_landmarks, script_angles
from romcam.cli import main
from romcam.errors import RomcamError
from romcam.measure.joints import get_joint
from romcam.session.runner import run_landmark_session
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store
from system import require_pango


# --------------------------------------------------------------------------- helpers


def demo_stream(reps: int = 5, side: str = "right", stop_s: float | None = None):
    t, angle, _ = script_angles(demo_segments(side, reps=reps))
    if stop_s is not None:
        keep = t <= stop_s
        t, angle = t[keep], angle[keep]
    return neck_landmarks(t, angle, neutral_offset_deg=2.0, noise_deg=0.15)


def make_session_db(path: Path, subject: str = "P001", reps: int = 5, **kw) -> int:
    with Store.open(path) as store:
        return run_landmark_session(store, subject, get_joint("neck_lateral_flexion"), "right",
                                    demo_stream(reps), target_reps=reps, say=lambda s: None, **kw).session_id


def sha256s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def blank_video(path: Path, frames: int = 12) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for _ in range(frames):
        w.write(np.full((120, 160, 3), 90, np.uint8))
    w.release()
    return path


def truncated_video(path: Path, frames: int = 40, clip: str = "squats_front.mp4") -> Path:
    """An MJPG AVI of a real person whose header says ``frames`` frames, cut in half."""
    cap = cv2.VideoCapture(str(media(clip)))
    size = (int(cap.get(3)), int(cap.get(4)))
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, size)
    for _ in range(frames):
        w.write(cap.read()[1])
    w.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def damage(db: Path, page: int = 2, page_size: int = 4096) -> None:
    """Overwrite one page of the file with garbage (a bad sector, a bit-rotted copy)."""
    with open(db, "r+b") as fh:
        fh.seek(page * page_size)
        fh.write(bytes(range(256)) * (page_size // 256))


def run_cli(*args, env=None, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "romcam", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=dict(os.environ, **(env or {})))


@pytest.fixture
def rom(capsys, monkeypatch):
    """romcam's real entry point in-process: rom(*args) -> (exit code, stdout, stderr)."""
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")

    def call(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def one_error_line(err: str) -> None:
    assert err.startswith("romcam: error: ") and err.count("\n") == 1 and "Traceback" not in err, err


def _mount(*args) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextmanager
def small_disk(folder: Path, size: str = "2m"):
    """A real small filesystem (tmpfs) at ``folder``; skipped where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    if not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)):
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> None:
    """Fill the disk holding ``folder`` to the last byte."""
    fd = os.open(folder / "filler.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for block in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * block)
            except OSError:
                pass
    finally:
        os.close(fd)


@contextmanager
def read_only_view(folder: Path, view: Path):
    """``folder`` seen read-only at ``view`` (a read-only bind mount: read-only even for root)."""
    view.mkdir(parents=True, exist_ok=True)
    if not (_mount("--bind", str(folder), str(view)) and _mount("-o", "remount,ro,bind", str(view))):
        subprocess.run(["umount", str(view)], capture_output=True)
        pytest.skip("cannot make a read-only bind mount here (not root?)")
    try:
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)


# --------------------------------------------------------------------------- 1. never replace


def test_1_outputs_never_replace_a_file_romcam_did_not_write(tmp_path, rom):
    db = tmp_path / "s.sqlite3"
    make_session_db(db)
    mine = tmp_path / "mine.csv"
    mine.write_text("a clinician's own file\n")
    code, _, err = rom("export", "--csv", mine, "--db", db)
    assert code == 2 and "--overwrite" in err and mine.read_text() == "a clinician's own file\n"
    one_error_line(err)
    page = tmp_path / "page.html"
    page.write_text("mine")
    code, _, err = rom("report", "--session", 1, "--out", page, "--db", db)
    assert code == 2 and page.read_text() == "mine"
    for args in (("export", "--csv", db), ("report", "--session", 1, "--out", db),
                 ("demo", "--db", db, "--out", db)):           # an output equal to an input
        before = sha256s(tmp_path)
        code, _, err = rom(*args, "--db", db, "--overwrite") if args[0] != "demo" else rom(*args, "--overwrite")
        assert code == 2 and sha256s(tmp_path) == before, args
    link = tmp_path / "alias.sqlite3"
    link.symlink_to(db)
    code, _, err = rom("export", "--csv", link, "--db", db, "--overwrite")
    assert code == 2 and "database itself" in err
    assert rom("export", "--csv", mine, "--db", db, "--overwrite")[0] == 0
    assert "session_id" in mine.read_text(encoding="utf-8-sig")
    sheet = tmp_path / "sheet.pdf"
    sheet.write_bytes(b"%PDF mine")
    assert rom("calibrate", "sheet", "--out", sheet)[0] == 2 and sheet.read_bytes() == b"%PDF mine"


def test_1_record_and_analyze_never_replace_their_video(tmp_path):
    video = blank_video(tmp_path / "mine.mp4")
    before = sha256s(tmp_path)
    r = run_cli("session", "--joint", "neck-side-bend", "--subject", "P1", "--source", video, "--record", video,
                "--no-window", "--db", tmp_path / "s.sqlite3", "--overwrite")
    assert r.returncode == 2 and "input" in r.stderr and sha256s(tmp_path) == before, r.stderr
    other = tmp_path / "visit1.mp4"
    other.write_bytes(b"last visit")
    r = run_cli("session", "--joint", "neck-side-bend", "--subject", "P1", "--source", video, "--record", other,
                "--no-window", "--db", tmp_path / "s.sqlite3")
    assert r.returncode == 2 and other.read_bytes() == b"last visit", r.stderr
    out = tmp_path / "out"
    out.mkdir()
    (out / "frames.csv").write_text("mine")
    r = run_cli("analyze", video, "--joint", "knee", "--out", out, "--no-progress")
    assert r.returncode == 2 and (out / "frames.csv").read_text() == "mine" and "--overwrite" in r.stderr


# --------------------------------------------------------------------------- 2. report names


def test_2_report_names_do_not_collide(tmp_path, rom, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    make_session_db(tmp_path / "a" / "r.sqlite3", subject="Zoë/01")
    make_session_db(tmp_path / "b" / "r.sqlite3", subject="Zoë 01")
    written = []
    for folder in ("a", "b"):
        for what in (("--session", 1), ("--subject", "Zoë/01" if folder == "a" else "Zoë 01")):
            code, out, err = rom("report", *what, "--db", tmp_path / folder / "r.sqlite3")
            assert code == 0, err
            written.append(out.split("wrote ")[1].strip())
    assert len(set(written)) == 4 and all((tmp_path / w).is_file() for w in written)
    first = tmp_path / written[0]
    first.write_text("kept")                                  # never replaced, even by the same report
    code, out, _ = rom("report", "--session", 1, "--db", tmp_path / "a" / "r.sqlite3")
    assert code == 0 and first.read_text() == "kept" and out.split("wrote ")[1].strip() != written[0]


# --------------------------------------------------------------------------- 3. damaged database


def test_3_a_damaged_database_is_never_written(tmp_path, rom):
    db = tmp_path / "s.sqlite3"
    make_session_db(db)
    damage(db, page=3)
    before = sha256s(tmp_path)
    with pytest.raises(RomcamError, match="damaged.*recover"):
        Store.open(db)
    code, _, err = rom("demo", "--db", db, "--reps", 5)
    assert code == 2 and "damaged" in err and ".recover" in err and sha256s(tmp_path) == before
    one_error_line(err)
    code, _, err = rom("history", "--db", db)                 # reading refuses too, clearly
    assert code == 2 and "damaged" in err and sha256s(tmp_path) == before


# --------------------------------------------------------------------------- 4. subject codes


def test_4_subject_codes_are_normalised_and_case_twins_refused(tmp_path):
    db = tmp_path / "s.sqlite3"
    with Store.open(db) as store:
        a = store.start_session(SessionMeta("Zoe\u0308", "knee_flexion", "left"))          # decomposed ë
        b = store.start_session(SessionMeta(" Zo\u00eb ", "knee_flexion", "left"))         # composed, spaces
        assert store.subjects() == ["Zo\u00eb"]
        assert [s.id for s in store.sessions(subject="Zoe\u0308")] == [a, b]
        store.start_session(SessionMeta("P1", "knee_flexion", "left"))
        with pytest.raises(RomcamError, match=r"differs only by case.*'P1'.*--new-subject"):
            store.start_session(SessionMeta("p1", "knee_flexion", "left"))
        store.start_session(SessionMeta("p1", "knee_flexion", "left"), new_subject=True)
        assert store.subjects() == ["P1", "Zo\u00eb", "p1"]


# --------------------------------------------------------------------------- 5. locks


class LockHolder:
    """Another program holding the write lock (BEGIN EXCLUSIVE) for ``seconds``."""

    def __init__(self, db: Path, seconds: float):
        code = ("import sqlite3, sys, time\n"
                "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True)\n"
                "time.sleep(float(sys.argv[2])); c.execute('ROLLBACK')\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(db), str(seconds)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def wait(self):
        self.proc.wait(timeout=120)


def locked_stream(db: Path, seconds: float, at_s: float, holders: list, reps: int = 5):
    """The demo stream, with another program taking the write lock when it reaches ``at_s``."""
    for lm in demo_stream(reps):
        if not holders and lm.t_s >= at_s:
            holders.append(LockHolder(db, seconds))
        yield lm


def test_5_a_live_session_rides_out_a_write_lock(tmp_path):
    db = tmp_path / "s.sqlite3"
    make_session_db(db)                                       # an existing database with a session
    said, holders = [], []
    with Store.open(db) as store:
        result = run_landmark_session(store, "P2", get_joint("neck_lateral_flexion"), "right",
                                      locked_stream(db, 7.0, 8.0, holders), target_reps=5, say=said.append)
    holders[0].wait()
    assert result.finished.complete and result.kept_elsewhere is None
    assert any("cannot take writes now" in s for s in said) and any("takes writes again" in s for s in said)
    printed_reps = [s for s in said if "set rep" in s]
    with Store.open(db, readonly=True) as store:
        detail = store.session(result.session_id)
    assert len(detail.reps) == len(printed_reps) == 5 and len(detail.trials) == 6
    assert not list(tmp_path.glob("*.recovery-*"))


def session_outlasted_by_a_lock(folder: Path, monkeypatch):
    """A session on ``folder/s.sqlite3`` whose write lock, taken by another program 3 s in, outlasts
    it (12 s): (database, the session's result, its recovery file), the lock released."""
    import romcam.storage.journal as journal

    monkeypatch.setattr(journal, "FINAL_WAIT_S", 1.0)
    db = folder / "s.sqlite3"
    make_session_db(db)
    holders = []
    with Store.open(db) as store:
        result = run_landmark_session(store, "P2", get_joint("neck_lateral_flexion"), "right",
                                      locked_stream(db, 12.0, 3.0, holders), target_reps=5, say=lambda s: None)
    (recovery,) = folder.glob("*.recovery-*")
    holders[0].wait()
    return db, result, recovery


def test_5_a_lock_outlasting_the_session_keeps_everything_in_a_recovery_file(tmp_path, monkeypatch, rom):
    db, result, recovery = session_outlasted_by_a_lock(tmp_path, monkeypatch)
    assert result.kept_elsewhere and "romcam recover" in result.kept_elsewhere
    # the commands that only read say the session is missing from what they show, and how to add it
    reads = {"history": ("history",), "export": ("export", "--csv", tmp_path / "x.csv"),
             "report": ("report", "--session", 1, "--out", tmp_path / "r.html")}
    for name, args in reads.items():
        code, out, err = rom(*args, "--db", db)
        assert code == 0 and "1 session of this database is kept in a recovery file" in err, (name, err)
        assert f"romcam recover {recovery.resolve()}" in err, (name, err)
    code, out, err = rom("recover", recovery)
    assert code == 0 and "6 trials and 5 reps" in out and "complete" in out, err
    assert rom("recover", recovery)[0] == 2                   # gone once it is in the database
    code, out, err = rom("history", "--db", db)
    assert code == 0 and "recovery" not in err and out.count("P2") == 1, err
    with Store.open(db, readonly=True) as store:
        assert len(store.session(result.session_id).reps) == 5


def test_5_the_next_session_adds_what_a_session_left_in_a_recovery_file(tmp_path, monkeypatch):
    """Nothing waits for `romcam recover`: the next session on the same database adds a recovery
    file left behind and removes it, but never the file of a session still running elsewhere."""
    import json

    db, first, left = session_outlasted_by_a_lock(tmp_path, monkeypatch)
    # a copy that a session still running in another process writes (its own start time) stays
    lines = [json.loads(x) for x in left.read_text().splitlines()]
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        lines[0].update(pid=sleeper.pid, session_id=99)
        lines[1]["meta"]["started_at"] = "2026-01-02T03:04:05+00:00"
        running = tmp_path / "s.sqlite3.recovery-99.jsonl"
        running.write_text("".join(json.dumps(x) + "\n" for x in lines))
        said = []
        with Store.open(db) as store:
            second = run_landmark_session(store, "P2", get_joint("neck_lateral_flexion"), "right",
                                          demo_stream(3), target_reps=3, say=said.append)
        notes = [x for x in said if "recovery" in x]
        print("\n" + "\n".join(notes))
        assert len(notes) == 1 and f"added session {first.session_id} (P2" in notes[0]
        assert not left.exists() and running.exists()
        with Store.open(db, readonly=True) as store:
            assert len(store.session(first.session_id).reps) == 5
            assert len(store.session(second.session_id).reps) == 3
            assert len(store.sessions()) == 3          # the one made first, the recovered, the new
    finally:
        sleeper.kill()
        sleeper.wait()


# --------------------------------------------------------------------------- 6. read-only folders


def test_6_reading_never_creates_files_beside_the_database(tmp_path, rom):
    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "s.sqlite3"
    make_session_db(db)
    before = sha256s(folder)
    os.chmod(folder, 0o555)                                   # read-only (root ignores it: see below)
    try:
        out = tmp_path / "out"
        out.mkdir()
        assert rom("history", "--db", db)[0] == 0
        assert rom("export", "--csv", out / "x.csv", "--frames", "--db", db)[0] == 0
        assert rom("report", "--session", 1, "--out", out / "r.html", "--db", db)[0] == 0
        assert sha256s(folder) == before and sorted(os.listdir(folder)) == ["s.sqlite3"]
    finally:
        os.chmod(folder, 0o755)
    with read_only_view(folder, tmp_path / "usb") as usb:     # truly read-only, even for root
        code, out_text, err = rom("history", "--db", usb / "s.sqlite3")
        assert code == 0 and "P001" in out_text, err


def test_6_a_read_only_medium_with_a_wal_file_is_read_whole(tmp_path, rom):
    """A copy of a database taken while it had a -wal file (the newest records) on a read-only
    stick: reading uses a private copy elsewhere and sees every record."""
    folder = tmp_path / "stick"
    folder.mkdir()
    db = folder / "s.sqlite3"
    store = Store.open(db)
    sid = store.start_session(SessionMeta("P9", "knee_flexion", "left"))
    store.add_rep(sid, "left", 1, 40.0)
    snapshot = {p.name: p.read_bytes() for p in folder.iterdir()}   # db + -wal + -shm, mid-session
    store.close()
    for p in folder.iterdir():
        p.unlink()
    for name, data in snapshot.items():
        if not name.endswith("-shm"):
            (folder / name).write_bytes(data)
    with read_only_view(folder, tmp_path / "ro") as ro:
        code, out, err = rom("history", "--db", ro / "s.sqlite3")
        assert code == 0 and "P9" in out, err
    assert sorted(os.listdir(folder)) == ["s.sqlite3", "s.sqlite3-wal"]


# --------------------------------------------------------------------------- 7. check before work


def test_7_outputs_are_checked_before_the_long_work(tmp_path, rom):
    require_pango()                                     # report --pdf
    db = tmp_path / "s.sqlite3"
    make_session_db(db)
    with small_disk(tmp_path / "disk") as disk:
        fill(disk)
        code, _, err = rom("report", "--session", 1, "--out", disk / "r.html", "--pdf", "--db", db)
        assert code == 2 and "full" in err and sorted(os.listdir(disk)) == ["filler.bin"]
        one_error_line(err)
        start = time.monotonic()
        r = run_cli("analyze", media("squats_front.mp4"), "--joint", "knee", "--out", disk / "res",
                    "--no-progress")
        assert r.returncode == 2 and "full" in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert sorted(os.listdir(disk)) == ["filler.bin"] and time.monotonic() - start < 30


# --------------------------------------------------------------------------- 8. one line


@pytest.mark.parametrize("args", [
    ("session", "--joint", "neck", "--subject", "P1", "--target-reps", "0"),       # range
    ("report", "--session", "abc"),                                               # type
    ("demo", "--side", "up"),                                                     # choice
    ("export",),                                                                  # missing option
    ("history", "--nope"),                                                        # no such option
])
def test_8_usage_errors_are_one_line_with_what_to_do(args, rom):
    code, _, err = rom(*args)
    assert code == 2
    one_error_line(err)
    assert "--help" in err


# --------------------------------------------------------------------------- 9. missing folders


def test_9_outputs_into_a_missing_folder_are_refused(tmp_path, rom):
    db = tmp_path / "s.sqlite3"
    make_session_db(db)
    for args in (("export", "--csv", tmp_path / "typo" / "deep" / "x.csv", "--db", db),
                 ("demo", "--db", tmp_path / "typo" / "deep" / "d.sqlite3"),
                 ("report", "--session", 1, "--out", tmp_path / "typo" / "deep" / "r.html", "--db", db)):
        code, _, err = rom(*args)
        assert code == 2 and "does not exist" in err, args
        one_error_line(err)
        assert not (tmp_path / "typo").exists()


# --------------------------------------------------------------------------- 10. nobody there


def test_10_a_video_with_no_person_is_an_error_and_stores_nothing(tmp_path):
    video = blank_video(tmp_path / "empty.mp4")
    db = tmp_path / "s.sqlite3"
    r = run_cli("session", "--joint", "neck-side-bend", "--subject", "P1", "--source", video, "--no-window",
                "--db", db)
    assert r.returncode == 2 and "no usable frame" in r.stderr, r.stdout + r.stderr
    with Store.open(db, readonly=True) as store:
        assert store.sessions() == [] and store.subjects() == []
    r = run_cli("analyze", video, "--joint", "knee", "--out", tmp_path / "res", "--no-progress")
    assert r.returncode == 2 and "no person" in r.stderr and not list((tmp_path / "res").glob("*"))


# --------------------------------------------------------------------------- 11. headless, stuck


def test_11_a_stuck_session_says_where_it_waited(tmp_path):
    with Store.open(tmp_path / "s.sqlite3") as store:
        said = []
        result = run_landmark_session(store, "P1", get_joint("neck_lateral_flexion"), "right",
                                      demo_stream(5, stop_s=9.0), target_reps=5, say=said.append)
    assert "during 'before': waiting for right trial" in result.finished.reason
    video = truncated_video(tmp_path / "short.avi", 90, "neck_rotation_front.mp4")   # a person, then the end
    r = run_cli("session", "--joint", "neck-side-bend", "--subject", "P1", "--source", video, "--no-window",
                "--db", tmp_path / "v.sqlite3")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the video ended" in r.stdout and "waiting for" in r.stdout
    assert "setup:" in r.stdout                                   # the prompts were printed


# --------------------------------------------------------------------------- 12. truncated


def test_12_a_truncated_video_is_said(tmp_path):
    video = truncated_video(tmp_path / "cut.avi")
    r = run_cli("analyze", video, "--joint", "knee", "--out", tmp_path / "res", "--no-progress")
    assert r.returncode == 0 and "ended early" in r.stdout and "of 40 frames" in r.stdout, r.stdout + r.stderr


# --------------------------------------------------------------------------- 13. statuses


def test_13_sigterm_is_recorded_as_such_and_is_not_a_success(tmp_path):
    db = tmp_path / "t.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "romcam", "session", "--joint", "neck-side-bend",
                             "--subject", "P1", "--source", media("neck_rotation_front.mp4"), "--realtime",
                             "--no-window", "--db", db], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    for line in proc.stdout:
        if line.startswith("session "):
            break
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, out + err
    with Store.open(db, readonly=True) as store:
        (row,) = store.sessions()
    assert row.end_reason == "interrupted (SIGTERM)"


SLOW_SESSION = """
import os, sys, time
sys.path[:0] = sys.argv[2].split(os.pathsep)
from test_hostile import demo_stream
from romcam.measure.joints import get_joint
from romcam.session.runner import run_landmark_session
from romcam.storage.store import Store
def slow():
    for lm in demo_stream(5):
        time.sleep(0.01)
        yield lm
with Store.open(sys.argv[1]) as store:
    run_landmark_session(store, "P1", get_joint("neck_lateral_flexion"), "right", slow(), target_reps=5,
                         say=lambda s: print(s, flush=True))
"""


def test_13_running_and_crashed_sessions_are_told_apart(tmp_path, rom):
    db = tmp_path / "s.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SESSION, str(db), os.pathsep.join(sys.path)],
                            stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "before trial 1/3" in line:
            break
    code, out, _ = rom("history", "--db", db)
    assert code == 0 and "in progress" in out and "interrupted" not in out, out
    proc.kill()
    proc.wait()
    code, out, _ = rom("history", "--db", db)
    assert "incomplete (interrupted)" in out


# --------------------------------------------------------------------------- 14. export files


def test_14_export_keeps_permissions_and_symlinks_and_checks_both_outputs(tmp_path, rom):
    db = tmp_path / "s.sqlite3"
    make_session_db(db)
    csv = tmp_path / "shared.csv"
    csv.write_text("old")
    os.chmod(csv, 0o664)
    assert rom("export", "--csv", csv, "--db", db, "--overwrite")[0] == 0
    assert stat.S_IMODE(csv.stat().st_mode) == 0o664
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert rom("export", "--csv", link, "--db", db, "--overwrite")[0] == 0
    assert link.is_symlink() and "session_id" in target.read_text(encoding="utf-8-sig")
    fresh = tmp_path / "fresh.csv"
    (tmp_path / "fresh_frames.csv").mkdir()                   # a bad frames path
    code, _, err = rom("export", "--csv", fresh, "--frames", "--db", db)
    assert code == 2 and not fresh.exists()
    one_error_line(err)
