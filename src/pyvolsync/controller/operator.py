"""The running operator: watches, a work queue, leader election and the metrics endpoint.

The operator watches ReplicationSources, ReplicationDestinations, PVCs and the mover Jobs and
VolumeSnapshots it creates, through the same API client as every other request (``kube.watch``);
each event only puts the owning object's key on the work queue, and the queue runs the
reconciler, one worker per object at a time, with the delays it asks for. No handler state is
stored on objects (no annotations, no finalizers), so the CRs stay exactly as upstream's and
uninstalling the operator never blocks a deletion.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import socket
from collections.abc import Hashable, Mapping
from typing import Any

from pyvolsync.api import resources
from pyvolsync.controller import (
    changes,
    leader,
    maintenance,
    notifications,
    populator,
    reconciler,
    workqueue,
)
from pyvolsync.controller import metrics as metrics_module
from pyvolsync.kube import client as kube_client
from pyvolsync.kube import watch
from pyvolsync.movers import jobs
from pyvolsync.planning import metadata, names

logger = logging.getLogger(__name__)

Kind = kube_client.Kind
JsonObject = dict[str, Any]
CLAIM = "claim"
"""Work-queue items ``(CLAIM, namespace/name)`` are PVCs for the volume populator."""

MAINTENANCE = "maintenance"
"""Work-queue items ``(MAINTENANCE, namespace/name)`` are KopiaMaintenance objects."""

ROLE_BY_KIND: dict[str, Hashable] = {
    resources.SOURCE_KIND: names.Role.SOURCE,
    resources.DESTINATION_KIND: names.Role.DESTINATION,
    resources.MAINTENANCE_KIND: MAINTENANCE,
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
    notify_secret: notifications.SecretRef | None = None
    """The Secret whose keys are notification targets (None: no notifications)."""
    notify_quiet: float = 30.0
    """Seconds without news before the gathered notices are sent."""


def published_settings(settings: jobs.JobSettings) -> dict[str, str]:
    """Return the Lease annotations that tell the CLI the mover image and repository volume."""
    published = {metadata.MOVER_IMAGE_ANNOTATION: settings.image}
    if settings.repository_volume is not None:
        published[metadata.REPOSITORY_VOLUME_ANNOTATION] = json.dumps(
            dict(settings.repository_volume), sort_keys=True
        )
    return published


def owners_of(body: Mapping[str, Any]) -> list[tuple[Hashable, str]]:
    """Return the (role, namespace/name) of the ReplicationSource, ReplicationDestination or
    KopiaMaintenance owning ``body``."""
    namespace = body.get("metadata", {}).get("namespace", "")
    found = []
    for reference in body.get("metadata", {}).get("ownerReferences") or []:
        role = ROLE_BY_KIND.get(reference.get("kind", ""))
        if role is not None and reference.get("apiVersion", "").startswith(resources.GROUP):
            found.append((role, f"{namespace}/{reference['name']}"))
    return found


def build_watches(
    kube: kube_client.Kube, queue: workqueue.WorkQueue, volume_populator: populator.Populator
) -> list[watch.Watch]:
    """Return the watches that feed ``queue``: each event only queues the key of what to
    reconcile (the reconcilers read the rest themselves)."""
    spec_changes = changes.spec_changes()
    maintenance_changes = changes.spec_changes()
    job_changes = changes.job_changes()

    def enqueue_object(role: names.Role) -> watch.Handler:
        async def handler(event_type: str | None, body: JsonObject) -> None:
            key = _key(body)
            if spec_changes.worth_reconciling(body, event_type=event_type):
                queue.add((role, key))
            if role is names.Role.DESTINATION:
                for claim in volume_populator.claims_by_destination.get(key, ()):
                    queue.add((CLAIM, claim))

        return handler

    async def enqueue_maintenance(event_type: str | None, body: JsonObject) -> None:
        if maintenance_changes.worth_reconciling(body, event_type=event_type):
            queue.add((MAINTENANCE, _key(body)))

    async def enqueue_claim(event_type: str | None, body: JsonObject) -> None:
        volume_populator.remember(body)
        if populator.wants_population(body) is not None:
            queue.add((CLAIM, _key(body)))
        prime_for = (body.get("metadata", {}).get("labels") or {}).get(populator.PRIME_FOR_LABEL)
        if prime_for:
            queue.add((CLAIM, f"{body['metadata']['namespace']}/{prime_for}"))

    def enqueue_owners(worth: changes.Changes | None) -> watch.Handler:
        async def handler(event_type: str | None, body: JsonObject) -> None:
            if worth is None or worth.worth_reconciling(body, event_type=event_type):
                for item in owners_of(body):
                    queue.add(item)

        return handler

    created_by = {metadata.CREATED_BY_LABEL: metadata.CREATED_BY_VALUE}
    return [
        watch.Watch(kube, Kind.CLAIM, enqueue_claim),
        watch.Watch(kube, Kind.REPLICATION_SOURCE, enqueue_object(names.Role.SOURCE)),
        watch.Watch(kube, Kind.REPLICATION_DESTINATION, enqueue_object(names.Role.DESTINATION)),
        watch.Watch(kube, Kind.JOB, enqueue_owners(job_changes), labels=created_by),
        # Clusters moving from upstream may not have this CRD: not needed to be ready.
        watch.Watch(kube, Kind.KOPIA_MAINTENANCE, enqueue_maintenance, required=False),
        watch.Watch(
            kube, Kind.VOLUME_SNAPSHOT, enqueue_owners(None), labels=created_by, required=False
        ),
    ]


def _key(body: Mapping[str, Any]) -> str:
    meta = body["metadata"]
    return f"{meta['namespace']}/{meta['name']}"


async def run(config: OperatorConfig) -> None:
    """Run the operator until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    _stop_on_signals(stop)
    api = kube_client.connect(config.kubeconfig)
    identity = f"{socket.gethostname()}-{os.getpid()}"
    kube = kube_client.Kube(api, instance=identity)
    metrics = metrics_module.Metrics()
    if config.metrics_port:
        metrics.serve(config.metrics_port)
        logger.info("serving metrics on port %d", config.metrics_port)
    election = leader.LeaderElection(
        kube,
        leader.LeaseSettings(
            namespace=config.lease_namespace,
            identity=identity,
            annotations=published_settings(config.reconcile.job),
        ),
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

    notifier = None
    if config.notify_secret is not None:
        notifier = notifications.Notifier(
            kube, config.notify_secret, metrics=metrics, quiet=config.notify_quiet
        )
    engine = reconciler.Reconciler(
        kube,
        settings=config.reconcile,
        metrics=metrics,
        wake=wake,
        notify=notifier.tell if notifier else notifications.ignore,
    )
    volume_populator = populator.Populator(kube)
    maintainer = maintenance.MaintenanceReconciler(
        kube, settings=config.reconcile.job, timezone=config.reconcile.policy.timezone
    )
    await populator.register(kube)

    async def handle(item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        namespace, name = str(item[1]).split("/", 1)
        if item[0] == CLAIM:
            return await volume_populator.reconcile(namespace, name)
        if item[0] == MAINTENANCE:
            return await maintainer.reconcile(namespace, name)
        role: names.Role = item[0]
        return await engine.reconcile(role, namespace, name)

    queue = workqueue.WorkQueue(handle, workers=config.workers)
    await engine.adopt_running()

    def ready() -> None:
        metrics.ready.set(1)
        logger.info("operator ready: every watch has listed its objects")

    tasks = [asyncio.create_task(queue.run(stop))]
    if config.leader_election:
        tasks.append(asyncio.create_task(election.keep(stop)))
    if notifier is not None:
        tasks.append(asyncio.create_task(notifier.run(stop)))
    logger.info("operator running with %d workers", config.workers)
    try:
        await watch.run_all(build_watches(kube, queue, volume_populator), stop, ready=ready)
    finally:
        metrics.ready.set(0)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


def _stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGTERM and SIGINT."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
