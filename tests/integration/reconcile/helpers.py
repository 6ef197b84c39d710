"""Small building blocks for operator tests: apps with data, sources, destinations, waits."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from localcluster import controlplane
from localcluster.testing import apply, get, wait_until

BUSYBOX = "busybox:1.37"


def repository_secret(name: str, *, path: str, password: str = "test-password") -> dict[str, Any]:
    """Return a restic repository Secret whose repository is /repository/<path>."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {"RESTIC_REPOSITORY": f"/repository/{path}", "RESTIC_PASSWORD": password},
    }


def claim(name: str, *, size: str = "1Gi", storage_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": spec,
    }


def run_shell(
    plane: controlplane.ControlPlane, namespace: str, name: str, *, claim_name: str, script: str
) -> str:
    """Run `script` in a Job with the PVC at /data; return its log once it succeeded."""
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "shell",
                            "image": BUSYBOX,
                            "command": ["sh", "-c", script],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}
                    ],
                }
            },
        },
    }
    apply(plane, job, namespace=namespace)
    plane.kubectl(
        "wait", "-n", namespace, "--for=condition=complete", f"job/{name}", "--timeout=90s"
    )
    return plane.kubectl("logs", "-n", namespace, f"job/{name}").stdout


WRITE_SAMPLE = (
    "mkdir -p /data/dir/deeper && echo hello > /data/hello.txt && "
    "head -c 300000 /dev/urandom > /data/dir/blob && echo {marker} > /data/dir/deeper/marker && "
    "ln -sf hello.txt /data/link"
)
CHECKSUM = "cd /data && find . -type f | sort | xargs md5sum"


def tree_checksum(
    plane: controlplane.ControlPlane, namespace: str, job: str, claim_name: str
) -> str:
    return run_shell(plane, namespace, job, claim_name=claim_name, script=CHECKSUM)


def status(
    plane: controlplane.ControlPlane, kind: str, name: str, namespace: str
) -> dict[str, Any]:
    found = get(plane, kind, name, namespace=namespace)
    return (found or {}).get("status") or {}


def condition(
    plane: controlplane.ControlPlane, kind: str, name: str, namespace: str
) -> dict[str, Any]:
    for item in status(plane, kind, name, namespace).get("conditions") or []:
        if item["type"] == "Synchronizing":
            return dict(item)
    return {}


def wait_for_manual_sync(
    plane: controlplane.ControlPlane,
    kind: str,
    name: str,
    namespace: str,
    value: str,
    *,
    timeout: float = 120,
) -> dict[str, Any]:
    """Wait until the object answered manual trigger `value`; return its status."""

    def answered() -> dict[str, Any] | None:
        current = status(plane, kind, name, namespace)
        return current if current.get("lastManualSync") == value else None

    return wait_until(
        answered, what=f"{kind} {namespace}/{name} to answer trigger {value!r}", timeout=timeout
    )


def events(plane: controlplane.ControlPlane, namespace: str, name: str) -> list[dict[str, Any]]:
    """Return the events (events.k8s.io) about object `name`."""
    found = plane.kubectl("get", "events.events.k8s.io", "-n", namespace, "-o", "json").stdout
    return [
        item
        for item in json.loads(found)["items"]
        if (item.get("regarding") or {}).get("name") == name
    ]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
