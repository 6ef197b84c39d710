"""The operator's RBAC is the least it needs: every rule the chart grants is used, none is missing.

The real operator process runs with a token of the Helm chart's ServiceAccount and nothing else
(chart.py), with leader election on, while a scenario drives everything it does: backups with
the Direct (pinned to the app's node, with a custom CA from a ConfigMap), Clone and Snapshot copy
methods, a restore published as a VolumeSnapshot, an app's PVC populated from it through the
registered volume populator, a mover in a namespace that allows privileged movers (whose Role
grants what only the operator's own rules let it grant), events, progress read from mover logs,
deletion of everything, a restart (the Lease changes hands), and a metrics scrape.

The kube-apiserver's audit log records every request with its user, verb, resource and answer.
The test reads the ServiceAccount's requests and checks that none was refused (403) and that
every (API group, resource, verb) the chart grants was used at least once; a grant the scenario
cannot use must be in ``UNUSED_ALLOWED`` with the reason it is still needed.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.integration.reconcile import helpers
from tests.security import chart, secretscan
from tests.support import operator as support

RELEASE = chart.TEST_RELEASE
LEASE = "pyvolsync-operator"
POPULATOR_CRD = Path(__file__).with_name("volumepopulator-crd.yaml")
POPULATOR_CRD_NAME = "volumepopulators.populator.storage.k8s.io"
PRIVILEGED = "volsync.backube/privileged-movers"
MARKER = "rbac"
UNUSED_ALLOWED = {
    chart.Rule("security.openshift.io", "securitycontextconstraints", "use"): (
        "never requested by the operator itself: the API server lets it create a privileged "
        "mover's Role granting this only because the operator holds it (RBAC escalation "
        "prevention); the scenario's privileged namespace shows that Role being created"
    ),
    chart.Rule("", "pods/exec", "create"): (
        "a WebSocket exec is a GET, audited as get; the API server checks create as well "
        "(AuthorizePodWebsocketUpgradeCreatePermission) without a request of its own"
    ),
}

JsonObject = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Observed:
    """What the scenario left: the release and every API request its ServiceAccount made."""

    release: chart.Release
    requests: list[JsonObject]
    metrics: str

    def used(self) -> set[chart.Rule]:
        return {rule_of(request) for request in self.requests if "objectRef" in request}

    def denied(self) -> list[str]:
        return sorted(
            {
                f"{request['verb']} {request.get('requestURI', '')}"
                for request in self.requests
                if (request.get("responseStatus") or {}).get("code") == 403
            }
        )


def rule_of(request: JsonObject) -> chart.Rule:
    """The grant an audited request needed."""
    target = request["objectRef"]
    resource = target.get("resource", "")
    if target.get("subresource"):
        resource += "/" + target["subresource"]
    return chart.Rule(target.get("apiGroup", ""), resource, request["verb"])


def make_namespace(plane: controlplane.ControlPlane, stem: str, **annotations: str) -> str:
    name = f"{stem}-{secrets.token_hex(3)}"
    plane.kubectl("create", "namespace", name)
    if annotations:
        pairs = [f"{key}={value}" for key, value in annotations.items()]
        plane.kubectl("annotate", "namespace", name, *pairs)
    wait_until(
        lambda: get(plane, "serviceaccount", "default", namespace=name),
        what=f"the default ServiceAccount of {name}",
    )
    return name


def install_populator_api(plane: controlplane.ControlPlane) -> None:
    plane.kubectl("apply", "--server-side", "-f", str(POPULATOR_CRD))
    plane.wait_for("crd", POPULATOR_CRD_NAME, "Established")


def app_pod(claim_name: str) -> JsonObject:
    """A running app using the volume (a Direct mover is pinned to its node)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app"},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": helpers.BUSYBOX,
                    "command": ["sleep", "3600"],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}],
        },
    }


def populated_claim(name: str, destination: str) -> JsonObject:
    spec = {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "local-path",
        "resources": {"requests": {"storage": "1Gi"}},
        "dataSourceRef": {
            "apiGroup": "volsync.backube",
            "kind": "ReplicationDestination",
            "name": destination,
        },
    }
    return helpers.manifest("v1", "PersistentVolumeClaim", name, spec)


def successful(plane: controlplane.ControlPlane, kind: str, name: str, namespace: str) -> None:
    value = "restore-once" if kind == "replicationdestination" else "first"
    found = helpers.wait_for_manual_sync(plane, kind, name, namespace, value, timeout=180)
    assert found["latestMoverStatus"]["result"] == "Successful", (name, found)


