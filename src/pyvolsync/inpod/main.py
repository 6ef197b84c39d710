"""``pyvolsync-mover ENGINE OP [OP...]``: the entry point of a mover Job's container.

ENGINE picks the backup program (``ENGINES``: restic, kopia); the engine reads its environment
contract. The operations run in the order given and the run stops at the first failure (or after
an empty source, as upstream does); then the result document is written and the process exits
with the contract's exit code. Log lines are plain text for people, with every secret masked;
lines upstream's end-to-end tests look for (``Restic completed in``, ``=== Done ===``) are kept.
SIGTERM is forwarded to the engine's program so it can release what it holds, then the mover
exits 143.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from types import FrameType

import pyvolsync
from pyvolsync import contract
from pyvolsync.inpod import engine, errors, logs, masking, report
from pyvolsync.inpod.kopia import session as kopia
from pyvolsync.inpod.restic import session as restic

logger = logging.getLogger("pyvolsync.inpod")

ENGINES: dict[str, engine.Engine] = {
    contract.Engine.RESTIC: restic.ENGINE,
    contract.Engine.KOPIA: kopia.ENGINE,
}
"""Adding an engine is one package under ``pyvolsync.inpod`` and one line here."""


def usage() -> str:
    """Return the usage line, listing each engine's operations."""
    engines = "; ".join(
        f"{name} OP with OP in {', '.join(item.operations)}" for name, item in ENGINES.items()
    )
    return f"usage: pyvolsync-mover ENGINE OP [OP...]: {engines}"


def parse_arguments(
    arguments: Sequence[str],
) -> tuple[engine.Engine, tuple[contract.Operation, ...]]:
    """Return the engine and the operations named; raise ConfigurationError otherwise."""
    if not arguments or arguments[0] not in ENGINES:
        choices = " or ".join(f"'{name}'" for name in ENGINES)
        raise errors.ConfigurationError(f"the first argument must be {choices}; {usage()}")
    chosen = ENGINES[arguments[0]]
    if len(arguments) == 1:
        raise errors.ConfigurationError(f"no operation given; {usage()}")
    unknown = [argument for argument in arguments[1:] if argument not in chosen.operations]
    if unknown:
        raise errors.ConfigurationError(
            f"unknown {chosen.name} operation: {', '.join(map(repr, unknown))}; {usage()}"
        )
    return chosen, tuple(contract.Operation(argument) for argument in arguments[1:])


def _failed(operation: contract.Operation, error: errors.MoverError) -> contract.OperationResult:
    logger.error("%s", error.message)
    return contract.OperationResult(
        operation=operation,
        outcome=contract.Outcome.FAILED,
        error_kind=error.kind,
        message=error.message,
    )


def _unexpected(error: Exception, kind: contract.ErrorKind) -> errors.MoverError:
    return errors.RetriableError(
        kind,
        f"the mover failed unexpectedly ({type(error).__name__}: {error}); the Job is retried. "
        "Please report this with the log.",
    )


def _skipped(requested: Sequence[contract.Operation]) -> list[contract.OperationResult]:
    return [
        contract.OperationResult(operation=operation, outcome=contract.Outcome.SKIPPED)
        for operation in requested
    ]


def _run_one(
    operation: contract.Operation, session: engine.Session, failed_kind: contract.ErrorKind
) -> contract.OperationResult:
    started = time.monotonic()
    try:
        result = session.run(operation)
    except errors.MoverError as error:
        result = _failed(operation, error)
    except Exception as error:  # a bug must still end in a result document
        logger.exception("the mover failed unexpectedly")
        result = _failed(operation, _unexpected(error, failed_kind))
    else:
        if result.outcome is contract.Outcome.FAILED:
            logger.error("%s", result.message)
    return dataclasses.replace(result, duration_seconds=round(time.monotonic() - started, 3))


def run_operations(
    requested: Sequence[contract.Operation],
    session: engine.Session,
    *,
    failed_kind: contract.ErrorKind,
) -> list[contract.OperationResult]:
    """Run ``requested`` in order; stop after a failure or an empty source, marking the rest.

    ``failed_kind`` is the kind of an unexpected exception (a bug): the engine's generic failure.
    """
    results: list[contract.OperationResult] = []
    for operation in requested:
        result = _run_one(operation, session, failed_kind)
        results.append(result)
        if result.outcome in (contract.Outcome.FAILED, contract.Outcome.SOURCE_EMPTY):
            break
    return results + _skipped(requested[len(results) :])


class _Run:
    """One mover run: what it was asked, which engine session it opened, and how to stop it."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.engine: engine.Engine | None = None
        self.session: engine.Session | None = None
        self.cancelled = False
        self.version = ""
        self.requested: tuple[contract.Operation, ...] = ()
        self.setup_error: errors.MoverError | None = None

    def terminate(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        logger.warning("received %s: stopping the engine so that it releases its lock", name)
        self.cancelled = True
        if self.session is not None:
            self.session.cancel()

    def _prepare(self, arguments: Sequence[str]) -> engine.Session:
        self.engine, self.requested = parse_arguments(arguments)
        self.session = self.engine.open(self.environ)
        if self.cancelled:
            self.session.cancel()
        self.version = self.session.version()
        return self.session

    def execute(self, arguments: Sequence[str]) -> list[contract.OperationResult]:
        """Run the operations; a failure before the first one is kept in ``setup_error``."""
        try:
            session = self._prepare(arguments)
        except errors.MoverError as error:
            logger.error("%s", error.message)
            self.setup_error = error
            return _skipped(self.requested)
        failed_kind = self.engine.failed_kind if self.engine else contract.ErrorKind.RESTIC_FAILED
        return run_operations(self.requested, session, failed_kind=failed_kind)


def main(arguments: Sequence[str] | None = None) -> int:
    """Run the mover and return its exit code (the console script exits with it)."""
    started, started_at = time.monotonic(), datetime.datetime.now(datetime.UTC)
    environ = dict(os.environ)
    mask = masking.Masker.from_environ(environ)
    logs.configure(mask, log_format=environ.get(contract.EnvVar.LOG_FORMAT, "plain"))
    logger.info("Starting container")
    logger.info("pyvolsync mover version %s", pyvolsync.__version__)
    given = list(sys.argv[1:] if arguments is None else arguments)
    logger.info("args: %s", given)
    mover = _Run(environ)
    signal.signal(signal.SIGTERM, mover.terminate)
    signal.signal(signal.SIGINT, mover.terminate)
    try:
        results = mover.execute(given)
    finally:
        if mover.session is not None:
            mover.session.close()
    duration = time.monotonic() - started
    result = report.summarize(
        results,
        engine=mover.engine.name if mover.engine else "",
        engine_version=mover.version,
        started_at=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_seconds=duration,
        setup_error=mover.setup_error,
    )
    if result.outcome.ok and mover.engine is not None:
        logger.info("%s completed in %ds", mover.engine.title, round(duration))
    logger.info("=== Outcome: %s ===", result.outcome)
    logger.info("=== Done ===")
    path = environ.get(contract.EnvVar.RESULT_PATH) or contract.DEFAULT_RESULT_PATH
    report.write(result, path=path, mask=mask)
    return int(result.exit_code)
