"""A recorded visit in the app, in a real browser (Debian's Chromium via Selenium) with real
MediaPipe: the video uploaded from the page, analysed with its progress shown, the neutral dragged on
the timeline, the phases typed beside it, the trials and reps found, stored, and compared with
`romcam visit` on the same file with the same phases.

The clip is one loop of her three real left side-bends (side_bend_rotation_front.mp4, half size)
after a 3-s still hold (videotools.build_real_side_bend_visit): one bend in each of before, the set
and after. The app and the CLI read the same bytes through the same library
(romcam.session.visit_runner), so they must find the same trials and reps with peaks within 0.1 deg.

Screens are saved to $ROMCAM_APP_SCREENSHOTS when it is set (docs/img/app holds the ones the docs show).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from browser import AppProcess, chromium
from conftest import media
from romcam.storage.store import Store
from videotools import build_real_side_bend_visit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]   # one browser test at a time (--dist loadgroup)

CODE = "QV3Z"                       # a subject code that must show in no URL and no log line
MARKS = {"before": (0.0, 10.6), "set": (10.6, 17.9), "after": (17.9, 23.1), "neutral": (0.5, 2.5)}
PHASES = "before=0:00-0:10.6,set=0:10.6-0:17.9,after=0:17.9-0:23.1"
NEUTRAL = "0:00.5-0:02.5"
PEAK_TOL = 0.1
SHOTS = os.environ.get("ROMCAM_APP_SCREENSHOTS")


def shot(driver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def _by(driver, element_id):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def _until(driver, check, timeout: float, what: str):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.25,
                         ignored_exceptions=(StaleElementReferenceException,)).until(check, message=what)


def visit_state(driver) -> dict:
    return driver.execute_script(
        "const s = window.romcamVisit; return s ? {ready: !!s.data, found: s.found, error: s.error, "
        "marks: s.marks, previews: s.previews} : {};")


def drag(driver, canvas, t0: float, t1: float) -> None:
    """Press on the chart at time ``t0``, move to ``t1`` in steps, release."""
    from selenium.webdriver.common.action_chains import ActionChains

    width = canvas.size["width"]
    x0, x1 = (driver.execute_script("return window.romcamVisit.xOf(arguments[0])", t) - width / 2 for t in (t0, t1))
    chain = ActionChains(driver).move_to_element_with_offset(canvas, int(round(x0)), 0).click_and_hold()
    for k in range(1, 6):
        chain = chain.move_to_element_with_offset(canvas, int(round(x0 + (x1 - x0) * k / 5)), 0)
    chain.release().perform()


def type_mark(driver, mark: str, start: float, end: float) -> None:
    from selenium.webdriver.common.keys import Keys

    for which, value in (("start", start), ("end", end)):
        field = _by(driver, f"{mark}-{which}")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(f"{value:.1f}", Keys.TAB)


@pytest.fixture(scope="module")
def visit_clip(tmp_path_factory):
    return build_real_side_bend_visit(tmp_path_factory.mktemp("visit") / "bends.mp4",
                                      media("side_bend_rotation_front.mp4"), loops=1)


def test_a_visit_marked_in_the_browser_equals_romcam_visit(visit_clip, tmp_path, monkeypatch):
    from selenium.webdriver.support.ui import Select

    uploads = tmp_path / "tmp"          # where the app puts uploads while it analyses them
    uploads.mkdir()
    app_db, cli_db = tmp_path / "app.sqlite3", tmp_path / "cli.sqlite3"
    monkeypatch.setenv("TMPDIR", str(uploads))
    app, urls = AppProcess(app_db), []
    monkeypatch.undo()                  # Chromium keeps its own temporary folder
    driver = None
    try:
        driver = chromium(None, height=1150)
        driver.get(app.url)
        _until(driver, lambda d: d.find_elements("id", "recorded-visit"), 30, "no recorded-visit link on home")
        _by(driver, "recorded-visit").click()
        _until(driver, lambda d: d.find_elements("id", "upload-form"), 30, "the upload page never opened")
        urls.append(driver.current_url)
        _by(driver, "video").send_keys(str(visit_clip))
        Select(_by(driver, "joint")).select_by_value("neck_lateral_flexion")
        Select(_by(driver, "side")).select_by_value("left")
        _by(driver, "upload").click()
        _until(driver, lambda d: "/visit/" in d.current_url and d.find_elements("id", "analysis-bar"), 120,
               "the upload never reached the visit's page")
        urls.append(driver.current_url)
        _until(driver, lambda d: " of 577 frames" in _by(d, "analysis-bar").text or visit_state(d).get("ready"), 60,
               "the analysis's progress never showed")
        _until(driver, lambda d: re.search(r"\(([2-9]\d|100) %\)", _by(d, "analysis-bar").text)
               or visit_state(d).get("ready"), 300, "the analysis's progress never reached 20 %")
        shot(driver, "visit-analysing")
        _until(driver, lambda d: visit_state(d).get("ready"), 600, "the analysis never finished")
        assert not _by(driver, "analysis-error").is_displayed()
        assert list(uploads.iterdir()) == [], "the uploaded video was not deleted after the analysis"

        # the neutral dragged on the timeline, then one of its edges moved by dragging
        canvas = _by(driver, "chart")
        _by(driver, "timeline").find_element("css selector", "input[value=neutral]").click()
        drag(driver, canvas, 0.6, 2.0)
        dragged = visit_state(driver)["marks"]["neutral"]
        print(f"neutral dragged from 0.6 to 2.0 s: {dragged}")
        assert dragged and abs(dragged[0] - 0.6) <= 0.15 and abs(dragged[1] - 2.0) <= 0.15
        assert float(_by(driver, "neutral-end").get_attribute("value")) == pytest.approx(dragged[1])
        drag(driver, canvas, dragged[1], 2.5)
        moved = visit_state(driver)["marks"]["neutral"]
        print(f"its end dragged to 2.5 s: {moved}")
        assert moved[0] == dragged[0] and abs(moved[1] - 2.5) <= 0.15

        # the phases and the neutral to the tenth of a second, typed beside the chart
        for mark, (start, end) in MARKS.items():
            type_mark(driver, mark, start, end)
        trials = _by(driver, "trials")
        trials.clear()
        trials.send_keys("1")
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", trials)
        _until(driver, lambda d: (visit_state(d).get("found") or {}).get("phases") == PHASES
               and visit_state(d)["found"]["neutral"] == NEUTRAL and "--trials 1" in visit_state(d)["found"]["command"],
               120, "the trials and reps for the marks were never shown")
        found = visit_state(driver)["found"]
        print(json.dumps({k: found[k] for k in ("trials", "reps", "outcomes", "command")}, indent=1))
        assert _by(driver, "found").is_displayed() and "46." in _by(driver, "trials-found").text
        driver.execute_script("document.querySelector('.tools').scrollIntoView()")
        shot(driver, "visit-timeline")

        _by(driver, "subject").send_keys(CODE)
        _by(driver, "store").click()
        _until(driver, lambda d: "/session/" in d.current_url, 120, "the visit was never stored")
        urls.append(driver.current_url)
        session_id = int(driver.current_url.rstrip("/").rsplit("/", 1)[1])
        shot(driver, "visit-result")
        subject_link = driver.find_element("css selector", "a[href^='/subject/']")
        subject_link.click()
        _until(driver, lambda d: d.find_elements("id", "sessions"), 60, "the subject page never opened")
        urls.append(driver.current_url)
        assert driver.find_elements("css selector", f"tr[data-session-id='{session_id}']")
    finally:
        if driver is not None:
            driver.quit()
        app.stop()
    assert list(uploads.iterdir()) == []

    r = subprocess.run([sys.executable, "-m", "romcam", "visit", str(visit_clip), "--joint", "neck-side-bend",
                        "--side", "left", "--subject", CODE, "--phases", PHASES, "--neutral", NEUTRAL, "--trials", "1",
                        "--db", str(cli_db), "--no-progress"], capture_output=True, text=True, timeout=900,
                       env=dict(os.environ))
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    with Store.open(app_db, readonly=True) as s:
        mine = s.session(session_id)
    with Store.open(cli_db, readonly=True) as s:
        ref = s.session(1)
    assert mine.row.status == ref.row.status == "complete" and mine.row.recorded
    assert mine.phases == ref.phases and mine.neutral_source == ref.neutral_source

    def trials(detail):
        return [(t.phase, t.side, t.trial_no, t.peak_deg) for t in detail.trials if not t.discarded]

    def reps(detail):
        return [(x.side, x.rep_no, x.peak_deg) for x in detail.reps]
    shown = ([(t["phase"], t["side"], t["trial_no"], t["peak_deg"]) for t in found["trials"]],
             [(x["side"], x["rep_no"], x["peak_deg"]) for x in found["reps"]])
    for what, app_rows, shown_rows, cli_rows in (("trial", trials(mine), shown[0], trials(ref)),
                                                 ("rep", reps(mine), shown[1], reps(ref))):
        print(f"{what}s: app {app_rows}\n       shown {shown_rows}\n       romcam visit {cli_rows}")
        assert [r[:-1] for r in app_rows] == [r[:-1] for r in cli_rows] == [r[:-1] for r in shown_rows]
        for a, s_, c in zip(app_rows, shown_rows, cli_rows):
            assert abs(a[-1] - c[-1]) <= PEAK_TOL and abs(s_[-1] - a[-1]) <= 0.01
    assert len(trials(ref)) == 2 and len(reps(ref)) == 1          # one bend in each phase
    for o_app, o_cli in zip(mine.outcomes, ref.outcomes):
        assert abs(o_app.delta_deg - o_cli.delta_deg) <= PEAK_TOL

    history = subprocess.run([sys.executable, "-m", "romcam", "history", "--db", str(app_db)], capture_output=True,
                             text=True, timeout=120)
    assert history.returncode == 0 and CODE in history.stdout
    assert not any(CODE in u for u in urls), urls
    assert not any(CODE in line or visit_clip.stem in line for line in app.lines), app.lines   # nor the file's name
