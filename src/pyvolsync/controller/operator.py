"""The running operator: watches (kopf), a work queue, leader election and the metrics endpoint.

kopf watches ReplicationSources, ReplicationDestinations and the mover Jobs and VolumeSnapshots
the operator creates; each event only puts the owning object's key on the work queue, and the
queue runs the reconciler, one worker per object at a time, with the delays it asks for. No kopf
handler state is stored on objects (no annotations, no finalizers), so the CRs stay exactly as
upstream's and uninstalling the operator never blocks a deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
from collections.abc import Hashable, Mapping
from typing import Any

import kopf

from pyvolsync.api import resources
from pyvolsync.controller import changes, leader, populator, reconciler, workqueue
from pyvolsync.controller import metrics as metrics_module
from pyvolsync.kube import client as kube_client
from pyvolsync.planning import metadata, names

logger = logging.getLogger(__name__)

CLAIM = "claim"
"""Work-queue items ``(CLAIM, namespace/name)`` are PVCs for the volume populator."""

ROLE_BY_KIND = {
    resources.SOURCE_KIND: names.Role.SOURCE,
    resources.DESTINATION_KIND: names.Role.DESTINATION,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperatorConfig:
    """Everything ``pyvolsync operator`` is started with."""

    reconcile: reconciler.Settings
    kubeconfig: str | None = None
    metrics_port: int = 0
    workers: int = 8
    leader_election: bool = True
    lease_namespace: str = "default"


def owners_of(body: Mapping[str, Any]) -> list[tuple[names.Role, str]]:
    """Return the (role, namespace/name) of the ReplicationSource/Destination owning ``body``."""
    namespace = body.get("metadata", {}).get("namespace", "")
    found = []
    for reference in body.get("metadata", {}).get("ownerReferences") or []:
        role = ROLE_BY_KIND.get(reference.get("kind", ""))
        if role is not None and reference.get("apiVersion", "").startswith(resources.GROUP):
            found.append((role, f"{namespace}/{reference['name']}"))
    return found


def build_registry(
    queue: workqueue.WorkQueue, volume_populator: populator.Populator
) -> kopf.OperatorRegistry:
    """Return kopf handlers that only feed ``queue``."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Our own events say what happened; kopf posts none (so it needs no RBAC for events).
        settings.posting.enabled = False
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330

    spec_changes = changes.spec_changes()
    job_changes = changes.job_changes()

    # Every handler is a coroutine: kopf runs plain functions in a thread pool, where adding to
    # the queue would race with its workers and not wake them (asyncio is not thread-safe).

    def enqueue_object(role: names.Role) -> Any:
        async def handler(
            body: kopf.Body, event: kopf.RawEvent, name: str, namespace: str, **_: Any
        ) -> None:
            key = f"{namespace}/{name}"
            if spec_changes.worth_reconciling(body, event_type=event.get("type")):
                queue.add((role, key))
            if role is names.Role.DESTINATION:
                for claim in volume_populator.claims_by_destination.get(key, ()):
                    queue.add((CLAIM, claim))

        return handler

    @kopf.on.event("", "v1", "persistentvolumeclaims", registry=registry)
    async def enqueue_claim(body: kopf.Body, name: str, namespace: str | None, **_: Any) -> None:
        volume_populator.remember(body)
        if populator.wants_population(body) is not None:
            queue.add((CLAIM, f"{namespace}/{name}"))
        prime_for = (body.get("metadata", {}).get("labels") or {}).get(populator.PRIME_FOR_LABEL)
        if prime_for:
            queue.add((CLAIM, f"{namespace}/{prime_for}"))

    for role, plural in (
        (names.Role.SOURCE, resources.SOURCE_PLURAL),
        (names.Role.DESTINATION, resources.DESTINATION_PLURAL),
    ):
        kopf.on.event(resources.GROUP, resources.VERSION, plural, registry=registry)(
            enqueue_object(role)
        )

    def enqueue_owners(worth: changes.Changes | None) -> Any:
        async def handler(body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
            if worth is None or worth.worth_reconciling(body, event_type=event.get("type")):
                for item in owners_of(body):
                    queue.add(item)

        return handler

    created_by = {metadata.CREATED_BY_LABEL: metadata.CREATED_BY_VALUE}
    kopf.on.event("batch", "v1", "jobs", labels=created_by, registry=registry)(
        enqueue_owners(job_changes)
    )
    kopf.on.event(
        "snapshot.storage.k8s.io", "v1", "volumesnapshots", labels=created_by, registry=registry
    )(enqueue_owners(None))
    return registry


async def run(config: OperatorConfig) -> None:
    """Run the operator until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    _stop_on_signals(stop)
    if config.kubeconfig:
        os.environ["KUBECONFIG"] = config.kubeconfig  # kopf's own login reads it from there
    # kopf names itself after the login user, which a container's UID may not have.
    os.environ.setdefault("USER", "pyvolsync")
    api = kube_client.connect(config.kubeconfig)
    identity = f"{socket.gethostname()}-{os.getpid()}"
    kube = kube_client.Kube(api, instance=identity)
    metrics = metrics_module.Metrics()
    if config.metrics_port:
        metrics.serve(config.metrics_port)
        logger.info("serving metrics on port %d", config.metrics_port)
    election = leader.LeaderElection(
        kube, leader.LeaseSettings(namespace=config.lease_namespace, identity=identity)
    )
    try:
        if config.leader_election and not await election.acquire(stop):
            return
        await _lead(config, kube=kube, metrics=metrics, election=election, stop=stop)
    finally:
        if config.leader_election:
            await election.release()
        await api.close()
        logger.info("operator stopped")


async def _lead(
    config: OperatorConfig,
    *,
    kube: kube_client.Kube,
    metrics: metrics_module.Metrics,
    election: leader.LeaderElection,
    stop: asyncio.Event,
) -> None:
    queue: workqueue.WorkQueue

    def wake(role: names.Role, key: str) -> None:
        queue.add((role, key))

    engine = reconciler.Reconciler(kube, settings=config.reconcile, metrics=metrics, wake=wake)
    volume_populator = populator.Populator(kube)
    await populator.register(kube)

    async def handle(item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        namespace, name = str(item[1]).split("/", 1)
        if item[0] == CLAIM:
            return await volume_populator.reconcile(namespace, name)
        role: names.Role = item[0]
        return await engine.reconcile(role, namespace, name)

    queue = workqueue.WorkQueue(handle, workers=config.workers)
    await engine.adopt_running()
    ready = asyncio.Event()
    watching = asyncio.create_task(
        kopf.operator(
            registry=build_registry(queue, volume_populator),
            clusterwide=True,
            standalone=True,
            stop_flag=stop,
            ready_flag=ready,
        )
    )
    tasks = [watching, asyncio.create_task(queue.run(stop))]
    if config.leader_election:
        tasks.append(asyncio.create_task(election.keep(stop)))
    logger.info("operator running with %d workers", config.workers)
    # kopf takes SIGTERM/SIGINT over when it starts; its end is the operator's end too. Once it
    # is ready, take them back: kopf then stops through `stop` like everything else, instead of
    # waiting 5 s for our tasks (which wait for `stop`) before it gives up on them.
    starting = asyncio.create_task(ready.wait())
    await asyncio.wait({watching, starting}, return_when=asyncio.FIRST_COMPLETED)
    starting.cancel()
    _stop_on_signals(stop)
    if ready.is_set():
        metrics.ready.set(1)
        logger.info("operator ready")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({watching, stopping}, return_when=asyncio.FIRST_COMPLETED)
    metrics.ready.set(0)
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, stopping)


def _stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGTERM and SIGINT."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
