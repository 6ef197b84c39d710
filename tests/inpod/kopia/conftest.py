"""Fixtures for the kopia mover tests: the real kopia v0.23.1 and a fresh workspace per test.

The tests fail (never skip) when kopia is missing: they are the proof that the mover works.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.inpod.kopia import kopia_support

KOPIA_VERSION = "0.23.1"


@pytest.fixture(scope="session")
def kopia_dir() -> Path:
    """The directory holding kopia v0.23.1, as ``make kopia`` builds it."""
    cache = Path(os.environ.get("PYVOLSYNC_CACHE") or Path.home() / ".cache" / "pyvolsync")
    built = cache / f"kopia-{KOPIA_VERSION}"
    if not os.access(built / "kopia", os.X_OK):
        pytest.fail(f"kopia {KOPIA_VERSION} is not built at {built}: run `make kopia` first")
    return built


@pytest.fixture
def workspace(tmp_path: Path, kopia_dir: Path) -> kopia_support.Workspace:
    """A data directory, a repository location and a cache under a fresh temporary directory."""
    return kopia_support.Workspace(tmp_path, kopia_dir)
