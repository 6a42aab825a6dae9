"""`romcam bench --app`: the app's live loop, measured with a real browser sending frames.

The video is written as a .y4m at 30 fps (frames repeated or skipped by their timestamps) and
640 px wide, which headless Chromium plays as its webcam (``--use-file-for-fake-video-capture``);
the app runs in this process on a free port with a throwaway database, and Chromium opens the
live page of a session planned for the joint. After ``seconds`` Chromium is closed (the session
ends as incomplete, as a closed tab does). Reported: the frames the page sent, those the server
analysed and dropped, the server's CPU (this process: models, engine, store, web server; not the
browser) as cores kept busy, and the latency from a frame's capture to its state drawn, as the page
measured it. Numbers only: nothing here is a pass or a fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.measure.joints import Joint

RATE = 30.0
WIDTH = 640


def write_camera_file(video: str | os.PathLike, path: Path, rate: float = RATE, width: int = WIDTH) -> dict:
    """``video`` as a .y4m Chromium can play as a camera: ``rate`` fps, ``width`` px wide."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise RomcamError(f"cannot read the video {video}")
    fps = cap.get(cv2.CAP_PROP_FPS) or rate
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        h = int(round(frame.shape[0] * width / frame.shape[1] / 2)) * 2
        frames.append(cv2.resize(frame, (width, h), interpolation=cv2.INTER_AREA))
    cap.release()
    if not frames:
        raise RomcamError(f"no frame could be decoded from {video}")
    n = int(len(frames) / fps * rate)
    picked = [frames[min(int(i * fps / rate), len(frames) - 1)] for i in range(n)]
    h, w = picked[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{int(rate)}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in picked:
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return {"frames": n, "width": w, "height": h, "fps": rate}


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    raise RomcamError("romcam bench --app needs Chromium (Debian: apt-get install chromium)")


def run_app_bench(video, joint: Joint, side: str = "both", seconds: float = 30.0, model: str = "full",
                  model_dir: str | None = None) -> dict:
    """The measurement described in the module docstring, as a dict."""
    from romcam.app.security import Access
    from romcam.app.server import AppConfig, create_app, server
    from romcam.app.sessions import Plan
    from romcam.config import DEFAULTS
    from romcam.session.common import SessionOptions

    browser = find_chromium()
    with tempfile.TemporaryDirectory(prefix="romcam-bench-app-") as tmp:
        tmp = Path(tmp)
        camera = write_camera_file(video, tmp / "camera.y4m")
        access = Access()
        app = create_app(AppConfig(db=tmp / "bench.sqlite3", access=access, model_dir=model_dir,
                                   settings=DEFAULTS))
        opts = SessionOptions(joint=joint, side=side, subject="BENCH", source="browser", db=tmp / "bench.sqlite3",
                              window=False, model=model, model_dir=model_dir, quiet=True)
        plan = app.state.plans.add(Plan(opts))
        port = {}
        ready = threading.Event()
        srv = server(app, port=0, on_ready=lambda p: (port.setdefault("p", p), ready.set()))
        thread = threading.Thread(target=srv.run, name="romcam-bench-server", daemon=True)
        thread.start()
        if not ready.wait(60):
            raise RomcamError("the app did not start listening")
        url = f"http://127.0.0.1:{port['p']}/live/{plan.id}?token={access.token}"
        args = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio", "--no-first-run",
                f"--user-data-dir={tmp / 'profile'}", "--autoplay-policy=no-user-gesture-required",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={tmp / 'camera.y4m'}", "--window-size=1280,900", url]
        wall0, cpu0 = time.monotonic(), time.process_time()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            time.sleep(seconds)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        deadline = time.monotonic() + 30
        while not app.state.ended and time.monotonic() < deadline:
            time.sleep(0.2)
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        srv.should_exit = True
        thread.join(30)
    if not app.state.ended:
        raise RomcamError("the browser never opened the live session (is Chromium working here?)")
    ended = app.state.ended[-1]
    frames, lat = ended["frames"], np.array(ended["browser_latency_ms"], dtype=float)
    return {
        "video": str(video), "joint": joint.name, "camera": camera, "seconds": round(wall, 1),
        "frames_received": frames["received"], "frames_analysed": frames["analysed"],
        "frames_dropped": frames["dropped"],
        "dropped_share": round(frames["dropped"] / frames["received"], 4) if frames["received"] else None,
        "analysed_fps": round(frames["analysed"] / wall, 1),
        "server_cpu_s": round(cpu, 1), "server_cores_busy": round(cpu / wall, 2),
        "browser_latency_ms_median": round(float(np.median(lat)), 1) if lat.size else None,
        "browser_latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if lat.size else None,
        "latencies_measured": int(lat.size),
        "load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "note": "server CPU excludes the browser's; the timing includes the models' start (about 1-2 s)",
    }
