"""The console's view of the fleet: one watch per kind, kept in memory, pushed to every page.

Pages never list the cluster per request or poll per row: the fleet is listed once and then
followed with a watch (``kube.watch``), and every change goes to the open pages' event streams
as it happens. A namespace the user may not list everywhere is watched on its own.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from pyvolsync.kube import client, watch

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]
ObjectKey = tuple[str, str, str]
"""(kind, namespace, name), kind as the API names it: ReplicationSource or ...Destination."""
KINDS = {
    client.Kind.REPLICATION_SOURCE: "ReplicationSource",
    client.Kind.REPLICATION_DESTINATION: "ReplicationDestination",
}
QUEUE_LIMIT = 1000
"""Changes a slow page may fall behind by before it is told to reload."""


@dataclasses.dataclass(frozen=True)
class Change:
    """One object as it is now (``obj``), or gone (``obj`` None); ``number`` counts the
    changes the fleet has seen, so a page can ask for those after the state it shows."""

    key: ObjectKey
    obj: JsonObject | None
    number: int = 0


RELOAD = Change(("", "", ""), None)
"""Sent to a page that fell too far behind: it reloads instead of missing changes."""


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    """Return the key of a ReplicationSource or ReplicationDestination."""
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace")), str(meta.get("name")))


class Fleet:
    """Every source and destination in ``namespace`` (None: all), as the watches last saw it."""

    def __init__(self, kube: client.Kube, *, namespace: str | None) -> None:
        self.kube = kube
        self.namespace = namespace
        self.objects: dict[ObjectKey, JsonObject] = {}
        self.listeners: set[asyncio.Queue[Change]] = set()
        self.watches = [
            watch.Watch(
                kube, kind, self._handle, namespace=namespace, on_listed=self._drop_unlisted
            )
            for kind in KINDS
        ]
        self._changed = asyncio.Condition()
        self.number = 0
        """The number of the latest change: what a page rendered now shows."""
        self._recent: collections.deque[Change] = collections.deque(maxlen=QUEUE_LIMIT)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the watches (in the running event loop)."""
        self._tasks = [
            asyncio.create_task(item.run(), name=f"console watch {item.kind.name}")
            for item in self.watches
        ]

    async def stop(self) -> None:
        """Stop the watches."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def ready(self) -> None:
        """Wait until both kinds were listed once."""
        await asyncio.gather(*(item.listed.wait() for item in self.watches))

    def get(self, key: ObjectKey) -> JsonObject | None:
        """Return the object as last seen, or None."""
        return self.objects.get(key)

    async def _handle(self, event_type: str | None, obj: JsonObject) -> None:
        key = key_of(obj)
        if event_type == "DELETED":
            self.objects.pop(key, None)
            self._publish(key, None)
        else:
            self.objects[key] = obj
            self._publish(key, obj)
        async with self._changed:
            self._changed.notify_all()

    def _drop_unlisted(self, listed_kind: client.Kind, items: list[JsonObject]) -> None:
        """Forget the objects of the listed kind that the listing no longer has."""
        kind = KINDS[listed_kind]
        listed = {key_of(item) for item in items}
        for key in [key for key in self.objects if key[0] == kind and key not in listed]:
            del self.objects[key]
            self._publish(key, None)

    def _publish(self, key: ObjectKey, obj: JsonObject | None) -> None:
        self.number += 1
        change = Change(key, obj, self.number)
        self._recent.append(change)
        for queue in list(self.listeners):
            _offer(queue, change)

    @contextlib.asynccontextmanager
    async def changes(self, *, since: int | None = None) -> AsyncIterator[asyncio.Queue[Change]]:
        """Yield a queue that receives every change while the context is open, starting with
        those after change number ``since`` (the state a page was rendered from); RELOAD first
        when they are no longer all kept."""
        queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        if since is not None and since < self.number:
            kept = [change for change in self._recent if change.number > since]
            if not kept or kept[0].number != since + 1:
                queue.put_nowait(RELOAD)
            else:
                for change in kept:
                    _offer(queue, change)
        self.listeners.add(queue)
        try:
            yield queue
        finally:
            self.listeners.discard(queue)

    async def wait_for(
        self, key: ObjectKey, done: Callable[[JsonObject | None], bool], *, timeout: float
    ) -> JsonObject | None:
        """Wait until ``done`` is true of the object (None once it is gone); return it.

        Raises TimeoutError after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: done(self.objects.get(key)))
        return self.objects.get(key)


def _offer(queue: asyncio.Queue[Change], change: Change) -> None:
    """Queue ``change``; a page too far behind gets RELOAD instead of the oldest change."""
    if queue.full():
        queue.get_nowait()
        queue.put_nowait(RELOAD)
        return
    queue.put_nowait(change)
