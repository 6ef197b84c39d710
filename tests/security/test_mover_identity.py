"""Movers run as an ordinary user with no capabilities, unless their namespace opts in.

Each case checks what a cluster administrator would: the mover Job's pod spec, that a namespace
enforcing the Pod Security Standards admits it (``restricted`` for ordinary movers,
``baseline`` for privileged ones), the user the mover's processes really had (read from /proc
while they ran, see processes.py) and who owns what they wrote. The repository is a PVC of the
namespace mounted through ``moverVolumes`` (no NFS volume, which ``restricted`` forbids), so the
operator here runs without a repository volume of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get
from tests.integration.reconcile import helpers
from tests.security import processes
from tests.support import operator as support

from pyvolsync.planning import security

MOVER_USER = security.MOVER_USER
REPOSITORY_VOLUME = {
    "mountPath": "repository",
    "volumeSource": {"persistentVolumeClaim": {"claimName": "repository"}},
}
# A sparse file makes the backup (and the restore) last long enough to be seen in /proc.
WRITE = helpers.WRITE_SAMPLE.format(marker="identity") + " && truncate -s 256M /data/sparse"
PRIVILEGED = "volsync.backube/privileged-movers"
ENFORCE = "pod-security.kubernetes.io/enforce"


@pytest.fixture(scope="module")
def operator(
    cluster: controlplane.ControlPlane, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[support.Operator]:
    """The operator, for this module only, without a repository volume of its own."""
    directory = tmp_path_factory.mktemp("operator")
    with support.running(cluster, directory, repository_nfs=False) as running:
        yield running


def prepare(plane: controlplane.ControlPlane, namespace: str, *, owner: str = "") -> None:
    """Create the app's data (owned by ``owner`` when given), the repository PVC and Secret."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "repo"},
        "stringData": {
            "RESTIC_REPOSITORY": "/mnt/repository/restic",
            "RESTIC_PASSWORD": "identity-test-password",
        },
    }
    apply(plane, helpers.claim("data"), helpers.claim("repository"), secret, namespace=namespace)
    script = WRITE + (f" && chown -R {owner} /data" if owner else "")
    helpers.run_shell(plane, namespace, "writer", claim_name="data", script=script)


def label_namespace(plane: controlplane.ControlPlane, namespace: str, label: str) -> None:
    """Enforce a Pod Security Standards level on the namespace (after the writer ran)."""
    plane.kubectl("label", "namespace", namespace, f"{ENFORCE}={label}")


def volume_directory(plane: controlplane.ControlPlane, namespace: str, claim: str) -> Path:
    """The node's directory behind a bound PVC."""
    found = get(plane, "persistentvolumeclaim", claim, namespace=namespace)
    assert found is not None, claim
    return plane.directory / "node" / "volumes" / found["spec"]["volumeName"]


def back_up(
    plane: controlplane.ControlPlane, namespace: str, **restic: Any
) -> tuple[dict[str, Any], dict[str, Any], list[processes.Identity]]:
    """Run one backup; return its status, its Job and the mover's processes."""
    name = f"app-{secrets.token_hex(3)}"  # no other test's mover pod has this name
    source = helpers.replication_source(
        name, copy_method="Direct", moverVolumes=[REPOSITORY_VOLUME], **restic
    )
    api_port = plane.server.rsplit(":", 1)[1]
    with processes.PodProcesses(f"volsync-src-{name}-", api_port=api_port) as watched:
        apply(plane, source, namespace=namespace)
        status, jobs = helpers.wait_for_sync_seeing_jobs(
            plane, "replicationsource", name, namespace, "first"
        )
    assert status["latestMoverStatus"]["result"] == "Successful", status
    assert len(jobs) == 1, jobs
    return status, next(iter(jobs.values())), list(watched.seen.values())


def restore(
    plane: controlplane.ControlPlane, namespace: str, **restic: Any
) -> tuple[dict[str, Any], Path]:
    """Restore the newest backup into a new PVC; return the Job and the PVC's directory."""
    destination = helpers.replication_destination(
        "restore", moverVolumes=[REPOSITORY_VOLUME], **restic
    )
    apply(plane, destination, namespace=namespace)
    status, jobs = helpers.wait_for_sync_seeing_jobs(
        plane, "replicationdestination", "restore", namespace, "restore-once"
    )
    assert status["latestMoverStatus"]["result"] == "Successful", status
    assert len(jobs) == 1, jobs
    restored = volume_directory(plane, namespace, "volsync-restore-dest")
    return next(iter(jobs.values())), restored


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["template"]["spec"]
    return spec


