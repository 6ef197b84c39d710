"""What every mover reports to the reconciler, and the settings all movers share.

A mover's ``synchronize`` is called on every reconcile while a sync runs; it makes sure each
object it needs exists, one step after the other, and says where it is: still working (and why
it waits), finished (with the mover's result document and, for a destination, the image), or
failed. ``cleanup`` removes what the iteration no longer needs. Neither writes status: the
reconciler does that once, from this result.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from pyvolsync import contract

JsonObject = dict[str, Any]


class Phase(enum.Enum):
    """Where a sync stands."""

    WAITING = "waiting"
    """Still preparing or running; ``reason`` and ``message`` say what it waits for."""
    COMPLETED = "completed"
    """The mover finished well (including "source empty" and "no eligible snapshot")."""
    FAILED = "failed"
    """The mover failed for good in this iteration (its retries are used up)."""
    INVALID = "invalid"
    """The object cannot work as configured; a user must change it (no Job is started)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyncResult:
    """What ``synchronize`` found this time."""

    phase: Phase
    reason: str = ""
    message: str = ""
    retry_after_seconds: float | None = None
    mover_result: contract.MoverResult | None = None
    operations: tuple[contract.Operation, ...] = ()
    logs: str = ""
    image: JsonObject | None = None
    pending_failure: contract.MoverResult | None = None
    """A failed attempt the Job will retry; reported as a warning, the sync goes on."""
    progress: contract.Progress | None = None
    """How far the running mover is, from its newest progress line."""

    @classmethod
    def waiting(cls, reason: str, message: str, *, retry_after: float = 10.0) -> SyncResult:
        """Return a result saying the sync waits for ``message``."""
        return cls(
            phase=Phase.WAITING, reason=reason, message=message, retry_after_seconds=retry_after
        )

    @classmethod
    def invalid(cls, reason: str, message: str) -> SyncResult:
        """Return a result saying the object's configuration cannot work."""
        return cls(phase=Phase.INVALID, reason=reason, message=message, retry_after_seconds=60.0)
