"""`romcam report`: session and subject pages (HTML + PDF) whose numbers equal the stored ones.

Sessions are written with the Store API the way a live session writes them: a synthetic neck
side-bend session (neutral hold, 3 + 3 trials per side, a 40-rep set per side growing from about
20 to 25 deg, per-frame angles with rejected frames), two later sessions of the same subject for
the progress view, an ankle session, an interrupted and an empty session, and a session built
from a real clip (neck_rotation_front.mp4 through the real MediaPipe pipeline). Every number the
page shows is read back from its ``data-key``/``data-value`` cells and compared with the store.
The pages are rendered with headless Chromium to test-output/report/*.png for a human to look at.
"""

from __future__ import annotations

import base64
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conftest import media
from romcam.cli import main
from romcam.errors import RomcamError
from romcam.measure.outcome import side_outcome
from romcam.report.write import default_out_path, make_report
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store
from system import require_pango, require_tool

FPS = 30.0
START = datetime(2026, 3, 2, 9, 30).astimezone()
DEG_KEYS = ("before_deg", "after_deg", "delta_deg", "sem_deg", "mdc95_deg")
INT_KEYS = ("trials_before", "trials_after", "reps_done", "first_rep_at_after_level")


# --------------------------------------------------------------------------- building sessions


@dataclass
class Timeline:
    """A synthetic signed angle series (+ = right) built excursion by excursion."""

    rng: np.random.Generator
    t: list = field(default_factory=list)
    angle: list = field(default_factory=list)
    phase: list = field(default_factory=list)

    @property
    def now(self) -> float:
        return len(self.t) / FPS

    def hold(self, phase: str, seconds: float) -> None:
        n = int(round(seconds * FPS))
        self._add(phase, self.rng.normal(0.0, 0.4, n))

    def excursion(self, phase: str, side: str, peak: float) -> tuple[float, float, float, float]:
        """0 -> peak -> 0 with a short hold; returns (start_s, peak_s, end_s, peak_deg) as the
        session code would store them (the peak of the noisy samples)."""
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, int(0.6 * FPS), endpoint=False))
        shape = np.concatenate([ramp, np.ones(int(0.25 * FPS)), ramp[::-1]]) * peak
        noisy = shape + self.rng.normal(0.0, 0.25, shape.size)
        start = self.now
        k = int(np.argmax(noisy))
        sign = 1.0 if side == "right" else -1.0
        self._add(phase, sign * noisy)
        return start, start + k / FPS, self.now, float(noisy[k])

    def _add(self, phase: str, values) -> None:
        n0 = len(self.t)
        self.t += [(n0 + i) / FPS for i in range(len(values))]
        self.angle += list(values)
        self.phase += [phase] * len(values)


def growing_peaks(rng, n: int, start: float, end: float) -> list[float]:
    """Set rep peaks rising from about ``start`` to about ``end`` (fast, then levelling off)."""
    k = np.arange(n)
    curve = start + (end - start) * (1 - np.exp(-k / (0.35 * n))) / (1 - np.exp(-(n - 1) / (0.35 * n)))
    return list(curve + rng.normal(0.0, 0.35, n))


