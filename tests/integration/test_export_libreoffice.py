"""The CSV export in a real spreadsheet program: LibreOffice Calc (headless, Debian's
libreoffice-calc-nogui) converts it to .xlsx, and every cell is read back with openpyxl.

What docs/how-to/reports-exports.md says about LibreOffice is measured here: with the import options it gives
(`--infilter=CSV:44,34,76,1,,1033`) every header, number, date and text is right, also in a
decimal-comma language; without them LibreOffice reads the UTF-8 file as a single-byte code page
(the byte-order mark becomes `ï»¿` in the first header cell, Zoë becomes ZoÃ«, and without the
mark Zoë is misread all the same); without the language token a German LibreOffice reads `35.2`
as text. A missing soffice skips (fails in CI: tests/tools/system.py)."""

from __future__ import annotations

import csv
import os
import subprocess
from datetime import datetime

import numpy as np
import openpyxl
import pytest

from romcam.storage.export import SESSION_COLUMNS, export_csv
from romcam.storage.store import Store
from system import require_tool
from test_export import _record

README_FILTER = "CSV:44,34,76,1,,1033"     # the docs' advice: comma, ", UTF-8, line 1, English (USA)
NAMES = [c for c, _, _ in SESSION_COLUMNS]
TEXT_COLUMNS = {"subject", "started_at", "joint", "side", "status", "verdict", "set_kind", "session_uuid"}


def _soffice() -> str:
    return require_tool("soffice", package="libreoffice-calc-nogui")


def _convert(csv_paths, out_dir, profile, locale: str, infilter: str | None):
    """``soffice --headless [--infilter=...] --convert-to xlsx`` of ``csv_paths`` under
    ``locale``; each sheet's rows as openpyxl reads them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update(LANG=locale, LC_ALL=locale, HOME=str(profile.parent))
    argv = [_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
            *([f"--infilter={infilter}"] if infilter else []),
            "--convert-to", "xlsx", "--outdir", str(out_dir), *map(str, csv_paths)]
    run = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)
    xlsx = [out_dir / f"{p.stem}.xlsx" for p in csv_paths]
    assert run.returncode == 0 and all(x.is_file() for x in xlsx), (run.stdout, run.stderr)
    return [[list(row) for row in openpyxl.load_workbook(x).active.iter_rows()] for x in xlsx]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """One export, converted three ways (each soffice start takes a few seconds)."""
    base = tmp_path_factory.mktemp("libreoffice")
    rng = np.random.default_rng(2026)
    with Store.open(base / "db.sqlite3") as store:
        for args, kw in [
            (("Zoë-01", "neck_lateral_flexion", "both", 40, 3, 3, 6), {"synthetic": True}),
            (("P002", "ankle_dorsiflexion", "left", 10, 3, 3, 10), {}),
            (("P002", "ankle_dorsiflexion", "right", 1, 3, 0, 4), {"finish": False}),  # no after: empty cells
            (("P003", "knee_flexion", "left", 0, 1, 1, 0), {}),                         # no SEM
        ]:
            _record(store, rng, *args, **kw)
        (path,) = export_csv(store, base / "visits.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    no_bom = base / "visits_no_bom.csv"
    no_bom.write_bytes(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    profile = base / "lo-profile"
    sheets = {name: _convert([path, no_bom], base / name, profile, locale, infilter)
              for name, locale, infilter in [
                  ("advice_de", "de_DE.UTF-8", README_FILTER),       # a decimal-comma LibreOffice
                  ("advice_c", "C.UTF-8", README_FILTER),
                  ("plain", "C.UTF-8", None),                          # no import options at all
                  ("no_language", "de_DE.UTF-8", "CSV:44,34,76,1"),
              ]}
    return table, sheets


@pytest.mark.parametrize("name", ["advice_de", "advice_c"])
def test_with_the_readme_options_every_cell_is_right(converted, name):
    table, sheets = converted
    rows, without_bom = sheets[name]
    assert [[c.value for c in r] for r in without_bom] == [[c.value for c in r] for r in rows]
    header, body = table[0], table[1:]
    assert [c.value for c in rows[0]] == header == NAMES          # no ï»¿ before "subject"
    assert len(rows) == len(table) and all(len(r) == len(NAMES) for r in rows)
    checked = {"number": 0, "date": 0, "text": 0, "empty": 0}
    for csv_row, cells in zip(body, rows[1:]):
        for column, text, cell in zip(header, csv_row, cells):
            value = cell.value
            if text == "":
                assert value is None, (column, value)
                checked["empty"] += 1
            elif column == "date":                                  # a real date cell
                assert isinstance(value, datetime) and value.date().isoformat() == text, value
                checked["date"] += 1
            elif column in TEXT_COLUMNS:
                assert value == text, (column, value)
                checked["text"] += 1
            else:                                                   # a number, not text
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (column, value)
                assert value == float(text), (column, value, text)
                checked["number"] += 1
    assert "Zoë-01" in [r[0].value for r in rows]
    assert min(checked.values()) > 0
    print(name, checked, "date format:", rows[1][header.index("date")].number_format)


def test_without_the_options_libreoffice_misreads_the_utf8(converted):
    """What docs/how-to/reports-exports.md warns about (LibreOffice 7.4 headless): if this starts to fail,
    LibreOffice has changed and the docs' advice should be revisited."""
    table, sheets = converted
    rows, without_bom = sheets["plain"]
    assert rows[0][0].value == "ï»¿subject"                         # the BOM read as cp1252
    assert [c.value for c in rows[0][1:]] == NAMES[1:]
    assert "ZoÃ«-01" in [r[0].value for r in rows]
    assert without_bom[0][0].value == "subject"                     # dropping the BOM does not help:
    assert "ZoÃ«-01" in [r[0].value for r in without_bom]            # Zoë is misread all the same


def test_without_the_language_a_decimal_comma_calc_reads_numbers_as_text(converted):
    table, sheets = converted
    header, (rows, _) = table[0], sheets["no_language"]
    col = header.index("before_deg")
    assert [c.value for c in rows[0]] == NAMES                      # UTF-8 and the BOM are right
    assert all(isinstance(r[col].value, str) for r in rows[1:])     # 35.2 stays the text "35.2"
