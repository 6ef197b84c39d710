"""The anomaly guard in the kopia mover: a backup after an app wiped its data forgets nothing.

kopia applies retention inside ``snapshot create``, before the guard can judge the new snapshot,
so the mover pins the source's newest snapshot for the time of the backup. Each test backs up a
volume through the mover with a policy that keeps only the newest snapshot (``latest: 1``), and
checks what a user would look at afterwards with kopia itself: which snapshots the repository
still holds, which pins they carry, and what the result document says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.inpod.kopia import kopia_support

from pyvolsync import contract

GUARD = contract.Guard().to_text()


def _fill(data: Path, count: int) -> None:
    for index in range(count):
        (data / f"photo-{index:03}.jpg").write_bytes(index.to_bytes(2, "big") * 15000)


def _backup(space: kopia_support.Workspace, **overrides: str) -> contract.OperationResult:
    run = space.mover("backup", KOPIA_RETAIN_LATEST="1", PYVOLSYNC_GUARD=GUARD, **overrides)
    assert run.returncode == 0, run
    return run.result.operations[0]


def _pins(space: kopia_support.Workspace) -> list[list[str]]:
    """Return the pins of each snapshot, oldest first."""
    listed = sorted(space.snapshots(), key=lambda item: item["startTime"])
    return [sorted(item.get("pins") or []) for item in listed]


@pytest.fixture
def space(tmp_path: Path, kopia_dir: Path) -> kopia_support.Workspace:
    """A volume of 100 photos, backed up once by the mover (which creates the repository)."""
    workspace = kopia_support.Workspace(tmp_path, kopia_dir)
    _fill(workspace.data, 100)
    first = _backup(workspace)
    assert first.suspicious == "", first
    return workspace


def test_a_backup_after_most_files_are_deleted_keeps_and_pins_the_last_good_snapshot(
    space: kopia_support.Workspace,
) -> None:
    for path in sorted(space.data.iterdir())[10:]:
        path.unlink()

    wiped = _backup(space)

    assert "90 of 100 files are gone (90%)" in wiped.suspicious, wiped
    assert _pins(space) == [[contract.PINNED], []], "latest: 1 removed neither"
    listed = sorted(space.snapshots(), key=lambda item: item["startTime"])
    assert listed[0]["id"] == wiped.last_good
    assert listed[0]["rootEntry"]["summ"]["files"] == 100, "the one before the wipe is pinned"
    assert (wiped.snapshots_kept, wiped.snapshots_pinned) == (2, 1)


def test_normal_churn_is_trusted_retention_runs_and_no_pin_stays(
    space: kopia_support.Workspace,
) -> None:
    for path in sorted(space.data.iterdir())[:20]:
        path.unlink()
    for index in range(30):
        (space.data / f"new-{index}.jpg").write_bytes(b"n" * 4000)

    churned = _backup(space)

    assert churned.suspicious == "" and churned.last_good == "", churned
    listed = space.snapshots()
    assert [item["rootEntry"]["summ"]["files"] for item in listed] == [110], "latest: 1 applied"
    assert _pins(space) == [[]]


def test_held_retention_keeps_every_snapshot(space: kopia_support.Workspace) -> None:
    for index in range(3):
        (space.data / f"more-{index}.txt").write_text("more")
        held = _backup(space, PYVOLSYNC_RETENTION_HELD="snapshot 1234abcd is suspicious")
        assert held.suspicious == ""

    assert len(space.snapshots()) == 4
    assert all(pins == [] for pins in _pins(space))


def test_without_the_guard_nothing_is_pinned(space: kopia_support.Workspace) -> None:
    for path in sorted(space.data.iterdir())[10:]:
        path.unlink()

    run = space.mover("backup", KOPIA_RETAIN_LATEST="1")

    assert run.returncode == 0 and run.result.suspicious == "", run
    assert _pins(space) == [[]]
