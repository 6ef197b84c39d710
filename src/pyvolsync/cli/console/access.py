"""Who may use the console: the launch token, the browser's session and its CSRF token.

``pyvolsync ui`` acts with the user's own kubeconfig, so the page must be reachable by that
user's browser only. Like Jupyter, it prints a URL with a one-time launch token; opening it gives
the browser a session cookie (HttpOnly, SameSite=Strict) and every page a CSRF token that each
action must send back. Requests naming another host are refused (DNS rebinding), and every
response forbids framing, sniffing and sending the URL on as a referrer.
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette import requests

COOKIE = "pyvolsync_console"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SECURITY_HEADERS = (
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)  # fmt: skip

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Visitor:
    """A browser that opened the launch URL: who it acts as, and its CSRF token."""

    user: str
    csrf: str


class Sessions:
    """The launch token and the sessions it opened (kept in memory: a restart logs out)."""

    def __init__(self, user: str, *, launch_token: str | None = None) -> None:
        self.user = user
        self.launch_token = launch_token or secrets.token_urlsafe(24)
        self._visitors: dict[str, Visitor] = {}

    def open(self, token: str) -> str | None:
        """Return a new session id when ``token`` is the launch token, else None."""
        if not hmac.compare_digest(token.encode(), self.launch_token.encode()):
            return None
        session_id = secrets.token_urlsafe(32)
        self._visitors[session_id] = Visitor(self.user, secrets.token_urlsafe(24))
        return session_id

    def visitor(self, request: requests.Request) -> Visitor | None:
        """Return the visitor of the request's session cookie, or None."""
        return self._visitors.get(request.cookies.get(COOKIE, ""))

    @staticmethod
    def csrf_matches(visitor: Visitor, sent: str | None) -> bool:
        """Return True when ``sent`` is the visitor's CSRF token."""
        return bool(sent) and hmac.compare_digest(str(sent).encode(), visitor.csrf.encode())


def secured(app: Asgi) -> Asgi:
    """Wrap ``app`` so every HTTP response carries the security headers."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await app(scope, receive, send_secured)

    return wrapped
