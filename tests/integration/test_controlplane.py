"""The local control plane behaves like a cluster where the operator's tests depend on it.

Each test checks what a user of a real cluster would check with kubectl: the served version and
APIs, and that the controllers the operator relies on (namespace, garbage collector, Job, PV
binder) and the admission chain (MutatingAdmissionPolicy) act on the objects.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from localcluster import controlplane, testing

pytestmark = pytest.mark.cluster

BUSYBOX_JOB_IMAGE = "busybox"


def _job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": BUSYBOX_JOB_IMAGE, "command": ["true"]}
                    ],
                }
            },
        },
    }


def _config_map(name: str, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, **metadata},
        "data": {"key": "value"},
    }


def test_api_server_reports_the_pinned_release(cluster: controlplane.ControlPlane) -> None:
    served = json.loads(cluster.kubectl("get", "--raw", "/version").stdout)
    assert served["gitVersion"] == "v1.36.3"
    assert (served["major"], served["minor"]) == ("1", "36")
    client = json.loads(cluster.kubectl("version", "--client", "-o", "json").stdout)
    assert client["clientVersion"]["gitVersion"] == "v1.36.3"


def test_kubeconfig_authenticates_as_cluster_admin(cluster: controlplane.ControlPlane) -> None:
    identity = json.loads(cluster.kubectl("auth", "whoami", "-o", "json").stdout)
    assert identity["status"]["userInfo"]["username"] == "admin"
    assert "system:masters" in identity["status"]["userInfo"]["groups"]
    assert cluster.kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"


def test_lightkube_client_reads_the_cluster(cluster: controlplane.ControlPlane) -> None:
    from lightkube.resources.core_v1 import Namespace

    with cluster.client() as client:
        names = {item.metadata.name for item in client.list(Namespace) if item.metadata}
    assert {"default", "kube-system", "kube-public"} <= names


def test_namespace_deletion_completes(cluster: controlplane.ControlPlane) -> None:
    doomed = f"doomed-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", doomed)
    testing.apply(cluster, _config_map("content"), namespace=doomed)
    cluster.kubectl("delete", "namespace", doomed, "--wait=false")
    testing.wait_until(
        lambda: testing.get(cluster, "namespace", doomed) is None,
        what=f"namespace {doomed} to be finalized and removed",
    )


def test_new_namespace_gets_service_account_and_root_ca(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    root_ca = testing.wait_until(
        lambda: testing.get(cluster, "configmap", "kube-root-ca.crt", namespace=namespace),
        what="the kube-root-ca.crt ConfigMap",
    )
    assert root_ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    token = cluster.kubectl("create", "token", "default", "-n", namespace).stdout.strip()
    assert token.count(".") == 2


def test_job_controller_creates_the_pod(cluster: controlplane.ControlPlane, namespace: str) -> None:
    testing.apply(cluster, _job("hello"), namespace=namespace)

    def job_pods() -> list[dict[str, Any]] | None:
        found = testing.get(cluster, "pods", namespace=namespace)
        pods = [
            pod
            for pod in (found or {}).get("items", [])
            if pod["metadata"].get("labels", {}).get("batch.kubernetes.io/job-name") == "hello"
        ]
        return pods or None

    pods = testing.wait_until(job_pods, what="the Job's pod")
    owner = pods[0]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("Job", "hello")
    assert pods[0]["spec"]["containers"][0]["image"] == BUSYBOX_JOB_IMAGE


def test_pv_binder_binds_claim_to_precreated_volume(
    cluster: controlplane.ControlPlane, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    storage_class = f"manual-{namespace}"
    volume = f"pv-{namespace}"
    testing.apply(
        cluster,
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": storage_class},
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "Immediate",
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": volume},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": storage_class,
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": str(tmp_path_factory.mktemp("volume"))},
            },
        },
    )
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    testing.apply(cluster, claim, namespace=namespace)

    def bound_claim() -> dict[str, Any] | None:
        found = testing.get(cluster, "pvc", "data", namespace=namespace)
        return found if found and found["status"].get("phase") == "Bound" else None

    assert testing.wait_until(bound_claim, what="the claim to bind")["spec"]["volumeName"] == volume
    cluster.kubectl("delete", "pvc", "data", "-n", namespace, "--timeout=60s")

    def released_volume() -> bool:
        found = testing.get(cluster, "pv", volume)
        return found is not None and found["status"].get("phase") == "Released"

    testing.wait_until(released_volume, what="the volume to be released with its claim gone")
    cluster.kubectl("delete", "pv", volume, "--timeout=60s")
    cluster.kubectl("delete", "storageclass", storage_class)


def _init_container_policy(name: str, namespace: str) -> list[dict[str, Any]]:
    """A policy and binding that add an init container to Jobs created in one namespace."""
    # JSONPatch, because an ApplyConfiguration may not set atomic lists such as `command`. The
    # container is appended as one object: kube-apiserver 1.36.3 panics converting a patch value
    # that is a list of objects (cel-go ConvertToNative), so an absent list is first added empty.
    init_containers = "/spec/template/spec/initContainers"
    mutation = (
        f"(has(object.spec.template.spec.initContainers) ? [] : "
        f'[JSONPatch{{op: "add", path: "{init_containers}", value: []}}]) + '
        f'[JSONPatch{{op: "add", path: "{init_containers}/-", '
        "value: Object.spec.template.spec.initContainers{"
        'name: "policy-init", image: "busybox", command: ["echo", "first"]}}]'
    )
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["batch"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["jobs"],
                        }
                    ]
                },
                "mutations": [
                    {
                        "patchType": "JSONPatch",
                        "jsonPatch": {"expression": mutation},
                    }
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                },
            },
        },
    ]


def _init_container_names(job: dict[str, Any]) -> list[str]:
    return [
        container["name"] for container in job["spec"]["template"]["spec"].get("initContainers", [])
    ]


def test_mutating_admission_policy_adds_init_container_to_job(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    policy = f"add-init-{namespace}"
    testing.apply(cluster, *_init_container_policy(policy, namespace))
    try:

        def mutated_on_dry_run() -> bool:
            result = cluster.kubectl(
                "create",
                "--dry-run=server",
                "-o",
                "json",
                "-n",
                namespace,
                "-f",
                "-",
                input_text=json.dumps(_job("probe")),
            )
            return _init_container_names(json.loads(result.stdout)) == ["policy-init"]

        # The admission plugin picks policies up from an informer, a moment after creation.
        testing.wait_until(mutated_on_dry_run, what="the policy to take effect")
        cluster.kubectl(
            "create", "-n", namespace, "-f", "-", input_text=json.dumps(_job("mutated"))
        )
        stored = testing.get(cluster, "job", "mutated", namespace=namespace)
        assert stored is not None
        assert _init_container_names(stored) == ["policy-init"]
        assert stored["spec"]["template"]["spec"]["initContainers"][0]["command"] == [
            "echo",
            "first",
        ]
    finally:
        cluster.kubectl("delete", "mutatingadmissionpolicybinding,mutatingadmissionpolicy", policy)


def test_mutating_admission_policy_v1beta1_is_served(cluster: controlplane.ControlPlane) -> None:
    for version in ("v1", "v1beta1"):
        listing = json.loads(
            cluster.kubectl("get", "--raw", f"/apis/admissionregistration.k8s.io/{version}").stdout
        )
        served = {resource["name"] for resource in listing["resources"]}
        assert {"mutatingadmissionpolicies", "mutatingadmissionpolicybindings"} <= served, version


def test_garbage_collector_deletes_dependents(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    testing.apply(cluster, _config_map("owner"), namespace=namespace)
    owner = testing.get(cluster, "configmap", "owner", namespace=namespace)
    assert owner is not None
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    testing.apply(
        cluster, _config_map("dependent", ownerReferences=[reference]), namespace=namespace
    )
    cluster.kubectl("delete", "configmap", "owner", "-n", namespace)
    testing.wait_until(
        lambda: testing.get(cluster, "configmap", "dependent", namespace=namespace) is None,
        what="the garbage collector to delete the dependent",
    )


@pytest.mark.parametrize(
    "crd",
    [
        "volumesnapshots.snapshot.storage.k8s.io",
        "volumesnapshotcontents.snapshot.storage.k8s.io",
        "volumesnapshotclasses.snapshot.storage.k8s.io",
        "externalsecrets.external-secrets.io",
    ],
)
def test_crd_is_established(cluster: controlplane.ControlPlane, crd: str) -> None:
    found = testing.get(cluster, "crd", crd)
    assert found is not None
    conditions = {item["type"]: item["status"] for item in found["status"]["conditions"]}
    assert conditions["Established"] == "True"


def test_external_secret_keeps_its_spec(cluster: controlplane.ControlPlane, namespace: str) -> None:
    spec = {
        "secretStoreRef": {"name": "vault", "kind": "ClusterSecretStore"},
        "target": {"name": "restic-config"},
        "data": [{"secretKey": "RESTIC_PASSWORD", "remoteRef": {"key": "backup/restic"}}],
    }
    document = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "restic"},
        "spec": spec,
    }
    testing.apply(cluster, document, namespace=namespace)
    stored = testing.get(cluster, "externalsecret", "restic", namespace=namespace)
    assert stored is not None and stored["spec"] == spec
