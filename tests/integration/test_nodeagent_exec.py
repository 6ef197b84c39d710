"""Exec into pods the real way: the API server's ``pods/exec`` and the node agent's kubelet.

The operator's own client (``Kube.exec``, a v4 WebSocket) and the built kubectl (a v5 WebSocket,
which the API server hands to the node unchanged because the Node declares
``ExtendWebSocketsToKubelet``) run commands in running containers. Each test checks what a user
of a real cluster would: the command sees the container's files, volumes, identity, environment
and working directory; its output, stderr and exit code come back; a command that cannot start,
a timeout, a pod that is gone or finished are reported clearly; and nothing is left running on
the node. The node's /proc is read only to prove that killed commands are really gone.
"""

from __future__ import annotations

import asyncio
import pathlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from localcluster import controlplane, testing

from pyvolsync.kube import client

pytestmark = pytest.mark.cluster

IMAGE = "ghcr.io/home-operations/busybox:1.37.0"
PAUSE = "import signal; signal.pause()"
"""A container command that waits for ever without a fixed delay."""
APP_UID, APP_GID, FS_GROUP = 1234, 1235, 2345


@pytest.fixture
async def kube(cluster: controlplane.ControlPlane) -> AsyncIterator[client.Kube]:
    """The operator's kube layer, as the cluster's admin."""
    connected = client.Kube(client.connect(str(cluster.kubeconfig)))
    yield connected
    await connected.close()


def pod(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def waiting_container(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": IMAGE, "command": ["python3", "-c", PAUSE], **extra}


def app_with_volume(claim_name: str) -> dict[str, Any]:
    """An app with a volume (seeded by an init container), an env var and its own identity."""
    mount = [{"name": "data", "mountPath": "/data"}]
    seed = {
        "name": "seed",
        "image": IMAGE,
        "command": ["sh", "-c", "echo payload > /data/file"],
        "volumeMounts": mount,
    }
    app = waiting_container(
        "app",
        workingDir="/data",
        env=[{"name": "MYVAR", "value": "from-the-spec"}],
        volumeMounts=mount,
    )
    return pod(
        "app",
        {
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": APP_UID, "runAsGroup": APP_GID, "fsGroup": FS_GROUP},
            "initContainers": [seed],
            "containers": [app],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}],
        },
    )