def record_neck_session(store, rng, subject, started, levels, n_reps=40, frames=True,
                        finish=True, synthetic=True, stop_after_reps=None) -> int:
    """A neck side-bend session on both sides: ``levels[side] = (before, after)``."""
    sid = store.start_session(SessionMeta(subject, "neck_lateral_flexion", "both",
                              started_at=started.isoformat(), source="webcam",
                              camera="USB webcam 1280x720", pose_model="full",
                              target_reps=n_reps, trials_per_phase=3, neutral_deg=0.8,
                              synthetic=synthetic))
    tl = Timeline(rng)
    tl.hold("neutral", 3.0)
    stored = {"before": {"left": [], "right": []}, "after": {"left": [], "right": []}}
    reps = {"left": [], "right": []}

    def trials(phase, index):
        for k in range(1, 4):
            for side in ("right", "left"):
                tl.hold(phase, 0.8)
                start, peak_s, end, peak = tl.excursion(phase, side, levels[side][index] +
                                                        rng.normal(0, 0.5))
                store.add_trial(sid, phase, side, k, peak, start, peak_s, end)
                stored[phase][side].append(peak)

    trials("before", 0)
    plan = {s: growing_peaks(rng, n_reps, levels[s][0], levels[s][1] + 0.2) for s in levels}
    for k in range(n_reps):
        if stop_after_reps is not None and k == stop_after_reps:
            break
        for side in ("right", "left"):
            tl.hold("set", 0.5)
            start, peak_s, end, peak = tl.excursion("set", side, plan[side][k])
            store.add_rep(sid, side, k + 1, peak, start, peak_s, end)
            reps[side].append(peak)
    if stop_after_reps is None:
        trials("after", 1)
        tl.hold("after", 1.0)
    t = np.array(tl.t)
    angle = np.array(tl.angle)
    valid = rng.random(t.size) > 0.03                 # scattered rejected frames
    turned = (t > t[-1] * 0.55) & (t < t[-1] * 0.55 + 2.5)
    valid &= ~turned                                  # the head turned away for 2.5 s
    angle[~valid & (rng.random(t.size) > 0.5)] = np.nan
    if frames:
        store.add_frames(sid, zip(t, tl.phase, angle, valid))
    if finish:
        outcomes = [side_outcome(s, stored["before"][s], stored["after"][s], reps[s])
                    for s in ("left", "right")]
        store.finish_session(sid, "complete", results=outcomes, stats={
            "fps": 29.8, "frames_captured": int(t.size) + 12, "frames_processed": int(t.size),
            "frames_dropped": 12, "latency_ms_median": 41.0, "latency_ms_p95": 77.5,
            "valid_share": float(valid.mean()),
            "invalid_frames": {"face turned away from the camera past the face-mesh limit": int(turned.sum()),
                               "face not found": int((~valid & ~turned).sum())},
            "warnings": ["the head was turned more than 25 deg for 2.5 s during the set"]})
    return sid


def record_ankle_session(store, rng, subject, started, heel_up=(), vertical=None) -> int:
    """A one-side limb session with its own per-frame series (side = 'left'); ``heel_up``: the
    before trials and set reps (("before", 2), ("rep", 5)) stored with the heel lifted;
    ``vertical``: (source, camera roll) of the true vertical."""
    sid = store.start_session(SessionMeta(subject, "ankle_dorsiflexion", "left", started_at=started.isoformat(),
                              source="webcam", camera="laptop camera", pose_model="full",
                              target_reps=12, trials_per_phase=3, synthetic=True))
    tl = Timeline(rng)
    tl.hold("neutral", 2.0)
    before, after, reps = [], [], []
    for k in range(1, 4):
        tl.hold("before", 0.6)
        s, p, e, peak = tl.excursion("before", "right", 34 + rng.normal(0, 0.6))  # + = up
        store.add_trial(sid, "before", "left", k, peak, s, p, e,
                        heel_lifted=("before", k) in heel_up if heel_up else None)
        before.append(peak)
    for k, level in enumerate(growing_peaks(rng, 12, 34, 37), 1):
        tl.hold("set", 0.4)
        s, p, e, peak = tl.excursion("set", "right", level)
        store.add_rep(sid, "left", k, peak, s, p, e, heel_lifted=("rep", k) in heel_up if heel_up else None)
        reps.append(peak)
    for k in range(1, 4):
        tl.hold("after", 0.6)
        s, p, e, peak = tl.excursion("after", "right", 37 + rng.normal(0, 0.6))
        store.add_trial(sid, "after", "left", k, peak, s, p, e)
        after.append(peak)
    valid = np.ones(len(tl.t), dtype=bool)
    store.add_frames(sid, zip(tl.t, tl.phase, tl.angle, valid), side="left")
    if vertical is not None:
        store.set_vertical(sid, *vertical)
    store.finish_session(sid, "complete", results=[side_outcome("left", before, after, reps)],
                         stats={"fps": 30.0})
    return sid


@dataclass
class Demo:
    db: Path
    subject: str
    demo: int            # the full side-bend session
    later: list[int]     # two later side-bend sessions (no frames)
    ankle: int
    interrupted: int     # killed mid-set: before trials and some reps only
    empty: int           # started, nothing stored


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Demo:
    path = tmp_path_factory.mktemp("report") / "romcam.sqlite3"
    rng = np.random.default_rng(20260302)
    with Store.open(path) as store:
        demo = record_neck_session(store, rng, "P01", START, {"left": (20.0, 25.0),
                                                              "right": (22.0, 26.0)})
        later = [record_neck_session(store, rng, "P01", START + timedelta(days=d), lv,
                                     n_reps=20, frames=False)
                 for d, lv in ((7, {"left": (22.5, 26.0), "right": (24.0, 27.0)}),
                               (15, {"left": (24.5, 27.5), "right": (25.5, 27.0)}))]
        ankle = record_ankle_session(store, rng, "P01", START + timedelta(days=3, hours=2))
        interrupted = record_neck_session(store, rng, "P01", START + timedelta(days=21),
                                          {"left": (25.0, 28.0), "right": (26.0, 28.0)},
                                          finish=False, stop_after_reps=9)
        empty = store.start_session(SessionMeta("P02", "knee_flexion", "right",
                                    started_at=(START + timedelta(days=1)).isoformat()))
    return Demo(path, "P01", demo, later, ankle, interrupted, empty)


