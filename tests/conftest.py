"""Fixtures every suite shares: ONE local cluster per test session, per-test namespaces, the CRDs.

The integration, end-to-end, fault-injection and security suites all run against the same
cluster (started on first use, stopped at the end of the session), so a whole `make test` pays
for one control plane, and the checks that read what the whole session did (the secret scan, the
RBAC diff) see every suite's requests in one audit log. Tests marked ``@pytest.mark.last`` run
after every other test of the session, whichever directories were collected.
"""

from __future__ import annotations

import pytest
from localcluster import controlplane
from localcluster.testing import cluster, namespace
from localcluster.testing import pytest_collection_modifyitems as mark_cluster_tests
from tests.support import operator as support

__all__ = ["cluster", "namespace"]

LAST_MARKER = "last"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the cluster tests (before `-m` deselects by marker), then move the tests marked
    ``last`` to the end of the session."""
    mark_cluster_tests(items)
    last = [item for item in items if item.get_closest_marker(LAST_MARKER) is not None]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def crds(cluster: controlplane.ControlPlane) -> None:
    """The pyvolsync CRDs installed and established."""
    support.install_crds(cluster)
