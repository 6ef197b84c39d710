"""The operator under test: the real `pyvolsync operator` process against the session cluster.

One operator per test module (see `tests/support/operator.py` for its settings: one retry of a
failed mover, a short failure backoff, and the repository volume, an NFS export that the node
agent maps to a local directory, mounted into every mover as the spec's NFS admission policy
would). Tests reach the repository through `repository_root`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcluster import controlplane
from tests.support import operator as support


class Operator(support.Operator):
    """The shared test operator, restartable, with a readable log."""

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def interesting_log_lines(self) -> list[str]:
        """Return the log without the HTTP client's debug chatter."""
        if not self.log_path.exists():
            return []
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if " httpcore" not in line]


@pytest.fixture(scope="module")
def operator(
    cluster: controlplane.ControlPlane, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    """The operator, running for one test module (so other suites' objects are left alone)."""
    running = Operator(cluster, tmp_path_factory.mktemp("operator"), "--log-level", "DEBUG")
    running.start()
    time.sleep(1)
    yield running
    running.stop()
    assert running.process is None


@pytest.fixture
def repository_root(cluster: controlplane.ControlPlane) -> Path:
    """The local directory behind the movers' /repository volume."""
    return support.repository_root(cluster)


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
