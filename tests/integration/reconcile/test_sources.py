"""Backups by every copyMethod and both triggers, checked in the repository byte for byte.

For each copyMethod one test runs a manual source and a scheduled source of the same volume side
by side: the manual one syncs for its trigger, the scheduled one syncs at once when created (as
upstream) and then waits for the next cron slot. What a user would check: the snapshot in the
repository holds the volume's bytes, the mover read the right volume (the temporary clone or
snapshot copy, or with Direct the app's own volume on the app's node), status and condition say
what happened, and nothing temporary is left behind.
"""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until

from reconcile import helpers

SOURCE = "replicationsource"


def start_app(plane: controlplane.ControlPlane, namespace: str) -> None:
    """Run the app: a pod that writes the sample into its volume and keeps running."""
    script = helpers.WRITE_SAMPLE.format(marker="app") + " && echo ready && sleep 3600"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app"},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "app",
                    "image": helpers.BUSYBOX,
                    "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    apply(plane, pod, namespace=namespace)
    wait_until(
        lambda: "ready" in plane.kubectl("logs", "-n", namespace, "app", check=False).stdout,
        what="the app pod to write its data",
    )


def data_volume_of(job: dict[str, Any]) -> str:
    volumes = job["spec"]["template"]["spec"]["volumes"]
    return next(
        item["persistentVolumeClaim"]["claimName"] for item in volumes if item["name"] == "data"
    )


def next_whole_hour(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)


@pytest.mark.parametrize("copy_method", ["Clone", "Direct", "Snapshot"])
def test_manual_and_scheduled_sources_back_up_the_volume(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: object,
    repository_root: pathlib.Path,
    tmp_path: pathlib.Path,
    copy_method: str,
) -> None:
    apply(
        cluster,
        helpers.claim("data"),
        helpers.repository_secret("manual-repo", path=f"{namespace}/manual"),
        helpers.repository_secret("scheduled-repo", path=f"{namespace}/scheduled"),
        namespace=namespace,
    )
    start_app(cluster, namespace)
    original = helpers.tree_checksum(cluster, namespace, "sum-original", "data")

    apply(
        cluster,
        helpers.replication_source(
            "manual", repository="manual-repo", copy_method=copy_method, trigger={"manual": "one"}
        ),
        helpers.replication_source(
            "scheduled",
            repository="scheduled-repo",
            copy_method=copy_method,
            trigger={"schedule": "0 * * * *"},
        ),
        namespace=namespace,
    )
    manual, jobs = helpers.wait_for_sync_seeing_jobs(cluster, SOURCE, "manual", namespace, "one")
    scheduled = wait_until(
        lambda: (
            (found := helpers.status(cluster, SOURCE, "scheduled", namespace)).get("lastSyncTime")
            and found
        ),
        what="the scheduled source's first sync",
    )

    for name, found in (("manual", manual), ("scheduled", scheduled)):
        assert found["latestMoverStatus"]["result"] == "Successful", found
        [snapshot] = helpers.snapshots(repository_root / namespace / name)
        assert snapshot["hostname"] == "volsync"
        assert snapshot["paths"] == ["/data"]
        assert snapshot["id"] == found["lastSyncResult"]["snapshotID"]
        restored = helpers.restored_tree_checksum(
            repository_root / namespace / name, snapshot["id"], tmp_path / name
        )
        assert restored == original

    [job] = [job for job in jobs.values() if job["metadata"]["name"] == "volsync-src-manual"]
    if copy_method == "Direct":
        assert data_volume_of(job) == "data"
        assert job["spec"]["template"]["spec"]["nodeSelector"] == {
            "kubernetes.io/hostname": "local-node"
        }
    else:
        assert data_volume_of(job) == "volsync-manual-src"
    app = get(cluster, "pod", "app", namespace=namespace)
    assert app is not None and app["status"]["phase"] == "Running"

    assert helpers.condition(cluster, SOURCE, "manual", namespace)["reason"] == "WaitingForManual"
    assert manual.get("nextSyncTime") is None
    waiting = helpers.wait_for_reason(cluster, SOURCE, "scheduled", namespace, "WaitingForSchedule")
    assert waiting["status"] == "False"
    scheduled = helpers.status(cluster, SOURCE, "scheduled", namespace)
    last_sync = helpers.parse_time(scheduled["lastSyncTime"])
    assert helpers.parse_time(scheduled["nextSyncTime"]) == next_whole_hour(last_sync)
    assert "lastManualSync" not in scheduled

    assert (
        helpers.names_of(cluster, "pvc,volumesnapshot,job", namespace, "volsync.backube/cleanup")
        == set()
    )
    assert {"persistentvolumeclaim/volsync-src-manual-cache"} <= helpers.names_of(
        cluster, "pvc", namespace
    )
    completed = [
        note
        for type_, reason, note in helpers.event_reasons(cluster, namespace, "manual")
        if (type_, reason) == ("Normal", "TransferCompleted")
    ]
    assert len(completed) == 1 and manual["lastSyncResult"]["snapshotID"][:8] in completed[0]


def test_a_schedule_in_its_own_zone_waits_for_that_zone_s_clock_and_a_bad_zone_is_named(
    cluster: controlplane.ControlPlane, namespace: str, operator: object
) -> None:
    helpers.prepare_app(cluster, namespace)
    kolkata = "CRON_TZ=Asia/Kolkata 0 3 * * *"  # UTC+05:30: 03:00 there is 21:30 UTC
    apply(
        cluster,
        helpers.replication_source("app", copy_method="Direct", trigger={"schedule": kolkata}),
        helpers.replication_source(
            "elsewhere", copy_method="Direct", trigger={"schedule": "CRON_TZ=Mars/Base 0 3 * * *"}
        ),
        namespace=namespace,
    )

    waiting = helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "WaitingForSchedule")
    assert waiting["status"] == "False"
    found = helpers.status(cluster, SOURCE, "app", namespace)
    last_sync = helpers.parse_time(found["lastSyncTime"])
    next_sync = helpers.parse_time(found["nextSyncTime"])
    assert next_sync.astimezone(datetime.UTC).strftime("%H:%M:%S") == "21:30:00", found
    assert datetime.timedelta(0) < next_sync - last_sync <= datetime.timedelta(days=1)
    refused = helpers.wait_for_reason(cluster, SOURCE, "elsewhere", namespace, "Error")
    assert "spec.trigger.schedule" in refused["message"]
    assert "unknown time zone 'Mars/Base'" in refused["message"]
