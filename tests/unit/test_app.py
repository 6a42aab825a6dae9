"""romcam app without a browser: the access token and its cookie on every route, the Origin check
of the WebSockets, the new-session form's rules (the CLI's), the refusal of a network address
without TLS, and the newest-frame worker (frames dropped and counted, never queued)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from romcam.app.frames import HEADER, FrameWorker, Incoming
from romcam.app.security import COOKIE, Access
from romcam.app.server import AppConfig, create_app
from romcam.storage.store import Store

ROUTES = ["/", "/new", "/check/abc", "/live/abc", "/session/1", "/session/1/report.html", "/session/1/report.pdf",
          "/session/1/export.csv", "/session/1/fhir.json", "/subject/1", "/static/app.css", "/static/live.js",
          "/docs", "/openapi.json", "/nothing-here"]


@pytest.fixture
def app(tmp_path):
    access = Access()
    return TestClient(create_app(AppConfig(db=tmp_path / "app.sqlite3", access=access))), access


def _signed_in(client, access):
    r = client.get(f"/?token={access.token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    return r


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_without_the_token_is_refused(app, path):
    client, access = app
    assert client.get(path).status_code == 401
    client.cookies.set(COOKIE, "not-the-token")
    assert client.get(path).status_code == 401
    assert client.get(f"{path}?token=wrong", follow_redirects=False).status_code == 401


def test_a_post_without_the_token_is_refused_and_stores_nothing(app, tmp_path):
    client, _ = app
    r = client.post("/new", data={"subject": "P001", "joint": "neck_lateral_flexion", "side": "both",
                                  "set_kind": "reps", "target_reps": "3", "target_turns": "3", "trials": "1"})
    assert r.status_code == 401
    assert not (tmp_path / "app.sqlite3").exists()


def test_the_token_becomes_a_strict_httponly_cookie_and_leaves_the_url(app):
    client, access = app
    r = _signed_in(client, access)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={access.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    assert access.token not in r.headers["location"]
    page = client.get("/")
    assert page.status_code == 200 and "Start a new session" in page.text
    assert Access(secure=True).cookie_header().endswith(b"; Secure")


def _form(**kw):
    form = {"subject": "P001", "joint": "neck_lateral_flexion", "side": "both", "set_kind": "reps",
            "target_reps": "3", "target_turns": "3", "trials": "1"}
    return {**form, **kw}


def test_the_form_follows_the_cli_rules_and_urls_name_no_subject(app, tmp_path):
    client, access = app
    _signed_in(client, access)
    r = client.post("/new", data=_form(subject="Zoe01"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/check/")
    assert "Zoe01" not in r.headers["location"]
    check = client.get(r.headers["location"])
    assert check.status_code == 200 and "Camera check" in check.text
    # a code differing only by case is another person only when the form says so
    twin = client.post("/new", data=_form(subject="zoe01"))
    assert twin.status_code == 400 and "differs only by case" in twin.text
    assert client.post("/new", data=_form(subject="zoe01", new_subject="on"), follow_redirects=False).status_code == 303
    with Store.open(tmp_path / "app.sqlite3", readonly=True) as store:
        assert store.subjects() == ["Zoe01", "zoe01"]
    # the joint's rules: circles are a neck set, a side-view joint needs one side, limits hold
    bad = client.post("/new", data=_form(joint="knee_flexion", set_kind="circles"))
    assert bad.status_code == 400 and "neck exercise" in bad.text
    assert client.post("/new", data=_form(trials="0")).status_code == 400
    assert client.post("/new", data=_form(subject="  ")).status_code == 400


def _plan(client, access):
    _signed_in(client, access)
    return client.post("/new", data=_form(), follow_redirects=False).headers["location"].rsplit("/", 1)[1]


@pytest.mark.parametrize("kind", ["check", "live"])
def test_a_websocket_from_another_origin_or_without_the_cookie_is_refused(app, kind):
    client, access = app
    plan = _plan(client, access)
    for origin in ("http://evil.example", "http://testserver.evil.example", "https://testserver", None):
        headers = {"origin": origin} if origin else {}
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect(f"/ws/{kind}/{plan}", headers=headers):
                pass
        assert refused.value.code == 1008
    client.cookies.clear()
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect(f"/ws/{kind}/{plan}", headers={"origin": "http://testserver"}):
            pass


def test_a_network_address_without_tls_is_refused_in_one_line():
    r = subprocess.run([sys.executable, "-m", "romcam", "app", "--host", "0.0.0.0", "--no-browser"],
                       capture_output=True, text=True, timeout=120)
    err = r.stderr
    assert r.returncode != 0 and r.stdout == ""
    assert err.count("\n") == 1 and err.startswith("romcam: error: --host 0.0.0.0 would serve the app")
    assert "--tls-cert" in err


class _Slow:
    """A handler that takes 50 ms a frame and remembers which frames it saw."""

    def __init__(self):
        self.seen, self.finished, self.closed = [], False, None

    def open(self):
        return None

    def frame(self, item, image):
        self.seen.append(item.index)
        time.sleep(0.05)
        return {"index": item.index}

    def command(self, key):
        return None

    def close(self, reason, counts):
        self.closed = (reason, counts)
        return {"kind": "closed"}


def _jpeg(index: int) -> Incoming:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    return Incoming.parse(HEADER.pack(index, index / 30.0) + data.tobytes())


def test_the_worker_analyses_the_newest_frame_and_counts_the_dropped_ones():
    handler, sent = _Slow(), []
    worker = FrameWorker(handler, sent.append)
    worker.start()
    for k in range(60):                   # 30 fps for 2 s against 20 fps of work
        worker.put(_jpeg(k))
        time.sleep(1 / 30)
    time.sleep(0.2)
    worker.close("the test ended")
    counts = handler.closed[1]
    assert handler.closed[0] == "the test ended"
    assert counts["received"] == 60 and counts["analysed"] == len(handler.seen)
    assert counts["analysed"] + counts["dropped"] == 60 and counts["dropped"] > 5
    assert handler.seen == sorted(handler.seen) and handler.seen[-1] == 59    # the newest, in order
    assert sent[-1]["kind"] == "closed" and worker.finished

