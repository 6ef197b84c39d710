"""The entry point: the engine, the operations, their order, and what ends a run early."""

from __future__ import annotations

import pytest

from pyvolsync import contract
from pyvolsync.inpod import errors, main

Operation, Outcome = contract.Operation, contract.Outcome


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        ([], "first argument must be 'restic'"),
        (["rclone", "backup"], "first argument must be 'restic'"),
        (["restic"], "no operation given"),
        (["restic", "backup", "snapshot"], "unknown restic operation: 'snapshot'"),
    ],
)
def test_bad_arguments_are_refused_with_the_usage(arguments: list[str], text: str) -> None:
    with pytest.raises(errors.ConfigurationError) as raised:
        main.parse_arguments(arguments)

    assert text in raised.value.message
    assert "usage: pyvolsync-mover ENGINE OP [OP...]: restic OP with OP in" in raised.value.message


def test_operations_are_taken_in_the_order_given() -> None:
    engine, operations = main.parse_arguments(["restic", "unlock", "backup", "prune"])

    assert engine.name is contract.Engine.RESTIC
    assert operations == (Operation.UNLOCK, Operation.BACKUP, Operation.PRUNE)


class _Session:
    """A session whose backup has a bug."""

    def version(self) -> str:
        return "1.0"

    def run(self, operation: contract.Operation) -> contract.OperationResult:
        if operation is Operation.BACKUP:
            raise KeyError("surprise")
        return contract.OperationResult(operation=operation, outcome=Outcome.SUCCEEDED)

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_bug_in_an_operation_still_ends_in_a_failed_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    results = main.run_operations(
        [Operation.UNLOCK, Operation.BACKUP, Operation.PRUNE],
        _Session(),
        failed_kind=contract.ErrorKind.RESTIC_FAILED,
    )

    assert [result.outcome for result in results] == [
        Outcome.SUCCEEDED,
        Outcome.FAILED,
        Outcome.SKIPPED,
    ]
    assert results[1].error_kind is contract.ErrorKind.RESTIC_FAILED
    assert "failed unexpectedly (KeyError: 'surprise')" in results[1].message
    assert "Traceback" in caplog.text
