"""Deleting a source in the middle of a sync leaves nothing of it behind.

Every object a sync creates (Job and pod, the temporary VolumeSnapshot and the PVC made from it,
the cache PVC, ServiceAccount, Role and RoleBinding) is owned by the ReplicationSource, so the
garbage collector removes them all when it is deleted; there is no finalizer to get stuck. The
mover is stopped with SIGTERM and releases its repository lock, and the app's volume stays.
"""

from __future__ import annotations

import json
import pathlib

from localcluster import controlplane
from localcluster.testing import get, wait_until

from reconcile import helpers

KINDS = "job,pod,volumesnapshot,pvc,serviceaccount,role,rolebinding"


def owned_by(plane: controlplane.ControlPlane, namespace: str, uids: set[str]) -> set[str]:
    """Return kind/name of every object in `namespace` owned by one of `uids`, transitively."""
    items = json.loads(plane.kubectl("get", KINDS, "-n", namespace, "-o", "json").stdout)["items"]
    owners, found = set(uids), set()
    changed = True
    while changed:
        changed = False
        for item in items:
            meta = item["metadata"]
            references = {reference["uid"] for reference in meta.get("ownerReferences") or []}
            if references & owners and meta["uid"] not in owners:
                owners.add(meta["uid"])
                found.add(f"{item['kind']}/{meta['name']}")
                changed = True
    return found


def test_deleting_a_source_mid_sync_removes_everything_it_created(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    repository_root: pathlib.Path,
) -> None:
    helpers.start_slow_backup(cluster, namespace, copy_method="Snapshot")
    source = get(cluster, "replicationsource", "app", namespace=namespace)
    assert source is not None
    locks = repository_root / namespace / "app" / "locks"
    wait_until(lambda: locks.is_dir() and any(locks.iterdir()), what="the backup's lock")
    created = owned_by(cluster, namespace, {source["metadata"]["uid"]})
    expected = {
        "Job/volsync-src-app",
        "VolumeSnapshot/volsync-app-src",
        "PersistentVolumeClaim/volsync-app-src",
        "PersistentVolumeClaim/volsync-src-app-cache",
        "ServiceAccount/volsync-src-app",
        "Role/volsync-src-app",
        "RoleBinding/volsync-src-app",
    }
    assert expected <= created
    assert any(name.startswith("Pod/volsync-src-app-") for name in created), created

    cluster.kubectl("delete", "replicationsource", "app", "-n", namespace, "--wait=false")

    def leftovers() -> set[str]:
        names = helpers.names_of(cluster, KINDS, namespace)
        return {name for name in names if "volsync" in name}

    wait_until(lambda: not leftovers(), what="the source's objects to be deleted", timeout=90)
    assert get(cluster, "pvc", "data", namespace=namespace) is not None
    assert not any(locks.iterdir()), "the stopped mover left its repository lock behind"
    assert helpers.mover_jobs(cluster, namespace) == []
