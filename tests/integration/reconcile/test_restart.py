"""An operator restart in the middle of a sync adopts the running mover instead of starting another.

The state of a sync lives in the cluster (``status.lastSyncStartTime`` and the Job), so a new
operator process, whether the old one stopped cleanly or was killed, finds the Job its
predecessor created and waits for it. A user checks: one Job (same uid) for the whole sync, one
snapshot, one completion event, and a duration counted from the original start.
"""

from __future__ import annotations

import datetime
import json
import pathlib
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get

from pyvolsync.api import durations
from reconcile import conftest, helpers

SOURCE = "replicationsource"
SYNCING = {
    "type": "Synchronizing",
    "status": "True",
    "reason": "SyncInProgress",
    "message": "Synchronization in-progress",
    "lastTransitionTime": "2026-01-01T00:00:00Z",
}


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


UPSTREAM_LOG = (
    "Starting container\n"
    "VolSync restic container version: v0.16.0\n"
    "using parent snapshot 1a2b3c4d\n"
    "processed 3 files, 12.000 KiB in 0:00\n"
    "snapshot 5e6f7a8b saved\n"
    "Restic completed in 1s\n"
    "=== Done ===\n"
)


def upstream_job(source: dict[str, Any]) -> dict[str, Any]:
    """The Job upstream VolSync's restic mover leaves: its names, no result document."""
    meta = source["metadata"]
    owner = {"apiVersion": source["apiVersion"], "kind": "ReplicationSource"}
    owner |= {"name": meta["name"], "uid": meta["uid"], "controller": True}
    script = f"printf '%s' '{UPSTREAM_LOG}'"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"volsync-src-{meta['name']}",
            "labels": {"app.kubernetes.io/created-by": "volsync"},
            "ownerReferences": [owner],
        },
        "spec": {
            "backoffLimit": 2,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "restic",
                            "image": helpers.BUSYBOX,
                            "command": ["sh", "-c", script],
                        }
                    ],
                }
            },
        },
    }


def test_a_job_upstream_finished_while_no_operator_ran_keeps_its_times_and_log(
    cluster: controlplane.ControlPlane, namespace: str, *, operator: conftest.Operator
) -> None:
    helpers.prepare_app(cluster, namespace)
    operator.stop()
    try:
        apply(
            cluster,
            helpers.replication_source("app", trigger={"manual": "one"}),
            namespace=namespace,
        )
        started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        syncing = {"lastSyncStartTime": started, "conditions": [SYNCING]}
        cluster.kubectl(
            "patch", SOURCE, "app", "-n", namespace, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": syncing}),
        )  # fmt: skip
        source = get(cluster, SOURCE, "app", namespace=namespace)
        assert source is not None
        apply(cluster, upstream_job(source), namespace=namespace)
        cluster.wait_for("job", "volsync-src-app", "Complete", namespace=namespace, timeout=90)
        job = get(cluster, "job", "volsync-src-app", namespace=namespace)
        assert job is not None
    finally:
        operator.start()
        operator.wait_ready()

    found = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "one")
    assert found["latestMoverStatus"]["result"] == "Successful"
    assert found["latestMoverStatus"]["logs"].splitlines() == [
        "using parent snapshot 1a2b3c4d",
        "processed 3 files, 12.000 KiB in 0:00",
        "snapshot 5e6f7a8b saved",
        "Restic completed in 1s",
    ]
    assert found["lastSyncTime"] == job["status"]["completionTime"]
    took = helpers.parse_time(job["status"]["completionTime"]) - helpers.parse_time(started)
    assert durations.parse_duration(found["lastSyncDuration"]) == took
