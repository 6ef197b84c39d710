"""Independent steps of a Job's planning run at once, yet fail as if run in order."""

from __future__ import annotations

import asyncio

import pytest

from pyvolsync.movers import iteration as mover


async def step(value: str, *, delay: float, fail: bool = False) -> str:
    await asyncio.sleep(delay)
    if fail:
        raise ValueError(value)
    return value


async def test_results_come_in_the_order_given() -> None:
    results = await mover._together(step("a", delay=0.02), step("b", delay=0.0))
    assert results == ["a", "b"]


async def test_the_first_failure_in_order_wins_not_the_first_to_happen() -> None:
    with pytest.raises(ValueError, match="slow"):
        await mover._together(
            step("slow", delay=0.02, fail=True), step("fast", delay=0.0, fail=True)
        )
