"""Pure parts of the reconciler: status patches and failure reasons."""

import datetime

from pyvolsync import contract
from pyvolsync.api import source
from pyvolsync.controller import reconciler
from pyvolsync.movers import base
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
    assert reconciler.failure_reason(None) == "MoverFailed"
    assert reconciler.failure_reason("some-new-kind") == "SomeNewKind"


def test_timeout_kinds_name_what_is_stuck() -> None:
    assert reconciler.failure_reason("snapshot-not-ready") == "SnapshotNotReady"
    assert reconciler.failure_reason("volume-not-bound") == "VolumeNotBound"


def test_a_timed_out_iteration_is_a_failure_with_its_kind() -> None:
    result = base.SyncResult.timed_out("volume-not-bound", "PersistentVolumeClaim x was not bound")
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