def back_up_every_way(plane: controlplane.ControlPlane, namespace: str) -> None:
    """Direct (pinned, custom CA, an exec hook), Clone and Snapshot backups of one volume;
    events, progress."""
    ca = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ca"},
        "data": {"ca.crt": plane.pki.serving_ca.read_text()},
    }
    methods = ("Direct", "Clone", "Snapshot")
    repositories = [
        helpers.repository_secret(f"repo-{method.lower()}", path=f"{namespace}/{method.lower()}")
        for method in methods
    ]
    apply(plane, ca, helpers.claim("data"), *repositories, namespace=namespace)
    script = helpers.WRITE_SAMPLE.format(marker=MARKER)
    helpers.run_shell(plane, namespace, "writer", claim_name="data", script=script)
    apply(plane, app_pod("data"), namespace=namespace)
    plane.wait_for("pod", "app", "Ready", namespace=namespace)
    sources = [
        helpers.replication_source(
            method.lower(), repository=f"repo-{method.lower()}", copy_method=method
        )
        for method in methods
    ]
    sources[0]["spec"]["restic"]["customCA"] = {"configMapName": "ca", "key": "ca.crt"}
    # A before-backup hook: the operator execs in the app's pod (pods/exec).
    sources[0]["metadata"]["annotations"] = {"pyvolsync.dev/before-backup-command": "sync"}
    apply(plane, *sources, namespace=namespace)
    for method in methods:
        successful(plane, "replicationsource", method.lower(), namespace)
    hooked = helpers.status(plane, "replicationsource", "direct", namespace)["hooks"]
    assert hooked["beforeBackup"]["result"] == "Succeeded", hooked


def repeated_failure(plane: controlplane.ControlPlane, namespace: str) -> None:
    """The same failure twice in a row: one Event whose series counts both (a patch)."""
    wrong = helpers.repository_secret(
        "repo-wrong", path=f"{namespace}/direct", password="not-the-password"
    )
    source = helpers.replication_source("wrong", repository="repo-wrong", copy_method="Direct")
    apply(plane, wrong, source, namespace=namespace)
    helpers.wait_for_manual_sync(plane, "replicationsource", "wrong", namespace, "first")
    helpers.set_manual_trigger(plane, "replicationsource", "wrong", namespace, "second")
    helpers.wait_for_manual_sync(plane, "replicationsource", "wrong", namespace, "second")
    failed = [
        event
        for event in helpers.events(plane, namespace, "wrong")
        if event["reason"] == "TransferFailed"
    ]
    assert len(failed) == 1, failed
    assert (failed[0].get("series") or {}).get("count") == 2, failed[0]


def kopia_backup_and_maintenance(plane: controlplane.ControlPlane, namespace: str) -> None:
    """A kopia backup that creates the repository (and so owns its maintenance), then a
    KopiaMaintenance that takes maintenance over from that source without being told."""
    secret = helpers.kopia_secret(
        "kopia-repo", path=f"{namespace}/kopia", password="kopia-password"
    )
    source = helpers.manifest(
        helpers.VOLSYNC,
        "ReplicationSource",
        "kopia-app",
        {
            "sourcePVC": "data",
            "trigger": {"manual": "first"},
            "kopia": {"repository": "kopia-repo", "copyMethod": "Direct"},
        },
    )
    apply(plane, secret, source, namespace=namespace)
    successful(plane, "replicationsource", "kopia-app", namespace)
    maintenance = helpers.manifest(
        helpers.VOLSYNC,
        "KopiaMaintenance",
        "nightly",
        {"repository": {"repository": "kopia-repo"}, "trigger": {"manual": "now"}},
    )
    apply(plane, maintenance, namespace=namespace)
    found = helpers.wait_for_manual_sync(
        plane, "kopiamaintenance", "nightly", namespace, "now", timeout=180
    )
    assert found.get("lastMaintenanceTime"), found


def restore_and_bootstrap(plane: controlplane.ControlPlane, namespace: str) -> None:
    """A restore published as a VolumeSnapshot, and an app PVC populated from it."""
    destination = helpers.replication_destination(
        "restore", repository="repo-snapshot", copyMethod="Snapshot"
    )
    apply(plane, destination, namespace=namespace)
    successful(plane, "replicationdestination", "restore", namespace)
    apply(plane, populated_claim("bootstrapped", "restore"), namespace=namespace)

    def bound() -> bool:
        claim = get(plane, "persistentvolumeclaim", "bootstrapped", namespace=namespace) or {}
        return (claim.get("status") or {}).get("phase") == "Bound"

    wait_until(bound, what="the populated PVC to be bound", timeout=120)
    read = helpers.run_shell(
        plane, namespace, "reader", claim_name="bootstrapped", script="cat /data/dir/deeper/marker"
    )
    assert read.strip() == MARKER


