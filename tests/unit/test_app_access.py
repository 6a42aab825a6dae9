"""romcam app's access token for a clinic: a new link from the home page revokes the old one and
its cookies, wrong tokens are rate-limited per address (429 + Retry-After), --token-file (made
0600, refused when others may read it or it is short), the link's QR code on the home page only
when the app listens for other computers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from romcam.app.security import COOKIE, MAX_BAD, Access, BadTokenLimit, read_token_file
from romcam.app.server import AppConfig, create_app
from romcam.errors import RomcamError


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(tmp_path, access):
    base = "https://testserver" if access.secure else "http://testserver"      # a Secure cookie needs https
    return TestClient(create_app(AppConfig(db=tmp_path / "app.sqlite3", access=access)), base_url=base)


def _sign_in(client, token):
    r = client.get(f"/?token={token}", follow_redirects=False)
    assert r.status_code == 303, r.text
    return r


def test_a_new_link_revokes_the_old_token_and_its_cookies(tmp_path):
    access = Access()
    tablet, desk = _client(tmp_path, access), _client(tmp_path, access)
    old = access.token
    _sign_in(tablet, old)
    _sign_in(desk, old)
    assert tablet.get("/").status_code == 200
    r = desk.post("/access/renew", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert access.token != old and r.headers["set-cookie"].startswith(f"{COOKIE}={access.token};")
    assert desk.get("/").status_code == 200                       # the browser that asked keeps going
    refused = tablet.get("/")                                     # the other one's cookie is refused
    assert refused.status_code == 401 and "replaced by a new one" in refused.text
    assert tablet.get(f"/?token={old}", follow_redirects=False).status_code == 401
    tablet.cookies.clear()
    _sign_in(tablet, access.token)                                # the new link works
    assert tablet.get("/new").status_code == 200


def test_an_old_token_is_no_guess_and_does_not_lock_the_device_out(tmp_path):
    access = Access()
    client = _client(tmp_path, access)
    old = access.token
    access.renew()
    for _ in range(3 * MAX_BAD):
        assert client.get(f"/?token={old}", follow_redirects=False).status_code == 401
    _sign_in(client, access.token)


def test_wrong_tokens_are_slowed_down_per_address(tmp_path):
    clock = Clock()
    access = Access(limit=BadTokenLimit(clock=clock))
    client = _client(tmp_path, access)
    for _ in range(3):                              # no token at all is no guess
        assert client.get("/").status_code == 401
    for i in range(MAX_BAD):
        assert client.get(f"/?token=guess{i}", follow_redirects=False).status_code == 401
        clock.now += 1.0
    r = client.get(f"/?token={access.token}", follow_redirects=False)   # even the right one waits now
    assert r.status_code == 429 and r.headers["retry-after"] == "55"
    client.cookies.set(COOKIE, "guess-again")
    assert client.get("/").status_code == 429
    clock.now += 55.0                               # the first wrong try leaves the 60-s window
    client.cookies.clear()
    _sign_in(client, access.token)
    assert client.get("/").status_code == 200
    # wrong cookies count too, and another address is not affected
    limit = access.limit
    for _ in range(MAX_BAD):
        limit.failed("10.0.0.7")
    assert limit.retry_after("10.0.0.7") > 0 and limit.retry_after("10.0.0.8") == 0


def test_the_home_page_shows_the_link_as_a_qr_code_only_on_the_network(tmp_path):
    access = Access(secure=True)
    client = _client(tmp_path, access)
    _sign_in(client, access.token)
    home = client.get("/")
    assert "access-qr" not in home.text and "renew-access" in home.text
    access.base_url = "https://192.0.2.2:8765"
    home = client.get("/")
    assert home.headers["cache-control"] == "no-store"
    assert 'id="access-qr"' in home.text and "<svg" in home.text and access.link() in home.text
    old_link = access.link()
    client.post("/access/renew")                  # this browser's cookie follows; the page shows the new link
    home = client.get("/")
    assert access.link() != old_link and access.link() in home.text and old_link not in home.text


def test_the_token_file_is_made_owner_only_and_kept(tmp_path):
    path = tmp_path / "token"
    token = read_token_file(path)
    assert len(token) >= 32 and os.stat(path).st_mode & 0o777 == 0o600
    assert read_token_file(path) == token
    access = Access.from_file(path)
    new = access.renew()                      # a new link is the file's token from now on
    assert read_token_file(path) == new != token and os.stat(path).st_mode & 0o777 == 0o600


def test_a_readable_or_short_token_file_is_refused(tmp_path):
    path = tmp_path / "token"
    path.write_text("x" * 40)
    path.chmod(0o644)
    with pytest.raises(RomcamError, match="other users"):
        read_token_file(path)
    path.chmod(0o600)
    path.write_text("short-token\n")
    with pytest.raises(RomcamError, match="11 characters"):
        read_token_file(path)
    path.write_text("a" * 31 + "/\n")
    with pytest.raises(RomcamError, match="other than letters"):
        read_token_file(path)
    with pytest.raises(RomcamError, match="No such file or directory"):      # its folder is missing
        read_token_file(tmp_path / "missing" / "token")


def test_the_command_refuses_a_world_readable_token_file_in_one_line(tmp_path):
    path = tmp_path / "token"
    path.write_text("x" * 40)
    path.chmod(0o644)
    r = subprocess.run([sys.executable, "-m", "romcam", "app", "--no-browser", "--token-file", str(path),
                        "--db", str(tmp_path / "a.sqlite3")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"romcam: error: --token-file {path} can be read")
