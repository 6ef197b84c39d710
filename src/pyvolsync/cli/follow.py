"""Following a sync the CLI started until the object says it answered: ``sync/restore --wait``.

The operator writes ``status.progress`` at most every 10 s while a mover runs and sets
``status.lastManualSync`` to the trigger value when the sync is over; this module polls the
object and shows that: a rich progress bar on a terminal, one line per change otherwise (so a
log or a CI job records how the sync went). The exit code says how it ended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import rich.console
import rich.progress

from pyvolsync.cli import session, views
from pyvolsync.kube import client

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
FAILED = "Failed"
FLOW_REASONS = frozenset({"SyncInProgress", "CleaningUp", "WaitingForSchedule", "WaitingForManual"})
"""Reasons that say where the object is in its cycle, not why the last sync failed."""


@dataclasses.dataclass(frozen=True)
class Followed:
    """Which object, and which trigger value it has to answer."""

    kind: client.Kind
    name: str
    namespace: str
    done: Callable[[Mapping[str, Any]], bool]
    """Whether the status shows the awaited sync has finished."""


def answered(value: str) -> Callable[[Mapping[str, Any]], bool]:
    """Return the test for a finished manual sync: ``lastManualSync`` is ``value``."""

    def done(status: Mapping[str, Any]) -> bool:
        return status.get("lastManualSync") == value and not status.get("lastSyncStartTime")

    return done


def phase(status: Mapping[str, Any]) -> str:
    """Return what the object is doing, for the bar's description."""
    progress = views.progress_of(status)
    if progress is not None:
        return "running" if progress.get("percent") is None else _amounts(progress)
    reason = views.synchronizing(status).get("reason")
    return f"waiting ({reason})" if reason else "waiting for the operator"


def _amounts(progress: Mapping[str, Any]) -> str:
    done, total = progress.get("bytesDone"), progress.get("bytesTotal")
    text = f"{views.size(done)} of {views.size(total)}" if total else ""
    eta = progress.get("etaSeconds")
    return text + (f", ETA {views.short_duration(eta)}" if eta else "")


async def follow(
    kube: client.Kube, followed: Followed, *, timeout: float, console: rich.console.Console
) -> Mapping[str, Any]:
    """Show the sync's progress until ``followed.done``; return the final status."""
    reporter = _Reporter(console, followed.name)

    async def finished() -> Mapping[str, Any] | None:
        current = await kube.get(followed.kind, followed.name, namespace=followed.namespace)
        if current is None:
            raise session.UserError(
                f"{followed.name!r} was deleted in namespace {followed.namespace!r} "
                "while waiting for it"
            )
        status: Mapping[str, Any] = current.get("status") or {}
        if followed.done(status):
            reporter.show(100.0 if status_result(status) != FAILED else None, "done")
            return status
        progress = views.progress_of(status) or {}
        reporter.show(progress.get("percent"), phase(status))
        return None

    with reporter:
        return await session.poll(
            finished,
            timeout=timeout,
            timed_out=lambda: (
                f"gave up waiting after {timeout:g} s; the sync goes on: follow "
                f"it with `pyvolsync status -n {followed.namespace} --watch`"
            ),
        )


def status_result(status: Mapping[str, Any]) -> str:
    """Return ``Successful`` or ``Failed`` (upstream's latestMoverStatus.result)."""
    return str((status.get("latestMoverStatus") or {}).get("result") or "")


def report(status: Mapping[str, Any], *, console: rich.console.Console, what: str) -> int:
    """Print how the sync ended; return the exit code (0 succeeded, 1 failed)."""
    result = status.get("lastSyncResult") or {}
    condition = views.synchronizing(status)
    if status_result(status) == FAILED:
        reason = condition.get("reason")
        if not reason or reason in FLOW_REASONS:
            reason = result.get("errorKind") or "MoverFailed"
        message = result.get("message") or condition.get("message") or ""
        console.print(f"[red]{what} failed[/red]: {reason}: {message}".rstrip(": "))
        return EXIT_FAILED
    snapshot = (result.get("snapshotID") or "")[: views.SHORT_ID_LENGTH]
    details = [f"outcome {result.get('outcome') or 'succeeded'}"]
    if snapshot:
        details.append(f"snapshot {snapshot}")
    if result.get("bytesAdded") is not None:
        details.append(f"{views.size(result['bytesAdded'])} added")
    if result.get("bytesRestored") is not None:
        details.append(f"{views.size(result['bytesRestored'])} restored")
    if status.get("lastSyncDuration"):
        details.append(f"in {views.go_duration(status['lastSyncDuration'])}")
    console.print(f"[green]{what} succeeded[/green]: " + ", ".join(details))
    if result.get("message") and result.get("outcome") not in (None, "succeeded"):
        console.print(f"[yellow]note[/yellow]: {result['message']}")
    return EXIT_SUCCEEDED


class _Reporter:
    """A progress bar on a terminal; elsewhere one line each time the numbers change."""

    def __init__(self, console: rich.console.Console, name: str) -> None:
        self.console = console
        self.name = name
        self.last_line = ""
        self.bar: rich.progress.Progress | None = None
        self.task: rich.progress.TaskID | None = None
        if console.is_terminal:
            self.bar = rich.progress.Progress(
                rich.progress.TextColumn("{task.description}"),
                rich.progress.BarColumn(),
                rich.progress.TextColumn("{task.percentage:>3.0f}%"),
                rich.progress.TextColumn("{task.fields[phase]}"),
                console=console,
            )
            self.task = self.bar.add_task(name, total=100.0, phase="")

    def __enter__(self) -> _Reporter:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def show(self, percent: float | None, description: str) -> None:
        if self.bar is not None and self.task is not None:
            if percent is not None:
                self.bar.update(self.task, completed=percent, phase=description)
            else:
                self.bar.update(self.task, phase=description)
            return
        shown = f"{percent:.0f}%" if percent is not None else "-"
        line = f"{self.name}: {shown} {description}".rstrip()
        if line != self.last_line:
            self.console.print(line, highlight=False)
            self.last_line = line
