"""romcam app in a real browser: Debian's Chromium (Selenium + chromium-driver) with a real clip as
its webcam, from the home page to the result, against `romcam session --source` on the same frames.

How the two runs are compared. Chromium's fake camera plays the .y4m in real time (and loops it);
the page sends every frame it shows, as a 640-px JPEG, and the server analyses the newest one,
dropping (and counting) any that arrived while it was busy. `romcam session --source clip.y4m`
reads every frame of the same file, at the file's own timestamps. So the app sees the same
pictures, JPEG-compressed, on the browser's clock, possibly with a few frames dropped: the counts
(trials, reps) must be equal, and each stored peak within 1 deg of the CLI's (a peak is re-read
from the zero-phase-filtered samples around it, so a dropped frame or a JPEG's noise moves it by a
few tenths). The session is kept short (1 trial, a set of 1 rep: one loop of her three bends) so
that it ends before the fake camera loops. Chromium's fake camera may go on playing across the
check page and the live page, or start the file again for the live page: the clip's still hold
is made 15 s long, so the live session starts inside it either way (the CLI's neutral is read from
the same still frames).

Screens are saved to $ROMCAM_APP_SCREENSHOTS when it is set (docs/img/app holds the ones the
docs show).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from browser import AppProcess, chromium, video_to_y4m, write_y4m
from conftest import media
from history import record_history
from romcam.app.sessions import LOST, STOPPED
from romcam.storage.store import Store
from videotools import build_real_side_bend_visit, read_frames, roll_camera_filled

pytestmark = pytest.mark.xdist_group("browser")    # one browser test at a time (pyproject: --dist loadgroup)

FPS = 25.0

CODE = "QX7K"            # a subject code that must show in no URL and no log line
PEAK_TOL = 1.0
LEAD_S = 12.0            # added to the clip's 3-s still hold
MAX_GAP_S = 0.15         # 25 fps: two frames dropped in a row leave 0.12 s (measured within 0.4 deg); 0.24 s read 3.6 low
SHOTS = os.environ.get("ROMCAM_APP_SCREENSHOTS")


def shot(driver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


@pytest.fixture(scope="module")
def bends(tmp_path_factory, model_dir):
    """One loop of her three real left side-bends after a 15-s still hold, 640x360 at 25 fps, as .y4m."""
    folder = tmp_path_factory.mktemp("app")
    clip = build_real_side_bend_visit(folder / "bends.mp4", media("side_bend_rotation_front.mp4"), loops=1)
    y4m = video_to_y4m(clip, folder / "bends.y4m", lead_s=LEAD_S)
    yield y4m
    y4m.unlink()                          # 300 MB of raw frames: not left in pytest's kept folders


def _by(driver, element_id):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def _until(driver, check, timeout: float, what: str):
    """Wait for ``check(driver)`` (a page being replaced meanwhile is waited through)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.25,
                         ignored_exceptions=(StaleElementReferenceException,)).until(check, message=what)


def navigate(driver, element, timeout: float = 90.0) -> None:
    """Click ``element`` (a link or a submit button) and wait until the next page has loaded.

    A click returns before a form's POST has been answered; reading the page then reads the old one,
    or a blank one, so the old page's root must go stale and the new one finish loading first.
    """
    from selenium.webdriver.support import expected_conditions as ec

    old = driver.find_element("tag name", "html")
    element.click()
    _until(driver, ec.staleness_of(old), timeout, "the page never changed after a click")
    _until(driver, lambda d: d.execute_script("return document.readyState") == "complete", timeout,
           "the next page never finished loading")


def new_session(driver, app, urls, *, side="left", trials=1, target_reps=1, set_kind="reps", target_turns=3,
                screens=False):
    """Home -> new session form -> camera check, ready -> live page."""
    from selenium.webdriver.support.ui import Select

    driver.get(app.url)
    urls.append(driver.current_url)
    navigate(driver, _by(driver, "new-session"))
    urls.append(driver.current_url)
    _by(driver, "subject").send_keys(CODE)
    Select(_by(driver, "side")).select_by_value(side)
    if set_kind == "circles":
        _by(driver, "set-circles").click()
    for key, value in (("trials", trials), ("target_reps", target_reps), ("target_turns", target_turns)):
        field = _by(driver, key)
        field.clear()
        field.send_keys(str(value))
    if screens:
        shot(driver, "new-session")
    navigate(driver, _by(driver, "to-check"))
    urls.append(driver.current_url)
    _until(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "1", 90,
           "the camera check never said ready")
    navigate(driver, _by(driver, "start"))
    urls.append(driver.current_url)


