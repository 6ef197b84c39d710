"""Stampede control: the cluster-wide mover limit and the jitter window, with many sources.

These tests run an operator started with ``--max-movers 2 --jitter 10m --first-sync schedule``
instead of the usual one (each module has its own operator; two at once would both act).

With eight sources triggered at once, never more than two mover Jobs exist, the others report
``WaitingForMoverSlot`` and all of them finish; manual triggers are not delayed by the 10-minute
jitter; sources stopped by a configuration error do not keep slots from the others. Hourly
sources created together each wait for their first scheduled time, shifted by their own stable
offset inside the window, which ``nextSyncTime`` shows.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest
from localcluster import controlplane
from localcluster.testing import apply
from tests.support import operator as support

from pyvolsync.controller import schedule
from reconcile import helpers

SOURCE = "replicationsource"
MAX_MOVERS = 2
JITTER = datetime.timedelta(minutes=10)
SOURCES = [f"app-{index}" for index in range(8)]


@pytest.fixture(scope="module")
def stampede_operator(
    cluster: controlplane.ControlPlane, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[support.Operator]:
    """An operator with a mover limit and a jitter window (instead of the usual one)."""
    with support.running(
        cluster,
        tmp_path_factory.mktemp("stampede-operator"),
        "--max-movers", str(MAX_MOVERS), "--jitter", "10m", "--first-sync", "schedule",
    ) as configured:  # fmt: skip
        yield configured


def test_the_mover_limit_holds_and_every_source_gets_its_turn(
    cluster: controlplane.ControlPlane, namespace: str, stampede_operator: support.Operator
) -> None:
    apply(
        cluster,
        helpers.claim("data"),
        *(helpers.repository_secret(name, path=f"{namespace}/{name}") for name in SOURCES),
        namespace=namespace,
    )
    helpers.run_shell(cluster, namespace, "write", claim_name="data", script="echo x > /data/x")
    apply(
        cluster,
        *(
            helpers.replication_source(
                name, repository=name, copy_method="Direct", trigger={"manual": "now"}
            )
            for name in SOURCES
        ),
        namespace=namespace,
    )

    most_jobs, waited, done = 0, set(), set()
    deadline = time.monotonic() + 240
    while done != set(SOURCES):
        assert time.monotonic() < deadline, f"only {sorted(done)} finished"
        most_jobs = max(most_jobs, len(helpers.mover_jobs(cluster, namespace)))
        for item in helpers.list_items(cluster, SOURCE, namespace):
            name, current = item["metadata"]["name"], item.get("status") or {}
            reasons = {found["reason"] for found in current.get("conditions") or []}
            if "WaitingForMoverSlot" in reasons:
                waited.add(name)
            if current.get("lastManualSync") == "now":
                assert current["latestMoverStatus"]["result"] == "Successful", (name, current)
                done.add(name)
        time.sleep(0.2)

    assert most_jobs == MAX_MOVERS
    assert len(waited) >= len(SOURCES) - MAX_MOVERS, waited


def first_slot(created: datetime.datetime, offset: datetime.timedelta) -> datetime.datetime:
    """Return the first hourly time shifted by `offset` that comes after `created`."""
    slot = created.replace(minute=0, second=0, microsecond=0) + offset
    return slot if slot > created else slot + datetime.timedelta(hours=1)


def names_with_distant_slots(namespace: str, *, count: int) -> list[str]:
    """Pick source names whose first slot is minutes away (none may come due during the test)."""
    now = datetime.datetime.now(datetime.UTC)
    margin = datetime.timedelta(minutes=3)
    names = []
    for index in range(100):
        name = f"app-{index}"
        slot = first_slot(now, schedule.jitter_offset(f"{namespace}/{name}", JITTER))
        if slot - now > margin:
            names.append(name)
        if len(names) == count:
            return names
    raise AssertionError("no five of a hundred names have a distant slot")


def test_hourly_sources_wait_for_their_own_jittered_slot(
    cluster: controlplane.ControlPlane, namespace: str, stampede_operator: support.Operator
) -> None:
    names = names_with_distant_slots(namespace, count=5)
    apply(
        cluster,
        helpers.claim("data"),
        helpers.repository_secret("repo", path=f"{namespace}/app"),
        *(helpers.replication_source(name, trigger={"schedule": "0 * * * *"}) for name in names),
        namespace=namespace,
    )
    next_times = {}
    for name in names:
        condition = helpers.wait_for_reason(cluster, SOURCE, name, namespace, "WaitingForSchedule")
        assert condition["status"] == "False"
        found = helpers.status(cluster, SOURCE, name, namespace)
        assert "lastSyncTime" not in found
        next_times[name] = helpers.parse_time(found["nextSyncTime"])
    for item in helpers.list_items(cluster, SOURCE, namespace):
        name = item["metadata"]["name"]
        created = helpers.parse_time(item["metadata"]["creationTimestamp"])
        offset = schedule.jitter_offset(f"{namespace}/{name}", JITTER)
        assert next_times[name] == first_slot(created, offset)
        assert next_times[name] - next_times[name].replace(minute=0, second=0) < JITTER
        assert created < next_times[name] <= created + datetime.timedelta(hours=1)
    assert len(set(next_times.values())) > 1
    assert helpers.mover_jobs(cluster, namespace) == []


def test_sources_that_cannot_start_a_mover_do_not_hold_a_slot(
    cluster: controlplane.ControlPlane, namespace: str, stampede_operator: support.Operator
) -> None:
    no_password = helpers.repository_secret("no-password", path=f"{namespace}/broken")
    del no_password["stringData"]["RESTIC_PASSWORD"]
    helpers.prepare_app(cluster, namespace)
    apply(
        cluster,
        no_password,
        helpers.replication_source("no-password", repository="no-password"),
        helpers.replication_source("no-volume", claim_name="not-created-yet"),
        namespace=namespace,
    )
    for name, missing in (("no-password", "RESTIC_PASSWORD"), ("no-volume", "not-created-yet")):
        condition = helpers.wait_for_reason(cluster, SOURCE, name, namespace, "Error")
        assert missing in condition["message"]

    apply(
        cluster,
        helpers.replication_source("app", copy_method="Direct", trigger={"manual": "now"}),
        namespace=namespace,
    )
    found = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "now", timeout=60)
    assert found["latestMoverStatus"]["result"] == "Successful"
