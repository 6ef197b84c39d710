"""The install paths of docs/install.md are accepted by a real API server: the Helm chart, the
plain kustomize manifests and the app component rendered by `pyvolsync render-component`."""

from __future__ import annotations

import contextlib
import json
import subprocess

from localcluster import controlplane
from localcluster.testing import get
from tests.unit.deploy import deploy_tools
from tests.unit.deploy.deploy_tools import CHART, ROOT

from pyvolsync.cli import component

DRY_RUN = ("apply", "--server-side", "--dry-run=server", "-o", "json", "-f", "-")


def dry_run_apply(
    plane: controlplane.ControlPlane, manifests: str, *, namespace: str = ""
) -> list[tuple[str, str]]:
    """Apply with a server-side dry run; return (kind, name) of what the server accepted."""
    scope = ["-n", namespace] if namespace else []
    applied = plane.kubectl(*DRY_RUN, *scope, input_text=manifests)
    answer = json.loads(applied.stdout)
    items = answer["items"] if answer.get("kind") == "List" else [answer]
    return sorted((item["kind"], item["metadata"]["name"]) for item in items)


def test_the_chart_with_every_option_applies(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    manifests = deploy_tools.run(
        deploy_tools.helm(), "template", "pyvolsync", CHART, "--namespace", namespace,
        "--include-crds",
        "--set", "admissionPolicies.enabled=true",
        "--set", "admissionPolicies.nfs.server=nas.example.lan",
        "--set", "admissionPolicies.nfs.path=/volsync",
        "--set", "operator.repositoryNFS=nas.example.lan:/volsync",
        "--set", "operator.jitter=10m",
        "--set", "operator.maxMovers=2",
    )  # fmt: skip
    assert dry_run_apply(cluster, manifests, namespace=namespace) == [
        ("ClusterRole", "pyvolsync"),
        ("ClusterRoleBinding", "pyvolsync"),
        ("ConfigMap", "volsync-mover-nfs"),
        ("CustomResourceDefinition", "kopiamaintenances.volsync.backube"),
        ("CustomResourceDefinition", "replicationdestinations.volsync.backube"),
        ("CustomResourceDefinition", "replicationsources.volsync.backube"),
        ("Deployment", "pyvolsync"),
        ("MutatingAdmissionPolicy", "volsync-mover-jitter"),
        ("MutatingAdmissionPolicy", "volsync-mover-nfs"),
        ("MutatingAdmissionPolicyBinding", "volsync-mover-jitter"),
        ("MutatingAdmissionPolicyBinding", "volsync-mover-nfs"),
        ("Role", "pyvolsync-leader-election"),
        ("RoleBinding", "pyvolsync-leader-election"),
        ("Service", "pyvolsync-metrics"),
        ("ServiceAccount", "pyvolsync"),
    ]


def test_the_kustomize_manifests_apply(cluster: controlplane.ControlPlane) -> None:
    # A dry run creates no namespace, so the objects inside it need a real one.
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.kubectl("create", "namespace", "volsync-system")
    manifests = deploy_tools.run(deploy_tools.kustomize(), "build", ROOT / "deploy" / "kustomize")
    accepted = dry_run_apply(cluster, manifests)
    assert ("Deployment", "pyvolsync") in accepted
    assert ("Namespace", "volsync-system") in accepted
    assert ("CustomResourceDefinition", "kopiamaintenances.volsync.backube") in accepted
    assert len(accepted) == 11


def test_the_rendered_component_applies(
    cluster: controlplane.ControlPlane, namespace: str, volsync_crds: None
) -> None:
    variables = component.parse_settings("photos", ["VOLSYNC_CAPACITY=2Gi", "APP_UID=1000"])
    documents = component.render(component.component_directory(), variables, namespace=namespace)
    manifests = json.dumps({"apiVersion": "v1", "kind": "List", "items": documents})
    assert dry_run_apply(cluster, manifests, namespace=namespace) == [
        ("ExternalSecret", "photos-volsync"),
        ("PersistentVolumeClaim", "photos"),
        ("ReplicationDestination", "photos-bootstrap"),
        ("ReplicationSource", "photos"),
    ]
    assert get(cluster, "replicationsource", "photos", namespace=namespace) is None
