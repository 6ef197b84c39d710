"""Fixtures every suite shares: ONE local cluster per test session, per-test namespaces, the CRDs.

The integration, end-to-end, fault-injection and security suites all run against the same
cluster (started on first use, stopped at the end of the session), so a whole `make test` pays
for one control plane, and the checks that read what the whole session did (the secret scan, the
RBAC diff) see every suite's requests in one audit log. Tests marked ``@pytest.mark.last`` run
after every other test of the session, whichever directories were collected.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from localcluster import controlplane
from localcluster.testing import cluster, namespace
from localcluster.testing import pytest_collection_modifyitems as mark_cluster_tests
from tests.support import operator as support

__all__ = ["cluster", "namespace"]
OPERATOR_LOG_LINES = 80

LAST_MARKER = "last"
SHARE_VARIABLE = "PYVOLSYNC_TEST_SHARE"
"""``computing`` or ``cluster``: run one of the suite's two shares (scripts/run-tests.sh runs
both side by side); unset, the whole suite."""
SHARES = ("computing", "cluster")


CHAOS_ONLY = "chaos"
"""The share of the fault-injection cases that restart processes or wait out timeouts: `make
chaos` runs them (tests/chaos); neither share of `make test` does, so that `make test` stays
under an hour on a fresh machine. The bad-input cases stay in `make test`."""


def share_of(item: pytest.Item) -> str:
    """Return the share a test belongs to: ``cluster`` for the tests that use the session's
    cluster and for tests/e2e (which start clusters of their own, whose logs the secret scan
    reads), ``computing`` for the rest (unit tests, the mover with real restic and kopia, the
    chart), ``chaos`` for the long fault-injection cases (``CHAOS_ONLY``)."""
    chaos = item.nodeid.startswith("tests/chaos/") and "/test_bad_input.py" not in item.nodeid
    if chaos:
        return CHAOS_ONLY
    if item.get_closest_marker("cluster") is not None or item.nodeid.startswith("tests/e2e/"):
        return "cluster"
    return "computing"


def _keep_share(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = os.environ.get(SHARE_VARIABLE, "")
    if not wanted:
        return
    if wanted not in SHARES:
        raise pytest.UsageError(f"{SHARE_VARIABLE}={wanted!r}: use one of {', '.join(SHARES)}")
    kept = [item for item in items if share_of(item) == wanted]
    config.hook.pytest_deselected(items=[item for item in items if share_of(item) != wanted])
    items[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the cluster tests (before `-m` deselects by marker), keep the share asked for (if
    any), then move the tests marked ``last`` to the end of the session."""
    mark_cluster_tests(items)
    _keep_share(config, items)
    last = [item for item in items if item.get_closest_marker(LAST_MARKER) is not None]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def crds(cluster: controlplane.ControlPlane) -> None:
    """The pyvolsync CRDs installed and established."""
    support.install_crds(cluster)


@pytest.fixture(scope="module")
def operator_arguments() -> tuple[str, ...]:
    """Extra `pyvolsync operator` options; a folder or module overrides this fixture."""
    return ()


@pytest.fixture(scope="module")
def operator(
    cluster: controlplane.ControlPlane,
    crds: None,
    tmp_path_factory: pytest.TempPathFactory,
    operator_arguments: tuple[str, ...],
) -> Iterator[support.Operator]:
    """The real operator, ready, for one test module (other suites' objects are left alone)."""
    directory = tmp_path_factory.mktemp("operator")
    with support.running(cluster, directory, *operator_arguments) as running:
        yield running


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that used an operator shows the end of that operator's log."""
    report = yield
    if report.when == "call" and report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, support.Operator):
                sys.stderr.write(
                    f"\n--- {name} log (tail) ---\n{value.log_tail(OPERATOR_LOG_LINES)}\n"
                )
    return report
