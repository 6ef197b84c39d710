"""The spec's admission policies (deploy/admission) on the operator's real mover Jobs.

The Jobs come from the operator's own planner, created without a repository volume (as an
operator without --repository-nfs creates them); the policies must add the jitter init
container to backups and the NFS repository to every mover, and leave every other Job alone.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get
from tests.integration.deploy.deploy_support import ADMISSION, NFS_PATH, NFS_SERVER, server_dry_run
from tests.integration.reconcile import helpers

from pyvolsync import contract
from pyvolsync.api import defaults, destination, source
from pyvolsync.movers import jobs as mover
from pyvolsync.movers.restic import engine
from pyvolsync.planning import metadata

APP = "web"
PASSWORD = "admission-test-password"
MOVER_IMAGE = "ghcr.io/pyvolsync/pyvolsync-mover:test"
BUSYBOX = "ghcr.io/home-operations/busybox:1.37.0"
SECRET_KEYS = frozenset({"RESTIC_REPOSITORY", "RESTIC_PASSWORD"})


def owner(plane: controlplane.ControlPlane, namespace: str) -> metadata.Owner:
    """An existing object to own the Job (the garbage collector deletes orphans at once)."""
    apply(
        plane,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mover-owner"}},
        namespace=namespace,
    )
    found = get(plane, "configmap", "mover-owner", namespace=namespace)
    assert found is not None
    return metadata.Owner(
        api_version="v1",
        kind="ConfigMap",
        name="mover-owner",
        namespace=namespace,
        uid=found["metadata"]["uid"],
    )


def operator_job(
    job_owner: metadata.Owner,
    *,
    restore: bool = False,
    repository_volume: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The mover Job the operator creates for `APP` (backup, or restore of the bootstrap)."""
    settings = {"repository": "restic-secret", "copyMethod": "Direct"}
    spec: defaults.ResticSpec = (
        destination.ResticDestinationSpec.model_validate(settings)
        if restore
        else source.ResticSourceSpec.model_validate(settings)
    )
    plan = mover.JobPlan(
        owner=job_owner,
        name=f"volsync-{'dst' if restore else 'src'}-{APP}",
        service_account="default",
        operations=(contract.Operation.RESTORE if restore else contract.Operation.BACKUP,),
        spec=spec,
        mover=engine.Restic(),
        data_claim="data",
        data_read_only=False,
        cache_claim="cache",
        secret_name="restic-secret",
        secret_keys=SECRET_KEYS,
        privileged=False,
    )
    settings_ = mover.JobSettings(image=MOVER_IMAGE, retries=0, repository_volume=repository_volume)
    return mover.mover_job(plan, settings_)


def wait_for_job(plane: controlplane.ControlPlane, namespace: str, name: str) -> None:
    plane.wait_for("job", name, "Complete", namespace=namespace, timeout=120)


def pod_of(plane: controlplane.ControlPlane, namespace: str, job_name: str) -> dict[str, Any]:
    listed = plane.kubectl(
        "get", "pods", "-n", namespace, "-l", f"job-name={job_name}", "-o", "json"
    ).stdout
    pods: list[dict[str, Any]] = json.loads(listed)["items"]
    assert len(pods) == 1, [item["metadata"]["name"] for item in pods]
    return pods[0]


def terminated(status: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = status["state"]["terminated"]
    return state


def test_a_backup_job_gets_jitter_first_and_backs_up_into_the_nfs_export(
    cluster: controlplane.ControlPlane, namespace: str, admission_policies: Path
) -> None:
    marker = secrets.token_hex(8)
    data, cache = helpers.claim("data"), helpers.claim("cache", storage_class="openebs-hostpath")
    apply(cluster, data, cache, namespace=namespace)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "restic-secret"},
        "stringData": {"RESTIC_REPOSITORY": f"/repository/{APP}", "RESTIC_PASSWORD": PASSWORD},
    }
    apply(cluster, secret, namespace=namespace)
    script = f"mkdir -p /data/dir && echo {marker} > /data/dir/marker && echo hi > /data/hello"
    helpers.run_shell(cluster, namespace, "writer", claim_name="data", script=script)
    job = operator_job(owner(cluster, namespace))
    assert not any(
        volume["name"] == "repository" for volume in job["spec"]["template"]["spec"]["volumes"]
    )

    apply(cluster, job, namespace=namespace)
    wait_for_job(cluster, namespace, f"volsync-src-{APP}")

    admitted = get(cluster, "job", f"volsync-src-{APP}", namespace=namespace)
    assert admitted is not None
    pod_spec = admitted["spec"]["template"]["spec"]
    assert [item["name"] for item in pod_spec["initContainers"]] == ["jitter"]
    repository = [item for item in pod_spec["volumes"] if item["name"] == "repository"]
    assert repository == [{"name": "repository", "nfs": {"server": NFS_SERVER, "path": NFS_PATH}}]
    assert {"name": "repository", "mountPath": "/repository"} in pod_spec["containers"][0][
        "volumeMounts"
    ]

    pod = pod_of(cluster, namespace, f"volsync-src-{APP}")
    jitter = terminated(pod["status"]["initContainerStatuses"][0])
    backup = terminated(pod["status"]["containerStatuses"][0])
    assert (jitter["exitCode"], backup["exitCode"]) == (0, 0)
    assert jitter["finishedAt"] <= backup["startedAt"]
    log = cluster.kubectl("logs", "-n", namespace, pod["metadata"]["name"], "-c", "jitter").stdout
    slept = re.fullmatch(r"Sleeping for (\d+) seconds\n", log)
    assert slept is not None, log
    assert 0 <= int(slept.group(1)) <= 10

    app_repository = admission_policies / APP
    snapshots = helpers.snapshots(app_repository, password=PASSWORD)
    assert [item["paths"] for item in snapshots] == [["/data"]]
    listed = helpers.restic(app_repository, "ls", "latest", password=PASSWORD).stdout.splitlines()
    marker_path = next(line for line in listed if line.endswith("/dir/marker"))
    dumped = helpers.restic(app_repository, "dump", "latest", marker_path, password=PASSWORD)
    assert dumped.stdout == f"{marker}\n"


