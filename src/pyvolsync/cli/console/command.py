"""``pyvolsync ui``: serve the web console on this machine with the user's own kubeconfig.

It binds a loopback address only (the console acts with the kubeconfig's credentials, so it must
not be reachable by anyone else), prints the address with a one-time login token, and follows
the fleet with watches until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Annotated

import typer
import uvicorn

from pyvolsync.cli import session, snapshots
from pyvolsync.cli.console import access, acting, app, browsing, live
from pyvolsync.kube import client, errors

DEFAULT_PORT = 8742


def ui(
    *,
    port: Annotated[
        int, typer.Option("--port", help="Port to serve on (0: any free one).", min=0, max=65535)
    ] = DEFAULT_PORT,
    address: Annotated[
        str, typer.Option("--address", help="Loopback address to bind (127.0.0.1 or ::1).")
    ] = "127.0.0.1",
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Show only this namespace (default: all you see)."),
    ] = None,
    repository_nfs: snapshots.RepositoryNfsOption = None,
    mover_image: snapshots.MoverImageOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Serve the web console on this machine: every backup at a glance, sync, pause, unlock,
    browse snapshots and download files."""
    _check_loopback(address)
    target = session.Target(kubeconfig, context, namespace)
    options = snapshots.JobOptions(repository_nfs=repository_nfs, mover_image=mover_image)
    try:
        listener = socket.create_server(
            (address, port), family=socket.AF_INET6 if ":" in address else socket.AF_INET
        )
    except OSError as error:
        raise session.fail(
            f"cannot listen on {address}:{port} ({error.strerror}); pick another with --port"
        ) from None
    try:
        asyncio.run(_serve(target, listener, namespace, options))
    except session.UserError as error:
        raise session.fail(str(error)) from None
    except errors.KubeError as error:
        raise session.fail(app.api_text(error)) from None
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None


def _check_loopback(address: str) -> None:
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise session.fail(
            f"--address {address}: the console serves on a loopback address only (it acts with "
            "your kubeconfig); to share it, run it in the cluster (docs/console.md)"
        )


async def _scope(kube: client.Kube, namespace: str | None) -> tuple[str | None, str | None]:
    """Return the namespace to watch (None: all) and what to tell the user about it."""
    if namespace:
        return namespace, f"Showing namespace {namespace} only (pyvolsync ui -n {namespace})."
    if await kube.allowed("list", "replicationsources", group=app.GROUP, namespace=""):
        return None, None
    own = kube.default_namespace
    return own, (
        f"You may not list backups in every namespace, so this shows namespace {own} only; "
        "pass -n NAMESPACE for another."
    )


async def _serve(
    target: session.Target,
    listener: socket.socket,
    namespace: str | None,
    options: snapshots.JobOptions,
) -> None:
    kube = target.connect()
    kube.instance = "pyvolsync-console"
    try:
        user = await kube.whoami()
        scope, note = await _scope(kube, namespace)
        fleet = live.Fleet(kube, namespace=scope)
        fleet.start()
        sessions = access.Sessions(user)
        console = app.Console(
            kube,
            fleet,
            sessions,
            acting.Acting(kube, fleet),
            browsing.Browser(kube, options),
            note,
        )
        server = uvicorn.Server(
            uvicorn.Config(app.create(console), log_level="warning", lifespan="off")
        )
        host, port = listener.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        typer.echo(
            f"pyvolsync console for {user}: http://{shown}:{port}/login?token="
            f"{sessions.launch_token}\n(open it in your browser; Ctrl-C stops the console)",
        )
        try:
            await server.serve(sockets=[listener])
        finally:
            await console.acting.stop()
            await fleet.stop()
    finally:
        await kube.close()
