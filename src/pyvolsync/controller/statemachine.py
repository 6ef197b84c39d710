"""Whether an object should start a sync now, derived from its trigger and status alone.

Upstream keeps no state outside the object: a sync is running while ``status.lastSyncStartTime``
is set, and the next one is due by the trigger (schedule, manual value, or "always"). We keep that
rule, so a restarted operator picks up exactly where the last one stopped, and add what users
asked for: a paused object starts nothing and says so, a failed iteration is remembered
(``lastFailureTime``) so it neither loops nor is mistaken for a brand-new object, and a
scheduled object can wait for its first scheduled time instead of syncing on creation.

Everything here is pure: the reconciler passes the spec's trigger, the status times and ``now``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

from pyvolsync.api import conditions
from pyvolsync.controller import schedule

REASON_PAUSED = "Paused"
REASON_WAITING_FOR_MOVER_SLOT = "WaitingForMoverSlot"


class TriggerKind(enum.Enum):
    """The three ways a sync is triggered."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    ALWAYS = "always"


class FirstSync(enum.StrEnum):
    """When a scheduled object syncs for the first time."""

    IMMEDIATE = "immediate"
    """As upstream: as soon as the object exists."""
    SCHEDULE = "schedule"
    """At the first scheduled time after the object was created."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class TriggerView:
    """The trigger as the spec gives it; manual wins over schedule, as upstream."""

    schedule: str | None = None
    manual: str | None = None

    @property
    def kind(self) -> TriggerKind:
        """Return which trigger applies."""
        if self.manual is not None:
            return TriggerKind.MANUAL
        if self.schedule:
            return TriggerKind.SCHEDULE
        return TriggerKind.ALWAYS


@dataclasses.dataclass(frozen=True, kw_only=True)
class StatusView:
    """The status fields the decision depends on."""

    last_sync_time: datetime.datetime | None = None
    last_sync_start_time: datetime.datetime | None = None
    last_manual_sync: str | None = None
    last_failure_time: datetime.datetime | None = None
    consecutive_failures: int = 0

    @property
    def syncing(self) -> bool:
        """Return True while a sync runs (upstream's rule: the start time is set)."""
        return self.last_sync_start_time is not None

    @property
    def last_iteration_end(self) -> datetime.datetime | None:
        """Return when the latest iteration ended, successful or not."""
        ends = [time for time in (self.last_sync_time, self.last_failure_time) if time]
        return max(ends) if ends else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Policy:
    """Operator settings that shape the decision."""

    timezone: datetime.tzinfo = datetime.UTC
    jitter_window: datetime.timedelta = datetime.timedelta(0)
    first_sync: FirstSync = FirstSync.IMMEDIATE
    failure_backoff: datetime.timedelta = datetime.timedelta(minutes=5)
    failure_backoff_limit: datetime.timedelta = datetime.timedelta(hours=6)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Decision:
    """What an idle object should do now.

    ``start`` says whether to start a sync; otherwise ``reason`` and ``message`` describe the
    wait and ``wake_at`` says when to look again (None: only when something changes).
    ``next_sync_time`` is what ``status.nextSyncTime`` should show.
    """

    start: bool
    reason: str
    message: str
    next_sync_time: datetime.datetime | None = None
    wake_at: datetime.datetime | None = None


def decide(
    trigger: TriggerView,
    status: StatusView,
    *,
    paused: bool,
    created: datetime.datetime,
    key: str,
    now: datetime.datetime,
    policy: Policy,
) -> Decision:
    """Return whether an idle object (no sync running) should start one now, and if not why."""
    next_time = next_sync_time(trigger, status, created=created, key=key, policy=policy)
    if paused:
        return Decision(
            start=False,
            reason=REASON_PAUSED,
            message="Paused: no new synchronization starts until spec.paused is false",
            next_sync_time=next_time,
        )
    match trigger.kind:
        case TriggerKind.MANUAL:
            return _manual_decision(trigger, status)
        case TriggerKind.SCHEDULE:
            return _scheduled_decision(next_time, now=now)
        case TriggerKind.ALWAYS:
            return _always_decision(status, now=now, policy=policy)


def next_sync_time(
    trigger: TriggerView,
    status: StatusView,
    *,
    created: datetime.datetime,
    key: str,
    policy: Policy,
) -> datetime.datetime | None:
    """Return when the next scheduled sync is due, or None for manual and always triggers.

    Counted from the end of the latest iteration, as upstream counts from its completion; an
    object that never ran is due at once, or with ``FirstSync.SCHEDULE`` at the first
    scheduled time after its creation.
    """
    if trigger.kind is not TriggerKind.SCHEDULE or not trigger.schedule:
        return None
    rule = schedule.Schedule(
        expression=trigger.schedule, timezone=policy.timezone, jitter_window=policy.jitter_window
    )
    base = status.last_iteration_end
    if base is None:
        if policy.first_sync is FirstSync.IMMEDIATE:
            return created
        base = created
    return schedule.next_fire_time(rule, after=base, key=key)


def failure_backoff(failures: int, *, policy: Policy) -> datetime.timedelta:
    """Return the wait after ``failures`` failed iterations in a row: doubling, capped."""
    if failures <= 0:
        return datetime.timedelta(0)
    delay: datetime.timedelta = policy.failure_backoff * (2 ** min(failures - 1, 20))
    return min(delay, policy.failure_backoff_limit)


def _manual_decision(trigger: TriggerView, status: StatusView) -> Decision:
    if trigger.manual != (status.last_manual_sync or ""):
        return Decision(start=True, reason=conditions.REASON_SYNC_IN_PROGRESS, message="")
    return Decision(
        start=False,
        reason=conditions.REASON_WAITING_FOR_MANUAL,
        message="Waiting for manual trigger",
    )


def _scheduled_decision(next_time: datetime.datetime | None, *, now: datetime.datetime) -> Decision:
    if next_time is None or next_time <= now:
        return Decision(
            start=True,
            reason=conditions.REASON_SYNC_IN_PROGRESS,
            message="",
            next_sync_time=next_time,
        )
    return Decision(
        start=False,
        reason=conditions.REASON_WAITING_FOR_SCHEDULE,
        message="Waiting for next scheduled synchronization",
        next_sync_time=next_time,
        wake_at=next_time,
    )


def _always_decision(status: StatusView, *, now: datetime.datetime, policy: Policy) -> Decision:
    """An object without a trigger syncs again at once, unless its last iteration failed."""
    ended = status.last_failure_time
    if ended is None or (status.last_sync_time and status.last_sync_time >= ended):
        return Decision(start=True, reason=conditions.REASON_SYNC_IN_PROGRESS, message="")
    retry_at = ended + failure_backoff(status.consecutive_failures, policy=policy)
    if retry_at <= now:
        return Decision(start=True, reason=conditions.REASON_SYNC_IN_PROGRESS, message="")
    return Decision(
        start=False,
        reason=conditions.REASON_ERROR,
        message=f"The last synchronization failed; retrying at {retry_at:%Y-%m-%dT%H:%M:%SZ}",
        wake_at=retry_at,
    )