def test_a_restore_job_gets_the_repository_but_no_jitter(
    cluster: controlplane.ControlPlane, namespace: str, admission_policies: Path
) -> None:
    admitted = server_dry_run(
        cluster, operator_job(owner(cluster, namespace), restore=True), namespace=namespace
    )
    pod_spec = admitted["spec"]["template"]["spec"]
    assert "initContainers" not in pod_spec
    assert [item["name"] for item in pod_spec["volumes"]].count("repository") == 1
    assert pod_spec["containers"][0]["volumeMounts"][-1] == {
        "name": "repository",
        "mountPath": "/repository",
    }


def test_a_job_with_its_own_repository_keeps_it(
    cluster: controlplane.ControlPlane, namespace: str, admission_policies: Path
) -> None:
    own = {"nfs": {"server": "other.nas", "path": "/backups"}}
    job = operator_job(owner(cluster, namespace), repository_volume=own)
    admitted = server_dry_run(cluster, job, namespace=namespace)
    pod_spec = admitted["spec"]["template"]["spec"]
    assert [item for item in pod_spec["volumes"] if item["name"] == "repository"] == [
        {"name": "repository", **own}
    ]
    mounts = [item["name"] for item in pod_spec["containers"][0]["volumeMounts"]]
    assert mounts.count("repository") == 1
    assert [item["name"] for item in pod_spec["initContainers"]] == ["jitter"]


def plain_job(name: str, labels: dict[str, str] | None) -> dict[str, Any]:
    """A Job with no volumes, mounts or init containers at all."""
    job: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": BUSYBOX, "command": ["true"]}],
                }
            }
        },
    }
    if labels is not None:
        job["metadata"]["labels"] = labels
    return job


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("nightly-report", None),
        ("volsync-src-unlabelled", None),
        ("volsync-dst-unlabelled", {"team": "storage"}),
        ("volsync-helper", {"app.kubernetes.io/created-by": "volsync"}),
    ],
)
def test_other_jobs_are_admitted_unchanged(
    cluster: controlplane.ControlPlane,
    namespace: str,
    admission_policies: Path,
    name: str,
    labels: dict[str, str] | None,
) -> None:
    admitted = server_dry_run(cluster, plain_job(name, labels), namespace=namespace)
    pod_spec = admitted["spec"]["template"]["spec"]
    assert "initContainers" not in pod_spec
    assert "volumes" not in pod_spec
    assert "volumeMounts" not in pod_spec["containers"][0]


def test_a_mover_job_without_volumes_or_mounts_gets_both_lists(
    cluster: controlplane.ControlPlane, namespace: str, admission_policies: Path
) -> None:
    labels = {"app.kubernetes.io/created-by": "volsync"}
    admitted = server_dry_run(cluster, plain_job("volsync-src-bare", labels), namespace=namespace)
    pod_spec = admitted["spec"]["template"]["spec"]
    assert [item["name"] for item in pod_spec["initContainers"]] == ["jitter"]
    assert [item["name"] for item in pod_spec["volumes"]] == ["repository"]
    assert pod_spec["containers"][0]["volumeMounts"] == [
        {"name": "repository", "mountPath": "/repository"}
    ]


def test_the_v1beta1_variant_is_accepted_by_the_api_server(
    cluster: controlplane.ControlPlane, admission_policies: Path
) -> None:
    applied = cluster.kubectl(
        "apply", "--server-side", "--dry-run=server", "--force-conflicts",
        "-k", str(ADMISSION / "v1beta1"), "-o", "name",
    )  # fmt: skip
    assert sorted(applied.stdout.split()) == [
        "configmap/volsync-mover-nfs",
        "mutatingadmissionpolicy.admissionregistration.k8s.io/volsync-mover-jitter",
        "mutatingadmissionpolicy.admissionregistration.k8s.io/volsync-mover-nfs",
        "mutatingadmissionpolicybinding.admissionregistration.k8s.io/volsync-mover-jitter",
        "mutatingadmissionpolicybinding.admissionregistration.k8s.io/volsync-mover-nfs",
    ]
