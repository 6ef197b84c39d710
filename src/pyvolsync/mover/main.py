"""``pyvolsync-mover restic OP [OP...]``: the entry point of a mover Job's container.

It reads upstream's environment contract, runs the operations in the order given and stops at
the first failure (or after an empty source, as upstream does), then writes the result document
and exits with the contract's exit code. Log lines are plain text for people, with every secret
masked; lines upstream's end-to-end tests look for (``Restic completed in``, ``=== Done ===``)
are kept. SIGTERM is forwarded to restic so it can release its lock, then the mover exits 143.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from types import FrameType

import pyvolsync
from pyvolsync import contract
from pyvolsync.mover import commands, config, errors, logs, masking, operations, report, runner

logger = logging.getLogger("pyvolsync.mover")

MINIMUM_RESTIC = (0, 17)
MINIMUM_CACHE_FREE = 16 * 1024**2
"""Bytes the cache volume must have free before restic starts: restic writes a cached pack whole
(16 MiB by default), and restic 0.18 can hang for good in a backup's final flush when such a
write fails, instead of exiting with the error."""
USAGE = "usage: pyvolsync-mover restic OP [OP...] with OP in " + ", ".join(contract.Operation)


def parse_arguments(arguments: Sequence[str]) -> tuple[contract.Operation, ...]:
    """Return the operations named after ``restic``; raise ConfigurationError otherwise."""
    if not arguments or arguments[0] != "restic":
        raise errors.ConfigurationError(f"the first argument must be 'restic'; {USAGE}")
    if len(arguments) == 1:
        raise errors.ConfigurationError(f"no operation given; {USAGE}")
    try:
        return tuple(contract.Operation(argument) for argument in arguments[1:])
    except ValueError as error:
        raise errors.ConfigurationError(f"unknown operation: {error}; {USAGE}") from None


def restic_environ(environ: Mapping[str, str], settings: config.MoverConfig) -> dict[str, str]:
    """Return restic's environment: ours, with a progress rate that suits the print interval."""
    child = dict(environ)
    if "RESTIC_PROGRESS_FPS" not in child and settings.progress_interval > 0:
        child["RESTIC_PROGRESS_FPS"] = f"{2 / settings.progress_interval:g}"
    return child


def restic_version(restic: runner.Runner) -> str:
    """Return restic's version; raise MoverError if it cannot run or is older than 0.17."""
    completed = restic.run(commands.version(), quiet=True)
    if completed.exit is not runner.ResticExit.SUCCESS:
        raise runner.failure(completed, action="restic version")
    match = re.search(r"restic ([0-9]+)\.([0-9]+)\.([0-9]+)", completed.stdout)
    if match is None:
        raise errors.ConfigurationError(f"restic version printed {completed.stdout.strip()!r}")
    version = ".".join(match.groups())
    if tuple(map(int, match.groups()[:2])) < MINIMUM_RESTIC:
        raise errors.ConfigurationError(
            f"restic {version} is too old: the mover needs restic 0.17 or newer (exit codes 10-12)"
        )
    logger.info("restic version: %s", version)
    return version


def check_cache_space(cache_dir: str) -> None:
    """Raise a no-space MoverError when the cache volume has less than MINIMUM_CACHE_FREE free."""
    try:
        stats = os.statvfs(cache_dir)
    except OSError:
        return  # restic names a cache it cannot use; a missing one it creates
    free = stats.f_bavail * stats.f_frsize
    if free < MINIMUM_CACHE_FREE:
        raise errors.error(
            contract.ErrorKind.NO_SPACE,
            f"the cache volume ({contract.EnvVar.RESTIC_CACHE_DIR}={cache_dir}) has {free} bytes "
            f"free, less than the {MINIMUM_CACHE_FREE // 1024**2} MiB restic needs to cache a "
            "pack; nothing was run",
        )


def _failed(operation: contract.Operation, error: errors.MoverError) -> contract.OperationResult:
    logger.error("%s", error.message)
    return contract.OperationResult(
        operation=operation,
        outcome=contract.Outcome.FAILED,
        error_kind=error.kind,
        message=error.message,
    )


def _unexpected(error: Exception) -> errors.MoverError:
    return errors.RetriableError(
        contract.ErrorKind.RESTIC_FAILED,
        f"the mover failed unexpectedly ({type(error).__name__}: {error}); the Job is retried. "
        "Please report this with the log.",
    )


def run_operations(
    requested: Sequence[contract.Operation], context: operations.Context
) -> list[contract.OperationResult]:
    """Run ``requested`` in order; stop after a failure or an empty source, marking the rest."""
    results: list[contract.OperationResult] = []
    for operation in requested:
        started = time.monotonic()
        try:
            result = operations.OPERATIONS[operation](context)
        except errors.MoverError as error:
            result = _failed(operation, error)
        except Exception as error:  # a bug must still end in a result document
            logger.exception("the mover failed unexpectedly")
            result = _failed(operation, _unexpected(error))
        else:
            if result.outcome is contract.Outcome.FAILED:
                logger.error("%s", result.message)
        results.append(
            dataclasses.replace(result, duration_seconds=round(time.monotonic() - started, 3))
        )
        if result.outcome in (contract.Outcome.FAILED, contract.Outcome.SOURCE_EMPTY):
            break
    skipped = requested[len(results) :]
    return results + [
        contract.OperationResult(operation=operation, outcome=contract.Outcome.SKIPPED)
        for operation in skipped
    ]


class _Run:
    """One mover run: what it was asked, what restic it found, and how to stop it."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.restic: runner.Runner | None = None
        self.cancelled = False
        self.version = ""
        self.requested: tuple[contract.Operation, ...] = ()
        self.setup_error: errors.MoverError | None = None

    def terminate(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        logger.warning("received %s: stopping restic so that it releases its lock", name)
        self.cancelled = True
        if self.restic is not None:
            self.restic.cancel()

    def _prepare(self, arguments: Sequence[str]) -> operations.Context:
        self.requested = parse_arguments(arguments)
        settings = config.from_environ(self.environ)
        check_cache_space(self.environ[contract.EnvVar.RESTIC_CACHE_DIR])
        custom_ca = ("--cacert", settings.custom_ca) if settings.custom_ca else ()
        self.restic = runner.Runner(
            environ=restic_environ(self.environ, settings),
            global_options=custom_ca,
            termination_grace=settings.termination_grace,
        )
        if self.cancelled:
            self.restic.cancel()
        self.version = restic_version(self.restic)
        return operations.Context(config=settings, runner=self.restic)

    def execute(self, arguments: Sequence[str]) -> list[contract.OperationResult]:
        """Run the operations; a failure before the first one is kept in ``setup_error``."""
        try:
            context = self._prepare(arguments)
        except errors.MoverError as error:
            logger.error("%s", error.message)
            self.setup_error = error
            return [
                contract.OperationResult(operation=operation, outcome=contract.Outcome.SKIPPED)
                for operation in self.requested
            ]
        return run_operations(self.requested, context)


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
    results = mover.execute(given)
    duration = time.monotonic() - started
    result = report.summarize(
        results,
        restic_version=mover.version,
        started_at=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_seconds=duration,
        setup_error=mover.setup_error,
    )
    if result.outcome.ok:
        logger.info("Restic completed in %ds", round(duration))
    logger.info("=== Outcome: %s ===", result.outcome)
    logger.info("=== Done ===")
    path = environ.get(contract.EnvVar.RESULT_PATH) or contract.DEFAULT_RESULT_PATH
    report.write(result, path=path, mask=mask)
    return int(result.exit_code)
