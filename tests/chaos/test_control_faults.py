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
from collections.abc import Iterator
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
    try:
        found, seen = helpers.wait_for_sync_seeing_jobs(
            plane, SOURCE, name, namespace, trigger, timeout=300
        )
    except pytest.fail.Exception as failure:
        pytest.fail(f"{failure}\n{chaos.describe(plane, namespace, name)}", pytrace=False)
    job_name = f"volsync-src-{name}"
    return found, {uid for uid, job in seen.items() if job["metadata"]["name"] == job_name}


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
    transfers: int = 1,
) -> None:
    """Status says Successful and names the newest of the repository's `snapshots`, which holds
    `expected`; `transfers` TransferCompleted events so far and no TransferFailed."""
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
    assert transfer == ["TransferCompleted"] * transfers


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
        snapshots=len(interrupted) + 1,  # retention keeps each source's own snapshots
    )
    chaos.assert_repository_sound(repository)
    chaos.assert_nothing_left(cluster, namespace, claims={"app", "volsync-src-again-cache"})


# --- volumes that never get ready -----------------------------------------------------------

SNAPSHOT_FAULT = "localcluster.pyvolsync.dev/snapshot-fault"


class VolumeTimeout:
    """Switches the module's operator between a volume timeout of a few seconds and its usual
    one (the retries after a timeout copy real data, which may take longer at full size)."""

    def __init__(self, operator: conftest.Operator) -> None:
        self.operator = operator
        self.usual = operator.args

    def shorten(self) -> None:
        self.operator.args = (*self.usual, "--volume-timeout", f"{VOLUME_TIMEOUT_SECONDS}s")
        self.operator.restart()

    def restore(self) -> None:
        if self.operator.args != self.usual:
            self.operator.args = self.usual
            self.operator.restart()


@pytest.fixture
def volume_timeout(operator: conftest.Operator) -> Iterator[VolumeTimeout]:
    """The operator runs with a short volume timeout until the test calls `restore()`."""
    switch = VolumeTimeout(operator)
    switch.shorten()
    yield switch
    switch.restore()


@pytest.fixture
def never_binding_class(cluster: controlplane.ControlPlane, namespace: str) -> Iterator[str]:
    """A StorageClass whose provisioner does not exist: its PVCs stay Pending for ever."""
    name = f"never-binds-{namespace}"
    storage_class = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "nobody.example.com/no-such-driver",
        "volumeBindingMode": "Immediate",
    }
    apply(cluster, storage_class)
    yield name
    cluster.kubectl("delete", "storageclass", name, "--wait=false")


def assert_timed_out(
    plane: controlplane.ControlPlane,
    kind: str,
    name: str,
    namespace: str,
    *,
    reason: str,
    stuck: str,
) -> dict[str, Any]:
    """The sync answered its trigger as failed because `stuck` was not ready; status, condition
    and one Warning event say so. Return the status."""
    trigger = "one" if kind == SOURCE else "restore-once"
    status = helpers.wait_for_manual_sync(plane, kind, name, namespace, trigger)
    error_kind = {"SnapshotNotReady": "snapshot-not-ready", "VolumeNotBound": "volume-not-bound"}
    assert status["latestMoverStatus"]["result"] == "Failed"
    assert status["lastSyncResult"]["errorKind"] == error_kind[reason]
    assert status["consecutiveFailures"] == 1
    assert "lastSyncTime" not in status
    condition = helpers.condition(plane, kind, name, namespace)
    assert (condition["status"], condition["reason"]) == ("False", reason)
    assert stuck in condition["message"] and "--volume-timeout" in condition["message"]
    stuck_events = [
        note for event, note in chaos.warnings(plane, namespace, name) if event == reason
    ]
    assert len(stuck_events) == 1 and stuck in stuck_events[0], stuck_events
    assert "TransferCompleted" not in chaos.reasons(plane, namespace, name)
    return status


