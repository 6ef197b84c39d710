"""Fixtures of the fault-injection suite: the local cluster, the real operator, a data size.

Every case here breaks something on purpose (a process, the API server, the repository, a
volume, the input) and then checks, as a user would, that no data was lost, that status and
events told the truth, and that nothing was left behind. `make chaos` runs the suite with
bigger data (PYVOLSYNC_CHAOS_SIZE=full); `make test` runs only the bad-input cases (the others
restart processes or wait out timeouts: tests/conftest.py, CHAOS_ONLY).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from localcluster import controlplane
from tests.support import operator as support

SIZE_VARIABLE = "PYVOLSYNC_CHAOS_SIZE"


@dataclasses.dataclass(frozen=True)
class ChaosSize:
    """How much data the cases write: small in `make test`, full in `make chaos`."""

    name: str
    files: int
    file_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.files * self.file_bytes


SIZES = {
    "small": ChaosSize("small", files=40, file_bytes=64 * 1024),
    "full": ChaosSize("full", files=400, file_bytes=1024 * 1024),
}


@pytest.fixture(scope="session")
def chaos_size() -> ChaosSize:
    """The data size chosen by PYVOLSYNC_CHAOS_SIZE (small unless set)."""
    name = os.environ.get(SIZE_VARIABLE, "small")
    if name not in SIZES:
        raise pytest.UsageError(f"{SIZE_VARIABLE}={name!r}: expected one of {', '.join(SIZES)}")
    return SIZES[name]


Operator = support.Operator


@pytest.fixture(scope="module")
def operator_arguments() -> tuple[str, ...]:
    """Extra `pyvolsync operator` options; a module overrides this fixture to change them."""
    return ("--log-level", "DEBUG")


@pytest.fixture
def repository_root(cluster: controlplane.ControlPlane) -> Path:
    """The local directory behind the movers' /repository volume."""
    return support.repository_root(cluster)
