"""What the control-plane fault cases share: data with known hashes, a mover held still, the
audit record of what the operator created, and the checks that nothing was left behind.

A case breaks the control plane (the operator, the API server, etcd, a volume that never gets
ready, a bad spec) and then checks what a user would: the repository holds exactly the data
written (content hashes of a restore), status and events say what happened, and no mover Job,
pod, temporary PVC, VolumeSnapshot, PersistentVolume or mover/restic process on the host is
left. Holding a mover still (SIGSTOP to its process group, SIGCONT after) makes "mid-sync"
certain at any data size, instead of a race against a fast backup.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import pathlib
import signal
import time
from collections.abc import Callable, Iterator, Sized
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.chaos import conftest
from tests.integration.reconcile import helpers

SOURCE = "replicationsource"
DESTINATION = "replicationdestination"
CREATED_BY = "app.kubernetes.io/created-by=volsync"
OPERATOR_AGENT = "pyvolsync-operator/"
MOVER_CONTAINER = "restic"
DATA_FILES = (
    "mkdir -p /data/files && i=0 && while [ $i -lt {files} ]; do "
    "head -c {file_bytes} /dev/urandom > /data/files/f$i; i=$((i+1)); done && "
    "echo {marker} > /data/marker"
)


# --- data ------------------------------------------------------------------------------------


def write_data(
    plane: controlplane.ControlPlane,
    namespace: str,
    size: conftest.ChaosSize,
    *,
    claim: str = "data",
    marker: str = "one",
) -> str:
    """Fill PVC `claim` with `size` of random files; return their checksum listing."""
    script = DATA_FILES.format(files=size.files, file_bytes=size.file_bytes, marker=marker)
    helpers.run_shell(plane, namespace, f"write-{claim}-{marker}", claim_name=claim, script=script)
    return helpers.tree_checksum(plane, namespace, f"sum-{claim}-{marker}", claim)


def prepare_source_volume(
    plane: controlplane.ControlPlane,
    namespace: str,
    size: conftest.ChaosSize,
    *,
    name: str = "app",
) -> str:
    """Create the Secret `<name>` (repository /repository/<ns>/<name>) and the PVC `<name>`
    filled with data; return the data's checksum listing."""
    apply(
        plane,
        helpers.repository_secret(name, path=f"{namespace}/{name}"),
        helpers.claim(name),
        namespace=namespace,
    )
    return write_data(plane, namespace, size, claim=name)


def backup_source(name: str, *, trigger: str = "one", **restic: Any) -> dict[str, Any]:
    """A source `name` backing up PVC `name` into the repository of Secret `name`."""
    restic.setdefault("copy_method", "Snapshot")
    return helpers.replication_source(
        name, claim_name=name, repository=name, trigger={"manual": trigger}, **restic
    )


def assert_repository_holds(
    repository: pathlib.Path,
    snapshot_id: str,
    expected: str,
    target: pathlib.Path,
    *,
    count: int = 1,
) -> None:
    """The repository has `count` snapshots, the newest is `snapshot_id` and it restores to
    exactly `expected` (a checksum listing)."""
    found = helpers.snapshots(repository)
    assert len(found) == count, found
    assert found[-1]["id"] == snapshot_id
    assert helpers.restored_tree_checksum(repository, snapshot_id, target) == expected


def assert_repository_sound(repository: pathlib.Path) -> None:
    """`restic check` passes; an interrupted mover left at most one (stale) lock."""
    locks = repository / "locks"
    left = sorted(locks.iterdir()) if locks.is_dir() else []
    assert len(left) <= 1, f"more than one lock left in {repository}: {left}"
    if left:
        helpers.restic(repository, "unlock")
    helpers.restic(repository, "check")
    assert not any(locks.iterdir()), "a lock survived restic unlock: it is not stale"


# --- status and events -----------------------------------------------------------------------


