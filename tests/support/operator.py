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
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcluster import controlplane

ROOT = Path(__file__).resolve().parents[2]
NFS_SERVER = "nfs.test"
NFS_PATH = "/volsync"
METRICS_TIMEOUT_SECONDS = 5
READY_TIMEOUT_SECONDS = 60.0
READY_LINE = "pyvolsync_operator_ready 1.0"
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
    plurals = ("replicationsources", "replicationdestinations")
    plane.wait_for_all("crd", [f"{name}.volsync.backube" for name in plurals], "Established")


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
        """Start the process without waiting for it (see `wait_ready`)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait until the operator says it leads and watches (its ready gauge is 1).

        Fails the test at once, with the log's end, when the process exits meanwhile.
        """
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.metrics().splitlines():
            if self.process is None or self.process.poll() is not None:
                pytest.fail(f"the operator exited before it was ready:\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                pytest.fail(f"the operator was not ready after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def restart(self, *, kill: bool = False) -> None:
        """Stop (SIGKILL when ``kill``), start again and wait until it is ready."""
        self.stop(kill=kill)
        self.start()
        self.wait_ready()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

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

    def interesting_log_lines(self) -> list[str]:
        """Return the log without the HTTP client's debug chatter."""
        if not self.log_path.exists():
            return []
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if " httpcore" not in line]

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.interesting_log_lines()[-lines:])


@contextlib.contextmanager
def running(
    plane: controlplane.ControlPlane,
    directory: Path,
    *args: str,
    kubeconfig: Path | None = None,
    repository_nfs: bool = True,
) -> Iterator[Operator]:
    """An operator started and ready for the block, stopped after it (options as `Operator`)."""
    started = Operator(
        plane, directory, *args, kubeconfig=kubeconfig, repository_nfs=repository_nfs
    )
    started.start()
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()
