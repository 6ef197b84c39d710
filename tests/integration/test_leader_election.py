"""Two operator replicas: only the one holding the Lease acts, the other takes over on release."""

from __future__ import annotations

import asyncio

from localcluster import controlplane

from pyvolsync.controller import leader
from pyvolsync.kube import client as kube_client


async def test_one_leader_at_a_time_and_handover(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    first_api = kube_client.connect(str(cluster.kubeconfig))
    second_api = kube_client.connect(str(cluster.kubeconfig))
    settings = {"namespace": namespace, "duration_seconds": 4, "renew_every_seconds": 0.5}
    first = leader.LeaderElection(
        kube_client.Kube(first_api), leader.LeaseSettings(identity="replica-a", **settings)
    )
    second = leader.LeaderElection(
        kube_client.Kube(second_api), leader.LeaseSettings(identity="replica-b", **settings)
    )
    try:
        never = asyncio.Event()
        assert await asyncio.wait_for(first.acquire(never), timeout=10)
        stop_first = asyncio.Event()
        keeping = asyncio.create_task(first.keep(stop_first))
        # While the first replica renews, the second cannot take over, even after a lease term.
        stop_waiting = asyncio.Event()
        waiting = asyncio.create_task(second.acquire(stop_waiting))
        await asyncio.sleep(6)
        assert not waiting.done()
        # A graceful shutdown hands the Lease over at once.
        stop_first.set()
        await keeping
        await first.release()
        assert await asyncio.wait_for(waiting, timeout=10)
        lease = cluster.kubectl(
            "get", "lease", "pyvolsync-operator", "-n", namespace,
            "-o", "jsonpath={.spec.holderIdentity} {.spec.leaseTransitions}",
        ).stdout  # fmt: skip
        assert lease == "replica-b 1"
    finally:
        await first_api.close()
        await second_api.close()


async def test_a_crashed_leader_is_replaced_after_its_lease_expires(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    api = kube_client.connect(str(cluster.kubeconfig))
    settings = {"namespace": namespace, "duration_seconds": 3, "renew_every_seconds": 0.5}
    crashed = leader.LeaderElection(
        kube_client.Kube(api), leader.LeaseSettings(identity="crashed", **settings)
    )
    successor = leader.LeaderElection(
        kube_client.Kube(api), leader.LeaseSettings(identity="successor", **settings)
    )
    try:
        never = asyncio.Event()
        assert await crashed.acquire(never)
        # The crashed replica never renews; the successor waits out the lease and takes it.
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await asyncio.wait_for(successor.acquire(never), timeout=15)
        assert loop.time() - started >= 2
    finally:
        await api.close()
