"""End-to-end stories of the spec: one operator per module (tests/conftest.py) on the session's
local cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from localcluster import controlplane
from tests.support import operator as support


@pytest.fixture
def repository_root(cluster: controlplane.ControlPlane) -> Path:
    """The local directory behind the movers' /repository volume."""
    return support.repository_root(cluster)
