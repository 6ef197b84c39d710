"""Restore drills against the in-memory cluster: when the Job is made, what the status says after.

The test plays the Job controller and the kubelet as in test_reconciler_fake_cluster.py. The
same drills run against real restic and kopia in tests/inpod (the ``verify`` operation) and on
the real control plane in tests/integration/reconcile/test_drills.py.
"""

from __future__ import annotations

import datetime
from typing import Any

from tests.unit.controller.test_reconciler_fake_cluster import (
    BACKED_UP,
    NAMESPACE,
    Cluster,
    replication_source,
)

from pyvolsync import contract
from pyvolsync.controller import notifications
from pyvolsync.kube.client import Kind
from pyvolsync.movers import drillsettings

DRILL = "volsync-drill-app"


def verified(outcome: contract.Outcome, message: str) -> contract.MoverResult:
    kind = None if outcome.ok else contract.ErrorKind.VERIFY_FAILED
    return contract.MoverResult(
        outcome=outcome,
        error_kind=kind,
        message="" if outcome.ok else message,
        snapshot_id="a1b2c3d4e5f6",
        operations=(
            contract.OperationResult(
                operation=contract.Operation.RESTORE, outcome=contract.Outcome.SUCCEEDED
            ),
            contract.OperationResult(
                operation=contract.Operation.VERIFY,
                outcome=outcome,
                error_kind=kind,
                message=message,
                snapshot_id="a1b2c3d4e5f6",
                files_restored=600,
                bytes_restored=52428800,
            ),
        ),
    )


def backed_up(cluster: Cluster, **annotations: str) -> None:
    """Put the source (with ``annotations``) in the cluster and let its first backup finish."""
    source = replication_source()
    source["metadata"]["annotations"] = annotations
    cluster.kube.put(source)
    cluster.reconcile()
    cluster.now += datetime.timedelta(seconds=30)
    cluster.finish_job(BACKED_UP)
    cluster.reconcile()


def annotate(cluster: Cluster, **annotations: str) -> None:
    source = cluster.source()
    source["metadata"]["annotations"] = {**source["metadata"].get("annotations", {}), **annotations}
    cluster.kube.put(source)


def drill_job(cluster: Cluster) -> dict[str, Any] | None:
    return cluster.kube.stored(Kind.JOB, DRILL, NAMESPACE)


def finish_drill(cluster: Cluster, result: contract.MoverResult) -> None:
    job = drill_job(cluster)
    assert job is not None
    cluster.kube.finish_job(job, result)


def reasons(cluster: Cluster) -> list[tuple[str, str]]:
    return [(event["type"], event["reason"]) for event in cluster.kube.events]


def test_drill_now_restores_into_a_scratch_claim_verifies_and_cleans_up() -> None:
    cluster = Cluster()
    backed_up(cluster)
    annotate(
        cluster,
        **{drillsettings.NOW_ANNOTATION: "before-upgrade", drillsettings.PATHS_ANNOTATION: "x"},
    )

    cluster.reconcile()
    job = drill_job(cluster)
    assert job is not None
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["restore", "verify"]
    assert {"name": "PYVOLSYNC_PATHS", "value": '["/x"]'} in container["env"]
    scratch = cluster.kube.stored(Kind.CLAIM, DRILL, NAMESPACE)
    assert scratch is not None
    assert scratch["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert ("Normal", "DrillStarted") in reasons(cluster)

    cluster.now += datetime.timedelta(minutes=2)
    finish_drill(cluster, verified(contract.Outcome.SUCCEEDED, "600 files, 50.0 MiB verified"))
    cluster.reconcile()

    status = cluster.source()["status"]["drill"]
    assert status["result"] == "Succeeded"
    assert status["snapshotID"] == "a1b2c3d4e5f6"
    assert (status["files"], status["bytes"]) == (600, 52428800)
    assert status["message"] == "600 files, 50.0 MiB verified"
    assert status["lastManual"] == "before-upgrade"
    assert drill_job(cluster) is None and cluster.kube.stored(Kind.CLAIM, DRILL, NAMESPACE) is None
    assert ("Normal", "DrillSucceeded") in reasons(cluster)

    cluster.reconcile()  # answered: no second drill for the same value
    assert drill_job(cluster) is None


def test_a_failed_drill_is_a_warning_a_metric_and_one_notification() -> None:
    cluster = Cluster()
    told: list[notifications.Notice] = []
    cluster.reconciler.notify = told.append
    backed_up(cluster, **{drillsettings.NOW_ANNOTATION: "1"})
    cluster.reconcile()
    finish_drill(
        cluster, verified(contract.Outcome.FAILED, "config/config.php is missing after the restore")
    )
    cluster.reconcile()

    status = cluster.source()["status"]["drill"]
    assert status["result"] == "Failed"
    assert "config/config.php is missing" in status["message"]
    assert ("Warning", "DrillFailed") in reasons(cluster)
    assert [notice.change for notice in told] == [notifications.Change.DRILL_FAILED]
    labels = {"obj_name": "app", "obj_namespace": NAMESPACE, "role": "source", "method": "restic"}
    registry = cluster.reconciler.metrics.registry
    assert registry.get_sample_value("pyvolsync_drill_failed", labels) == 1


def test_a_drill_that_outlives_its_timeout_fails_naming_the_setting() -> None:
    cluster = Cluster()
    backed_up(
        cluster,
        **{drillsettings.NOW_ANNOTATION: "1", drillsettings.TIMEOUT_ANNOTATION: "20m"},
    )
    cluster.reconcile()
    job = drill_job(cluster)
    assert job is not None and job["spec"]["activeDeadlineSeconds"] == 1200

    cluster.now += datetime.timedelta(minutes=20)
    stopped = {"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}
    cluster.kube.set_status(Kind.JOB, DRILL, NAMESPACE, {"conditions": [stopped]})
    cluster.reconcile()

    status = cluster.source()["status"]["drill"]
    assert status["result"] == "Failed"
    assert drillsettings.TIMEOUT_ANNOTATION in status["message"]
    assert drill_job(cluster) is None


def test_a_weekly_drill_waits_for_its_time_and_shows_it() -> None:
    cluster = Cluster()  # 2026-12-03 09:00, a Thursday
    backed_up(cluster, **{drillsettings.SCHEDULE_ANNOTATION: "0 4 * * 0"})
    assert drill_job(cluster) is None
    assert cluster.source()["status"]["drill"]["nextTime"] == "2026-12-06T04:00:00Z"

    cluster.now = datetime.datetime(2026, 12, 6, 4, 0, 5, tzinfo=datetime.UTC)
    cluster.reconcile()
    assert drill_job(cluster) is not None


def test_no_drill_before_the_first_backup_nor_while_a_sync_runs() -> None:
    cluster = Cluster()
    source = replication_source()
    source["metadata"]["annotations"] = {drillsettings.NOW_ANNOTATION: "1"}
    cluster.kube.put(source)

    cluster.reconcile()  # the first backup starts; no backup exists yet
    assert drill_job(cluster) is None
    cluster.reconcile()  # it runs
    assert drill_job(cluster) is None


def test_a_misconfigured_drill_is_a_warning_naming_the_annotation() -> None:
    cluster = Cluster()
    backed_up(
        cluster, **{drillsettings.NOW_ANNOTATION: "1", drillsettings.MIN_SIZE_ANNOTATION: "huge"}
    )
    assert drill_job(cluster) is None
    notes = [event.get("note", "") for event in cluster.kube.events]
    assert any(drillsettings.MIN_SIZE_ANNOTATION in note for note in notes)
    assert ("Warning", "DrillMisconfigured") in reasons(cluster)
