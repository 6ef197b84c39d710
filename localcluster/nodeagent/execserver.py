"""The kubelet's exec endpoint, so ``pods/exec`` (``kubectl exec``, the operator's hooks) works.

kube-apiserver serves ``pods/exec`` by proxying the client's WebSocket upgrade to
``https://<node InternalIP>:<kubelet port>/exec/<ns>/<pod>/<container>?command=…&input=1&output=1
&error=1&tty=1`` (the client's stdin, stdout, stderr and tty; a flag is absent when false). A
``v4.channel.k8s.io`` upgrade is passed on unchanged. A ``v5.channel.k8s.io`` upgrade (``kubectl
exec`` since 1.30) is passed on unchanged only to a Node that declares the
``ExtendWebSocketsToKubelet`` feature, which this one does (``node.py``); toward other nodes the
API server translates it into SPDY, which this server does not speak. Both protocols therefore
arrive here as WebSockets and are served on the log server's HTTPS port, with the same (lack of)
authentication: 127.0.0.1 only, no client check.

The protocol: binary frames whose first byte is the channel (0 stdin, 1 stdout, 2 stderr,
3 error, 4 resize, ignored); v5 adds ``[255, channel]``, the client closing a channel (here:
end of stdin). As a kubelet does, the server first sends an empty frame on the lowest channel it
writes, then the output as it comes, then a ``metav1.Status`` on channel 3, and closes: Success,
or Failure with reason ``NonZeroExitCode``, the message ``command terminated with non-zero exit
code: error executing command [...], exit code N`` and N as the ``ExitCode`` cause (128 + n for a
command killed by signal n).

The command runs through ``enter.py`` in the container's mount namespace and root, with the uid,
gid, groups, environment and working directory of the container's plan. A command that cannot be
started ends with a NonZeroExitCode Status too: exit code 127 when it is not found, 126 when it
is not executable (or the container cannot be entered), and a message naming the command and the
reason (``cannot run command [foo]: exec: "foo": executable file not found in $PATH (exit code
127)``); the reason is also written to stderr, where a terminal user sees it. When the WebSocket
closes before the command ends (the client went away or gave up) or the container stops, the
command's process tree is killed.

Refused with a plain HTTP error before the upgrade: a pod or container this node does not run
(404), a container that is not running (400: waiting, finished, its process gone), ``tty=1``, no
command, and anything that is not a v4/v5 WebSocket upgrade such as SPDY (400).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import pathlib
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import WSMsgType, web
from multidict import MultiMapping

from localcluster.nodeagent import images

LOG = logging.getLogger(__name__)
ENTER = pathlib.Path(__file__).with_name("enter.py")
PATH = "/exec/{namespace}/{pod}/{container}"
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STREAM_CLOSE_PROTOCOL = "v5.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR = 0, 1, 2, 3
CLOSE_SIGNAL = 255
READ_BYTES = 32 * 1024
START_WAIT_SECONDS = 10.0
START_POLL_SECONDS = 0.05
WATCH_SECONDS = 0.5
OUTPUT_GRACE_SECONDS = 2.0
"""How long output is still forwarded after the command exited (a background child it left
may hold its stdout open for ever)."""
TRUE_VALUES = {"1", "true", "True"}
STREAM_PARAMETERS = (("stdin", "input"), ("stdout", "output"), ("stderr", "error"))
"""The streams a client asks for, by the kubelet's query parameter names."""


@dataclasses.dataclass(frozen=True)
class Target:
    """A running container: its main process and the plan it was started from."""

    pid: int
    plan: pathlib.Path


class UnavailableError(Exception):
    """No running container to exec in; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


FindTarget = Callable[[str, str, str], Target]
"""(namespace, pod, container) → the running container; raises UnavailableError."""


@dataclasses.dataclass(frozen=True)
class Options:
    """What the exec request asks for."""

    command: tuple[str, ...]
    stdin: bool
    stdout: bool
    stderr: bool


def options_of(query: MultiMapping[str]) -> Options:
    """Read the kubelet's query parameters; raise ValueError for a request it would refuse."""
    command = tuple(query.getall("command", ()))
    if not command:
        raise ValueError("you must specify at least 1 command")
    if query.get("tty") in TRUE_VALUES:
        raise ValueError("tty is not supported by the localcluster node agent")
    flags = {stream: query.get(name) in TRUE_VALUES for stream, name in STREAM_PARAMETERS}
    if not any(flags.values()):
        raise ValueError("you must specify at least one of stdin, stdout, stderr")
    return Options(command, **flags)