@pytest.mark.parametrize("fault", ["fail", "delay=3600"])
def test_a_snapshot_that_never_gets_ready_times_out_and_the_next_trigger_works(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    volume_timeout: VolumeTimeout,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
    fault: str,
) -> None:
    """The source's VolumeSnapshot fails (or would take an hour): after the timeout the sync
    fails as SnapshotNotReady, the snapshot is deleted, no mover ever started; once the
    snapshotter works, the next trigger backs up."""
    cluster.kubectl("annotate", "namespace", namespace, f"{SNAPSHOT_FAULT}={fault}")
    expected = chaos.prepare_source_volume(cluster, namespace, chaos_size)
    apply(cluster, chaos.backup_source("app"), namespace=namespace)

    assert_timed_out(
        cluster, SOURCE, "app", namespace, reason="SnapshotNotReady", stuck="volsync-app-src"
    )
    if fault == "fail":
        [(_, note)] = [
            item
            for item in chaos.warnings(cluster, namespace, "app")
            if item[0] == "SnapshotNotReady"
        ]
        assert "injected fault" in note, note
    assert chaos.jobs_created(cluster, namespace) == []
    chaos.assert_nothing_left(cluster, namespace, claims={"app"})

    cluster.kubectl("annotate", "namespace", namespace, f"{SNAPSHOT_FAULT}-")
    volume_timeout.restore()
    helpers.set_manual_trigger(cluster, SOURCE, "app", namespace, "two")
    status = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "two")
    assert status["latestMoverStatus"]["result"] == "Successful"
    assert "consecutiveFailures" not in status
    assert_backed_up(
        cluster, namespace, "app", status, expected=expected,
        repository=repository_root / namespace / "app", scratch=tmp_path,
    )  # fmt: skip
    chaos.assert_nothing_left(cluster, namespace, claims={"app", "volsync-src-app-cache"})


def test_a_source_without_trigger_retries_a_stuck_snapshot_after_the_backoff(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    volume_timeout: VolumeTimeout,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
) -> None:
    """Without a trigger a source syncs again and again; a snapshot that never gets ready fails
    each attempt as SnapshotNotReady, the next one starting after the failure backoff (5 s in
    these tests, doubling), until the snapshotter works again."""
    cluster.kubectl("annotate", "namespace", namespace, f"{SNAPSHOT_FAULT}=fail")
    expected = chaos.prepare_source_volume(cluster, namespace, chaos_size)
    source = helpers.replication_source("app", claim_name="app", repository="app", trigger={})
    apply(cluster, source, namespace=namespace)

    def failed_twice() -> bool:
        current = helpers.status(cluster, SOURCE, "app", namespace)
        return current.get("consecutiveFailures") == 2 and not current.get("lastSyncStartTime")

    wait_until(failed_twice, what="two timed-out attempts", timeout=120)
    condition = helpers.condition(cluster, SOURCE, "app", namespace)
    assert condition["reason"] == "SnapshotNotReady"
    assert "volsync-app-src" in condition["message"] and "retrying at" in condition["message"]
    # Each attempt is counted, on one Event's series when its note repeats.
    assert chaos.occurrences(cluster, namespace, "app", "SnapshotNotReady") >= 2
    assert chaos.jobs_created(cluster, namespace) == []

    cluster.kubectl("annotate", "namespace", namespace, f"{SNAPSHOT_FAULT}-")
    volume_timeout.restore()
    status = wait_until(
        lambda: (
            (current := helpers.status(cluster, SOURCE, "app", namespace)).get("lastSyncTime")
            and current
        ),
        what="a successful backup once the snapshotter works",
        timeout=300,
    )
    helpers.patch_spec(cluster, SOURCE, "app", namespace, {"paused": True})
    wait_until(
        lambda: helpers.condition(cluster, SOURCE, "app", namespace).get("reason") == "Paused",
        what="the sync in flight to end and the source to say Paused",
        timeout=300,
    )
    assert "consecutiveFailures" not in status
    # It went on syncing until paused; retention kept the newest snapshot only.
    status = helpers.status(cluster, SOURCE, "app", namespace)
    repository = repository_root / namespace / "app"
    snapshot_id = status["lastSyncResult"]["snapshotID"]
    chaos.assert_repository_holds(repository, snapshot_id, expected, tmp_path)
    chaos.assert_nothing_left(cluster, namespace, claims={"app", "volsync-src-app-cache"})


@pytest.mark.parametrize("stuck", ["clone", "cache"])
def test_a_source_volume_that_never_binds_times_out_and_is_deleted(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    volume_timeout: VolumeTimeout,
    never_binding_class: str,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
    stuck: str,
) -> None:
    """The source's clone (or its restic cache) is of a class nobody provisions: after the
    timeout the sync fails as VolumeNotBound, the PVC and the Job are deleted; with the class
    fixed, the next trigger backs up."""
    expected = chaos.prepare_source_volume(cluster, namespace, chaos_size)
    field = "storageClassName" if stuck == "clone" else "cacheStorageClassName"
    claim = "volsync-app-src" if stuck == "clone" else "volsync-src-app-cache"
    source = chaos.backup_source("app", copy_method="Clone")
    source["spec"]["restic"][field] = never_binding_class
    apply(cluster, source, namespace=namespace)

    assert_timed_out(cluster, SOURCE, "app", namespace, reason="VolumeNotBound", stuck=claim)
    assert chaos.jobs_created(cluster, namespace) == ["volsync-src-app"]
    # The cache falls back to the copy's class (as upstream): in both cases both were stuck.
    chaos.assert_nothing_left(cluster, namespace, claims={"app"})

    helpers.patch_spec(cluster, SOURCE, "app", namespace, {"restic": {field: None}})
    volume_timeout.restore()
    helpers.set_manual_trigger(cluster, SOURCE, "app", namespace, "two")
    status = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "two")
    assert_backed_up(
        cluster, namespace, "app", status, expected=expected,
        repository=repository_root / namespace / "app", scratch=tmp_path,
    )  # fmt: skip
    chaos.assert_nothing_left(cluster, namespace, claims={"app", "volsync-src-app-cache"})