def live_state(driver) -> dict | None:
    """The state the live page drew last (None while a page is loading or being replaced)."""
    from selenium.common.exceptions import WebDriverException

    try:
        return driver.execute_script("return window.romcamLast ? window.romcamLast() : null")
    except WebDriverException:           # the live page is being replaced by the result page
        return None


def wait_result(driver, urls, timeout=150.0) -> int:
    _until(driver, lambda d: "/session/" in d.current_url, timeout, "the session never reached its result page")
    urls.append(driver.current_url)
    return int(driver.current_url.rstrip("/").rsplit("/", 1)[1])


def cli_session(clip: Path, db: Path, *args) -> str:
    r = subprocess.run([sys.executable, "-m", "romcam", "session", "--joint", "neck-side-bend", "--subject", CODE,
                        "--source", str(clip), "--no-window", "--db", str(db), *args], capture_output=True, text=True,
                       timeout=600, env=dict(os.environ))
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    return r.stdout


def peaks(detail) -> dict[str, list[float]]:
    kept = [t for t in detail.trials if not t.discarded]
    return {"before": [t.peak_deg for t in kept if t.phase == "before"],
            "set": [r.peak_deg for r in detail.reps],
            "after": [t.peak_deg for t in kept if t.phase == "after"]}


def largest_gap(frame_times, t0: float | None, t1: float | None) -> float:
    """The longest time between two analysed frames from ``t0`` to ``t1`` (inf when unknown)."""
    if t0 is None or t1 is None:
        return float("inf")
    t = np.sort(np.unique(frame_times[(frame_times >= t0 - 0.1) & (frame_times <= t1 + 0.1)]))
    return float(np.diff(t).max()) if t.size > 1 else float("inf")


def compare_peaks(pairs, frame_times, what: str, slowdown: float = 1.0) -> None:
    """``pairs``: (label, app value, CLI value, window start, window end). Each one the app saw
    without a gap is within PEAK_TOL; at least half are compared. ``slowdown``: how many times
    slower than filmed the camera plays the clip (the gap limit is in the filmed movement's time:
    at half speed the head moves half as far in the same gap)."""
    compared = 0
    for label, mine, ref, t0, t1 in pairs:
        gap = largest_gap(frame_times, t0, t1)
        if gap > MAX_GAP_S * slowdown:
            print(f"{what} {label}: app {mine:.2f}, romcam session {ref:.2f}: not compared, the app dropped "
                  f"frames there (gap {gap:.2f} s)")
            continue
        compared += 1
        print(f"{what} {label}: app {mine:.2f}, romcam session {ref:.2f}, difference {abs(mine - ref):.2f} deg")
        assert abs(mine - ref) <= PEAK_TOL, f"{what} {label}"
    assert compared >= len(pairs) / 2, f"{what}: only {compared} of {len(pairs)} peaks seen without dropped frames"


def fetch(app, path: str) -> tuple[str, bytes]:
    request = urllib.request.Request(app.base + path, headers={"Cookie": f"romcam_access={app.token}"})
    with urllib.request.urlopen(request, timeout=120) as r:
        return r.headers["content-type"], r.read()


