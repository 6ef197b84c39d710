"""Fixtures for the mover tests: the real restic v0.18.1 and a fresh workspace per test.

The tests fail (never skip) when restic is missing: they are the proof that the mover works.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.inpod.restic import mover_support

RESTIC_VERSION = "0.18.1"


def _restic_dir() -> Path:
    cache = Path(os.environ.get("PYVOLSYNC_CACHE") or Path.home() / ".cache" / "pyvolsync")
    return cache / f"restic-{RESTIC_VERSION}"


@pytest.fixture(scope="session")
def restic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding restic v0.18.1 that any user may run (root's home is private)."""
    built = _restic_dir() / "restic"
    if not os.access(built, os.X_OK):
        pytest.fail(f"restic {RESTIC_VERSION} is not built at {built}: run `make restic` first")
    shared = tmp_path_factory.mktemp("restic-bin")
    shutil.copy2(built, shared / "restic")
    shared.chmod(0o755)
    return shared


@pytest.fixture
def workspace(tmp_path: Path, restic_dir: Path) -> mover_support.Workspace:
    """A data directory, a repository location and a cache under a fresh temporary directory."""
    tmp_path.chmod(0o755)
    return mover_support.Workspace(tmp_path, restic_dir)


@pytest.fixture
def open_workspace(restic_dir: Path) -> Iterator[mover_support.Workspace]:
    """A workspace outside pytest's private temporary root, so user nobody can reach it."""
    root = Path(tempfile.mkdtemp(prefix="pyvolsync-mover-"))
    root.chmod(0o755)
    try:
        yield mover_support.Workspace(root, restic_dir)
    finally:
        shutil.rmtree(root, ignore_errors=True)
