"""Leader election with a coordination.k8s.io Lease, so two operator replicas are safe.

Only the replica holding the Lease reconciles; the other waits and takes over when the holder
stops renewing (a crash) or gives the Lease up (a graceful shutdown). Renewal is well inside the
lease duration, and a replica that cannot renew in time stops reconciling before another can
take over.

A waiting replica never compares the holder's ``renewTime`` with its own clock: as client-go's
leader election does, it notes when it last saw the Lease record change (on its own monotonic
clock) and deems the holder gone only when the record has not changed for a whole lease
duration. Clocks that disagree between nodes can then neither steal a live lease nor keep a
dead one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pyvolsync.kube import client as kube_client
from pyvolsync.kube import errors

logger = logging.getLogger(__name__)

Kind = kube_client.Kind


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeaseSettings:
    """Where the Lease lives and how long it lasts."""

    name: str = "pyvolsync-operator"
    namespace: str = "default"
    identity: str
    duration_seconds: int = 15
    renew_every_seconds: float = 5.0
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Published on the Lease while this replica holds it (settings others may read)."""


def _format(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclasses.dataclass(frozen=True)
class Observation:
    """A Lease record as last seen, and when (this process's monotonic clock) it was seen."""

    record: tuple[Any, ...]
    seen_at: float


def _record(spec: dict[str, Any]) -> tuple[Any, ...]:
    """What changes when the holder renews or hands over (resourceVersion aside)."""
    return (
        spec.get("holderIdentity"),
        spec.get("renewTime"),
        spec.get("acquireTime"),
        spec.get("leaseTransitions"),
        spec.get("leaseDurationSeconds"),
    )


class LeaderElection:
    """Acquire, keep and release one Lease."""

    def __init__(
        self,
        kube: kube_client.Kube,
        settings: LeaseSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.monotonic = monotonic
        self.observed: Observation | None = None

    def expired(self, spec: dict[str, Any]) -> bool:
        """Whether the Lease ``spec`` is free: no holder, or a record unchanged for a whole
        lease duration since this replica first saw it."""
        if not spec.get("holderIdentity"):
            return True
        now = self.monotonic()
        record = _record(spec)
        if self.observed is None or self.observed.record != record:
            self.observed = Observation(record, now)
            return False
        duration = int(spec.get("leaseDurationSeconds") or self.settings.duration_seconds)
        return now - self.observed.seen_at >= duration

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this replica holds the Lease (True) or ``stop`` is set (False)."""
        while not stop.is_set():
            if await self._try_take():
                logger.info("became the leader as %s", self.settings.identity)
                return True
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.renew_every_seconds)
            except TimeoutError:
                continue
        return False

    async def keep(self, stop: asyncio.Event) -> None:
        """Renew the Lease until ``stop`` is set; set ``stop`` when leadership is lost."""
        last_renewal = asyncio.get_running_loop().time()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.renew_every_seconds)
            if stop.is_set():
                break
            if await self._try_take():
                last_renewal = asyncio.get_running_loop().time()
            elif (
                asyncio.get_running_loop().time() - last_renewal
                > self.settings.duration_seconds * 0.8
            ):
                logger.error("lost the leader lease; stopping")
                stop.set()

    async def release(self) -> None:
        """Give the Lease up so another replica takes over at once."""
        lease = await self.kube.get(
            Kind.LEASE, self.settings.name, namespace=self.settings.namespace
        )
        if lease is None or lease["spec"].get("holderIdentity") != self.settings.identity:
            return
        lease["spec"]["holderIdentity"] = None
        try:
            await self.kube.replace(lease)
        except errors.KubeError as error:
            logger.warning("could not release the lease: %s", error)

    async def _try_take(self) -> bool:
        now = datetime.datetime.now(datetime.UTC)
        try:
            lease = await self.kube.get(
                Kind.LEASE, self.settings.name, namespace=self.settings.namespace
            )
            if lease is None:
                await self.kube.create(self._lease(now, transitions=0))
                return await self._holding()
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.settings.identity and not self.expired(spec):
                return False
            transitions = int(spec.get("leaseTransitions") or 0)
            if spec.get("holderIdentity") != self.settings.identity:
                transitions += 1
            renewed = self._lease(now, transitions=transitions)
            renewed["metadata"]["resourceVersion"] = lease["metadata"]["resourceVersion"]
            if spec.get("holderIdentity") == self.settings.identity:
                renewed["spec"]["acquireTime"] = spec.get("acquireTime")
            await self.kube.replace(renewed)
            return True
        except errors.KubeError as error:
            logger.info("lease not taken: %s", error)
            return False

    async def _holding(self) -> bool:
        lease = await self.kube.get(
            Kind.LEASE, self.settings.name, namespace=self.settings.namespace
        )
        return bool(lease and lease["spec"].get("holderIdentity") == self.settings.identity)

    def _lease(self, now: datetime.datetime, *, transitions: int) -> dict[str, Any]:
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.settings.name,
                "namespace": self.settings.namespace,
                "annotations": dict(self.settings.annotations),
            },
            "spec": {
                "holderIdentity": self.settings.identity,
                "leaseDurationSeconds": self.settings.duration_seconds,
                "acquireTime": _format(now),
                "renewTime": _format(now),
                "leaseTransitions": transitions,
            },
        }
