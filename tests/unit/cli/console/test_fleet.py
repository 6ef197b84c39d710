"""The fleet page's health and order: what a person scanning the page for trouble relies on."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from pyvolsync.cli.console import fleet

NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.UTC)


def source(
    name: str = "app", *, spec: dict[str, Any] | None = None, **status: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": {"sourcePVC": "data", "trigger": {"schedule": "0 * * * *"}, "restic": {},
                 **(spec or {})},
        "status": status,
    }  # fmt: skip


def synchronizing(reason: str, message: str = "") -> list[dict[str, str]]:
    return [{"type": "Synchronizing", "status": "False", "reason": reason, "message": message}]


HEALTHY = {
    "lastSyncTime": "2026-12-07T11:00:05Z",
    "nextSyncTime": "2026-12-07T13:00:00Z",
    "latestMoverStatus": {"result": "Successful"},
    "conditions": synchronizing("WaitingForSchedule"),
}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (source(**HEALTHY), fleet.Health.HEALTHY),
        (source(), fleet.Health.NEW),
        (source(**{**HEALTHY, "lastSyncStartTime": "2026-12-07T12:00:01Z"}), fleet.Health.RUNNING),
        (source(**{**HEALTHY, "latestMoverStatus": {"result": "Failed"}}), fleet.Health.FAILING),
        (source(**{**HEALTHY, "conditions": synchronizing("Error")}), fleet.Health.FAILING),
        # Blocked before a mover could run (a missing Secret): the sync stays "started".
        (source(**{**HEALTHY, "lastSyncStartTime": "2026-12-07T12:00:01Z",
                   "conditions": synchronizing("Error")}), fleet.Health.FAILING),
        (source(**{**HEALTHY, "lastSyncStartTime": "2026-12-07T12:00:01Z",
                   "conditions": synchronizing("SyncInProgress")}), fleet.Health.RUNNING),
        (source(spec={"paused": True}, **HEALTHY), fleet.Health.ATTENTION),
        (source(**{**HEALTHY, "conditions": synchronizing("WaitingForMoverSlot")}),
         fleet.Health.ATTENTION),
        # The operator was down: the 11:00 sync was due 45 minutes ago and never ran.
        (source(**{**HEALTHY, "nextSyncTime": "2026-12-07T11:15:00Z"}), fleet.Health.OVERDUE),
        # Due five minutes ago: the sync may simply be about to start.
        (source(**{**HEALTHY, "nextSyncTime": "2026-12-07T11:55:00Z"}), fleet.Health.HEALTHY),
    ],
)  # fmt: skip
def test_health(obj: dict[str, Any], expected: fleet.Health) -> None:
    assert fleet.health(obj, now=NOW) is expected


def test_a_failing_row_says_what_went_wrong_and_what_to_do() -> None:
    failed = source(
        **{
            **HEALTHY,
            "latestMoverStatus": {"result": "Failed"},
            "lastSyncResult": {"message": "wrong password; check the Secret restic-config"},
            "conditions": synchronizing("RepositoryWrongPassword"),
        }
    )
    row = fleet.row(failed, now=NOW)
    assert row["health"] == "failing"
    assert row["failureMessage"] == "wrong password; check the Secret restic-config"
    assert row["key"] == "source--team-a--app"
    assert row["engine"] == "restic"


def test_rows_come_trouble_first_then_by_name() -> None:
    objects = [
        source("b-healthy", **HEALTHY),
        source("a-healthy", **HEALTHY),
        source("z-failing", **{**HEALTHY, "latestMoverStatus": {"result": "Failed"}}),
        source("m-new"),
    ]
    rows = fleet.ordered(fleet.row(obj, now=NOW) for obj in objects)
    assert [row["name"] for row in rows] == ["z-failing", "m-new", "a-healthy", "b-healthy"]
    assert fleet.counts(rows) == {
        "failing": 1, "overdue": 0, "needs attention": 0, "running": 0, "never synced": 1,
        "healthy": 2,
    }  # fmt: skip


def test_a_blocked_sync_shows_its_problem_not_a_progress_bar() -> None:
    blocked = source(
        lastSyncStartTime="2026-12-07T11:59:00Z",
        conditions=synchronizing("Error", "the repository Secret 'repo' does not exist"),
    )
    row = fleet.row(blocked, now=NOW)
    assert (row["health"], row["progress"]) == ("failing", None)
    assert row["failureMessage"] == "the repository Secret 'repo' does not exist"
    assert row["problem"] == "Error"
