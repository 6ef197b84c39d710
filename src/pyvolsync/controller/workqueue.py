"""A work queue of object keys with delays, deduplication and one worker per key at a time.

Watch events and timers only say "look at this object (soon)"; the queue makes sure each object
is reconciled by one worker at a time, that a burst of events becomes one reconcile, and that a
reconcile which asks to look again in N seconds gets exactly that, unless an event comes first.
This is controller-runtime's work queue; the watches (``kube.watch``) only feed it keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable

logger = logging.getLogger(__name__)

Handler = Callable[[Hashable], Awaitable[float | None]]


class WorkQueue:
    """Items due at a time; ``run`` feeds them to ``workers`` concurrent handler calls."""

    def __init__(
        self,
        handler: Handler,
        *,
        workers: int = 4,
        error_delay: float = 5.0,
        error_delay_limit: float = 300.0,
    ) -> None:
        self.handler = handler
        self.workers = workers
        self.error_delay = error_delay
        self.error_delay_limit = error_delay_limit
        self._heap: list[tuple[float, int, Hashable]] = []
        self._due: dict[Hashable, float] = {}
        self._busy: set[Hashable] = set()
        self._again: dict[Hashable, float] = {}
        self._errors: dict[Hashable, int] = {}
        self._counter = itertools.count()
        self._changed = asyncio.Event()

    def add(self, item: Hashable, *, delay: float = 0.0) -> None:
        """Reconcile ``item`` in ``delay`` seconds, or sooner if it is already due sooner."""
        due = time.monotonic() + max(delay, 0.0)
        if item in self._busy:
            self._again[item] = min(due, self._again.get(item, due))
            return
        if item in self._due and self._due[item] <= due:
            return
        self._due[item] = due
        heapq.heappush(self._heap, (due, next(self._counter), item))
        self._changed.set()

    def __len__(self) -> int:
        return len(self._due)

    @property
    def idle(self) -> bool:
        """Nothing queued and no handler running."""
        return not self._due and not self._busy

    async def run(self, stop: asyncio.Event) -> None:
        """Process items until ``stop`` is set; running handlers are allowed to finish."""
        tasks = [asyncio.create_task(self._worker(stop)) for _ in range(self.workers)]
        await stop.wait()
        self._changed.set()
        await asyncio.gather(*tasks)

    async def _worker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            item = await self._next(stop)
            if item is None:
                continue
            await self._process(item)

    async def _next(self, stop: asyncio.Event) -> Hashable | None:
        while not stop.is_set():
            item, wait = self._pop_due()
            if item is not None:
                return item
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=wait)
        return None

    def _pop_due(self) -> tuple[Hashable | None, float]:
        """Return a due item, or None and how long until the next one is due (max 1 s)."""
        now = time.monotonic()
        while self._heap:
            due, _, item = self._heap[0]
            if self._due.get(item) != due:
                heapq.heappop(self._heap)
                continue
            if due > now:
                return None, min(due - now, 1.0)
            heapq.heappop(self._heap)
            del self._due[item]
            return item, 0.0
        return None, 1.0

    async def _process(self, item: Hashable) -> None:
        self._busy.add(item)
        delay: float | None = None
        try:
            delay = await self.handler(item)
            self._errors.pop(item, None)
        except Exception:
            failures = self._errors.get(item, 0) + 1
            self._errors[item] = failures
            delay = min(self.error_delay * 2 ** (failures - 1), self.error_delay_limit)
            logger.exception(
                "reconciling %s failed (attempt %d); retrying in %.0fs", item, failures, delay
            )
        finally:
            self._busy.discard(item)
        again = self._again.pop(item, None)
        if again is not None:
            self.add(item, delay=again - time.monotonic())
        if delay is not None:
            self.add(item, delay=delay)
