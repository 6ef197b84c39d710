"""The entry point: arguments, the order of operations, and what ends a run early."""

from __future__ import annotations

import pytest

from pyvolsync import contract
from pyvolsync.mover import errors, main, operations

Operation, Outcome = contract.Operation, contract.Outcome


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        ([], "first argument must be 'restic'"),
        (["rclone", "backup"], "first argument must be 'restic'"),
        (["restic"], "no operation given"),
        (["restic", "backup", "snapshot"], "unknown operation"),
    ],
)
def test_bad_arguments_are_refused_with_the_usage(arguments: list[str], text: str) -> None:
    with pytest.raises(errors.ConfigurationError) as raised:
        main.parse_arguments(arguments)

    assert text in raised.value.message
    assert "usage: pyvolsync-mover restic OP" in raised.value.message


def test_operations_are_taken_in_the_order_given() -> None:
    assert main.parse_arguments(["restic", "unlock", "backup", "prune"]) == (
        Operation.UNLOCK,
        Operation.BACKUP,
        Operation.PRUNE,
    )


def _succeed(operation: contract.Operation) -> operations.Operation:
    return lambda context: contract.OperationResult(operation=operation, outcome=Outcome.SUCCEEDED)


def _explode(context: operations.Context) -> contract.OperationResult:
    raise KeyError("surprise")


def test_a_bug_in_an_operation_still_ends_in_a_failed_result(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(operations.OPERATIONS, Operation.UNLOCK, _succeed(Operation.UNLOCK))
    monkeypatch.setitem(operations.OPERATIONS, Operation.BACKUP, _explode)

    results = main.run_operations([Operation.UNLOCK, Operation.BACKUP, Operation.PRUNE], None)  # type: ignore[arg-type]

    assert [result.outcome for result in results] == [
        Outcome.SUCCEEDED,
        Outcome.FAILED,
        Outcome.SKIPPED,
    ]
    assert results[1].error_kind is contract.ErrorKind.RESTIC_FAILED
    assert "failed unexpectedly (KeyError: 'surprise')" in results[1].message
    assert "Traceback" in caplog.text
