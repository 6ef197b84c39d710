"""The kopia engine as ``main`` sees it: validate the environment, check kopia, run operations.

Each run gets its own directory (``tempfile``, never ``$HOME``) for kopia's configuration file
and any credentials file; ``close`` removes it. kopia gets the password from ``KOPIA_PASSWORD``
and backend keys through the variables it reads itself, and is told not to store credentials
or check for updates. Actions run under ``sh -c`` in ``DATA_DIR`` with the secrets left out of
their environment.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping

from pyvolsync import contract
from pyvolsync.inpod import engine, errors, masking, runner
from pyvolsync.inpod.kopia import backends, commands, config, failures, operations

logger = logging.getLogger(__name__)

MINIMUM_KOPIA = (0, 22)
CONFIG_FILE = "repository.config"


def kopia_version(kopia: failures.Runner) -> str:
    """Return kopia's version; raise MoverError if it cannot run or is older than 0.22."""
    completed = kopia.run(commands.version(), quiet=True)
    match = re.search(r"v?([0-9]+)\.([0-9]+)\.([0-9]+)", completed.stdout)
    if completed.returncode != 0 or match is None:
        raise errors.ConfigurationError(
            f"kopia --version failed ({completed.reason}): the mover image must ship kopia"
        )
    version = ".".join(match.groups())
    if tuple(map(int, match.groups()[:2])) < MINIMUM_KOPIA:
        raise errors.ConfigurationError(
            f"kopia {version} is too old: the mover needs 0.22 or newer"
        )
    logger.info("kopia version: %s", version)
    return version


def kopia_environ(environ: Mapping[str, str], backend: backends.Backend) -> dict[str, str]:
    """Return kopia's environment: ours, the backend's credential variables, no update checks."""
    return {**environ, **backend.environ, "KOPIA_CHECK_FOR_UPDATES": "false"}


def action_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the environment of a user's action: ours without any secret."""
    return {name: value for name, value in environ.items() if not masking.is_secret_name(name)}


def _write_private(path: str, content: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(content)


class KopiaSession:
    """A kopia run: settings, the repository location and the runners, in a private directory."""

    def __init__(self, context: operations.Context, directory: str) -> None:
        self.context = context
        self.directory = directory

    def version(self) -> str:
        """Return kopia's version; raise MoverError if it is missing or too old."""
        return kopia_version(self.context.kopia)

    def run(self, operation: contract.Operation) -> contract.OperationResult:
        """Run one of kopia's operations."""
        return operations.OPERATIONS[operation](self.context)

    def cancel(self) -> None:
        """Stop the running kopia command or action, and every later one."""
        self.context.kopia.cancel()
        self.context.shell.cancel()

    def close(self) -> None:
        """Remove the run's directory (kopia's configuration, credentials files)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _context(environ: Mapping[str, str], directory: str) -> operations.Context:
    settings = config.from_environ(environ)
    backend = backends.backend_of(environ, custom_ca=settings.custom_ca, scratch=directory)
    for path, content in backend.files.items():
        _write_private(path, content)
    kopia = failures.new_runner(
        kopia_environ(environ, backend),
        global_options=commands.global_options(os.path.join(directory, CONFIG_FILE)),
        termination_grace=settings.termination_grace,
    )
    shell: runner.Runner[runner.StderrReader] = runner.Runner(
        executable="sh",
        reader=lambda quiet: runner.StderrReader(quiet=quiet),
        environ=action_environ(environ),
        termination_grace=settings.termination_grace,
    )
    return operations.Context(config=settings, backend=backend, kopia=kopia, shell=shell)


def open_session(environ: Mapping[str, str]) -> KopiaSession:
    """Return a kopia session for ``environ``; raise MoverError naming what is wrong."""
    directory = tempfile.mkdtemp(prefix="pyvolsync-kopia-")
    try:
        return KopiaSession(_context(environ, directory), directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


ENGINE = engine.Engine(
    name=contract.Engine.KOPIA,
    title="Kopia",
    operations=tuple(operations.OPERATIONS),
    failed_kind=contract.ErrorKind.KOPIA_FAILED,
    open=open_session,
)
