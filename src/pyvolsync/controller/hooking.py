"""A source's app hooks around each backup, run beside the reconciler, recorded in its status.

A hook may take minutes (a ``pg_dump``), and the reconciler must not wait for one: each hook
runs as a task of its own, and the source is reconciled again when it ends. ``status.hooks``
records each run of the current sync (start, end, result, message), so the status says where
the sync stands and a restarted operator knows what already ran: a run that started and has no
end was cut short by an operator stopping, and runs again. Hooks therefore run at least once
per sync; make them safe to repeat (a dump to a file is).

The before-backup hook runs before anything is copied: before the VolumeSnapshot or clone, and
before the mover's Job. When it fails and its ``on-error`` is ``fail`` (the default), no backup
is taken and the sync fails as ``HookFailed``. The after-backup hook runs when the backup has
ended, also when it (or the before hook) failed; its failure is reported, and never discards a
saved snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from pyvolsync.api import source
from pyvolsync.kube import client as kube_client
from pyvolsync.kube.client import Kind
from pyvolsync.movers import base, hooks, hooksettings, iteration
from pyvolsync.movers.hooksettings import Hook, Moment, OnError
from pyvolsync.planning import names

logger = logging.getLogger(__name__)
REASON_RUNNING = "RunningHook"
REASON_FAILED = "HookFailed"
REASON_SKIPPED = "HookSkipped"
REASON_MISCONFIGURED = "HookMisconfigured"
FAILURE_KIND = "hook-failed"
"""The sync's failure kind when a before hook stopped it (its condition reason: HookFailed)."""
RUNNING_POLL_SECONDS = 30.0
"""A running hook is looked at this often, besides the wake-up when it ends."""

EventSink = Callable[[str, str, str], None]


class Running(Protocol):
    """A hook under way (an asyncio task; tests give their own)."""

    def done(self) -> bool:
        """Return True once it ended."""
        ...

    def cancelled(self) -> bool:
        """Return True when it was cancelled."""
        ...

    def exception(self) -> BaseException | None:
        """Return what it raised, if anything."""
        ...

    def result(self) -> hooks.Outcome:
        """Return how it went."""
        ...

    def cancel(self) -> bool:
        """Stop it."""
        ...


Runner = Callable[[Hook, hooks.Target], Running]


