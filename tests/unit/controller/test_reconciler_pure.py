"""Pure parts of the reconciler: status patches, failure reasons, planning and recording check."""

import dataclasses
import datetime
from typing import Any, cast

from pyvolsync import contract
from pyvolsync.api import source
from pyvolsync.controller import metrics, reconciler
from pyvolsync.movers import base
from pyvolsync.movers import jobs as job
from pyvolsync.movers.restic import engine
from pyvolsync.planning import names


def test_merge_patch_sets_changes_and_removes_fields() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}, "gone": "x", "same": [1]}
    new = {"a": 2, "b": {"c": 2}, "same": [1], "added": True}
    assert reconciler.merge_patch(old, new) == {
        "a": 2,
        "b": {"d": None},
        "gone": None,
        "added": True,
    }


def test_no_change_no_patch() -> None:
    status = {"conditions": [{"type": "Synchronizing"}], "lastSyncTime": "t"}
    assert reconciler.merge_patch(status, dict(status)) == {}


def test_failure_reasons_name_the_error_kind() -> None:
    assert reconciler.failure_reason("repository-locked") == "RepositoryLocked"
    assert reconciler.failure_reason("wrong-password") == "WrongPassword"
    assert reconciler.failure_reason("restic-failed") == "MoverFailed"
    assert reconciler.failure_reason("kopia-failed") == "MoverFailed"
    assert reconciler.failure_reason("maintenance-not-owner") == "MaintenanceNotOwner"
    assert reconciler.failure_reason("action-failed") == "ActionFailed"
    assert reconciler.failure_reason(None) == "MoverFailed"
    assert reconciler.failure_reason("some-new-kind") == "SomeNewKind"


def test_timeout_kinds_name_what_is_stuck() -> None:
    assert reconciler.failure_reason("snapshot-not-ready") == "SnapshotNotReady"
    assert reconciler.failure_reason("volume-not-bound") == "VolumeNotBound"


def test_a_timed_out_iteration_is_a_failure_with_its_kind() -> None:
    result = base.SyncState.timed_out("volume-not-bound", "PersistentVolumeClaim x was not bound")
    assert result.phase is base.Phase.FAILED
    assert result.failure_kind == "volume-not-bound"
    outcome = contract.MoverResult(outcome=contract.Outcome.FAILED, message=result.message)
    summary = reconciler._sync_result(outcome, failure_kind=result.failure_kind)
    assert (summary.outcome, summary.error_kind) == ("failed", "volume-not-bound")
    assert summary.message == "PersistentVolumeClaim x was not bound"


def source_run(conditions: list[dict[str, str]] | None = None) -> reconciler.Run:
    obj = {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "app", "namespace": "ns", "uid": "u"},
        "spec": {"sourcePVC": "data", "restic": {"repository": "repo"}},
        "status": {"conditions": conditions} if conditions else {},
    }
    model = source.ReplicationSource.model_validate(obj)
    return reconciler.Run(
        role=names.Role.SOURCE,
        obj=obj,
        model=model,
        status=model.status or source.ReplicationSourceStatus(),
        now=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
    )


def test_a_configuration_error_is_announced_once_per_message() -> None:
    run = source_run()
    reconciler.report_invalid(run, "At 'spec.restic.copyMethod': set a copy method")
    assert run.events == [
        ("Warning", "ConfigurationError", "At 'spec.restic.copyMethod': set a copy method")
    ]
    [condition] = run.status.conditions or []
    assert (condition.status, condition.reason) == ("False", "Error")
    assert "spec.restic.copyMethod" in condition.message

    seen = [
        {
            "type": "Synchronizing",
            "status": "False",
            "reason": "Error",
            "message": "At 'spec.restic.copyMethod': set a copy method",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
        }
    ]
    again = source_run(seen)
    reconciler.report_invalid(again, "At 'spec.restic.copyMethod': set a copy method")
    assert again.events == []
    changed = source_run(seen)
    reconciler.report_invalid(changed, "At 'spec.sourcePVC': name the PVC")
    assert [reason for _, reason, _ in changed.events] == ["ConfigurationError"]


NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
Operation = contract.Operation


def planner(check_interval: datetime.timedelta) -> reconciler.Reconciler:
    settings = reconciler.Settings(
        job=job.JobSettings(image="example/pyvolsync-mover:1"), check_interval=check_interval
    )
    return reconciler.Reconciler(
        cast(Any, None), settings=settings, metrics=metrics.Metrics(), wake=lambda *_: None
    )


def aged_run(*, days: int, restic_status: dict[str, str] | None = None) -> reconciler.Run:
    """A source created `days` before NOW, with `status.restic` as given."""
    run = source_run()
    created = NOW - datetime.timedelta(days=days)
    run.obj["metadata"]["creationTimestamp"] = created.isoformat().replace("+00:00", "Z")
    run.status.restic = source.ResticSourceStatus.model_validate(restic_status or {})
    return run


RESTIC = engine.Restic()


def restic_spec(run: reconciler.Run) -> source.ResticSourceSpec:
    restic = run.model.spec.restic if run.model.spec else None
    assert restic is not None
    return restic


def planned(check_interval: datetime.timedelta, run: reconciler.Run) -> tuple[Operation, ...]:
    return planner(check_interval)._operations(run, RESTIC, restic_spec(run))


WEEK = datetime.timedelta(days=7)
RECENTLY = {"lastPruned": "2024-12-31T00:00:00Z", "lastChecked": "2024-12-30T00:00:00Z"}


