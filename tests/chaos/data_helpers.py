"""What the data-path fault cases share: a mover caught mid-backup, faults on the repository and
cache volumes, the repository's own record (snapshots, locks, a fingerprint of its files), pods
counted from the Job controller's events, and the operator's metrics.

A data-path case breaks what the mover reads or writes (restic itself, the repository, the cache
volume, the password) and then checks what a user would: every snapshot the repository holds
restores to exactly the data written when it was taken, status and events name the fault, and
nothing is left behind (see `control_helpers.assert_nothing_left`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import signal
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, wait_until
from tests.chaos import conftest, control_helpers
from tests.integration.reconcile import helpers

from pyvolsync.planning import security

SOURCE = "replicationsource"
DESTINATION = "replicationdestination"
FAULT_PREFIX = "localcluster.pyvolsync.dev/"
CACHE_CLAIM = "volsync-src-{name}-cache"


# --- a mover caught mid-backup ------------------------------------------------------------------


def group_processes(group: int) -> dict[int, str]:
    """Return pid -> command line of every process in process group `group`."""
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group:
            found[int(entry.name)] = command
    return found


def has_lock(repository: pathlib.Path) -> bool:
    """Return True when a (written, not temporary) lock file is in `repository`."""
    locks = repository / "locks"
    return locks.is_dir() and any("-tmp-" not in path.name for path in locks.iterdir())


def restic_backup_of(group: int) -> int | None:
    """Return the pid of the `restic backup` in process group `group`, if one runs."""
    for pid, command in group_processes(group).items():
        if command.startswith("restic ") and " backup " in f"{command} ":
            return pid
    return None


@contextlib.contextmanager
def mover_stopped_mid_backup(
    plane: controlplane.ControlPlane, namespace: str, job_name: str, repository: pathlib.Path
) -> Iterator[int]:
    """Stop the mover's processes (SIGSTOP) at a moment restic's backup holds its lock; yield
    restic's pid. Outside the block they go on (SIGCONT), if still alive."""
    group = wait_until(
        lambda: _quietly(lambda: control_helpers.mover_process_group(plane, namespace, job_name)),
        what=f"the mover of Job {job_name} to run",
        timeout=120,
    )
    deadline = time.monotonic() + 120
    while True:
        os.killpg(group, signal.SIGSTOP)
        restic = restic_backup_of(group)
        if restic is not None and has_lock(repository):
            break
        os.killpg(group, signal.SIGCONT)
        if time.monotonic() > deadline:
            pytest.fail(f"the mover of {job_name} never held a lock in {repository}")
        time.sleep(0.02)
    try:
        yield restic
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGCONT)


def _quietly(probe: Any) -> Any:
    """Return `probe()`, or None while it fails (the pod or its pid file is not there yet)."""
    try:
        return probe()
    except (AssertionError, OSError, ValueError, IndexError):
        return None


def running_mover_pod(plane: controlplane.ControlPlane, namespace: str, job_name: str) -> str:
    """Return the name of the running pod of Job `job_name`."""
    return str(control_helpers.running_mover_pod(plane, namespace, job_name)["metadata"]["name"])


# --- faults on volumes ---------------------------------------------------------------------------


def set_claim_fault(
    plane: controlplane.ControlPlane, namespace: str, claim: str, fault: str | None
) -> None:
    """Put the node agent's `volume-fault` on PVC `claim` (None removes it)."""
    key = f"{FAULT_PREFIX}volume-fault"
    value = f"{key}={fault}" if fault else f"{key}-"
    plane.kubectl("annotate", "pvc", claim, "-n", namespace, "--overwrite", value)


@contextlib.contextmanager
def repository_volume_fault(
    plane: controlplane.ControlPlane, namespace: str, fault: str
) -> Iterator[None]:
    """Within the block, every mover pod created in `namespace` sees its `repository` volume
    with `fault` (a MutatingAdmissionPolicy adds the node agent's pod annotation)."""
    name = f"repository-fault-{namespace}"[:63]
    annotation = f"{FAULT_PREFIX}volume-fault.repository"
    expression = (
        f"Object{{metadata: Object.metadata{{annotations: {{'{annotation}': '{fault}'}}}}}}"
    )
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "objectSelector": {"matchLabels": {"app.kubernetes.io/created-by": "volsync"}},
            },
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "mutations": [
                {
                    "patchType": "ApplyConfiguration",
                    "applyConfiguration": {"expression": expression},
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name},
    }
    apply(plane, policy, binding)
    try:
        wait_until(
            lambda: _mutated_annotation(plane, namespace, annotation) == fault,
            what="the repository fault policy to take effect",
        )
        yield
    finally:
        plane.kubectl(
            "delete", "mutatingadmissionpolicybinding,mutatingadmissionpolicy", name,
            "--ignore-not-found",
        )  # fmt: skip
        wait_until(
            lambda: _mutated_annotation(plane, namespace, annotation) is None,
            what="the repository fault policy to be gone",
        )


