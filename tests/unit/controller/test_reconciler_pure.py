"""Pure parts of the reconciler: status patches and failure reasons."""

from pyvolsync.controller import reconciler


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
