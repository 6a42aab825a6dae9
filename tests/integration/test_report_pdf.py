"""`romcam report --pdf`: the PDF is the HTML page printed on A4 by WeasyPrint (no mocks: real
WeasyPrint, Pango, fonts and poppler's pdftotext/pdftoppm; a missing tool skips, and fails in CI).

For a neck session with a set of reps, an ankle session (true vertical, heels lifted), the
`romcam demo --set circles --pdf` session and a subject's progress: every page is A4, every font
is embedded, and the numbers of every results table (before/after/delta/SEM/MDC95 per side,
trials, reps or turns, first rep or turn at the after-level, the verdicts) read from the PDF's
text equal those read from the HTML file. Every page is rendered to
test-output/report/pdf-<name>-<page>.png for a human to look at, and none may be empty.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from romcam.cli import main
from romcam.report.write import make_report
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store
from system import require_pango, require_tool
from test_report import (START, check_self_contained, Page, pdf_pages, record_ankle_session,
                         record_neck_session)

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
DATE = re.compile(r"\d{4}-\d\d-\d\d")
ROW_START = re.compile(r"^(left|right|\d{4}-\d\d-\d\d)\b")
MARKUP_WARNING = 'a stored warning with markup: <script>alert("x")</script> & <b>bold</b>'



# --------------------------------------------------------------------------- a database to report


def record_circles_session(store, rng, subject, started, turns=24) -> int:
    """A neck side-bend session whose set is neck circles: 3 trials per side before (near 20 deg)
    and after (near 24 deg), ``turns`` turns (5 clockwise, 5 counter-clockwise...) whose side-bend
    extremes grow from 20 to 24 deg."""
    sid = store.start_session(SessionMeta(subject, "neck_lateral_flexion", "both", started_at=started.isoformat(),
                              source="webcam", camera="USB webcam", pose_model="full", trials_per_phase=3,
                              set_kind="circles", target_turns=turns, synthetic=True))
    peaks = {"before": {"left": [], "right": []}, "after": {"left": [], "right": []}}
    for phase, level in (("before", 20.0), ("after", 24.0)):
        for k in range(1, 4):
            for side in ("right", "left"):
                peak = float(level + rng.normal(0.0, 0.4))
                store.add_trial(sid, phase, side, k, peak)
                peaks[phase][side].append(peak)
    for n in range(1, turns + 1):
        grow = 20.0 + 4.2 * (1 - np.exp(-n / (0.35 * turns)))
        store.add_turn(sid, n, "cw" if (n - 1) // 5 % 2 == 0 else "ccw", 20.0 + 6 * n, 25.0 + 6 * n,
                       right_deg=float(grow + rng.normal(0, 0.3)), left_deg=float(grow + rng.normal(0, 0.3)),
                       forward_deg=30.0, backward_deg=25.0)
    from romcam.measure.outcome import side_outcome
    store.finish_session(sid, "complete", results=[
        side_outcome(s, peaks["before"][s], peaks["after"][s], []) for s in ("left", "right")],
        stats={"warnings": [MARKUP_WARNING]})
    return sid


@pytest.fixture(scope="module")
def pdf_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("report-pdf") / "romcam.sqlite3"
    rng = np.random.default_rng(20260303)
    with Store.open(path) as store:
        ids = {
            "neck": record_neck_session(store, rng, "P07", START, {"left": (20.0, 25.0),
                                                                   "right": (22.0, 26.0)}),
            "later": record_neck_session(store, rng, "P07", START + timedelta(days=7),
                                         {"left": (23.0, 26.5), "right": (24.0, 27.0)},
                                         n_reps=20, frames=False),
            "ankle": record_ankle_session(store, rng, "P07", START + timedelta(days=3),
                                          heel_up=(("before", 2), ("rep", 5), ("rep", 6)),
                                          vertical=("scene", -1.7)),
            "circles": record_circles_session(store, rng, "P07", START + timedelta(days=10)),
        }
    return path, ids


# --------------------------------------------------------------------------- reading both files


class TableRows(HTMLParser):
    """The rows of the data tables of an HTML page, per section title, as the cells' texts;
    a row's note (the verdict line under it) is kept with the row."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: dict[str, list[dict]] = {}
        self._title: str | None = None
        self._in: str | None = None            # "h2", "td"
        self._row: dict | None = None
        self._data_table = self._body = False
        self._buffer = ""
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h2":
            self._in, self._buffer = "h2", ""
        elif tag == "table":
            self._data_table = "data" in (attrs.get("class") or "").split()
        elif tag == "tbody":
            self._body = self._data_table
        elif tag == "tr" and self._body:
            if "note" in (attrs.get("class") or "").split():
                self._row = self.sections[self._title][-1]
                self._row["note"] = ""
            else:
                self._row = {"cells": [], "note": None}
                self.sections[self._title].append(self._row)
        elif tag == "td" and self._row is not None:
            self._in, self._buffer = "td", ""

    def handle_data(self, data):
        if self._in:
            self._buffer += data

    def handle_endtag(self, tag):
        if tag == "h2" and self._in == "h2":
            self._title = self._buffer.strip()
            self.sections[self._title] = []
            self._in = None
        elif tag == "td" and self._in == "td":
            if self._row.get("note") is not None:
                self._row["note"] = self._buffer.strip()
            else:
                self._row["cells"].append(self._buffer.strip())
            self._in = None
        elif tag == "tr":
            self._row = None
        elif tag == "tbody":
            self._body = False
        elif tag == "table":
            self._data_table = False