def test_a_side_bend_session_through_the_browser_matches_romcam_session(bends, tmp_path):
    cli_db, app_db = tmp_path / "cli.sqlite3", tmp_path / "app.sqlite3"
    cli_session(bends, cli_db, "--side", "left", "--trials", "1", "--target-reps", "1")
    app, urls = AppProcess(app_db), []
    driver = chromium(bends)
    try:
        new_session(driver, app, urls, screens=True)
        shot_taken, after_state = False, None
        deadline = time.monotonic() + 150
        while "/session/" not in driver.current_url and time.monotonic() < deadline:
            state = live_state(driver)
            if state and state["phase"] == "after":
                after_state = state
            if not shot_taken and state and state["phase"] == "after" and state["angle"] and state["angle"] > 20:
                shot(driver, "live")
                shot_taken = True
            time.sleep(0.3)
        sid = wait_result(driver, urls)
        shot(driver, "result")
        assert "complete" in _by(driver, "status").text
        stats = driver.execute_script("return JSON.parse(sessionStorage.getItem('romcam-last-live'))")
        report_type, report = fetch(app, f"/session/{sid}/report.html")
        pdf_type, pdf = fetch(app, f"/session/{sid}/report.pdf")
        csv_type, csv = fetch(app, f"/session/{sid}/export.csv")
        fhir_type, fhir = fetch(app, f"/session/{sid}/fhir.json")
        driver.get(app.base + "/")
        urls.append(driver.current_url)
        for _ in range(2):                      # the demo data, viewable beside the real session
            navigate(driver, _by(driver, "add-demo"))
            urls.append(driver.current_url)
        shot(driver, "home")
        home_rows = [r.text for r in driver.find_elements("css selector", "#subjects tbody tr")]
        navigate(driver, driver.find_element("link text", CODE))
        urls.append(driver.current_url)
        subject_rows = [r.text for r in driver.find_elements("css selector", "#sessions tbody tr")]
    finally:
        driver.quit()
        app.stop()
    print("\n".join(app.lines))
    assert len(home_rows) == 2 and home_rows[0].startswith("DEMO 2") and home_rows[1].startswith(f"{CODE} 1")
    assert len(subject_rows) == 1 and "complete" in subject_rows[0]
    assert report_type.startswith("text/html") and b"Neck side-bend" in report
    assert pdf_type == "application/pdf" and pdf.startswith(b"%PDF")
    assert csv_type.startswith("text/csv") and CODE.encode() in csv
    assert fhir_type == "application/fhir+json" and b'"Bundle"' in fhir
    # no subject code in a URL or a line the app printed (its token is in the first one, by design)
    assert not [u for u in urls if CODE in u or "DEMO" in u] and not [line for line in app.lines if CODE in line]
    with Store.open(cli_db, readonly=True) as s:
        cli = s.session(1)
    with Store.open(app_db, readonly=True) as s:
        got = s.session(sid)
    ref, mine = peaks(cli), peaks(got)
    print(f"romcam session: {ref}\nromcam app:     {mine}\napp frames: {got.stats.get('frames_captured')} received, "
          f"{got.stats.get('frames_dropped')} dropped, {got.stats.get('frames_processed')} analysed; browser drew "
          f"{stats['drawn']} states")
    assert got.row.status == cli.row.status == "complete"
    assert got.source == "browser" and "browser camera" in got.camera and got.resolution == "640x360"
    for phase in ("before", "set", "after"):
        assert len(mine[phase]) == len(ref[phase]) == 1, phase
    # the live chart's judgement of each set rep against the edge is the one stored
    assert after_state is not None, "no live state seen in the after phase"
    assert [(e["reached"], e["grade"]) for e in after_state["sides"]["left"]["edges"]] == \
        [(r.edge.reached, r.edge.grade) for r in got.reps]
    with Store.open(app_db, readonly=True) as s:
        frames = s.frames(sid)
    times = frames["t_s"].to_numpy()
    kept = [t for t in got.trials if not t.discarded] + list(got.reps)
    ref_kept = [t for t in cli.trials if not t.discarded] + list(cli.reps)
    compare_peaks([(getattr(a, "phase", "set"), a.peak_deg, b.peak_deg, a.peak_s - 0.3, a.peak_s + 0.3)
                   for a, b in zip(kept, ref_kept)], times, "peak")
    # the same store as the CLI: `romcam history` shows the app's session
    h = subprocess.run([sys.executable, "-m", "romcam", "history", "--db", str(app_db)], capture_output=True,
                       text=True, timeout=120)
    assert h.returncode == 0 and CODE in h.stdout and "complete" in h.stdout


