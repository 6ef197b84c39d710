"""Watches through the operator's one API client: list, then watch from there, for ever.

Each ``Watch`` hands every object of one kind to a handler: first the whole listing (event type
None), then each change as the API server reports it. A watch the server closes is reopened
where it ended (lightkube does that); one it cannot continue ("410 Gone"), a failed request or
a kind whose API is not installed yet (a CRD applied after the operator started) is listed
again after a backoff. Nothing is cached: the handlers only queue keys, and the reconcilers
read what they need. ``listed`` is set once the first listing went through, which is what the
operator's readiness means.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import tenacity

from pyvolsync.kube import client, errors

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]
Handler = Callable[[str | None, JsonObject], Awaitable[None]]
MAX_BACKOFF_SECONDS = 30.0


@dataclasses.dataclass
class Watch:
    """One kind (optionally only objects with ``labels``), handed to ``handler``."""

    kube: client.Kube
    kind: client.Kind
    handler: Handler
    labels: Mapping[str, str] | None = None
    namespace: str | None = None
    """Only this namespace (None: all)."""
    on_listed: Callable[[client.Kind, list[JsonObject]], None] | None = None
    """Called with each whole listing (the first and every one after a watch broke), so a
    holder of the objects can drop those deleted while no watch ran."""
    required: bool = True
    """Whether the operator is ready only once this kind was listed."""
    listed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    async def run(self) -> None:
        """List and watch until cancelled; failures are retried with a growing backoff, which
        a listing that went through resets."""
        while True:
            retrying = tenacity.AsyncRetrying(
                wait=tenacity.wait_exponential(multiplier=0.5, max=MAX_BACKOFF_SECONDS),
                retry=tenacity.retry_if_exception_type(errors.KubeError),
                before_sleep=self._say_retrying,
            )
            async for attempt in retrying:
                with attempt:
                    await self._list_and_watch()

    async def _list_and_watch(self) -> None:
        items, version = await self.kube.list_at(
            self.kind, labels=self.labels, namespace=self.namespace
        )
        for item in items:
            await self._hand(None, item)
        if self.on_listed is not None:
            self.on_listed(self.kind, items)
        self.listed.set()
        async for event_type, item in self.kube.watch(
            self.kind, resource_version=version, labels=self.labels, namespace=self.namespace
        ):
            if event_type in ("ADDED", "MODIFIED", "DELETED"):
                await self._hand(event_type, item)

    async def _hand(self, event_type: str | None, item: JsonObject) -> None:
        """Give one object to the handler; a handler's failure never ends the watch."""
        try:
            await self.handler(event_type, item)
        except Exception:
            meta = item.get("metadata") or {}
            logger.exception(
                "handling %s %s/%s failed", self.kind.name, meta.get("namespace"), meta.get("name")
            )

    def _say_retrying(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        level = logging.INFO if isinstance(error, errors.NotFoundError) else logging.WARNING
        logger.log(level, "watch of %s failed (%s); trying again", self.kind.name, error)


async def run_all(watches: list[Watch], stop: asyncio.Event, *, ready: Callable[[], None]) -> None:
    """Run every watch until ``stop``; call ``ready`` once each required one has listed."""
    tasks = [asyncio.create_task(watch.run(), name=f"watch {watch.kind.name}") for watch in watches]
    required = [watch.listed.wait() for watch in watches if watch.required]
    listing: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*required))
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    await asyncio.wait({listing, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if listing.done():
        ready()
    else:
        listing.cancel()
    await stopping
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
