"""romcam app on the network: with a TLS certificate and key it listens on every address, prints
the https link with its token and the same link as a QR code, and its cookie is Secure; without
the token it still refuses (401). The certificate is a throwaway self-signed one (openssl)."""

from __future__ import annotations

import re
import ssl
import subprocess
import urllib.error
import urllib.request

from browser import AppProcess
from system import require_tool


def test_the_app_on_the_network_needs_tls_and_shows_a_qr_code(tmp_path):
    openssl = require_tool("openssl", package="openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=romcam-test"], check=True, capture_output=True, timeout=120)
    app = AppProcess(tmp_path / "app.sqlite3", "--host", "0.0.0.0", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert app.url.startswith("https://") and "0.0.0.0" not in app.url
        port = re.search(r":(\d+)/", app.url).group(1)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        local = f"https://127.0.0.1:{port}"
        try:
            urllib.request.urlopen(local + "/", context=context, timeout=30)
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == 401

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
        try:
            opener.open(f"{local}/?token={app.token}", timeout=30)
            raise AssertionError("no redirect")
        except urllib.error.HTTPError as exc:
            assert exc.code == 303
            cookie = exc.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    finally:
        app.stop()
    text = "\n".join(app.lines)
    print(text)
    assert sum(line.count("█") + line.count("▀") + line.count("▄") for line in app.lines) > 100   # the QR code
