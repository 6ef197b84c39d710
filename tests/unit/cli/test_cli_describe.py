"""`pyvolsync describe` shows the restic maintenance stamps a user checks after a fault."""

import datetime

from pyvolsync.cli import describe


def test_the_last_passed_check_is_shown_next_to_prune_and_unlock() -> None:
    status = {
        "restic": {
            "lastPruned": "2026-11-20T02:00:00Z",
            "lastUnlocked": "incident-7",
            "lastChecked": "2026-11-24T02:00:00Z",
        }
    }
    now = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)

    rows = dict(describe.status_rows(status, now=now))

    assert rows["last pruned"] == "2026-11-20T02:00:00Z"
    assert rows["last unlocked"] == "incident-7"
    assert rows["last check passed"] == "2026-11-24T02:00:00Z"
