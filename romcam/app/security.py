"""Who may use the app: whoever opened the link with this start's token.

A random token is made at every start and put in the URL the app opens. The first request with
``?token=...`` gets an HttpOnly, SameSite=Strict cookie holding it and is redirected to the same
path without the token; every later request (page, API call, static file, WebSocket) must carry
the cookie, else 401 (a page or call) or 403 (a WebSocket, refused before it is accepted). A
WebSocket must also come from the app's own origin (the ``Origin`` header against ``Host``), so
another site open in the same browser cannot drive a session. This is a pure ASGI middleware,
so it sits in front of everything the app serves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

COOKIE = "romcam_access"
QUERY = "token"


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Access:
    token: str = field(default_factory=new_token)
    secure: bool = False                  # served over TLS: the cookie is Secure too

    def valid(self, value: str | None) -> bool:
        return bool(value) and secrets.compare_digest(value.encode(), self.token.encode())

    def cookie_header(self) -> bytes:
        flags = "; Secure" if self.secure else ""
        return f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict{flags}".encode()


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


class AccessMiddleware:
    """The token check in front of the whole app (see the module docstring)."""

    def __init__(self, app, access: Access):
        self.app, self.access = app, access

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if scope["type"] == "websocket":
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
            body = (b"romcam app: not allowed. Open the link that `romcam app` printed when it started "
                    b"(it holds this start's access token).\n")
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        return await self.app(scope, receive, send)
