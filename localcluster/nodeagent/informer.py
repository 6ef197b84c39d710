"""List-and-watch caches and wake-up loops: the agent's controller plumbing.

Each informer keeps a local copy of one resource type and wakes the controllers that read it.
Controllers are level-triggered: every pass looks at the whole cache and does what is missing,
so a lost event or an agent restart only delays work until the next pass (at least every few
seconds), never loses it. Watches reconnect with bounded backoff and relist on "410 Gone".
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextlib
import logging
from typing import Any, Generic, TypeVar

import httpx2
import lightkube
import tenacity
from lightkube.core import resource as lightkube_resource

LOG = logging.getLogger(__name__)
Item = TypeVar("Item", bound=Any)
Key = tuple[str, str]
RELIST_SECONDS = 300.0
MAX_BACKOFF_SECONDS = 10.0
WATCH_FAILURES = (lightkube.ApiError, httpx2.HTTPError, OSError)


def object_key(item: Any) -> Key:
    return (item.metadata.namespace or "", item.metadata.name)


class Informer(Generic[Item]):
    """A cache of every object of one resource type, kept current by a watch."""

    def __init__(
        self,
        client: lightkube.AsyncClient,
        resource: type[Item],
        *,
        on_change: collections.abc.Callable[[], None],
    ) -> None:
        self.client = client
        self.resource = resource
        self.items: dict[Key, Item] = {}
        self.synced = asyncio.Event()
        self._on_change = on_change
        self._namespaced = issubclass(resource, lightkube_resource.NamespacedResource)

    def get(self, name: str, namespace: str = "") -> Item | None:
        return self.items.get((namespace, name))

    def values(self) -> list[Item]:
        return list(self.items.values())

    async def run(self) -> None:
        """List and watch for ever; a failure is retried with backoff, which a watch that
        ended normally resets."""
        while True:
            retrying = tenacity.AsyncRetrying(
                wait=tenacity.wait_exponential(multiplier=0.5, max=MAX_BACKOFF_SECONDS),
                retry=tenacity.retry_if_exception_type(WATCH_FAILURES),
                before_sleep=self._say_retrying,
            )
            async for attempt in retrying:
                with attempt:
                    await self._list_and_watch()

    def _say_retrying(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        LOG.warning("watch %s failed (%s); retrying", self.resource.__name__, error)

    async def _list_and_watch(self) -> None:
        scope: dict[str, Any] = {"namespace": lightkube.ALL_NS} if self._namespaced else {}
        listing = self.client.list(self.resource, **scope)
        items = {object_key(item): item async for item in listing}
        try:
            version: str | None = listing.resourceVersion
        except lightkube.NotReadyError:
            version = None
        self.items = items
        self.synced.set()
        self._on_change()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RELIST_SECONDS):
                watch = self.client.watch(self.resource, resource_version=version, **scope)
                async for event, item in watch:
                    if event == "DELETED":
                        self.items.pop(object_key(item), None)
                    else:
                        self.items[object_key(item)] = item
                    self._on_change()


class Loop:
    """Runs ``body`` whenever woken, and at least every ``period`` seconds."""

    def __init__(
        self,
        name: str,
        body: collections.abc.Callable[[], collections.abc.Awaitable[None]],
        *,
        period: float = 5.0,
    ) -> None:
        self.name = name
        self._body = body
        self._period = period
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), self._period)
            self._event.clear()
            try:
                await self._body()
            except (lightkube.ApiError, httpx2.HTTPError, OSError) as error:
                LOG.warning("%s pass failed: %s", self.name, error)
            except Exception:
                LOG.exception("%s pass crashed", self.name)
            await asyncio.sleep(0.02)


class TaskSet:
    """Background work keyed by object, at most one task per key."""

    def __init__(self, name: str, *, on_done: collections.abc.Callable[[], None]) -> None:
        self.name = name
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._on_done = on_done

    def __contains__(self, key: str) -> bool:
        return key in self._tasks

    def start(
        self, key: str, work: collections.abc.Callable[[], collections.abc.Awaitable[None]]
    ) -> None:
        if key in self._tasks:
            return

        async def wrapper() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except (lightkube.ApiError, httpx2.HTTPError, OSError) as error:
                LOG.warning("%s %s failed: %s", self.name, key, error)
            except Exception:
                LOG.exception("%s %s crashed", self.name, key)
            finally:
                self._tasks.pop(key, None)
                self._on_done()

        self._tasks[key] = asyncio.create_task(wrapper(), name=f"{self.name}:{key}")

    async def cancel_all(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