def test_a_tab_closed_mid_set_keeps_the_session_incomplete_with_every_counted_rep(bends, tmp_path):
    app, urls = AppProcess(tmp_path / "app.sqlite3"), []
    driver = chromium(bends)
    try:
        new_session(driver, app, urls, trials=1, target_reps=5)
        state = _until(driver, lambda d: (s := live_state(d)) and s["phase"] == "set" and s["count"] >= 1 and s,
                       120, "no rep was counted in the set")
        driver.get("about:blank")                     # the tab leaves the page: its socket closes
        deadline = time.monotonic() + 60
        while not any("incomplete" in line for line in app.lines) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        driver.quit()
        app.stop()
    print("\n".join(app.lines))
    with Store.open(tmp_path / "app.sqlite3", readonly=True) as s:
        detail = s.session(1)
    print(f"the page showed {state['count']} reps; stored {len(detail.reps)}: {detail.row.status_label}")
    assert detail.row.status == "incomplete" and detail.row.end_reason == LOST
    assert len(detail.reps) >= state["count"] >= 1
    assert [r.rep_no for r in detail.reps] == list(range(1, len(detail.reps) + 1))
    assert len([t for t in detail.trials if t.phase == "before"]) == 1


def test_the_app_stopped_mid_session_keeps_it_incomplete(bends, tmp_path):
    app, urls = AppProcess(tmp_path / "app.sqlite3"), []
    driver = chromium(bends)
    try:
        new_session(driver, app, urls, trials=1, target_reps=5)
        _until(driver, lambda d: (s := live_state(d)) and s["phase"] == "set", 120, "the set never started")
        code = app.stop()
    finally:
        driver.quit()
        app.stop()
    print("\n".join(app.lines))
    with Store.open(tmp_path / "app.sqlite3", readonly=True) as s:
        detail = s.session(1)
    assert code is not None
    assert detail.row.status == "incomplete" and detail.row.end_reason in (STOPPED, LOST)
    assert len([t for t in detail.trials if t.phase == "before"]) == 1


PROBLEMS = "return Array.from(document.querySelectorAll('#problems li')).map((e) => e.textContent)"


def open_camera_check(driver, app, *, joint: str | None = None, side: str | None = None) -> None:
    """Home -> new session (subject CODE, ``joint`` and ``side`` when given) -> the camera check."""
    from selenium.webdriver.support.ui import Select

    driver.get(app.url)
    navigate(driver, _by(driver, "new-session"))
    _by(driver, "subject").send_keys(CODE)
    if joint:
        Select(_by(driver, "joint")).select_by_value(joint)
    if side:
        Select(_by(driver, "side")).select_by_value(side)
    navigate(driver, _by(driver, "to-check"))


def check_problems(driver) -> list[str]:
    """The problems the camera check lists now (an empty list while there are none)."""
    return driver.execute_script(PROBLEMS) or []


def test_the_camera_check_names_the_missing_face_on_squats_front(tmp_path, model_dir):
    clip = video_to_y4m(media("squats_front.mp4"), tmp_path / "squats.y4m", width=360)
    app = AppProcess(tmp_path / "app.sqlite3")
    driver = chromium(clip)
    try:
        open_camera_check(driver, app)
        _until(driver, check_problems, 90, "the camera check named no problem")
        time.sleep(1.0)
        problems = check_problems(driver)
        shot(driver, "camera-check")
        start = _by(driver, "start")
        disabled = start.get_attribute("aria-disabled")
    finally:
        driver.quit()
        app.stop()
    print(problems)
    assert "Face the camera so that your face is visible" in problems
    assert disabled == "true"


def test_the_camera_check_names_a_camera_that_is_not_level(tmp_path, model_dir):
    """squats_front.mp4 turned by +8 deg (a camera rolled clockwise seen from behind it; the clip
    as filmed reads -1 deg): the check names the camera's tilt and which way to level it."""
    frames, fps = read_frames(media("squats_front.mp4"), scale=0.75)
    clip = write_y4m([roll_camera_filled(f, 8.0) for f in frames], fps, tmp_path / "rolled.y4m")
    app = AppProcess(tmp_path / "app.sqlite3")
    driver = chromium(clip)
    try:
        open_camera_check(driver, app, joint="shoulder_abduction", side="right")
        _until(driver, lambda d: any(p.startswith("Level the camera") for p in check_problems(d)), 90,
               "the camera check never named the camera's tilt")
        problems = check_problems(driver)
        level = _by(driver, "level").text
        shot(driver, "camera-check-level")
        disabled = _by(driver, "start").get_attribute("aria-disabled")
    finally:
        driver.quit()
        app.stop()
    print(problems, level)
    (named,) = [p for p in problems if p.startswith("Level the camera")]
    assert named.startswith("Level the camera: seen from the front, its top leans ") and named.endswith("° to the left")
    assert 5 <= int(named.split("leans ")[1].split("°")[0]) <= 9
    assert level.startswith("Camera tilt: ") and "room's straight lines" in level and disabled == "true"


