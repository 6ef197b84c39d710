"""The work queue: one reconcile per object at a time, bursts merged, requeues honoured."""

import asyncio
from collections.abc import Hashable

from pyvolsync.controller import workqueue


async def run_until(queue: workqueue.WorkQueue, done: asyncio.Event) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(queue.run(stop))
    await asyncio.wait_for(done.wait(), timeout=10)
    stop.set()
    await runner


async def test_a_burst_of_events_becomes_one_reconcile() -> None:
    calls: list[Hashable] = []
    done = asyncio.Event()

    async def handle(item: Hashable) -> float | None:
        calls.append(item)
        if item == "last":
            done.set()
        return None

    queue = workqueue.WorkQueue(handle, workers=2)
    for _ in range(50):
        queue.add("a")
    queue.add("last", delay=0.2)
    await run_until(queue, done)
    assert calls.count("a") == 1


async def test_an_item_is_never_handled_twice_at_once() -> None:
    running: set[Hashable] = set()
    overlaps = 0
    count = 0
    done = asyncio.Event()
    queue: workqueue.WorkQueue

    async def handle(item: Hashable) -> float | None:
        nonlocal overlaps, count
        overlaps += item in running
        running.add(item)
        queue.add(item)  # an event arriving while the item is being reconciled
        await asyncio.sleep(0.01)
        running.discard(item)
        count += 1
        if count >= 10:
            done.set()
            return None
        return None

    queue = workqueue.WorkQueue(handle, workers=4)
    queue.add("a")
    await run_until(queue, done)
    assert overlaps == 0
    assert count >= 10


async def test_a_requested_delay_is_honoured() -> None:
    times: list[float] = []
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def handle(item: Hashable) -> float | None:
        times.append(loop.time())
        if len(times) == 2:
            done.set()
            return None
        return 0.3

    queue = workqueue.WorkQueue(handle)
    queue.add("a")
    await run_until(queue, done)
    assert times[1] - times[0] >= 0.29


async def test_a_failing_handler_is_retried_with_backoff() -> None:
    attempts = 0
    done = asyncio.Event()

    async def handle(item: Hashable) -> float | None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("API server unavailable")
        done.set()
        return None

    queue = workqueue.WorkQueue(handle, error_delay=0.05)
    queue.add("a")
    await run_until(queue, done)
    assert attempts == 3
