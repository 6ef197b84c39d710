"""``pyvolsync-mover restic pin|unpin|forget``: one snapshot kept from retention, or removed."""

from __future__ import annotations

import pytest
from tests.inpod import inpod_support
from tests.inpod.restic import mover_support

from pyvolsync import contract


@pytest.fixture
def space(workspace: mover_support.Workspace) -> mover_support.Workspace:
    """A repository (created as upstream would) that the tests fill with three backups."""
    workspace.restic("init")
    return workspace


def _three_backups(space: mover_support.Workspace) -> list[str]:
    ids = []
    for hour in ("10", "11", "12"):
        (space.data / f"{hour}.txt").write_text(hour)
        ids.append(space.backup_at(f"2026-01-01 {hour}:00:00"))
    return ids


def test_a_pinned_snapshot_survives_retention_and_is_removed_once_unpinned(
    space: mover_support.Workspace,
) -> None:
    oldest, _, _ = _three_backups(space)

    pinned = space.mover("pin", PYVOLSYNC_SNAPSHOT=oldest[:6])

    assert pinned.returncode == 0, pinned
    entry = inpod_support.the_entry(pinned)
    assert entry.pinned and entry.time == "2026-01-01T10:00:00Z", entry
    assert entry.id != oldest, "restic writes a retagged snapshot under a new ID"
    assert f"restic wrote it anew as {entry.id[:8]}" in pinned.result.operations[0].message
    backup = space.mover("backup", FORGET_OPTIONS="--keep-last 1").result
    assert space.snapshots()[0]["id"] == entry.id, "the pin kept it"
    assert len(space.snapshots()) == 2
    assert (backup.snapshots_kept, backup.snapshots_pinned) == (2, 1), "the status summary"
    assert backup.oldest_snapshot == "2026-01-01T10:00:00Z"
    assert backup.newest_snapshot > "2026-01-01T12", backup

    unpinned = space.mover("unpin", PYVOLSYNC_SNAPSHOT=entry.id[:8])

    assert unpinned.returncode == 0 and not inpod_support.the_entry(unpinned).pinned, unpinned
    space.mover("backup", FORGET_OPTIONS="--keep-last 1")
    assert [item["time"][:13] for item in space.snapshots()] != ["2026-01-01T10"]
    assert len(space.snapshots()) == 1


def test_forget_removes_exactly_one_snapshot_and_refuses_a_pinned_one(
    space: mover_support.Workspace,
) -> None:
    first, middle, last = _three_backups(space)
    pinned_id = inpod_support.the_entry(space.mover("pin", PYVOLSYNC_SNAPSHOT=last)).id

    refused = space.mover("forget", PYVOLSYNC_SNAPSHOT=pinned_id)
    forgotten = space.mover("forget", PYVOLSYNC_SNAPSHOT=middle[:10])

    assert refused.result.error_kind is contract.ErrorKind.INVALID_CONFIGURATION, refused
    assert "is pinned: unpin it first" in refused.result.operations[0].message
    assert forgotten.returncode == 0, forgotten
    assert inpod_support.the_entry(forgotten).id == middle
    assert "the next prune frees its data" in forgotten.result.operations[0].message
    assert [item["id"] for item in space.snapshots()] == [first, pinned_id]


def test_a_snapshot_id_that_names_none_or_several_or_nothing_changes_nothing(
    space: mover_support.Workspace,
) -> None:
    ids = _three_backups(space)

    missing = space.mover("pin", PYVOLSYNC_SNAPSHOT="0000")
    malformed = space.mover("forget", PYVOLSYNC_SNAPSHOT="../x")
    unset = space.mover("unpin")

    assert (
        "no snapshot ID begins with '0000'; the newest are " in missing.result.operations[0].message
    )
    assert ids[-1][:8] in missing.result.operations[0].message
    assert "is not a snapshot ID" in malformed.result.operations[0].message
    assert "PYVOLSYNC_SNAPSHOT must name the snapshot" in unset.result.operations[0].message
    for run in (missing, malformed, unset):
        assert run.returncode == contract.ExitCode.INVALID_CONFIGURATION, run
    assert [item["id"] for item in space.snapshots()] == ids