def reasons(plane: controlplane.ControlPlane, namespace: str, name: str) -> list[str]:
    """Return the reasons of the events about `name`, oldest first."""
    found = helpers.events(plane, namespace, name)
    found.sort(key=lambda item: str(item.get("eventTime") or ""))
    return [str(item.get("reason")) for item in found]


def warnings(plane: controlplane.ControlPlane, namespace: str, name: str) -> list[tuple[str, str]]:
    """Return (reason, note) of the Warning events about `name`."""
    return [
        (reason, note)
        for type_, reason, note in helpers.event_reasons(plane, namespace, name)
        if type_ == "Warning"
    ]


def occurrences(plane: controlplane.ControlPlane, namespace: str, name: str, reason: str) -> int:
    """How many times events of ``reason`` about ``name`` were recorded: a repeated event is
    one Event whose ``series.count`` says how often it happened."""
    return sum(
        int((item.get("series") or {}).get("count") or 1)
        for item in helpers.events(plane, namespace, name)
        if item.get("reason") == reason
    )


def conditions(
    plane: controlplane.ControlPlane, kind: str, name: str, namespace: str
) -> list[dict[str, Any]]:
    return list(helpers.status(plane, kind, name, namespace).get("conditions") or [])


def describe(plane: controlplane.ControlPlane, namespace: str, name: str) -> str:
    """Return the source's status and its mover Jobs' and pods' states, for a failure message."""
    lines = [f"status: {json.dumps(helpers.status(plane, SOURCE, name, namespace))}"]
    for kind in ("jobs", "pods"):
        for item in helpers.list_items(plane, kind, namespace, CREATED_BY):
            lines.append(
                f"{kind[:-1]} {item['metadata']['name']}: {json.dumps(item.get('status') or {})}"
            )
    lines.append(f"processes: {host_processes(namespace)}")
    for log in sorted((plane.directory / "node" / "logs").glob(f"{namespace}_*")):
        lines.append(f"log {log.name}: ...{log.read_text(errors='replace')[-600:]}")
    return "\n".join(lines)


# --- the audit log: what the operator asked the API server to do ------------------------------


def operator_writes(
    plane: controlplane.ControlPlane, namespace: str, *, resource: str, verb: str = "create"
) -> list[dict[str, Any]]:
    """Return the operator's successful `verb` requests on `resource` in `namespace`."""
    return [
        event
        for event in plane.audit_events()
        if str(event.get("userAgent", "")).startswith(OPERATOR_AGENT)
        and event.get("verb") == verb
        and (event.get("objectRef") or {}).get("resource") == resource
        and (event.get("objectRef") or {}).get("namespace") == namespace
        and not (event.get("objectRef") or {}).get("subresource")
        and int((event.get("responseStatus") or {}).get("code") or 0) < 300
    ]


def jobs_created(plane: controlplane.ControlPlane, namespace: str) -> list[str]:
    """Return the name of every Job the operator created in `namespace` (repeats included)."""
    created = operator_writes(plane, namespace, resource="jobs")
    return [str((event.get("objectRef") or {}).get("name") or "") for event in created]


def operator_read_since(
    plane: controlplane.ControlPlane, namespace: str, resource: str, name: str, *, after: str
) -> bool:
    """Return True when the operator read `resource/name` after the audit timestamp `after`."""
    return any(
        str(event.get("userAgent", "")).startswith(OPERATOR_AGENT)
        and event.get("verb") == "get"
        and (event.get("objectRef") or {}).get("resource") == resource
        and (event.get("objectRef") or {}).get("namespace") == namespace
        and (event.get("objectRef") or {}).get("name") == name
        and str(event.get("requestReceivedTimestamp", "")) > after
        for event in plane.audit_events()
    )


def audit_now(plane: controlplane.ControlPlane) -> str:
    """Return the timestamp of the newest audit event (the API server's clock)."""
    newest = collections.deque(plane.audit_events(), maxlen=1)
    return str(newest[0].get("requestReceivedTimestamp", "")) if newest else ""


