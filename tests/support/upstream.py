"""Upstream VolSync's operator, built from its Go module, run against a local cluster.

pyvolsync claims to be a drop-in for upstream: a cluster moves from upstream to pyvolsync and
back with its objects unchanged. Only upstream's own operator can show what it does with objects
pyvolsync ran, so the migration tests run it: ``scripts/ensure-volsync-upstream.sh`` builds the
release pyvolsync names as the drop-in target (cached like restic and kopia) and puts that
release's CRDs next to the binary. It runs outside the cluster, as the cluster admin, without
leader election, with the no-op mover image (the node agent cannot run upstream's image).
"""

from __future__ import annotations

import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from localcluster import controlplane
from localcluster.testing import wait_until
from tests.support import operator as support

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "ensure-volsync-upstream.sh"
MOVER_IMAGE = "pyvolsync-noop-mover:latest"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0


def home() -> Path:
    """Build upstream's operator once (cached) and return the folder of ``volsync`` and ``crds``."""
    built = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        pytest.fail(f"building upstream VolSync failed:\n{built.stderr[-3000:]}", pytrace=False)
    return Path(built.stdout.strip())


def crd_files(folder: Path) -> list[Path]:
    """Upstream's CRDs of the two kinds both operators serve."""
    return [folder / "crds" / f"volsync.backube_{plural}.yaml" for plural in PLURALS]


PLURALS = ("replicationsources", "replicationdestinations")


class UpstreamOperator:
    """Upstream's operator process; its log is kept for failing tests to show."""

    def __init__(self, plane: controlplane.ControlPlane, folder: Path, directory: Path) -> None:
        self.plane = plane
        self.binary = folder / "volsync"
        self.log_path = directory / "upstream-operator.log"
        self.probe_port = support.free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "--kubeconfig", str(self.plane.kubeconfig),
            f"--restic-container-image={MOVER_IMAGE}",
            "--metrics-bind-address=0",
            f"--health-probe-bind-address=127.0.0.1:{self.probe_port}",
            "--leader-elect=false",
        ]  # fmt: skip

    def start(self) -> None:
        """Start the process and wait until its readiness probe answers."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        wait_until(
            self._ready,
            what="upstream's operator to answer its readiness probe",
            timeout=READY_TIMEOUT_SECONDS,
            explain=self.log_tail,
        )

    def _ready(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            pytest.fail(f"upstream's operator exited:\n{self.log_tail()}", pytrace=False)
        return self._answers()

    def _answers(self) -> bool:
        url = f"http://127.0.0.1:{self.probe_port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        """Stop the process (SIGTERM, as a Deployment scaled to zero would)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
