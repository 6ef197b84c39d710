"""The operator under test: the real `pyvolsync operator` process against the session cluster.

One operator per test module (the `operator` fixture of tests/conftest.py; see
`tests/support/operator.py` for its settings: one retry of a failed mover, a short failure
backoff, and the repository volume, an NFS export that the node agent maps to a local
directory, mounted into every mover as the spec's NFS admission policy would), here with
debug logging. Tests reach the repository through `repository_root`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from localcluster import controlplane
from tests.support import operator as support

Operator = support.Operator


@pytest.fixture(scope="module")
def operator_arguments() -> tuple[str, ...]:
    return ("--log-level", "DEBUG")


@pytest.fixture
def repository_root(cluster: controlplane.ControlPlane) -> Path:
    """The local directory behind the movers' /repository volume."""
    return support.repository_root(cluster)
