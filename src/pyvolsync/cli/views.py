"""What the user commands show, computed from plain objects: status rows, times, sizes, colours.

Kept apart from the commands and free of I/O so the shape of ``pyvolsync status -o json`` (a
documented schema, see docs/cli.md) and the table's wording are tested without a cluster.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich import console as rich_console
from rich import padding as rich_padding
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
    return seconds_text(seconds)


def seconds_text(seconds: float) -> str:
    """Return a duration in seconds rounded for a table: ``30.6s``, ``3m20s``."""
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


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a table the CLI prints."""

    header: str
    cell: Callable[[JsonObject], str | rich_text.Text]
    drop_rank: int | None = None
    """When the terminal is too narrow, columns go lowest rank first; None: never dropped."""


def fitted_table(
    columns: Sequence[Column], rows: Sequence[JsonObject], *, width: int | None
) -> rich_table.Table:
    """Return a table of ``rows`` whose rows never wrap: the columns that fit in ``width``
    (dropping the lowest ranks first), or every column when ``width`` is None (``-o wide``)."""
    cells = [[column.cell(row) for column in columns] for row in rows]
    needs = [
        max([len(column.header), *(len(_plain(line[index])) for line in cells)])
        for index, column in enumerate(columns)
    ]
    chosen = list(range(len(columns)))
    droppable = sorted(
        (index for index, column in enumerate(columns) if column.drop_rank is not None),
        key=lambda index: columns[index].drop_rank or 0,
    )
    for index in droppable:
        if width is None or _table_width([needs[item] for item in chosen]) <= width:
            break
        chosen.remove(index)
    table = rich_table.Table(box=None, pad_edge=False, header_style="bold")
    for index in chosen:
        table.add_column(columns[index].header, no_wrap=True, overflow="ellipsis")
    for line in cells:
        table.add_row(*(line[index] for index in chosen))
    return table


def _plain(cell: str | rich_text.Text) -> str:
    return cell.plain if isinstance(cell, rich_text.Text) else cell


def _table_width(needs: Sequence[int]) -> int:
    """Return the width of a table with columns this wide (one space either side inside)."""
    return sum(needs) + 2 * max(len(needs) - 1, 0)


Cell = str | rich_text.Text
MESSAGE_INDENT = 4


@dataclasses.dataclass(frozen=True)
class Entries:
    """A titled list of entries, each a few short cells and a message (conditions, events).

    One line per entry when the console is wide enough for the longest message; otherwise each
    message goes on its own line, indented under its cells. A short cell is never cut and a
    message is never squeezed into a narrow column.
    """

    title: str
    headers: tuple[str, ...]
    """The short cells' headers, then the message's."""
    rows: tuple[tuple[tuple[Cell, ...], str], ...]

    def __rich_console__(
        self, console: rich_console.Console, options: rich_console.ConsoleOptions
    ) -> rich_console.RenderResult:
        yield rich_text.Text(self.title, style="bold")
        *short, message_header = self.headers
        widths = [
            max([len(header), *(len(_plain(cells[index])) for cells, _ in self.rows)])
            for index, header in enumerate(short)
        ]
        longest = max([len(message_header), *(len(message) for _, message in self.rows)])
        if _table_width([*widths, longest]) <= options.max_width:
            yield _line([*short, message_header], [*widths, longest], style="bold")
            for cells, message in self.rows:
                yield _line([*cells, message], [*widths, longest])
            return
        yield _line(short, widths, style="bold")
        for cells, message in self.rows:
            yield _line(list(cells), widths)
            yield rich_padding.Padding(
                rich_text.Text(message), (0, 0, 0, MESSAGE_INDENT), expand=False
            )


def _line(cells: Sequence[Cell], widths: Sequence[int], *, style: str = "") -> rich_text.Text:
    """Return ``cells`` padded to ``widths``, two spaces apart, as one line that never wraps."""
    line = rich_text.Text(style=style, no_wrap=True, overflow="ellipsis", end="\n")
    for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        text = cell if isinstance(cell, rich_text.Text) else rich_text.Text(cell)
        line.append_text(text)
        if index < len(cells) - 1:
            line.append(" " * (width - len(text.plain) + 2))
    return line


def table_width(columns: Sequence[Column], rows: Sequence[JsonObject]) -> int:
    """Return the width every column of ``rows`` needs (for printing ``-o wide``)."""
    needs = [
        max([len(column.header), *(len(_plain(column.cell(row))) for row in rows)])
        for column in columns
    ]
    return _table_width(needs)


def print_table(
    console: rich_console.Console,
    columns: Sequence[Column],
    rows: Sequence[JsonObject],
    *,
    wide: bool,
) -> None:
    """Print ``rows``: the columns that fit the console, or every column when ``wide`` (the
    console grows to the table's width, as ``kubectl get -o wide`` prints however wide)."""
    if wide:
        console.width = max(console.width, table_width(columns, rows))
        console.print(fitted_table(columns, rows, width=None), crop=False)
    else:
        console.print(fitted_table(columns, rows, width=console.width))


def status_columns(now: datetime.datetime) -> tuple[Column, ...]:
    """Return the columns of ``pyvolsync status``, with the order they are dropped in."""

    def result(row: JsonObject) -> rich_text.Text:
        text = row["result"] or "-"
        return rich_text.Text(text, style="red" if text == "Failed" else "")

    return (
        Column("NAMESPACE", lambda row: row["namespace"], drop_rank=11),
        Column("NAME", lambda row: row["name"]),
        Column("KIND", lambda row: row["kind"], drop_rank=4),
        Column(
            "TRIGGER",
            lambda row: row["trigger"] + (" (paused)" if row["paused"] else ""),
            drop_rank=7,
        ),
        Column(
            "LAST SYNC", lambda row: relative(parse_time(row["lastSync"]), now=now), drop_rank=9
        ),
        Column("DURATION", lambda row: go_duration(row["duration"]), drop_rank=2),
        Column(
            "NEXT SYNC", lambda row: relative(parse_time(row["nextSync"]), now=now), drop_rank=5
        ),
        Column("RESULT", result, drop_rank=8),
        Column("SNAPSHOT", lambda row: row["snapshot"] or "-", drop_rank=3),
        Column("ADDED", lambda row: size(row["bytesAdded"]), drop_rank=1),
        Column("PROGRESS", lambda row: progress_text(row["progress"]), drop_rank=6),
        Column("REASON", lambda row: reason_text(row["reason"], row["result"]), drop_rank=10),
    )


def status_table(
    rows: list[JsonObject], *, now: datetime.datetime, width: int | None = None
) -> rich_table.Table:
    """Return the table of ``pyvolsync status``, fitted to ``width`` (None: every column)."""
    return fitted_table(status_columns(now), rows, width=width)
