"""The history chart's bars: scaled to the largest value, a failed sync marked, words on each."""

from __future__ import annotations

from pyvolsync.cli.console import history

RECORDS = [
    {"time": "2026-12-07T01:00:30Z", "result": "Successful", "durationSeconds": 30.0,
     "bytesAdded": 1024},
    {"time": "2026-12-07T02:00:10Z", "result": "Failed", "durationSeconds": 10.0},
    {"time": "2026-12-07T03:01:00Z", "result": "Successful", "durationSeconds": 60.0,
     "bytesAdded": 4096},
]  # fmt: skip


def test_bars_are_scaled_to_the_largest_and_a_failure_is_marked() -> None:
    duration, added = history.charts({"recentSyncs": RECORDS}, backup=True)
    assert [bar.height for bar in duration.bars] == [30.0, 10.0, 60.0]
    assert duration.largest == "1m"
    assert [bar.failed for bar in duration.bars] == [False, True, False]
    assert duration.bars[1].label == "2026-12-07T02:00:10Z: 10.0s (failed)"
    assert [bar.height for bar in added.bars] == [15.0, 1.0, 60.0]
    assert added.largest == "4.0 KiB"


def test_a_destination_has_no_added_chart_and_no_history_no_chart() -> None:
    assert [chart.title for chart in history.charts({"recentSyncs": RECORDS}, backup=False)] == [
        "Duration"
    ]
    assert history.charts({}, backup=True) == []


def test_the_history_table_renders_a_record_without_byte_counts() -> None:
    from pyvolsync.cli.console import app

    html = app.TEMPLATES.get_template("history.html").render(
        charts=history.charts({"recentSyncs": RECORDS}, backup=False), history=RECORDS
    )
    assert "<td>2026-12-07T02:00:10Z</td><td>Failed</td><td>10.0s</td><td>-</td>" in html
