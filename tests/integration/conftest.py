"""Integration tests run against a real local cluster, one per session (see docs/localcluster.md).

The fixtures live in `localcluster.testing` so that other suites (and a nested pytest run in
the teardown test) can load them as a plugin; this file makes them available here.
"""

from localcluster.testing import cluster, namespace, pytest_collection_modifyitems

__all__ = ["cluster", "namespace", "pytest_collection_modifyitems"]
