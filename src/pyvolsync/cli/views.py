"""What the user commands show, computed from plain objects: status rows, times, sizes, colours.

Kept apart from the commands and free of I/O so the shape of ``pyvolsync status -o json`` (a
documented schema, see docs/cli.md) and the table's wording are tested without a cluster.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from rich import table as rich_table
from rich import text as rich_text

from pyvolsync.api import conditions, durations
from pyvolsync.api.timestamps import parse_time

JsonObject = dict[str, Any]

SHORT_ID_LENGTH = 8
REASON_STYLES = {
    "SyncInProgress": "cyan",
    "CleaningUp": "cyan",
    "WaitingForSchedule": "green",
    "WaitingForManual": "green",
    "WaitingForMoverSlot": "yellow",
    "Paused": "yellow",
    "SourceEmpty": "yellow",
    "NoEligibleSnapshot": "yellow",
    "RepositoryMissing": "yellow",
}
ROW_FIELDS = (
    "namespace",
    "name",
    "kind",
    "trigger",
    "paused",
    "lastSync",
    "duration",
    "nextSync",
    "result",
    "outcome",
    "snapshot",
    "bytesAdded",
    "progress",
    "reason",
    "message",
)
"""Keys of every row of ``status -o json|yaml``, in order."""


def relative(when: datetime.datetime | None, *, now: datetime.datetime) -> str:
    """Return ``3m ago`` / ``in 2h5m`` / ``-``."""
    if when is None:
        return "-"
    seconds = int((when - now).total_seconds())
    text = short_duration(abs(seconds))
    return f"in {text}" if seconds > 0 else f"{text} ago"


def short_duration(seconds: float) -> str:
    """Return ``45s``, ``3m20s``, ``2h5m`` or ``3d4h``."""
    whole = int(seconds)
    for unit, size, smaller, smaller_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if whole >= size:
            rest = (whole % size) // smaller_size
            return f"{whole // size}{unit}{f'{rest}{smaller}' if rest else ''}"
    return f"{whole}s"


def go_duration(text: str | None) -> str:
    """Return a Go duration (``30.591396s``, ``1m33.5s``) rounded for a table: ``30.6s``."""
    if not text:
        return "-"
    try:
        seconds = durations.parse_duration(text).total_seconds()
    except ValueError:
        return text
    return f"{seconds:.1f}s" if seconds < 60 else short_duration(seconds)


def size(value: int | None) -> str:
    """Return a byte count for people: ``512 B``, ``1.5 MiB``."""
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"  # pragma: no cover - the loop always returns


def trigger_text(spec: Mapping[str, Any]) -> str:
    """Return the trigger as people write it: the schedule, ``manual: X``, or ``continuous``."""
    trigger = spec.get("trigger") or {}
    if trigger.get("manual") is not None:
        return f"manual: {trigger['manual']}"
    if trigger.get("schedule"):
        return str(trigger["schedule"])
    return "continuous"


def synchronizing(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the Synchronizing condition, or an empty mapping."""
    for item in status.get("conditions") or []:
        if item.get("type") == conditions.SYNCHRONIZING:
            return dict(item)
    return {}


def progress_of(status: Mapping[str, Any]) -> JsonObject | None:
    """Return the running sync's progress (percent, bytes, ETA) or None when none runs."""
    if not status.get("lastSyncStartTime"):
        return None
    found = status.get("progress") or {}
    return {
        "percent": found.get("percent"),
        "bytesDone": found.get("bytesDone"),
        "bytesTotal": found.get("bytesTotal"),
        "etaSeconds": found.get("etaSeconds"),
        "updatedAt": found.get("updatedAt"),
    }


def bytes_added(obj: Mapping[str, Any], result: Mapping[str, Any]) -> int | None:
    """Return what the last backup added; the status leaves out a zero, so a backup's is 0."""
    if obj.get("kind") != "ReplicationSource" or not result.get("snapshotID"):
        return None
    return int(result.get("bytesAdded") or 0)


def status_row(obj: Mapping[str, Any]) -> JsonObject:
    """Return one row of ``pyvolsync status`` for a ReplicationSource or ReplicationDestination."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    status = obj.get("status") or {}
    result = status.get("lastSyncResult") or {}
    condition = synchronizing(status)
    snapshot = result.get("snapshotID")
    return {
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "kind": "source" if obj.get("kind") == "ReplicationSource" else "destination",
        "trigger": trigger_text(spec),
        "paused": bool(spec.get("paused")),
        "lastSync": status.get("lastSyncTime"),
        "duration": status.get("lastSyncDuration"),
        "nextSync": status.get("nextSyncTime"),
        "result": (status.get("latestMoverStatus") or {}).get("result"),
        "outcome": result.get("outcome"),
        "snapshot": snapshot[:SHORT_ID_LENGTH] if snapshot else None,
        "bytesAdded": bytes_added(obj, result),
        "progress": progress_of(status),
        "reason": condition.get("reason"),
        "message": condition.get("message"),
    }


def progress_text(progress: Mapping[str, Any] | None) -> str:
    """Return ``42% ETA 1m5s``, ``running`` (no numbers yet) or ``-``."""
    if progress is None:
        return "-"
    percent = progress.get("percent")
    if percent is None:
        return "running"
    eta = progress.get("etaSeconds")
    return f"{percent:.0f}%" + (f" ETA {short_duration(eta)}" if eta else "")


def reason_text(reason: str | None, result: str | None) -> rich_text.Text:
    """Return the condition reason coloured: red for failures, cyan running, green idle."""
    if not reason:
        return rich_text.Text("-")
    style = REASON_STYLES.get(reason, "red")
    if reason in ("WaitingForSchedule", "WaitingForManual") and result == "Failed":
        style = "red"
    return rich_text.Text(reason, style=style)


STATUS_COLUMNS = (
    "NAMESPACE",
    "NAME",
    "KIND",
    "TRIGGER",
    "LAST SYNC",
    "DURATION",
    "NEXT SYNC",
    "RESULT",
    "SNAPSHOT",
    "ADDED",
    "PROGRESS",
    "REASON",
)


def status_table(rows: list[JsonObject], *, now: datetime.datetime) -> rich_table.Table:
    """Return the table of ``pyvolsync status``."""
    table = rich_table.Table(box=None, pad_edge=False, header_style="bold")
    for column in STATUS_COLUMNS:
        table.add_column(column, no_wrap=column in ("NAME", "SNAPSHOT", "PROGRESS"))
    for row in rows:
        result = row["result"] or "-"
        table.add_row(
            row["namespace"],
            row["name"],
            row["kind"],
            row["trigger"] + (" (paused)" if row["paused"] else ""),
            relative(parse_time(row["lastSync"]), now=now),
            go_duration(row["duration"]),
            relative(parse_time(row["nextSync"]), now=now),
            rich_text.Text(result, style="red" if result == "Failed" else ""),
            row["snapshot"] or "-",
            size(row["bytesAdded"]),
            progress_text(row["progress"]),
            reason_text(row["reason"], row["result"]),
        )
    return table
