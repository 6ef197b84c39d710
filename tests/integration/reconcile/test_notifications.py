"""Notifications through the real operator during a simulated outage of many sources.

Five sources back up to one repository with the wrong password (the outage), fail, fail again
at each retry and at their next sync, then get the right password and recover. A real HTTP
receiver on this machine, named by a `json://` target in the operator's notification Secret,
must get exactly two messages: one digest naming the five failing sources (not five messages,
and nothing for the repeated failures), then the five recovered (in one digest when they
recover within the quiet time).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, wait_until
from tests.support.receiver import Receiver, receiving

from reconcile import helpers

SOURCE = "replicationsource"
NAMES = [f"app-{index}" for index in range(5)]
NOTIFY_NAMESPACE = "kube-system"
NOTIFY_SECRET = "pyvolsync-notify-test"
QUIET_SECONDS = 20


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


@pytest.fixture(scope="module")
def operator_arguments(receiver: Receiver) -> tuple[str, ...]:
    return (
        "--notify-secret", f"{NOTIFY_NAMESPACE}/{NOTIFY_SECRET}",
        "--notify-quiet", f"{QUIET_SECONDS}s",
    )  # fmt: skip


def _secret(receiver: Receiver) -> dict[str, Any]:
    port = receiver.server_address[1]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": NOTIFY_SECRET},
        "stringData": {"receiver": f"json://127.0.0.1:{port}/pyvolsync"},
    }


def _round(plane: controlplane.ControlPlane, namespace: str, value: str) -> None:
    for name in NAMES:
        helpers.set_manual_trigger(plane, SOURCE, name, namespace, value)
    for name in NAMES:
        helpers.wait_for_manual_sync(plane, SOURCE, name, namespace, value, timeout=240)


def _explained(plane: controlplane.ControlPlane, namespace: str, receiver: Receiver) -> str:
    lines = [json.dumps(receiver.documents)]
    for name in NAMES:
        found = helpers.status(plane, SOURCE, name, namespace)
        lines.append(f"{name}: {found.get('consecutiveFailures')} {found.get('lastSyncResult')}")
        lines += [f"  {event}" for event in helpers.event_reasons(plane, namespace, name)]
    return "\n".join(lines)


def _recovered(documents: list[dict[str, Any]]) -> list[str]:
    """Return ``namespace/name`` of each source the ``documents`` say recovered."""
    found = []
    for document in documents:
        lines = _items(document) or [f"- {document['title'].removeprefix('pyvolsync: ')}"]
        found += [line.split()[2].rstrip(":") for line in lines if "recovered" in document["title"]]
    return found


def _items(document: dict[str, Any]) -> list[str]:
    return sorted(line for line in document["message"].splitlines() if line.startswith("- "))


def test_an_outage_of_many_sources_sends_one_digest_and_one_when_they_recover(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    receiver: Receiver,
) -> None:
    apply(cluster, _secret(receiver), namespace=NOTIFY_NAMESPACE)
    path = f"{namespace}/shared"
    apply(
        cluster,
        helpers.claim("data"),
        helpers.repository_secret("good", path=path),
        *(helpers.repository_secret(name, path=path, password="wrong") for name in NAMES),
        namespace=namespace,
    )
    helpers.run_shell(cluster, namespace, "write", claim_name="data", script="echo x > /data/x")
    apply(cluster, helpers.replication_source("seed", repository="good", copy_method="Direct"),
          namespace=namespace)  # fmt: skip
    helpers.wait_for_manual_sync(cluster, SOURCE, "seed", namespace, "first")
    sources = [
        helpers.replication_source(
            name, repository=name, copy_method="Direct", trigger={"manual": "down-1"}
        )
        for name in NAMES
    ]
    apply(cluster, *sources, namespace=namespace)
    for name in NAMES:
        helpers.wait_for_manual_sync(cluster, SOURCE, name, namespace, "down-1", timeout=240)
    wait_until(
        lambda: len(receiver.documents) >= 1, what="the outage digest", timeout=QUIET_SECONDS + 60
    )

    _round(cluster, namespace, "down-2")  # still failing: no state changes, no message
    apply(cluster, *(helpers.repository_secret(name, path=path) for name in NAMES),
          namespace=namespace)  # fmt: skip
    _round(cluster, namespace, "back")
    wait_until(lambda: len(_recovered(receiver.documents[1:])) >= len(NAMES),
               what="the recovery digest", timeout=QUIET_SECONDS + 90,
               explain=lambda: _explained(cluster, namespace, receiver))  # fmt: skip

    outage, *recovery = receiver.documents
    assert outage["title"] == "pyvolsync: 5 failing" and outage["type"] == "failure", outage
    assert [item.split(":")[0] for item in _items(outage)] == [
        f"- ReplicationSource {namespace}/{name}" for name in NAMES
    ]
    assert all("WrongPassword" in item for item in _items(outage)), outage
    # Sources recover as their own syncs end; those within the quiet time share one message.
    assert recovery[0]["title"].endswith(" recovered") and recovery[0]["type"] == "success"
    assert sorted(_recovered(recovery)) == [f"{namespace}/{name}" for name in NAMES], recovery
    assert all("failing" not in document["title"] for document in recovery), recovery
    # The syncs that failed again (down-2, and each mover's retry) sent nothing of their own.
    assert all(
        re.search(r"synced again after \d+ failed syncs?", item)
        for document in recovery
        for item in _items(document) or [document["message"]]
    ), recovery
    statuses = [helpers.status(cluster, SOURCE, name, namespace) for name in NAMES]
    assert all(found["latestMoverStatus"]["result"] == "Successful" for found in statuses)
    cluster.kubectl("delete", "secret", NOTIFY_SECRET, "-n", NOTIFY_NAMESPACE)
