"""The anomaly guard in the restic mover: a backup after an app wiped its data forgets nothing.

Each test backs up a volume twice through the mover with a retention policy that would keep only
the newest snapshot, and checks what a user would look at afterwards: which snapshots the
repository still holds, which one is pinned, and what the result document says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.inpod.restic import mover_support

from pyvolsync import contract

GUARD = contract.Guard().to_text()
SOURCE = "apps/photos"
KEEP_ONE = "--keep-last 1"


def _fill(data: Path, count: int) -> None:
    for index in range(count):
        (data / f"photo-{index:03}.jpg").write_bytes(index.to_bytes(2, "big") * 15000)


def _backup(space: mover_support.Workspace, **overrides: str) -> contract.OperationResult:
    run = space.mover(
        "backup",
        FORGET_OPTIONS=KEEP_ONE,
        PYVOLSYNC_SOURCE=SOURCE,
        PYVOLSYNC_GUARD=GUARD,
        **overrides,
    )
    assert run.returncode == 0, run
    return run.result.operations[0]


@pytest.fixture
def space(workspace: mover_support.Workspace) -> mover_support.Workspace:
    """A volume of 100 photos, backed up once by the mover (which creates the repository)."""
    _fill(workspace.data, 100)
    first = _backup(workspace)
    assert first.suspicious == "", first
    return workspace


def test_a_backup_after_most_files_are_deleted_keeps_and_pins_the_last_good_snapshot(
    space: mover_support.Workspace,
) -> None:
    good = space.snapshots()[0]["id"]
    for path in sorted(space.data.iterdir())[10:]:
        path.unlink()

    wiped = _backup(space)

    assert "90 of 100 files are gone (90%)" in wiped.suspicious, wiped
    assert "less than" in wiped.suspicious, "the bytes dropped too"
    listed = space.snapshots()
    assert len(listed) == 2, "retention (--keep-last 1) was not applied"
    last_good = next(item for item in listed if item["id"] == wiped.last_good)
    assert contract.PINNED in last_good.get("tags", []), last_good
    assert last_good.get("original") == good, "the pinned one is the snapshot before the wipe"
    assert (wiped.snapshots_kept, wiped.snapshots_pinned) == (2, 1)


def test_files_replaced_under_new_names_are_a_mass_deletion(
    space: mover_support.Workspace,
) -> None:
    for path in sorted(space.data.iterdir()):
        path.rename(path.with_suffix(".jpg.locked"))

    encrypted = _backup(space)

    assert "100 of the previous 100 files were deleted or renamed (100%)" in encrypted.suspicious
    assert len(space.snapshots()) == 2


def test_normal_churn_is_trusted_and_retention_runs(space: mover_support.Workspace) -> None:
    for path in sorted(space.data.iterdir())[:20]:
        path.unlink()
    for index in range(30):
        (space.data / f"new-{index}.jpg").write_bytes(b"n" * 4000)

    churned = _backup(space)

    assert churned.suspicious == "" and churned.last_good == "", churned
    assert len(space.snapshots()) == 1, "--keep-last 1 applied"


def test_held_retention_forgets_nothing(space: mover_support.Workspace) -> None:
    (space.data / "more.txt").write_text("more")

    held = _backup(space, PYVOLSYNC_RETENTION_HELD="snapshot 1234abcd is suspicious")

    assert held.suspicious == ""
    assert len(space.snapshots()) == 2


def test_a_malformed_guard_fails_before_touching_the_repository(
    space: mover_support.Workspace,
) -> None:
    run = space.mover("backup", PYVOLSYNC_GUARD="files-drop=150")

    assert run.result.error_kind is contract.ErrorKind.INVALID_CONFIGURATION, run
    assert "PYVOLSYNC_GUARD" in run.result.message and "1 to 100" in run.result.message
    assert len(space.snapshots()) == 1
