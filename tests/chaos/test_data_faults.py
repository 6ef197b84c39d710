"""Faults on the data path, with the real operator, mover and restic on the local cluster.

Each case breaks what a backup or restore touches: restic killed mid-backup (by SIGKILL, or the
node agent killing the whole mover container), a wrong password, a repository path that does not
exist, a read-only repository volume, a full cache volume. Each then checks what a user would:
every snapshot in the repository restores to exactly what was written when it was taken (and a
failed sync added nothing), the status and events name the fault in words a user can act on, the
number of mover attempts is what the retry policy promises, and no Job, pod, temporary PVC,
VolumeSnapshot or mover/restic process is left behind.
"""

from __future__ import annotations

import os
import pathlib
import signal
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, wait_until
from tests.chaos import conftest, control_helpers, data_helpers
from tests.integration.reconcile import helpers

SOURCE, DESTINATION = data_helpers.SOURCE, data_helpers.DESTINATION
JOB = "volsync-src-app"
KEPT = {"app", "volsync-src-app-cache"}
"""PVCs that stay after a source's sync: the app's data and the restic cache."""


def process_gone(pid: int) -> bool:
    """Return True when `pid` has exited (gone, or a zombie waiting for its parent)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def warning_notes(plane: controlplane.ControlPlane, namespace: str, reason: str) -> list[str]:
    return [
        note for found, note in control_helpers.warnings(plane, namespace, "app") if found == reason
    ]


def normal_notes(plane: controlplane.ControlPlane, namespace: str, reason: str) -> list[str]:
    return [
        note
        for type_, found, note in helpers.event_reasons(plane, namespace, "app")
        if type_ == "Normal" and found == reason
    ]


# --- 1. the mover killed mid-backup --------------------------------------------------------------


@pytest.mark.parametrize("killed", ["restic", "container"])
def test_a_mover_killed_mid_backup_leaves_a_stale_lock_the_next_attempt_removes(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
    killed: str,
) -> None:
    written = control_helpers.prepare_source_volume(cluster, namespace, chaos_size)
    repository = repository_root / namespace / "app"
    apply(cluster, control_helpers.backup_source("app"), namespace=namespace)

    with data_helpers.mover_stopped_mid_backup(cluster, namespace, JOB, repository) as restic:
        if killed == "restic":
            os.kill(restic, signal.SIGKILL)
        else:
            pod = data_helpers.running_mover_pod(cluster, namespace, JOB)
            cluster.kubectl(
                "annotate", "pod", pod, "-n", namespace,
                f"{data_helpers.FAULT_PREFIX}kill-container=restic",
            )  # fmt: skip
        wait_until(lambda: process_gone(restic), what="restic to be killed")
    status = data_helpers.synced(cluster, namespace, "app", "one")

    # The data: one snapshot, of the second attempt, restoring to exactly what was written.
    assert status["latestMoverStatus"]["result"] == "Successful", status
    snapshot = status["lastSyncResult"]["snapshotID"]
    data_helpers.assert_snapshots_restore(repository, {snapshot: written}, tmp_path)
    assert data_helpers.snapshot_tags(repository) == {
        snapshot: [f"pyvolsync-source={namespace}/app"]
    }
    # What the user is told: the killed attempt, then a success that says it removed the lock.
    assert status["lastSyncResult"]["outcome"] == "succeeded"
    assert (
        "removed 1 stale lock(s) before restic forget (restic unlock)"
        in status["lastSyncResult"]["message"]
    )
    cause = (
        "restic was killed by signal SIGKILL"
        if killed == "restic"
        else "the mover exited with code 137 without a result document"
    )
    (failed,) = warning_notes(cluster, namespace, "TransferFailed")
    assert cause in failed and failed.endswith("; retrying"), failed
    (completed,) = normal_notes(cluster, namespace, "TransferCompleted")
    assert f"snapshot {snapshot[:8]}" in completed and "stale lock" in completed
    assert data_helpers.pods_created(cluster, namespace, JOB) == 2
    helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "WaitingForManual")
    control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)


# --- 2. a wrong password -------------------------------------------------------------------------

OTHER_PASSWORD = "someone-elses-password-5521"


def test_a_wrong_password_fails_at_once_and_leaves_the_repository_untouched(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
) -> None:
    repository = repository_root / namespace / "app"
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "file").write_text("another application's data")
    data_helpers.host_made_repository(repository_root, repository, password=OTHER_PASSWORD)
    helpers.restic(repository, "backup", "--host", "volsync", str(theirs), password=OTHER_PASSWORD)
    data_helpers.hand_to_movers(repository_root, repository)
    before = data_helpers.fingerprint(repository)
    control_helpers.prepare_source_volume(cluster, namespace, chaos_size)
    apply(cluster, control_helpers.backup_source("app"), namespace=namespace)

    status = data_helpers.synced(cluster, namespace, "app", "one")

    assert status["latestMoverStatus"]["result"] == "Failed", status
    assert status["lastSyncResult"]["errorKind"] == "wrong-password"
    assert (status["consecutiveFailures"], status.get("lastSyncTime")) == (1, None)
    condition = helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "WrongPassword")
    assert "RESTIC_PASSWORD key of the repository Secret" in condition["message"]
    (failed,) = warning_notes(cluster, namespace, "TransferFailed")
    assert failed.startswith("synchronization failed (wrong-password): "), failed
    assert data_helpers.pods_created(cluster, namespace, JOB) == 1, "a wrong password is retried"
    control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)
    assert helpers.mover_jobs(cluster, namespace) == [], "a manual trigger starts no second sync"
    assert data_helpers.fingerprint(repository) == before
    (theirs_snapshot,) = helpers.snapshots(repository, password=OTHER_PASSWORD)
    assert theirs_snapshot["paths"] == [str(theirs)]
    shown = cluster.kubectl("get", "replicationsource,events", "-n", namespace, "-o", "json")
    assert "test-password" not in shown.stdout and OTHER_PASSWORD not in shown.stdout


# --- 3. a repository path that does not exist ----------------------------------------------------


def test_a_source_whose_repository_path_is_missing_creates_the_repository(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
) -> None:
    path = f"{namespace}/not/created/yet/app"
    secret = helpers.repository_secret("app", path=path)
    apply(cluster, secret, helpers.claim("app"), namespace=namespace)
    written = control_helpers.write_data(cluster, namespace, chaos_size, claim="app")
    assert not (repository_root / namespace).exists()
    apply(cluster, control_helpers.backup_source("app"), namespace=namespace)

    status = data_helpers.synced(cluster, namespace, "app", "one")

    created = "there was no repository at RESTIC_REPOSITORY: a new one was created"
    assert status["latestMoverStatus"]["result"] == "Successful"
    assert created in status["lastSyncResult"]["message"]
    (completed,) = normal_notes(cluster, namespace, "TransferCompleted")
    assert created in completed
    snapshot = status["lastSyncResult"]["snapshotID"]
    data_helpers.assert_snapshots_restore(repository_root / path, {snapshot: written}, tmp_path)
    control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)


def test_a_destination_whose_repository_is_missing_restores_nothing_and_says_so(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
) -> None:
    missing = repository_root / namespace / "never-backed-up"
    secret = helpers.repository_secret("app", path=f"{namespace}/never-backed-up")
    apply(cluster, secret, namespace=namespace)
    apply(
        cluster, helpers.replication_destination("restore", repository="app"), namespace=namespace
    )

    status = data_helpers.synced(cluster, namespace, "restore", "restore-once", kind=DESTINATION)

    # As the docs promise a new application: its (empty) volume, and why it is empty.
    assert status["lastSyncResult"]["errorKind"] == "repository-missing", status
    assert status["latestImage"] == {
        "apiGroup": "", "kind": "PersistentVolumeClaim", "name": "volsync-restore-dest"
    }  # fmt: skip
    condition = helpers.wait_for_reason(
        cluster, DESTINATION, "restore", namespace, "RepositoryMissing"
    )
    assert "the repository does not exist, the volume was left empty" in condition["message"]
    notes = [
        note
        for kind, note in control_helpers.warnings(cluster, namespace, "restore")
        if kind == "RepositoryMissing"
    ]
    assert notes == ["the repository does not exist: nothing was restored and the volume is empty"]
    listing = helpers.run_shell(
        cluster, namespace, "list", claim_name="volsync-restore-dest", script="ls -A /data"
    )
    assert listing.split() in ([], ["lost+found"])
    assert not missing.exists(), "a restore created the repository"
    control_helpers.assert_nothing_left(
        cluster, namespace, claims={"volsync-restore-dest", "volsync-dst-restore-cache"}
    )


# --- 4. a read-only repository, 5. a full cache volume -------------------------------------------


def backed_up_once(
    plane: controlplane.ControlPlane, namespace: str, size: conftest.ChaosSize
) -> tuple[str, str]:
    """Source `app` (keeping 5 snapshots) backed up once; return (snapshot, data listing)."""
    written = control_helpers.prepare_source_volume(plane, namespace, size)
    apply(plane, control_helpers.backup_source("app", retain={"last": "5"}), namespace=namespace)
    status = data_helpers.synced(plane, namespace, "app", "one")
    assert status["latestMoverStatus"]["result"] == "Successful", status
    return status["lastSyncResult"]["snapshotID"], written


def assert_failed_once_with(
    plane: controlplane.ControlPlane, namespace: str, status: dict[str, Any], kind: str
) -> dict[str, Any]:
    """The sync failed with error kind `kind`, in one attempt, said by one Warning event and
    the condition; return the condition."""
    assert status["latestMoverStatus"]["result"] == "Failed", status
    assert status["lastSyncResult"]["errorKind"] == kind, status
    reason = "".join(word.capitalize() for word in kind.split("-"))
    condition = helpers.wait_for_reason(plane, SOURCE, "app", namespace, reason)
    (failed,) = warning_notes(plane, namespace, "TransferFailed")
    assert failed.startswith(f"synchronization failed ({kind}): "), failed
    assert data_helpers.pods_created(plane, namespace, JOB) == 2, "the failed sync was retried"
    return condition


def test_a_read_only_repository_fails_clearly_and_the_sync_after_the_fix_loses_nothing(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
) -> None:
    repository = repository_root / namespace / "app"
    first, first_written = backed_up_once(cluster, namespace, chaos_size)
    second_written = control_helpers.write_data(
        cluster, namespace, chaos_size, claim="app", marker="two"
    )
    before = data_helpers.fingerprint(repository)

    with data_helpers.repository_volume_fault(cluster, namespace, "readonly"):
        failed = data_helpers.sync(cluster, namespace, "app", "two")
        control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)

    condition = assert_failed_once_with(cluster, namespace, failed, "repository-read-only")
    assert "restic was stopped instead of retrying for minutes" in condition["message"]
    assert "read-only file system" in condition["message"]
    assert "check the repository volume's mount" in condition["message"]
    assert data_helpers.fingerprint(repository) == before, "the failed sync wrote to the repository"
    fixed = data_helpers.sync(cluster, namespace, "app", "three")
    assert fixed["latestMoverStatus"]["result"] == "Successful", fixed
    expected = {first: first_written, fixed["lastSyncResult"]["snapshotID"]: second_written}
    data_helpers.assert_snapshots_restore(repository, expected, tmp_path)
    helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "WaitingForManual")
    control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)


def test_a_full_cache_volume_fails_with_no_space_and_the_sync_after_the_fix_loses_nothing(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
) -> None:
    repository = repository_root / namespace / "app"
    cache = data_helpers.CACHE_CLAIM.format(name="app")
    first, first_written = backed_up_once(cluster, namespace, chaos_size)
    files = data_helpers.size_files(chaos_size)
    script = (
        f"mkdir -p /data/many && i=0 && while [ $i -lt {files} ]; do "
        "echo $i > /data/many/file-with-a-long-name-$i; i=$((i+1)); done"
    )
    helpers.run_shell(cluster, namespace, "write-many", claim_name="app", script=script)
    second_written = helpers.tree_checksum(cluster, namespace, "sum-many", "app")

    data_helpers.set_claim_fault(cluster, namespace, cache, "full=4Ki")
    failed = data_helpers.sync(cluster, namespace, "app", "two")
    control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)
    data_helpers.set_claim_fault(cluster, namespace, cache, None)

    condition = assert_failed_once_with(cluster, namespace, failed, "no-space")
    assert "the cache volume (RESTIC_CACHE_DIR=/cache) has " in condition["message"]
    assert "bytes free, less than the 16 MiB restic needs" in condition["message"]
    assert "grow the cache volume" in condition["message"]
    assert [item["id"] for item in helpers.snapshots(repository)] == [first]
    fixed = data_helpers.sync(cluster, namespace, "app", "three")
    assert fixed["latestMoverStatus"]["result"] == "Successful", fixed
    expected = {first: first_written, fixed["lastSyncResult"]["snapshotID"]: second_written}
    data_helpers.assert_snapshots_restore(repository, expected, tmp_path)
    helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "WaitingForManual")
    control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)