def chosen_protocol(offered: str) -> str | None:
    """The first WebSocket subprotocol the client offers that this server speaks."""
    names = (name.strip() for name in offered.split(","))
    return next((name for name in names if name in PROTOCOLS), None)


def frame(channel: int, data: bytes) -> bytes:
    return bytes([channel]) + data


def exit_code_of(returncode: int) -> int:
    """The exit code a runtime reports: 128 + n for a process killed by signal n."""
    return 128 - returncode if returncode < 0 else returncode


def command_text(command: Iterable[str]) -> str:
    return "[" + " ".join(command) + "]"


def failure_status(message: str, exit_code: int) -> dict[str, Any]:
    return {
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]},
    }


def exit_status(command: Iterable[str], exit_code: int) -> dict[str, Any]:
    """The Status a kubelet writes on channel 3 when the command has ended."""
    if exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    message = (
        "command terminated with non-zero exit code: error executing command "
        f"{command_text(command)}, exit code {exit_code}"
    )
    return failure_status(message, exit_code)


def start_failure_status(command: Iterable[str], reason: str, exit_code: int) -> dict[str, Any]:
    """The Status for a command that could not be started (not found, not executable)."""
    message = f"cannot run command {command_text(command)}: {reason} (exit code {exit_code})"
    return failure_status(message, exit_code)


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, parents first (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = pathlib.Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def kill_tree(pid: int) -> None:
    """SIGKILL the command's process group and every descendant (even in other groups)."""
    members = process_tree(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for member in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)


def read_all(descriptor: int) -> bytes:
    chunks = []
    while chunk := os.read(descriptor, 4096):
        chunks.append(chunk)
    return b"".join(chunks)


def has_own_root(pid: int) -> bool:
    """True once the container's process has taken its own root (``launch.py`` chrooted)."""
    own = os.stat(f"/proc/{pid}/root")
    host = os.stat("/")
    return (own.st_dev, own.st_ino) != (host.st_dev, host.st_ino)


async def wait_until_started(pid: int) -> bool:
    """Wait until the container's root is built; False when it does not happen in time."""
    deadline = asyncio.get_running_loop().time() + START_WAIT_SECONDS
    while not has_own_root(pid):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(START_POLL_SECONDS)
    return True


class ExecSession:
    """One exec: the command's process, its streams over the WebSocket, and its end."""

    def __init__(
        self,
        socket: web.WebSocketResponse,
        options: Options,
        target: Target,
        *,
        stream_close: bool,
        still_running: Callable[[], bool],
    ) -> None:
        self.socket = socket
        self.options = options
        self.target = target
        self.stream_close = stream_close
        self.still_running = still_running

    async def run(self) -> None:
        """Run the command until it ends (then report how) or the client goes (then kill it)."""
        await self.send(frame(self.first_channel(), b""))
        process, errors = await self.spawn()
        ended = asyncio.create_task(self.command_ended(process))
        client_gone = asyncio.create_task(self.receive(process))
        container_gone = asyncio.create_task(self.watch(process))
        try:
            await asyncio.wait({ended, client_gone}, return_when=asyncio.FIRST_COMPLETED)
            if ended.done() and process.returncode is not None:
                await self.finish(process.returncode, read_all(errors))
        finally:
            for task in (ended, client_gone, container_gone):
                task.cancel()
            os.close(errors)
            if process.returncode is None:
                kill_tree(process.pid)
            await process.wait()
            await asyncio.gather(ended, client_gone, container_gone, return_exceptions=True)

    def first_channel(self) -> int:
        """The lowest channel written to: its empty frame tells the client the exec is open."""
        if self.options.stdout:
            return STDOUT
        return STDERR if self.options.stderr else ERROR

    async def spawn(self) -> tuple[asyncio.subprocess.Process, int]:
        """Start ``enter.py``; return the process and the read end of its error pipe."""
        read_end, write_end = os.pipe()
        pipe = asyncio.subprocess.PIPE
        devnull = asyncio.subprocess.DEVNULL
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-S",
                str(ENTER),
                str(write_end),
                str(self.target.pid),
                str(self.target.plan),
                "--",
                *self.options.command,
                stdin=pipe if self.options.stdin else devnull,
                stdout=pipe if self.options.stdout else devnull,
                stderr=pipe if self.options.stderr else devnull,
                pass_fds=(write_end,),
                start_new_session=True,
                env={"PATH": images.STANDARD_PATH},
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        return process, read_end

    async def command_ended(self, process: asyncio.subprocess.Process) -> None:
        """Wait for the command, then for its output (for a short while)."""
        pumps = [
            asyncio.create_task(self.pump(stream, channel))
            for stream, channel in ((process.stdout, STDOUT), (process.stderr, STDERR))
            if stream is not None
        ]
        try:
            await process.wait()
            if pumps:
                await asyncio.wait(pumps, timeout=OUTPUT_GRACE_SECONDS)
        finally:
            for pump in pumps:
                pump.cancel()

    async def pump(self, stream: asyncio.StreamReader, channel: int) -> None:
        while chunk := await stream.read(READ_BYTES):
            await self.send(frame(channel, chunk))

    async def send(self, data: bytes) -> None:
        """Send a frame; a client that is gone is noticed by ``receive``."""
        with contextlib.suppress(ConnectionError):
            await self.socket.send_bytes(data)

    async def receive(self, process: asyncio.subprocess.Process) -> None:
        """Forward stdin until the client closes the WebSocket (or goes away)."""
        async for message in self.socket:
            if message.type is WSMsgType.BINARY:
                await self.take(message.data, process)

    async def take(self, data: bytes, process: asyncio.subprocess.Process) -> None:
        if len(data) < 2 or process.stdin is None:
            return
        channel, payload = data[0], data[1:]
        with contextlib.suppress(ConnectionError):
            if self.stream_close and channel == CLOSE_SIGNAL and payload[0] == STDIN:
                process.stdin.close()
            elif channel == STDIN and not process.stdin.is_closing():
                process.stdin.write(payload)
                await process.stdin.drain()

    async def watch(self, process: asyncio.subprocess.Process) -> None:
        """Kill the command when its container stops, as the container's end would."""
        while process.returncode is None:
            await asyncio.sleep(WATCH_SECONDS)
            if process.returncode is None and not self.still_running():
                LOG.info("the container of an exec stopped: killing the exec's processes")
                kill_tree(process.pid)
                return

    async def finish(self, returncode: int, start_error: bytes) -> None:
        """Write the final Status on channel 3 and close."""
        code = exit_code_of(returncode)
        reason = start_error.decode(errors="replace").strip()
        if reason:
            if self.options.stderr:
                await self.send(frame(STDERR, reason.encode() + b"\n"))
            status = start_failure_status(self.options.command, reason, code)
        else:
            status = exit_status(self.options.command, code)
        await self.send(frame(ERROR, json.dumps(status).encode()))
        await self.socket.close()


class ExecServer:
    """Serves ``/exec/<ns>/<pod>/<container>`` for the containers ``find`` knows."""

    def __init__(self, find: FindTarget) -> None:
        self.find = find

    def routes(self) -> list[web.RouteDef]:
        """GET carries WebSocket upgrades; POST is where SPDY would come (refused)."""
        return [web.get(PATH, self.handle), web.post(PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        names = tuple(request.match_info[key] for key in ("namespace", "pod", "container"))
        namespace, pod, container = names
        protocol = chosen_protocol(request.headers.get("Sec-WebSocket-Protocol", ""))
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if request.method != "GET" or not upgrade or protocol is None:
            wanted = " or ".join(PROTOCOLS)
            message = f"exec needs a WebSocket upgrade with subprotocol {wanted}"
            return web.Response(status=400, text=f"{message}; SPDY is not supported here")
        try:
            options = options_of(request.query)
            target = await self.started_target(namespace, pod, container)
        except ValueError as error:
            return web.Response(status=400, text=str(error))
        except UnavailableError as error:
            return web.Response(status=error.status, text=str(error))
        socket = web.WebSocketResponse(protocols=(protocol,), compress=False)
        await socket.prepare(request)
        session = ExecSession(
            socket,
            options,
            target,
            stream_close=protocol == STREAM_CLOSE_PROTOCOL,
            still_running=lambda: self.same_process(namespace, pod, container, target.pid),
        )
        await session.run()
        return socket

    async def started_target(self, namespace: str, pod: str, container: str) -> Target:
        """The running container, once its root is built; raise UnavailableError otherwise."""
        target = self.find(namespace, pod, container)
        which = f'container "{container}" in pod "{pod}"'
        try:
            started = await wait_until_started(target.pid)
        except OSError:
            raise UnavailableError(400, f"{which} is not running") from None
        if not started:
            raise UnavailableError(400, f"{which} is still starting")
        return target

    def same_process(self, namespace: str, pod: str, container: str, pid: int) -> bool:
        try:
            return self.find(namespace, pod, container).pid == pid
        except UnavailableError:
            return False
