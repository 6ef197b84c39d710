"""``pyvolsync ui``: serve the web console, for oneself or for several people.

By default it serves one person on their own machine: it acts with their kubeconfig, so it
binds a loopback address only and prints the address with a one-time login token. With
``--auth token`` or ``--auth proxy`` it serves several people (in the cluster, from the Helm
chart): it acts with its own ServiceAccount, logs people in with a Kubernetes token or through
an authenticating proxy, and asks the API server what each may do (``access``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import ipaddress
import socket
from typing import Annotated

import typer
import uvicorn

from pyvolsync.cli import session, snapshots
from pyvolsync.cli.console import access, acting, app, browsing, inplacing, kinds, live
from pyvolsync.kube import client, errors

DEFAULT_PORT = 8742


class Auth(enum.StrEnum):
    """The ``--auth`` option's values."""

    LOCAL = "local"
    """One person, with their kubeconfig (the launch token)."""
    TOKEN = "token"
    """Several people, each with a Kubernetes bearer token."""
    PROXY = "proxy"
    """Several people, named by an authenticating reverse proxy's headers."""


def ui(
    *,
    port: Annotated[
        int, typer.Option("--port", help="Port to serve on (0: any free one).", min=0, max=65535)
    ] = DEFAULT_PORT,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Address to bind (default 127.0.0.1; --auth local allows loopback only).",
        ),
    ] = None,
    auth: Annotated[
        Auth,
        typer.Option(
            "--auth",
            help="local: you, with your kubeconfig; token or proxy: several people, "
            "in the cluster (docs/console.md).",
        ),
    ] = Auth.LOCAL,
    user_header: Annotated[
        str, typer.Option("--user-header", help="With --auth proxy: the header naming the user.")
    ] = "X-Forwarded-User",
    groups_header: Annotated[
        str,
        typer.Option(
            "--groups-header", help="With --auth proxy: the header listing the user's groups."
        ),
    ] = "X-Forwarded-Groups",
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="With --auth proxy: an address or network (CIDR) the proxy connects from; "
            "headers from anywhere else are ignored. Repeat for several.",
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Show only this namespace (default: all you see)."),
    ] = None,
    repository_nfs: snapshots.RepositoryNfsOption = None,
    mover_image: snapshots.MoverImageOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Serve the web console: every backup at a glance, sync, pause, unlock, browse snapshots
    and download files."""
    bound = address or ("0.0.0.0" if auth is not Auth.LOCAL else "127.0.0.1")
    if auth is Auth.LOCAL:
        _check_loopback(bound)
    listener = _listen(bound, port)
    settings = _Settings(
        target=session.Target(kubeconfig, context, namespace),
        namespace=namespace,
        options=snapshots.JobOptions(repository_nfs=repository_nfs, mover_image=mover_image),
        auth=auth,
        headers=(user_header, groups_header),
        trusted=_trusted(auth, trusted_proxy or []),
    )
    try:
        asyncio.run(_serve(settings, listener))
    except session.UserError as error:
        raise session.fail(str(error)) from None
    except errors.KubeError as error:
        raise session.fail(app.api_text(error)) from None
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Settings:
    """What the console was started with."""

    target: session.Target
    namespace: str | None
    options: snapshots.JobOptions
    auth: Auth
    headers: tuple[str, str]
    trusted: tuple[access.IpNetwork, ...]


def _trusted(auth: Auth, given: list[str]) -> tuple[access.IpNetwork, ...]:
    """Return the proxy's networks; refuse a proxy console without them, or a bad one."""
    if auth is not Auth.PROXY:
        if given:
            raise session.fail("--trusted-proxy goes with --auth proxy only")
        return ()
    if not given:
        raise session.fail(
            "--auth proxy needs --trusted-proxy ADDRESS_OR_CIDR: the console takes the identity "
            "headers only from the proxy (e.g. 127.0.0.1 when oauth2-proxy runs beside it in "
            "the pod, or the pod network's CIDR)"
        )
    networks = []
    for text in given:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise session.fail(
                f"--trusted-proxy {text!r} is not an IP address or network (10.42.0.0/16)"
            ) from None
    return tuple(networks)


def _listen(address: str, port: int) -> socket.socket:
    try:
        return socket.create_server(
            (address, port), family=socket.AF_INET6 if ":" in address else socket.AF_INET
        )
    except OSError as error:
        raise session.fail(
            f"cannot listen on {address}:{port} ({error.strerror}); pick another with --port"
        ) from None


def _check_loopback(address: str) -> None:
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise session.fail(
            f"--address {address}: the console serves on a loopback address only (it acts with "
            "your kubeconfig); to share it, run it with --auth token or --auth proxy "
            "(docs/console.md)"
        )


async def _scope(kube: client.Kube, namespace: str | None) -> tuple[str | None, str | None]:
    """Return the namespace to watch (None: all) and what to tell the user about it."""
    if namespace:
        return namespace, f"Showing namespace {namespace} only (pyvolsync ui -n {namespace})."
    if await kube.allowed("list", "replicationsources", group=kinds.GROUP, namespace=""):
        return None, None
    own = kube.default_namespace
    return own, (
        f"You may not list backups in every namespace, so this shows namespace {own} only; "
        "pass -n NAMESPACE for another."
    )


async def _doorkeeper(kube: client.Kube, settings: _Settings) -> access.Doorkeeper:
    if settings.auth is Auth.TOKEN:
        return access.TokenLogin(kube)
    if settings.auth is Auth.PROXY:
        user_header, groups_header = settings.headers
        return access.ProxyHeaders(
            kube, user_header=user_header, groups_header=groups_header, trusted=settings.trusted
        )
    return access.LaunchToken(kube, await kube.whoami())


def _address(listener: socket.socket, doorkeeper: access.Doorkeeper) -> str:
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if isinstance(doorkeeper, access.LaunchToken):
        return (
            f"pyvolsync console for {doorkeeper.user}: http://{shown}:{port}/login?token="
            f"{doorkeeper.launch_token}\n(open it in your browser; Ctrl-C stops the console)"
        )
    return f"pyvolsync console for several people ({doorkeeper.login_hint}): http://{shown}:{port}/"


async def _serve(settings: _Settings, listener: socket.socket) -> None:
    kube = settings.target.connect()
    kube.instance = "pyvolsync-console"
    try:
        doorkeeper = await _doorkeeper(kube, settings)
        scope, note = await _scope(kube, settings.namespace)
        fleet = live.Fleet(kube, namespace=scope)
        fleet.start()
        console = app.Console(
            kube,
            fleet,
            doorkeeper,
            acting.Acting(kube, fleet),
            browsing.Browser(kube, settings.options),
            inplacing.Runs(kube, settings.options),
            None if doorkeeper.shared else note,
        )
        server = uvicorn.Server(
            uvicorn.Config(app.create(console), log_level="warning", lifespan="off")
        )
        typer.echo(_address(listener, doorkeeper))
        try:
            await server.serve(sockets=[listener])
        finally:
            await console.acting.stop()
            await fleet.stop()
    finally:
        await kube.close()