def _ramp(n):
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, endpoint=False))


def circles_clip(path: Path, model_dir) -> Path:
    """A real face (the man of neck_rotation_front.mp4) rendered as a 3-D mesh at known poses
    (tests/tools/head_render.py), 640x360 at 25 fps: a 15-s still hold (see the module docstring),
    one 25-deg side-bend to each side (before), three slow clockwise circles at a 22-deg tilt, 11 s
    still (the set ends by its 10-s pause: a target of 4 turns is not reached), one side-bend to each
    side (after)."""
    import head_render as hr

    renderer = hr.source_renderer("man", model_dir)[1]
    rows = [np.eye(3)] * int(15 * FPS)

    def bend(deg):
        rows.extend(hr.head_rotation(deg * k) for k in _ramp(int(0.7 * FPS)))
        rows.extend([hr.head_rotation(deg)] * int(0.4 * FPS))
        rows.extend(hr.head_rotation(deg * k) for k in _ramp(int(0.7 * FPS))[::-1])
        rows.extend([np.eye(3)] * int(0.8 * FPS))
    bend(25.0)
    bend(-25.0)
    phi, tilt, per_turn = 3.6, 22.0, 50
    rows.extend(hr.circle_rotation(phi, k * tilt) for k in _ramp(int(0.8 * FPS)))
    for _ in range(3 * per_turn + 4):
        rows.append(hr.circle_rotation(phi, tilt))
        phi += 360.0 / per_turn
    rows.extend(hr.circle_rotation(phi, k * tilt) for k in _ramp(int(0.8 * FPS))[::-1])
    rows.extend([np.eye(3)] * int(11 * FPS))
    bend(25.0)
    bend(-25.0)
    rows.extend([np.eye(3)] * int(3 * FPS))
    drawn: dict[bytes, np.ndarray] = {}
    frames = []
    for R in rows:
        key = np.round(R, 6).tobytes()
        if key not in drawn:
            drawn[key] = cv2.resize(renderer.render(R), (640, 360), interpolation=cv2.INTER_AREA)
        frames.append(drawn[key])
    return write_y4m(frames, FPS, path)


def test_a_neck_circles_session_through_the_browser_matches_romcam_session(tmp_path, model_dir):
    clip = circles_clip(tmp_path / "circles.y4m", model_dir)
    try:
        _circles_session(clip, tmp_path)
    finally:
        clip.unlink()                     # 370 MB of raw frames