def claim(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def phase_is(cluster: controlplane.ControlPlane, namespace: str, name: str, phase: str) -> bool:
    document = testing.get(cluster, "pod", name, namespace=namespace) or {}
    return bool(document.get("status", {}).get("phase") == phase)


def start_pod(
    cluster: controlplane.ControlPlane, namespace: str, manifest: dict[str, Any], phase: str
) -> None:
    testing.apply(cluster, manifest, namespace=namespace)
    name = manifest["metadata"]["name"]
    testing.wait_until(
        lambda: phase_is(cluster, namespace, name, phase),
        what=f"pod {name} to be {phase}",
        explain=lambda: testing.node_agent_lines(cluster, namespace, name),
    )


def processes_with(marker: str) -> list[int]:
    """Processes on this machine whose command line holds ``marker``."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in command_line:
            found.append(int(entry.name))
    return found


async def wait_for_processes(marker: str) -> None:
    """Wait (in a thread, so the exec's connection keeps going) for ``marker`` to run."""
    await asyncio.to_thread(
        testing.wait_until, lambda: processes_with(marker) or None, what=f"a process with {marker}"
    )


def wait_until_gone(marker: str) -> None:
    testing.wait_until(
        lambda: not processes_with(marker),
        what=f"every process with {marker} to be killed",
        explain=lambda: f"still running: {processes_with(marker)}",
    )


async def test_exec_sees_what_the_container_sees(
    cluster: controlplane.ControlPlane, namespace: str, kube: client.Kube, tmp_path: pathlib.Path
) -> None:
    testing.apply(cluster, claim("data"), namespace=namespace)
    start_pod(cluster, namespace, app_with_volume("data"), "Running")
    script = "echo hello; id -u; id -G; pwd; cat /data/file; echo $MYVAR; echo oops >&2; exit 3"

    result = await kube.exec(namespace, "app", "app", ["sh", "-c", script], timeout=60)

    assert (
        result.stdout == f"hello\n{APP_UID}\n{APP_GID} {FS_GROUP}\n/data\npayload\nfrom-the-spec\n"
    )
    assert result.stderr == "oops\n"
    assert result.exit_code == 3
    assert not result.timed_out
    assert "exit code 3" in result.error
    private = await kube.exec(
        namespace, "app", "app", ["sh", "-c", f"test -e {tmp_path} || echo private"], timeout=60
    )
    assert (private.exit_code, private.stdout) == (0, "private\n"), "the host's /tmp is hidden"
    assert private.succeeded
    assert private.error == ""


async def test_a_command_that_cannot_start_is_named(
    cluster: controlplane.ControlPlane, namespace: str, kube: client.Kube
) -> None:
    start_pod(cluster, namespace, pod("app", {"containers": [waiting_container("app")]}), "Running")

    result = await kube.exec(namespace, "app", "app", ["no-such-command-xyz", "--now"], timeout=60)

    reason = 'exec: "no-such-command-xyz": executable file not found in $PATH'
    assert result.exit_code == 127
    assert (
        result.error == f"cannot run command [no-such-command-xyz --now]: {reason} (exit code 127)"
    )
    assert result.stderr == reason + "\n"


async def test_a_timeout_kills_the_command_on_the_node(
    cluster: controlplane.ControlPlane, namespace: str, kube: client.Kube
) -> None:
    start_pod(cluster, namespace, pod("app", {"containers": [waiting_container("app")]}), "Running")
    marker = f"exec-marker-{secrets.token_hex(4)}"
    waiter = f"python3 -c '{PAUSE}' {marker}"
    command = ["sh", "-c", f"{waiter} & {waiter}"]

    running = asyncio.create_task(kube.exec(namespace, "app", "app", command, timeout=10))
    await wait_for_processes(marker)
    result = await running

    assert result.timed_out
    assert result.exit_code is None
    assert "did not finish within 10 s" in result.error
    wait_until_gone(marker)


async def test_a_pod_deleted_during_exec_ends_it(
    cluster: controlplane.ControlPlane, namespace: str, kube: client.Kube
) -> None:
    start_pod(cluster, namespace, pod("app", {"containers": [waiting_container("app")]}), "Running")
    marker = f"exec-marker-{secrets.token_hex(4)}"
    command = ["python3", "-c", PAUSE, marker]

    running = asyncio.create_task(kube.exec(namespace, "app", "app", command, timeout=120))
    await wait_for_processes(marker)
    cluster.kubectl("delete", "pod", "app", "-n", namespace, "--grace-period=1", "--wait=false")
    result = await running

    assert result.exit_code == 137, result
    assert "exit code 137" in result.error
    wait_until_gone(marker)


async def test_exec_into_a_missing_finished_or_waiting_container_is_refused(
    cluster: controlplane.ControlPlane, namespace: str, kube: client.Kube
) -> None:
    missing = await kube.exec(namespace, "nope", "app", ["true"], timeout=60)
    assert (missing.http_status, missing.error) == (404, 'pods "nope" not found')

    done = pod(
        "done",
        {
            "restartPolicy": "Never",
            "containers": [{"name": "app", "image": IMAGE, "command": ["true"]}],
        },
    )
    start_pod(cluster, namespace, done, "Succeeded")
    finished = await kube.exec(namespace, "done", "app", ["true"], timeout=60)
    assert finished.http_status == 400
    assert finished.error == 'container "app" in pod "done" is not running', (
        "the API server passes a finished pod on (only kubectl refuses it itself)"
    )

    initializing = pod(
        "initializing",
        {"initContainers": [waiting_container("init")], "containers": [waiting_container("app")]},
    )
    start_pod(cluster, namespace, initializing, "Pending")
    testing.wait_until(
        lambda: init_running(cluster, namespace, "initializing"), what="the init container to run"
    )
    waiting = await kube.exec(namespace, "initializing", "app", ["true"], timeout=60)
    assert waiting.http_status == 400
    assert waiting.error == 'container "app" in pod "initializing" is not running'
    in_init = await kube.exec(namespace, "initializing", "init", ["echo", "init"], timeout=60)
    assert (in_init.exit_code, in_init.stdout) == (0, "init\n")


def init_running(cluster: controlplane.ControlPlane, namespace: str, name: str) -> bool:
    document = testing.get(cluster, "pod", name, namespace=namespace) or {}
    statuses = document.get("status", {}).get("initContainerStatuses") or [{}]
    return "running" in (statuses[0].get("state") or {})


def test_kubectl_exec_works(cluster: controlplane.ControlPlane, namespace: str) -> None:
    """kubectl's v5 WebSocket reaches the node unchanged: output, exit code and stdin."""
    start_pod(cluster, namespace, pod("app", {"containers": [waiting_container("app")]}), "Running")

    result = cluster.kubectl(
        "exec", "-n", namespace, "app", "--", "sh", "-c", "echo via-kubectl; exit 4", check=False
    )
    assert (result.returncode, result.stdout) == (4, "via-kubectl\n"), result.stderr
    piped = cluster.kubectl("exec", "-i", "-n", namespace, "app", "--", "cat", input_text="piped\n")
    assert piped.stdout == "piped\n"
