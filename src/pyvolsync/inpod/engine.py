"""What an engine (restic, kopia) gives the entry point, so ``main`` never names one.

An engine is a package under ``pyvolsync.inpod`` that exports one ``Engine``: its name on the
command line, the operations it knows, and ``open``, which validates the environment and returns
a ``Session`` without starting anything. ``main`` then checks the engine's program (``version``),
runs the operations one by one (``run``), on SIGTERM calls ``cancel``, and at the end ``close``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Protocol

from pyvolsync import contract


class Session(Protocol):
    """One run of an engine, configured from the environment."""

    def version(self) -> str:
        """Return the engine program's version; raise MoverError if it cannot be used."""

    def run(self, operation: contract.Operation) -> contract.OperationResult:
        """Run one operation; raise MoverError when it cannot go on."""

    def cancel(self) -> None:
        """Stop the running command (SIGTERM handler); later commands raise CancelledError."""

    def close(self) -> None:
        """Remove what the session keeps for the run (kopia's per-run configuration)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Engine:
    """An engine the mover can drive."""

    name: contract.Engine
    title: str
    """How log lines name it (``Restic completed in 3s``)."""
    operations: tuple[contract.Operation, ...]
    failed_kind: contract.ErrorKind
    """The kind of a failure the engine names no better (and of a bug in the mover)."""
    open: Callable[[Mapping[str, str]], Session]
    """Validate the environment and return a session; raise ConfigurationError naming a bad
    variable. Starts no process."""