def container_context(job: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = pod_spec(job)["containers"][0]["securityContext"]
    return context


def movers(seen: list[processes.Identity]) -> list[processes.Identity]:
    """The mover's own processes (pyvolsync-mover and the restic it runs)."""
    found = [item for item in seen if item.command in {"pyvolsync-mover", "restic"}]
    assert {item.command for item in found} == {"pyvolsync-mover", "restic"}, seen
    return found


def owners(directory: Path) -> set[tuple[int, int]]:
    """(user, group) of every file and directory below ``directory``."""
    return {
        (path.lstat().st_uid, path.lstat().st_gid)
        for path in directory.rglob("*")
        if not path.is_symlink()
    }


def test_an_ordinary_namespaces_movers_run_as_a_user_without_capabilities(
    cluster: controlplane.ControlPlane, namespace: str, operator: support.Operator
) -> None:
    prepare(cluster, namespace)
    label_namespace(cluster, namespace, "restricted")

    _status, job, seen = back_up(cluster, namespace)
    assert not pod_spec(job).get("securityContext")
    assert container_context(job) == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": MOVER_USER,
        "runAsGroup": MOVER_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for process in movers(seen):
        assert set(process.uids) == {MOVER_USER}, process
        assert set(process.gids) == {MOVER_USER}, process
        assert process.groups == (), process
        assert process.effective_capabilities == 0, process
    repository = volume_directory(cluster, namespace, "repository") / "restic"
    assert owners(repository) == {(MOVER_USER, MOVER_USER)}

    restore_job, restored = restore(cluster, namespace)
    assert container_context(restore_job) == container_context(job)
    assert (restored / "dir" / "deeper" / "marker").read_text() == "identity\n"
    # restic, not being root, cannot give the files their owner back: they are the mover's.
    assert owners(restored) == {(MOVER_USER, MOVER_USER)}


def test_the_mover_security_context_chooses_the_user(
    cluster: controlplane.ControlPlane, namespace: str, operator: support.Operator
) -> None:
    prepare(cluster, namespace)
    label_namespace(cluster, namespace, "restricted")
    context = {"runAsUser": 2345, "runAsGroup": 3456, "fsGroup": 4567}

    _status, job, seen = back_up(cluster, namespace, moverSecurityContext=context)
    assert pod_spec(job)["securityContext"] == context
    container = container_context(job)
    assert "runAsUser" not in container and "runAsGroup" not in container
    assert container["runAsNonRoot"] is True
    for process in movers(seen):
        assert set(process.uids) == {2345}, process
        assert set(process.gids) == {3456}, process
        assert process.groups == (4567,), process
    repository = volume_directory(cluster, namespace, "repository") / "restic"
    assert {user for user, _group in owners(repository)} == {2345}


def test_a_namespace_that_opts_in_gets_root_movers_within_the_baseline_standard(
    cluster: controlplane.ControlPlane, namespace: str, operator: support.Operator
) -> None:
    prepare(cluster, namespace, owner="1234:1235")
    cluster.kubectl("annotate", "namespace", namespace, f"{PRIVILEGED}=true")
    label_namespace(cluster, namespace, "baseline")

    _status, job, seen = back_up(cluster, namespace)
    context = container_context(job)
    assert context["runAsUser"] == 0
    assert context["capabilities"] == {
        "drop": ["ALL"],
        "add": ["DAC_OVERRIDE", "CHOWN", "FOWNER"],
    }
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert "runAsNonRoot" not in context
    for process in movers(seen):
        assert set(process.uids) == {0}, process

    _restore_job, restored = restore(cluster, namespace)
    # As root with CHOWN, the restore gives every file its original owner back.
    assert owners(restored) == {(1234, 1235)}


def test_root_is_refused_where_the_namespace_did_not_opt_in(
    cluster: controlplane.ControlPlane, namespace: str, operator: support.Operator
) -> None:
    prepare(cluster, namespace)
    source = helpers.replication_source(
        "app",
        copy_method="Direct",
        moverVolumes=[REPOSITORY_VOLUME],
        moverSecurityContext={"runAsUser": 0},
    )
    apply(cluster, source, namespace=namespace)
    condition = helpers.wait_for_reason(cluster, "replicationsource", "app", namespace, "Error")
    assert "moverSecurityContext.runAsUser is 0" in condition["message"]
    assert PRIVILEGED in condition["message"]
    assert helpers.mover_jobs(cluster, namespace) == []
    warnings = helpers.event_reasons(cluster, namespace, "app")
    assert any(kind == "Warning" and PRIVILEGED in note for kind, _reason, note in warnings)
