"""The restic engine as ``main`` sees it: validate the environment, check restic, run operations.

``open`` reads upstream's environment contract into a ``MoverConfig`` and makes sure the cache
volume has room for a pack before anything starts; ``ResticSession.version`` refuses a restic
older than 0.17 (it has no exit codes 10-12 to tell a missing repository or a wrong password).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

from pyvolsync import contract
from pyvolsync.inpod import engine, errors
from pyvolsync.inpod.restic import commands, config, failures, operations

logger = logging.getLogger(__name__)

MINIMUM_RESTIC = (0, 17)
MINIMUM_CACHE_FREE = 16 * 1024**2
"""Bytes the cache volume must have free before restic starts: restic writes a cached pack whole
(16 MiB by default), and restic 0.18 can hang for good in a backup's final flush when such a
write fails, instead of exiting with the error."""


def restic_environ(environ: Mapping[str, str], settings: config.MoverConfig) -> dict[str, str]:
    """Return restic's environment: ours, with a progress rate that suits the print interval."""
    child = dict(environ)
    if "RESTIC_PROGRESS_FPS" not in child and settings.progress_interval > 0:
        child["RESTIC_PROGRESS_FPS"] = f"{2 / settings.progress_interval:g}"
    return child


def restic_version(restic: failures.Runner) -> str:
    """Return restic's version; raise MoverError if it cannot run or is older than 0.17."""
    completed = restic.run(commands.version(), quiet=True)
    if failures.exit_of(completed) is not failures.ResticExit.SUCCESS:
        raise failures.failure(completed, action="restic version")
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
        raise failures.error(
            contract.ErrorKind.NO_SPACE,
            f"the cache volume ({contract.EnvVar.RESTIC_CACHE_DIR}={cache_dir}) has {free} bytes "
            f"free, less than the {MINIMUM_CACHE_FREE // 1024**2} MiB restic needs to cache a "
            "pack; nothing was run",
        )


class ResticSession:
    """A restic run: the validated settings and the runner of restic commands."""

    def __init__(self, context: operations.Context) -> None:
        self.context = context

    def version(self) -> str:
        """Return restic's version; raise MoverError if it is missing or too old."""
        return restic_version(self.context.runner)

    def run(self, operation: contract.Operation) -> contract.OperationResult:
        """Run one of restic's operations."""
        return operations.OPERATIONS[operation](self.context)

    def cancel(self) -> None:
        """Stop the running restic command and every later one."""
        self.context.runner.cancel()

    def close(self) -> None:
        """Nothing to remove: restic keeps no state of its own outside the cache."""


def open_session(environ: Mapping[str, str]) -> ResticSession:
    """Return a restic session for ``environ``; raise MoverError naming what is wrong."""
    settings = config.from_environ(environ)
    check_cache_space(environ[contract.EnvVar.RESTIC_CACHE_DIR])
    custom_ca = ("--cacert", settings.custom_ca) if settings.custom_ca else ()
    restic = failures.new_runner(
        restic_environ(environ, settings),
        global_options=custom_ca,
        termination_grace=settings.termination_grace,
    )
    return ResticSession(operations.Context(config=settings, runner=restic))


ENGINE = engine.Engine(
    name=contract.Engine.RESTIC,
    title="Restic",
    operations=tuple(operations.OPERATIONS),
    failed_kind=contract.ErrorKind.RESTIC_FAILED,
    open=open_session,
)