def _mutated_annotation(
    plane: controlplane.ControlPlane, namespace: str, annotation: str
) -> str | None:
    """Create a mover-labelled pod with server-side dry run; return `annotation` as admitted."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "fault-probe",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/created-by": "volsync"},
        },
        "spec": {"containers": [{"name": "probe", "image": helpers.BUSYBOX}]},
    }
    admitted = plane.kubectl(
        "create", "--dry-run=server", "-o", "json", "-f", "-", input_text=json.dumps(pod)
    ).stdout
    annotations = json.loads(admitted)["metadata"].get("annotations") or {}
    value = annotations.get(annotation)
    return str(value) if value is not None else None


# --- the repository ---------------------------------------------------------------------------


def host_made_repository(
    repository_root: pathlib.Path, repository: pathlib.Path, *, password: str
) -> None:
    """`restic init` a repository on the NFS server's side (as root), then hand it to the
    movers' user, as an administrator preparing it for the cluster would."""
    repository_root.mkdir(parents=True, exist_ok=True)
    repository_root.chmod(0o777)  # as the node agent creates an NFS export
    helpers.restic(repository, "init", password=password)
    hand_to_movers(repository_root, repository)


def hand_to_movers(repository_root: pathlib.Path, repository: pathlib.Path) -> None:
    """Give `repository` and the directories above it up to the export to the movers' user."""
    paths = [*repository.relative_to(repository_root).parents][:-1]
    for path in [*(repository_root / item for item in paths), repository, *repository.rglob("*")]:
        os.lchown(path, security.MOVER_USER, security.MOVER_USER)


def fingerprint(repository: pathlib.Path) -> dict[str, str]:
    """Return relative path -> sha256 of every file in `repository` (its whole state)."""
    return {
        str(path.relative_to(repository)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(repository.rglob("*"))
        if path.is_file()
    }


def assert_snapshots_restore(
    repository: pathlib.Path, expected: dict[str, str], scratch: pathlib.Path
) -> None:
    """The repository holds exactly the snapshots `expected` names (id -> checksum listing) and
    each restores to its listing; `restic check` passes and no lock is left."""
    found = [item["id"] for item in helpers.snapshots(repository)]
    assert sorted(found) == sorted(expected), f"snapshots {found}, expected {sorted(expected)}"
    for index, (snapshot, listing) in enumerate(expected.items()):
        restored = helpers.restored_tree_checksum(repository, snapshot, scratch / f"r{index}")
        assert restored == listing, f"snapshot {snapshot[:8]} does not restore what was written"
    helpers.restic(repository, "check", "--read-data")
    assert not has_lock(repository), f"a lock is left in {repository}"


def snapshot_tags(repository: pathlib.Path) -> dict[str, list[str]]:
    """Return snapshot id -> tags."""
    return {item["id"]: list(item.get("tags") or []) for item in helpers.snapshots(repository)}


def corrupt_largest_pack(repository: pathlib.Path) -> tuple[pathlib.Path, bytes]:
    """Flip one byte in the middle of the largest data pack; return it and its old content."""
    pack = max((repository / "data").glob("*/*"), key=lambda path: path.stat().st_size)
    original = pack.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    overwrite(pack, bytes(damaged))
    return pack, original


def overwrite(path: pathlib.Path, content: bytes) -> None:
    """Replace the content of a (read-only) repository file, keeping its mode and owner."""
    mode = path.stat().st_mode
    path.chmod(0o600)
    path.write_bytes(content)
    path.chmod(mode)


# --- what happened, as the cluster recorded it ----------------------------------------------------


def pods_created(plane: controlplane.ControlPlane, namespace: str, job_name: str) -> int:
    """Return how many pods the Job controller created for Jobs named `job_name` (its events)."""
    return sum(
        1
        for item in helpers.events(plane, namespace, job_name)
        if item.get("reason") == "SuccessfulCreate"
    )


SYNC_TIMEOUT = 600
"""Seconds a sync may take in these cases (a full-size backup on a busy machine, one retry)."""


def sync(
    plane: controlplane.ControlPlane, namespace: str, name: str, trigger: str, *, kind: str = SOURCE
) -> dict[str, Any]:
    """Set the manual trigger of `name` to `trigger`, wait for the sync to end, return status."""
    helpers.set_manual_trigger(plane, kind, name, namespace, trigger)
    return synced(plane, namespace, name, trigger, kind=kind)


def synced(
    plane: controlplane.ControlPlane, namespace: str, name: str, trigger: str, *, kind: str = SOURCE
) -> dict[str, Any]:
    """Wait until `name` answered manual trigger `trigger`; return its status."""
    return helpers.wait_for_manual_sync(plane, kind, name, namespace, trigger, timeout=SYNC_TIMEOUT)


def metric_value(port: int, name: str, labels: dict[str, str]) -> float | None:
    """Return the value of metric `name` with exactly `labels` from the operator's endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{"):
            series, _, value = line.rpartition(" ")
            inside = series[len(name) + 1 : -1]
            if ",".join(sorted(inside.split(","))) == wanted:
                return float(value)
    return None


def source_labels(namespace: str, name: str) -> dict[str, str]:
    """The metric labels of ReplicationSource `name`."""
    return {"obj_name": name, "obj_namespace": namespace, "role": "source", "method": "restic"}


def size_files(size: conftest.ChaosSize) -> int:
    """How many small files the full-cache case adds: new data, with a directory of many entries
    (a big tree) for the backup after the fix to store."""
    return 2000 if size.name == "small" else 20000
