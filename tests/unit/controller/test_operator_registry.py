"""The operator's watches: each event only puts the right key on the work queue.

The watches run for real (list, then watch) against the in-memory cluster, so what is checked
is what the operator would queue when the API server reports these objects: the owner of a
finished Job, a source whose spec changed, and nothing for the operator's own status writes.
The same watches run against the real API server in every integration test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

from pyvolsync.controller import operator, populator, workqueue
from pyvolsync.kube import fake, watch
from pyvolsync.kube.client import Kind
from pyvolsync.planning import names

OWNER = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "ReplicationSource",
    "name": "app",
    "uid": "u-1",
}


def source(generation: int = 1, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"namespace": "team", "name": "app", "uid": "u-1", "generation": generation},
        "spec": {"restic": {"repository": "repo"}},
        "status": status,
    }


def mover_job(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "namespace": "team",
            "name": "volsync-src-app",
            "labels": {"app.kubernetes.io/created-by": "volsync"},
            "ownerReferences": [OWNER],
        },
        "spec": {"template": {"spec": {"containers": []}}},
        "status": status,
    }


class Watched:
    """The operator's watches on a fake cluster, feeding a queue that only records."""

    def __init__(self, kube: fake.FakeKube) -> None:
        self.kube = kube
        self.handled: list[Hashable] = []
        self.queue = workqueue.WorkQueue(self.handle, workers=1)
        self.watches = operator.build_watches(kube, self.queue, populator.Populator(kube))
        self.stop = asyncio.Event()
        self.ready = asyncio.Event()

    async def handle(self, item: Hashable) -> float | None:
        self.handled.append(item)
        return None

    async def __aenter__(self) -> Watched:
        self.tasks = [
            asyncio.create_task(watch.run_all(self.watches, self.stop, ready=self.ready.set)),
            asyncio.create_task(self.queue.run(self.stop)),
        ]
        await asyncio.wait_for(self.ready.wait(), timeout=5)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)

    async def settle(self) -> None:
        """Wait until every watch has handled the cluster's last change and the queue is idle."""
        async with asyncio.timeout(5):
            while not (self.kube.watches_caught_up() and self.queue.idle):
                await asyncio.sleep(0)


async def test_the_operator_watches_six_kinds_and_is_ready_once_they_are_listed() -> None:
    kube = fake.FakeKube()
    kube.put(source())
    async with Watched(kube) as watched:
        kinds = {item.kind for item in watched.watches}
        assert kinds == {
            Kind.CLAIM,
            Kind.REPLICATION_SOURCE,
            Kind.REPLICATION_DESTINATION,
            Kind.JOB,
            Kind.VOLUME_SNAPSHOT,
            Kind.KOPIA_MAINTENANCE,
        }
        await watched.settle()
        assert watched.handled == [(names.Role.SOURCE, "team/app")]  # from the listing


async def test_a_finished_job_queues_its_owner() -> None:
    kube = fake.FakeKube()
    async with Watched(kube) as watched:
        kube.put(mover_job())  # a new Job without an outcome: its creator already looks again
        await watched.settle()
        assert watched.handled == []
        await kube.patch(
            Kind.JOB,
            "volsync-src-app",
            {"status": {"conditions": [{"type": "Complete", "status": "True"}]}},
            namespace="team",
            status=True,
        )
        await watched.settle()
        assert watched.handled == [(names.Role.SOURCE, "team/app")]


async def test_a_status_write_queues_nothing_but_a_spec_change_does() -> None:
    kube = fake.FakeKube()
    kube.put(source())
    async with Watched(kube) as watched:
        await watched.settle()
        watched.handled.clear()
        status = {"status": {"lastSyncTime": "2026-01-01T00:00:00Z"}}
        await kube.patch(Kind.REPLICATION_SOURCE, "app", status, namespace="team", status=True)
        await watched.settle()
        assert watched.handled == []
        await kube.patch(
            Kind.REPLICATION_SOURCE, "app", {"metadata": {"generation": 2}}, namespace="team"
        )
        await watched.settle()
        assert watched.handled == [(names.Role.SOURCE, "team/app")]
