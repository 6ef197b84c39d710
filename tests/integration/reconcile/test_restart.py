"""An operator restart in the middle of a sync adopts the running mover instead of starting another.

The state of a sync lives in the cluster (``status.lastSyncStartTime`` and the Job), so a new
operator process, whether the old one stopped cleanly or was killed, finds the Job its
predecessor created and waits for it. A user checks: one Job (same uid) for the whole sync, one
snapshot, one completion event, and a duration counted from the original start.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import get

from pyvolsync.api import durations
from reconcile import conftest, helpers

SOURCE = "replicationsource"


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_a_restarted_operator_adopts_the_running_job(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    kill: bool,
) -> None:
    job = helpers.start_slow_backup(cluster, namespace, copy_method="Direct")
    started = helpers.status(cluster, SOURCE, "app", namespace)["lastSyncStartTime"]

    operator.restart(kill=kill)
    still_running = get(cluster, "job", "volsync-src-app", namespace=namespace)
    assert still_running is not None and not helpers.job_finished(still_running), (
        "the backup ended before the operator was back: the test needs more data"
    )

    seen: dict[str, dict[str, Any]] = {}
    found = helpers.wait_for_manual_sync(
        cluster,
        SOURCE,
        "app",
        namespace,
        "one",
        on_poll=helpers.job_recorder(cluster, namespace, seen),
    )
    assert set(seen) <= {job["metadata"]["uid"]}
    assert found["latestMoverStatus"]["result"] == "Successful"
    [snapshot] = helpers.snapshots(repository_root / namespace / "app")
    assert snapshot["id"] == found["lastSyncResult"]["snapshotID"]
    completed = [
        reason
        for _, reason, _ in helpers.event_reasons(cluster, namespace, "app")
        if reason in ("TransferCompleted", "TransferFailed")
    ]
    assert completed == ["TransferCompleted"]
    took = helpers.parse_time(found["lastSyncTime"]) - helpers.parse_time(started)
    assert abs(durations.parse_duration(found["lastSyncDuration"]) - took).total_seconds() < 1
    assert helpers.mover_jobs(cluster, namespace) == []
