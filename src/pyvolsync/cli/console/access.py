"""Who may use the console, and what each person may do in it.

Three ways in, one per way of running it:

- ``LaunchToken`` (``pyvolsync ui`` on a person's machine): the console acts with that person's
  kubeconfig, so only their browser may reach it. Like Jupyter, it prints a URL with a one-time
  launch token; opening it gives the browser a session cookie (HttpOnly, SameSite=Strict).
- ``TokenLogin`` (``--auth token``, in the cluster for several people): a person pastes a
  Kubernetes bearer token, which the console checks with a TokenReview (and again every minute
  while the session lasts, so an expired or revoked token ends it).
- ``ProxyHeaders`` (``--auth proxy``): an authenticating reverse proxy in front (oauth2-proxy)
  names the person in request headers; the console must be reachable through that proxy only.

In the two shared ways the console acts with its own ServiceAccount, and asks the API server
first (SubjectAccessReview) whether the person may do what they ask: a person never does more
through the console than their RBAC lets them do with kubectl. Every page carries a CSRF token
each action must send back, and every response forbids framing, sniffing and sending the URL on
as a referrer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Protocol

from starlette import requests

from pyvolsync.kube import client

COOKIE = "pyvolsync_console"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REVIEW_SECONDS = 60.0
SESSION_SECONDS = 12 * 3600.0
"""How long a session lasts from its login; then the person logs in again."""
"""How long an answer of the API server (a token's review, a permission) is trusted."""
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
    """A person using the console: who they are, and their CSRF token."""

    user: str
    csrf: str
    groups: tuple[str, ...] = ()

    @property
    def identity(self) -> client.Identity:
        return client.Identity(self.user, self.groups)


class RefusedLogin(Exception):  # noqa: N818 - a refusal, not a failure of the console
    """The login did not work; the message says why and what to do."""


class Doorkeeper(Protocol):
    """How people get in, and how the console learns what they may do."""

    shared: bool
    """Several people use the console (it acts with its own ServiceAccount)."""
    login_form: bool
    """People log in on the console's own page (with a token)."""
    login_hint: str
    """What a person without a session is told to do."""

    async def visitor(self, request: requests.Request) -> Visitor | None:
        """Return the person making the request, or None."""

    async def login(self, secret: str) -> str:
        """Return a new session id for ``secret`` (launch token or bearer token); raise
        RefusedLogin otherwise."""

    async def allowed(
        self, visitor: Visitor, verb: str, resource: str, *, group: str, namespace: str
    ) -> bool:
        """Return True when the visitor may ``verb`` the ``resource`` in ``namespace``."""


def csrf_matches(visitor: Visitor, sent: str | None) -> bool:
    """Return True when ``sent`` is the visitor's CSRF token."""
    return bool(sent) and hmac.compare_digest(str(sent).encode(), visitor.csrf.encode())


class _Answers:
    """The API server's answers about permissions, kept for REVIEW_SECONDS."""

    def __init__(self) -> None:
        self._kept: dict[tuple[Any, ...], tuple[float, bool]] = {}

    async def ask(self, key: tuple[Any, ...], question: Callable[[], Awaitable[bool]]) -> bool:
        kept = self._kept.get(key)
        if kept is not None and time.monotonic() - kept[0] < REVIEW_SECONDS:
            return kept[1]
        answer = await question()
        self._kept[key] = (time.monotonic(), answer)
        return answer


class LaunchToken:
    """One person, with their own kubeconfig: the launch token opens sessions."""

    shared = False
    login_form = False
    login_hint = "open the address `pyvolsync ui` printed (it carries the login token)"

    def __init__(self, kube: client.Kube, user: str, *, launch_token: str | None = None) -> None:
        self.kube = kube
        self.user = user
        self.launch_token = launch_token or secrets.token_urlsafe(24)
        self._visitors: dict[str, tuple[Visitor, float]] = {}
        self._answers = _Answers()

    async def visitor(self, request: requests.Request) -> Visitor | None:
        session_id = request.cookies.get(COOKIE, "")
        found = self._visitors.get(session_id)
        if found is None:
            return None
        if time.monotonic() - found[1] > SESSION_SECONDS:
            del self._visitors[session_id]
            return None
        return found[0]

    async def login(self, secret: str) -> str:
        if not hmac.compare_digest(secret.encode(), self.launch_token.encode()):
            raise RefusedLogin(
                "this login link is not valid; use the one `pyvolsync ui` printed last"
            )
        session_id = secrets.token_urlsafe(32)
        visitor = Visitor(self.user, secrets.token_urlsafe(24))
        self._visitors[session_id] = (visitor, time.monotonic())
        return session_id

    async def allowed(
        self, visitor: Visitor, verb: str, resource: str, *, group: str, namespace: str
    ) -> bool:
        key = (verb, resource, group, namespace)
        return await self._answers.ask(
            key, lambda: self.kube.allowed(verb, resource, group=group, namespace=namespace)
        )


@dataclasses.dataclass
class _TokenSession:
    visitor: Visitor
    token: str
    reviewed_at: float
    started_at: float


class _Reviewed:
    """Permissions asked of the API server for people the console logged in."""

    def __init__(self, kube: client.Kube) -> None:
        self.kube = kube
        self._answers = _Answers()

    async def allowed(
        self, visitor: Visitor, verb: str, resource: str, *, group: str, namespace: str
    ) -> bool:
        key = (visitor.user, visitor.groups, verb, resource, group, namespace)
        return await self._answers.ask(
            key,
            lambda: self.kube.subject_allowed(
                visitor.identity, verb, resource, group=group, namespace=namespace
            ),
        )


class TokenLogin(_Reviewed):
    """Several people, each logging in with a Kubernetes bearer token (a TokenReview)."""

    shared = True
    login_form = True
    login_hint = "log in with a Kubernetes token"

    def __init__(self, kube: client.Kube) -> None:
        super().__init__(kube)
        self._sessions: dict[str, _TokenSession] = {}
        self._lock = asyncio.Lock()

    async def visitor(self, request: requests.Request) -> Visitor | None:
        session_id = request.cookies.get(COOKIE, "")
        found = self._sessions.get(session_id)
        if found is None:
            return None
        if time.monotonic() - found.started_at > SESSION_SECONDS:
            del self._sessions[session_id]
            return None
        if time.monotonic() - found.reviewed_at > REVIEW_SECONDS:
            identity = await self.kube.review_token(found.token)
            if identity is None or identity.user != found.visitor.user:
                del self._sessions[session_id]
                return None
            found.reviewed_at = time.monotonic()
        return found.visitor

    async def login(self, secret: str) -> str:
        token = secret.strip()
        if not token:
            raise RefusedLogin("paste a token: `kubectl create token NAME` prints one")
        identity = await self.kube.review_token(token)
        if identity is None:
            raise RefusedLogin(
                "the API server does not accept this token (wrong, expired or revoked); "
                "get a new one, e.g. with `kubectl create token NAME`"
            )
        session_id = secrets.token_urlsafe(32)
        visitor = Visitor(identity.user, secrets.token_urlsafe(24), identity.groups)
        async with self._lock:
            moment = time.monotonic()
            self._sessions[session_id] = _TokenSession(visitor, token, moment, moment)
        return session_id


class ProxyHeaders(_Reviewed):
    """Several people, named by an authenticating reverse proxy's request headers."""

    shared = True
    login_form = False
    login_hint = (
        "open the console through its authenticating proxy (it accepts the proxy's headers "
        "only from the addresses given with --trusted-proxy)"
    )

    def __init__(
        self,
        kube: client.Kube,
        *,
        user_header: str,
        groups_header: str,
        trusted: Sequence[IpNetwork],
        key: bytes | None = None,
    ) -> None:
        super().__init__(kube)
        self.user_header = user_header
        self.groups_header = groups_header
        self.trusted = tuple(trusted)
        self._key = key or secrets.token_bytes(32)

    def _from_proxy(self, request: requests.Request) -> bool:
        """Whether the request came from an address the proxy connects from."""
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def visitor(self, request: requests.Request) -> Visitor | None:
        user = request.headers.get(self.user_header, "").strip()
        if not user or not self._from_proxy(request):
            return None
        groups = tuple(
            group.strip()
            for group in request.headers.get(self.groups_header, "").split(",")
            if group.strip()
        )
        csrf = hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()
        return Visitor(user, csrf, groups)

    async def login(self, secret: str) -> str:
        raise RefusedLogin("the proxy in front of the console logs people in")


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
