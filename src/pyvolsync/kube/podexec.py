"""Running a command in a container through the API server (the ``pods/exec`` subresource).

Backup hooks run a command such as ``sqlite3 app.db ".backup ..."`` in the app's own container
before a backup. lightkube has no exec, so this module speaks the protocol itself: a WebSocket
to ``/api/v1/namespaces/<ns>/pods/<pod>/exec?container=…&command=…&stdout=true&stderr=true``
with the subprotocol ``v4.channel.k8s.io``, which the API server passes unchanged to the node's
kubelet. Every binary frame starts with its channel byte (1 stdout, 2 stderr, 3 the final
``metav1.Status``; empty frames only announce a channel and are ignored). The connection uses
the lightkube client's own server, CA, client certificate and credentials (token, token file,
exec plugin), so the operator needs nothing else than RBAC ``pods/exec``.

``run`` never raises for what happened to the command or the connection; it returns an
``ExecResult``:

- the command ran: ``exit_code`` is its exit code (0 on success); a non-zero one comes with the
  kubelet's message in ``error``. A command that could not be started is reported by the node
  the same way (the localcluster node: 127 not found, 126 not executable, the message naming the
  command and the reason; a container runtime may instead answer a Failure without exit code,
  then ``exit_code`` is None);
- ``timed_out``: the time ran out; the connection was closed, which makes the kubelet kill the
  command; ``exit_code`` is None and the output is what arrived until then;
- refused before it started: ``exit_code`` None, ``http_status`` the HTTP status and ``error``
  the message of the API server (404 no such pod, 403 RBAC, 400 no such container) or of the
  node (400 the container is not running, also when the pod has finished: the API server passes
  that on; only kubectl refuses it itself);
- the connection failed or ended without a Status: ``exit_code`` None and ``error`` says so.

Only the last 64 KiB of stdout and of stderr are kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
import urllib.parse
from collections.abc import Sequence
from typing import Any

import httpx2
import lightkube
from lightkube.config import client_adapter
from lightkube.core.exceptions import ConfigError
from websockets import exceptions as websocket_errors
from websockets.asyncio import client as websocket_client
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("v4.channel.k8s.io")
STDOUT, STDERR, ERROR = 1, 2, 3
OUTPUT_LIMIT = 64 * 1024
"""Bytes kept of each stream: the end, where a failing command says why."""
FRAME_LIMIT = 16 * 2**20
CLOSE_TIMEOUT_SECONDS = 2.0
MESSAGE_LIMIT = 1024


@dataclasses.dataclass(frozen=True)
class ExecResult:
    """How a command run in a container went (see the module's docstring)."""

    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    error: str = ""
    """Empty on success; otherwise why not, in the API server's or kubelet's words."""
    http_status: int = 0
    """The HTTP status of a refused exec (404 no such pod, 403 forbidden, 400 not running);
    0 when the exec was not refused."""

    @property
    def succeeded(self) -> bool:
        """Return True when the command ran and exited 0."""
        return self.exit_code == 0 and not self.timed_out


class TailBuffer:
    """Keeps the last ``limit`` bytes written to it."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.limit:
            del self.data[: len(self.data) - self.limit]

    def text(self) -> str:
        return self.data.decode(errors="replace")


def split_frame(message: bytes | str) -> tuple[int, bytes] | None:
    """Return (channel, data) of a frame; None for an empty frame or one with no data."""
    data = message.encode() if isinstance(message, str) else message
    if len(data) < 2:
        return None
    return data[0], bytes(data[1:])


def parse_status(document: bytes) -> tuple[int | None, str]:
    """Return the exit code and error message of the Status a kubelet sends on channel 3.

    Success is (0, ""); a ``NonZeroExitCode`` Failure gives its ``ExitCode`` cause; any other
    Failure (or a document that is not a Status) gives None and a message.
    """
    try:
        status = json.loads(document)
    except ValueError:
        return None, f"unreadable exit status: {_shorten(document.decode(errors='replace'))}"
    if not isinstance(status, dict):
        return None, f"unreadable exit status: {_shorten(str(status))}"
    if status.get("status") == "Success":
        return 0, ""
    message = str(status.get("message") or "the command failed")
    if status.get("reason") == "NonZeroExitCode":
        return _exit_code_cause(status), message
    return None, message


def _exit_code_cause(status: dict[str, Any]) -> int | None:
    causes = (status.get("details") or {}).get("causes") or []
    for cause in causes:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", ""))
            except ValueError:
                return None
    return None


def _shorten(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "…"


def refusal_message(status_code: int, body: bytes) -> str:
    """The reason of a refused upgrade: the API server's Status message, else the body."""
    text = body.decode(errors="replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("message"):
        return _shorten(str(document["message"]))
    return _shorten(text) or f"HTTP {status_code}"


def exec_path(namespace: str, pod: str, container: str, command: Sequence[str]) -> str:
    """The exec URL's path and query, as ``kubectl exec`` builds it."""
    query = urllib.parse.urlencode(
        [
            ("container", container),
            *(("command", word) for word in command),
            ("stdout", "true"),
            ("stderr", "true"),
        ]
    )
    quote = urllib.parse.quote
    return f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/exec?{query}"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where and as whom exec connections go: taken from a lightkube client."""

    server: str
    ssl_context: ssl.SSLContext | None
    auth: httpx2.Auth | None
    user_agent: str

    @classmethod
    def of(cls, client: lightkube.AsyncClient, *, user_agent: str) -> Endpoint:
        """The endpoint of ``client``: its kubeconfig's server, CA and client certificate, and
        its HTTP client's authentication (so a rotated token file is read as lightkube reads
        it). Raises lightkube's ConfigError or OSError when a certificate cannot be read."""
        generic: Any = client._client
        config = generic.config
        server = str(config.cluster.server).rstrip("/")
        context = None
        if server.startswith("https://"):
            context = client_adapter.verify_cluster(config.cluster, config.user, config.abs_file)
        auth: httpx2.Auth | None = generic._client.auth
        return cls(server=server, ssl_context=context, auth=auth, user_agent=user_agent)

    def url(self, path: str) -> str:
        """The WebSocket URL of ``path`` (wss for an https server)."""
        scheme, rest = self.server.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}"

    async def headers(self, path: str) -> dict[str, str]:
        """The Authorization header lightkube's client would send with a request to ``path``."""
        if self.auth is None:
            return {}
        flow = self.auth.async_auth_flow(httpx2.Request("GET", self.server + path))
        try:
            request = await flow.__anext__()
        finally:
            await flow.aclose()
        found = request.headers.get("Authorization")
        return {"Authorization": found} if found else {}


class _Collector:
    """What came back over one exec connection."""

    def __init__(self) -> None:
        self.stdout = TailBuffer()
        self.stderr = TailBuffer()
        self.status: tuple[int | None, str] | None = None

    def add(self, message: bytes | str) -> None:
        frame = split_frame(message)
        if frame is None:
            return
        channel, data = frame
        if channel == STDOUT:
            self.stdout.add(data)
        elif channel == STDERR:
            self.stderr.add(data)
        elif channel == ERROR:
            self.status = parse_status(data)

    def result(self, *, timed_out: bool = False, error: str = "") -> ExecResult:
        exit_code, message = self.status if self.status is not None else (None, "")
        if self.status is None and not error:
            error = "the connection ended before the command's exit status arrived"
        return ExecResult(
            exit_code=None if timed_out else exit_code,
            stdout=self.stdout.text(),
            stderr=self.stderr.text(),
            timed_out=timed_out,
            error=error or message,
        )


async def run(
    endpoint: Endpoint,
    namespace: str,
    pod: str,
    container: str,
    command: Sequence[str],
    *,
    timeout: float,
) -> ExecResult:
    """Run ``command`` in ``container`` of ``pod`` and wait at most ``timeout`` seconds."""
    if not command:
        return ExecResult(exit_code=None, error="no command given")
    collector = _Collector()
    path = exec_path(namespace, pod, container, command)
    try:
        async with asyncio.timeout(timeout):
            await _converse(endpoint, path, collector)
    except TimeoutError:
        error = f"did not finish within {timeout:g} s; the connection was closed"
        return collector.result(timed_out=True, error=error)
    except websocket_errors.InvalidStatus as refused:
        response = refused.response
        return ExecResult(
            exit_code=None,
            error=refusal_message(response.status_code, bytes(response.body)),
            http_status=response.status_code,
        )
    except (OSError, ConfigError, websocket_errors.WebSocketException, httpx2.HTTPError) as failed:
        return collector.result(error=f"exec connection failed: {failed}")
    return collector.result()


async def _converse(endpoint: Endpoint, path: str, collector: _Collector) -> None:
    """Open the exec WebSocket and collect frames until the kubelet closes it."""
    secure: dict[str, Any] = {"ssl": endpoint.ssl_context} if endpoint.ssl_context else {}
    async with websocket_client.connect(
        endpoint.url(path),
        **secure,
        additional_headers=await endpoint.headers(path),
        user_agent_header=endpoint.user_agent,
        subprotocols=[PROTOCOL],
        compression=None,
        open_timeout=None,
        close_timeout=CLOSE_TIMEOUT_SECONDS,
        max_size=FRAME_LIMIT,
    ) as connection:
        try:
            async for message in connection:
                collector.add(message)
        except websocket_errors.ConnectionClosedError:
            if collector.status is None:
                raise
