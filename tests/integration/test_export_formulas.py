"""A CSV exported from a database edited by hand into formula text, opened in LibreOffice Calc
(headless, converted to .xlsx and read back with openpyxl): no cell is a formula, with the
import options the docs give and without any."""

from __future__ import annotations

import sqlite3

import numpy as np

from romcam.storage.export import export_csv
from romcam.storage.store import Store
from test_export import _record
from test_export_libreoffice import README_FILTER, _convert

FORMULAS = ['=HYPERLINK("http://example.com/x","click")', "=1+1", "+1+1", "-2+3", "@SUM(1+1)",
            "\t=1+1", "=cmd|' /C calc'!A0"]


def test_libreoffice_runs_no_formula_from_the_store(tmp_path):
    path = tmp_path / "db.sqlite3"
    rng = np.random.default_rng(7)
    with Store.open(path) as store:
        for subject in ("P1", "P2", "P3"):
            _record(store, rng, subject, "knee_flexion", "left", 1, 3, 3, 4, frames=20)
    conn = sqlite3.connect(path)
    with conn:
        for n, text in enumerate(FORMULAS[:3], 1):
            conn.execute("UPDATE subjects SET code = ? WHERE id = ?", (text, n))
        conn.execute("UPDATE sessions SET joint = ?", (FORMULAS[3],))
        conn.execute("UPDATE results SET verdict = ?", (FORMULAS[4],))
        conn.execute("UPDATE frames SET phase = ?, invalid_reason = ?", (FORMULAS[5], FORMULAS[6]))
    conn.close()
    with Store.open(path, readonly=True) as store:
        written = export_csv(store, tmp_path / "visits.csv", frames=True)
    profile = tmp_path / "lo-profile"
    for name, infilter in [("advice", README_FILTER), ("plain", None)]:
        sheets = _convert(written, tmp_path / name, profile, "C.UTF-8", infilter)
        values = []
        for rows, csv_path in zip(sheets, written):
            cells = [c for row in rows for c in row]
            assert [c.coordinate for c in cells if c.data_type == "f"] == [], (name, csv_path.name)
            values += [c.value for c in cells]
        texts = [v for v in values if isinstance(v, str)]
        assert len(texts) > 50 and not [t for t in texts if t.startswith(("=", "+", "-", "@"))], name
        assert sum(any(f in t for f in FORMULAS) for t in texts) >= 7     # the text itself is kept
