"""What happened in a namespace, and when: watch events stamped by the benchmark's own clock.

Kubernetes timestamps (``creationTimestamp``, condition transitions) have one-second resolution,
too coarse to split a bootstrap of a few seconds into its steps. The recorder instead watches the
kinds a bootstrap touches (PVCs, PersistentVolumes, Jobs, Pods, VolumeSnapshots,
ReplicationDestinations) and stamps every event with ``time.time()`` as it arrives; the watches
run in one background thread with their own event loop, so recording costs the benchmark
nothing but a little CPU. ``first`` then answers "when did this first become true".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import lightkube
from lightkube import generic_resource
from lightkube.resources import batch_v1, core_v1

VolumeSnapshot = generic_resource.create_namespaced_resource(
    "snapshot.storage.k8s.io", "v1", "VolumeSnapshot", "volumesnapshots"
)
ReplicationDestination = generic_resource.create_namespaced_resource(
    "volsync.backube", "v1alpha1", "ReplicationDestination", "replicationdestinations"
)
ReplicationSource = generic_resource.create_namespaced_resource(
    "volsync.backube", "v1alpha1", "ReplicationSource", "replicationsources"
)
WATCHED: dict[str, Any] = {
    "PersistentVolumeClaim": core_v1.PersistentVolumeClaim,
    "PersistentVolume": core_v1.PersistentVolume,
    "Job": batch_v1.Job,
    "Pod": core_v1.Pod,
    "VolumeSnapshot": VolumeSnapshot,
    "ReplicationDestination": ReplicationDestination,
}
CLUSTER_SCOPED = frozenset({"PersistentVolume"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """One watch event: when it arrived (epoch seconds), its kind and type, and the object."""

    at: float
    kind: str
    type: str
    body: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))


Probe = Callable[[Event], bool]


def first(events: list[Event], kind: str, probe: Probe, *, after: float) -> Event | None:
    """Return the first event of ``kind`` at or after ``after`` for which ``probe`` holds."""
    for event in events:
        if event.kind == kind and event.at >= after and probe(event):
            return event
    return None


class Recorder:
    """Watches one namespace (and the cluster's PersistentVolumes) until ``stop``."""

    def __init__(self, connect: Callable[[], lightkube.AsyncClient], namespace: str) -> None:
        self._connect = connect
        self._namespace = namespace
        self._events: list[Event] = []
        self.errors: list[str] = []
        """Why a watch was lost and restarted (its events in between arrive late)."""
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timeline", daemon=True)
        self._stop: asyncio.Event | None = None

    @property
    def events(self) -> list[Event]:
        """A copy of the events so far, in arrival order."""
        with self._lock:
            return list(self._events)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=30)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._watch_all())
        finally:
            self._loop.close()

    async def _watch_all(self) -> None:
        self._stop = asyncio.Event()
        client = self._connect()
        tasks = [asyncio.create_task(self._watch(client, kind)) for kind in WATCHED]
        self._ready.set()
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()

    async def _watch(self, client: lightkube.AsyncClient, kind: str) -> None:
        namespace = None if kind in CLUSTER_SCOPED else self._namespace
        while True:
            try:
                async for change, item in client.watch(WATCHED[kind], namespace=namespace):
                    self._record(kind, change, item)
            except Exception as error:  # a lost watch is reported, then resumed
                with self._lock:
                    self.errors.append(f"{kind}: {type(error).__name__}: {error}")
            await asyncio.sleep(0.2)

    def _record(self, kind: str, change: str, item: Any) -> None:
        body = item.to_dict() if hasattr(item, "to_dict") else dict(item)
        with self._lock:
            self._events.append(Event(at=time.time(), kind=kind, type=change, body=body))


@contextlib.contextmanager
def recording(connect: Callable[[], lightkube.AsyncClient], namespace: str) -> Iterator[Recorder]:
    """Record the namespace's events for the duration of the block."""
    recorder = Recorder(connect, namespace)
    recorder.start()
    try:
        yield recorder
    finally:
        recorder.stop()
