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
    status = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "one", timeout=300)

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
