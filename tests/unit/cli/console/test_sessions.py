"""The console's sessions end (fast, no browser): a login lasts SESSION_SECONDS, and a page's
live stream ends, saying so, once its session is gone (expired, or the token revoked), instead
of following the fleet for someone who may no longer look.

The browser tests (tests/integration/console) log in for real with a launch token and with a
ServiceAccount token checked by the real API server.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette import requests

from pyvolsync.cli import snapshots
from pyvolsync.cli.console import access, acting, app, browsing, inplacing, live
from pyvolsync.kube import fake


def request_with(cookie: str) -> requests.Request:
    header = f"{access.COOKIE}={cookie}".encode()
    return requests.Request({"type": "http", "headers": [(b"cookie", header)]})


class Clock:
    """time.monotonic, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_launch_token_session_ends_after_its_lifetime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(access.time, "monotonic", clock)
    doorkeeper = access.LaunchToken(fake.FakeKube(), "alice", launch_token="secret")
    session_id = await doorkeeper.login("secret")

    clock.now += access.SESSION_SECONDS - 1
    assert (await doorkeeper.visitor(request_with(session_id))) is not None
    clock.now += 2
    assert await doorkeeper.visitor(request_with(session_id)) is None
    assert await doorkeeper.visitor(request_with(session_id)) is None, "and stays ended"


class Revocable(access.LaunchToken):
    """A doorkeeper whose sessions a test ends (as a revoked token would end them)."""

    ended = False

    async def visitor(self, request: requests.Request) -> access.Visitor | None:
        return None if self.ended else await super().visitor(request)


async def test_a_live_stream_ends_once_its_session_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(access, "REVIEW_SECONDS", 0.05)
    kube = fake.FakeKube()
    fleet = live.Fleet(kube, namespace=None)
    doorkeeper = Revocable(kube, "alice", launch_token="secret")
    options = snapshots.JobOptions()
    console = app.Console(
        kube, fleet, doorkeeper, acting.Acting(kube, fleet), browsing.Browser(kube, options),
        inplacing.Runs(kube, options),
    )  # fmt: skip
    request = request_with(await doorkeeper.login("secret"))
    visitor = await doorkeeper.visitor(request)
    assert visitor is not None
    stream = app.Pages(console)._changes(request, visitor, None, None)

    said: list[dict[str, Any]] = [await anext(stream)]
    doorkeeper.ended = True
    said += [item async for item in stream]

    assert [item["event"] for item in said] == ["ready", "ended"]
    assert said[1]["data"] == doorkeeper.login_hint
