"""`pyvolsync restore NAME --path P --in-place` and `pyvolsync undo NAME` against the local
cluster, the real operator and real restic and kopia: the app is stopped and started again, one
file comes back while every other file keeps what the app wrote since, undo puts the prior bytes
back, a command killed midway is finished by a rerun, and every refusal changes nothing."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.integration.cli.conftest import NFS, PYVOLSYNC, Cli
from tests.integration.cli.test_cli_commands import PASSWORD, SOURCE, backed_up_source, kopia_source
from tests.integration.reconcile import helpers
from tests.support import kubeconfigs

from pyvolsync.planning import inplace

READ = "cat /data/hello.txt /data/dir/deeper/marker /data/after.txt"
DAMAGE = "echo corrupted > /data/hello.txt && echo written-after > /data/after.txt"


def _deployment(name: str, claim: str = "data") -> dict[str, Any]:
    """A Deployment of one busybox pod that keeps the PVC mounted."""
    labels = {"app": name}
    pod = {
        "containers": [
            {
                "name": "app",
                "image": helpers.BUSYBOX,
                "command": ["sh", "-c", "sleep 3600"],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }
        ],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
    }
    spec = {
        "replicas": 1,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": pod},
    }
    return helpers.manifest("apps/v1", "Deployment", name, spec)


def running_app(cluster: controlplane.ControlPlane, namespace: str) -> None:
    apply(cluster, _deployment("web"), namespace=namespace)
    wait_ready(cluster, namespace)


def wait_ready(cluster: controlplane.ControlPlane, namespace: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        found = get(cluster, "deployment", "web", namespace=namespace) or {}
        return found if (found.get("status") or {}).get("readyReplicas") == 1 else None

    return wait_until(ready, what="Deployment web ready with 1 replica", timeout=120)


def journal_of(cluster: controlplane.ControlPlane, namespace: str) -> inplace.Journal | None:
    return inplace.read_journal(get(cluster, "pvc", "data", namespace=namespace) or {})


def read_data(cluster: controlplane.ControlPlane, namespace: str, job: str) -> list[str]:
    return helpers.run_shell(cluster, namespace, job, claim_name="data", script=READ).split("\n")


def _unchanged(cluster: controlplane.ControlPlane, namespace: str) -> None:
    """Nothing was changed: no journal, the app still runs with its replica."""
    assert journal_of(cluster, namespace) is None
    deployment = get(cluster, "deployment", "web", namespace=namespace) or {}
    assert deployment["spec"]["replicas"] == 1
    assert inplace.STOPPED_ANNOTATION not in (deployment["metadata"].get("annotations") or {})


def test_one_file_back_in_place_then_undone_with_the_app_stopped_meanwhile(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    backed_up_source(cluster, namespace)
    running_app(cluster, namespace)
    helpers.run_shell(cluster, namespace, "damage", claim_name="data", script=DAMAGE)
    where = ["-n", namespace, "--repository-nfs", NFS]

    restored = cli(
        "restore", "app", "--in-place", "--path", "/hello.txt", "--safety-copy", "backup",
        "--yes", *where,
    )  # fmt: skip

    assert restored.returncode == 0, restored.stdout + restored.stderr
    said = restored.stdout
    assert "take a safety copy of the volume (a pinned backup)" in said
    assert "Deployment web (1 replica) stopped" in said
    assert "safety copy" in said and "Deployment web (1 replica) started again" in said
    assert f"pyvolsync undo app -n {namespace}" in said
    assert read_data(cluster, namespace, "read-restored")[:3] == ["hello", "1", "written-after"]
    journal = journal_of(cluster, namespace)
    assert journal is not None and journal.phase is inplace.Phase.DONE
    safety = journal.safety_copy
    wait_ready(cluster, namespace)
    listed = json.loads(cli("snapshots", "app", *where, "-o", "json").stdout)
    assert [row["pinned"] for row in listed if safety.startswith(row["id"])] == [True]

    undone = cli("undo", "app", "--yes", *where)

    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "back as they were" in undone.stdout and f"pyvolsync unpin app {safety[:8]}" in (
        undone.stdout
    )
    assert read_data(cluster, namespace, "read-undone")[:3] == ["corrupted", "1", "written-after"]
    wait_ready(cluster, namespace)
    again = cli("undo", "app", "--yes", *where)
    assert again.returncode == 2 and "undone already" in again.stderr


def test_a_restore_killed_midway_leaves_the_app_stopped_and_said_and_a_rerun_finishes(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    backed_up_source(cluster, namespace)
    running_app(cluster, namespace)
    helpers.run_shell(cluster, namespace, "damage", claim_name="data", script=DAMAGE)
    arguments = ("restore", "app", "--in-place", "--path", "/hello.txt", "--yes", "-n",
                 namespace, "--repository-nfs", NFS)  # fmt: skip

    started = cli.start(*arguments)
    wait_until(
        lambda: (found := journal_of(cluster, namespace)) and found.phase is inplace.Phase.STOPPED,
        what="the restore to have stopped the app",
        timeout=120,
    )
    started.send_signal(signal.SIGKILL)
    started.communicate(timeout=30)

    stopped = get(cluster, "deployment", "web", namespace=namespace) or {}
    assert stopped["spec"]["replicas"] == 0
    note = stopped["metadata"]["annotations"][inplace.STOPPED_ANNOTATION]
    assert "PVC data" in note and "it had 1 replicas" in note
    described = cli("describe", "app", "-n", namespace)
    assert "unfinished at step stopped" in described.stdout, described.stdout
    other = cli("restore", "app", "--in-place", "--path", "/dir", "--yes", "-n", namespace,
                "--repository-nfs", NFS)  # fmt: skip
    assert other.returncode == 2 and "is unfinished at step stopped" in other.stderr

    finished = cli(*arguments)

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "finishing the in-place restore" in finished.stdout
    assert read_data(cluster, namespace, "read-finished")[:3] == ["hello", "1", "written-after"]
    wait_ready(cluster, namespace)


def test_refusals_name_the_cause_and_change_nothing(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    backed_up_source(cluster, namespace)
    running_app(cluster, namespace)
    where = ["-n", namespace, "--repository-nfs", NFS]

    missing = cli("restore", "app", "--in-place", "--path", "/helo.txt", "--yes", *where)
    no_place = cli("restore", "app", "--path", "/hello.txt", *where)
    no_terminal = cli("restore", "app", "--in-place", "--path", "/hello.txt", *where)
    nothing_to_undo = cli("undo", "app", "--yes", *where)
    plain = _deployment("plain")["spec"]["template"]["spec"]
    apply(cluster, helpers.manifest("v1", "Pod", "plain", plain), namespace=namespace)
    cluster.wait_for("pod", "plain", "Ready", namespace=namespace, timeout=90)
    blocked = cli("restore", "app", "--in-place", "--path", "/hello.txt", "--yes", *where)

    assert missing.returncode == 2 and "has no /helo.txt" in missing.stderr
    assert "the closest in /: /hello.txt" in missing.stderr
    assert no_place.returncode == 2 and "needs --in-place" in no_place.stderr
    assert no_terminal.returncode == 2 and "pass --yes" in no_terminal.stderr
    assert "It will stop Deployment web (1 replica)" in no_terminal.stdout, "the plan comes first"
    assert nothing_to_undo.returncode == 2
    assert "no in-place restore to undo" in nothing_to_undo.stderr
    assert blocked.returncode == 2, blocked.stdout + blocked.stderr
    assert "pod plain (no controller) mounts PVC data" in blocked.stderr
    assert "nothing was changed" in blocked.stderr
    _unchanged(cluster, namespace)


def test_a_kopia_file_back_in_place_and_undone(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    kopia_source(cluster, namespace, password=PASSWORD)
    helpers.wait_for_manual_sync(cluster, SOURCE, "web", namespace, "first")
    helpers.run_shell(cluster, namespace, "damage", claim_name="data", script=DAMAGE)
    where = ["-n", namespace, "--repository-nfs", NFS]

    restored = cli("restore", "web", "--in-place", "--path", "/hello.txt", "--yes", *where)
    back = read_data(cluster, namespace, "read-restored")[:3]
    undone = cli("undo", "web", "--yes", *where)

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "It will stop nothing (no workload mounts the PVC)" in restored.stdout
    assert "(a VolumeSnapshot of class local-snapshots)" in restored.stdout, "the default class"
    journal = journal_of(cluster, namespace)
    assert journal is not None and journal.volume_snapshot.startswith("data-before-restore-")
    assert back == ["hello", "1", "written-after"]
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert f"the VolumeSnapshot {journal.volume_snapshot} stays" in undone.stdout
    assert read_data(cluster, namespace, "read-undone")[:3] == ["corrupted", "1", "written-after"]
    assert get(cluster, "volumesnapshot", journal.volume_snapshot, namespace=namespace)
    wait_until(
        lambda: get(cluster, "pvc", journal.volume_snapshot, namespace=namespace) is None,
        what="the volume made from the VolumeSnapshot to be deleted after the undo",
        timeout=60,
    )


RULES_WITHOUT_SCALING = [
    {"apiGroups": ["volsync.backube"], "resources": ["replicationsources",
     "replicationdestinations"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["pods", "pods/log", "secrets", "serviceaccounts"],
     "verbs": ["get", "list"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "replicasets"],
     "verbs": ["get", "list"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "delete"]},
]  # fmt: skip
"""Everything an in-place restore needs but patching Deployments."""


def _kubeconfig_of(cluster: controlplane.ControlPlane, namespace: str, path: Path) -> Path:
    """Write a kubeconfig that logs in as ServiceAccount `restorer`, bound to a Role that may
    do everything an in-place restore needs but scale Deployments."""
    return kubeconfigs.for_role(cluster, "restorer", namespace, RULES_WITHOUT_SCALING, path)


def test_a_user_who_may_not_scale_the_app_is_refused_before_anything_changes(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, tmp_path: Path
) -> None:
    backed_up_source(cluster, namespace)
    running_app(cluster, namespace)
    kubeconfig = _kubeconfig_of(cluster, namespace, tmp_path / "restorer.kubeconfig")

    refused = subprocess.run(
        [PYVOLSYNC, "restore", "app", "-n", namespace, "--in-place", "--path", "/hello.txt",
         "--yes", "--repository-nfs", NFS, "--kubeconfig", str(kubeconfig)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"you may not patch deployments in namespace {namespace}" in refused.stderr
    assert "nothing was changed" in refused.stderr
    _unchanged(cluster, namespace)
