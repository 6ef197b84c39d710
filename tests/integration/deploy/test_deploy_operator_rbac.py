"""The operator as the Helm chart deploys it, with only the chart's RBAC, does its whole job.

This module runs its own control plane: it starts an operator, and the session's cluster may
already have one (tests/integration/reconcile). The local cluster has no Deployment controller
and no cluster DNS, so the chart's pod template is created as a Pod (what the ReplicaSet would
do), and the service account's token reaches the operator through a kubeconfig naming the API
server's address instead of kubernetes.default.svc. Everything else is the chart's: the image,
the settings as environment variables, the ServiceAccount, ClusterRole and leader-election Role.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.integration.reconcile import helpers
from tests.support.operator import free_port
from tests.unit.deploy import deploy_tools
from tests.unit.deploy.deploy_tools import CHART

from pyvolsync.cli import component

pytestmark = pytest.mark.cluster

RELEASE_NAMESPACE = "volsync-system"
ACCOUNT = f"system:serviceaccount:{RELEASE_NAMESPACE}:pyvolsync"
NFS_SERVER = "nfs.rbac.test"
NFS_PATH = "/volsync"
PASSWORD = "rbac-test-password"
WRITE = (
    "mkdir -p /data/dir && echo {marker} > /data/dir/marker && "
    "head -c 100000 /dev/urandom > /data/blob"
)
READ = "cat /data/dir/marker && md5sum /data/blob | cut -d' ' -f1"


def operator_kubeconfig(plane: controlplane.ControlPlane) -> str:
    """A kubeconfig that authenticates as the chart's ServiceAccount."""
    token = plane.kubectl(
        "create", "token", "pyvolsync", "-n", RELEASE_NAMESPACE, "--duration=2h"
    ).stdout.strip()
    admin = yaml.safe_load(plane.kubeconfig.read_text())
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
            "users": [{"name": "pyvolsync", "user": {"token": token}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "pyvolsync"}}],
            "current-context": "local",
        }
    )


def operator_pod(deployment: dict[str, Any]) -> dict[str, Any]:
    """The Deployment's pod, with the kubeconfig in place of the in-cluster login."""
    template = deployment["spec"]["template"]
    spec = template["spec"]
    spec["automountServiceAccountToken"] = False
    spec["volumes"].append({"name": "kubeconfig", "secret": {"secretName": "kubeconfig"}})
    container = spec["containers"][0]
    container["volumeMounts"].append({"name": "kubeconfig", "mountPath": "/etc/pyvolsync"})
    container["env"].append({"name": "KUBECONFIG", "value": "/etc/pyvolsync/kubeconfig"})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pyvolsync-operator", "labels": template["metadata"]["labels"]},
        "spec": spec,
    }


def operator_log(plane: controlplane.ControlPlane) -> str:
    """The operator pod's log; "" while its container has not started yet."""
    found = plane.kubectl("logs", "-n", RELEASE_NAMESPACE, "pyvolsync-operator", check=False)
    return found.stdout if found.returncode == 0 else ""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.ControlPlane]:
    """A control plane of its own with the chart installed and its operator running."""
    plane = controlplane.ControlPlane(tmp_path_factory.mktemp("rbac-cluster"))
    plane.start()
    try:
        plane.kubectl("create", "namespace", RELEASE_NAMESPACE)
        manifests = deploy_tools.run(
            deploy_tools.helm(), "template", "pyvolsync", CHART, "--namespace",
            RELEASE_NAMESPACE, "--include-crds",
            "--set", f"operator.repositoryNFS={NFS_SERVER}:{NFS_PATH}",
            "--set", "mover.image=ghcr.io/pyvolsync/pyvolsync-mover:test",
            "--set", "mover.retries=0",
            "--set", f"metrics.port={free_port()}",
        )  # fmt: skip
        plane.kubectl("apply", "--server-side", "-f", "-", input_text=manifests)
        plane.kubectl(
            "create", "secret", "generic", "kubeconfig", "-n", RELEASE_NAMESPACE,
            f"--from-literal=kubeconfig={operator_kubeconfig(plane)}",
        )  # fmt: skip
        deployment = get(plane, "deployment", "pyvolsync", namespace=RELEASE_NAMESPACE)
        assert deployment is not None
        apply(plane, operator_pod(deployment), namespace=RELEASE_NAMESPACE)
        wait_until(
            lambda: "operator running" in operator_log(plane),
            what="the chart's operator to start",
            timeout=180,
        )
        yield plane
        log = operator_log(plane)
        assert "Forbidden" not in log and " 403 " not in log, log[-3000:]
    finally:
        plane.stop()


