"""Who may use the app: whoever opened the link with the current access token.

A random token is made at every start (or read from ``--token-file``) and put in the URL the app
opens. The first request with ``?token=...`` gets an HttpOnly, SameSite=Strict cookie holding it
and is redirected to the same path without the token; every later request (page, API call, static
file, WebSocket) must carry the cookie, else 401 (a page or call) or 403 (a WebSocket, refused
before it is accepted). A WebSocket must also come from the app's own origin (the ``Origin``
header against ``Host``), so another site open in the same browser cannot drive a session. This is
a pure ASGI middleware, so it sits in front of everything the app serves.

The token can be replaced while the app runs (:meth:`Access.renew`, the home page's "new link"
button): from then on the old token and every cookie made from it are refused, with a message that
the link was replaced. A client address that presents wrong tokens (in the URL or a cookie) more
than :data:`MAX_BAD` times in :data:`BAD_WINDOW_S` seconds gets 429 with ``Retry-After`` for every
request until the oldest of them is that old (:class:`BadTokenLimit`). Nothing here logs a token.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from romcam.errors import RomcamError

COOKIE = "romcam_access"
QUERY = "token"
MIN_TOKEN_CHARS = 32          # secrets.token_urlsafe(24): 192 random bits
TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
MAX_BAD = 5
BAD_WINDOW_S = 60.0


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def check_token(token: str, where: str) -> str:
    """``token`` if it is long enough and URL-safe, else a one-line error naming ``where``."""
    if len(token) < MIN_TOKEN_CHARS:
        raise RomcamError(f"{where} holds a token of {len(token)} characters; at least {MIN_TOKEN_CHARS} are needed "
                          f"(delete the file and romcam app makes a new one)")
    if not TOKEN_CHARS.fullmatch(token):
        raise RomcamError(f"{where} holds characters other than letters, digits, '-' and '_' "
                          f"(delete the file and romcam app makes a new one)")
    return token


def write_token_file(path: Path, token: str) -> None:
    """``token`` written to ``path``, readable by its owner only (mode 0600), replacing it whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (token + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_token_file(path: str | Path) -> str:
    """The fixed token of ``--token-file``: made (mode 0600) when the file does not exist; refused
    in one line when other users may read or write it, or when it is short."""
    path = Path(path)
    try:
        if not path.exists():
            token = new_token()
            write_token_file(path, token)
            return token
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise RomcamError(f"--token-file {path} can be read or written by other users (mode {mode:04o}): "
                              f"run chmod 600 {path}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RomcamError(f"--token-file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return check_token(text.strip(), f"--token-file {path}")


class Access:
    """The current access token (replaceable: :meth:`renew`), the tokens it replaced, whether the
    app is served over TLS (the cookie is Secure then), the token file to keep it in, the limit on
    wrong tokens, and the app's link for other computers (``base_url``, set once the server listens)."""

    def __init__(self, token: str | None = None, secure: bool = False, token_file: str | Path | None = None,
                 limit: BadTokenLimit | None = None):
        self._token = token or new_token()
        self.limit = limit if limit is not None else BadTokenLimit()
        self.secure = secure
        self.token_file = Path(token_file) if token_file is not None else None
        self.base_url: str | None = None
        self.on_renew: list[Callable[[Access], None]] = []
        self._revoked: set[bytes] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path, secure: bool = False) -> Access:
        return cls(read_token_file(path), secure=secure, token_file=path)

    @property
    def token(self) -> str:
        return self._token

    def valid(self, value: str | None) -> bool:
        return bool(value) and secrets.compare_digest(value.encode(), self._token.encode())

    def revoked(self, value: str | None) -> bool:
        """``value`` was a token of this app before :meth:`renew` replaced it."""
        return bool(value) and _digest(value) in self._revoked

    def renew(self) -> str:
        """A new token; the old one (and every cookie holding it) is refused from now on. With a
        token file, the new token is written there too."""
        with self._lock:
            self._revoked.add(_digest(self._token))
            self._token = new_token()
            if self.token_file is not None:
                write_token_file(self.token_file, self._token)
        for callback in self.on_renew:
            callback(self)
        return self._token

    def link(self) -> str | None:
        """The URL with the token that a tablet opens (None until the server listens off this computer)."""
        return None if self.base_url is None else f"{self.base_url}/?token={self._token}"

    def cookie_header(self) -> bytes:
        flags = "; Secure" if self.secure else ""
        return f"{COOKIE}={self._token}; Path=/; HttpOnly; SameSite=Strict{flags}".encode()


def qr_svg(text: str) -> str:
    """``text`` as a QR code, an inline SVG element (segno)."""
    import segno

    return segno.make(text, error="m").svg_inline(scale=5, border=2, title="QR code of the app's link")


class BadTokenLimit:
    """Wrong tokens per client address: more than ``max_bad`` in ``window_s`` seconds and the
    address waits (:meth:`retry_after`) until the oldest of them leaves the window."""

    def __init__(self, max_bad: int = MAX_BAD, window_s: float = BAD_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.max_bad, self.window_s, self.clock = max_bad, window_s, clock
        self._bad: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._bad.get(address, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            self._bad.pop(address, None)
        return times

    def retry_after(self, address: str) -> int:
        """Seconds this address must wait (0: it may try)."""
        with self._lock:
            now = self.clock()
            times = self._recent(address, now)
            if len(times) < self.max_bad:
                return 0
            return max(1, int(times[0] + self.window_s - now + 0.999))

    def failed(self, address: str) -> None:
        with self._lock:
            now = self.clock()
            times = self._recent(address, now)
            times.append(now)
            self._bad[address] = times
            if len(self._bad) > 10000:         # a flood of addresses: forget the quietest
                for key in [k for k, v in self._bad.items() if len(v) < self.max_bad][:5000]:
                    del self._bad[key]


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookie(headers: dict[str, str]) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:       # a malformed Cookie header is no cookie
        return None
    return jar[COOKIE].value if COOKIE in jar else None


def same_origin(headers: dict[str, str], secure: bool) -> bool:
    """The ``Origin`` of a WebSocket handshake is this server (scheme, host and port as the
    browser reached it)."""
    origin, host = headers.get("origin"), headers.get("host")
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme == ("https" if secure else "http") and parts.netloc == host


async def _plain(send, status: int, text: str, extra: list[tuple[bytes, bytes]] = ()) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"),
                            *extra]})
    await send({"type": "http.response.body", "body": body})


