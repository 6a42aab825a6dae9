"""`romcam report` of a database whose text was edited by hand: a ``$...$`` in a stored phase,
end reason or subject code is shown as written, never parsed as matplotlib mathtext."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import numpy as np

from romcam.cli import main
from romcam.measure.outcome import side_outcome
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store

SUBJECT = r"P$\bad{1}$"
PHASE = r"set $\frac$"


def test_report_of_stored_text_with_dollars(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    monkeypatch.setenv("ROMCAM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("ROMCAM_DB", raising=False)
    path = tmp_path / "sessions.sqlite3"
    with Store.open(path) as store:
        sid = store.start_session(SessionMeta("P1", "knee_flexion", "left",
                                              started_at=datetime(2026, 5, 1, 9).astimezone().isoformat()))
        t = np.arange(600) / 30.0
        angle = 40 + 30 * np.sin(t)
        phases = ["before"] * 200 + ["set"] * 200 + ["after"] * 200
        store.add_frames(sid, zip(t, phases, angle, np.ones(600, dtype=bool)))
        for k, peak in enumerate([60.0, 62.0], 1):
            store.add_trial(sid, "before", "left", k, peak)
            store.add_trial(sid, "after", "left", k, peak + 5)
        for k in range(1, 6):
            store.add_rep(sid, "left", k, 65.0 + k)
        store.finish_session(sid, "incomplete", end_reason="stopped",
                             results=[side_outcome("left", [60.0, 62.0], [65.0, 67.0], [66.0] * 5)])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE subjects SET code = ?", (SUBJECT,))
        conn.execute("UPDATE sessions SET end_reason = ?", (r"$\undefined$ stop",))
        conn.execute("UPDATE frames SET phase = ? WHERE phase = 'set'", (PHASE,))
    conn.close()
    out = tmp_path / "report.html"
    code = main(["report", "--session", str(sid), "--db", str(path), "--out", str(out)])
    said, err = capsys.readouterr()
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert SUBJECT in html and "data:image/svg" in html
    code = main(["report", "--subject", SUBJECT, "--db", str(path), "--out", str(tmp_path / "subject.html")])
    assert code == 0, capsys.readouterr().err
