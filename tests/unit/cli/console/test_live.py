"""The console's live fleet and its actions, against the in-memory cluster (fast, no browser).

The browser tests (tests/integration/console) show the same on the real cluster; these pin the
details: every change reaches an open page, a deleted object leaves it, a sync requested on a
scheduled source gives the schedule back once the sync answered, and every action is recorded
as an Event naming the user.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyvolsync.cli.console import acting, live
from pyvolsync.kube import client, fake

KEY = ("ReplicationSource", "team-a", "app")


def source(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "app", "namespace": "team-a"},
        "spec": {"sourcePVC": "data", "restic": {"repository": "restic-config"}, **spec},
    }


async def started(kube: fake.FakeKube) -> live.Fleet:
    fleet = live.Fleet(kube, namespace="team-a")
    fleet.start()
    await asyncio.wait_for(fleet.ready(), 5)
    return fleet


async def test_an_open_page_receives_each_change_and_the_deletion() -> None:
    kube = fake.FakeKube()
    kube.put(source(trigger={"manual": "first"}))
    fleet = await started(kube)
    try:
        async with fleet.changes() as queue:
            await kube.patch(client.Kind.REPLICATION_SOURCE, "app", {"spec": {"paused": True}},
                             namespace="team-a")  # fmt: skip
            changed = await asyncio.wait_for(queue.get(), 5)
            assert changed.key == KEY and changed.obj is not None
            assert changed.obj["spec"]["paused"] is True
            await kube.delete(client.Kind.REPLICATION_SOURCE, "app", namespace="team-a")
            gone = await asyncio.wait_for(queue.get(), 5)
            assert (gone.key, gone.obj) == (KEY, None)
        assert fleet.get(KEY) is None
    finally:
        await fleet.stop()


async def test_a_page_that_falls_far_behind_is_told_to_reload() -> None:
    kube = fake.FakeKube()
    fleet = live.Fleet(kube, namespace=None)
    async with fleet.changes() as queue:
        for number in range(live.QUEUE_LIMIT + 5):
            fleet._publish(("ReplicationSource", "ns", str(number)), None)
        received = [queue.get_nowait() for _ in range(queue.qsize())]
    assert live.RELOAD in received


async def test_sync_now_on_a_scheduled_source_gives_the_schedule_back_after_the_sync() -> None:
    kube = fake.FakeKube()
    kube.put(source(trigger={"schedule": "0 * * * *"}))
    fleet = await started(kube)
    doing = acting.Acting(kube, fleet)
    try:
        said = await doing.act(fleet.get(KEY) or {}, acting.Action.SYNC, user="alice")
        assert said == "ReplicationSource team-a/app: sync requested"
        stored = kube.stored(client.Kind.REPLICATION_SOURCE, "app", "team-a") or {}
        value = stored["spec"]["trigger"]["manual"]
        assert stored["spec"]["trigger"]["schedule"] == "0 * * * *"

        answered = {"status": {"lastManualSync": value}}
        await kube.patch(
            client.Kind.REPLICATION_SOURCE, "app", answered, namespace="team-a", status=True
        )

        # The console's own watch sees the patch that clears trigger.manual.
        def given_back(found: dict[str, Any] | None) -> bool:
            answered_here = ((found or {}).get("status") or {}).get("lastManualSync") == value
            return answered_here and "manual" not in (found or {})["spec"]["trigger"]

        cleared = await fleet.wait_for(KEY, given_back, timeout=5)
        assert cleared is not None and cleared["spec"]["trigger"] == {"schedule": "0 * * * *"}
        stored = kube.stored(client.Kind.REPLICATION_SOURCE, "app", "team-a") or {}
        assert stored["spec"]["trigger"] == {"schedule": "0 * * * *"}
        [event] = kube.events
        assert event["reason"] == "SyncRequested"
        assert event["note"] == "sync requested by alice from the pyvolsync console"
    finally:
        await doing.stop()
        await fleet.stop()


async def test_unlock_is_refused_for_a_kopia_source() -> None:
    kube = fake.FakeKube()
    obj = {**source(), "spec": {"sourcePVC": "data", "kopia": {"repository": "kopia-config"}}}
    fleet = live.Fleet(kube, namespace=None)
    with pytest.raises(acting.RefusedError, match="kopia repository needs none"):
        await acting.Acting(kube, fleet).act(obj, acting.Action.UNLOCK, user="alice")


async def test_a_page_gets_the_changes_after_the_state_it_was_rendered_from() -> None:
    kube = fake.FakeKube()
    fleet = live.Fleet(kube, namespace=None)
    for number in range(3):
        fleet._publish(("ReplicationSource", "ns", str(number)), None)
    rendered_at = 1
    async with fleet.changes(since=rendered_at) as queue:
        replayed = [queue.get_nowait().number for _ in range(queue.qsize())]
    assert replayed == [2, 3]

    for number in range(live.QUEUE_LIMIT):
        fleet._publish(("ReplicationSource", "ns", str(number)), None)
    async with fleet.changes(since=rendered_at) as queue:
        assert queue.get_nowait() is live.RELOAD, "the changes since were not all kept"