NOT_ALLOWED = ("romcam app: not allowed. Open the link that `romcam app` printed when it started "
               "(it holds this start's access token).\n")
REPLACED = ("romcam app: this link was replaced by a new one. Scan the QR code on the app's computer "
            "or open the new link it printed.\n")


class AccessMiddleware:
    """The token check in front of the whole app (see the module docstring)."""

    def __init__(self, app, access: Access):
        self.app, self.access, self.limit = app, access, access.limit

    def _refused(self, address: str, presented: list[str]) -> None:
        """A refused request counts against its address when it held a wrong token (a guess); an
        old, replaced token or no token at all is no guess."""
        if any(not self.access.valid(v) and not self.access.revoked(v) for v in presented):
            self.limit.failed(address)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        address = (scope.get("client") or ("?",))[0]
        wait = self.limit.retry_after(address)
        if wait:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            return await _plain(send, 429, f"romcam app: too many wrong links from this device; try again in "
                                           f"{wait} s.\n", [(b"retry-after", str(wait).encode())])
        presented = [v for v in (query.get(QUERY), _cookie(headers)) if v]
        if scope["type"] == "websocket":
            if not self.access.valid(_cookie(headers)):
                self._refused(address, presented)
            if not (self.access.valid(_cookie(headers)) and same_origin(headers, self.access.secure)):
                await send({"type": "websocket.close", "code": 1008})    # the handshake gets HTTP 403
                return
            return await self.app(scope, receive, send)
        if QUERY in query and self.access.valid(query[QUERY]):
            rest = urlencode({k: v for k, v in query.items() if k != QUERY})
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", (scope["path"] + (f"?{rest}" if rest else "")).encode()),
                                    (b"set-cookie", self.access.cookie_header()),
                                    (b"cache-control", b"no-store"), (b"referrer-policy", b"no-referrer")]})
            await send({"type": "http.response.body", "body": b""})
            return
        if not self.access.valid(_cookie(headers)):
            self._refused(address, presented)
            return await _plain(send, 401, REPLACED if any(self.access.revoked(v) for v in presented) else NOT_ALLOWED)
        return await self.app(scope, receive, send)
