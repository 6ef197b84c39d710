"""Faults of the control plane: the operator killed, the API server and etcd restarted, a source
deleted mid-backup, a snapshot that never gets ready and a PVC that never binds.

Each case ends with what a user checks: the repository restores to exactly the data written,
each sync ran one Job (counted from the API server's audit log, not only from what a poll saw),
status and events say what happened, and no Job, pod, temporary PVC, VolumeSnapshot, volume or
mover/restic process is left behind. A mover is held still (SIGSTOP) where a case needs the
fault to land mid-backup, so the cases stay quick with small data and mean the same with big.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.chaos import conftest
from tests.chaos import control_helpers as chaos
from tests.integration.reconcile import helpers

SOURCE = chaos.SOURCE
DESTINATION = chaos.DESTINATION
VOLUME_TIMEOUT_SECONDS = 8


def finished_with_one_job(
    plane: controlplane.ControlPlane, namespace: str, name: str, trigger: str
) -> tuple[dict[str, Any], set[str]]:
    """Wait for source `name` to answer `trigger`; return its status and the Job uids seen."""
    found, seen = helpers.wait_for_sync_seeing_jobs(
        plane, SOURCE, name, namespace, trigger, timeout=300
    )
    return found, set(seen)


def assert_backed_up(
    plane: controlplane.ControlPlane,
    namespace: str,
    name: str,
    status: dict[str, Any],
    *,
    expected: str,
    repository: pathlib.Path,
    scratch: pathlib.Path,
    snapshots: int = 1,
) -> None:
    """Status says Successful and names the newest of the repository's `snapshots`, which holds
    `expected`; one TransferCompleted event and no TransferFailed."""
    assert status["latestMoverStatus"]["result"] == "Successful", status
    assert helpers.condition(plane, SOURCE, name, namespace)["reason"] == "WaitingForManual"
    chaos.assert_repository_holds(
        repository, status["lastSyncResult"]["snapshotID"], expected, scratch, count=snapshots
    )
    transfer = [
        reason
        for reason in chaos.reasons(plane, namespace, name)
        if reason in ("TransferCompleted", "TransferFailed")
    ]
    assert transfer == ["TransferCompleted"]


# --- the operator killed --------------------------------------------------------------------


@pytest.mark.parametrize("mover", ["running", "finished"], ids=["mover-running", "mover-finished"])
def test_the_operator_killed_mid_sync_adopts_its_job(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
    mover: str,
) -> None:
    """SIGKILL to the operator while its mover runs; the new process finds the Job, whether the
    mover is still running when it comes back or finished while it was away."""
    expected = chaos.prepare_source_volume(cluster, namespace, chaos_size)
    apply(cluster, chaos.backup_source("app"), namespace=namespace)
    job = helpers.wait_for_running_mover(cluster, namespace, "volsync-src-app")
    repository = repository_root / namespace / "app"
    chaos.wait_for_mover_lock(repository)

    if mover == "running":
        with chaos.mover_held(cluster, namespace, "volsync-src-app"):
            operator.stop(kill=True)
            since = chaos.audit_now(cluster)
            operator.start()
            wait_until(
                lambda: chaos.operator_read_since(
                    cluster, namespace, "jobs", "volsync-src-app", after=since
                ),
                what="the restarted operator to look at the running Job",
            )
    else:
        operator.stop(kill=True)
        wait_until(
            lambda: helpers.job_finished(
                get(cluster, "job", job["metadata"]["name"], namespace=namespace) or {}
            ),
            what="the mover to finish while the operator is down",
            timeout=300,
        )
        operator.start()

    status, uids = finished_with_one_job(cluster, namespace, "app", "one")
    assert uids <= {job["metadata"]["uid"]}
    assert chaos.jobs_created(cluster, namespace) == ["volsync-src-app"]
    assert_backed_up(
        cluster,
        namespace,
        "app",
        status,
        expected=expected,
        repository=repository,
        scratch=tmp_path,
    )
    chaos.assert_nothing_left(cluster, namespace, claims={"app", "volsync-src-app-cache"})


# --- a source deleted mid-backup ------------------------------------------------------------

OWNED_KINDS = "jobs,pods,volumesnapshots,pvc,serviceaccounts,roles,rolebindings"


def owned_by(plane: controlplane.ControlPlane, namespace: str, uid: str) -> set[str]:
    """Return kind/name of every object in `namespace` owned by `uid`, transitively."""
    found = plane.kubectl("get", OWNED_KINDS, "-n", namespace, "-o", "json").stdout
    items = json.loads(found)["items"]
    owners, names = {uid}, set()
    while True:
        more = {
            (item["metadata"]["uid"], f"{item['kind']}/{item['metadata']['name']}")
            for item in items
            if owners & {ref["uid"] for ref in item["metadata"].get("ownerReferences") or []}
            and item["metadata"]["uid"] not in owners
        }
        if not more:
            return names
        owners |= {uid for uid, _ in more}
        names |= {name for _, name in more}


def test_a_source_deleted_mid_backup_leaves_nothing_and_a_sound_repository(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
) -> None:
    """Deleting the source stops its mover (held mid-backup until the deletion is under way)
    and the garbage collector removes every object it made; the repository stays usable."""
    expected = chaos.prepare_source_volume(cluster, namespace, chaos_size)
    apply(cluster, chaos.backup_source("app"), namespace=namespace)
    helpers.wait_for_running_mover(cluster, namespace, "volsync-src-app")
    repository = repository_root / namespace / "app"
    chaos.wait_for_mover_lock(repository)
    source = get(cluster, SOURCE, "app", namespace=namespace)
    assert source is not None
    created = owned_by(cluster, namespace, source["metadata"]["uid"])
    assert {
        "Job/volsync-src-app",
        "VolumeSnapshot/volsync-app-src",
        "PersistentVolumeClaim/volsync-app-src",
        "PersistentVolumeClaim/volsync-src-app-cache",
        "ServiceAccount/volsync-src-app",
        "Role/volsync-src-app",
        "RoleBinding/volsync-src-app",
    } <= created
    assert any(name.startswith("Pod/volsync-src-app-") for name in created), created

    with chaos.mover_held(cluster, namespace, "volsync-src-app"):
        cluster.kubectl("delete", SOURCE, "app", "-n", namespace, "--wait=false")
        wait_until(
            lambda: all(
                pod["metadata"].get("deletionTimestamp")
                for pod in helpers.list_items(cluster, "pods", namespace, chaos.CREATED_BY)
            ),
            what="the mover's pod to be deleted",
        )

    chaos.assert_nothing_left(cluster, namespace, claims={"app"})
    left = helpers.names_of(cluster, "serviceaccounts,roles,rolebindings", namespace)
    assert not {name for name in left if "volsync" in name}, left
    assert helpers.tree_checksum(cluster, namespace, "sum-after", "app") == expected
    chaos.assert_repository_sound(repository)
    # Held after its lock appeared, the mover may or may not have saved its snapshot yet;
    # if it did, the snapshot is whole.
    interrupted = helpers.snapshots(repository)
    if interrupted:
        [snapshot] = interrupted
        restored = helpers.restored_tree_checksum(repository, snapshot["id"], tmp_path / "first")
        assert restored == expected

    again = helpers.replication_source(
        "again", claim_name="app", repository="app", trigger={"manual": "two"}
    )
    apply(cluster, again, namespace=namespace)
    status, _ = finished_with_one_job(cluster, namespace, "again", "two")
    assert_backed_up(
        cluster,
        namespace,
        "again",
        status,
        expected=expected,
        repository=repository,
        scratch=tmp_path / "again",
    )  # fmt: skip  (retention keeps the last snapshot only)
    chaos.assert_repository_sound(repository)
    chaos.assert_nothing_left(cluster, namespace, claims={"app", "volsync-src-again-cache"})
