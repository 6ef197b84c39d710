"""Shared pieces of the deployment tests: paths, the test's NFS export, server dry runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from localcluster import controlplane

ROOT = Path(__file__).resolve().parents[3]
ADMISSION = ROOT / "deploy" / "admission"
POLICY_NAMESPACE = "volsync-system"
NFS_SERVER = "nfs.admission.test"
NFS_PATH = "/cluster/volsync"
POLICY_NAMES = ("volsync-mover-jitter", "volsync-mover-nfs")


def server_dry_run(
    plane: controlplane.ControlPlane, document: dict[str, Any], *, namespace: str
) -> dict[str, Any]:
    """The object as the API server would store it (admission included), without storing it."""
    created = plane.kubectl(
        "create", "--dry-run=server", "-o", "json", "-n", namespace, "-f", "-",
        input_text=json.dumps(document),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(created.stdout)
    return result


def nfs_parameters() -> dict[str, Any]:
    """The policy's params ConfigMap, pointing at the test's NFS export."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "volsync-mover-nfs", "namespace": POLICY_NAMESPACE},
        "data": {"server": NFS_SERVER, "path": NFS_PATH},
    }


def policy_effects(plane: controlplane.ControlPlane) -> tuple[bool, bool]:
    """Whether a mover Job gets (jitter, repository) now; policies take effect a moment after
    they are created or deleted."""
    probe = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "volsync-src-probe",
            "labels": {"app.kubernetes.io/created-by": "volsync"},
        },
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "restic", "image": "busybox"}],
                }
            }
        },
    }
    pod = server_dry_run(plane, probe, namespace="default")["spec"]["template"]["spec"]
    return bool(pod.get("initContainers")), bool(pod.get("volumes"))
