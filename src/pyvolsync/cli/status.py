"""``pyvolsync status``: every backup and restore in one table, or as JSON/YAML for scripts.

This answers the spec's first troubleshooting question (``kubectl get replicationsource,
replicationdestination -A`` and a describe per object) in one command, with what upstream never
shows: the snapshot the last sync wrote, the bytes it added, and how far a running one is.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated

import rich.console
import rich.live
import typer
import yaml

from pyvolsync.cli import session, views
from pyvolsync.kube import client

WATCH_INTERVAL_SECONDS = 2.0
FINISH_FETCH_SECONDS = 5.0
"""How long a table being fetched when Ctrl-C comes may take to finish before the exit."""
INTERRUPTED_EXIT = 130
"""What a shell reports for a command stopped by Ctrl-C (128 + SIGINT)."""


class OutputFormat(enum.StrEnum):
    """The ``-o`` option's values."""

    TABLE = "table"
    WIDE = "wide"
    """Every column, however wide the terminal (as ``kubectl get -o wide``)."""
    JSON = "json"
    YAML = "yaml"


async def rows(kube: client.Kube, *, namespace: str | None) -> list[views.JsonObject]:
    """Return the status rows of every source and destination (in ``namespace``, or all)."""
    objects = [
        *await kube.list(client.Kind.REPLICATION_SOURCE, namespace=namespace),
        *await kube.list(client.Kind.REPLICATION_DESTINATION, namespace=namespace),
    ]
    found = [views.status_row(item) for item in objects]
    return sorted(found, key=lambda row: (row["namespace"], row["name"], row["kind"]))


def status(
    *,
    namespace: session.NamespaceOption = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh every 2 s until Ctrl-C.")
    ] = False,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--output", "-o", help="table (the columns that fit), wide (all), json or yaml."
        ),
    ] = OutputFormat.TABLE,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Show every ReplicationSource and ReplicationDestination: last sync, result, progress."""
    target = session.Target(kubeconfig, context, namespace)
    console = rich.console.Console()

    async def body(kube: client.Kube) -> None:
        scope = None if all_namespaces else target.namespace_of(kube)
        if output in (OutputFormat.JSON, OutputFormat.YAML):
            typer.echo(_document(await rows(kube, namespace=scope), output).rstrip("\n"))
            return
        wide = output is OutputFormat.WIDE

        async def current() -> rich.console.RenderableType:
            return _render(await rows(kube, namespace=scope), scope, console, wide=wide)

        if not watch:
            console.print(await current(), crop=not wide)
            return
        if not console.is_terminal:  # a log or a pipe: one table after the other

            def show(table: rich.console.RenderableType) -> None:
                console.print(table, crop=not wide)
                console.print()

            await _watch(current, show)
            return
        with rich.live.Live(console=console, auto_refresh=False) as live:
            await _watch(current, lambda table: live.update(table, refresh=True))

    session.run(body, target)


async def _watch(
    current: Callable[[], Awaitable[rich.console.RenderableType]],
    show: Callable[[rich.console.RenderableType], None],
) -> None:
    """Show ``current()`` every WATCH_INTERVAL_SECONDS until SIGINT or SIGTERM, then exit 130.

    The signals only set an event the loop waits on: a table being fetched is finished or
    dropped, never cancelled in the middle of an API request.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stopping = asyncio.ensure_future(stop.wait())
    while not stop.is_set():
        drawing = asyncio.ensure_future(current())
        await asyncio.wait({drawing, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            await asyncio.wait({drawing}, timeout=FINISH_FETCH_SECONDS)
            break
        show(drawing.result())
        await asyncio.wait({stopping}, timeout=WATCH_INTERVAL_SECONDS)
    raise typer.Exit(code=INTERRUPTED_EXIT)


def _document(found: list[views.JsonObject], output: OutputFormat) -> str:
    if output is OutputFormat.JSON:
        return json.dumps(found, indent=2)
    return yaml.safe_dump(found, sort_keys=False)


def _render(
    found: list[views.JsonObject],
    scope: str | None,
    console: rich.console.Console,
    *,
    wide: bool,
) -> rich.console.RenderableType:
    """Return the table (the columns that fit the console, or all when ``wide``) or a note."""
    if not found:
        where = f"namespace {scope!r}" if scope else "any namespace"
        return f"No ReplicationSource or ReplicationDestination in {where}" + (
            " (try -A for every namespace)." if scope else "."
        )
    now = datetime.datetime.now(datetime.UTC)
    if wide:
        console.width = max(console.width, views.table_width(views.status_columns(now), found))
        return views.status_table(found, now=now)
    return views.status_table(found, now=now, width=console.width)