def test_check_is_planned_after_the_backup_when_due() -> None:
    assert planned(WEEK, aged_run(days=0)) == (Operation.BACKUP,)
    assert planned(WEEK, aged_run(days=8)) == (Operation.BACKUP, Operation.PRUNE, Operation.CHECK)
    assert planned(WEEK, aged_run(days=30, restic_status=RECENTLY)) == (Operation.BACKUP,)
    overdue = {"lastPruned": "2024-12-31T00:00:00Z", "lastChecked": "2024-12-01T00:00:00Z"}
    assert planned(WEEK, aged_run(days=30, restic_status=overdue)) == (
        Operation.BACKUP,
        Operation.CHECK,
    )


def test_a_zero_check_interval_never_plans_a_check() -> None:
    assert Operation.CHECK not in planned(datetime.timedelta(0), aged_run(days=3650))


def finished(check: contract.OperationResult) -> base.SyncState:
    backup = contract.OperationResult(
        operation=Operation.BACKUP, outcome=contract.Outcome.SUCCEEDED, snapshot_id="a1b2c3d4e5"
    )
    failed = check.outcome is contract.Outcome.FAILED
    outcome = contract.MoverResult(
        outcome=check.outcome if failed else contract.Outcome.SUCCEEDED,
        error_kind=check.error_kind,
        message=check.message,
        snapshot_id="a1b2c3d4e5",
        operations=(backup, check),
    )
    return base.SyncState(
        phase=base.Phase.FAILED if failed else base.Phase.COMPLETED,
        mover_result=outcome,
        operations=(Operation.BACKUP, Operation.CHECK),
    )


DAMAGED = contract.OperationResult(
    operation=Operation.CHECK,
    outcome=contract.Outcome.FAILED,
    error_kind=contract.ErrorKind.REPOSITORY_DAMAGED,
    message="restic check found 1 errors; damaged packs: 5f3e",
)
SOUND = contract.OperationResult(operation=Operation.CHECK, outcome=contract.Outcome.SUCCEEDED)


def test_only_a_passed_check_is_recorded_and_damage_is_reported() -> None:
    reconciling = planner(WEEK)
    run = aged_run(days=30)
    labels = {"obj_name": "app", "obj_namespace": "ns", "role": "source", "method": "restic"}
    damaged = reconciling.metrics.registry.get_sample_value

    sound_after_damage = dataclasses.replace(finished(DAMAGED), phase=base.Phase.COMPLETED)
    reconciling._complete(run, sound_after_damage, RESTIC, restic_spec(run))
    assert run.status.restic is not None and run.status.restic.last_checked is None
    assert damaged("pyvolsync_repository_damaged", labels) == 1

    reconciling._complete(run, finished(SOUND), RESTIC, restic_spec(run))
    assert run.status.restic.last_checked == NOW
    assert damaged("pyvolsync_repository_damaged", labels) == 0


def test_damage_found_by_the_check_has_its_own_warning() -> None:
    outcome = finished(DAMAGED).mover_result
    assert outcome is not None
    assert reconciler._success_event(outcome) == (
        "Warning",
        "RepositoryDamaged",
        "the backup was saved (snapshot a1b2c3d4), but the scheduled check failed: "
        "restic check found 1 errors; damaged packs: 5f3e",
    )


def test_a_check_finding_damage_after_a_saved_backup_completes_the_sync() -> None:
    assert RESTIC.settle(finished(DAMAGED)).phase is base.Phase.COMPLETED
    assert RESTIC.settle(finished(SOUND)).phase is base.Phase.COMPLETED
    locked = dataclasses.replace(DAMAGED, error_kind=contract.ErrorKind.REPOSITORY_LOCKED)
    assert RESTIC.settle(finished(locked)).phase is base.Phase.FAILED


def test_each_failed_attempt_of_a_running_job_is_reported_once() -> None:
    reconciling = planner(WEEK)
    attempt = contract.MoverResult(
        outcome=contract.Outcome.FAILED,
        error_kind=contract.ErrorKind.RESTIC_FAILED,
        message="backup failed: restic was killed by signal SIGKILL",
    )
    waiting = base.SyncState.waiting("SyncInProgress", "attempt 1 failed")
    first = dataclasses.replace(waiting, pending_failure=attempt, failed_attempts=1)
    run = source_run()

    for _ in range(3):  # the Job's retry runs on: the operator looks again and again
        reconciling._report_attempts(run, first)
    reconciling._report_attempts(run, dataclasses.replace(first, failed_attempts=2))

    assert [note for _, _, note in run.events] == [
        "mover attempt failed (restic-failed): backup failed: restic was killed by signal "
        "SIGKILL; retrying"
    ] * 2
    labels = {
        "obj_name": "app", "obj_namespace": "ns", "role": "source", "method": "restic",
        "error_kind": "restic-failed",
    }  # fmt: skip
    failures = reconciling.metrics.registry.get_sample_value(
        "pyvolsync_sync_failures_total", labels
    )
    assert failures == 2


def test_a_sync_completed_with_warnings_says_so_in_a_warning_event() -> None:
    restored = contract.MoverResult(
        outcome=contract.Outcome.SUCCEEDED_WITH_WARNINGS,
        snapshot_id="a1b2c3d4e5",
        message="the repository holds snapshots of 2 ReplicationSources ...",
        warnings=("the repository holds snapshots of 2 ReplicationSources ...",),
    )
    assert reconciler._success_event(restored) == (
        "Warning",
        "TransferCompletedWithWarnings",
        "synchronization finished: succeeded-with-warnings, snapshot a1b2c3d4; "
        "the repository holds snapshots of 2 ReplicationSources ...",
    )
