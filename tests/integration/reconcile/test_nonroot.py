"""Movers that run as an ordinary user (moverSecurityContext) back up and restore.

Clusters that forbid root pods set ``runAsUser``/``runAsGroup``/``fsGroup`` on the movers. The
volumes here are ``longhorn`` volumes, whose fresh top directory is root-owned 0755 like a new
ext4 disk, so only ``fsGroup`` lets the mover write its cache and the restored files. A user
checks: both syncs succeed, the repository belongs to the mover's user, the restored bytes are
the original ones, and the restored files belong to the mover's user and group (an unprivileged
restic cannot give them their original owner).
"""

from __future__ import annotations

import pathlib

from localcluster import controlplane
from localcluster.testing import apply

from reconcile import helpers

USER = 1000
SECURITY_CONTEXT = {"runAsUser": USER, "runAsGroup": USER, "fsGroup": USER}
OWNERS = "cd /data && find . -mindepth 1 ! -type l -exec stat -c '%u:%g %n' {} + | sort"


def test_non_root_movers_back_up_and_restore(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    repository_root: pathlib.Path,
) -> None:
    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app"),
        helpers.claim("data", storage_class="longhorn"),
        namespace=namespace,
    )
    helpers.run_shell(
        cluster,
        namespace,
        "writer",
        claim_name="data",
        script=helpers.WRITE_SAMPLE.format(marker="x"),
    )
    original = helpers.tree_checksum(cluster, namespace, "sum-original", "data")
    apply(
        cluster,
        helpers.replication_source(
            "app",
            trigger={"manual": "one"},
            storageClassName="longhorn",
            moverSecurityContext=SECURITY_CONTEXT,
        ),
        namespace=namespace,
    )
    backed_up = helpers.wait_for_manual_sync(cluster, "replicationsource", "app", namespace, "one")
    assert backed_up["latestMoverStatus"]["result"] == "Successful", backed_up
    repository = repository_root / namespace / "app"
    assert (repository / "config").stat().st_uid == USER

    apply(
        cluster,
        helpers.replication_destination(
            "restore", storageClassName="longhorn", moverSecurityContext=SECURITY_CONTEXT
        ),
        namespace=namespace,
    )
    restored = helpers.wait_for_manual_sync(
        cluster, "replicationdestination", "restore", namespace, "restore-once"
    )
    assert restored["latestMoverStatus"]["result"] == "Successful", restored
    assert restored["lastSyncResult"]["snapshotID"] == backed_up["lastSyncResult"]["snapshotID"]
    assert (
        helpers.tree_checksum(cluster, namespace, "sum-restored", "volsync-restore-dest")
        == original
    )
    owners = helpers.run_shell(
        cluster, namespace, "owners", claim_name="volsync-restore-dest", script=OWNERS
    )
    assert owners.splitlines() == [
        f"{USER}:{USER} ./{name}"
        for name in ("dir", "dir/blob", "dir/deeper", "dir/deeper/marker", "hello.txt")
    ]
