"""pytest fixtures: one local cluster per test session and a fresh namespace per test.

A control plane takes seconds to start and two cores cannot afford one per test, so the
`cluster` fixture is session-scoped and started only when a test asks for it. Tests isolate
themselves with the `namespace` fixture. `tests/integration/conftest.py` re-exports these; the
module also works as a plugin (`pytest -p localcluster.testing`).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from localcluster import binaries, controlplane

CLUSTER_MARKER = "cluster"
CLUSTER_FIXTURES = frozenset({"cluster", "namespace"})
SERVICE_ACCOUNT_TIMEOUT_SECONDS = 30.0
WAIT_TIMEOUT_SECONDS = 60.0
Result = TypeVar("Result")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker for runs that use this module as a plugin without the project's ini."""
    config.addinivalue_line("markers", f"{CLUSTER_MARKER}: needs the local control plane")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the cluster, so `-m "not cluster"` leaves it out."""
    for item in items:
        if CLUSTER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(CLUSTER_MARKER)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.ControlPlane]:
    """A running local cluster; `.kubeconfig`, `.kubectl(...)`, `.client()`, `.binaries`."""
    missing = binaries.Binaries.from_cache().missing()
    if missing:
        pytest.fail(
            "the local control-plane binaries are missing "
            f"({', '.join(str(path) for path in missing)}): run `make localcluster-bin`",
            pytrace=False,
        )
    plane = controlplane.ControlPlane(
        tmp_path_factory.mktemp("localcluster"), workload_controllers=True
    )
    try:
        plane.start()
    except controlplane.StartError as error:
        pytest.fail(f"the local cluster did not start: {error}", pytrace=False)
    yield plane
    plane.stop()
    leftovers = plane.running()
    if leftovers:
        pytest.fail(f"processes survived the cluster teardown: {leftovers}", pytrace=False)


def _namespace_name(test_name: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"{stem or 'test'}-{secrets.token_hex(3)}"


def _wait_for_default_service_account(plane: controlplane.ControlPlane, name: str) -> None:
    """Pods are rejected until the service-account controller has created `default`."""
    deadline = time.monotonic() + SERVICE_ACCOUNT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = plane.kubectl("get", "serviceaccount", "default", "-n", name, check=False)
        if found.returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail(f"namespace {name} got no default service account", pytrace=False)


@pytest.fixture
def namespace(cluster: controlplane.ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of a fresh namespace, deleted (without waiting) after the test."""
    name = _namespace_name(request.node.name)
    cluster.kubectl("create", "namespace", name)
    _wait_for_default_service_account(cluster, name)
    yield name
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.kubectl("delete", "namespace", name, "--wait=false")


def wait_until(
    probe: Callable[[], Result | None],
    *,
    what: str,
    timeout: float = WAIT_TIMEOUT_SECONDS,
    interval: float = 0.2,
    explain: Callable[[], str] | None = None,
) -> Result:
    """Poll `probe` until it returns neither None nor False; fail the test naming `what`
    (and saying what `explain` returns then: the state that was waited on, a log)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            pytest.fail(
                f"timed out after {timeout:.0f} s waiting for {what}{detail}", pytrace=False
            )
        time.sleep(interval)


def node_agent_lines(plane: controlplane.ControlPlane, *words: str, lines: int = 40) -> str:
    """The node agent's last log lines that mention every one of ``words``."""
    path = plane.logs / "nodeagent.log"
    if not path.exists():
        return "(no node agent log)"
    found = [
        line
        for line in path.read_text(errors="replace").splitlines()
        if all(word in line for word in words)
    ]
    return "\n".join(found[-lines:]) or f"(no node agent line mentions {' '.join(words)})"


def apply(
    plane: controlplane.ControlPlane, *documents: dict[str, Any], namespace: str = ""
) -> None:
    """Server-side apply manifests given as Python dicts."""
    scope = ["-n", namespace] if namespace else []
    payload = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(documents)})
    plane.kubectl("apply", "--server-side", *scope, "-f", "-", input_text=payload)


def get(
    plane: controlplane.ControlPlane, kind: str, name: str = "", *, namespace: str = ""
) -> dict[str, Any] | None:
    """An object (or a list when `name` is empty) as a dict, or None when it does not exist."""
    scope = ["-n", namespace] if namespace else []
    target = [kind, name] if name else [kind]
    result = plane.kubectl("get", *target, *scope, "-o", "json", check=False)
    if result.returncode != 0:
        if "NotFound" in result.stderr:
            return None
        raise controlplane.KubectlError(
            result.returncode, result.args, output=result.stdout, stderr=result.stderr
        )
    document: dict[str, Any] = json.loads(result.stdout)
    return document
