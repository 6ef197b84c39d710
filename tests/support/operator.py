"""The real `pyvolsync operator` process against a local cluster, for end-to-end tests.

Started with settings that keep tests quick (one retry of a failed mover, a short failure
backoff) and with the repository volume (an NFS export that the node agent maps to a local
directory) mounted into every mover, as the spec's NFS admission policy would.

Every operator started in a test session is listed in ``STARTED`` (its log, and the metrics it
served, scraped once more when it stops), so that the secret scan of tests/security can read
everything every operator wrote.

With ``PYVOLSYNC_TEST_OPERATOR_AS=chart`` every operator of the session logs in as the Helm
chart's ServiceAccount (tests/security/chart.py) instead of the cluster admin, so any suite can
check that the chart's RBAC lets the operator do what the suite makes it do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from localcluster import controlplane, testing

ROOT = Path(__file__).resolve().parents[2]
NFS_SERVER = "nfs.test"
NFS_PATH = "/volsync"
METRICS_TIMEOUT_SECONDS = 5
IDENTITY_VARIABLE = "PYVOLSYNC_TEST_OPERATOR_AS"


STARTED: list[Operator] = []
"""Every operator created in this test session, oldest first."""


def default_kubeconfig(plane: controlplane.ControlPlane, directory: Path) -> Path:
    """The admin's kubeconfig, or the chart's ServiceAccount's when IDENTITY_VARIABLE is chart."""
    if os.environ.get(IDENTITY_VARIABLE, "admin") != "chart":
        return plane.kubeconfig
    from tests.security import chart  # renders the chart with the built helm

    release = chart.Release.render(chart.TEST_RELEASE, chart.TEST_RELEASE)
    release.install(plane)
    return release.kubeconfig(plane, directory / "kubeconfig")


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def install_crds(plane: controlplane.ControlPlane) -> None:
    """Install the pyvolsync CRDs and wait until the API server serves them."""
    for path in sorted((ROOT / "deploy" / "crds").glob("*.yaml")):
        if not path.name.startswith("kustomization"):
            plane.kubectl("apply", "--server-side", "-f", str(path))
    for name in ("replicationsources", "replicationdestinations"):
        testing.wait_until(
            lambda name=name: _established(plane, f"{name}.volsync.backube"),
            what=f"the {name} CRD to be established",
        )


def _established(plane: controlplane.ControlPlane, name: str) -> bool:
    found = testing.get(plane, "crd", name) or {}
    return any(
        item["type"] == "Established" and item["status"] == "True"
        for item in (found.get("status") or {}).get("conditions") or []
    )


def repository_root(plane: controlplane.ControlPlane) -> Path:
    """Return the local directory behind the movers' /repository volume."""
    return plane.directory / "node" / "nfs" / NFS_SERVER / NFS_PATH.lstrip("/")


class Operator:
    """A running operator process; its log is kept for failing tests to show.

    By default it logs in as the cluster admin without leader election; ``kubeconfig`` makes
    it log in as someone else (tests/security runs it as the Helm chart's ServiceAccount),
    ``lease_namespace`` turns leader election on with its Lease there, and ``repository_nfs``
    False leaves the repository volume to the caller's arguments (``--repository-volume``).
    """

    def __init__(
        self,
        plane: controlplane.ControlPlane,
        directory: Path,
        *args: str,
        kubeconfig: Path | None = None,
        lease_namespace: str | None = None,
        repository_nfs: bool = True,
    ) -> None:
        self.plane = plane
        self.log_path = directory / "operator.log"
        self.metrics_path = directory / "metrics.txt"
        self.metrics_port = free_port()
        self.args = args
        self.kubeconfig = kubeconfig or default_kubeconfig(plane, directory)
        self.lease_namespace = lease_namespace
        self.repository_nfs = repository_nfs
        self.process: subprocess.Popen[bytes] | None = None
        STARTED.append(self)

    def command(self) -> list[str]:
        """Return the command line that starts this operator."""
        election = (
            ["--leader-election", "--lease-namespace", self.lease_namespace]
            if self.lease_namespace
            else ["--no-leader-election"]
        )
        repository = ["--repository-nfs", f"{NFS_SERVER}:{NFS_PATH}"] if self.repository_nfs else []
        return [
            str(Path(sys.executable).parent / "pyvolsync"),
            "operator",
            "--kubeconfig", str(self.kubeconfig),
            *repository,
            "--mover-retries", "1",
            "--failure-backoff", "5s",
            "--metrics-port", str(self.metrics_port),
            *election,
            *self.args,
        ]  # fmt: skip

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)

    def metrics(self) -> str:
        """Return the metrics the operator serves now ("" when it does not answer)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=METRICS_TIMEOUT_SECONDS) as response:
                return str(response.read().decode(errors="replace"))
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return ""

    def save_metrics(self) -> None:
        """Append the current metrics to ``metrics_path`` (kept for the secret scan)."""
        text = self.metrics()
        if text:
            with self.metrics_path.open("a") as saved:
                saved.write(text)

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if not kill and self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.save_metrics()
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 80) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
