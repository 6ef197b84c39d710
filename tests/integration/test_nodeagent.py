"""The node agent makes the local cluster run pods and volumes the way a real node does.

Each test does what a user of a real cluster would do with kubectl (apply Jobs, claims and
snapshots, read logs and status) and checks what that user would check: the data, the output,
the reported exit codes and phases. The node's directories are only read to prove that deleted
things are really gone.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
from typing import Any

import pytest
from localcluster import controlplane, testing

pytestmark = pytest.mark.cluster

IMAGE = "ghcr.io/home-operations/busybox:1.37.0"


def claim(name: str, *, storage_class: str | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
        **spec,
    }
    if storage_class:
        body["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": body,
    }


def pod_spec(script: str, *, claim_name: str | None = None, **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": IMAGE, "command": ["sh", "-c", script]}
    spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container], **extra}
    if claim_name:
        container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]
    return spec


def job(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"spec": spec}},
    }


def finished_condition(cluster: controlplane.ControlPlane, namespace: str, name: str) -> str | None:
    document = testing.get(cluster, "job", name, namespace=namespace) or {}
    for condition in document.get("status", {}).get("conditions", []):
        if condition["type"] in {"Complete", "Failed"} and condition["status"] == "True":
            return str(condition["type"])
    return None


def run_job(
    cluster: controlplane.ControlPlane, namespace: str, name: str, spec: dict[str, Any]
) -> str:
    """Run a Job to completion and return its output (as `kubectl logs job/<name>` shows it)."""
    testing.apply(cluster, job(name, spec), namespace=namespace)
    outcome = testing.wait_until(
        lambda: finished_condition(cluster, namespace, name), what=f"job {name} to finish"
    )
    output = cluster.kubectl("logs", "-n", namespace, f"job/{name}").stdout
    assert outcome == "Complete", f"job {name} failed; output:\n{output}"
    return output


def bound(cluster: controlplane.ControlPlane, namespace: str, name: str) -> dict[str, Any] | None:
    document = testing.get(cluster, "pvc", name, namespace=namespace)
    if document and document.get("status", {}).get("phase") == "Bound":
        return document
    return None


def finished_pod(
    cluster: controlplane.ControlPlane, namespace: str, name: str
) -> dict[str, Any] | None:
    document = testing.get(cluster, "pod", name, namespace=namespace)
    if document and document.get("status", {}).get("phase") in {"Succeeded", "Failed"}:
        return document
    return None


def pod_story(cluster: controlplane.ControlPlane, namespace: str, name: str) -> str:
    """The pod's status and the node agent's lines about it, for a failed wait."""
    document = testing.get(cluster, "pod", name, namespace=namespace) or {}
    agent = testing.node_agent_lines(cluster, namespace, name)
    return f"pod status: {json.dumps(document.get('status'))}\nnode agent:\n{agent}"


def volume_snapshot(name: str, claim_name: str, *, snapshot_class: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"source": {"persistentVolumeClaimName": claim_name}}
    if snapshot_class:
        spec["volumeSnapshotClassName"] = snapshot_class
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name},
        "spec": spec,
    }


def pod(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def write_random_data(cluster: controlplane.ControlPlane, namespace: str, claim_name: str) -> str:
    """Fill a claim with random files; return their checksums as the writer saw them."""
    script = (
        "mkdir -p /data/sub && head -c 200000 /dev/urandom > /data/sub/blob"
        " && echo hello > /data/greeting && chmod 640 /data/greeting"
        " && cd /data && sha256sum sub/blob greeting && stat -c '%a %n' greeting"
    )
    return run_job(cluster, namespace, "writer", pod_spec(script, claim_name=claim_name))


CHECKSUMS = "cd /data && sha256sum sub/blob greeting && stat -c '%a %n' greeting"


def test_a_job_reads_back_what_another_job_wrote(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    token = secrets.token_hex(8)
    testing.apply(cluster, claim("shared"), namespace=namespace)
    run_job(
        cluster, namespace, "writer", pod_spec(f"echo {token} > /data/token", claim_name="shared")
    )
    output = run_job(cluster, namespace, "reader", pod_spec("cat /data/token", claim_name="shared"))
    assert output.strip() == token


def test_a_restored_snapshot_has_the_same_bytes(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    testing.apply(cluster, claim("origin"), namespace=namespace)
    written = write_random_data(cluster, namespace, "origin")
    snapshot = volume_snapshot("snap", "origin", snapshot_class="longhorn-snapshot-vsc")
    testing.apply(cluster, snapshot, namespace=namespace)
    source = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"}
    testing.apply(
        cluster, claim("restored", storage_class="longhorn", dataSource=source), namespace=namespace
    )
    ready = testing.wait_until(
        lambda: (
            (testing.get(cluster, "volumesnapshot", "snap", namespace=namespace) or {})
            .get("status", {})
            .get("readyToUse")
        ),
        what="the snapshot to be ready",
    )
    assert ready is True
    status = testing.get(cluster, "volumesnapshot", "snap", namespace=namespace)["status"]  # type: ignore[index]
    assert status["restoreSize"] == "1Gi"
    output = run_job(cluster, namespace, "reader", pod_spec(CHECKSUMS, claim_name="restored"))
    assert output == written


def test_deleting_a_snapshot_deletes_its_content_and_data(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    testing.apply(cluster, claim("origin"), namespace=namespace)
    run_job(cluster, namespace, "writer", pod_spec("echo x > /data/x", claim_name="origin"))
    testing.apply(cluster, volume_snapshot("snap", "origin"), namespace=namespace)
    content = testing.wait_until(
        lambda: (
            (testing.get(cluster, "volumesnapshot", "snap", namespace=namespace) or {})
            .get("status", {})
            .get("boundVolumeSnapshotContentName")
        ),
        what="the snapshot to be bound",
    )
    data = cluster.directory / "node" / "snapshots" / content
    assert (data / "x").read_text() == "x\n"
    cluster.kubectl("delete", "volumesnapshot", "snap", "-n", namespace, "--timeout=30s")
    assert testing.get(cluster, "volumesnapshotcontent", content) is None
    assert not data.exists()


def test_a_clone_has_the_same_bytes(cluster: controlplane.ControlPlane, namespace: str) -> None:
    testing.apply(cluster, claim("origin"), namespace=namespace)
    written = write_random_data(cluster, namespace, "origin")
    source = {"kind": "PersistentVolumeClaim", "name": "origin"}
    testing.apply(cluster, claim("copy", dataSource=source), namespace=namespace)
    output = run_job(cluster, namespace, "reader", pod_spec(CHECKSUMS, claim_name="copy"))
    assert output == written


def test_a_claim_for_a_volume_populator_is_left_alone(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    source = {"apiGroup": "volsync.backube", "kind": "ReplicationDestination", "name": "restore"}
    testing.apply(cluster, claim("populated", dataSourceRef=source), namespace=namespace)
    testing.apply(cluster, claim("plain"), namespace=namespace)
    testing.wait_until(lambda: bound(cluster, namespace, "plain"), what="the plain claim to bind")
    populated = testing.get(cluster, "pvc", "populated", namespace=namespace)
    assert populated is not None
    assert populated["status"]["phase"] == "Pending"
    assert "volumeName" not in populated["spec"]


def test_a_volume_populator_can_hand_a_restored_volume_to_the_waiting_claim(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    """What VolSync's populator does: restore into a prime claim, then rebind its PV."""
    testing.apply(cluster, claim("origin"), namespace=namespace)
    written = write_random_data(cluster, namespace, "origin")
    testing.apply(cluster, volume_snapshot("latest", "origin"), namespace=namespace)
    populator = {"apiGroup": "volsync.backube", "kind": "ReplicationDestination", "name": "rd"}
    app = claim("app", storage_class="openebs-hostpath", dataSourceRef=populator)
    testing.apply(cluster, app, namespace=namespace)
    testing.apply(
        cluster, job("reader", pod_spec(CHECKSUMS, claim_name="app")), namespace=namespace
    )
    selected = testing.wait_until(
        lambda: (
            (testing.get(cluster, "pvc", "app", namespace=namespace) or {})
            .get("metadata", {})
            .get("annotations", {})
            .get("volume.kubernetes.io/selected-node")
        ),
        what="the scheduler to select a node for the waiting claim",
    )
    app_uid = testing.get(cluster, "pvc", "app", namespace=namespace)["metadata"]["uid"]  # type: ignore[index]
    snapshot = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "latest"}
    prime = claim(f"vs-prime-{app_uid}", storage_class="openebs-hostpath", dataSourceRef=snapshot)
    prime["metadata"]["annotations"] = {"volume.kubernetes.io/selected-node": selected}
    testing.apply(cluster, prime, namespace=namespace)
    volume = testing.wait_until(
        lambda: (
            (bound(cluster, namespace, f"vs-prime-{app_uid}") or {})
            .get("spec", {})
            .get("volumeName")
        ),
        what="the prime claim to be restored",
    )
    claim_ref = {"namespace": namespace, "name": "app", "uid": app_uid, "resourceVersion": None}
    cluster.kubectl("patch", "pv", volume, "-p", json.dumps({"spec": {"claimRef": claim_ref}}))
    testing.wait_until(lambda: bound(cluster, namespace, "app"), what="the claim to bind")
    cluster.kubectl("delete", "pvc", f"vs-prime-{app_uid}", "-n", namespace, "--wait=false")
    outcome = testing.wait_until(
        lambda: finished_condition(cluster, namespace, "reader"), what="the reader to finish"
    )
    assert outcome == "Complete"
    assert cluster.kubectl("logs", "-n", namespace, "job/reader").stdout == written
    assert testing.get(cluster, "pv", volume)["spec"]["claimRef"]["name"] == "app"  # type: ignore[index]


