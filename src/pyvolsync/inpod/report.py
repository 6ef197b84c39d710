"""The run's result document: built from the operations' results, written for the operator.

The operator reads it from the pod's termination message (``/dev/termination-log`` unless
``PYVOLSYNC_RESULT_PATH`` says otherwise). The overall outcome puts a failure first, then the two
"nothing to do" outcomes (an empty source, no eligible snapshot), so none of them can pass for a
plain success. A result that cannot be written is logged and the mover carries on: the exit code
still tells the story.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from pyvolsync import contract
from pyvolsync.inpod import errors

logger = logging.getLogger(__name__)

_PRECEDENCE = (
    contract.Outcome.FAILED,
    contract.Outcome.SOURCE_EMPTY,
    contract.Outcome.NO_ELIGIBLE_SNAPSHOT,
    contract.Outcome.SUCCEEDED_WITH_WARNINGS,
)
_DATA_OPERATIONS = (
    contract.Operation.BACKUP,
    contract.Operation.RESTORE,
    contract.Operation.VERIFY,
)


def overall_outcome(results: Sequence[contract.OperationResult]) -> contract.Outcome:
    """Return the outcome of the run: the most important outcome of its operations."""
    outcomes = {result.outcome for result in results}
    return next((item for item in _PRECEDENCE if item in outcomes), contract.Outcome.SUCCEEDED)


def nothing_done(
    operation: contract.Operation,
    outcome: contract.Outcome,
    *,
    message: str,
    markers: tuple[str, ...],
) -> contract.OperationResult:
    """Log why an operation had nothing to do (upstream's marker lines first) and say so."""
    for line in (*markers, message):
        logger.warning("%s", line)
    return contract.OperationResult(operation=operation, outcome=outcome, message=message)


def source_empty(data_dir: str) -> contract.OperationResult:
    """Log and return a backup of a volume with nothing in it (upstream's marker line first)."""
    return nothing_done(
        contract.Operation.BACKUP,
        contract.Outcome.SOURCE_EMPTY,
        message=f"{data_dir} is empty (or holds only lost+found): no snapshot was taken and "
        "retention was not applied",
        markers=("=== Directory is empty skipping backup ===",),
    )


def no_eligible_snapshot(message: str, *, found: int) -> contract.OperationResult:
    """Log and return a restore that found nothing to restore (upstream's marker lines first);
    ``found`` is how many snapshots of the volume the repository holds (0: a new app)."""
    nothing = nothing_done(
        contract.Operation.RESTORE,
        contract.Outcome.NO_ELIGIBLE_SNAPSHOT,
        message=message,
        markers=("No eligible snapshots found", "=== No data will be restored ==="),
    )
    return dataclasses.replace(nothing, snapshots_found=found)


def catalog(
    entries: Sequence[contract.CatalogEntry],
    *,
    operation: contract.Operation = contract.Operation.SNAPSHOTS,
    message: str = "",
) -> contract.OperationResult:
    """Print the catalog line of a ``snapshots`` run (or the one entry ``pin``, ``unpin`` or
    ``forget`` acted on) and return its result."""
    print(contract.catalog_line(entries), flush=True)
    if message:
        logger.info("%s", message)
    return contract.OperationResult(
        operation=operation,
        outcome=contract.Outcome.SUCCEEDED,
        snapshots_found=len(entries),
        snapshot_id=entries[0].id if operation is not contract.Operation.SNAPSHOTS else "",
        message=message,
    )


def with_catalog(
    result: contract.OperationResult, listing: Callable[[], Sequence[contract.CatalogEntry]]
) -> contract.OperationResult:
    """Return a backup's ``result`` with the summary of the source's snapshots after retention
    (how many, how many pinned, the oldest and newest times) that ``listing`` returns, which
    the operator shows in the source's status. A listing that fails costs only the summary (a
    warning in the log), never the backup."""
    try:
        entries = listing()
    except errors.MoverError as error:
        logger.warning("could not list the snapshots after the backup: %s", error.message)
        return result
    if not entries:
        return result
    times = sorted(entry.time for entry in entries)
    logger.info(
        "The repository keeps %d snapshots of this source (%d pinned), %s to %s",
        len(entries), sum(entry.pinned for entry in entries), times[0], times[-1],
    )  # fmt: skip
    return dataclasses.replace(
        result,
        snapshots_kept=len(entries),
        snapshots_pinned=sum(entry.pinned for entry in entries),
        oldest_snapshot=times[0],
        newest_snapshot=times[-1],
    )


def chosen_snapshot(
    entries: Sequence[contract.CatalogEntry], environ_value: str
) -> contract.CatalogEntry:
    """Return the entry ``PYVOLSYNC_SNAPSHOT`` names; raise ConfigurationError when it names
    none, several, or is unset."""
    if not environ_value:
        raise errors.ConfigurationError(
            f"{contract.EnvVar.SNAPSHOT} must name the snapshot (its ID or a prefix of it)"
        )
    try:
        return contract.find_entry(entries, environ_value)
    except contract.SnapshotNotFoundError as error:
        raise errors.ConfigurationError(str(error)) from None


def refuse_pinned(entry: contract.CatalogEntry) -> None:
    """Raise ConfigurationError when ``entry`` is pinned: forgetting it needs an unpin first."""
    if entry.pinned:
        raise errors.ConfigurationError(
            f"snapshot {entry.id[:8]} ({entry.time}) is pinned: unpin it first "
            "(`pyvolsync unpin`); nothing was forgotten"
        )


def with_notes(result: contract.OperationResult, notes: list[str]) -> contract.OperationResult:
    """Return ``result`` with ``notes`` (what else the operation did) added to its message; the
    notes are then forgotten, so the next operation starts with none."""
    taken, notes[:] = list(notes), []
    message = "; ".join(item for item in (result.message, *taken) if item)
    return dataclasses.replace(result, message=message)


def _with_verify(
    counters: contract.OperationResult, results: Sequence[contract.OperationResult]
) -> contract.OperationResult:
    """Return ``counters`` with what the run's verify (if any) checked and found right."""
    checked = next((item for item in results if item.operation is contract.Operation.VERIFY), None)
    if checked is None:
        return counters
    return dataclasses.replace(
        counters, files_sampled=checked.files_sampled, verified=checked.verified
    )


def summarize(
    results: Sequence[contract.OperationResult],
    *,
    engine: str,
    engine_version: str,
    started_at: str,
    duration_seconds: float,
    setup_error: errors.MoverError | None = None,
) -> contract.MoverResult:
    """Return the run's result document from the per-operation results.

    ``setup_error`` is a failure before any operation ran (arguments, environment, the engine's
    program). ``restic_version`` is filled on a restic run, for operators that read only it.
    The counters are the first backup's, restore's or verify's; a verify's ``files_sampled`` and
    ``verified`` reach the top after a restore too.
    """
    outcome = overall_outcome(results)
    data = next((result for result in results if result.operation in _DATA_OPERATIONS), None)
    deciding = next((result for result in results if result.outcome is outcome), None)
    if outcome is contract.Outcome.SUCCEEDED:
        deciding = data
    if setup_error is not None:
        outcome = contract.Outcome.FAILED
        deciding = contract.OperationResult(
            operation=contract.Operation.BACKUP,
            outcome=outcome,
            error_kind=setup_error.kind,
            message=setup_error.message,
        )
    nothing = contract.OperationResult(
        operation=contract.Operation.BACKUP, outcome=contract.Outcome.SKIPPED
    )
    counters = _with_verify(data or nothing, results)
    return contract.MoverResult(
        outcome=outcome,
        error_kind=deciding.error_kind if deciding else None,
        message=deciding.message if deciding else "",
        restic_version=engine_version if engine == contract.Engine.RESTIC else "",
        engine=engine,
        engine_version=engine_version,
        started_at=started_at,
        duration_seconds=round(duration_seconds, 3),
        **{
            field.name: getattr(counters, field.name)
            for field in dataclasses.fields(contract.Transfer)
        },
        warnings=tuple(warning for result in results for warning in result.warnings),
        operations=tuple(results),
    )


def write(result: contract.MoverResult, *, path: str, mask: Callable[[str], str]) -> None:
    """Write ``result`` (secrets masked, within 4 KiB) to ``path``; log a warning on failure."""
    text = result.redacted(mask).to_json()
    try:
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        logger.warning("could not write the result document to %s: %s", path, error.strerror)
