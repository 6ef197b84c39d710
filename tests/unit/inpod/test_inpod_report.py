"""The run's outcome never lets an empty source, a missing snapshot or a failure pass as success."""

import pytest

from pyvolsync import contract
from pyvolsync.inpod import errors, report

Operation, Outcome = contract.Operation, contract.Outcome


def _result(
    operation: contract.Operation, outcome: contract.Outcome, **values: object
) -> contract.OperationResult:
    return contract.OperationResult(operation=operation, outcome=outcome, **values)  # type: ignore[arg-type]


def _summarize(*results: contract.OperationResult, **values: object) -> contract.MoverResult:
    return report.summarize(
        results,
        engine="restic",
        engine_version="0.18.1",
        started_at="",
        duration_seconds=1,
        **values,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ((Outcome.SUCCEEDED, Outcome.SUCCEEDED), Outcome.SUCCEEDED),
        ((Outcome.SUCCEEDED, Outcome.SUCCEEDED_WITH_WARNINGS), Outcome.SUCCEEDED_WITH_WARNINGS),
        ((Outcome.SUCCEEDED, Outcome.SOURCE_EMPTY, Outcome.SKIPPED), Outcome.SOURCE_EMPTY),
        ((Outcome.NO_ELIGIBLE_SNAPSHOT,), Outcome.NO_ELIGIBLE_SNAPSHOT),
        ((Outcome.SUCCEEDED_WITH_WARNINGS, Outcome.FAILED, Outcome.SKIPPED), Outcome.FAILED),
    ],
)
def test_the_most_important_outcome_wins(
    outcomes: tuple[contract.Outcome, ...], expected: contract.Outcome
) -> None:
    results = [_result(Operation.CHECK, outcome) for outcome in outcomes]

    assert report.overall_outcome(results) is expected


def test_the_backup_counters_and_the_failure_reach_the_top() -> None:
    backup = _result(
        Operation.BACKUP, Outcome.SUCCEEDED, snapshot_id="abc", files_new=4, warnings=("w",)
    )
    prune = _result(
        Operation.PRUNE,
        Outcome.FAILED,
        error_kind=contract.ErrorKind.REPOSITORY_LOCKED,
        message="prune failed",
    )

    result = _summarize(
        _result(Operation.UNLOCK, Outcome.SUCCEEDED, message="nothing"), backup, prune
    )

    assert (result.outcome, result.error_kind, result.message) == (
        Outcome.FAILED,
        contract.ErrorKind.REPOSITORY_LOCKED,
        "prune failed",
    )
    assert (result.snapshot_id, result.files_new, result.warnings) == ("abc", 4, ("w",))
    assert result.exit_code is contract.ExitCode.REPOSITORY


def test_the_engine_and_its_version_are_named_and_restic_keeps_its_old_field() -> None:
    restic = _summarize()
    kopia = report.summarize(
        (), engine="kopia", engine_version="0.23.1", started_at="", duration_seconds=1
    )

    assert (restic.engine, restic.engine_version, restic.restic_version) == (
        "restic",
        "0.18.1",
        "0.18.1",
    )
    assert (kopia.engine, kopia.engine_version, kopia.restic_version) == ("kopia", "0.23.1", "")


def test_a_failure_before_any_operation_fails_the_run() -> None:
    error = errors.ConfigurationError("DATA_DIR must be set")

    result = _summarize(_result(Operation.BACKUP, Outcome.SKIPPED), setup_error=error)

    assert result.outcome is Outcome.FAILED
    assert result.error_kind is contract.ErrorKind.INVALID_CONFIGURATION
    assert result.exit_code is contract.ExitCode.INVALID_CONFIGURATION


def test_an_unwritable_result_path_is_only_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    report.write(_summarize(), path="/proc/no/such/file", mask=str)

    assert "could not write the result document" in caplog.text
