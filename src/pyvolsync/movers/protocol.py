"""The seam between the generic sync and one engine (restic, kopia): the ``Mover`` protocol.

The reconciler runs the same state machine for every engine (schedule, slots, jitter, retries,
conditions, events) and the iteration the same steps (data volume, cache, identity, Secret,
Job, result). What differs per engine is only what is here: which spec section selects it,
which operations are due, the Secret keys and the container's command and environment, how a
finished Job's result is read, and the engine's own status fields. An engine is one package
under ``movers/`` implementing this, plus one under the in-pod program, and one line in
``movers.registry``; nothing else branches on it.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pyvolsync import contract
from pyvolsync.api import common, destination, source
from pyvolsync.movers import base

JsonObject = dict[str, Any]
Spec = source.ReplicationSourceSpec | destination.ReplicationDestinationSpec
Status = source.ReplicationSourceStatus | destination.ReplicationDestinationStatus
EngineSpec = common.EngineSpecBase
"""An engine's section of a spec; the volume and mover-pod options every engine shares."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Schedule:
    """What an engine needs to decide which operations a new source Job runs."""

    spec: EngineSpec
    status: source.ReplicationSourceStatus
    created: datetime.datetime
    now: datetime.datetime
    check_interval: datetime.timedelta
    """Time between repository verifications (zero: never)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Container:
    """The engine's part of a mover container: its name, command and environment."""

    name: str
    command: tuple[str, ...]
    plain_environment: tuple[tuple[str, str], ...]
    """Values set directly, in the order the container lists them."""
    optional_secret_keys: tuple[str, ...]
    """Keys of the repository Secret passed on only when the Secret has them."""
    feature_environment: tuple[tuple[str, str], ...] = ()
    """Values listed after the Secret's and the proxy's."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Recorded:
    """What recording a completed sync found that the reconciler reports (metrics)."""

    repository_damaged: bool | None = None
    """True/False when this sync verified the repository; None when it did not."""


class Mover(Protocol):
    """One engine, as the generic reconciler and iteration see it."""

    @property
    def name(self) -> str:
        """The spec section that selects the engine, and the metrics' ``method`` label."""
        ...

    @property
    def required_secret_keys(self) -> tuple[str, ...]:
        """The keys the repository Secret must have (checked before any Job is created)."""
        ...

    def section(self, spec: Spec) -> EngineSpec | None:
        """Return the engine's section of ``spec``, None when the spec does not use it."""
        ...

    def operations_due(self, schedule: Schedule) -> tuple[contract.Operation, ...]:
        """The operations a new source Job runs (the backup and what maintenance is due)."""
        ...

    def restore_operations(self) -> tuple[contract.Operation, ...]:
        """The operations a new destination Job runs."""
        ...

    def container(self, plan: ContainerRequest) -> Container:
        """The container of the Job ``plan`` describes."""
        ...

    async def resolve(
        self, spec: EngineSpec, *, namespace: str, find_source: SourceLookup
    ) -> Resolved:
        """Complete ``spec`` from the objects it refers to (a kopia destination takes the
        repository and source path of the ReplicationSource its ``sourceIdentity`` names, as
        the fork does); ``namespace`` is the object's."""
        ...

    def settle(self, state: base.SyncState) -> base.SyncState:
        """Read a finished source sync the engine's way (e.g. a saved backup whose check then
        found damage completed; the damage is reported on its own)."""
        ...

    def record(
        self,
        status: Status,
        spec: EngineSpec,
        state: base.SyncState,
        *,
        now: datetime.datetime,
        owner_key: str,
    ) -> Recorded:
        """Write the engine's own status fields after a successful sync."""
        ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class Resolved:
    """An engine section completed from the objects it refers to."""

    spec: EngineSpec
    note: str = ""
    """Why something could not be completed, said where it matters (a missing Secret)."""


SourceLookup = Callable[[str, str], Awaitable[JsonObject | None]]
"""``(namespace, name)`` → that ReplicationSource, or None."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContainerRequest:
    """What an engine is told to build a container for."""

    owner_key: str
    """``namespace/name`` of the ReplicationSource or ReplicationDestination."""
    spec: EngineSpec
    operations: tuple[contract.Operation, ...]
    secret_keys: frozenset[str]
    progress_interval_seconds: int
    check_read_data_subset: str | None