def test_a_wait_for_first_consumer_claim_binds_when_a_pod_uses_it(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    testing.apply(cluster, claim("cache", storage_class="openebs-hostpath"), namespace=namespace)
    testing.apply(cluster, claim("plain"), namespace=namespace)
    testing.wait_until(lambda: bound(cluster, namespace, "plain"), what="the plain claim to bind")
    assert bound(cluster, namespace, "cache") is None
    output = run_job(
        cluster,
        namespace,
        "user",
        pod_spec("echo used > /data/x && cat /data/x", claim_name="cache"),
    )
    assert output == "used\n"
    document = bound(cluster, namespace, "cache")
    assert document is not None
    annotations = document["metadata"]["annotations"]
    assert annotations["volume.kubernetes.io/selected-node"] == "local-node"


def test_an_admission_policy_init_container_runs_before_the_job(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    policy_name = f"init-{namespace}"
    init = {
        "name": "jitter",
        "image": IMAGE,
        "command": ["sh", "-c", "echo init-ran > /shared/marker; echo jitter done"],
        "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
    }
    value = (
        "Object.spec.template.spec.initContainers{name: 'jitter',"
        f" image: '{IMAGE}', command: {json.dumps(init['command'])},"
        " volumeMounts: [Object.spec.template.spec.initContainers.volumeMounts{"
        "name: 'shared', mountPath: '/shared'}]}"
    )
    # Append to an (emptied) list: kube-apiserver 1.36.3 panics when a JSONPatch value is a
    # list of typed objects, but a single typed object is fine.
    path = "/spec/template/spec/initContainers"
    expression = (
        f"[JSONPatch{{op: 'add', path: '{path}', value: []}},"
        f" JSONPatch{{op: 'add', path: '{path}/-', value: {value}}}]"
    )
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": policy_name},
        "spec": {
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["batch"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["jobs"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            },
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "mutations": [
                {
                    "patchType": "JSONPatch",
                    "jsonPatch": {"expression": expression},
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": policy_name},
        "spec": {"policyName": policy_name},
    }
    testing.apply(cluster, policy, binding)
    try:
        spec = pod_spec("cat /shared/marker")
        spec["containers"][0]["volumeMounts"] = [{"name": "shared", "mountPath": "/shared"}]
        spec["volumes"] = [{"name": "shared", "emptyDir": {}}]
        output = testing.wait_until(
            lambda: _run_mutated_job(cluster, namespace, spec), what="the policy to take effect"
        )
    finally:
        cluster.kubectl("delete", "mutatingadmissionpolicybinding,mutatingadmissionpolicy",
                        policy_name, "--ignore-not-found")  # fmt: skip
    assert output == "init-ran\n"
    pods = testing.get(cluster, "pods", namespace=namespace)
    assert pods is not None
    (document,) = [p for p in pods["items"] if p["metadata"]["labels"].get("job-name") == "mutated"]
    (jitter,) = document["status"]["initContainerStatuses"]
    main = document["status"]["containerStatuses"][0]
    assert jitter["state"]["terminated"]["reason"] == "Completed"
    assert jitter["state"]["terminated"]["finishedAt"] <= main["state"]["terminated"]["startedAt"]
    pod_name = document["metadata"]["name"]
    jitter_log = cluster.kubectl("logs", "-n", namespace, pod_name, "-c", "jitter").stdout
    assert jitter_log == "jitter done\n"


def _run_mutated_job(
    cluster: controlplane.ControlPlane, namespace: str, spec: dict[str, Any]
) -> str | None:
    """Create the Job; if the policy was not active yet (no init container), try again."""
    testing.apply(cluster, job("mutated", spec), namespace=namespace)
    created = testing.get(cluster, "job", "mutated", namespace=namespace) or {}
    if not created["spec"]["template"]["spec"].get("initContainers"):
        cluster.kubectl("delete", "job", "mutated", "-n", namespace, "--cascade=foreground")
        return None
    return run_job(cluster, namespace, "mutated", spec)


def test_a_pod_runs_with_the_requested_identity_and_fs_group(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    testing.apply(cluster, claim("data", storage_class="longhorn"), namespace=namespace)
    script = (
        "id -u; id -g; id -G; stat -c '%g %a' /data; touch /data/new && stat -c '%u %g' /data/new"
    )
    security = {
        "runAsUser": 1000,
        "runAsGroup": 3000,
        "fsGroup": 2000,
        "supplementalGroups": [4000],
    }
    spec = pod_spec(script, claim_name="data", securityContext=security)
    uid, gid, groups, directory, new_file = run_job(cluster, namespace, "who", spec).splitlines()
    assert (uid, gid) == ("1000", "3000")
    assert set(groups.split()) == {"3000", "2000", "4000"}
    assert directory == "2000 2775"
    assert new_file == "1000 2000"


def test_termination_messages_are_reported(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    spec = pod_spec("echo 'result: partial' > /dev/termination-log; exit 3")
    spec["containers"].append(
        {
            "name": "fallback",
            "image": IMAGE,
            "command": ["sh", "-c", "echo first; echo the last words; exit 1"],
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }
    )
    testing.apply(cluster, pod("ends", spec), namespace=namespace)
    document = testing.wait_until(
        lambda: finished_pod(cluster, namespace, "ends"), what="the pod to finish"
    )
    assert document["status"]["phase"] == "Failed"
    states = {s["name"]: s["state"]["terminated"] for s in document["status"]["containerStatuses"]}
    assert states["main"]["exitCode"] == 3
    assert states["main"]["reason"] == "Error"
    assert states["main"]["message"] == "result: partial\n"
    assert states["fallback"]["message"] == "first\nthe last words"


def test_deleting_a_pod_stops_its_processes(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    spec = pod_spec("trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done")
    testing.apply(cluster, pod("sleeper", spec), namespace=namespace)

    def running_pid() -> int | None:
        document = testing.get(cluster, "pod", "sleeper", namespace=namespace) or {}
        for status in document.get("status", {}).get("containerStatuses", []):
            if "running" in status["state"] and status.get("containerID"):
                return int(status["containerID"].rsplit("/", 1)[1])
        return None

    pid = testing.wait_until(running_pid, what="the pod to run")
    assert pathlib.Path(f"/proc/{pid}").exists()
    cluster.kubectl("delete", "pod", "sleeper", "-n", namespace, "--timeout=30s")
    assert testing.get(cluster, "pod", "sleeper", namespace=namespace) is None
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_deleting_a_namespace_removes_its_pods_and_volumes(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    testing.apply(cluster, claim("data"), namespace=namespace)
    testing.apply(
        cluster, pod("sleeper", pod_spec("sleep 3600", claim_name="data")), namespace=namespace
    )
    testing.wait_until(
        lambda: (
            (testing.get(cluster, "pod", "sleeper", namespace=namespace) or {})
            .get("status", {})
            .get("phase")
            == "Running"
        ),
        what="the pod to run",
    )
    volume = bound(cluster, namespace, "data")["spec"]["volumeName"]  # type: ignore[index]
    directory = cluster.directory / "node" / "volumes" / volume
    assert directory.is_dir()
    cluster.kubectl("delete", "namespace", namespace, "--timeout=60s")
    assert testing.get(cluster, "namespace", namespace) is None
    testing.wait_until(lambda: testing.get(cluster, "pv", volume) is None, what="the PV to go")
    assert not directory.exists()


def test_a_snapshot_fault_reports_an_error_instead_of_a_snapshot(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    fault = "localcluster.pyvolsync.dev/snapshot-fault=fail"
    cluster.kubectl("annotate", "namespace", namespace, fault)
    testing.apply(cluster, claim("origin"), namespace=namespace)
    testing.apply(cluster, volume_snapshot("snap", "origin"), namespace=namespace)
    status = testing.wait_until(
        lambda: (
            (testing.get(cluster, "volumesnapshot", "snap", namespace=namespace) or {})
            .get("status", {})
            .get("error")
            and testing.get(cluster, "volumesnapshot", "snap", namespace=namespace)["status"]
        ),  # type: ignore[index]
        what="the snapshot to fail",
    )
    assert status["readyToUse"] is False
    assert "injected fault" in status["error"]["message"]
    assert "boundVolumeSnapshotContentName" not in status


def test_a_full_volume_fault_makes_writes_fail_with_no_space(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    document = claim("small")
    document["metadata"]["annotations"] = {"localcluster.pyvolsync.dev/volume-fault": "full=64Ki"}
    testing.apply(cluster, document, namespace=namespace)
    spec = pod_spec("head -c 1000000 /dev/zero > /data/big", claim_name="small")
    testing.apply(cluster, pod("filler", spec), namespace=namespace)
    finished = testing.wait_until(
        lambda: finished_pod(cluster, namespace, "filler"), what="the pod to finish"
    )
    assert finished["status"]["phase"] == "Failed"
    output = cluster.kubectl("logs", "-n", namespace, "filler").stdout
    assert "No space left on device" in output


def test_a_killed_container_is_restarted_per_restart_policy(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    spec = pod_spec("echo started; while true; do sleep 0.1; done", restartPolicy="OnFailure")
    testing.apply(cluster, pod("victim", spec), namespace=namespace)

    def status() -> dict[str, Any]:
        document = testing.get(cluster, "pod", "victim", namespace=namespace) or {}
        return (document.get("status", {}).get("containerStatuses") or [{}])[0]  # type: ignore[no-any-return]

    testing.wait_until(
        lambda: (
            cluster.kubectl("logs", "-n", namespace, "victim", check=False).stdout == "started\n"
        ),
        what="the container to start",
    )
    cluster.kubectl(
        "annotate",
        "pod",
        "victim",
        "-n",
        namespace,
        "localcluster.pyvolsync.dev/kill-container=main",
    )
    restarted = testing.wait_until(
        lambda: status().get("restartCount") == 1 and "running" in status()["state"] and status(),
        what="the container to restart",
    )
    assert restarted["lastState"]["terminated"]["exitCode"] == 137
    previous = cluster.kubectl("logs", "-n", namespace, "victim", "--previous").stdout
    assert previous == "started\n"
    annotations = testing.get(cluster, "pod", "victim", namespace=namespace)["metadata"]  # type: ignore[index]
    assert "localcluster.pyvolsync.dev/kill-container" not in annotations.get("annotations", {})


def test_an_active_deadline_stops_the_pod(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    spec = pod_spec("sleep 60", activeDeadlineSeconds=1, terminationGracePeriodSeconds=1)
    testing.apply(cluster, pod("slow", spec), namespace=namespace)
    document = testing.wait_until(
        lambda: finished_pod(cluster, namespace, "slow"),
        what="the deadline to stop the pod",
        explain=lambda: pod_story(cluster, namespace, "slow"),
    )
    assert document["status"]["phase"] == "Failed"
    assert document["status"]["reason"] == "DeadlineExceeded"


def pull_error(cluster: controlplane.ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    """Wait until the pod's container waits with ErrImagePull; return that waiting state."""

    def waiting() -> dict[str, Any] | None:
        document = testing.get(cluster, "pod", name, namespace=namespace) or {}
        for status in document.get("status", {}).get("containerStatuses", []):
            state = status["state"].get("waiting", {})
            if state.get("reason") == "ErrImagePull":
                return state  # type: ignore[no-any-return]
        return None

    return dict(testing.wait_until(waiting, what="the pull error"))


def test_an_image_without_a_local_mapping_waits_like_a_failed_pull(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    spec = pod_spec("true")
    spec["containers"][0]["image"] = "docker.io/library/nginx:1.27"
    testing.apply(cluster, pod("unmapped", spec), namespace=namespace)
    state = pull_error(cluster, namespace, "unmapped")
    assert "nginx" in state["message"]
    document = testing.get(cluster, "pod", "unmapped", namespace=namespace)
    assert document is not None
    assert document["status"]["phase"] == "Pending"


def test_a_distroless_debug_image_runs_its_busybox_shell(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    spec = pod_spec("")
    spec["containers"][0] = {
        "name": "main",
        "image": "gcr.io/distroless/static:debug",
        "args": ["-c", "echo shell=$0; /busybox/ls /busybox/cat; echo path=$PATH"],
    }
    testing.apply(cluster, pod("distroless", spec), namespace=namespace)
    document = testing.wait_until(
        lambda: finished_pod(cluster, namespace, "distroless"), what="the pod to finish"
    )
    assert document["status"]["phase"] == "Succeeded", pod_story(cluster, namespace, "distroless")
    log = cluster.kubectl("logs", "-n", namespace, "distroless").stdout.splitlines()
    assert log[:2] == ["shell=/busybox/sh", "/busybox/cat"]
    assert log[2].endswith(":/busybox")


def test_a_distroless_image_without_a_shell_is_refused_saying_so(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    spec = pod_spec("true")
    spec["containers"][0]["image"] = "gcr.io/distroless/static:nonroot"
    testing.apply(cluster, pod("shell-less", spec), namespace=namespace)
    state = pull_error(cluster, namespace, "shell-less")
    assert "use its :debug tag" in state["message"], state


def test_nfs_volumes_and_nfs_persistent_volumes_share_one_local_export(
    cluster: controlplane.ControlPlane, namespace: str
) -> None:
    server, path = "nas.example", f"/exports/{namespace}"
    nfs = {"server": server, "path": path}
    writer = pod_spec("echo via-volume > /repository/note")
    writer["containers"][0]["volumeMounts"] = [{"name": "repository", "mountPath": "/repository"}]
    writer["volumes"] = [{"name": "repository", "nfs": nfs}]
    run_job(cluster, namespace, "writer", writer)
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"nfs-{namespace}"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "nfs": nfs,
            "claimRef": {"namespace": namespace, "name": "repository"},
        },
    }
    testing.apply(cluster, volume)
    static = claim("repository", storageClassName="", volumeName=f"nfs-{namespace}")
    static["spec"]["accessModes"] = ["ReadWriteMany"]
    testing.apply(cluster, static, namespace=namespace)
    try:
        output = run_job(
            cluster, namespace, "reader", pod_spec("cat /data/note", claim_name="repository")
        )
    finally:
        cluster.kubectl("delete", "pv", f"nfs-{namespace}", "--wait=false")
    assert output == "via-volume\n"
    export = cluster.directory / "node" / "nfs" / server / path.lstrip("/")
    assert (export / "note").read_text() == "via-volume\n"
