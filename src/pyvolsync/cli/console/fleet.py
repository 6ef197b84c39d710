"""The console's fleet rows, computed from plain objects: health, trouble-first order, wording.

Pure and free of I/O like ``cli.views`` (whose status row it extends), so what the fleet page
says about a source (failing, overdue, paused, running, never synced, healthy) is tested
without a cluster or a browser.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from pyvolsync.api.timestamps import parse_time
from pyvolsync.cli import session, views

JsonObject = dict[str, Any]

OVERDUE_AFTER = datetime.timedelta(minutes=15)
"""A scheduled sync this late has been missed (operator down, stuck Job): the row says so."""
RUNNING_REASONS = frozenset({"SyncInProgress", "CleaningUp"})
ATTENTION_REASONS = frozenset(
    {
        "Paused",
        "WaitingForMoverSlot",
        "WaitingForVolume",
        "SourceEmpty",
        "NoEligibleSnapshot",
        "RepositoryMissing",
        "TransferCompletedWithWarnings",
    }
)
IDLE_REASONS = frozenset({"WaitingForSchedule", "WaitingForManual"})


class Health(enum.IntEnum):
    """How a source or destination is doing; the order is the fleet page's (trouble first)."""

    FAILING = 0
    OVERDUE = 1
    ATTENTION = 2
    RUNNING = 3
    NEW = 4
    HEALTHY = 5

    @property
    def label(self) -> str:
        """Return the word the page shows (never colour alone)."""
        return LABELS[self]


LABELS = {
    Health.FAILING: "failing",
    Health.OVERDUE: "overdue",
    Health.ATTENTION: "needs attention",
    Health.RUNNING: "running",
    Health.NEW: "never synced",
    Health.HEALTHY: "healthy",
}


def health(obj: Mapping[str, Any], *, now: datetime.datetime) -> Health:
    """Return the health of a ReplicationSource or ReplicationDestination."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    reason = views.synchronizing(status).get("reason")
    found = _activity(status, reason)
    if found is not None:
        return found
    if spec.get("paused") or reason in ATTENTION_REASONS:
        return Health.ATTENTION
    next_sync = parse_time(status.get("nextSyncTime"))
    if next_sync is not None and now - next_sync > OVERDUE_AFTER:
        return Health.OVERDUE
    return Health.HEALTHY if status.get("lastSyncTime") else Health.NEW


def _activity(status: Mapping[str, Any], reason: str | None) -> Health | None:
    """Return FAILING or RUNNING when the status says so (blocked first: a sync blocked before
    its mover ran stays started), else None."""
    if blocked(reason):
        return Health.FAILING
    if reason in RUNNING_REASONS or status.get("lastSyncStartTime"):
        return Health.RUNNING
    if (status.get("latestMoverStatus") or {}).get("result") == "Failed":
        return Health.FAILING
    return None


def blocked(reason: str | None) -> bool:
    """Whether the condition's reason says the object cannot sync (a missing Secret, a damaged
    repository, a failed mover) rather than that it runs, waits or needs a look."""
    return bool(reason) and reason not in RUNNING_REASONS | IDLE_REASONS | ATTENTION_REASONS


def key_of(kind: str, namespace: str, name: str) -> str:
    """Return a row's key, usable as an HTML id: ``source--team-a--app``."""
    return f"{kind}--{namespace}--{name}"


def row(obj: Mapping[str, Any], *, now: datetime.datetime) -> JsonObject:
    """Return the fleet row of one object: the CLI's status row plus health, engine and key."""
    found = views.status_row(obj)
    state = health(obj, now=now)
    return {
        **found,
        "key": key_of(found["kind"], found["namespace"], found["name"]),
        "health": state.label,
        "rank": int(state),
        "engine": session.engine_of(obj),
        "progress": found["progress"] if state is Health.RUNNING else None,
        "failureMessage": failure_message(obj) if state is Health.FAILING else None,
        "problem": problem_title(found["reason"]) if state is Health.FAILING else None,
    }


def problem_title(reason: str | None) -> str:
    """Return the failing row's headline: the condition's reason, unless it only says idle."""
    return reason if reason and reason not in IDLE_REASONS else "last sync failed"


def failure_message(obj: Mapping[str, Any]) -> str | None:
    """Return what went wrong and what to do: the condition's message when it says the object
    cannot sync, else the last result's."""
    status = obj.get("status") or {}
    condition = views.synchronizing(status)
    said = (status.get("lastSyncResult") or {}).get("message")
    if (blocked(condition.get("reason")) and condition.get("message")) or not said:
        return condition.get("message")
    return str(said)


def ordered(rows: Iterable[JsonObject]) -> list[JsonObject]:
    """Return the rows trouble first, then by namespace, name and kind."""
    return sorted(
        rows, key=lambda item: (item["rank"], item["namespace"], item["name"], item["kind"])
    )


def counts(rows: Iterable[JsonObject]) -> dict[str, int]:
    """Return how many rows each health has, in the page's order (for the summary line)."""
    found = {state.label: 0 for state in Health}
    for item in rows:
        found[item["health"]] += 1
    return found
