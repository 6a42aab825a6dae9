"""Text from the store or the command line printed safely: `history` without control characters,
errors on one short line, plots without mathtext."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime

import numpy as np
import pytest

from romcam.cli import main
from romcam.measure.outcome import side_outcome
from romcam.report import plots
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store
from romcam.text import LONG_VALUE, one_line, printable, shortened

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")   # all but "\n"
HOSTILE = "P1\x1b[2J\x1b]0;owned\x07\r\nfake line\u202eevil\x9b31m"


@pytest.fixture
def hostile_db(tmp_path):
    """Two sessions whose subject, joint and end reason were edited by hand into terminal escapes,
    line breaks and a bidirectional override."""
    path = tmp_path / "sessions.sqlite3"
    with Store.open(path) as store:
        for n, subject in enumerate(["P1", "P2"]):
            sid = store.start_session(SessionMeta(subject, "knee_flexion", "left",
                                                  started_at=datetime(2026, 5, 1 + n, 9).astimezone().isoformat()))
            store.add_trial(sid, "before", "left", 1, 30.0)
            store.add_trial(sid, "after", "left", 1, 35.0)
            store.finish_session(sid, "incomplete", end_reason="stopped",
                                 results=[side_outcome("left", [30.0], [35.0], [])])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE subjects SET code = ? WHERE code = 'P1'", (HOSTILE,))
        conn.execute("UPDATE sessions SET joint = ?, end_reason = ?",
                     ("knee\x1b[1A\x1b[2K", "user\rstopped\n1   2026-01-01 fake"))
    conn.close()
    return path


def test_history_prints_no_control_characters(hostile_db, cli_env, capsys):
    assert main(["history", "--db", str(hostile_db)]) == 0
    out, err = capsys.readouterr()
    assert CONTROL.findall(out) == []
    lines = out.splitlines()
    assert len(lines) == 1 + 2 + 1 + 1                  # header, two sessions, the legend, the count
    assert "fake line" in lines[1] or "fake line" in lines[2]   # the text is kept, on its own line


@pytest.mark.parametrize("text, expected", [
    ("a\x1b[31mb", "a[31mb"), ("a\nb\r\tc", "a b  c"), ("a\u202eb", "ab"), ("a\x9bb\x07", "ab"),
    ("Zoë-01 ✓", "Zoë-01 ✓"), (12, "12"),
])
def test_printable(text, expected):
    assert printable(text) == expected


def test_one_line_shortens_long_values_and_keeps_the_hint():
    line = one_line(f"unknown subject '{'x' * 10_000}' (known subjects: P1)")
    assert len(line) < LONG_VALUE + 60 and line.endswith("xxx…" + "x" * 9 + "' (known subjects: P1)")
    assert shortened("a" * 150 + "b" * 100) == "a" * 150 + "b" * 39 + "…" + "b" * 10
    assert shortened("a" * LONG_VALUE) == "a" * LONG_VALUE
    spaced = one_line("word " * 5000 + "(what to do)")
    assert len(spaced) < 10 * LONG_VALUE and spaced.endswith("(what to do)") and "…" in spaced


@pytest.mark.parametrize("argv", [
    ["history", "--subject", "Q" * 10_000],
    ["history", "--joint", "tail" * 2_500],
    ["export", "--csv", "{tmp}/x.csv", "--since", "y" * 10_000],
    ["history", "--subject", "a b " * 2_500],
])
def test_a_very_long_argument_is_shortened_in_its_one_line_error(hostile_db, cli_env, capsys, tmp_path, argv):
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--db", str(hostile_db)]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith("romcam: error: ") and err.count("\n") == 1
    assert len(err) < 10 * LONG_VALUE and "…" in err
    assert CONTROL.findall(err) == []                   # the known subjects listed are printable too


def test_an_error_naming_stored_text_has_no_control_characters(hostile_db, cli_env, capsys):
    assert main(["history", "--subject", "nobody", "--db", str(hostile_db)]) == 2
    err = capsys.readouterr().err
    assert "unknown subject 'nobody'" in err and err.count("\n") == 1 and CONTROL.findall(err) == []


def test_stored_text_with_dollars_is_not_mathtext():
    t = np.arange(300) / 30.0
    series = [plots.TraceSeries("left", t, 20 * np.sin(t), np.ones_like(t, dtype=bool))]
    phases = [plots.PhaseSpan(r"set $\undefined{x}$", 0.0, 5.0), plots.PhaseSpan("after $x^2$", 5.0, 10.0)]
    marks = [plots.EventMark("rep", 1.0, 19.0, r"$\frac$")]
    fig = plots.angle_trace_figure(series, phases, marks)
    svg = plots.svg_bytes(fig)
    assert svg.startswith(b"<?xml")
    texts = [t for t in fig.findobj(plots.Text) if "$" in t.get_text()]
    assert len(texts) >= 3 and not any(t.get_parse_math() for t in texts)
    fig = plots.before_after_figure([], title=r"P$\bad$1")
    assert plots.svg_bytes(fig).startswith(b"<?xml")
