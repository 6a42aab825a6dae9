"""The app in a real browser: Debian's Chromium driven by Selenium through Debian's
chromium-driver (no browser or driver download), with a video file as its webcam.

``fake_camera_clip`` writes the .y4m Chromium's fake capture device plays
(``--use-file-for-fake-video-capture``): raw I420 frames at the clip's own rate, which Chromium
plays in real time and loops at the end. ``AppProcess`` runs ``romcam app --no-browser --port 0``
and reads the link with its token from the first line it prints.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import cv2

from system import require_tool


def write_y4m(frames, fps: float, path: Path) -> Path:
    """``frames`` (BGR, even width and height) as a YUV4MPEG2 file at ``fps``."""
    h, w = frames[0].shape[:2]
    rate = Fraction(fps).limit_denominator(1001)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def video_to_y4m(video: Path, path: Path, width: int | None = None, stop_s: float | None = None,
                 lead_s: float = 0.0) -> Path:
    """The decoded frames of ``video`` (scaled to ``width``, up to ``stop_s``) as a .y4m at its fps,
    its first frame held for ``lead_s`` more seconds at the start."""
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while stop_s is None or len(frames) < stop_s * fps:
        ok, frame = cap.read()
        if not ok:
            break
        if width is not None and frame.shape[1] != width:
            height = int(round(frame.shape[0] * width / frame.shape[1] / 2)) * 2
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        frames.append(frame)
    cap.release()
    return write_y4m([frames[0]] * int(round(lead_s * fps)) + frames, fps, path)


def chromium(camera_file: Path | None = None, width: int = 1400, height: int = 1000, extra_args: tuple[str, ...] = ()):
    """A headless Chromium with ``camera_file`` as its webcam and ``extra_args`` (a Selenium driver;
    quit it)."""
    binary = require_tool("chromium", package="chromium")
    driver_path = require_tool("chromedriver", package="chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--autoplay-policy=no-user-gesture-required",
                "--use-fake-ui-for-media-stream", "--mute-audio", "--no-first-run"):
        options.add_argument(arg)
    for arg in extra_args:
        options.add_argument(arg)
    if camera_file is not None:
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument(f"--use-file-for-fake-video-capture={camera_file}")
    return webdriver.Chrome(service=Service(driver_path), options=options)


class AppProcess:
    """``romcam app`` in a subprocess on a free port: ``url`` (with the token), ``base``, ``lines``
    (everything it printed), ``stop()`` (SIGINT, as Ctrl-C, then wait)."""

    def __init__(self, db: Path, *extra: str, timeout: float = 90.0):
        self.proc = subprocess.Popen([sys.executable, "-m", "romcam", "app", "--no-browser", "--port", "0",
                                      "--db", str(db), *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
        self.lines: list[str] = []
        self._url = threading.Event()
        self.url = self.base = None
        threading.Thread(target=self._read, daemon=True).start()
        if not self._url.wait(timeout):
            self.stop()
            raise AssertionError("romcam app printed no link:\n" + "\n".join(self.lines))

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            m = re.search(r"open (https?://[^/]+)(/\?token=\S+)", line)
            if m and self.url is None:
                self.base, self.url = m.group(1), m.group(1) + m.group(2)
                self._url.set()

    @property
    def token(self) -> str:
        return self.url.split("token=", 1)[1]

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.1)
        return self.proc.returncode