# --- holding a mover still ------------------------------------------------------------------


def running_mover_pod(
    plane: controlplane.ControlPlane, namespace: str, job_name: str
) -> dict[str, Any]:
    """Return the running pod of Job `job_name` (the newest, if a retry is running)."""
    job = get(plane, "job", job_name, namespace=namespace)
    assert job is not None, f"Job {job_name} does not exist"
    selector = f"batch.kubernetes.io/controller-uid={job['metadata']['uid']}"
    pods = helpers.list_items(plane, "pods", namespace, selector)
    running = [pod for pod in pods if (pod.get("status") or {}).get("phase") == "Running"]
    assert running, f"no running pod of Job {job_name}"
    return running[-1]


def mover_process_group(plane: controlplane.ControlPlane, namespace: str, job_name: str) -> int:
    """Return the process group of the running mover container of Job `job_name`."""
    uid = running_mover_pod(plane, namespace, job_name)["metadata"]["uid"]
    pid_file = plane.directory / "node" / "pods" / uid / "containers" / MOVER_CONTAINER / "pid"
    return int(pid_file.read_text().split()[0])


@contextlib.contextmanager
def mover_held(plane: controlplane.ControlPlane, namespace: str, job_name: str) -> Iterator[int]:
    """Stop the mover's processes (SIGSTOP) for the block; let them go on (SIGCONT) after."""
    group = mover_process_group(plane, namespace, job_name)
    os.killpg(group, signal.SIGSTOP)
    try:
        yield group
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGCONT)


def wait_for_mover_lock(repository: pathlib.Path) -> None:
    """Wait until the running mover holds a lock in `repository` (restic has really started)."""
    locks = repository / "locks"
    wait_until(lambda: locks.is_dir() and any(locks.iterdir()), what=f"a lock in {repository}")


# --- leftovers ---------------------------------------------------------------------------------


def leftover_objects(
    plane: controlplane.ControlPlane, namespace: str, *, claims: set[str]
) -> set[str]:
    """Return mover Jobs and pods, VolumeSnapshots, PVCs other than `claims`, and PVs still
    bound to a PVC of `namespace` that no longer exists."""
    found = helpers.names_of(plane, "jobs,pods", namespace, CREATED_BY)
    found |= helpers.names_of(plane, "volumesnapshots", namespace)
    existing = {name.split("/", 1)[1] for name in helpers.names_of(plane, "pvc", namespace)}
    found |= {f"pvc/{name}" for name in existing - claims}
    volumes = json.loads(plane.kubectl("get", "pv", "-o", "json").stdout)["items"]
    for volume in volumes:
        reference = volume["spec"].get("claimRef") or {}
        if reference.get("namespace") == namespace and reference.get("name") not in existing:
            found.add(f"pv/{volume['metadata']['name']} (of {reference.get('name')})")
    return found


def host_processes(namespace: str) -> list[str]:
    """Return the command lines of processes on this host working for `namespace`: movers and
    restic, recognised by a repository under /repository/<namespace>/ in their environment."""
    marker = f"/repository/{namespace}/".encode()
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in environment:
            text = command.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {text}")
    return found


def assert_nothing_left(
    plane: controlplane.ControlPlane,
    namespace: str,
    *,
    claims: set[str],
    timeout: float = 90,
) -> None:
    """Wait until no object `leftover_objects` lists and no mover or restic process of
    `namespace` is left; fail naming what is."""
    settle(lambda: leftover_objects(plane, namespace, claims=claims), "objects", timeout)
    settle(lambda: host_processes(namespace), "mover or restic processes", timeout)


def settle(probe: Callable[[], Sized], what: str, timeout: float) -> None:
    """Poll `probe` until it returns nothing; fail with what it still returns."""
    deadline = time.monotonic() + timeout
    while left := probe():
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} left after {timeout:.0f} s: {left}", pytrace=False)
        time.sleep(0.5)
