"""The kubelet's log endpoint, so ``kubectl logs`` works against the local cluster.

kube-apiserver serves ``pods/log`` by proxying to ``https://<node InternalIP>:<kubelet port>
/containerLogs/<ns>/<pod>/<container>``. This server answers that path from the agent's log files
(``follow``, ``tailLines``, ``limitBytes``, ``previous``; ``timestamps`` and ``sinceSeconds`` are
ignored) over HTTPS with a self-signed certificate. The apiserver does not verify the kubelet's
certificate unless ``--kubelet-certificate-authority`` is set. It listens on 127.0.0.1 only and
does not authenticate callers. Other kubelet endpoints share this server and port: their routes
are handed in (the exec endpoint, ``execserver.py``).
"""

from __future__ import annotations

import asyncio
import collections.abc
import datetime
import ipaddress
import logging
import pathlib
import ssl

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from localcluster.nodeagent import layout

LOG = logging.getLogger(__name__)
FOLLOW_POLL_SECONDS = 0.2
IsRunning = collections.abc.Callable[[str, str, str], bool]


def write_certificate(directory: pathlib.Path, node_name: str) -> tuple[pathlib.Path, pathlib.Path]:
    """A self-signed serving certificate for 127.0.0.1 (reused across restarts)."""
    certificate_path, key_path = directory / "kubelet.crt", directory / "kubelet.key"
    if certificate_path.exists() and key_path.exists():
        return certificate_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{node_name}@localcluster")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(node_name),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate_path, key_path


def select(data: bytes, *, tail_lines: int | None, limit_bytes: int | None) -> bytes:
    if tail_lines is not None:
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[-tail_lines:]) if tail_lines > 0 else b""
    if limit_bytes is not None:
        data = data[:limit_bytes]
    return data


def optional_int(value: str | None) -> int | None:
    return int(value) if value not in {None, ""} else None


class LogServer:
    def __init__(
        self,
        state: layout.StateLayout,
        *,
        node_name: str,
        is_running: IsRunning,
        routes: collections.abc.Sequence[web.RouteDef] = (),
    ) -> None:
        self.state = state
        self.node_name = node_name
        self.is_running = is_running
        self.routes = routes
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, port: int = 0) -> int:
        certificate, key = write_certificate(self.state.kubelet_dir(), self.node_name)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
        app = web.Application()
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self.container_logs)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_routes(self.routes)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self.port

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        namespace = request.match_info["namespace"]
        pod = request.match_info["pod"]
        container = request.match_info["container"]
        query = request.query
        previous = query.get("previous") == "true"
        path = (
            self.state.previous_log_file(namespace, pod, container)
            if previous
            else self.state.log_file(namespace, pod, container)
        )
        if not path.exists():
            message = f'container "{container}" in pod "{pod}" is waiting to start'
            if previous:
                message = f'previous terminated container "{container}" in pod "{pod}" not found'
            return web.Response(status=400, text=message)
        try:
            tail_lines = optional_int(query.get("tailLines"))
            limit_bytes = optional_int(query.get("limitBytes"))
        except ValueError:
            return web.Response(status=400, text="invalid tailLines or limitBytes")
        data = select(path.read_bytes(), tail_lines=tail_lines, limit_bytes=limit_bytes)
        follow = query.get("follow") == "true" and not previous
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(data)
        if follow:
            await self.follow(
                response, path, offset=path.stat().st_size, names=(namespace, pod, container)
            )
        await response.write_eof()
        return response

    async def follow(
        self,
        response: web.StreamResponse,
        path: pathlib.Path,
        *,
        offset: int,
        names: tuple[str, str, str],
    ) -> None:
        """Stream new output until the container is no longer running."""
        while True:
            running = self.is_running(*names)
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            if chunk:
                offset += len(chunk)
                await response.write(chunk)
            elif not running:
                return
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