@pytest.fixture
def app_namespace(installed: controlplane.ControlPlane, request: pytest.FixtureRequest) -> str:
    name = request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    installed.kubectl("create", "namespace", name)
    wait_until(
        lambda: get(installed, "serviceaccount", "default", namespace=name),
        what=f"the default ServiceAccount of {name}",
    )
    return name


def repository_secret(name: str, app: str) -> dict[str, Any]:
    return helpers.repository_secret(name, path=app, password=PASSWORD)


def test_the_service_account_may_not_read_every_secret(
    installed: controlplane.ControlPlane,
) -> None:
    def can(*request: str) -> str:
        answer = installed.kubectl("auth", "can-i", *request, f"--as={ACCOUNT}", check=False)
        return answer.stdout.strip()

    assert can("get", "secrets", "-n", "default") == "yes"
    assert can("list", "secrets", "-A") == "no"
    assert can("update", "replicationsources.volsync.backube", "-A") == "no"
    assert can("delete", "persistentvolumes") == "no"


def test_backup_and_restore_with_the_charts_rbac(
    installed: controlplane.ControlPlane, app_namespace: str
) -> None:
    plane, namespace = installed, app_namespace
    apply(plane, helpers.claim("data"), repository_secret("repo", "web"), namespace=namespace)
    script = WRITE.format(marker="m1") + " && " + READ
    written = helpers.run_shell(plane, namespace, "writer", claim_name="data", script=script)
    source = helpers.replication_source(
        "web", claim_name="data", repository="repo", volumeSnapshotClassName="local-snapshots"
    )
    apply(plane, source, namespace=namespace)
    status = helpers.wait_for_manual_sync(plane, "replicationsource", "web", namespace, "first")
    assert status["latestMoverStatus"]["result"] == "Successful", status

    repository = plane.directory / "node" / "nfs" / NFS_SERVER / NFS_PATH.lstrip("/") / "web"
    assert len(helpers.snapshots(repository, password=PASSWORD)) == 1

    restore = helpers.replication_destination(
        "web-restore", repository="repo", copyMethod="Snapshot",
        volumeSnapshotClassName="local-snapshots",
    )  # fmt: skip
    apply(plane, restore, namespace=namespace)
    status = helpers.wait_for_manual_sync(
        plane, "replicationdestination", "web-restore", namespace, "restore-once"
    )
    assert status["latestMoverStatus"]["result"] == "Successful", status
    image = status["latestImage"]
    assert image["kind"] == "VolumeSnapshot"

    restored = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "restored"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "dataSource": {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": image["name"],
            },
        },
    }
    apply(plane, restored, namespace=namespace)
    read = helpers.run_shell(plane, namespace, "reader", claim_name="restored", script=READ)
    assert read == written


def test_the_component_bootstraps_an_app_from_its_backup(
    installed: controlplane.ControlPlane, app_namespace: str
) -> None:
    """Scenario A of the spec through the component and the chart's operator: a backup exists,
    the app is deployed, its PVC comes up holding the backup."""
    plane, namespace = installed, app_namespace
    seed_secret = repository_secret("seed-secret", "photos")
    apply(plane, helpers.claim("seed"), seed_secret, namespace=namespace)
    script = WRITE.format(marker="m2") + " && " + READ
    written = helpers.run_shell(plane, namespace, "writer", claim_name="seed", script=script)
    # The first backup runs as the component's movers do (APP_UID, APP_GID: 4000): restic's
    # files are private to their owner, so a repository written as root is unreadable to them.
    seed = helpers.replication_source(
        "seed", claim_name="seed", repository="seed-secret", copy_method="Direct",
        moverSecurityContext={"runAsUser": 4000, "runAsGroup": 4000, "fsGroup": 4000},
    )  # fmt: skip
    apply(plane, seed, namespace=namespace)
    helpers.wait_for_manual_sync(plane, "replicationsource", "seed", namespace, "first")

    # What External Secrets would create from 1Password, under the component's name.
    apply(plane, repository_secret("photos-volsync-secret", "photos"), namespace=namespace)
    variables = component.parse_settings("photos", ["VOLSYNC_CACHE_CAPACITY=1Gi"])
    documents = component.render(component.component_directory(), variables, namespace=namespace)
    apply(plane, *documents)

    def bound() -> bool:
        claim = get(plane, "persistentvolumeclaim", "photos", namespace=namespace) or {}
        return (claim.get("status") or {}).get("phase") == "Bound"

    try:
        wait_until(bound, what="the app's PVC to be populated and bound", timeout=180)
    except pytest.fail.Exception:
        events = plane.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp")
        print(events.stdout[-4000:])
        raise
    read = helpers.run_shell(plane, namespace, "reader", claim_name="photos", script=READ)
    assert read == written
    assert read.startswith("m2\n")
    assert Path(
        plane.directory / "node" / "nfs" / NFS_SERVER / NFS_PATH.lstrip("/") / "photos" / "config"
    ).exists()
