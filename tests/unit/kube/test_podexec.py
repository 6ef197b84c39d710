"""The operator's exec client reads the kubelet's frames and Status the way kubectl does.

The pure parts (frames, the channel-3 Status, the output tails, the URL) are checked directly;
``run`` is checked against a small WebSocket server on 127.0.0.1 that answers like a kubelet
behind the API server, so a timeout, a refusal and a connection that ends early are covered
without a cluster. The real path through kube-apiserver and the node agent is
tests/integration/test_nodeagent_exec.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from lightkube.config import client_adapter
from websockets.asyncio import server as websocket_server
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from pyvolsync.kube import fake, podexec

EXIT_3 = {
    "metadata": {},
    "status": "Failure",
    "message": (
        "command terminated with non-zero exit code: error executing command [sh], exit code 3"
    ),
    "reason": "NonZeroExitCode",
    "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
}


def test_a_frame_is_its_channel_byte_and_data() -> None:
    assert podexec.split_frame(b"\x01hello") == (1, b"hello")
    assert podexec.split_frame(b"\x02") is None, "a channel announcement carries no data"
    assert podexec.split_frame(b"") is None
    assert podexec.split_frame("\x01text") == (1, b"text")


def test_the_status_gives_the_exit_code() -> None:
    assert podexec.parse_status(b'{"metadata":{},"status":"Success"}') == (0, "")
    assert podexec.parse_status(json.dumps(EXIT_3).encode()) == (3, EXIT_3["message"])


def test_a_failure_without_exit_code_gives_its_message() -> None:
    internal = {
        "status": "Failure",
        "reason": "InternalError",
        "message": 'Internal error occurred: exec: "foo": executable file not found in $PATH',
    }
    assert podexec.parse_status(json.dumps(internal).encode()) == (None, internal["message"])
    broken_cause = {**EXIT_3, "details": {"causes": [{"reason": "ExitCode", "message": "x"}]}}
    assert podexec.parse_status(json.dumps(broken_cause).encode())[0] is None
    code, message = podexec.parse_status(b"not json")
    assert code is None
    assert "unreadable exit status: not json" in message


def test_only_the_end_of_each_stream_is_kept() -> None:
    tail = podexec.TailBuffer(limit=8)
    tail.add(b"0123456789")
    tail.add(b"ab")
    assert tail.text() == "456789ab"


def test_the_url_names_container_command_and_streams() -> None:
    path = podexec.exec_path("apps", "db-0", "db", ["sqlite3", "/data/app.db", ".backup /x y"])
    assert path == (
        "/api/v1/namespaces/apps/pods/db-0/exec?container=db&command=sqlite3"
        "&command=%2Fdata%2Fapp.db&command=.backup+%2Fx+y&stdout=true&stderr=true"
    )
    endpoint = podexec.Endpoint("https://10.0.0.1:6443/prefix", None, None, "agent")
    assert endpoint.url("/api") == "wss://10.0.0.1:6443/prefix/api"


def test_a_refusal_says_what_the_api_server_said() -> None:
    body = json.dumps({"kind": "Status", "message": 'pods "db-0" not found', "code": 404})
    assert podexec.refusal_message(404, body.encode()) == 'pods "db-0" not found'
    assert podexec.refusal_message(400, b"container is not running\n") == (
        "container is not running"
    )
    assert podexec.refusal_message(502, b"") == "HTTP 502"


# --- run, against a local server that answers like a kubelet ---------------------------------

Handler = Callable[[websocket_server.ServerConnection], Awaitable[None]]


@pytest.fixture
async def kubelet() -> AsyncIterator[Callable[[Handler], Awaitable[podexec.Endpoint]]]:
    servers: list[websocket_server.Server] = []

    async def start(handler: Handler) -> podexec.Endpoint:
        server = await websocket_server.serve(
            handler, "127.0.0.1", 0, subprotocols=[podexec.PROTOCOL], process_request=refuse_pod
        )
        servers.append(server)
        port = next(iter(server.sockets)).getsockname()[1]
        auth = client_adapter.BearerAuth("secret-token")
        return podexec.Endpoint(f"http://127.0.0.1:{port}", None, auth, "pyvolsync-test")

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def refuse_pod(connection: websocket_server.ServerConnection, request: Request) -> Response | None:
    """Answer like the API server for the pod named ``gone``; check the credentials."""
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.headers["User-Agent"] == "pyvolsync-test"
    if "/pods/gone/" in request.path:
        body = json.dumps({"kind": "Status", "message": 'pods "gone" not found', "code": 404})
        return Response(
            404, "Not Found", Headers({"Content-Type": "application/json"}), body.encode()
        )
    return None


async def test_output_and_exit_code_come_back(
    kubelet: Callable[[Handler], Awaitable[podexec.Endpoint]],
) -> None:
    async def answer(connection: websocket_server.ServerConnection) -> None:
        assert "command=sh" in (connection.request.path if connection.request else "")
        for frame in (b"\x01", b"\x01hello\n", b"\x02oops\n", b"\x01bye\n"):
            await connection.send(frame)
        await connection.send(b"\x03" + json.dumps(EXIT_3).encode())

    endpoint = await kubelet(answer)
    result = await podexec.run(endpoint, "apps", "db-0", "db", ["sh"], timeout=30)
    assert result == podexec.ExecResult(
        exit_code=3, stdout="hello\nbye\n", stderr="oops\n", error=EXIT_3["message"]
    )
    assert not result.succeeded


async def test_a_timeout_closes_the_connection(
    kubelet: Callable[[Handler], Awaitable[podexec.Endpoint]],
) -> None:
    closed = asyncio.Event()

    async def hang(connection: websocket_server.ServerConnection) -> None:
        await connection.send(b"\x01started\n")
        await connection.wait_closed()
        closed.set()

    endpoint = await kubelet(hang)
    result = await podexec.run(endpoint, "apps", "db-0", "db", ["cat"], timeout=0.5)
    assert result.timed_out
    assert result.exit_code is None
    assert result.stdout == "started\n"
    assert "did not finish within 0.5 s" in result.error
    await asyncio.wait_for(closed.wait(), 10)


async def test_a_refused_exec_gives_the_status_and_message(
    kubelet: Callable[[Handler], Awaitable[podexec.Endpoint]],
) -> None:
    async def never(connection: websocket_server.ServerConnection) -> None:
        raise AssertionError("the refused request must not be served")

    endpoint = await kubelet(never)
    result = await podexec.run(endpoint, "apps", "gone", "db", ["true"], timeout=30)
    assert result == podexec.ExecResult(
        exit_code=None, error='pods "gone" not found', http_status=404
    )


async def test_a_connection_that_ends_without_status_is_an_error(
    kubelet: Callable[[Handler], Awaitable[podexec.Endpoint]],
) -> None:
    async def vanish(connection: websocket_server.ServerConnection) -> None:
        await connection.send(b"\x01partial")

    endpoint = await kubelet(vanish)
    result = await podexec.run(endpoint, "apps", "db-0", "db", ["true"], timeout=30)
    assert result.exit_code is None
    assert result.stdout == "partial"
    assert "ended before the command's exit status" in result.error


async def test_no_command_is_an_error_without_a_connection() -> None:
    endpoint = podexec.Endpoint("https://127.0.0.1:1", None, None, "agent")
    result = await podexec.run(endpoint, "apps", "db-0", "db", [], timeout=1)
    assert result == podexec.ExecResult(exit_code=None, error="no command given")


# --- the fake Kube's exec ---------------------------------------------------------------------

APP_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "db-0", "namespace": "apps"},
    "spec": {"containers": [{"name": "db", "image": "sqlite"}]},
    "status": {"phase": "Running"},
}


async def test_the_fake_answers_what_the_test_programmed() -> None:
    kube = fake.FakeKube()
    kube.put(APP_POD)
    kube.exec_results[("true",)] = podexec.ExecResult(exit_code=0)
    kube.exec_results[("echo", "x")] = lambda call: podexec.ExecResult(
        exit_code=0, stdout=f"{call.pod}\n"
    )

    assert (await kube.exec("apps", "db-0", "db", ["true"], timeout=5)).succeeded
    assert (await kube.exec("apps", "db-0", "db", ["echo", "x"], timeout=5)).stdout == "db-0\n"
    missing = await kube.exec("apps", "db-0", "db", ["sqlite3"], timeout=5)
    assert missing.exit_code == 127
    assert 'exec: "sqlite3": executable file not found in $PATH' in missing.error
    assert [call.command for call in kube.exec_calls] == [("true",), ("echo", "x"), ("sqlite3",)]


async def test_the_fake_refuses_a_missing_or_finished_pod() -> None:
    kube = fake.FakeKube()
    gone = await kube.exec("apps", "db-0", "db", ["true"], timeout=5)
    assert (gone.http_status, gone.error) == (404, 'pods "db-0" not found')
    kube.put({**APP_POD, "status": {"phase": "Succeeded"}})
    done = await kube.exec("apps", "db-0", "db", ["true"], timeout=5)
    assert (done.http_status, done.error) == (400, 'container "db" in pod "db-0" is not running')
