"""Fixtures of the security checks: the session's local cluster, the CRDs, and the test order.

Tests marked ``@pytest.mark.last`` (the secret scan) read what the whole session wrote: every
operator's log and metrics, the cluster's logs and its audit log. They therefore run after
every other test of the session, whichever directories it collected.
"""

from __future__ import annotations

import pytest
from localcluster import controlplane
from localcluster.testing import cluster, namespace
from localcluster.testing import pytest_collection_modifyitems as mark_cluster_tests
from tests.support import operator as support

__all__ = ["cluster", "namespace"]

LAST_MARKER = "last"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the cluster tests, then move the tests marked ``last`` to the end of the session."""
    mark_cluster_tests(items)
    last = [item for item in items if item.get_closest_marker(LAST_MARKER) is not None]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def crds(cluster: controlplane.ControlPlane) -> None:
    """The pyvolsync CRDs installed and established."""
    support.install_crds(cluster)
