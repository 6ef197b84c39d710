"""The kopf handlers: each watch event only puts a key on the work queue, from the event loop.

kopf runs a plain-function handler in a thread pool; the work queue is asyncio code, so adding
to it from another thread would race with its workers and leave a waiting worker asleep until
its next timeout. Every handler must therefore be a coroutine, and the keys it adds must be the
owners the reconcilers expect.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Hashable
from typing import Any

from pyvolsync.controller import operator, populator, workqueue
from pyvolsync.planning import names


def handlers(registry: Any) -> dict[str, Any]:
    """Return the registry's watch handlers by the resource they watch (jobs, ...)."""
    return {item.selector.any_name: item.fn for item in registry._watching.get_all_handlers()}


class Recorder:
    """A work queue whose handler records the items; ``registry`` feeds it like the operator."""

    def __init__(self) -> None:
        self.handled: list[Hashable] = []
        self.done = asyncio.Event()
        self.queue = workqueue.WorkQueue(self.handle, workers=1)
        self.registry = operator.build_registry(self.queue, populator.Populator(None))  # type: ignore[arg-type]
        self.stop = asyncio.Event()
        self.runner: asyncio.Task[None] | None = None

    async def handle(self, item: Hashable) -> float | None:
        self.handled.append(item)
        self.done.set()
        return None

    def start(self) -> None:
        self.runner = asyncio.create_task(self.queue.run(self.stop))

    async def first_item(self) -> None:
        """Wait until the queue handed out an item, then stop its worker."""
        await asyncio.wait_for(self.done.wait(), timeout=10)
        self.stop.set()
        assert self.runner is not None
        await self.runner


async def test_every_watch_handler_runs_on_the_event_loop_and_wakes_a_waiting_worker() -> None:
    recorder = Recorder()
    found = list(recorder.registry._watching.get_all_handlers())
    assert len(found) == 5  # PVCs, sources, destinations, Jobs, VolumeSnapshots
    assert all(inspect.iscoroutinefunction(item.fn) for item in found)
    recorder.start()
    await asyncio.sleep(0)  # the worker now waits for an item
    owner = {"apiVersion": "volsync.backube/v1alpha1", "kind": "ReplicationSource", "name": "app"}
    job = {
        "metadata": {"namespace": "team", "name": "volsync-src-app", "ownerReferences": [owner]},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    await handlers(recorder.registry)["jobs"](body=job, event={"type": "ADDED"})
    await recorder.first_item()
    assert recorder.handled == [(names.Role.SOURCE, "team/app")]


async def test_a_status_write_queues_nothing_but_a_spec_change_does() -> None:
    recorder = Recorder()
    on_source = handlers(recorder.registry)["replicationsources"]
    meta = {"uid": "u-1", "namespace": "team", "name": "app", "generation": 1}
    await on_source(body={"metadata": meta}, event={"type": None}, name="app", namespace="team")
    assert len(recorder.queue) == 1
    recorder.start()
    await recorder.first_item()
    written = {"metadata": meta, "status": {"lastSyncTime": "2026-01-01T00:00:00Z"}}
    await on_source(body=written, event={"type": "MODIFIED"}, name="app", namespace="team")
    assert len(recorder.queue) == 0
    changed = {"metadata": {**meta, "generation": 2}}
    await on_source(body=changed, event={"type": "MODIFIED"}, name="app", namespace="team")
    assert len(recorder.queue) == 1
    assert recorder.handled == [(names.Role.SOURCE, "team/app")]
