"""What kopia's stderr means, and what a person should do about each failure.

kopia exits 1 for every failure, so its words decide: ``invalid repository password``, a storage
with no repository in it (``repository not initialized``, or a filesystem path that does not
exist), the maintenance owner, a full disk, a network failure. ``KopiaStderr`` also takes
kopia's progress lines out of the log, hands them to a progress callback and keeps the last
backup counters.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pyvolsync import contract
from pyvolsync.inpod import errors, runner
from pyvolsync.inpod.kopia import progress
from pyvolsync.inpod.progress import Status

Var = contract.KopiaEnvVar

REMEDIES = {
    contract.ErrorKind.WRONG_PASSWORD: (
        f"{Var.PASSWORD} does not open this repository: check the {Var.PASSWORD} key of the "
        "repository Secret."
    ),
    contract.ErrorKind.REPOSITORY_MISSING: (
        f"There is no kopia repository at {Var.REPOSITORY}: check the {Var.REPOSITORY} key (and "
        "the bucket or path keys) of the repository Secret; only a backup creates a repository."
    ),
    contract.ErrorKind.REPOSITORY_UNREACHABLE: (
        f"Check {Var.REPOSITORY}, the backend credentials in the repository Secret and the "
        "network path to the repository."
    ),
    contract.ErrorKind.REPOSITORY_READ_ONLY: (
        "The repository cannot be written (a read-only file system or no write permission): "
        "check the repository volume's mount and the permissions of the repository directory."
    ),
    contract.ErrorKind.NO_SPACE: (
        f"A volume is full: free space or grow the cache volume ({Var.CACHE_DIR}), the "
        "destination volume or the repository's storage."
    ),
    contract.ErrorKind.MAINTENANCE_NOT_OWNER: (
        "kopia lets one user@host run a repository's maintenance. Run maintenance as that "
        f"identity ({Var.OVERRIDE_MAINTENANCE_USERNAME}/{Var.OVERRIDE_MAINTENANCE_HOSTNAME}), or "
        f"set {Var.MAINTENANCE_TAKEOVER}=true once to make this identity the owner (only when "
        "the old owner no longer runs maintenance)."
    ),
    contract.ErrorKind.ACTION_FAILED: (
        f"Fix the command of {Var.BEFORE_SNAPSHOT} (spec.kopia.actions.beforeSnapshot); it must "
        "exit 0 within 300 s. The Job is retried."
    ),
    contract.ErrorKind.KOPIA_FAILED: "See kopia's messages above; the Job is retried.",
}


def error(kind: contract.ErrorKind, message: str) -> errors.MoverError:
    """Return the error for ``kind`` with kopia's remedy appended."""
    return errors.error(kind, message, REMEDIES)


class KopiaStderr(runner.StderrReader):
    """kopia's stderr: progress lines (not logged, handed on), everything else as plain lines."""

    def __init__(self, *, quiet: bool, on_progress: Callable[[Status], None] | None = None) -> None:
        super().__init__(quiet=quiet)
        self.on_progress = on_progress
        self.backup: progress.BackupCounters | None = None

    def handle(self, line: str) -> None:
        """Read one line: a progress line, or plain text."""
        counters = progress.parse_backup(line)
        status = counters.status if counters else progress.parse_restore(line)
        if counters is not None:
            self.backup = counters
        if status is not None:
            if self.on_progress is not None:
                self.on_progress(status)
            return
        super().handle(line.strip(" !"))

    def explanation(self) -> str:
        """Return kopia's last error line, else the last lines of stderr."""
        failing = [line for line in self.tail if re.search(r"error|fail|invalid", line, re.I)]
        return failing[-1].strip() if failing else super().explanation()


Completed = runner.Completed[KopiaStderr]
Runner = runner.Runner[KopiaStderr]


def new_runner(
    environ: dict[str, str], *, global_options: tuple[str, ...], termination_grace: float
) -> Runner:
    """Return the runner of kopia commands."""
    return runner.Runner(
        executable="kopia",
        reader=lambda quiet: KopiaStderr(quiet=quiet),
        environ=environ,
        global_options=global_options,
        termination_grace=termination_grace,
        missing="the mover image must ship kopia",
    )


_PHRASES = (
    (re.compile(r"invalid repository password"), contract.ErrorKind.WRONG_PASSWORD),
    (
        re.compile(
            r"repository not initialized|cannot access storage path: .*no such file or directory",
            re.IGNORECASE,
        ),
        contract.ErrorKind.REPOSITORY_MISSING,
    ),
    (re.compile(r"maintenance must be run by designated user"),
     contract.ErrorKind.MAINTENANCE_NOT_OWNER),
    (errors.NO_SPACE, contract.ErrorKind.NO_SPACE),
    (re.compile(r"read-only file system|(?:blob|storage|repository).*permission denied", re.I),
     contract.ErrorKind.REPOSITORY_READ_ONLY),
    (errors.NETWORK, contract.ErrorKind.REPOSITORY_UNREACHABLE),
)  # fmt: skip


def failure_kind(completed: Completed) -> contract.ErrorKind:
    """Given a failed kopia command, return what kind of failure it was."""
    if completed.timed_out:
        return contract.ErrorKind.REPOSITORY_UNREACHABLE
    text = "\n".join(completed.stderr.tail)
    return next(
        (kind for pattern, kind in _PHRASES if pattern.search(text)),
        contract.ErrorKind.KOPIA_FAILED,
    )


def failure(completed: Completed, *, action: str) -> errors.MoverError:
    """Given a failed kopia command and what it was doing, return the error to raise."""
    return error(failure_kind(completed), f"{action} failed: {completed.reason}")
