"""Small building blocks for operator tests: apps with data, sources, destinations, waits."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from localcluster import controlplane
from localcluster.testing import apply, get, wait_until

from pyvolsync.api import timestamps

BUSYBOX = "busybox:1.37"
VOLSYNC = "volsync.backube/v1alpha1"


def repository_secret(name: str, *, path: str, password: str = "test-password") -> dict[str, Any]:
    """Return a restic repository Secret whose repository is /repository/<path>."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {"RESTIC_REPOSITORY": f"/repository/{path}", "RESTIC_PASSWORD": password},
    }


def kopia_secret(name: str, *, path: str, password: str) -> dict[str, Any]:
    """Return a kopia repository Secret whose repository is the filesystem /repository/<path>."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {
            "KOPIA_REPOSITORY": f"filesystem:///repository/{path}",
            "KOPIA_PASSWORD": password,
        },
    }


def claim(name: str, *, size: str = "1Gi", storage_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return manifest("v1", "PersistentVolumeClaim", name, spec)


def manifest(api_version: str, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Return an object with a name and a spec."""
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec}


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
    plane.wait_for("job", name, "Complete", namespace=namespace, timeout=90)
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
    on_poll: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Wait until the object answered manual trigger `value`; return its status.

    `on_poll` runs before each look, e.g. to record the Jobs that exist meanwhile.
    """

    def answered() -> dict[str, Any] | None:
        if on_poll is not None:
            on_poll()
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


# --- objects ---------------------------------------------------------------------------------


def replication_source(
    name: str,
    *,
    claim_name: str = "data",
    repository: str = "repo",
    trigger: dict[str, Any] | None = None,
    copy_method: str = "Snapshot",
    paused: bool | None = None,
    **restic: Any,
) -> dict[str, Any]:
    """Return a restic ReplicationSource; extra keyword arguments go into spec.restic."""
    spec: dict[str, Any] = {
        "sourcePVC": claim_name,
        "trigger": trigger if trigger is not None else {"manual": "first"},
        "restic": {"repository": repository, "copyMethod": copy_method, **restic},
    }
    if paused is not None:
        spec["paused"] = paused
    return manifest(VOLSYNC, "ReplicationSource", name, spec)


def replication_destination(
    name: str,
    *,
    repository: str = "repo",
    manual: str = "restore-once",
    **restic: Any,
) -> dict[str, Any]:
    """Return a restic ReplicationDestination restoring into a new 1Gi PVC unless told otherwise."""
    settings: dict[str, Any] = {"repository": repository, "copyMethod": "Direct"}
    if "destinationPVC" not in restic:
        settings |= {"capacity": "1Gi", "accessModes": ["ReadWriteOnce"]}
    spec = {"trigger": {"manual": manual}, "restic": settings | restic}
    return manifest(VOLSYNC, "ReplicationDestination", name, spec)


def set_manual_trigger(
    plane: controlplane.ControlPlane, kind: str, name: str, namespace: str, value: str
) -> None:
    patch = json.dumps({"spec": {"trigger": {"manual": value}}})
    plane.kubectl("patch", kind, name, "-n", namespace, "--type=merge", "-p", patch)


def patch_spec(
    plane: controlplane.ControlPlane, kind: str, name: str, namespace: str, spec: dict[str, Any]
) -> None:
    plane.kubectl(
        "patch", kind, name, "-n", namespace, "--type=merge", "-p", json.dumps({"spec": spec})
    )


# --- waiting and reading --------------------------------------------------------------------


def wait_for_reason(
    plane: controlplane.ControlPlane,
    kind: str,
    name: str,
    namespace: str,
    reason: str,
    *,
    timeout: float = 120,
) -> dict[str, Any]:
    """Wait until the Synchronizing condition has `reason`; return the condition."""

    def reached() -> dict[str, Any] | None:
        current = condition(plane, kind, name, namespace)
        return current if current.get("reason") == reason else None

    return wait_until(
        reached, what=f"{kind} {namespace}/{name} to report reason {reason}", timeout=timeout
    )


def mover_jobs(plane: controlplane.ControlPlane, namespace: str) -> list[dict[str, Any]]:
    """Return the mover Jobs (label app.kubernetes.io/created-by=volsync) in `namespace`."""
    return list_items(plane, "jobs", namespace, "app.kubernetes.io/created-by=volsync")


def names_of(
    plane: controlplane.ControlPlane, kinds: str, namespace: str, *labels: str
) -> set[str]:
    """Return `kind/name` of every object of `kinds` (comma-separated) in `namespace`."""
    selector = ["-l", ",".join(labels)] if labels else []
    found = plane.kubectl("get", kinds, "-n", namespace, *selector, "-o", "name").stdout
    return {line.strip() for line in found.splitlines() if line.strip()}


def event_reasons(
    plane: controlplane.ControlPlane, namespace: str, name: str
) -> list[tuple[str, str, str]]:
    """Return (type, reason, note) of every event about object `name`."""
    return [
        (item.get("type", ""), item.get("reason", ""), item.get("note", ""))
        for item in events(plane, namespace, name)
    ]


def parse_time(text: str) -> datetime.datetime:
    """Return a timestamp the status must hold (a malformed one fails the test)."""
    parsed = timestamps.parse_time(text)
    assert parsed is not None, f"not an RFC 3339 timestamp: {text!r}"
    return parsed


# --- the repository --------------------------------------------------------------------------


def restic(
    repository: pathlib.Path, *arguments: str, password: str = "test-password"
) -> subprocess.CompletedProcess[str]:
    """Run the restic on PATH against a repository directory (as a user on the NFS server)."""
    program = shutil.which("restic")
    assert program, "restic must be on PATH for these tests"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "RESTIC_REPOSITORY": str(repository),
        "RESTIC_PASSWORD": password,
    }
    return subprocess.run(
        [program, "--no-cache", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def snapshots(repository: pathlib.Path, *, password: str = "test-password") -> list[dict[str, Any]]:
    """Return the repository's snapshots (restic snapshots --json), oldest first."""
    listed: list[dict[str, Any]] = json.loads(
        restic(repository, "snapshots", "--json", password=password).stdout
    )
    return sorted(listed, key=lambda item: str(item["time"]))


