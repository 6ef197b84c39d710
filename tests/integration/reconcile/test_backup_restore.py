"""A user's first backup and restore through the operator: real Jobs, real restic, real bytes."""

from __future__ import annotations

from localcluster import controlplane
from localcluster.testing import apply

from reconcile import helpers


def test_snapshot_backup_then_restore_gives_the_same_bytes(
    cluster: controlplane.ControlPlane, namespace: str, operator: object
) -> None:
    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app"),
        helpers.claim("data"),
        namespace=namespace,
    )
    helpers.run_shell(
        cluster,
        namespace,
        "writer",
        claim_name="data",
        script=helpers.WRITE_SAMPLE.format(marker="one"),
    )
    original = helpers.tree_checksum(cluster, namespace, "sum-original", "data")

    source = {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "app"},
        "spec": {
            "sourcePVC": "data",
            "trigger": {"manual": "backup-1"},
            "restic": {
                "repository": "repo",
                "copyMethod": "Snapshot",
                "retain": {"hourly": 24, "daily": 7},
            },
        },
    }
    apply(cluster, source, namespace=namespace)
    backed_up = helpers.wait_for_manual_sync(
        cluster, "replicationsource", "app", namespace, "backup-1"
    )
    assert backed_up["latestMoverStatus"]["result"] == "Successful", backed_up
    assert backed_up["lastSyncResult"]["outcome"] == "succeeded"
    assert "snapshot" in backed_up["latestMoverStatus"]["logs"]
    assert (
        helpers.condition(cluster, "replicationsource", "app", namespace)["reason"]
        == "WaitingForManual"
    )
    # The temporary snapshot and its PVC are gone; the Job too.
    assert (
        cluster.kubectl(
            "get",
            "volumesnapshot,job",
            "-n",
            namespace,
            "-l",
            "volsync.backube/cleanup",
            "-o",
            "name",
        ).stdout.strip()
        == ""
    )

    destination = {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": {"name": "app-restore"},
        "spec": {
            "trigger": {"manual": "restore-once"},
            "restic": {
                "repository": "repo",
                "copyMethod": "Direct",
                "capacity": "1Gi",
                "accessModes": ["ReadWriteOnce"],
            },
        },
    }
    apply(cluster, destination, namespace=namespace)
    restored = helpers.wait_for_manual_sync(
        cluster, "replicationdestination", "app-restore", namespace, "restore-once"
    )
    assert restored["latestMoverStatus"]["result"] == "Successful", restored
    assert restored["latestImage"] == {
        "apiGroup": "",
        "kind": "PersistentVolumeClaim",
        "name": "volsync-app-restore-dest",
    }
    assert restored["lastSyncResult"]["snapshotID"] == backed_up["lastSyncResult"]["snapshotID"]
    copy = helpers.tree_checksum(cluster, namespace, "sum-restored", "volsync-app-restore-dest")
    assert copy == original
