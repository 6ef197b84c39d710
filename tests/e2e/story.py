"""Steps of the spec's stories, shared by the end-to-end tests: render the app component,
provide its repository Secret, run the app's writer and reader Jobs, trigger and await syncs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until

APP_UID = 4000
BUSYBOX = "busybox:1.37"


def render_component(
    app: str, namespace: str, *, engine: str = "restic", **variables: str
) -> list[dict[str, Any]]:
    """Return the app component's objects, rendered as `pyvolsync render-component` does."""
    command = [str(Path(sys.executable).parent / "pyvolsync"), "render-component", "--app", app]
    command += ["--namespace", namespace, "--engine", engine]
    for name, value in variables.items():
        command += ["--set", f"{name}={value}"]
    rendered = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [document for document in yaml.safe_load_all(rendered) if document]


def repository_secret(
    app: str, namespace: str, *, password: str, repository: str = "", engine: str = "restic"
) -> dict[str, Any]:
    """Return the Secret the component's ExternalSecret would produce."""
    # One repository per namespace and app, so tests never share one.
    path = repository or f"/repository/{namespace}-{app}"
    data = (
        {"KOPIA_REPOSITORY": f"filesystem://{path}", "KOPIA_PASSWORD": password}
        if engine == "kopia"
        else {"RESTIC_REPOSITORY": path, "RESTIC_PASSWORD": password}
    )
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{app}-volsync-secret", "namespace": namespace},
        "stringData": data,
    }


def deploy_app(
    plane: controlplane.ControlPlane,
    app: str,
    namespace: str,
    *,
    password: str,
    engine: str = "restic",
    **variables: str,
) -> None:
    """Create the namespace, the repository Secret and the component's objects."""
    plane.kubectl("create", "namespace", namespace)
    wait_until(
        lambda: plane.kubectl("get", "sa", "default", "-n", namespace, check=False).returncode == 0,
        what="the default service account",
    )
    secret = repository_secret(app, namespace, password=password, engine=engine)
    apply(plane, secret, namespace=namespace)
    objects = render_component(app, namespace, engine=engine, **variables)
    apply(plane, *objects, namespace=namespace)


def run_job(
    plane: controlplane.ControlPlane, namespace: str, name: str, *, claim: str, script: str
) -> str:
    """Run `script` as the app's user with the app's PVC at /data; return its log."""
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {
                        "runAsUser": APP_UID,
                        "runAsGroup": APP_UID,
                        "fsGroup": APP_UID,
                    },
                    "containers": [
                        {
                            "name": "app",
                            "image": BUSYBOX,
                            "command": ["sh", "-c", script],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
                }
            },
        },
    }
    apply(plane, job, namespace=namespace)
    plane.wait_for("job", name, "Complete", namespace=namespace, timeout=180)
    return plane.kubectl("logs", "-n", namespace, f"job/{name}").stdout


CHECKSUMS = "cd /data && find . -type f ! -path './lost+found/*' | sort | xargs -r md5sum"


def status(
    plane: controlplane.ControlPlane, kind: str, name: str, namespace: str
) -> dict[str, Any]:
    return (get(plane, kind, name, namespace=namespace) or {}).get("status") or {}


def claim_phase(plane: controlplane.ControlPlane, name: str, namespace: str) -> str:
    return str(status(plane, "pvc", name, namespace).get("phase", ""))


def backup_now(
    plane: controlplane.ControlPlane, app: str, namespace: str, value: str
) -> dict[str, Any]:
    """Trigger a backup of the app by hand and return the source's status once it finished.

    A sync already running (the first scheduled one) would answer a trigger set meanwhile, as
    upstream's, with data read before the trigger: wait for the source to be idle first.
    """
    wait_until(
        lambda: "lastSyncStartTime" not in status(plane, "replicationsource", app, namespace),
        what=f"{namespace}/{app} to finish its running sync",
        timeout=180,
    )
    patch = {"spec": {"trigger": {"schedule": None, "manual": value}}}
    plane.kubectl(
        "patch", "replicationsource", app, "-n", namespace, "--type=merge", "-p", json.dumps(patch)
    )
    return wait_until(
        lambda: (
            (found := status(plane, "replicationsource", app, namespace)).get("lastManualSync")
            == value
            and found
        ),
        what=f"backup {value} of {namespace}/{app}",
        timeout=180,
    )


def events_about(
    plane: controlplane.ControlPlane, namespace: str, name: str
) -> list[tuple[str, str, str]]:
    """Return (type, reason, note) of the events.k8s.io events about `name`."""
    found = json.loads(
        plane.kubectl("get", "events.events.k8s.io", "-n", namespace, "-o", "json").stdout
    )
    return [
        (item.get("type", ""), item.get("reason", ""), item.get("note", ""))
        for item in found["items"]
        if (item.get("regarding") or {}).get("name") == name
    ]
