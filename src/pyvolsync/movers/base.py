"""What an iteration reports to the reconciler: where a sync stands (``SyncState``).

``iteration.synchronize_*`` is called on every reconcile while a sync runs; it makes sure each
object it needs exists, one step after the other, and says where it is: still working (and why
it waits), finished (with the mover's result document and, for a destination, the image), or
failed. ``iteration.cleanup`` removes what the iteration no longer needs. Neither writes status:
the reconciler does that once, from this state. (The status field ``lastSyncResult`` is
``api.common.SyncResult``: a summary of the mover's result document, a different thing.)
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any

from pyvolsync import contract

JsonObject = dict[str, Any]
DEFAULT_VOLUME_TIMEOUT = datetime.timedelta(minutes=10)
"""How long an iteration waits for a snapshot to be ready or a PVC to bind before it fails."""


class Phase(enum.Enum):
    """Where a sync stands."""

    WAITING = "waiting"
    """Still preparing or running; ``reason`` and ``message`` say what it waits for."""
    COMPLETED = "completed"
    """The mover finished well (including "source empty" and "no eligible snapshot")."""
    FAILED = "failed"
    """The mover failed for good in this iteration (its retries are used up), or a volume it
    needs was not ready within the volume timeout."""
    INVALID = "invalid"
    """The object cannot work as configured; a user must change it (no Job is started)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyncState:
    """Where a running sync stands, as ``synchronize`` found it this time."""

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
    failed_attempts: int = 0
    """How many attempts of the running Job have failed so far (the newest is pending_failure)."""
    progress: contract.Progress | None = None
    """How far the running mover is, from its newest progress line."""
    failure_kind: str | None = None
    """Why the operator ended the iteration without a mover result, e.g. ``volume-not-bound``."""
    ended_at: datetime.datetime | None = None
    """When the mover's Job ended, by the Job's own record (None: unknown, take the present).
    A sync that ended while no operator ran is dated by it, not by when it was noticed."""

    @classmethod
    def waiting(cls, reason: str, message: str, *, retry_after: float = 10.0) -> SyncState:
        """Return a result saying the sync waits for ``message``."""
        return cls(
            phase=Phase.WAITING, reason=reason, message=message, retry_after_seconds=retry_after
        )

    @classmethod
    def invalid(cls, reason: str, message: str) -> SyncState:
        """Return a result saying the object's configuration cannot work."""
        return cls(phase=Phase.INVALID, reason=reason, message=message, retry_after_seconds=60.0)

    @classmethod
    def timed_out(cls, kind: str, message: str) -> SyncState:
        """Return a failed result for a volume that was not ready in time (no mover ran)."""
        return cls(phase=Phase.FAILED, reason=kind, message=message, failure_kind=kind)
