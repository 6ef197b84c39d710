"""Leader election judges a Lease by when this replica saw it change, not by the holder's clock.

Two replicas share the in-memory cluster; each has its own monotonic clock that the test moves.
A holder whose renewTime lies far in the past (its wall clock is behind) keeps the Lease while it
renews; a holder that stops renewing loses it after one lease duration of this replica's time.
The real handover is tested on the local control plane (tests/integration/test_leader_election).
"""

from __future__ import annotations

import asyncio

from pyvolsync.cli import snapshots
from pyvolsync.controller import leader, operator
from pyvolsync.kube import client, fake
from pyvolsync.movers import jobs

DURATION = 15


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replica(kube: fake.FakeKube, name: str, clock: Clock) -> leader.LeaderElection:
    settings = leader.LeaseSettings(identity=name, duration_seconds=DURATION)
    return leader.LeaderElection(kube, settings, monotonic=clock)


def take(election: leader.LeaderElection) -> bool:
    return asyncio.run(election._try_take())


def holder(kube: fake.FakeKube) -> str:
    lease = kube.stored(client.Kind.LEASE, "pyvolsync-operator", "default")
    assert lease is not None
    return str(lease["spec"]["holderIdentity"])


Replicas = tuple[fake.FakeKube, Clock, leader.LeaderElection, leader.LeaderElection]


def held_by_a(renew_time: str) -> Replicas:
    """Replica a holds the Lease, whose renewTime then reads ``renew_time``; b is waiting."""
    kube = fake.FakeKube()
    clock = Clock()
    first, second = replica(kube, "a", clock), replica(kube, "b", clock)
    assert take(first)
    lease = kube.stored(client.Kind.LEASE, "pyvolsync-operator", "default")
    assert lease is not None
    lease["spec"]["renewTime"] = renew_time
    return kube, clock, first, second


def test_a_renewing_holder_keeps_the_lease_whatever_its_renew_time_says() -> None:
    # a holder whose clock is years behind
    kube, clock, first, second = held_by_a("2001-01-01T00:00:00.000000Z")

    for _ in range(10):
        assert not take(second)
        clock.now += DURATION / 3
        assert take(first)  # renews: the record changes

    assert holder(kube) == "a"


def test_a_silent_holder_loses_the_lease_after_one_duration_of_the_observer_s_time() -> None:
    # a holder whose clock runs ahead
    kube, clock, _, second = held_by_a("2999-01-01T00:00:00.000000Z")

    assert not take(second)  # first sight of this record starts the observer's timer
    clock.now += DURATION - 1
    assert not take(second)
    clock.now += 1
    assert take(second)
    assert holder(kube) == "b"
    assert (
        kube.stored(client.Kind.LEASE, "pyvolsync-operator", "default")["spec"]["leaseTransitions"]
        == 1
    )


def test_the_holder_publishes_the_mover_image_and_repository_volume_for_the_cli() -> None:
    kube = fake.FakeKube()
    published = operator.published_settings(
        jobs.JobSettings(
            image="mover:2", repository_volume={"nfs": {"server": "nas", "path": "/b"}}
        )
    )
    settings = leader.LeaseSettings(identity="a", annotations=published)
    assert take(leader.LeaderElection(kube, settings, monotonic=Clock()))

    found = asyncio.run(snapshots.operator_settings(kube))

    assert found == {
        "PYVOLSYNC_MOVER_IMAGE": "mover:2",
        "PYVOLSYNC_REPOSITORY_VOLUME": '{"nfs": {"path": "/b", "server": "nas"}}',
    }
