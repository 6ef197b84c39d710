"""Restarting one component of the local cluster, and its audit log.

The fault-injection suite restarts etcd and kube-apiserver under a running operator, and the
benchmarks and security tests read the API server's audit log; both must work as a user of the
local cluster expects: objects survive a restart, and every request leaves one audit record.
"""

from __future__ import annotations

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get

pytestmark = pytest.mark.cluster


def _config_map(name: str, value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"value": value},
    }


@pytest.mark.parametrize("component", ["etcd", "kube-apiserver"])
def test_objects_survive_a_restart_and_the_api_answers_again(
    cluster: controlplane.ControlPlane, namespace: str, component: str
) -> None:
    apply(cluster, _config_map("before", "kept"), namespace=namespace)
    pids_before = {entry.name: entry.pid for entry in cluster.running()}
    log_path = cluster.logs / f"{component}.log"
    written_before = log_path.read_bytes()

    cluster.restart(component, down_seconds=1.0)

    pids_after = {entry.name: entry.pid for entry in cluster.running()}
    assert pids_after[component] != pids_before[component]
    assert {name: pid for name, pid in pids_after.items() if name != component} == {
        name: pid for name, pid in pids_before.items() if name != component
    }
    found = get(cluster, "configmap", "before", namespace=namespace)
    assert found is not None and found["data"] == {"value": "kept"}
    apply(cluster, _config_map("after", "written"), namespace=namespace)
    assert get(cluster, "configmap", "after", namespace=namespace) is not None
    written_after = log_path.read_bytes()
    assert written_before and written_after.startswith(written_before), (
        "the restarted component's log keeps what it wrote before the restart"
    )


def test_an_unknown_component_is_refused_by_name(cluster: controlplane.ControlPlane) -> None:
    with pytest.raises(ValueError, match="unknown component 'scheduler'"):
        cluster.restart("scheduler")


def test_every_request_leaves_an_audit_record(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "audited"},
        "stringData": {"RESTIC_PASSWORD": "audit-me-4711"},
    }
    apply(cluster, secret, namespace=namespace)
    cluster.kubectl("get", "configmaps", "-n", namespace)

    records = [
        event
        for event in cluster.audit_events()
        if (event.get("objectRef") or {}).get("namespace") == namespace
    ]
    lists = [
        event
        for event in records
        if event["verb"] == "list" and event["objectRef"]["resource"] == "configmaps"
    ]
    assert lists and lists[0]["userAgent"].startswith("kubectl")
    assert lists[0]["responseStatus"]["code"] == 200
    writes = [
        event
        for event in records
        if event["objectRef"]["resource"] == "secrets" and event["verb"] in {"create", "patch"}
    ]
    assert writes and "audit-me-4711" in str(writes[-1].get("requestObject"))
