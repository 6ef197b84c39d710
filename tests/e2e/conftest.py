"""End-to-end stories of the spec: one operator per module on the session's local cluster."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcluster import controlplane
from tests.support import operator as support


@pytest.fixture(scope="module")
def operator(
    cluster: controlplane.ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[support.Operator]:
    """The operator, running for one test module."""
    support.install_crds(cluster)
    running = support.Operator(cluster, tmp_path_factory.mktemp("operator"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def repository_root(cluster: controlplane.ControlPlane) -> Path:
    """The local directory behind the movers' /repository volume."""
    return support.repository_root(cluster)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call" and report.failed and "operator" in getattr(item, "funcargs", {}):
        running: support.Operator = item.funcargs["operator"]
        sys.stderr.write("\n--- operator log (tail) ---\n" + running.log_tail() + "\n")
    return report
