"""The history chart of an object's page, computed from ``status.recentSyncs``: plain numbers.

The page draws the bars as inline SVG (no chart library, no script): one chart of how long each
recent sync took, one of what each backup added, a failed sync in the failure colour. Kept free
of I/O so the scaling is tested without a browser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyvolsync.cli import views

CHART_HEIGHT = 60.0
BAR_WIDTH = 14.0
BAR_GAP = 4.0


@dataclasses.dataclass(frozen=True)
class Bar:
    """One sync's bar: where it stands, how tall, and what it says when pointed at."""

    x: float
    height: float
    failed: bool
    label: str


@dataclasses.dataclass(frozen=True)
class Chart:
    """A row of bars, with the largest value in words (the scale)."""

    title: str
    bars: list[Bar]
    largest: str
    width: float
    height: float = CHART_HEIGHT


def _chart(
    title: str,
    records: Sequence[Mapping[str, Any]],
    value_of: str,
    words: Callable[[float], str],
) -> Chart:
    values = [float(record.get(value_of) or 0) for record in records]
    top = max(values, default=0.0) or 1.0
    bars = [
        Bar(
            x=index * (BAR_WIDTH + BAR_GAP),
            height=max(round(value / top * CHART_HEIGHT, 1), 1.0),
            failed=record.get("result") == "Failed",
            label=f"{record.get('time')}: {words(value)}"
            + (" (failed)" if record.get("result") == "Failed" else ""),
        )
        for index, (record, value) in enumerate(zip(records, values, strict=True))
    ]
    width = max(len(bars) * (BAR_WIDTH + BAR_GAP), BAR_WIDTH)
    return Chart(title, bars, words(max(values, default=0.0)), width)


def charts(status: Mapping[str, Any], *, backup: bool) -> list[Chart]:
    """Return the charts of ``status.recentSyncs`` (none without history): durations, and for
    a source what each backup added."""
    records = list(status.get("recentSyncs") or [])
    if not records:
        return []
    found = [_chart("Duration", records, "durationSeconds", views.seconds_text)]
    if backup:
        found.append(_chart("Added", records, "bytesAdded", lambda value: views.size(int(value))))
    return found