def restored_tree_checksum(repository: pathlib.Path, snapshot_id: str, target: pathlib.Path) -> str:
    """Restore a snapshot on the host; return its checksum listing in `CHECKSUM`'s format."""
    restic(repository, "restore", snapshot_id, "--target", str(target))
    root = target  # the mover backs up the contents of /data, restored at the target's top
    lines = []
    for path in sorted(
        "./" + str(item.relative_to(root)) for item in root.rglob("*") if item.is_file()
    ):
        if (root / path).is_symlink():
            continue
        lines.append(f"{hashlib.md5((root / path).read_bytes()).hexdigest()}  {path}")
    return "\n".join(lines) + "\n"


def wait_for_sync_seeing_jobs(
    plane: controlplane.ControlPlane,
    kind: str,
    name: str,
    namespace: str,
    value: str,
    *,
    timeout: float = 120,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Like `wait_for_manual_sync`; also return every mover Job seen meanwhile, by uid."""
    seen: dict[str, dict[str, Any]] = {}
    record = job_recorder(plane, namespace, seen)
    found = wait_for_manual_sync(
        plane, kind, name, namespace, value, timeout=timeout, on_poll=record
    )
    return found, seen


def job_recorder(
    plane: controlplane.ControlPlane, namespace: str, seen: dict[str, dict[str, Any]]
) -> Callable[[], None]:
    """Return a function that adds the mover Jobs existing now to `seen` (by uid)."""

    def record() -> None:
        for job in mover_jobs(plane, namespace):
            seen.setdefault(job["metadata"]["uid"], job)

    return record


# --- a sync that takes a while ---------------------------------------------------------------

BIG_DATA = "dd if=/dev/urandom of=/data/big bs=1M count={megabytes} 2>/dev/null && echo x > /data/x"


def start_slow_backup(
    plane: controlplane.ControlPlane,
    namespace: str,
    *,
    copy_method: str,
    megabytes: int = 300,
) -> dict[str, Any]:
    """Start a backup of `megabytes` of random data by source `app`; return its running Job."""
    apply(
        plane,
        repository_secret("repo", path=f"{namespace}/app"),
        claim("data"),
        namespace=namespace,
    )
    script = BIG_DATA.format(megabytes=megabytes)
    run_shell(plane, namespace, "write-big", claim_name="data", script=script)
    source = replication_source("app", trigger={"manual": "one"}, copy_method=copy_method)
    apply(plane, source, namespace=namespace)
    return wait_for_running_mover(plane, namespace, "volsync-src-app")


def wait_for_running_mover(
    plane: controlplane.ControlPlane, namespace: str, job_name: str
) -> dict[str, Any]:
    """Wait until the Job's pod runs the mover; return the Job."""

    def running() -> dict[str, Any] | None:
        job = get(plane, "job", job_name, namespace=namespace)
        if job is None or not (job.get("status") or {}).get("active"):
            return None
        return job if mover_pod_phases(plane, namespace, job) == ["Running"] else None

    return wait_until(running, what=f"the mover of Job {job_name} to run", timeout=120)


def mover_pod_phases(
    plane: controlplane.ControlPlane, namespace: str, job: dict[str, Any]
) -> list[str]:
    """Return the phases of the Job's pods."""
    selector = f"batch.kubernetes.io/controller-uid={job['metadata']['uid']}"
    found = plane.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    return [str((pod.get("status") or {}).get("phase")) for pod in json.loads(found)["items"]]


def job_finished(job: dict[str, Any]) -> bool:
    return any(
        item["type"] in ("Complete", "Failed") and item["status"] == "True"
        for item in (job.get("status") or {}).get("conditions") or []
    )


def prepare_app(
    plane: controlplane.ControlPlane, namespace: str, *, secret: dict[str, Any] | None = None
) -> None:
    """Create the repository Secret `repo` (at /repository/<namespace>/app unless given) and
    the app's PVC `data` holding one small file."""
    apply(
        plane,
        secret or repository_secret("repo", path=f"{namespace}/app"),
        claim("data"),
        namespace=namespace,
    )
    run_shell(plane, namespace, "write", claim_name="data", script="echo x > /data/x")


def list_items(
    plane: controlplane.ControlPlane, kind: str, namespace: str, *labels: str
) -> list[dict[str, Any]]:
    """Return every object of `kind` in `namespace` (with all of the `labels`, if given)."""
    selector = ["-l", ",".join(labels)] if labels else []
    found = plane.kubectl("get", kind, "-n", namespace, *selector, "-o", "json").stdout
    return list(json.loads(found)["items"])