# --------------------------------------------------------------------------- reading the page


class Page(HTMLParser):
    """The cells with data-key (with their row's attributes), image sources and every
    src/href/url reference of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.cells: list[dict] = []
        self.images: list[str] = []
        self.references: list[str] = []
        self._row: dict = {}
        self._cell: dict | None = None
        self.text = text
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "action", "poster", "srcset"):
            if name in attrs:
                self.references.append(attrs[name])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "tr":
            self._row = attrs
        if "data-key" in attrs:
            self._cell = {**self._row, **attrs, "text": ""}

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None

    def find(self, key: str, **row) -> list[dict]:
        """The cells ``key`` in rows with these attributes (side=..., session=...)."""
        return [c for c in self.cells if c["data-key"] == key and
                all(c.get(f"data-{k}") == str(v) for k, v in row.items())]

    def cell(self, key: str, **row) -> dict:
        """The one cell ``key`` in the row with these attributes."""
        found = self.find(key, **row)
        assert len(found) == 1, (key, row, found)
        return found[0]


def check_outcome_cells(page: Page, outcome, **row) -> None:
    """Every per-side number shown equals the stored one (exact value and its rounding)."""
    for key in DEG_KEYS:
        cell, stored = page.cell(key, side=outcome.side, **row), getattr(outcome, key)
        if stored is None:
            assert cell["data-value"] == "" and cell["text"] == "-"
        else:
            assert float(cell["data-value"]) == stored, (key, outcome.side)
            shown = f"{stored:+.1f}" if key == "delta_deg" else f"{stored:.1f}"
            assert cell["text"] == shown, (key, cell, stored)
    for key in INT_KEYS:                 # the subject table shows only some of them
        if page.find(key, side=outcome.side, **row):
            cell, stored = page.cell(key, side=outcome.side, **row), getattr(outcome, key)
            assert cell["data-value"] == ("" if stored is None else str(stored)), (key, cell)
    assert page.cell("verdict", side=outcome.side, **row)["text"] == outcome.verdict


IMAGE_URI = re.compile(r"data:image/(svg\+xml|png);base64,([A-Za-z0-9+/=]+)")


def embedded_images(page: Page) -> list[tuple[str, bytes]]:
    """The page's images as (kind, bytes): every one must be an embedded SVG or PNG."""
    out = []
    for src in page.images:
        match = IMAGE_URI.fullmatch(src)
        assert match, src[:60]
        out.append((match.group(1), base64.b64decode(match.group(2))))
    return out


def check_self_contained(page: Page) -> None:
    """No reference leaves the file: every image is an embedded SVG (or PNG) whose own links
    stay inside it, nothing to fetch."""
    assert all(IMAGE_URI.fullmatch(ref) for ref in page.references), [r[:60] for r in page.references]
    for kind, data in embedded_images(page):
        if kind == "png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
            continue
        svg = data.decode("utf-8")
        assert "<svg" in svg and "</svg>" in svg
        links = re.findall(r'(?:xlink:)?href="([^"]*)"', svg)
        assert all(link.startswith("#") for link in links), [x for x in links if not x.startswith("#")]
        assert not re.search(r"<script|<foreignObject|url\((?!#)|@import", svg, re.IGNORECASE)
    outside_images = IMAGE_URI.sub("", page.text)
    assert not re.search(r"https?:|ftp:|file:|//www|url\(|@import|<script|<link|<iframe|<object",
                         outside_images, re.IGNORECASE)


def save_images(page: Page, stem: str, folder: Path) -> None:
    """The embedded plots as separate files, for a human to look at."""
    for k, (kind, data) in enumerate(embedded_images(page), 1):
        (folder / f"{stem}-plot{k}.{'png' if kind == 'png' else 'svg'}").write_bytes(data)


