"""The operator under test: the real `pyvolsync operator` process against the session cluster.

One operator per test session (like the cluster), started with settings that keep tests quick:
one retry of a failed mover, a short failure backoff, and the repository volume (an NFS export
that the node agent maps to a local directory) mounted into every mover, as the spec's NFS
admission policy would. Tests reach the repository through `repository_root`.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcluster import controlplane, testing

ROOT = Path(__file__).resolve().parents[3]
NFS_SERVER = "nfs.test"
NFS_PATH = "/volsync"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Operator:
    """A running operator process; its log is kept for failing tests to show."""

    def __init__(self, plane: controlplane.ControlPlane, directory: Path, *args: str) -> None:
        self.plane = plane
        self.log_path = directory / "operator.log"
        self.metrics_port = free_port()
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(Path(sys.executable).parent / "pyvolsync"),
            "operator",
            "--kubeconfig",
            str(self.plane.kubeconfig),
            "--repository-nfs",
            f"{NFS_SERVER}:{NFS_PATH}",
            "--mover-retries",
            "1",
            "--failure-backoff",
            "5s",
            "--metrics-port",
            str(self.metrics_port),
            "--no-leader-election",
            "--log-level",
            "DEBUG",
            *self.args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def interesting_log_lines(self) -> list[str]:
        """Return the log without the HTTP client's debug chatter."""
        return [line for line in self.log().splitlines() if " httpcore" not in line]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def crds(cluster: controlplane.ControlPlane) -> None:
    """The pyvolsync CRDs installed and established."""
    for path in sorted((ROOT / "deploy" / "crds").glob("*.yaml")):
        if path.name.startswith("kustomization"):
            continue
        cluster.kubectl("apply", "--server-side", "-f", str(path))
    for name in ("replicationsources", "replicationdestinations"):
        testing.wait_until(
            lambda name=name: established(cluster, f"{name}.volsync.backube"),
            what=f"the {name} CRD to be established",
        )


def established(cluster: controlplane.ControlPlane, name: str) -> bool:
    """Return whether the CRD is established (`kubectl wait` fails before it has conditions)."""
    found = testing.get(cluster, "crd", name) or {}
    return any(
        item["type"] == "Established" and item["status"] == "True"
        for item in (found.get("status") or {}).get("conditions") or []
    )


@pytest.fixture(scope="module")
def operator(
    cluster: controlplane.ControlPlane, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    """The operator, running for one test module (so other suites' objects are left alone)."""
    running = Operator(cluster, tmp_path_factory.mktemp("operator"))
    running.start()
    time.sleep(1)
    yield running
    running.stop()
    assert running.process is None


@pytest.fixture
def repository_root(cluster: controlplane.ControlPlane) -> Path:
    """The local directory behind the movers' /repository volume."""
    return cluster.directory / "node" / "nfs" / NFS_SERVER / NFS_PATH.lstrip("/")


@pytest.fixture(autouse=True)
def show_operator_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    for name in request.fixturenames:
        running = request.getfixturevalue(name) if name.endswith("operator") else None
        if isinstance(running, Operator):
            sys.stderr.write(
                f"\n--- {name} log (tail) ---\n"
                + "\n".join(running.interesting_log_lines()[-80:])
                + "\n"
            )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
