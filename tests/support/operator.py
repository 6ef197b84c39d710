"""The real `pyvolsync operator` process against a local cluster, for end-to-end tests.

Started with settings that keep tests quick (one retry of a failed mover, a short failure
backoff) and with the repository volume (an NFS export that the node agent maps to a local
directory) mounted into every mover, as the spec's NFS admission policy would.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from localcluster import controlplane, testing

ROOT = Path(__file__).resolve().parents[2]
NFS_SERVER = "nfs.test"
NFS_PATH = "/volsync"


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
            "--kubeconfig", str(self.plane.kubeconfig),
            "--repository-nfs", f"{NFS_SERVER}:{NFS_PATH}",
            "--mover-retries", "1",
            "--failure-backoff", "5s",
            "--metrics-port", str(self.metrics_port),
            "--no-leader-election",
            *self.args,
        ]  # fmt: skip
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

    def log_tail(self, lines: int = 80) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