def privileged_backup(plane: controlplane.ControlPlane) -> None:
    """A backup where movers may be privileged: their Role grants the privileged SCC."""
    namespace = make_namespace(plane, "rbac-privileged", **{PRIVILEGED: "true"})
    helpers.prepare_app(plane, namespace)
    apply(plane, helpers.replication_source("app", copy_method="Direct"), namespace=namespace)
    successful(plane, "replicationsource", "app", namespace)
    role = get(plane, "role", "volsync-src-app", namespace=namespace)
    assert role is not None and role["rules"][0]["verbs"] == ["use"], role


def delete_everything(plane: controlplane.ControlPlane, namespace: str) -> None:
    """Delete the sources and destinations; nothing they made may stay."""
    plane.kubectl(
        "delete", "replicationsources,replicationdestinations,kopiamaintenances", "--all",
        "-n", namespace,
    )  # fmt: skip
    made_by_volsync = "app.kubernetes.io/created-by=volsync"
    wait_until(
        lambda: (
            not helpers.names_of(
                plane, "jobs,volumesnapshots,persistentvolumeclaims", namespace, made_by_volsync
            )
        ),
        what=f"the objects made for {namespace}'s syncs to be gone",
        timeout=120,
    )


def lease_holder(plane: controlplane.ControlPlane) -> str | None:
    lease = get(plane, "lease", LEASE, namespace=RELEASE) or {}
    holder = (lease.get("spec") or {}).get("holderIdentity")
    return str(holder) if holder else None


def drive(plane: controlplane.ControlPlane, running: support.Operator) -> str:
    """Make the operator do everything it does; return a metrics scrape."""
    namespace = make_namespace(plane, "rbac-plain")
    back_up_every_way(plane, namespace)
    repeated_failure(plane, namespace)
    kopia_backup_and_maintenance(plane, namespace)
    restore_and_bootstrap(plane, namespace)
    privileged_backup(plane)
    metrics = running.metrics()
    delete_everything(plane, namespace)
    running.stop()
    running.start()
    wait_until(lambda: lease_holder(plane), what="the restarted operator to take the Lease")
    return metrics


@pytest.fixture(scope="module")
def observed(
    cluster: controlplane.ControlPlane, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Observed]:
    """Run the scenario under the chart's RBAC; yield its API requests."""
    release = chart.Release.render(RELEASE, RELEASE)
    release.install(cluster)
    install_populator_api(cluster)
    directory = tmp_path_factory.mktemp("rbac-operator")
    running = support.Operator(
        cluster,
        directory,
        "--log-level", "DEBUG",
        "--progress-interval", "1",
        kubeconfig=release.kubeconfig(cluster, directory / "kubeconfig"),
        lease_namespace=release.namespace,
    )  # fmt: skip
    running.start()
    try:
        running.wait_ready()
        metrics = drive(cluster, running)
    finally:
        running.stop()
        cluster.kubectl("delete", "crd", POPULATOR_CRD_NAME, "--wait=false")
    requests = [
        item
        for item in controlplane.read_audit(secretscan.audit_logs(cluster.logs))
        if (item.get("user") or {}).get("username") == release.username
    ]
    counts = collections.Counter(str(rule_of(item)) for item in requests if "objectRef" in item)
    print("requests by rule:", json.dumps(dict(sorted(counts.items())), indent=1))
    yield Observed(release, requests, metrics)


def test_no_request_of_the_operator_was_refused(observed: Observed) -> None:
    assert observed.requests, "the audit log holds no request of the operator"
    assert observed.denied() == []


def test_every_rule_the_chart_grants_was_used(observed: Observed) -> None:
    granted = observed.release.granted()
    unused = granted - observed.used() - set(UNUSED_ALLOWED)
    assert sorted(map(str, unused)) == []
    assert set(UNUSED_ALLOWED) <= granted
    assert not set(UNUSED_ALLOWED) & observed.used(), "an allowed-unused rule is used: drop it"


def test_the_lease_changed_hands_and_metrics_were_served(
    cluster: controlplane.ControlPlane, observed: Observed
) -> None:
    lease = get(cluster, "lease", LEASE, namespace=observed.release.namespace)
    assert lease is not None
    assert lease["spec"].get("leaseTransitions", 0) >= 1, lease
    assert "volsync_volume_out_of_sync{" in observed.metrics
