"""When a source's restore drill runs, and what its result becomes (``status.drill``, events).

The reconciler calls ``review`` on every look at a ReplicationSource. A drill runs when the
source's ``pyvolsync.dev/drill-schedule`` comes due (counted from the previous drill, or from
the source's creation) or when ``pyvolsync.dev/drill-now`` takes a value the status has not
answered yet; never while the source syncs or before its first backup. The state is the drill's
Job (it exists while a drill runs) and ``status.drill``; nothing is kept in memory.
"""

from __future__ import annotations

import dataclasses
import datetime

from pyvolsync import contract
from pyvolsync.api import source
from pyvolsync.controller import schedule
from pyvolsync.kube.client import Kind
from pyvolsync.movers import drills, drillsettings, iteration

REASON_STARTED = "DrillStarted"
REASON_SUCCEEDED = "DrillSucceeded"
REASON_FAILED = "DrillFailed"
REASON_MISCONFIGURED = "DrillMisconfigured"
SUCCEEDED, FAILED = "Succeeded", "Failed"
RUNNING_POLL_SECONDS = 30.0
"""A look at a running drill this often (its Job's changes also wake the source)."""
BUSY_RETRY_SECONDS = 60.0
"""A due drill waiting for the source's sync (or first backup) looks again this soon."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Review:
    """What the reconciler does after a review: events, when to look again, a failure to tell."""

    events: tuple[tuple[str, str, str], ...] = ()
    wake_in: float | None = None
    failure: str = ""
    """Set when a drill failed: what to say in the notification."""
    succeeded_at: datetime.datetime | None = None


async def review(
    current: iteration.Iteration,
    status: source.ReplicationSourceStatus,
    *,
    policy: schedule.Schedule,
    created: datetime.datetime,
) -> Review:
    """Record a finished drill, start a due one, or say when to look again."""
    wanted = drillsettings.settings_of(current.obj)
    job = await current.get(Kind.JOB, drillsettings.drill_name(current.owner.name))
    if job is not None:
        if not _finished(job):
            return Review(wake_in=RUNNING_POLL_SECONDS)
        return await _record(current, status, await drills.read(current, job))
    if wanted.problem:
        return Review(events=(("Warning", REASON_MISCONFIGURED, wanted.problem),))
    previous = status.drill or source.Drill()
    next_time = _next_time(wanted, previous, policy=policy, created=created, key=current.owner.key)
    if status.drill is not None or next_time is not None:
        status.drill = previous.model_copy(update={"next_time": next_time})
    manual = bool(wanted.now) and wanted.now != previous.last_manual
    if not manual and (next_time is None or next_time > current.now):
        wake = None if next_time is None else (next_time - current.now).total_seconds()
        return Review(wake_in=wake)
    if status.last_sync_start_time is not None or status.last_sync_time is None:
        return Review(wake_in=BUSY_RETRY_SECONDS)
    await drills.start(current, wanted, answering=wanted.now if manual else "")
    scratch = drillsettings.drill_name(current.owner.name)
    note = f"restoring the newest snapshot into {scratch} to verify it"
    return Review(events=(("Normal", REASON_STARTED, note),), wake_in=RUNNING_POLL_SECONDS)


def _finished(job: dict[str, object]) -> bool:
    return iteration.job_condition(job, "Complete") or iteration.job_condition(job, "Failed")


def _next_time(
    wanted: drillsettings.Settings,
    previous: source.Drill,
    *,
    policy: schedule.Schedule,
    created: datetime.datetime,
    key: str,
) -> datetime.datetime | None:
    if not wanted.schedule:
        return None
    rule = dataclasses.replace(policy, expression=wanted.schedule)
    return schedule.next_fire_time(rule, after=previous.time or created, key=key)


async def _record(
    current: iteration.Iteration, status: source.ReplicationSourceStatus, found: drills.Finished
) -> Review:
    """Write ``status.drill`` from a finished drill, delete its Job and claim, say how it went."""
    previous = status.drill or source.Drill()
    verified = _verify_result(found.result)
    ok, message = _verdict(found, verified)
    ended = found.ended or current.now
    status.drill = source.Drill(
        time=ended,
        result=SUCCEEDED if ok else FAILED,
        snapshot_id=(verified.snapshot_id if verified else "") or None,
        files=verified.files_restored if verified else None,
        bytes=verified.bytes_restored if verified else None,
        message=message,
        last_manual=found.answered or previous.last_manual,
        next_time=previous.next_time,
    )
    await drills.remove(current)
    if ok:
        return Review(events=(("Normal", REASON_SUCCEEDED, message),), succeeded_at=ended)
    return Review(events=(("Warning", REASON_FAILED, message),), failure=message)


def _verify_result(result: contract.MoverResult | None) -> contract.OperationResult | None:
    if result is None:
        return None
    return next(
        (item for item in result.operations if item.operation is contract.Operation.VERIFY),
        None,
    )


def _verdict(found: drills.Finished, verified: contract.OperationResult | None) -> tuple[bool, str]:
    """Return whether the drill passed and what to say about it (one line)."""
    result = found.result
    if found.deadline_exceeded:
        return False, (
            f"the drill did not finish within its time ({drillsettings.TIMEOUT_ANNOTATION}) "
            "and was stopped: a check that hangs, or a restore slower than that"
        )
    if result is None:
        return False, "the drill's pod left no result (was it deleted?); it runs again when due"
    if not result.outcome.ok:
        return False, result.message or "the restore or its verification failed"
    if found.check_exit:
        log = " | ".join(found.check_log.splitlines()[-3:])
        return False, f"your check exited with {found.check_exit}: {log or '(no output)'}"
    said = (verified.verified or verified.message) if verified else ""
    said = said or "restored and verified"
    return True, said + ("; your check passed" if found.check_exit == 0 else "")