def numbers(text: str) -> list[float]:
    """The numbers of a line, as words on their own ('25.1', '+5.0', '40'; not dates or times)."""
    return [float(w) for w in text.replace("(", " ").replace(")", " ").split() if NUMBER.fullmatch(w)]


def html_rows(html_text: str) -> dict[str, list[tuple]]:
    """Per section: each data-table row as (first word, its numbers, its note)."""
    out = {}
    for title, rows in TableRows(html_text).sections.items():
        if rows:
            out[title] = [(r["cells"][0].split()[0], numbers(" ".join(r["cells"])), r["note"])
                          for r in rows]
    return out


def pdf_text(pdf: Path) -> str:
    """The PDF's text in its printed layout (poppler's pdftotext -layout)."""
    exe = require_tool("pdftotext", package="poppler-utils")
    r = subprocess.run([exe, "-layout", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def pdf_rows(text: str, titles: list[str], with_notes: dict[str, bool]) -> dict[str, list[tuple]]:
    """Per section (split at the section titles, in page order): each table row printed in the PDF
    as (first word, its numbers, the line under it if the table has notes)."""
    lines = [line.strip() for line in text.replace("\f", "\n").splitlines()]
    starts = []
    for title in titles:
        k = next(i for i in range(starts[-1] + 1 if starts else 0, len(lines)) if lines[i] == title)
        starts.append(k)
    out = {}
    for title, a, b in zip(titles, starts, starts[1:] + [len(lines)]):
        rows = []
        for i in range(a + 1, b):
            if ROW_START.match(lines[i]) and numbers(lines[i]):
                note = lines[i + 1] if with_notes.get(title) else None
                rows.append((lines[i].split()[0], numbers(lines[i]), note))
        if rows:
            out[title] = rows
    return out


def check_numbers_match(html_path: Path, pdf_path: Path) -> dict[str, list[tuple]]:
    """The tables' numbers and verdicts read from the PDF equal those read from the HTML."""
    html_text = html_path.read_text(encoding="utf-8")
    expected = html_rows(html_text)
    titles = list(TableRows(html_text).sections)
    with_notes = {t: any(r[2] is not None for r in rows) for t, rows in expected.items()}
    found = pdf_rows(pdf_text(pdf_path), titles, with_notes)
    assert expected, "no data table in the HTML"
    assert found == expected
    return found


def check_fonts_embedded(pdf_path: Path) -> list[str]:
    """Every font used anywhere in the PDF (pages and the forms drawn on them) carries its font
    file; returns the font names."""
    from pypdf import PdfReader

    names, seen = [], set()

    def fonts_of(resources):
        resources = resources.get_object() if resources is not None else {}
        for font in (resources.get("/Font") or {}).values():
            yield font.get_object()
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if id(xobject) not in seen and xobject.get("/Subtype") == "/Form":
                seen.add(id(xobject))
                yield from fonts_of(xobject.get("/Resources"))

    for page in PdfReader(pdf_path).pages:
        for font in fonts_of(page.get("/Resources")):
            assert font.get("/Subtype") != "/Type3", font
            described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = described["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
            names.append(str(font["/BaseFont"]))
    assert names, "no font in the PDF"
    return sorted(set(names))


def look_at_pages(pdf_path: Path, stem: str, folder: Path) -> list[Path]:
    """Every page as a PNG (poppler's pdftoppm, 60 dpi) for a human to look at; none is empty
    (more than the running header and footer is printed on it)."""
    from matplotlib.image import imread

    exe = require_tool("pdftoppm", package="poppler-utils")

    def pages() -> list[Path]:         # this stem's pages only: "subject" must not take "subject-long"'s
        return sorted(p for p in folder.glob(f"pdf-{stem}-*.png") if re.fullmatch(rf"pdf-{re.escape(stem)}-\d+\.png", p.name))

    for old in pages():
        old.unlink()
    r = subprocess.run([exe, "-r", "60", "-png", str(pdf_path), str(folder / f"pdf-{stem}")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    pngs = pages()
    assert len(pngs) == pdf_pages(pdf_path)
    for png in pngs:
        pixels = imread(png)[..., :3].mean(axis=2)
        h = pixels.shape[0]
        body = pixels[int(0.06 * h):int(0.93 * h)]          # between the header and the footer
        ink = float((body < 0.85).mean())
        print(f"{png.name}: {100 * ink:.1f} % ink")
        assert ink > 0.01, f"{png.name} is (nearly) empty"
    return pngs


@pytest.fixture(scope="module")
def shots(output_dir) -> Path:
    """Where the pages' pictures go; every test that prints and reads a PDF uses it, so the tools
    it needs are checked here: Pango (WeasyPrint), pdftotext and pdftoppm."""
    require_pango()
    require_tool("pdftotext", package="poppler-utils")
    require_tool("pdftoppm", package="poppler-utils")
    folder = output_dir / "report"
    folder.mkdir(exist_ok=True)
    return folder


def check_pdf(html_path: Path, pdf_path: Path, stem: str, shots: Path) -> dict:
    pages = pdf_pages(pdf_path)                          # every page A4
    fonts = check_fonts_embedded(pdf_path)
    rows = check_numbers_match(html_path, pdf_path)
    look_at_pages(pdf_path, stem, shots)
    print(f"\n{stem}: {pages} A4 pages, fonts {fonts}; rows compared: "
          + "; ".join(f"{t}: {len(r)}" for t, r in rows.items()))
    return rows


# --------------------------------------------------------------------------- tests


def test_neck_session_pdf(pdf_db, tmp_path, shots):
    db, ids = pdf_db
    with Store.open(db, readonly=True) as store:
        html_path, pdf_path = make_report(store, session_id=ids["neck"], out=tmp_path / "neck.html", pdf=True)
        detail = store.session(ids["neck"])
    rows = check_pdf(html_path, pdf_path, "session-neck", shots)
    results = rows["Before and after"]
    assert [r[0] for r in results] == [o.side for o in detail.outcomes] == ["left", "right"]
    for (_, values, note), o in zip(results, detail.outcomes):
        shown = [float(f"{v:.1f}") for v in (o.before_deg, o.after_deg, o.delta_deg, o.sem_deg, o.mdc95_deg)]
        assert values == shown + [3, 3, 40, o.first_rep_at_after_level]
        assert note == o.verdict
    assert [r[1][0] for r in rows["The set, rep by rep"]] == [40, 40]
    text = pdf_text(pdf_path)
    assert "Figure 1. Median peak angle" in text and "Figure 3." in text
    assert "page 1 of" in text and "Synthetic (demo) data" in text


def test_ankle_session_pdf_shows_the_vertical_and_lifted_heels(pdf_db, tmp_path, shots):
    db, ids = pdf_db
    with Store.open(db, readonly=True) as store:
        html_path, pdf_path = make_report(store, session_id=ids["ankle"], out=tmp_path / "ankle.html", pdf=True)
    check_pdf(html_path, pdf_path, "session-ankle", shots)
    page = Page(html_path.read_text(encoding="utf-8"))
    assert page.cell("heel_lifted")["text"] == "before 2 (left), rep 5 (left), rep 6 (left)"
    text = re.sub(r"\s+", " ", pdf_text(pdf_path))
    assert "scene, camera roll -1.7 deg" in text and "before 2 (left), rep 5 (left), rep 6 (left)" in text


def test_circles_session_pdf(pdf_db, tmp_path, shots):
    """A session whose set is neck circles: the results table counts turns, not reps."""
    db, ids = pdf_db
    with Store.open(db, readonly=True) as store:
        html_path, pdf_path = make_report(store, session_id=ids["circles"], out=tmp_path / "c.html", pdf=True)
    rows = check_pdf(html_path, pdf_path, "session-circles", shots)
    page = Page(html_path.read_text(encoding="utf-8"))
    check_self_contained(page)
    for side, values, _ in rows["Before and after"]:
        assert values[-2] == 24                                      # turns, both directions
        turn = page.cell("turn_at_after_level", side=side)["text"]
        assert turn == page.cell("first_turn_at_after_level", side=side)["text"] != "-"
        assert values[-1] == int(turn)
    assert not page.find("reps_done") and "first rep at after level" not in page.text
    assert page.cell("turns_total")["text"] == "24" and page.cell("target_turns")["text"] == "24"
    assert [r[1][0] for r in rows["The set of circles, turn by turn"]] == [24, 24]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in page.text     # autoescaped
    assert MARKUP_WARNING in pdf_text(pdf_path)                       # and printed as written


def test_subject_pdf(pdf_db, tmp_path, shots):
    db, ids = pdf_db
    with Store.open(db, readonly=True) as store:
        html_path, pdf_path = make_report(store, subject="P07", out=tmp_path / "subject.html", pdf=True)
        sessions = store.sessions(subject="P07")
    rows = check_pdf(html_path, pdf_path, "subject", shots)
    neck = rows["Neck side-bend (lateral flexion)"]
    expected = [o for r in sessions if r.joint == "neck_lateral_flexion" for o in r.outcomes]
    assert len(neck) == len(expected) == 6                           # 3 sessions x 2 sides
    for (date, values, note), o in zip(neck, expected):
        assert DATE.fullmatch(date) and note == o.verdict
        assert values[1:6] == [float(f"{v:.1f}") for v in (o.before_deg, o.after_deg, o.delta_deg,
                                                     o.sem_deg, o.mdc95_deg)]
    assert [r[1][-1] for r in neck] == [40, 40, 20, 20, 24, 24]     # reps, reps, turns
    text = pdf_text(pdf_path)
    assert "24 turns" in text and "40 reps" in text and "Figure 2." in text


def test_missing_weasyprint_is_one_line_before_any_work(pdf_db, tmp_path, monkeypatch, capsys):
    """Without a usable WeasyPrint, `report --pdf` says so in one line and writes nothing."""
    db, ids = pdf_db
    monkeypatch.setitem(sys.modules, "weasyprint", None)          # import weasyprint -> ImportError
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    out = tmp_path / "r.html"
    assert main(["report", "--session", str(ids["neck"]), "--db", str(db), "--out", str(out), "--pdf"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("romcam: error: cannot write a PDF: WeasyPrint") and err.count("\n") == 1
    assert "pip install weasyprint" in err and not out.exists() and not list(tmp_path.iterdir())


def test_long_subject_table_splits_between_rows(tmp_path, shots):
    """A subject with 16 sessions (32 rows): the table runs over two pages, split between rows with
    its header repeated, no page left (nearly) empty, and still every number equals the HTML's."""
    rng = np.random.default_rng(7)
    with Store.open(tmp_path / "long.sqlite3") as store:
        for day in range(16):
            record_neck_session(store, rng, "L16", START + timedelta(days=day),
                                {"left": (20 + 0.2 * day, 24 + 0.2 * day), "right": (21.0, 25.0)},
                                n_reps=6, frames=False)
        html_path, pdf_path = make_report(store, subject="L16", out=tmp_path / "long.html", pdf=True)
    rows = check_pdf(html_path, pdf_path, "subject-long", shots)
    assert len(rows["Neck side-bend (lateral flexion)"]) == 32
    pages = pdf_text(pdf_path).split("\f")
    with_header = [k for k, page in enumerate(pages, 1) if re.search(r"date\s+session\s+side", page)]
    assert len(with_header) == 2 and pdf_pages(pdf_path) <= 3, (with_header, len(pages))


def test_demo_pdf_without_weasyprint_stops_before_the_session(monkeypatch, capsys, tmp_path):
    """`demo --pdf` (default output) finds a missing WeasyPrint before it runs the session."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)          # import weasyprint -> ImportError
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")                     # the error line on sys.stderr
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--pdf"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("romcam: error: cannot write a PDF: WeasyPrint") and err.count("\n") == 1
    assert "romcam demo:" not in out and not list(tmp_path.iterdir())
