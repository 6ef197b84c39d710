"""The real operator for the CLI tests, and a way to run the `pyvolsync` command against it.

The operator is the same process the other end-to-end tests start (`tests.support.operator`),
one per test module so other suites' objects are not reconciled meanwhile. Commands run as the
installed console script in a subprocess, so what is checked is what a user's shell shows
(no terminal: rich prints plain text, a progress line per change).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from localcluster import controlplane
from tests.support import operator as operator_support

NFS = f"{operator_support.NFS_SERVER}:{operator_support.NFS_PATH}"
PYVOLSYNC = str(Path(sys.executable).parent / "pyvolsync")


@pytest.fixture
def repository_root(cluster: controlplane.ControlPlane) -> Path:
    """The local directory behind the movers' /repository volume."""
    return operator_support.repository_root(cluster)


@pytest.fixture(scope="module")
def operator_arguments() -> tuple[str, ...]:
    """Progress every 2 s, so even a fast backup shows the bar advancing; leader election on, as
    the chart runs it, so the operator's Lease publishes its settings to the CLI."""
    return ("--progress-interval", "2", "--leader-election", "--lease-namespace", "kube-system")


class Cli:
    """Runs `pyvolsync ARGS --kubeconfig <the cluster's>` and returns the finished process."""

    def __init__(self, plane: controlplane.ControlPlane) -> None:
        self.plane = plane

    def __call__(
        self, *arguments: str, timeout: float = 300, columns: int = 250
    ) -> subprocess.CompletedProcess[str]:
        """Run the command as on a terminal ``columns`` wide (rich reads COLUMNS)."""
        # faulthandler: SIGABRT prints every thread's stack (what a hung command was doing).
        environment = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1",
                       "PYTHONFAULTHANDLER": "1"}  # fmt: skip
        return subprocess.run(
            [PYVOLSYNC, *arguments, "--kubeconfig", str(self.plane.kubeconfig)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            check=False,
        )

    def start(self, *arguments: str) -> subprocess.Popen[str]:
        """Start the command; its output arrives line by line on `.stdout`."""
        # faulthandler: SIGABRT prints every thread's stack (what a hung command was doing).
        environment = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "PYTHONFAULTHANDLER": "1"}
        return subprocess.Popen(
            [PYVOLSYNC, *arguments, "--kubeconfig", str(self.plane.kubeconfig)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
        )


@pytest.fixture
def cli(cluster: controlplane.ControlPlane) -> Cli:
    return Cli(cluster)