class Hooks:
    """The running hook tasks, one per source and moment (nothing else is kept in memory)."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._tasks: dict[tuple[str, Moment], Running] = {}

    async def before(
        self, current: iteration.Iteration, status: source.ReplicationSourceStatus, event: EventSink
    ) -> base.SyncState | None:
        """Return None when the backup may go on, else where the sync stands instead."""
        hook = hooksettings.settings_of(current.obj).before
        if hook is None or await _too_late(current, status):
            return None
        record = self._step(current, hook, status, event, backup_succeeded=None)
        if record is None:
            return _running(hook)
        if record.result == hooks.Result.FAILED and hook.on_error is OnError.FAIL:
            message = f"the {hook.title} failed, so no backup was taken: {record.message}"
            return base.SyncState(
                phase=base.Phase.FAILED,
                reason=FAILURE_KIND,
                message=message,
                failure_kind=FAILURE_KIND,
                ended_at=record.end_time,
            )
        return None

    def after(
        self,
        current: iteration.Iteration,
        status: source.ReplicationSourceStatus,
        event: EventSink,
        result: base.SyncState,
    ) -> base.SyncState:
        """Return ``result`` once the after hook has run, else a waiting state."""
        hook = hooksettings.settings_of(current.obj).after
        if hook is None:
            return result
        succeeded = result.phase is base.Phase.COMPLETED
        record = self._step(current, hook, status, event, backup_succeeded=succeeded)
        return result if record is not None else _running(hook)

    def forget(self, key: str) -> None:
        """Cancel the hooks of a deleted source."""
        for moment in Moment:
            task = self._tasks.pop((key, moment), None)
            if task is not None:
                task.cancel()

    def _step(
        self,
        current: iteration.Iteration,
        hook: Hook,
        status: source.ReplicationSourceStatus,
        event: EventSink,
        *,
        backup_succeeded: bool | None,
    ) -> source.HookRun | None:
        """Return the ended run of ``hook`` in this sync, starting or collecting it if needed."""
        record = _record(status, hook.moment)
        if record is not None and record.end_time is not None:
            return record
        key = (current.owner.key, hook.moment)
        task = self._tasks.get(key)
        if record is None or task is None:
            self._start(current, hook, backup_succeeded=backup_succeeded)
            _store(status, hook.moment, source.HookRun(start_time=current.now))
            return None
        if not task.done():
            return None
        del self._tasks[key]
        outcome = _outcome(task, hook)
        ended = source.HookRun(
            start_time=record.start_time,
            end_time=current.now,
            result=str(outcome.result),
            message=outcome.message,
        )
        _store(status, hook.moment, ended)
        _tell(hook, outcome, event)
        return ended

    def _start(
        self, current: iteration.Iteration, hook: Hook, *, backup_succeeded: bool | None
    ) -> None:
        key = (current.owner.key, hook.moment)
        running = self._tasks.get(key)
        if running is not None and not running.done():
            return
        target = hooks.Target(
            owner=current.owner,
            claim=current.obj["spec"].get("sourcePVC") or "",
            backup_succeeded=backup_succeeded,
        )
        logger.info("[%s] running the %s", current.owner.key, hook.title)
        self._tasks[key] = self._runner(hook, target)


def runner(kube: kube_client.Kube, wake: Callable[[names.Role, str], None]) -> Runner:
    """Return a function that starts a hook as a task and wakes its source when it ends."""

    def start(hook: Hook, target: hooks.Target) -> Running:
        task = asyncio.ensure_future(hooks.run(kube, hook, target))
        task.add_done_callback(lambda _: wake(names.Role.SOURCE, target.owner.key))
        return task

    return start


async def _too_late(current: iteration.Iteration, status: source.ReplicationSourceStatus) -> bool:
    """Return True when the sync's Job runs already (hooks set up mid-sync wait for the next)."""
    if _record(status, Moment.BEFORE) is not None:
        return False
    job = names.mover_job(names.Role.SOURCE, current.owner.name)
    return await current.get(Kind.JOB, job) is not None


def _running(hook: Hook) -> base.SyncState:
    return base.SyncState.waiting(
        REASON_RUNNING, f"running the {hook.title}", retry_after=RUNNING_POLL_SECONDS
    )


def _outcome(task: Running, hook: Hook) -> hooks.Outcome:
    if task.cancelled():
        return hooks.Outcome(result=hooks.Result.FAILED, message="cancelled")
    error = task.exception()
    if error is None:
        return task.result()
    logger.warning("the %s ended with an error: %r", hook.title, error)
    return hooks.Outcome(result=hooks.Result.FAILED, message=f"could not run: {error}")


def _tell(hook: Hook, outcome: hooks.Outcome, event: EventSink) -> None:
    """Say what a person should know: a skipped hook (Normal), a failed one (Warning).

    A before hook that stops the backup is told by the sync's failure instead."""
    if outcome.result is hooks.Result.SKIPPED:
        event("Normal", REASON_SKIPPED, hooks.describe(hook.moment, outcome))
    elif outcome.result is hooks.Result.FAILED:
        stops = hook.moment is Moment.BEFORE and hook.on_error is OnError.FAIL
        if not stops:
            event("Warning", REASON_FAILED, hooks.describe(hook.moment, outcome))


def failed(status: source.ReplicationSourceStatus) -> int:
    """Return 1 when a hook of the latest (or running) sync failed, else 0 (the metric)."""
    runs = (_record(status, moment) for moment in Moment)
    return int(any(run is not None and run.result == hooks.Result.FAILED for run in runs))


def _record(status: source.ReplicationSourceStatus, moment: Moment) -> source.HookRun | None:
    if status.hooks is None:
        return None
    return status.hooks.before_backup if moment is Moment.BEFORE else status.hooks.after_backup


def _store(status: source.ReplicationSourceStatus, moment: Moment, record: source.HookRun) -> None:
    hooks_status = status.hooks or source.Hooks()
    if moment is Moment.BEFORE:
        hooks_status.before_backup = record
    else:
        hooks_status.after_backup = record
    status.hooks = hooks_status