def test_a_destination_volume_that_never_binds_times_out_and_is_deleted(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    volume_timeout: VolumeTimeout,
    never_binding_class: str,
    chaos_size: conftest.ChaosSize,
) -> None:
    """A restore into a new volume of a class nobody provisions fails as VolumeNotBound and
    leaves no volume; with the class fixed, the next trigger restores exactly the backup."""
    expected = chaos.prepare_source_volume(cluster, namespace, chaos_size)
    apply(cluster, chaos.backup_source("app", copy_method="Direct"), namespace=namespace)
    backed_up = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "one")
    assert backed_up["latestMoverStatus"]["result"] == "Successful"
    restore = helpers.replication_destination(
        "restore", repository="app", storageClassName=never_binding_class
    )
    apply(cluster, restore, namespace=namespace)

    assert_timed_out(
        cluster, DESTINATION, "restore", namespace, reason="VolumeNotBound",
        stuck="volsync-restore-dest",
    )  # fmt: skip
    assert "latestImage" not in helpers.status(cluster, DESTINATION, "restore", namespace)
    kept = {"app", "volsync-src-app-cache"}  # the restore's cache was stuck too, and deleted
    chaos.assert_nothing_left(cluster, namespace, claims=kept)

    fixed = {"restic": {"storageClassName": None}}
    helpers.patch_spec(cluster, DESTINATION, "restore", namespace, fixed)
    volume_timeout.restore()
    helpers.set_manual_trigger(cluster, DESTINATION, "restore", namespace, "again")
    status = helpers.wait_for_manual_sync(cluster, DESTINATION, "restore", namespace, "again")
    assert status["latestMoverStatus"]["result"] == "Successful"
    assert status["latestImage"]["name"] == "volsync-restore-dest"
    restored = helpers.tree_checksum(cluster, namespace, "sum-restored", "volsync-restore-dest")
    assert restored == expected
    kept |= {"volsync-restore-dest", "volsync-dst-restore-cache"}
    chaos.assert_nothing_left(cluster, namespace, claims=kept)


# --- the API server and etcd restarted --------------------------------------------------------

NAMES = ("alpha", "beta", "gamma")
DOWN_SECONDS = 3.0


def sync_all_once(
    plane: controlplane.ControlPlane, namespace: str, trigger: str
) -> dict[str, dict[str, Any]]:
    """Wait for every source to answer `trigger`; each ran exactly one Job. Return statuses."""
    statuses = {}
    for name in NAMES:
        statuses[name], uids = finished_with_one_job(plane, namespace, name, trigger)
        assert len(uids) <= 1, f"{name} ran {len(uids)} Jobs"
    return statuses


@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_syncs_complete_once_across_a_restart_of(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
    component: str,
) -> None:
    """Three backups run when `component` goes down for a few seconds (two movers held still
    across it, one left to finish whenever it can). Every sync completes exactly once with the
    right data, and a new trigger afterwards is seen: the operator's watches came back."""
    expected = {
        name: chaos.prepare_source_volume(cluster, namespace, chaos_size, name=name)
        for name in NAMES
    }
    for name in NAMES:
        apply(cluster, chaos.backup_source(name), namespace=namespace)
    for name in NAMES:
        helpers.wait_for_running_mover(cluster, namespace, f"volsync-src-{name}")
    with (
        chaos.mover_held(cluster, namespace, "volsync-src-alpha"),
        chaos.mover_held(cluster, namespace, "volsync-src-beta"),
    ):
        cluster.restart(component, down_seconds=DOWN_SECONDS)

    for round_number, trigger in enumerate(("one", "two"), start=1):
        if round_number > 1:
            for name in NAMES:
                helpers.set_manual_trigger(cluster, SOURCE, name, namespace, trigger)
        statuses = sync_all_once(cluster, namespace, trigger)
        for name in NAMES:
            assert_backed_up(
                cluster, namespace, name, statuses[name], expected=expected[name],
                repository=repository_root / namespace / name,
                scratch=tmp_path / f"{name}-{trigger}", transfers=round_number,
            )  # fmt: skip
    created = chaos.jobs_created(cluster, namespace)
    assert sorted(created) == sorted(f"volsync-src-{name}" for name in NAMES for _ in range(2))
    caches = {f"volsync-src-{name}-cache" for name in NAMES}
    chaos.assert_nothing_left(cluster, namespace, claims=set(NAMES) | caches)