def pdf_pages(path: Path) -> int:
    """The number of pages of a PDF; every one of them is A4 (595 x 842 pt, within 1 pt)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    for k, page in enumerate(reader.pages, 1):
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert abs(size[0] - 595.28) <= 1 and abs(size[1] - 841.89) <= 1, (path.name, k, size)
    return len(reader.pages)


# --------------------------------------------------------------------------- chromium


def screenshot(html_path: Path, png: Path, tmp_path: Path, height: int = 4000):
    """Start headless Chromium rendering ``html_path`` to ``png`` (returns the process)."""
    exe = require_tool("chromium", "chromium-browser", "google-chrome", "chrome", package="chromium")
    profile = tmp_path / f"chromium-{png.stem}"
    return subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={png}",
         f"--window-size=1200,{height}", html_path.resolve().as_uri()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_screenshot(proc, png: Path) -> None:
    from matplotlib.image import imread

    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and png.is_file(), err[-2000:]
    pixels = imread(png)[..., :3]
    ink = (pixels.mean(axis=2) < 0.85).mean()
    assert 0.01 < ink < 0.6, f"{png} looks blank or black ({ink:.3f} of pixels dark)"
    assert pixels.std() > 0.05


@pytest.fixture(scope="module")
def shots(output_dir) -> Path:
    folder = output_dir / "report"
    folder.mkdir(exist_ok=True)
    return folder


# --------------------------------------------------------------------------- tests


def test_session_report_numbers_equal_the_store(demo_db, tmp_path, shots):
    require_pango()                                     # make_report(..., pdf=True)
    out = tmp_path / "demo.html"
    paths = make_report(Store.open(demo_db.db, readonly=True), session_id=demo_db.demo,
                        out=out, pdf=True)
    assert paths == [out, out.with_suffix(".pdf")]
    proc = screenshot(out, shots / "session-demo.png", tmp_path)
    with Store.open(demo_db.db, readonly=True) as store:
        detail = store.session(demo_db.demo)
        frames = store.frames(demo_db.demo)
    page = Page(out.read_text(encoding="utf-8"))
    check_self_contained(page)
    save_images(page, "session-demo", shots)
    assert len(page.images) == 3                       # before/after, rep peaks, trace

    assert [o.side for o in detail.outcomes] == ["left", "right"]
    for o in detail.outcomes:
        check_outcome_cells(page, o, session=demo_db.demo)
        assert o.reps_done == 40 and 25 <= o.first_rep_at_after_level <= 40
        reps = [r for r in detail.reps if r.side == o.side]
        slope = np.polyfit([r.rep_no for r in reps], [r.peak_deg for r in reps], 1)[0]
        cell = page.cell("trend_deg_per_rep", side=o.side)
        assert float(cell["data-value"]) == pytest.approx(slope, abs=1e-12)
        assert cell["text"] == f"{slope:+.2f}" and 0.05 < slope < 0.3
        assert page.cell("set_reps", side=o.side)["text"] == "40"
        assert page.cell("set_first_rep_at_after_level", side=o.side)["text"] == str(
            o.first_rep_at_after_level)
    stats = detail.stats
    share = page.cell("valid_share")
    assert float(share["data-value"]) == stats["valid_share"]
    assert share["text"] == f"{100 * stats['valid_share']:.1f} %"
    turned = stats["invalid_frames"]["face turned away from the camera past the face-mesh limit"]
    assert float(page.cell("turned_share")["data-value"]) == pytest.approx(turned / stats["frames_processed"])
    assert page.cell("invalid_frames")["text"].startswith(f"face turned away from the camera past the "
                                                          f"face-mesh limit: {turned}")
    assert page.cell("reps_total")["text"] == "80" and page.cell("target_reps")["text"] == "40"
    assert page.cell("frames_stored")["text"] == str(len(frames))
    assert page.cell("pose_model")["text"] == "full"
    assert page.cell("camera")["text"] == "USB webcam 1280x720"
    assert page.cell("fps")["text"] == "29.8 frames/s"
    assert "Synthetic (demo) data" in page.text
    assert stats["warnings"][0] in page.text
    assert "rejected because the head was turned" not in page.text     # 3 % is no warning
    assert pdf_pages(paths[1]) >= 2                     # tables and 3 figures do not fit one page
    check_screenshot(proc, shots / "session-demo.png")


def test_subject_report_shows_every_session_and_side(demo_db, tmp_path, shots):
    require_pango()                                     # make_report(..., pdf=True)
    out = tmp_path / "subject.html"
    with Store.open(demo_db.db, readonly=True) as store:
        paths = make_report(store, subject="P01", out=out, pdf=True)
        rows = store.sessions(subject="P01")
    proc = screenshot(out, shots / "subject-P01.png", tmp_path, height=3000)
    page = Page(out.read_text(encoding="utf-8"))
    check_self_contained(page)
    save_images(page, "subject-P01", shots)
    assert len(page.images) == 2                       # one progress plot per joint
    assert {r.id for r in rows} == {demo_db.demo, *demo_db.later, demo_db.ankle,
                                    demo_db.interrupted}
    for row in rows:
        for o in row.outcomes:
            check_outcome_cells(page, o, session=row.id)
            assert page.cell("reps_done", side=o.side, session=row.id)["text"] == f"{o.reps_done} reps"
            assert page.cell("status", side=o.side, session=row.id)["text"] == row.status_label
    assert "incomplete (interrupted)" in page.text
    assert pdf_pages(paths[1]) >= 2
    check_screenshot(proc, shots / "subject-P01.png")


def test_incomplete_and_empty_sessions_say_what_is_missing(demo_db, tmp_path):
    require_pango()                                     # make_report(..., pdf=True)
    with Store.open(demo_db.db, readonly=True) as store:
        (html_path,) = make_report(store, session_id=demo_db.interrupted, out=tmp_path / "i.html")
        detail = store.session(demo_db.interrupted)
        page = Page(html_path.read_text(encoding="utf-8"))
        assert not detail.row.results_stored
        for o in detail.outcomes:            # computed from the stored trials by the store
            check_outcome_cells(page, o, session=demo_db.interrupted)
            assert o.after_deg is None and o.reps_done == 9
        assert "did not finish" in page.text and "no after trials stored" in page.text
        assert len(page.images) == 3

        html_path, pdf = make_report(store, session_id=demo_db.empty, out=tmp_path / "e.html",
                                     pdf=True)
        page = Page(html_path.read_text(encoding="utf-8"))
        assert "No trials or reps are stored yet" in page.text
        assert "No per-frame angles stored" in page.text and page.images == []
        assert pdf_pages(pdf) >= 1


def test_limb_session_and_unknown_ids(demo_db, tmp_path):
    with Store.open(demo_db.db, readonly=True) as store:
        (html_path,) = make_report(store, session_id=demo_db.ankle, out=tmp_path / "a.html")
        page = Page(html_path.read_text(encoding="utf-8"))
        (o,) = store.session(demo_db.ankle).outcomes
        check_outcome_cells(page, o, session=demo_db.ankle)
        assert page.cell("valid_share")["text"] == "100.0 % (from stored frames)"
        with pytest.raises(RomcamError, match="no session 999"):
            make_report(store, session_id=999, out=tmp_path / "x.html")
        with pytest.raises(RomcamError, match="unknown subject 'p01'.*did you mean P01"):
            make_report(store, subject="p01", out=tmp_path / "x.html")
        with pytest.raises(RomcamError, match="either"):
            make_report(store, out=tmp_path / "x.html")
        with pytest.raises(RomcamError, match="is a folder"):
            make_report(store, session_id=demo_db.ankle, out=tmp_path)
    assert not (tmp_path / "x.html").exists()


def test_cli_default_paths_and_errors(demo_db, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    assert main(["report", "--session", str(demo_db.ankle), "--db", str(demo_db.db)]) == 0
    expected = default_out_path(session_id=demo_db.ankle, db=demo_db.db)
    assert re.fullmatch(rf"romcam-reports/session-{demo_db.ankle}-[0-9a-f]{{8}}\.html", str(expected))
    assert (tmp_path / expected).is_file() and str(expected) in capsys.readouterr().out
    monkeypatch.setenv("ROMCAM_DB", str(demo_db.db))
    assert main(["report", "--subject", "P02", "--pdf"]) == 0
    out = capsys.readouterr().out
    html = default_out_path(subject="P02", db=demo_db.db)
    assert str(html) in out and str(html.with_suffix(".pdf")) in out
    assert default_out_path(subject="Zoë/01 a").name.startswith("subject-Zoë_01_a-")
    assert main(["report", "--session", "999"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("romcam: error: there is no session 999") and err.count("\n") == 1
    assert main(["report"]) == 2
    assert "either --session" in capsys.readouterr().err
    assert main(["report", "--session", "1", "--subject", "P01"]) == 2


# --------------------------------------------------------------------------- a real clip


def record_clip_session(store, analysis, clip: str) -> int:
    """Store a real clip's analysis as a session: the first four reps are the before trials,
    the last three the after trials, the ones between the set (all from the real pipeline)."""
    reps = sorted((r for s in analysis.sides.values() for r in s.reps), key=lambda r: r.peak_s)
    assert len(reps) >= 8, [r.side for r in reps]
    before, middle, after = reps[:4], reps[4:-3], reps[-3:]
    sid = store.start_session(SessionMeta("CLIP1", analysis.joint.name, "both", source=f"video {clip}",
                              camera="video file 1920x1080", pose_model="full",
                              target_reps=len(middle), trials_per_phase=2, neutral_deg=0.0))
    for phase, group in (("before", before), ("after", after)):
        for side in ("left", "right"):
            for k, r in enumerate((r for r in group if r.side == side), 1):
                store.add_trial(sid, phase, side, k, r.peak_deg, r.start_s, r.peak_s, r.end_s)
    counts = {"left": 0, "right": 0}
    for r in middle:
        counts[r.side] += 1
        store.add_rep(sid, r.side, counts[r.side], r.peak_deg, r.start_s, r.peak_s, r.end_s)
    t = analysis.t
    phase = np.where(t < before[0].start_s, "neutral",
                     np.where(t <= before[-1].end_s, "before",
                              np.where(t < after[0].start_s, "set", "after")))
    channel = analysis.channels["signed"]
    store.add_frames(sid, zip(t, phase, channel.filtered, channel.valid))
    detail = store.session(sid)
    store.finish_session(sid, "complete", results=detail.outcomes, stats={
        "fps": analysis.fps, "frames_processed": int(len(t)),
        "valid_share": analysis.valid_frames / len(t), "warnings": list(analysis.warnings)})
    return sid


def test_real_clip_session_report(landmarks_of, tmp_path, shots):
    require_pango()                                     # make_report(..., pdf=True)
    from romcam.measure.analysis import analyze_landmarks
    from romcam.measure.joints import get_joint

    clip = media("neck_rotation_front.mp4")
    analysis = analyze_landmarks(get_joint("neck_rotation"), landmarks_of(clip, face=True), "both")
    db = tmp_path / "clip.sqlite3"
    with Store.open(db) as store:
        sid = record_clip_session(store, analysis, clip.name)
        paths = make_report(store, session_id=sid, out=tmp_path / "clip.html", pdf=True)
        detail = store.session(sid)
    proc = screenshot(paths[0], shots / "session-real-clip.png", tmp_path)
    page = Page(paths[0].read_text(encoding="utf-8"))
    check_self_contained(page)
    save_images(page, "session-real-clip", shots)
    assert len(page.images) == 3
    assert detail.row.results_stored and not detail.row.synthetic
    for o in detail.outcomes:
        check_outcome_cells(page, o, session=sid)
        assert o.before_deg > 40 and o.trials_before == 2           # real turns of 50-65 deg
    assert float(page.cell("valid_share")["data-value"]) == detail.stats["valid_share"]
    assert page.cell("frames_stored")["text"] == str(len(analysis.t))
    assert "Synthetic (demo) data" not in page.text and page.cell("synthetic")["text"] == "no"
    assert pdf_pages(paths[1]) >= 2
    check_screenshot(proc, shots / "session-real-clip.png")


def test_the_report_does_not_repeat_what_the_session_warned():
    """The session's own warnings about unusable frames are shown once; the report adds its
    checks only for what the session did not say (an older session stored no warnings)."""
    from types import SimpleNamespace

    from romcam.measure.series import TURNED, with_advice
    from romcam.report.session_page import session_warnings

    counts = {"invalid_frames": {TURNED: 403}, "frames_processed": 1091, "valid_share": 0.4}
    said = [f"37% of frames not usable: {with_advice(TURNED)}", "only 40% of frames were usable"]
    assert session_warnings(SimpleNamespace(stats={**counts, "warnings": said}), None) == said
    own = session_warnings(SimpleNamespace(stats=counts), None)
    assert len(own) == 2 and "40 % of frames were valid" in own[0] and "37 % of frames were left out" in own[1]