def _circles_session(clip: Path, tmp_path: Path) -> None:
    cli_db, app_db = tmp_path / "cli.sqlite3", tmp_path / "app.sqlite3"
    cli_session(clip, cli_db, "--side", "both", "--trials", "1", "--set", "circles", "--target-turns", "4")
    app, urls = AppProcess(app_db), []
    driver = chromium(clip)
    try:
        new_session(driver, app, urls, side="both", trials=1, set_kind="circles", target_turns=4)
        shot_taken = False
        deadline = time.monotonic() + 150
        while "/session/" not in driver.current_url and time.monotonic() < deadline:
            state = live_state(driver)
            if not shot_taken and state and state["phase"] == "set" and len(state.get("turns", {}).get("right", [])) >= 2:
                shot(driver, "live-circles")
                shot_taken = True
            time.sleep(0.3)
        sid = wait_result(driver, urls)
        shot(driver, "result-circles")
    finally:
        driver.quit()
        app.stop()
    print("\n".join(app.lines))
    with Store.open(cli_db, readonly=True) as s:
        cli = s.session(1)
    with Store.open(app_db, readonly=True) as s:
        got = s.session(sid)
    assert got.row.status == cli.row.status == "complete" and got.row.set_kind == "circles"
    with Store.open(app_db, readonly=True) as s:
        frames = s.frames(sid)
    times = frames["t_s"].to_numpy()
    pairs = []
    for side in ("right", "left"):
        for phase in ("before", "after"):
            mine = [t for t in got.trials if t.side == side and t.phase == phase and not t.discarded]
            ref = [t for t in cli.trials if t.side == side and t.phase == phase and not t.discarded]
            assert len(mine) == len(ref) == 1, (phase, side)
            pairs.append((f"{phase} {side}", mine[0].peak_deg, ref[0].peak_deg, mine[0].peak_s - 0.3,
                          mine[0].peak_s + 0.3))
    compare_peaks(pairs, times, "trial")
    assert len(got.turns) == len(cli.turns) == 3
    assert [t.direction for t in got.turns] == [t.direction for t in cli.turns]
    pairs = []
    for a, b in zip(got.turns, cli.turns):
        for side in ("right", "left"):
            t = extreme_time(frames, side, a.start_s, a.end_s)
            pairs.append((f"{a.turn_no} {side}", a.extreme(side), b.extreme(side), t - 0.3, t + 0.3))
    compare_peaks(pairs, times, "turn")


def extreme_time(frames, side: str, t0: float, t1: float) -> float:
    """When, from ``t0`` to ``t1``, the stored side-bend (+ = right) was furthest to ``side``: a
    turn's extreme is compared when the app saw the frames around it, wherever else in the turn
    the loaded machine dropped one."""
    inside = frames[(frames["t_s"] >= t0) & (frames["t_s"] <= t1) & frames["angle_deg"].notna()]
    sign = 1.0 if side == "right" else -1.0
    return float(inside["t_s"].to_numpy()[np.argmax(sign * inside["angle_deg"].to_numpy())])


def test_the_camera_check_names_the_far_leg_on_a_side_view(tmp_path, model_dir):
    """The ankle, right leg named, on the first seconds of squat_jumps_side.mp4 (both feet down, the
    left leg nearer the camera): the check says the right leg is away from the camera, in the app's
    words, and the session cannot start."""
    clip = video_to_y4m(media("squat_jumps_side.mp4"), tmp_path / "side.y4m", width=360, stop_s=4.0)
    app = AppProcess(tmp_path / "app.sqlite3")
    driver = chromium(clip)
    try:
        open_camera_check(driver, app, joint="ankle_dorsiflexion", side="right")
        away = "Your right leg is away from the camera: turn around, or measure the left leg"
        _until(driver, lambda d: away in check_problems(d), 90, "the camera check never named the far leg")
        problems = check_problems(driver)
        shot(driver, "camera-check-far-leg")
        disabled = _by(driver, "start").get_attribute("aria-disabled")
    finally:
        driver.quit()
        app.stop()
    print(problems)
    assert away in problems and disabled == "true"
    assert not [p for p in problems if "--" in p]          # no command-line option in the app's words


def test_the_subject_page_shows_the_history_chart_with_the_mdc_band(tmp_path):
    """A subject with three stored sessions (SYNTHETIC numbers): home -> the subject's page, its
    chart (one band per session and side) and its sessions table, in Chromium."""
    db = tmp_path / "app.sqlite3"
    with Store.open(db) as store:
        ids = record_history(store)
    app = AppProcess(db)
    driver = chromium(width=1100, height=1150)
    try:
        driver.get(app.url)
        navigate(driver, driver.find_element("link text", "P7"))
        chart = _by(driver, "history").find_element("tag name", "img")
        _until(driver, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth",
                                                  chart), 30, "the chart never loaded")
        shot(driver, "subject")
        size = chart.size
        rows = [r.get_attribute("data-session-id") for r in driver.find_elements("css selector", "#sessions tbody tr")]
        caption = driver.find_element("css selector", "#history figcaption").text
    finally:
        driver.quit()
        app.stop()
    assert rows == [str(i) for i in reversed(ids)]
    assert size["width"] > 500 and size["height"] > 200 and "MDC95" in caption
